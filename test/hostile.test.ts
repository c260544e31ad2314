// Hostile servers (test/support/hostile.mjs), each a real local server: every run ends as a finding with a clear
// message within its deadline, the process never crashes (no stack, exit 1), and nothing hangs.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { type ManagedProc, runCleanups } from './harness/proc.js';
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
