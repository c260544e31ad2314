// Hostile servers (test/support/hostile.mjs), each a real local server: every run ends as a finding with a clear
// message within its deadline, the process never crashes (no stack, exit 1), and nothing hangs.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { makeTempDir, type ManagedProc, runCleanups } from './harness/proc.js';
import { ingressBase, waitPort, type Ingress } from './support/ingress.js';

const HOSTILE = path.join(REPO_ROOT, 'test/support/hostile.mjs');
const P = {
  tcpSilent: 9001,
  tlsSilentHttp: 9002,
  wsNoAnswer: 9003,
  wsGarbage: 9004,
  sseTrickle: 9005,
  sseEndlessError: 9007,
  hugeHeader: 9006,
  dns: 9053,
  stun: 9478,
  bindingOnly: 9479,
  hostileText: 9008,
};
const TIMEOUT_S = 1;

let ing: Ingress;
let endlessError: ManagedProc;
interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
}

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  const start = (mode: string, port: number) =>
    ing.ns.spawn('node', [HOSTILE, mode, String(port), ing.certPath, ing.keyPath]);
  start('tcp-silent', P.tcpSilent);
  start('tls-silent-http', P.tlsSilentHttp);
  start('ws-no-answer', P.wsNoAnswer);
  start('ws-garbage', P.wsGarbage);
  start('sse-trickle', P.sseTrickle);
  endlessError = start('sse-endless-error', P.sseEndlessError);
  start('huge-header', P.hugeHeader);
  start('dns-garbage', P.dns);
  start('stun-hostile', P.stun);
  start('stun-binding-only', P.bindingOnly);
  start('hostile-text', P.hostileText);
  for (const p of Object.values(P)) await waitPort(ing.ns, p);
}, 60_000);
afterAll(runCleanups);

async function hostile(args: string[], deadlineS: number) {
  const r = await runCli(
    ing.ns,
    ['--domain', 'nap.test', '--ca-file', ing.rootPem, '--timeout', String(TIMEOUT_S), '--format', 'json', ...args],
    { timeoutMs: 60_000 },
  );
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(1);
  // The deadline each probe promises, plus process start: nothing waits on a hostile peer beyond it. The margin is
  // generous (a loaded two-core CI machine starts node slowly): this proves "no hang", the figures are the bench's.
  expect(r.ms).toBeLessThan(deadlineS * 1000 + 5000);
  return Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c])) as Record<string, JsonCheck>;
}

