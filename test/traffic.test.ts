// The platform's own traffic through real proxies: request bodies of the sizes it takes (http.upload) and answers
// that start only after a long wait (hold.wait.*). Each fault is judged at the default options (a full run: the
// holds' 75 s, with the real body beside them) and in a fast run:
//   - nginx client_max_body_size 1m (its default): fail, the limit bracketed between 1 and 2 MiB;
//   - nginx 64m: a warning at the default --upload-size (100 MiB), the limit between 64 and 100 MiB;
//   - nginx without a limit and HAProxy on its defaults: pass;
//   - nginx proxy_read_timeout 4s and HAProxy timeout server 5s: the stream holds and the wait are cut together,
//     and the wait says it shares the streams' cut (one cause, one fix).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type JsonCheck } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { startCaddy } from './support/caddy.js';
import {
  ingressBase,
  nginxSite,
  startHaproxy,
  startResponder,
  UPGRADE_MAP,
  type Ingress,
  type ResponderPorts,
} from './support/ingress.js';
import { failuresOf, runAt } from './support/run-at.js';
import { startVarnish } from './support/varnish.js';

const D = 'nap.test';
const PORTS: ResponderPorts = { cp: 3000, browser: 3005, sandbox: 3006 };
/** Each install on port 443 of its own loopback address, reached with --ingress-ip (public URLs have no port). */
const P = {
  limit1m: '127.0.0.11',
  limit64m: '127.0.0.12',
  open: '127.0.0.13',
  read4s: '127.0.0.14',
  haproxy: '127.0.0.15',
  haproxy5s: '127.0.0.16',
  caddy10mb: '127.0.0.17',
  caddy: '127.0.0.18',
  varnish: '127.0.0.19',
};
/** Varnish between the TLS front (nginx) and the responder: first_byte_timeout 10 s, nothing else in the way. */
const VARNISH_PORT = 6090;
const FIRST_BYTE_S = 10;
const MiB = 1024 * 1024;

let ing: Ingress;

beforeAll(async () => {
  ing = await ingressBase(D);
  await startResponder(ing.ns, D, PORTS);
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, PORTS, { port: 443, listen: [P.limit1m], maxBody: '1m' }),
      nginxSite(ing, PORTS, { port: 443, listen: [P.limit64m], maxBody: '64m' }),
      nginxSite(ing, PORTS, { port: 443, listen: [P.open] }),
      nginxSite(ing, PORTS, { port: 443, listen: [P.read4s], readTimeout: '4s' }),
      nginxSite(
        ing,
        { cp: VARNISH_PORT, browser: VARNISH_PORT, sandbox: VARNISH_PORT },
        {
          port: 443,
          listen: [P.varnish],
        },
      ),
    ].join('\n'),
  );
  await startVarnish(ing, PORTS, VARNISH_PORT, 3600, { firstByteTimeoutS: FIRST_BYTE_S });
  await startCaddy(ing, PORTS, 443, { address: P.caddy10mb, maxBodySize: '10MB' });
  await startCaddy(ing, PORTS, 443, { address: P.caddy });
  await startHaproxy(ing, PORTS, 443, '1h', { address: P.haproxy });
  await startHaproxy(ing, PORTS, 443, '5s', { address: P.haproxy5s });
}, 60_000);
afterAll(runCleanups);

const run = (address: string, extra: string[] = []) => runAt(ing, address, extra);

const upload = (r: { byId: Record<string, JsonCheck> }) => r.byId['http.upload']!;
/** The failures of a run but the ones a test expects. */
const otherFailures = (r: Parameters<typeof failuresOf>[0], expected: string[] = []) => failuresOf(r, expected);

