// The installed command's V8 code cache (scripts/check-world.mjs): written by the first run of a build, written
// again by a run that checked more (a cache holds only the functions its run compiled), left alone otherwise; a
// broken file is only a cache miss. Runs in a namespace with loopback alone: these checks need no network.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI_PATH, REPO_ROOT } from './harness/cli.js';
import { createNetns, type Netns } from './harness/netns.js';
import { makeTempDir, runCleanups } from './harness/proc.js';

let ns: Netns;
beforeAll(async () => {
  ns = await createNetns();
});
afterAll(runCleanups);

const VALUES = path.join(REPO_ROOT, 'fixtures', 'values.env');

async function run(cacheHome: string, only: string, extraEnv: Record<string, string> = {}) {
  const r = await ns.exec(
    'node',
    [CLI_PATH, '--domain', 'acme.test', '--values', VALUES, '--only', only, '--format', 'json'],
    { env: { ...process.env, XDG_CACHE_HOME: cacheHome, ...extraEnv }, timeoutMs: 30_000 },
  );
  expect(r.code, r.stderr).toBeLessThanOrEqual(1);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string }> };
}

/** The one cache file: its size, mtime, and the number of checks its run ran (header: "NVC1", then a uint32). */
function cacheOf(cacheHome: string) {
  const dir = path.join(cacheHome, 'nap-verify');
  const files = readdirSync(dir).filter((f) => f.endsWith('.v8'));
  expect(files).toHaveLength(1);
  const file = path.join(dir, files[0]!);
  const raw = readFileSync(file);
  return {
    file,
    magic: raw.subarray(0, 4).toString('latin1'),
    ran: raw.readUInt32BE(4),
    mtimeMs: statSync(file).mtimeMs,
  };
}

it('the first run writes the cache; a run that checked more writes it again; an equal one leaves it', async () => {
  const home = await makeTempDir('nvt-cache-');
  await run(home, 'config.values');
  const first = cacheOf(home);
  expect(first).toMatchObject({ magic: 'NVC1', ran: 1 });

  const more = await run(home, 'config.values,env.proxy');
  expect(more.checks.filter((c) => c.status !== 'skip')).toHaveLength(2);
  const second = cacheOf(home);
  expect(second.ran).toBe(2);

  await run(home, 'config.values');
  await run(home, 'config.values,env.proxy');
  expect(cacheOf(home).mtimeMs).toBe(second.mtimeMs);
});

it('a broken cache file is a miss, replaced by the run; NAP_VERIFY_CODE_CACHE=0 writes nothing', async () => {
  const home = await makeTempDir('nvt-cache-');
  await run(home, 'config.values');
  const { file } = cacheOf(home);
  writeFileSync(file, Buffer.from('NVC1\0\0\0\x09not V8 data at all'));
  const r = await run(home, 'config.values');
  expect(r.checks.map((c) => c.id)).toEqual(['config.values']);
  expect(cacheOf(home)).toMatchObject({ magic: 'NVC1', ran: 1 });
  expect(readFileSync(file).length).toBeGreaterThan(1000);

  const off = await makeTempDir('nvt-cache-');
  await run(off, 'config.values', { NAP_VERIFY_CODE_CACHE: '0' });
  expect(() => readdirSync(path.join(off, 'nap-verify'))).toThrow();
});
