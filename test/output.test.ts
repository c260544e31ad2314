// What reaches the person: results streamed as checks finish (above the live line on a TTY, one line each off it),
// lines wrapped to the terminal's width, what was NOT tested, and --strict counted the same in every output.
// Runs the built CLI against the real full stack (and a platform-like site without the responder) in its own
// namespace; the TTY runs go through util-linux `script` at 80 and 160 columns.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { fullStack, nginxSite, publicUrlArgs, startResponder, UPGRADE_MAP, type FullStack } from './support/ingress.js';

let stack: FullStack;
let out: string;
const FINGERPRINTS_ONLY = { cp: 4000, browser: 4005, sandbox: 4006 };
const PLATFORM_PORT = 8460;
const METRICS_LOGIN_PORT = 8461;

beforeAll(async () => {
  stack = await fullStack('nap.test');
  // The platform as installed: its own answers, no responder, so no stream can be held.
  await startResponder(stack.ns, stack.domain, FINGERPRINTS_ONLY, [
    '--fingerprints-only',
    ...publicUrlArgs(stack.domain, PLATFORM_PORT),
  ]);
  await startNginx(
    stack.ns,
    [
      UPGRADE_MAP,
      nginxSite(stack, FINGERPRINTS_ONLY, { port: PLATFORM_PORT }),
      // /metrics behind the login, as an auth proxy in front of nap-cp puts it.
      nginxSite(stack, FINGERPRINTS_ONLY, {
        port: METRICS_LOGIN_PORT,
        extra: 'location = /metrics { return 302 https://$host/login?next=/metrics; }',
      }),
    ].join('\n'),
  );
  out = mkdtempSync(path.join(tmpdir(), 'nvt-output-'));
}, 60_000);
afterAll(runCleanups);

const cliEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !/^(https?_proxy|all_proxy|no_proxy|FORCE_COLOR|NO_COLOR|COLUMNS|LINES)$/i.test(k) &&
      !k.startsWith('NAP_VERIFY_')
    )
      env[k] = v;
  }
  return env;
};

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

/** Stdout as it arrives: every chunk with what the whole output held by then. */
function streamCli(args: string[]): Promise<{ code: number | null; chunks: string[]; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', stack.ns.name, 'node', CLI_PATH, ...args], {
      env: { ...cliEnv(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, chunks, stdout: chunks.join('') });
    });
  });
}