describe('hostile servers end as findings within their deadlines', () => {
  it('a TURN server that answers Binding but never Allocate → turn.udp passes, turn.auth TURN_TIMEOUT', async () => {
    const c = await hostile(['--turn', `127.0.0.1:${P.bindingOnly}`, '--only', 'turn.udp,turn.auth'], 3 * TIMEOUT_S);
    expect(c['turn.udp']).toMatchObject({ status: 'pass' });
    expect(c['turn.udp']!.message).toMatch(/this machine is 127\.0\.0\.1:\d+ as the server sees it/);
    expect(c['turn.auth']).toMatchObject({ status: 'fail', code: 'TURN_TIMEOUT' });
    expect(c['turn.auth']!.message).toMatch(/^Allocate over UDP: no answer within 1000 ms/);
  });

  it('TCP accepted but TLS never answered → TLS_HANDSHAKE', async () => {
    const c = await hostile(['--https-port', String(P.tcpSilent), '--only', 'tls.main'], 2 * TIMEOUT_S);
    expect(c['tls.main']).toMatchObject({ code: 'TLS_HANDSHAKE' });
    expect(c['tls.main']!.message).toMatch(/TCP connected but no TLS handshake within 1000 ms/);
  });

  it('TLS fine but HTTP never answered → HTTP_UNEXPECTED naming the timeout', async () => {
    const c = await hostile(['--https-port', String(P.tlsSilentHttp), '--only', 'http.main'], 4 * TIMEOUT_S);
    expect(c['http.main']).toMatchObject({ code: 'HTTP_UNEXPECTED' });
    expect(c['http.main']!.message).toMatch(/no HTTP answer from nap\.test at 127\.0\.0\.1: .*(timeout|Timeout)/);
  });

  it('a WebSocket upgrade never answered → WS_REJECTED', async () => {
    const c = await hostile(['--https-port', String(P.wsNoAnswer), '--only', 'ws.main'], 6 * TIMEOUT_S);
    expect(c['ws.main']).toMatchObject({ code: 'WS_REJECTED' });
    expect(c['ws.main']!.message).toMatch(/no answer to the upgrade within 1000 ms|Opening handshake has timed out/);
  });

  it('101, then garbage frames → WS_REJECTED naming the broken stream', async () => {
    const c = await hostile(['--https-port', String(P.wsGarbage), '--only', 'ws.main'], 6 * TIMEOUT_S);
    expect(c['ws.main']).toMatchObject({ code: 'WS_REJECTED' });
    expect(c['ws.main']!.message).toMatch(/answered 101, then the stream broke: .*(Invalid|invalid)/);
  });

  it(
    'an SSE stream that trickles one byte a second forever → SSE_BUFFERED, and no hold is judged ' + 'through it',
    async () => {
      const c = await hostile(
        ['--https-port', String(P.sseTrickle), '--only', 'sse.main,hold.sse.main', '--hold', '2'],
        2 + 4 * TIMEOUT_S + 2,
      );
      expect(c['sse.main']).toMatchObject({ code: 'SSE_BUFFERED' });
      expect(c['sse.main']!.message).toMatch(/no hello event arrived before the stream ended/);
      expect(c['hold.sse.main']).toMatchObject({
        status: 'skip',
        message:
          'no hold on nap.test: the proxy holds the stream back (SSE_BUFFERED in sse.main), and a hold cannot be ' +
          'observed through a buffer',
      });
    },
  );

  it('an endless error page on the SSE path → SSE_BAD_TYPE from its first words, only its start read', async () => {
    const c = await hostile(['--https-port', String(P.sseEndlessError), '--only', 'sse.main'], 4 * TIMEOUT_S);
    expect(c['sse.main']).toMatchObject({ status: 'fail', code: 'SSE_BAD_TYPE' });
    expect(c['sse.main']!.message).toBe(
      'the SSE stream answered 404: "<p>Not Found</p><p>Not Found</p><p>Not Found</p><p>Not Found</p><p>Not Found</p>"',
    );
    // Each read stops after 2 KiB, over HTTP/1.1 and over HTTP/2 (offered here): the server got as far as the
    // socket and stream buffers let it, megabytes, not the gigabytes a read to the end takes before its deadline.
    const sent = [...endlessError.output().matchAll(/sent (\d+) bytes over HTTP\/(\S+)/g)];
    expect(new Set(sent.map((m) => m[2]))).toEqual(new Set(['1.1', '2.0']));
    for (const m of sent) expect(Number(m[1]), m[0]).toBeLessThan(64 * 1024 ** 2);
  });

  it('a 1 MB response header → HTTP_UNEXPECTED, no crash', async () => {
    const c = await hostile(['--https-port', String(P.hugeHeader), '--only', 'http.main'], 4 * TIMEOUT_S);
    expect(c['http.main']).toMatchObject({ code: 'HTTP_UNEXPECTED' });
    expect(c['http.main']!.message).toMatch(/[Hh]eaders? [Oo]verflow/);
  });

  it(
    'a DNS server answering garbage, wrong ids and a truncated reply with TCP garbage → DNS_SERVFAIL ' + '(unreadable)',
    async () => {
      const c = await hostile(['--resolver', `127.0.0.1:${P.dns}`, '--only', 'dns.main'], 2 * TIMEOUT_S);
      expect(c['dns.main'], c['dns.main']!.message).toMatchObject({ status: 'fail', code: 'DNS_SERVFAIL' });
      expect(c['dns.main']!.message).toMatch(/127\.0\.0\.1:9053/);
    },
  );

  it(
    'a STUN server with wrong ids, lying lengths, bad attributes and a flood → turn.udp/tcp fail, ' + 'the rest skip',
    async () => {
      const c = await hostile(['--turn', `127.0.0.1:${P.stun}`, '--only', 'turn'], 3 * TIMEOUT_S);
      // The flood verdict itself: a garbage flood is a server that answers, never a firewall drop (TURN_TIMEOUT).
      expect(c['turn.udp']).toMatchObject({ status: 'fail', code: 'TURN_UNREACHABLE' });
      expect(c['turn.udp']!.message).toMatch(
        /answers, but not as a STUN server: more than 2000 packets on one transport/,
      );
      expect(c['turn.tcp']).toMatchObject({ status: 'fail', code: 'TURN_UNREACHABLE' });
      expect(c['turn.tcp']!.message).toMatch(/not STUN|not as a STUN server/);
      expect(c['turn.auth']!.status).toBe('skip');
    },
  );
});

