// A closed stdout (`| head`, a pager that quit) ends the output quietly: no stack trace, the exit status the command
// would have returned anyway, and the run still writes its --json/--junit/--report files. The built command runs in
// the test's own namespace, its stdout a real pipe into `head` (bash reports node's own status from PIPESTATUS), or,
// for the servers that run until a signal, a pipe this test closes after their first line.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, REPO_ROOT, runCli } from './harness/cli.js';
import { startDnsmasq } from './harness/dnsmasq.js';
import { createNetns, type Netns } from './harness/netns.js';
import { makeTempDir, runCleanups } from './harness/proc.js';

let ns: Netns;
let out: string;
/** What a check run that fails (the domain has no DNS) prints and returns with nobody closing its stdout. */
let baseline: { code: number | null; stdout: string; json: string };
const LINT_FIXTURE = path.join(REPO_ROOT, 'fixtures', 'ingress-nginx-typical.yaml');
// nodns.test answers NXDOMAIN at once (local=/test/): every DNS check fails, nothing waits for a deadline.
const CHECK = ['--domain', 'nodns.test', '--no-hold', '--timeout', '2'];

beforeAll(async () => {
  ns = await createNetns();
  await startDnsmasq(ns, { lines: ['local=/test/'] });
  out = await makeTempDir('nvt-epipe-');
  const json = path.join(out, 'baseline.json');
  const r = await runCli(ns, [...CHECK, '--json', json]);
  expect(r.stderr).toBe('');
  baseline = { code: r.code, stdout: r.stdout, json };
}, 60_000);
afterAll(runCleanups);

/** The environment runCli gives the command: no proxy, colour or NAP_VERIFY_* leaking in from the developer's. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(https?_proxy|all_proxy|no_proxy|FORCE_COLOR|NO_COLOR)$/i.test(k)) {
      if (!k.startsWith('NAP_VERIFY_')) env[k] = v;
    }
  }
  return { ...env, NO_COLOR: '1' };
}

/**
 * `nap-verify <args> | head -n <lines>`: head's output, nap-verify's own exit status and what it said on stderr.
 * With `both`, stderr goes into the same pipe (`2>&1 | head`), so stderr is closed too.
 */
async function piped(args: string[], opts: { lines?: number; both?: boolean } = {}) {
  const script = `node "$0" "$@" ${opts.both ? '2>&1 ' : ''}| head -n ${opts.lines ?? 1}; exit "\${PIPESTATUS[0]}"`;
  const r = await ns.exec('bash', ['-c', script, CLI_PATH, ...args], { env: cliEnv(), timeoutMs: 30_000 });
  return { code: r.code, head: r.stdout, stderr: r.stderr };
}

/**
 * A server command with `stream` (its stdout or stderr) a pipe this test closes once the first line arrived; then
 * SIGTERM, which it answers by logging a line to that stream and exiting 0.
 */
function closeThenTerm(args: string[], stream: 'stdout' | 'stderr') {
  return new Promise<{ code: number | null; first: string; stderr: string }>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, 'node', CLI_PATH, ...args], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let first = '';
    let stderr = '';
    if (stream === 'stdout') child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    else child.stdout.resume();
    child[stream].once('data', (b: Buffer) => {
      first = b.toString('utf8');
      child[stream].destroy();
      // The server has nobody reading its log now; it must still shut down the way it always does.
      setTimeout(() => child.kill('SIGTERM'), 200);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, first, stderr });
    });
  });
}