/** The CLI on a pseudo-terminal of `cols` columns (util-linux script), and what stays on screen line by line. */
async function ttyCli(cols: number, args: string[]) {
  const quoted = [CLI_PATH, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = await stack.ns.exec('script', ['-qefc', `stty cols ${cols} rows 50; exec node ${quoted}`, '/dev/null'], {
    env: { ...cliEnv(), TERM: 'xterm' },
    timeoutMs: 60_000,
  });
  const raw = r.stdout;
  // What a terminal shows of each line: the text after the last erase-line redraw.
  const screen = raw.split(/\r?\n/).map((l) => stripAnsi(l.split('\r\u001b[2K').pop()!.replace(/\r/g, '')));
  return { code: r.code, raw, screen };
}

describe('streaming and width off a TTY', () => {
  it(
    'prints the quick checks while the holds run, the holds last, one cause once, the summary at the end; 100 ' +
      'columns, durations in ms or s',
    async () => {
      const r = await streamCli([...stack.args, '--hold', '3', '--skip', 'turn']);
      expect(r.code, r.stdout).toBe(0);
      // The TLS line arrived seconds before the holds ended: its chunk does not carry the summary yet.
      const tlsChunk = r.chunks.findIndex((c) => c.includes('tls.main'));
      expect(tlsChunk).toBeGreaterThanOrEqual(0);
      expect(r.chunks.slice(0, tlsChunk + 1).join('')).not.toMatch(/passed, |HOLD_SHORT/);
      expect(r.chunks.length).toBeGreaterThan(1);
      const lines = r.stdout.split('\n');
      const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const lastNonHold = Math.max(
        ...['dns.main', 'tls.main', 'http.main', 'ws.preview', 'sse.main'].map((id) =>
          idx(new RegExp(` ${id.replace('.', '\\.')} `)),
        ),
      );
      // One cause, said once: --hold 3 is too short to prove the 60 s default, on every stream and wait. The
      // finding names each check and each host, and its fix is printed once.
      const holds = idx(/^ {2}▲ HOLD_SHORT {2}/);
      expect(holds, r.stdout).toBeGreaterThan(lastNonHold);
      const finding = lines
        .slice(
          holds,
          lines.findIndex((l, i) => i > holds && /^ {2}\S/.test(l)),
        )
        .join('\n');
      for (const id of ['hold.sse.main', 'hold.ws.main', 'hold.ws.browsers', 'hold.ws.sandbox', 'hold.ws.preview'])
        expect(finding, id).toContain(id);
      for (const host of ['nap.test', 'files.nap.test', 'browsers.nap.test', 'sandbox.nap.test'].slice(2))
        expect(finding).toContain(host);
      expect(r.stdout.match(/HOLD_SHORT/g)).toHaveLength(1);
      expect(r.stdout.match(/↳ fix:/g)).toHaveLength(1);
      expect(lines.findIndex((l) => /^\d+ passed, /.test(l))).toBeGreaterThan(holds);
      for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(100);
      // Its duration in either unit: how long dns.main took depends on the machine's load, the layout does not.
      expect(r.stdout).toMatch(/^ {2}✔ dns\.main + (\d+ ms|\d+\.\d s) {2}\S/m);
      expect(r.stdout).not.toMatch(/\d{4,} ms/);
      expect(r.stdout).toMatch(/^31 passed, 0 failed, 7 warnings, 0 skipped {2}\(\d+\.\d s\)$/m);
      // A wrapped line continues indented, never at column 0.
      for (const l of lines.slice(2, -3)) if (l) expect(l, r.stdout).toMatch(/^ {2}/);
    },
  );
});

describe('on a terminal (script, stty cols)', () => {
  for (const cols of [80, 160]) {
    it(`${cols} columns: the quick checks appear above the live line while the holds run; ` +
      'nothing wider than the terminal', async () => {
      const r = await ttyCli(cols, [...stack.args, '--hold', '3', '--skip', 'turn']);
      expect(r.code, r.raw).toBe(0);
      // A result written over the live line (erase, result), then the live line redrawn under it, before the end.
      // The quick checks written over the live line (erase, results), the live line redrawn under them.
      const tlsAt = r.raw.indexOf('tls.main');
      const summaryAt = r.raw.search(/\d+ passed, /);
      expect(r.raw.slice(0, tlsAt)).toContain('\r\u001b[2K');
      expect(tlsAt, r.raw).toBeGreaterThan(0);
      expect(r.raw.slice(tlsAt, summaryAt)).toMatch(/\d+\/\d+ checks/);
      expect(r.raw.slice(tlsAt, summaryAt)).toMatch(/holding idle streams: \d+ s left of 3 s/);
      for (const l of r.screen) expect(l.length, JSON.stringify(l)).toBeLessThanOrEqual(cols);
      expect(r.screen.some((l) => /^ {2}✔ tls\.main/.test(l))).toBe(true);
      expect(r.screen.filter((l) => /^\d+ passed, 0 failed, 7 warnings/.test(l))).toHaveLength(1);
      // Nothing cut mid-word: every code is whole on screen.
      for (const code of r.raw.match(/HOLD_[A-Z_]+/g) ?? []) expect(['HOLD_SHORT']).toContain(code);
      // One finding for the one cause, wrapped to the terminal.
      expect(r.screen.filter((l) => /^ {2}▲ HOLD_SHORT {2}hold\./.test(l))).toHaveLength(1);
      if (cols === 160) expect(r.screen.some((l) => /^ {2}✔ tls\.main +nap\.test +\d+ ms {2}/.test(l))).toBe(true);
    }, 60_000);
  }
});

describe('--strict counts warnings as failures everywhere', () => {
  it('text (-q included), JSON summary and JUnit agree, exit 1', async () => {
    const json = path.join(out, 'strict.json');
    const junit = path.join(out, 'strict.xml');
    const q = await runCli(stack.ns, [
      ...stack.args,
      '--only',
      'hold',
      '--hold',
      '2',
      '--strict',
      '-q',
      '--json',
      json,
      '--junit',
      junit,
    ]);
    expect(q.code).toBe(1);
    // The five stream holds and the two waits (hold.wait.*), each HOLD_SHORT at --hold 2.
    expect(q.stdout).toMatch(/^0 passed, 7 failed, 0 warnings, 0 skipped/m);
    // One cause: the seven checks in one finding, red under --strict.
    expect(q.stdout.match(/^ {2}✖ HOLD_SHORT {2}hold\./gm), q.stdout).toHaveLength(1);
    for (const id of ['hold.sse.main', 'hold.wait.main', 'hold.ws.preview']) expect(q.stdout).toContain(id);
    expect(JSON.parse(readFileSync(json, 'utf8')).summary).toEqual({
      pass: 0,
      warn: 0,
      fail: 7,
      skip: 0,
      status: 'fail',
    });
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(junit, 'utf8'));
    expect(doc.testsuites.failures).toBe('7');
    const loose = await runCli(stack.ns, [...stack.args, '--only', 'hold', '--hold', '2', '-q']);
    expect(loose.code).toBe(0);
    expect(loose.stdout.trim()).toMatch(/^0 passed, 0 failed, 7 warnings, 0 skipped/);
  }, 60_000);
});

