// Table-driven judge() tests on evidence typed to each probe's evidence types (a type change breaks the build),
// one table per check family: the paths the real-server tests do not reach (no DNS server to ask, a Host rewrite
// recognised from the platform's own answers, a chain whose intermediate did not sign the leaf, TURN over TCP
// swallowing packets, values.env contradicting the domain, a hold cut by a lifetime cap or an unknown limit).
// Runs without root and without any network: the certificates are made with openssl in a temporary directory.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import configValues, { valuesFindings } from '../../checks/config.values.js';
import dnsMain from '../../checks/dns.main.js';
import dnsPreview from '../../checks/dns.preview.js';
import sseMain from '../../checks/sse.main.js';
import holdWsMain from '../../checks/hold.ws.main.js';
import httpFiles from '../../checks/http.files.js';
import httpPreview from '../../checks/http.preview.js';
import httpSandbox from '../../checks/http.sandbox.js';
import tlsMain from '../../checks/tls.main.js';
import turnTcp from '../../checks/turn.tcp.js';
import turnUdp from '../../checks/turn.udp.js';
import wsBrowsers from '../../checks/ws.browsers.js';
import { gateOf, judgeGate, judgeIntermittent, tally } from '../../checks/_lib/front.js';
import { analyzeHold } from '../../checks/_lib/hold.js';
import { fingerprint } from '../../checks/_lib/routing.js';
import type { CheckDef, Judgement, RunContext } from '../../src/model.js';
import { analyzeChain, anchorsFromPems, certInfo } from '../../src/probes/certs.js';
import type { HttpExchange } from '../../src/probes/http.js';
import type { StreamEnd } from '../../src/probes/hold-pair.js';
import type { SseTimeline } from '../../src/probes/sse.js';
import { createPki, type Pki } from '../harness/pki.js';
import { testContext } from '../support/context.js';

type EvidenceOf<C> = C extends CheckDef<infer E> ? E : never;

const D = 'acme.test';
const PREVIEW = `nvf0123456789.sandbox.${D}`;
const ctx: RunContext = testContext({
  target: {
    domain: D,
    hosts: { main: D, files: `files.${D}`, browsers: `browsers.${D}`, sandbox: `sandbox.${D}`, preview: PREVIEW },
    turn: { host: D, port: 3478 },
  },
  timeoutMs: 5000,
  turn: { relayRange: [49152, 65535], relaySamples: 3 },
  now: () => new Date('2026-06-01T00:00:00Z'),
});

/** Every row: a name, the check, its evidence and what the verdict must contain. */
type Want = Omit<Partial<Judgement>, 'message'> & { message?: string | RegExp };
type Row<E> = [name: string, check: CheckDef<E>, evidence: E, want: Want];
function judgeRows<E>(rows: Array<Row<E>>) {
  it.each(rows)('%s', (_name, check, evidence, want) => {
    const { message, ...rest } = want;
    const j = check.judge(evidence, ctx);
    expect(j).toMatchObject(rest);
    if (message !== undefined) expect(j.message).toMatch(message);
    // Spec §3: a code a check gives is one it declares, with the status declared for it.
    if (j.code) {
      const meta = check.meta.codes[j.code];
      expect([meta?.status, meta?.alsoStatus], j.code).toContain(j.status);
    }
  });
}

