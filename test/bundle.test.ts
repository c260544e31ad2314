// The one-file build (spec §9): `npm run bundle` → dist/nap-verify.mjs, run with plain `node` from an empty
// directory (no node_modules, no package.json) against the real stack, must say what the installed CLI says.
// `npm pack` must carry both.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import { fullStack, type FullStack } from './support/ingress.js';

let stack: FullStack;
let empty: string;
let bundle: string;

beforeAll(async () => {
  stack = await fullStack('nap.test');
  empty = await makeTempDir('nvt-bundle-');
  bundle = path.join(empty, 'nap-verify.mjs');
  // Its own copy (--outfile): no other test reads a file this one is rewriting.
  execFileSync('node', [path.join(REPO_ROOT, 'scripts', 'build-bundle.mjs'), '--outfile', bundle], {
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
}, 180_000);
afterAll(runCleanups);

/** The bundle alone, from its own empty directory, with a clean environment: nothing to resolve modules from. */
async function runBundle(args: string[], env: Record<string, string> = {}) {
  const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: empty, NO_COLOR: '1', ...env };
  return stack.ns.exec('bash', ['-c', `cd ${empty} && exec node nap-verify.mjs "$@"`, 'bash', ...args], {
    env: clean,
    timeoutMs: 60_000,
  });
}

/**
 * A run without what differs between two runs: times, timings, the random preview label, port numbers. Evidence is
 * compared by its keys: each check's evidence has the same keys whatever the timing (sse.main's second read, taken
 * on a busy machine, fills `firstGapMs` where a run that read once has null), so a key that differs is a real one.
 */
function comparable(doc: any) {
  const n = (v: unknown) =>
    JSON.stringify(v ?? null)
      .replace(/nvf[0-9a-f]{10}/g, 'nvf…')
      .replace(/\d+/g, '#');
  return {
    head: {
      tool: doc.tool,
      version: doc.version,
      schema: doc.schema,
      target: n(doc.target),
      options: doc.options,
      summary: doc.summary,
      environment: doc.environment,
    },
    checks: doc.checks.map((c: any) => ({
      id: c.id,
      title: c.title,
      status: c.status,
      code: c.code,
      host: n(c.host),
      message: n(c.message),
      evidence: Object.keys(c.evidence).sort(),
      remediation: c.remediation,
    })),
  };
}

describe('one-file bundle', () => {
  it('runs from an empty directory with plain node and gives the same JSON as the installed CLI', async () => {
    expect(readdirSync(empty)).toEqual(['nap-verify.mjs']);
    const args = [...stack.args, '--no-hold', '--format', 'json'];
    const b = await runBundle(args);
    expect(b.code, b.stderr).toBe(0);
    const cli = await runCli(stack.ns, args);
    expect(cli.code, cli.stderr).toBe(0);
    const fromBundle = JSON.parse(b.stdout);
    // Every check file is in the bundle (checks/ws.h2.ts has a digit in its id); --no-hold reports the holds as skip.
    const ids = readdirSync(path.join(REPO_ROOT, 'checks'))
      .filter((f) => /^[a-z]+(\.[a-z][a-z0-9]*)+\.ts$/.test(f))
      .map((f) => f.slice(0, -3));
    expect(fromBundle.checks.map((c: any) => c.id).sort()).toEqual(ids.sort());
    expect(comparable(fromBundle)).toEqual(comparable(cli.json));
    expect(readdirSync(empty)).toEqual(['nap-verify.mjs']);
  }, 120_000);

  it('carries the version, explain, the responder for kit responder, and kit browser-check', async () => {
    const v = await runBundle(['--version']);
    expect(v.stdout.trim()).toBe((await runCli(stack.ns, ['--version'])).stdout.trim());
    const e = await runBundle(['explain', 'TURN_RELAY_BLOCKED']);
    expect(e.stdout).toBe((await runCli(stack.ns, ['explain', 'TURN_RELAY_BLOCKED'])).stdout);
    const kitArgs = ['kit', 'responder', '--pre-install', '--namespace', 'nap', '--domain', 'nap.test'];
    const k = await runBundle(kitArgs);
    expect(k.code).toBe(0);
    expect(k.stdout).toBe((await runCli(stack.ns, kitArgs)).stdout);
    const page = await runBundle(['kit', 'browser-check', '--domain', 'nap.test']);
    expect(page.code).toBe(0);
    expect(page.stdout).toMatch(/^<!doctype html>/);
    const bad = await runBundle(['--domain', 'nap.test', '--hold', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('npm pack carries the command (entry and chunks) and the one-file bundle, not the tsc output', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const files = (JSON.parse(out)[0].files as Array<{ path: string }>).map((f) => f.path);
    expect(files).toContain('dist/bin/nap-verify.mjs');
    expect(files).toContain('dist/nap-verify.mjs');
    expect(files).toContain('dist/responder.mjs');
    expect(files).toContain('package.json');
    // The command is the split bundle: its entry and every chunk it loads (the checks are inside them).
    for (const f of readdirSync(path.join(REPO_ROOT, 'dist', 'bin'))) expect(files).toContain(`dist/bin/${f}`);
    // The tsc output is for development only: a package carrying it would ship the code twice.
    expect(files.filter((f) => f.startsWith('dist/src/') || f.startsWith('dist/checks/'))).toEqual([]);
  }, 90_000);

  it('the packed command installs and runs with no registry: it depends on nothing', async () => {
    // Air-gapped jump hosts (README): `npm install -g ./nap-verify-*.tgz` must not need the network, so every
    // package the command uses is inside its bundle and package.json lists none as a runtime dependency.
    const dir = await makeTempDir('nvt-pack-');
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
      cwd: REPO_ROOT,
      timeout: 60_000,
      stdio: 'ignore',
    });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const prefix = path.join(dir, 'prefix');
    // --offline: npm fails instead of fetching anything; an empty cache proves nothing came from an earlier install.
    execFileSync(
      'npm',
      ['install', '-g', '--offline', '--prefix', prefix, '--cache', path.join(dir, 'cache'), path.join(dir, tgz)],
      { cwd: dir, timeout: 60_000, stdio: 'ignore' },
    );
    const installed = path.join(prefix, 'bin', 'nap-verify');
    const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NO_COLOR: '1' };
    const version = await stack.ns.exec(installed, ['--version'], { env: clean, timeoutMs: 30_000 });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const run = await stack.ns.exec(installed, [...stack.args, '--no-hold', '--only', 'dns,tls,http.main'], {
      env: clean,
      timeoutMs: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\d+ passed, 0 failed/);
  }, 120_000);
});