describe('what was NOT tested', () => {
  const platform = () => [
    '--domain',
    stack.domain,
    '--https-port',
    String(PLATFORM_PORT),
    '--http-port',
    String(stack.httpPort),
    '--ca-file',
    stack.rootPem,
    '--skip',
    'turn,config',
    '--timeout',
    '3',
  ];

  it('without a responder: a prominent line, even with -q, with steps that work after install and the ' +
    'real domain', async () => {
    const r = await runCli(stack.ns, [...platform(), '--hold', '2', '-q']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout.replace(/\n {4}(?=\S)/g, ' ')).toMatch(
      new RegExp(
        /^stream timeouts NOT tested: sse\.main, hold\.sse\.main, hold\.wait\.main, hold\.ws\.main, /.source +
          /hold\.ws\.browsers, hold\.wait\.sandbox, hold\.ws\.sandbox, hold\.ws\.preview /.source +
          /\(no responder behind nap\.test/.source,
        'm',
      ),
    );
    // Commands print whole, broken only with shell continuations: they paste as one command.
    const joined = r.stdout.replace(/ \\\n +/g, ' ');
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(100);
    expect(joined).toMatch(
      /^ {6}kubectl get ingress,httpproxy,ingressroute,virtualservice,httproute -A -o yaml \| nap-verify kit lint -$/m,
    );
    expect(joined).toMatch(
      new RegExp(
        /maintenance window[\s\S]*\n {6}/.source +
          /nap-verify kit responder --pre-install --namespace nap --domain nap\.test \| kubectl apply -f -/.source,
      ),
    );
    expect(r.stdout).not.toContain('<d>');
    const j = await runCli(stack.ns, [...platform(), '--hold', '2', '--format', 'json']);
    const sse = j.json.checks.find((c: { id: string }) => c.id === 'hold.sse.main');
    expect(sse).toMatchObject({ status: 'skip', title: 'Idle SSE stream held on nap.test' });
    expect(sse.message).toMatch(/^no responder behind nap\.test .*idle timeout not tested/);
    for (const c of j.json.checks) expect(JSON.stringify(c), c.id).not.toContain('<d>');
  }, 60_000);

  it('--no-hold keeps the hold checks as skip with the reason in JSON and JUnit, so CI counts stay put', async () => {
    const junit = path.join(out, 'nohold.xml');
    const r = await runCli(stack.ns, [...stack.args, '--no-hold', '--format', 'json', '--junit', junit]);
    expect(r.code).toBe(0);
    const holds = r.json.checks.filter((c: { id: string }) => c.id.startsWith('hold.'));
    expect(holds.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['hold.sse.main', 'skip'],
      ['hold.wait.main', 'skip'],
      ['hold.ws.main', 'skip'],
      ['hold.ws.browsers', 'skip'],
      ['hold.wait.sandbox', 'skip'],
      ['hold.ws.sandbox', 'skip'],
      ['hold.ws.preview', 'skip'],
    ]);
    expect(holds[0].message).toMatch(/^not held: --no-hold/);
    expect(r.json.summary).toMatchObject({ pass: 36, skip: 7, status: 'pass' });
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(junit, 'utf8'));
    expect(doc.testsuites).toMatchObject({ tests: '43', skipped: '7', failures: '0' });
    const text = await runCli(stack.ns, [...stack.args, '--no-hold']);
    expect(text.stdout).toMatch(/^stream timeouts NOT tested \(--no-hold\): hold\.sse\.main, /m);
  }, 60_000);
});

describe('help, explain, and plain words', () => {
  it(
    'top-level --help shows the check options; explain without an argument lists every area and its ' + 'codes',
    async () => {
      const help = await runCli(stack.ns, ['--help']);
      expect(help.code).toBe(0);
      for (const flag of ['--domain <d>', '--no-hold', '--strict', '--report <file>', '--turn-secret-file <f>'])
        expect(help.stdout).toContain(flag);
      const all = await runCli(stack.ns, ['explain']);
      expect(all.code).toBe(0);
      expect(all.stdout).toMatch(
        new RegExp(
          /^dns — DNS\n {2}dns\.main dns\.files dns\.browsers dns\.sandbox dns\.preview\n/.source +
            / {6}DNS_NXDOMAIN .*DNS_UNREACHABLE/.source,
          'm',
        ),
      );
      expect(all.stdout).toMatch(/^hold — long-lived streams$/m);
      expect(all.stdout).toContain('HOLD_SHORT (warn)');
      expect(all.stdout).toContain('WS_NO_ENDPOINT (skip)');
    },
  );

  it('http.exposure says /metrics redirects to the login (not public) when it does', async () => {
    const r = await runCli(stack.ns, [
      '--domain',
      stack.domain,
      '--https-port',
      String(METRICS_LOGIN_PORT),
      '--ca-file',
      stack.rootPem,
      '--only',
      'http.exposure',
      '--format',
      'json',
    ]);
    expect(r.json.checks[0]).toMatchObject({ status: 'pass', message: '/metrics redirects to /login (not public)' });
  });
});