describe('dns.*', () => {
  type Ev = EvidenceOf<typeof dnsMain>;
  const os = (outcome: Ev['os']['outcome'], addresses: string[] = [], error?: string): Ev['os'] => ({
    outcome,
    addresses,
    ms: 1,
    ...(error ? { error } : {}),
  });
  const noServer = (o: Ev['os'], host = D): Ev => ({
    host,
    role: 'main',
    os: o,
    servers: [],
    dnsAddresses: o.addresses,
    connectAddresses: o.addresses,
    ...(o.addresses[0] ? { connectAddress: o.addresses[0] } : {}),
  });
  const server = (
    outcome: Ev['servers'][number]['outcome'],
    addresses: string[] = [],
    rcode?: string,
  ): Ev['servers'][number] => ({
    server: '192.0.2.53:53',
    source: 'system',
    outcome,
    addresses,
    cnames: [],
    answers: [
      {
        qtype: 'A',
        server: '192.0.2.53:53',
        via: 'udp',
        outcome,
        addresses,
        cnames: [],
        records: [],
        ignored: 0,
        ms: 1,
        ...(rcode ? { rcode } : {}),
      },
    ],
  });
  judgeRows<Ev>([
    [
      'no DNS server to ask, this machine resolves it: pass, and says so',
      dnsMain,
      noServer(os('answer', ['192.0.2.10'])),
      { status: 'pass', message: /^192\.0\.2\.10 \(this machine's resolver; no DNS server to ask directly\)$/ },
    ],
    [
      'no DNS server to ask, not found: DNS_NXDOMAIN',
      dnsMain,
      noServer(os('notfound', [], 'ENOTFOUND')),
      { status: 'fail', code: 'DNS_NXDOMAIN', message: `${D} does not resolve on this machine (ENOTFOUND)` },
    ],
    [
      'no DNS server to ask, temporary failure: DNS_SERVFAIL',
      dnsMain,
      noServer(os('tempfail', [], 'EAI_AGAIN')),
      { status: 'fail', code: 'DNS_SERVFAIL' },
    ],
    [
      'no DNS server to ask, no answer in time: DNS_TIMEOUT',
      dnsMain,
      noServer(os('timeout', [], 'no answer within 5000 ms')),
      { status: 'fail', code: 'DNS_TIMEOUT' },
    ],
    [
      'NXDOMAIN for a preview name: no wildcard',
      dnsPreview,
      { ...noServer(os('notfound'), PREVIEW), role: 'preview', servers: [server('nxdomain', [], 'NXDOMAIN')] },
      {
        status: 'fail',
        code: 'DNS_NXDOMAIN',
        message: new RegExp(`no wildcard record for \\*\\.sandbox\\.${D.replace('.', '\\.')}$`),
      },
    ],
    [
      'a name with no A/AAAA',
      dnsMain,
      { ...noServer(os('answer', ['192.0.2.10'])), servers: [server('nodata', [], 'NOERROR')] },
      { status: 'fail', code: 'DNS_NO_ADDRESS', message: /still resolves it to 192\.0\.2\.10, from \/etc\/hosts/ },
    ],
    [
      'REFUSED: DNS_SERVFAIL naming the rcode',
      dnsMain,
      { ...noServer(os('answer', ['192.0.2.10'])), servers: [server('refused', [], 'REFUSED')] },
      { status: 'fail', code: 'DNS_SERVFAIL', message: /failed to resolve acme\.test: REFUSED/ },
    ],
    [
      'this machine disagrees with DNS: DNS_LOCAL_OVERRIDE',
      dnsMain,
      {
        ...noServer(os('answer', ['10.0.0.1'])),
        dnsAddresses: ['192.0.2.10'],
        servers: [server('answer', ['192.0.2.10'])],
      },
      { status: 'warn', code: 'DNS_LOCAL_OVERRIDE', message: /resolves acme\.test to 10\.0\.0\.1 but DNS/ },
    ],
  ]);
});

describe('tls.*', () => {
  type Ev = EvidenceOf<typeof tlsMain>;
  let pki: Pki;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nvt-judge-'));
    pki = await createPki(dir);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const evidenceFor = (sent: string[], anchors: string[]): Ev => {
    const certs = sent.map((p) => new X509Certificate(p));
    return {
      host: D,
      address: '192.0.2.10',
      port: 443,
      protocol: 'TLSv1.3',
      chain: certs.map(certInfo),
      analysis: analyzeChain(certs, anchorsFromPems(anchors, 'ca-file')),
      ms: 3,
    };
  };

  it('a certificate whose sent intermediate did not sign it (same name, other key): TLS_UNTRUSTED, ' +
    'chain broken', async () => {
    const root = await pki.rootCa('Judge Root CA');
    const [real, impostor] = await Promise.all([
      pki.intermediate(root, 'Judge Issuing CA'),
      pki.intermediate(root, 'Judge Issuing CA'),
    ]);
    const leaf = await pki.leaf(real, { cn: D, sans: [D] });
    const today = { ...ctx, now: () => new Date() }; // certificates made now, valid for 90 days
    const ev = evidenceFor([leaf.certPem, impostor.certPem], [root.certPem]);
    expect(ev.analysis?.trust).toBe('bad-signature');
    const j = tlsMain.judge(ev, today);
    expect(j).toMatchObject({
      status: 'fail',
      code: 'TLS_UNTRUSTED',
      message: `chain for ${D} is broken: "Judge Issuing CA" was sent but did not sign the certificate below it`,
    });
    // The same leaf with its real intermediate is trusted: the verdict came from the signature, not the names.
    expect(tlsMain.judge(evidenceFor([leaf.certPem, real.certPem], [root.certPem]), today)).toMatchObject({
      status: 'pass',
    });
  }, 60_000);

  it('no session: TLS_HANDSHAKE names where it failed', () => {
    const ev: Ev = {
      host: D,
      address: '192.0.2.10',
      port: 443,
      chain: [],
      ms: 5000,
      failure: { stage: 'connect', kind: 'timeout', error: 'no TCP connection within 5000 ms' },
    };
    expect(tlsMain.judge(ev, ctx)).toMatchObject({
      status: 'fail',
      code: 'TLS_HANDSHAKE',
      message: `no TLS session with 192.0.2.10:443 for ${D}: no TCP connection within 5000 ms`,
    });
  });
});

describe('http.*', () => {
  type Ev = EvidenceOf<typeof httpFiles>;
  const ex = (status: number, body: string, headers: Record<string, string> = {}): HttpExchange => ({
    url: 'u',
    address: '192.0.2.10',
    status,
    body,
    headers,
    ms: 2,
  });
  /** Evidence as gather builds it: the fingerprint comes from the platform's own answers. */
  const fromAnswers = (host: string, exchanges: Record<string, HttpExchange>): Ev => {
    const fp = fingerprint(exchanges);
    return { host, address: '192.0.2.10', exchanges, ...(fp ? { fingerprint: fp } : {}) };
  };
  const cpLogin = { '/': ex(302, '', { location: '/login' }), '/healthz': ex(200, 'ok') };
  const sandboxApi = {
    '/': ex(404, '{}'),
    '/api/config': ex(200, JSON.stringify({ napUrl: `https://${D}`, sandboxDomain: `sandbox.${D}` })),
  };
  judgeRows<Ev>([
    [
      "files.<d> answered by nap-cp's web UI (its login redirect): HTTP_HOST_REWRITTEN",
      httpFiles,
      fromAnswers(`files.${D}`, cpLogin),
      {
        status: 'fail',
        code: 'HTTP_HOST_REWRITTEN',
        message:
          `files.${D} landed on nap-cp's web UI (302 to /login) instead of the export app: nap-cp did not ` +
          `see Host files.${D}`,
      },
    ],
    [
      "a preview host answered as nap-sandbox's own API, nap-sandbox on SANDBOX_DOMAIN sandbox.<d>: the Host " +
        'was changed, HTTP_HOST_REWRITTEN',
      httpPreview,
      { ...fromAnswers(PREVIEW, sandboxApi), sandboxDomain: `sandbox.${D}` },
      {
        status: 'fail',
        code: 'HTTP_HOST_REWRITTEN',
        message:
          `${PREVIEW} reached nap-sandbox, which did not see it as a preview host although it runs with ` +
          `SANDBOX_DOMAIN sandbox.${D}: the Host header was changed on the way`,
      },
    ],
    [
      'the same answer while nap-sandbox runs with SANDBOX_DOMAIN unset (it says localhost): skip with that cause, ' +
        'no word of the proxy',
      httpPreview,
      { ...fromAnswers(PREVIEW, sandboxApi), sandboxDomain: 'localhost' },
      {
        status: 'skip',
        message:
          `preview routing not tested: nap-sandbox runs with SANDBOX_DOMAIN localhost (its /api/config), not ` +
          `sandbox.${D}, so it treats no *.sandbox.${D} host as a preview; http.sandbox reports it`,
      },
    ],
    [
      "the same answer when nap-sandbox's /api/config could not be read: both causes named, neither asserted",
      httpPreview,
      fromAnswers(PREVIEW, sandboxApi),
      {
        status: 'fail',
        code: 'HTTP_UNEXPECTED',
        message: /either nap-sandbox's SANDBOX_DOMAIN is not sandbox\.acme\.test or the Host header was changed/,
      },
    ],
    [
      'sandbox.<d> running with SANDBOX_DOMAIN unset (install.sh leaves it empty; it says localhost): ' +
        'HTTP_CONFIG_MISMATCH naming the key',
      httpSandbox,
      fromAnswers(`sandbox.${D}`, {
        ...sandboxApi,
        '/api/config': ex(200, JSON.stringify({ napUrl: `https://${D}`, sandboxDomain: 'localhost' })),
      }),
      {
        status: 'fail',
        code: 'HTTP_CONFIG_MISMATCH',
        message:
          `sandbox.${D}/api/config says sandboxDomain localhost, not sandbox.${D}: nap-sandbox runs with ` +
          'SANDBOX_DOMAIN unset (install.sh leaves it empty unless set, and nap-sandbox then says localhost), so ' +
          `it treats no *.sandbox.${D} host as a preview and every sandbox preview link fails`,
        fix: `In values.env set SANDBOX_DOMAIN=sandbox.${D}, then re-run install.sh.`,
      },
    ],
    [
      'napUrl and sandboxDomain both wrong: one finding naming both keys',
      httpSandbox,
      fromAnswers(`sandbox.${D}`, {
        ...sandboxApi,
        '/api/config': ex(200, JSON.stringify({ napUrl: 'http://10.0.0.1:30080', sandboxDomain: 'localhost' })),
      }),
      {
        status: 'fail',
        code: 'HTTP_CONFIG_MISMATCH',
        fix: `In values.env set WEB_PUBLIC_URL=https://${D} and SANDBOX_DOMAIN=sandbox.${D}, then re-run install.sh.`,
      },
    ],
    [
      'the export app answering: pass',
      httpFiles,
      fromAnswers(`files.${D}`, { '/': ex(404, 'Not found', { 'content-type': 'text/plain' }) }),
      { status: 'pass' },
    ],
    [
      'sandbox.<d> installed for another domain: HTTP_CONFIG_MISMATCH',
      httpSandbox,
      fromAnswers(`sandbox.${D}`, {
        ...sandboxApi,
        '/api/config': ex(200, JSON.stringify({ napUrl: `https://${D}`, sandboxDomain: 'sandbox.other.test' })),
      }),
      {
        status: 'fail',
        code: 'HTTP_CONFIG_MISMATCH',
        fix: `In values.env set SANDBOX_DOMAIN=sandbox.${D}, then re-run install.sh.`,
      },
    ],
    [
      'a 503 from the proxy: HTTP_NO_ENDPOINTS',
      httpSandbox,
      fromAnswers(`sandbox.${D}`, {
        '/': ex(503, '<html>503 Service Temporarily Unavailable</html>', { server: 'nginx' }),
      }),
      { status: 'fail', code: 'HTTP_NO_ENDPOINTS' },
    ],
  ]);
});

describe('ws.*', () => {
  type Ev = EvidenceOf<typeof wsBrowsers>;
  const host = `browsers.${D}`;
  const attemptTo = { url: `wss://${host}/.well-known/nap-verify/ws`, address: '192.0.2.10' };
  judgeRows<Ev>([
    [
      "101 and the responder's hello: pass",
      wsBrowsers,
      {
        host,
        endpoint: 'responder',
        attempt: {
          ...attemptTo,
          upgraded: true,
          status: 101,
          firstMessage: '{"type":"hello","service":"nap-browser"}',
          ms: 4,
        },
      },
      { status: 'pass', message: '101, hello from nap-browser' },
    ],
    [
      '426 from the service: the Upgrade headers were dropped',
      wsBrowsers,
      {
        host,
        endpoint: 'responder',
        attempt: {
          ...attemptTo,
          upgraded: false,
          status: 426,
          body: '{"error":"Upgrade required","upgrade":null}',
          ms: 4,
        },
      },
      { status: 'fail', code: 'WS_UPGRADE_STRIPPED' },
    ],
    [
      '101 then a broken stream: WS_REJECTED',
      wsBrowsers,
      {
        host,
        endpoint: 'responder',
        attempt: {
          ...attemptTo,
          upgraded: true,
          status: 101,
          error: 'socket hang up',
          ms: 4,
        },
      },
      { status: 'fail', code: 'WS_REJECTED', message: /answered 101, then the stream broke: socket hang up/ },
    ],
    [
      'nothing to upgrade to: WS_NO_ENDPOINT (skip)',
      wsBrowsers,
      { host, endpoint: 'none' },
      { status: 'skip', code: 'WS_NO_ENDPOINT' },
    ],
  ]);
});

describe('sse.main over HTTP/1.1 and HTTP/2', () => {
  type E = EvidenceOf<typeof sseMain>;
  const stream = (o: Partial<SseTimeline> = {}): SseTimeline => ({
    url: `https://${D}/.well-known/nap-verify/sse?hold=1&gap=100`,
    status: 200,
    contentType: 'text/event-stream',
    headersAt: 20,
    events: [],
    end: { how: 'survived' },
    ...o,
  });
  // As sent: the tick 100 ms after hello. Held: both at the stream's end, 1 s later, a few ms apart, on the second
  // read too (its tick sent 800 ms after hello).
  const live = { stream: stream(), helloAt: 0, tickAt: 101, sentGapMs: 100, firstGapMs: null };
  const held = { stream: stream(), helloAt: 1001, tickAt: 1003, sentGapMs: 800, firstGapMs: 1 };
  const ev = (h1: Partial<E>, h2?: E['h2']): E => ({ host: D, ...h1, ...(h2 ? { h2 } : {}) }) as E;
  judgeRows<E>([
    [
      'held over HTTP/1.1, as sent over HTTP/2: SSE_BUFFERED_HTTP1 (warn), both reads named',
      sseMain,
      ev(held, { alpn: 'h2', ...live }),
      {
        status: 'warn',
        code: 'SSE_BUFFERED_HTTP1',
        message:
          /^over HTTP\/1\.1 hello .* within 2 ms .*over HTTP\/2, which browsers use here, .* 0\.10 s after hello/,
      },
    ],
    [
      'held over both: SSE_BUFFERED, over HTTP/2 too',
      sseMain,
      ev(held, { alpn: 'h2', ...held }),
      { status: 'fail', code: 'SSE_BUFFERED', message: /the proxy buffers the stream \(over HTTP\/2 too: / },
    ],
    [
      'as sent over HTTP/1.1 but held over HTTP/2 (what browsers use): SSE_BUFFERED',
      sseMain,
      ev(live, { alpn: 'h2', ...held }),
      { status: 'fail', code: 'SSE_BUFFERED', message: /^over HTTP\/2, which browsers use here, hello .*buffers/ },
    ],
    [
      'held over HTTP/1.1 with no HTTP/2 offered: SSE_BUFFERED',
      sseMain,
      ev(held, { alpn: 'http/1.1' }),
      { status: 'fail', code: 'SSE_BUFFERED', message: /the proxy buffers the stream$/ },
    ],
    [
      'compressed over HTTP/2 only: SSE_BUFFERED naming HTTP/2',
      sseMain,
      ev(live, { alpn: 'h2', stream: stream({ contentEncoding: 'gzip' }) }),
      { status: 'fail', code: 'SSE_BUFFERED', message: /compressed \(gzip\) on the way over HTTP\/2/ },
    ],
    [
      'an error page over HTTP/2 only: SSE_BAD_TYPE naming HTTP/2',
      sseMain,
      ev(live, { alpn: 'h2', stream: stream({ status: 404, contentType: 'text/html', body: 'Not Found' }) }),
      { status: 'fail', code: 'SSE_BAD_TYPE', message: /^over HTTP\/2, which browsers use here, .*answered 404/ },
    ],
    [
      'as sent over both: pass, both named',
      sseMain,
      ev(live, { alpn: 'h2', ...live }),
      { status: 'pass', message: /0\.10 s after hello as sent over HTTP\/1\.1 and HTTP\/2$/ },
    ],
    [
      'as sent, no HTTP/2 offered: pass, saying so',
      sseMain,
      ev(live, { alpn: 'http/1.1' }),
      { status: 'pass', message: /as sent \(the ingress offers no HTTP\/2: ALPN http\/1\.1\)$/ },
    ],
  ]);
});

describe('turn.*', () => {
  type Ev = EvidenceOf<typeof turnTcp>;
  const server = `${D}:3478`;
  const tcpTimeout = 'no TCP connection within 5000 ms';
  judgeRows<Ev>([
    [
      'TCP connects time out: TURN_TIMEOUT on turn.tcp',
      turnTcp,
      { transport: 'tcp', server, ok: false, failure: { kind: 'timeout', error: tcpTimeout } },
      {
        status: 'fail',
        code: 'TURN_TIMEOUT',
        message: `no STUN answer from ${server} over TCP: ${tcpTimeout} (packets dropped on the way)`,
      },
    ],
    [
      'TCP refused: TURN_UNREACHABLE',
      turnTcp,
      { transport: 'tcp', server, ok: false, failure: { kind: 'refused', error: 'connection refused' } },
      { status: 'fail', code: 'TURN_UNREACHABLE' },
    ],
    [
      'a garbage flood is a server that answers, not a firewall drop',
      turnTcp,
      { transport: 'tcp', server, ok: false, failure: { kind: 'flood', error: 'more than 2000 packets' } },
      { status: 'fail', code: 'TURN_UNREACHABLE', message: /answers, but not as a STUN server/ },
    ],
    [
      'the name does not resolve: skip, the dns.* checks say why',
      turnTcp,
      { transport: 'tcp', server, unresolved: 'ENOTFOUND' },
      {
        status: 'skip',
        message:
          `TURN server ${server}: ENOTFOUND; nothing to test until DNS answers (see the dns.* checks), or ` +
          `give --turn <ip>`,
      },
    ],
    [
      'UDP dropped while TCP answers: TURN_UDP_UNUSED (warn)',
      turnUdp,
      { transport: 'udp', server, ok: false, failure: { kind: 'timeout', error: 'no answer' }, tcpAnswered: true },
      { status: 'warn', code: 'TURN_UDP_UNUSED' },
    ],
  ]);
});

describe('config.values', () => {
  type Ev = EvidenceOf<typeof configValues>;
  const findings = valuesFindings(
    {
      NAP_HOST: D,
      INGRESS_MODE: 'external',
      SANDBOX_DOMAIN: 'sandbox.other.test',
      WEB_PUBLIC_URL: `https://${D}`,
      BROWSER_PUBLIC_URL: `https://browsers.${D}`,
      SANDBOX_PUBLIC_URL: `https://sandbox.${D}`,
    },
    { mode: 'external', domain: D, httpsPort: 443 },
  );
  judgeRows<Ev>([
    [
      'SANDBOX_DOMAIN for another domain: CONFIG_MISMATCH',
      configValues,
      { file: '/tmp/values.env', findings },
      {
        status: 'fail',
        code: 'CONFIG_MISMATCH',
        message:
          `SANDBOX_DOMAIN=sandbox.other.test should be sandbox.${D} (sandbox preview links point at names ` +
          `the wildcard record and certificate do not cover)`,
        fix: `In /tmp/values.env: set SANDBOX_DOMAIN to sandbox.${D}.`,
      },
    ],
    [
      'every key agrees: pass',
      configValues,
      { file: '/tmp/values.env', values: { NAP_HOST: D }, findings: [] },
      { status: 'pass', message: '1 keys agree with the domain' },
    ],
    [
      'SANDBOX_DOMAIN shown by http.sandbox from the installed service: left to it, said once',
      configValues,
      {
        file: '/tmp/values.env',
        values: { NAP_HOST: D, SANDBOX_DOMAIN: '' },
        findings: [],
        reportedBy: [{ key: 'SANDBOX_DOMAIN', check: 'http.sandbox' }],
      },
      {
        status: 'pass',
        message:
          '1 keys agree with the domain; SANDBOX_DOMAIN is reported by http.sandbox, where the installed ' +
          'service shows it',
      },
    ],
  ]);

  it("a default install's values.env (modules off, their keys empty as in values.env.example): no finding", () => {
    const v = {
      NAP_HOST: D,
      INGRESS_MODE: 'external',
      WEB_PUBLIC_URL: `https://${D}`,
      FILES_PUBLIC_URL: `https://files.${D}`,
      SANDBOX_ENABLED: 'false',
      SANDBOX_DOMAIN: '',
      SANDBOX_PUBLIC_URL: '',
      BROWSER_ENABLED: 'false',
      BROWSER_PUBLIC_URL: '',
      TURN_HOST: '',
      TURN_PORT: '3478',
    };
    const off = { browser: false, sandbox: false, source: 'values' as const };
    expect(valuesFindings(v, { mode: 'external', domain: D, httpsPort: 443, modules: off })).toEqual([]);
    // The same file judged as if both modules were installed: their empty keys are findings.
    expect(
      valuesFindings(v, { mode: 'external', domain: D, httpsPort: 443 })
        .map((f) => f.key)
        .sort(),
    ).toEqual(['BROWSER_PUBLIC_URL', 'SANDBOX_DOMAIN', 'SANDBOX_PUBLIC_URL', 'TURN_HOST']);
  });
});

describe('hold.*', () => {
  type Ev = EvidenceOf<typeof holdWsMain>;
  const FIN: StreamEnd = { how: 'close', code: 1006, reason: '', fin: true };
  const line = (openedAt: number, lastByteAt: number, endedAt: number) => ({ openedAt, lastByteAt, endedAt, end: FIN });
  const held = (silent: NonNullable<Ev['silent']>, keepalive: Ev['keepalive']): Ev => ({
    host: D,
    holdS: 75,
    silent,
    keepalive,
    ...analyzeHold(silent, keepalive),
  });
  judgeRows<Ev>([
    [
      'both streams cut at the same age: a lifetime cap (HOLD_CUT)',
      holdWsMain,
      held(line(0, 1500, 30_050), line(0, 29_600, 30_080)),
      { status: 'fail', code: 'HOLD_CUT', message: /GCP load balancer backend timeout/ },
    ],
    [
      'the twin could not be held: unknown limit, no guessed culprit (HOLD_CUT)',
      holdWsMain,
      held(line(0, 1500, 21_500), { endedAt: 300, end: { how: 'http', status: 503 } }),
      {
        status: 'fail',
        code: 'HOLD_CUT',
        message:
          /the keep-alive twin could not be held \(HTTP 503\), so an idle timeout cannot be told from a lifetime cap$/,
      },
    ],
  ]);
  it('the evidence of those rows carries the limit kind', () => {
    expect(held(line(0, 1500, 30_050), line(0, 29_600, 30_080)).limit).toBe('lifetime');
    expect(held(line(0, 1500, 21_500), { endedAt: 300, end: { how: 'http', status: 503 } }).limit).toBe('unknown');
  });
});

describe('what a server sends in front of the platform reaches a message inert', () => {
  it('a title, Server header and challenge with escapes, CR, BEL and a bidi override are shown escaped', () => {
    const hostile = '\u001b]0;owned\u0007\r\u202eevil';
    const t = tally([
      {
        url: 'u',
        address: 'a',
        status: 200,
        ms: 1,
        headers: { 'content-type': 'text/html', server: hostile },
        body: `<title>${hostile}</title>`,
      },
      { url: 'u', address: 'a', status: 503, ms: 1, headers: { server: hostile }, body: hostile },
    ]);
    const j = judgeIntermittent(t, 'browsers.acme.test', undefined)!;
    const gate = gateOf(
      { url: 'u', address: 'a', status: 401, ms: 1, headers: { 'www-authenticate': `Basic realm="${hostile}"` } },
      'acme.test',
    )!;
    const g = judgeGate(gate, 'files', 'files.acme.test', 'acme.test', false);
    for (const text of [j.message, g.message]) {
      expect(text).not.toMatch(/[\u0000-\u001f\u202e]/);
      expect(text).toContain('\\x1b]0;owned\\x07\\x0d\\u202eevil');
    }
  });
});