describe('request bodies (http.upload)', () => {
  it('a fast run (--no-hold) finds the declared-size limits and says what it did not measure', async () => {
    const [l1, l64, open, ha, caddy10] = await Promise.all([
      run(P.limit1m, ['--no-hold']),
      run(P.limit64m, ['--no-hold']),
      run(P.open, ['--no-hold']),
      run(P.haproxy, ['--no-hold']),
      run(P.caddy10mb, ['--no-hold']),
    ]);
    expect(upload(l1)).toMatchObject({ status: 'fail', code: 'HTTP_BODY_LIMIT' });
    expect(upload(l1).message).toContain(
      `${D} takes request bodies only below 2 MiB (1 MiB accepted, 2 MiB refused with 413)`,
    );
    expect(upload(l1).message).toContain(`sandbox.${D} takes request bodies only below 2 MiB`);
    expect(upload(l1).message).toContain('chat photos, voice input (25 MB), skill packages (50 MB)');
    // The test nginx hides its version as ingress-nginx does: the ingress-nginx fix, with the size to set.
    expect(upload(l1).remediation).toContain('nginx.ingress.kubernetes.io/proxy-body-size: "100m"');
    const sizes = (c: JsonCheck) => c.evidence.hosts[0].declared.map((d: { size: number }) => d.size);
    expect(sizes(upload(l1))).toContain(1 * MiB);
    expect(sizes(upload(l1))).toContain(2 * MiB);
    expect(upload(l64)).toMatchObject({ status: 'warn', code: 'HTTP_BODY_LIMIT' });
    expect(upload(l64).message).toContain('64 MiB accepted, 100 MiB refused with 413');
    expect(upload(l64).message).toContain('file uploads up to 100 MiB fail');
    // Caddy's request_body max_size lets every declared size on (100 Continue): only real bytes find it, and a fast
    // run says it did not send them.
    for (const r of [open, ha, caddy10]) {
      expect(upload(r).status, upload(r).message).toBe('pass');
      // Let on at the largest size at once: one question per host, the fast run pays for no ladder.
      for (const h of upload(r).evidence.hosts)
        expect(h.declared.map((d: { size: number }) => d.size)).toEqual([100 * MiB]);
      expect(upload(r).message).toContain(`${D} and sandbox.${D} take request bodies up to 100 MiB`);
      expect(upload(r).message).toContain('not measured: --no-hold');
    }
    expect(otherFailures(l1, ['http.upload'])).toEqual([]);
    for (const r of [l64, open, ha, caddy10]) expect(otherFailures(r)).toEqual([]);
  });

  it('--upload-size sets the largest size asked; garbage is a usage error naming the option', async () => {
    const r = await run(P.limit64m, ['--no-hold', '--upload-size', '50MiB', '--only', 'http.upload']);
    expect(upload(r).status).toBe('pass');
    expect(upload(r).evidence.uploadBytes).toBe(50 * MiB);
    for (const bad of ['lots', '100 parsecs', '0', '2g']) {
      const u = await runCli(ing.ns, ['--domain', D, '--upload-size', bad]);
      expect(u.code, bad).toBe(2);
      expect(u.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(u.stderr, bad).toContain('--upload-size');
    }
  });
});

/** The Caddy finding: a limit only real bytes show, bracketed by what reached the responder and what was sent. */
function expectCaddyLimit(r: { byId: Record<string, JsonCheck> }) {
  const u = upload(r);
  expect(u).toMatchObject({ status: 'fail', code: 'HTTP_BODY_LIMIT' });
  expect(u.message).toContain('likely Caddy (request_body max_size)');
  expect(u.message).toContain('while every declared size up to it was let on');
  for (const h of u.evidence.hosts) {
    // max_size 10MB: exactly 10,000,000 bytes reached the responder before Caddy cut the body (502, empty).
    expect(h.real, h.host).toMatchObject({ received: 10_000_000, answer: { status: 502 } });
    expect(h.real.sent, h.host).toBeGreaterThan(10_000_000);
    // Within one step: the bytes sent are at most a few socket buffers past the limit.
    expect(h.real.sent, h.host).toBeLessThan(10_000_000 + 8 * MiB);
  }
  expect(u.remediation).toContain('request_body');
}

function expectVarnishCut(r: { byId: Record<string, JsonCheck> }) {
  for (const id of ['hold.wait.main', 'hold.wait.sandbox']) {
    const w = r.byId[id]!;
    expect(w, id).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
    expect(Math.abs(w.evidence.cutAfterS - FIRST_BYTE_S), w.message).toBeLessThanOrEqual(0.5);
    expect(w.message).toContain('(HTTP 503)');
    expect(w.message).toContain('likely Varnish first_byte_timeout');
    expect(w.remediation).toContain('first_byte_timeout=3600');
  }
  // The streams themselves pass through it: one limit, on the wait alone.
  for (const id of ['hold.ws.main', 'hold.sse.main']) expect(r.byId[id]!.status, r.byId[id]!.message).not.toBe('fail');
}

describe('at --hold 15', () => {
  it('Caddy request_body max_size 10MB: found by its real body; Varnish first_byte_timeout 10 s', async () => {
    const [caddy10, varnish] = await Promise.all([
      run(P.caddy10mb, ['--hold', '15']),
      run(P.varnish, ['--hold', '15']),
    ]);
    expectCaddyLimit(caddy10);
    expectVarnishCut(varnish);
    expect(otherFailures(caddy10, ['http.upload'])).toEqual([]);
    expect(otherFailures(varnish, ['hold.wait.main', 'hold.wait.sandbox'])).toEqual([]);
  }, 60_000);
});

describe('at the default options (the holds: 75 s, with a real body and the waits beside them)', () => {
  it('bodies: nginx 1m fails, 64m warns, Caddy 10MB fails by its real body, no limit, HAProxy and Caddy pass with ' +
    'a real 100 MiB body; waits: answered after 75 s through healthy proxies, cut by Varnish at 10 s, and with ' +
    'the streams by a 4 s / 5 s timeout', async () => {
    const [l1, l64, open, ha, read4s, ha5s, caddy10, caddy, varnish] = await Promise.all([
      run(P.limit1m),
      run(P.limit64m),
      run(P.open),
      run(P.haproxy),
      run(P.read4s),
      run(P.haproxy5s),
      run(P.caddy10mb),
      run(P.caddy),
      run(P.varnish),
    ]);
    expectCaddyLimit(caddy10);
    expectVarnishCut(varnish);
    expect(upload(l1)).toMatchObject({ status: 'fail', code: 'HTTP_BODY_LIMIT' });
    expect(upload(l1).message).toContain('1 MiB accepted, 2 MiB refused with 413');
    expect(upload(l64)).toMatchObject({ status: 'warn', code: 'HTTP_BODY_LIMIT' });
    for (const r of [open, ha, caddy]) {
      const u = upload(r);
      expect(u.status, u.message).toBe('pass');
      // The real body, paced over half the holds, reached the responder whole on both hosts.
      for (const h of u.evidence.hosts)
        expect(h.real, h.host).toMatchObject({ ended: 'answered', received: 100 * MiB });
      for (const id of ['hold.wait.main', 'hold.wait.sandbox']) {
        expect(r.byId[id], id).toMatchObject({ status: 'pass' });
        expect(r.byId[id]!.message).toMatch(/answered after 75\.\d s of waiting, as asked/);
      }
      expect(r.code).toBe(0);
    }
    for (const [r, secs, id] of [
      [read4s, 4, 'hold.ws.main'],
      [ha5s, 5, 'hold.ws.main'],
    ] as const) {
      const w = r.byId['hold.wait.main']!;
      expect(w).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
      expect(Math.abs(w.evidence.cutAfterS - secs), w.message).toBeLessThanOrEqual(0.5);
      // One cause: the wait names the stream hold it shares the cut with, and prints no second fix.
      expect(w.message).toContain(`the same limit that cut ${id}`);
      expect(w.remediation).toBe(`One setting cuts both: the fix of ${id} covers this wait too.`);
      expect(r.byId[id]).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
    }
  }, 170_000);
});