// What reaches a reader must be inert: no byte a terminal acts on (C0 but tab and line feed, DEL, C1), no bidi
// control (U+202E reorders what a person reads), in any file or terminal text; the XML must parse.
const RAW_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** The first raw control of `text`, with what surrounds it, for a failure message. */
const rawAt = (text: string) => {
  const i = text.search(RAW_CONTROL);
  return i < 0 ? undefined : JSON.stringify(text.slice(Math.max(0, i - 40), i + 40));
};
const expectInert = (text: string, what: string) => expect(rawAt(text), what).toBeUndefined();
// What test/support/hostile.mjs's hostile-text mode puts in its bodies and page titles, as it was sent.
const SENT = '\x1b]0;pwned\x07\x1b[2J\x07\rOVERWRITTEN \u202etxet desrever <script>alert(1)</script>';
// The same, as a reader sees it: every control and the override spelt out.
const SHOWN = String.raw`\x1b]0;pwned\x07\x1b[2J\x07\x0dOVERWRITTEN \u202etxet desrever`;

describe('a hostile server’s text reaches every reader inert (hostile-text)', () => {
  let dir: string;
  const base = () => [
    '--domain',
    'nap.test',
    '--ca-file',
    ing.rootPem,
    '--timeout',
    String(TIMEOUT_S),
    '--https-port',
    String(P.hostileText),
    '--only',
    'http.main,http.files,http.browsers',
  ];
  const file = (name: string) => path.join(dir, name);
  let json: { checks: Array<JsonCheck & { evidence: Record<string, any> }> };

  beforeAll(async () => {
    dir = await makeTempDir('nvt-hostile-text-');
    const r = await runCli(
      ing.ns,
      [
        ...base(),
        '--format',
        'json',
        '--json',
        file('run.json'),
        '--report',
        file('run.md'),
        '--junit',
        file('run.xml'),
      ],
      { timeoutMs: 60_000 },
    );
    // With JSON on stdout, the note on the report goes to stderr.
    expect(r.stderr).toMatch(/^report written to \S+run\.md\n$/);
    expect(r.code, r.stdout).toBe(1);
    json = r.json;
    const html = await runCli(ing.ns, [...base(), '--report', file('run.html')], { timeoutMs: 60_000 });
    expect(html.code, html.stdout).toBe(1);
  }, 120_000);

  it('`Server: nginx<script>` names no controller: a 502 from "the proxy", not from ingress-nginx', () => {
    const c = Object.fromEntries(json.checks.map((x) => [x.id, x]));
    expect(c['http.main']).toMatchObject({
      status: 'fail',
      code: 'HTTP_BAD_GATEWAY',
      message: 'nap.test: 502 Bad Gateway from the proxy: it cannot reach the service',
    });
    expect(c['http.main']!.evidence.controller).toBeUndefined();
    expect(c['http.files']!.evidence.controller).toBeUndefined();
    // browsers.<d>'s Server header carries an escape sequence: it is read as it came (and kept raw in the JSON), and
    // names no nginx.
    expect(c['http.browsers']!.evidence.controller).toBeUndefined();
    expect(c['http.browsers']!.evidence.repeats.answers[0].server).toBe(String.raw`nginx\x1b[2J\x1b]0;pwned\x07`);
    for (const x of json.checks) expect(x.message, x.id).not.toMatch(/nginx/i);
    expect(readFileSync(file('run.md'), 'utf8')).toMatch(/^\| Ingress controller \| not recognised /m);
  });

  it('JSON stays the raw record: what the server sent, whole, escaped only by JSON', () => {
    const c = Object.fromEntries(json.checks.map((x) => [x.id, x]));
    const main = c['http.main']!.evidence.exchanges['/'];
    expect(main.headers.server).toBe('nginx<script>');
    expect(main.body).toContain(SENT);
    const saved = readFileSync(file('run.json'), 'utf8');
    expect(
      JSON.parse(saved).checks.find((x: JsonCheck) => x.id === 'http.main').evidence.exchanges['/'].body,
    ).toContain(SENT);
    // Its text carries the characters as JSON escapes (\u001b, \u202e), never raw: `cat run.json` is inert too.
    expectInert(saved, 'run.json');
    expect(saved).toContain('\\u001b]0;pwned\\u0007');
    expect(saved).toContain('\\u202etxet desrever <script>');
  });

  it('a message quoting the server shows its text escaped', () => {
    const files = json.checks.find((x) => x.id === 'http.files')!;
    expect(files.code).toBe('HTTP_UNEXPECTED');
    expect(files.message).toContain(String.raw`\u001b]0;pwned\u0007`);
    expect(files.message).toContain('\\u202etxet desrever');
    for (const x of json.checks) expectInert(x.message, `${x.id} message`);
  });

  it('Markdown: no raw control, override or script; the text shown escaped', () => {
    const md = readFileSync(file('run.md'), 'utf8');
    expectInert(md, 'run.md');
    expect(md).not.toMatch(/<script/i);
    expect(md).toContain(`${SHOWN} &lt;script&gt;alert(1)&lt;/script&gt;`);
  });

  it('HTML: no raw control, override or script; the text shown escaped', () => {
    const html = readFileSync(file('run.html'), 'utf8');
    expectInert(html, 'run.html');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(`${SHOWN} &lt;script&gt;alert(1)&lt;/script&gt;`);
  });

  it('JUnit: well-formed XML (xmllint), no raw control or override', () => {
    const xml = readFileSync(file('run.xml'), 'utf8');
    expectInert(xml, 'run.xml');
    // xmllint prints what it cannot parse and exits non-zero; scripts/system-deps.sh installs it.
    execFileSync('xmllint', ['--noout', file('run.xml')], { stdio: 'pipe' });
    expect(xml).toContain(String.raw`\u001b]0;pwned\u0007`);
  });

  it('terminal text without -v is inert', async () => {
    const r = await runCli(ing.ns, base(), { timeoutMs: 60_000 });
    expect(r.code, r.stdout).toBe(1);
    expectInert(r.stdout, 'stdout');
    expect(r.stdout).toMatch(/nap\.test: 502 Bad Gateway from the proxy: it cannot\s+reach the service/);
    expect(r.stdout).not.toMatch(/nginx/i);
  });

  it('terminal text with -v (the evidence: bodies, titles, headers) is inert', async () => {
    const r = await runCli(ing.ns, [...base(), '-v'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout).toBe(1);
    expectInert(r.stdout, 'stdout -v');
    expect(r.stdout).toContain(SHOWN);
  });

  /** A saved result, hostile itself: its vantage name, a code and a message carry escapes, an override, a link. */
  const hostileFile = () => {
    const other = JSON.parse(readFileSync(file('run.json'), 'utf8'));
    other.vantage = 'laptop\x1b]0;pwned\x07\u202e';
    other.checks[0].code = 'HTTP_\x1b[2J';
    other.checks[0].message = `${SENT} [click](https://example.invalid/) ![](https://example.invalid/t.png)`;
    writeFileSync(file('other.json'), JSON.stringify(other));
    return file('other.json');
  };

  it('`report` of a hostile saved file: its terminal text is inert', async () => {
    const r = await runCli(ing.ns, ['report', hostileFile()]);
    expect(r.code, r.stderr).toBe(0);
    expectInert(r.stdout, 'report other.json stdout');
    expect(r.stdout).toContain(String.raw`HTTP_\x1b[2J`);
  });

  it('`report` and `compare` re-rendering the saved hostile result are inert, in every form', async () => {
    hostileFile();

    const report = await runCli(ing.ns, ['report', file('run.json'), '--report', file('again.html')]);
    expect(report.code, report.stderr).toBe(0);
    expectInert(report.stdout, 'report stdout');
    const again = readFileSync(file('again.html'), 'utf8');
    expectInert(again, 'report --report again.html');
    expect(again).not.toMatch(/<script/i);
    // Its terminal text is the test above's: here the file it writes.
    const reportMd = await runCli(ing.ns, ['report', file('other.json'), '--report', file('again.md')]);
    expect(reportMd.code, reportMd.stderr).toBe(0);
    const md = readFileSync(file('again.md'), 'utf8');
    expectInert(md, 'report --report again.md');
    expect(md).not.toMatch(/<script/i);
    // Server text makes no link or image: its brackets are escaped.
    expect(md).not.toMatch(/(?<!\\)\]\(https:\/\/example\.invalid/);

    for (const out of ['compare.md', 'compare.html']) {
      const cmp = await runCli(ing.ns, ['compare', file('run.json'), file('other.json'), '--report', file(out)]);
      expect(cmp.code, cmp.stderr).toBe(1);
      expect(cmp.stderr).toBe('');
      expectInert(cmp.stdout, 'compare stdout');
      expect(cmp.stdout).toContain(String.raw`laptop\x1b]0;pwned\x07\u202e`);
      const doc = readFileSync(file(out), 'utf8');
      expectInert(doc, out);
      expect(doc).not.toMatch(/<script/i);
      // Shown escaped (Markdown backslashes the bracket too).
      expect(doc).toMatch(/HTTP_\\x1b\\?\[2J/);
    }
    const cmpJson = await runCli(ing.ns, ['compare', file('run.json'), file('other.json'), '--format', 'json']);
    expectInert(cmpJson.stdout, 'compare --format json');
    expect(cmpJson.json.vantages.map((v: { name: string }) => v.name)).toContain('laptop\x1b]0;pwned\x07\u202e');
  });
});