describe('a check run into `| head -1`', () => {
  it('ends quietly with the status of the run, and still writes every file it was asked for', async () => {
    expect(baseline.code).toBe(1);
    const files = ['run.json', 'run.xml', 'run.md'].map((f) => path.join(out, f));
    const r = await piped([...CHECK, '--json', files[0]!, '--junit', files[1]!, '--report', files[2]!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(baseline.code);
    expect(r.head).toBe(`${baseline.stdout.split('\n')[0]}\n`);
    for (const f of files) expect(existsSync(f), f).toBe(true);
    const json = JSON.parse(readFileSync(files[0]!, 'utf8'));
    expect(json.summary.status).toBe('fail');
    expect(json.checks.map((c: { id: string }) => c.id)).toEqual(
      JSON.parse(readFileSync(baseline.json, 'utf8')).checks.map((c: { id: string }) => c.id),
    );
    expect(readFileSync(files[1]!, 'utf8')).toMatch(/^<\?xml/);
  });

  it('with stderr into the same pipe (`2>&1 | head -1`): the same status, and the files still written', async () => {
    const files = ['both.xml', 'both.md'].map((f) => path.join(out, f));
    const r = await piped([...CHECK, '--junit', files[0]!, '--report', files[1]!], { both: true });
    expect(r.code).toBe(baseline.code);
    expect(r.head).toBe(`${baseline.stdout.split('\n')[0]}\n`);
    expect(r.stderr).toBe('');
    for (const f of files) expect(existsSync(f), f).toBe(true);
  });
});

describe('every other command into a closed pipe', () => {
  it('explain | head -2: two lines, nothing on stderr, exit 0', async () => {
    const r = await piped(['explain'], { lines: 2 });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.head.split('\n')).toHaveLength(3);
  });

  it('--help and --version: nothing on stderr, exit 0', async () => {
    for (const args of [['--help'], ['--version'], ['kit', '--help']]) {
      const r = await piped(args);
      expect(r, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
      expect(r.head).toMatch(/^\S/);
    }
  });

  it('kit: job (a bundle of ~450 KiB, more than a pipe holds) exits 0; lint keeps its failing status 1', async () => {
    const job = await piped(['kit', 'job', '-d', 'nap.test', '--namespace', 'nap']);
    expect(job).toMatchObject({ code: 0, stderr: '' });
    const routes = await piped(['kit', 'routes', '--controller', 'nginx', '-d', 'nap.test'], { both: true });
    expect(routes).toMatchObject({ code: 0, stderr: '' });
    const lint = await runCli(ns, ['kit', 'lint', LINT_FIXTURE]);
    expect(lint.code).toBe(1);
    expect(await piped(['kit', 'lint', LINT_FIXTURE])).toMatchObject({ code: lint.code, stderr: '' });
  });

  it('report and compare keep their status', async () => {
    const report = await runCli(ns, ['report', baseline.json]);
    expect(await piped(['report', baseline.json])).toMatchObject({ code: report.code, stderr: '' });
    const compare = await runCli(ns, ['compare', baseline.json, baseline.json]);
    expect(await piped(['compare', baseline.json, baseline.json])).toMatchObject({
      code: compare.code,
      stderr: '',
    });
  });
});

describe('a stdout that fails otherwise', () => {
  it('a full disk (/dev/full) is one line on stderr, not a stack trace and not silence; the status stays', async () => {
    for (const [args, code] of [
      [['explain'], 0],
      [CHECK, baseline.code],
    ] as const) {
      const r = await ns.exec('bash', ['-c', 'node "$0" "$@" > /dev/full', CLI_PATH, ...args], { env: cliEnv() });
      expect(r.stderr, args.join(' ')).toMatch(/^nap-verify: cannot write to stdout: ENOSPC: [^\n]*\n$/);
      expect(r.code).toBe(code);
    }
  });
});

describe('servers whose log reader went away', () => {
  it('serve with stdout closed after its first line: SIGTERM still ends it quietly with 0', async () => {
    const r = await closeThenTerm(['serve', '-d', 'nap.test', '--host', '127.0.0.1'], 'stdout');
    expect(r.first).toMatch(/^nap-verify serve: /);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('exporter with stderr (its log) closed after its first line: SIGTERM still ends it with 0', async () => {
    const r = await closeThenTerm(['exporter', '--listen', '127.0.0.1:9816'], 'stderr');
    expect(r.first).toMatch(/^nap-verify exporter: listening on /);
    expect(r.code).toBe(0);
  });
});
