// Pure judgements of the routing and hold checks on recorded evidence.
import { describe, expect, it } from 'vitest';
import { culpritFor } from '../../checks/_lib/culprit.js';
import { analyzeHold, HOLD_IDLE_HEARTBEAT, holdMeta, judgeHold, type HoldEvidence } from '../../checks/_lib/hold.js';
import { detectController, fingerprint, isDefaultBackend } from '../../checks/_lib/routing.js';
import type { Controller, RunContext } from '../../src/model.js';
import type { StreamEnd } from '../../src/probes/hold-pair.js';
import { remediationFor } from '../../src/remediation.js';

const FIN: StreamEnd = { how: 'close', code: 1006, reason: '', fin: true };
const cut = (openedAt: number, lastByteAt: number, endedAt: number, end: StreamEnd = FIN) => ({
  openedAt,
  lastByteAt,
  endedAt,
  end,
});
const survived = { openedAt: 5, lastByteAt: 75_000, endedAt: 75_010, end: { how: 'survived' as const } };

describe('analyzeHold', () => {
  it('silent cut, twin alive: an idle timeout measured from the last byte', () => {
    expect(analyzeHold(cut(10, 12, 60_040), survived, 'ingress-nginx')).toEqual({
      cutAfterS: 60,
      ageS: 60,
      limit: 'idle',
      ended: 'close 1006 after FIN',
      culprit: 'ingress-nginx proxy-read-timeout (60 s default)',
    });
  });

  it("both cut at the same age: a lifetime cap, judged by the busy stream's age (GCP-style 30 s)", () => {
    const a = analyzeHold(cut(0, 10, 30_050), cut(0, 29_800, 30_100));
    expect(a).toMatchObject({ limit: 'lifetime', capS: 30.1, ageS: 30.1 });
    expect(a.culprit).toBe('GCP load balancer backend timeout (30 s default)');
  });

  it('twin cut first (a cap checked only when data is written): lifetime, capS from the twin', () => {
    const a = analyzeHold(
      cut(0, 1500, 75_010, { how: 'eof', detail: 'x' }),
      cut(0, 9_500, 10_020, { how: 'eof', detail: 'y' }),
    );
    expect(a).toMatchObject({ limit: 'lifetime', capS: 10, ageS: 75, cutAfterS: 73.5 });
    expect(a.culprit).toMatch(/caps streams at about 10 s of age/);
  });

  it('twin cut while the silent stream survived: still a lifetime cap on streams that carry data', () => {
    expect(analyzeHold(survived, cut(0, 7_500, 8_000))).toMatchObject({ limit: 'lifetime', capS: 8 });
  });

  it('twin cut well after the silent stream, or never opened: unknown, and no guessed culprit', () => {
    expect(analyzeHold(cut(0, 1500, 15_000), cut(0, 40_000, 45_000))).toMatchObject({
      limit: 'unknown',
      twinEnded: 'close 1006 after FIN',
    });
    expect(analyzeHold(cut(0, 1500, 15_000), cut(0, 40_000, 45_000)).culprit).toBeUndefined();
    const never = { endedAt: 100, end: { how: 'http' as const, status: 502 } };
    expect(analyzeHold(cut(0, 10, 15_010), never)).toMatchObject({
      limit: 'unknown',
      culprit: 'Envoy/Contour route timeout (15 s default)',
    });
  });

  it('a stream whose headers never arrived gives no cut figures', () => {
    expect(
      analyzeHold(
        { endedAt: 2000, end: { how: 'error', detail: 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error' } },
        survived,
      ),
    ).toEqual({
      unopened: true,
      ended: 'error: UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error',
    });
  });

  it('a twin that ran into our own deadline is no evidence of a cap', () => {
    expect(analyzeHold(survived, cut(0, 70_000, 79_000, { how: 'timeout', detail: 'no end within 79000 ms' }))).toEqual(
      {},
    );
  });

  it('a survivor needs no analysis', () => {
    expect(analyzeHold(survived, survived)).toEqual({});
  });
});

// Recorded timelines for the field's defaults, judged at the default --hold 75 (and 10 where a cut shows there).
const OPEN = 100;
/** An idle timeout: the silent stream's last byte at 1.5 s (the SSE's third tick), its twin alive past the cut. */
function idleRun(limitS: number, holdS: number, end: StreamEnd = FIN) {
  const cutAt = OPEN + 1500 + limitS * 1000;
  if (cutAt > OPEN + holdS * 1000)
    return { silent: { ...survived, endedAt: OPEN + holdS * 1000 + 20 }, keepalive: survived };
  return {
    silent: cut(OPEN, OPEN + 1500, cutAt, end),
    keepalive: { ...survived, endedAt: cutAt + 2100, outlivedMs: 2100 },
  };
}
/** A lifetime cap on the connection: both streams cut at the same age. */
function capRun(capS: number, holdS: number) {
  if (capS > holdS) return { silent: survived, keepalive: survived };
  return {
    silent: cut(OPEN, OPEN + 1500, OPEN + capS * 1000 + 10),
    keepalive: cut(OPEN, OPEN + capS * 1000 - 400, OPEN + capS * 1000 + 30),
  };
}
function judged(
  kind: 'WebSocket' | 'SSE stream',
  holdS: number,
  run: { silent: HoldEvidence['silent']; keepalive: HoldEvidence['keepalive'] },
  controller?: Controller,
) {
  const ev: HoldEvidence = {
    host: 'acme.test',
    holdS,
    ...run,
    ...(controller ? { controller } : {}),
    ...analyzeHold(run.silent!, run.keepalive, controller),
  };
  const j = judgeHold(ev, { holdS } as RunContext, kind);
  const meta = holdMeta('hold.sse.main', 't', 'p', { HOLD_IDLE_HEARTBEAT });
  return { ev, j, remediation: remediationFor(meta, j, j.controller) };
}

describe('the culprit table at the default --hold 75', () => {
  it.each([
    [
      'Envoy/Contour route timeout, 15 s lifetime',
      capRun(15, 75),
      'contour',
      'lifetime',
      15,
      /^Envoy\/Contour route timeout \(15 s default\)$/,
      /timeoutPolicy: \{response: infinity/,
    ],
    [
      'GCP backend timeout, 30 s lifetime',
      capRun(30, 75),
      undefined,
      'lifetime',
      30,
      /^GCP load balancer backend timeout/,
      /^A limit on how long a stream may live.*GCP BackendConfig timeoutSec: 3600/,
    ],
    [
      'OpenShift router, 30 s idle',
      idleRun(30, 75),
      undefined,
      'idle',
      30,
      /^OpenShift router timeout/,
      /Raise every stream timeout/,
    ],
    [
      'HAProxy ingress, 50 s idle',
      idleRun(50, 75),
      'haproxy',
      'idle',
      50,
      /^HAProxy ingress timeout-client/,
      /^timeout tunnel 1h/,
    ],
    [
      'ingress-nginx, 60 s idle',
      idleRun(60, 75),
      'ingress-nginx',
      'idle',
      60,
      /^ingress-nginx proxy-read-timeout \(60 s default\)$/,
      /proxy-read-timeout: "3600"/,
    ],
  ] as const)('%s', (_name, run, controller, limit, figure, culprit, fix) => {
    for (const kind of ['WebSocket', 'SSE stream'] as const) {
      const { ev, j, remediation } = judged(kind, 75, run, controller);
      expect(ev.limit, kind).toBe(limit);
      expect(Math.abs((limit === 'idle' ? ev.cutAfterS! : ev.capS!) - figure), kind).toBeLessThanOrEqual(0.5);
      expect(ev.culprit, kind).toMatch(culprit);
      expect(remediation, kind).toMatch(fix);
      // An SSE idle timeout above nap-cp's 15 s heartbeat spares the platform's SSE: a warning, the same figure.
      const sseWarn = kind === 'SSE stream' && limit === 'idle';
      expect(j, kind).toMatchObject(
        sseWarn ? { status: 'warn', code: 'HOLD_IDLE_HEARTBEAT' } : { status: 'fail', code: 'HOLD_CUT' },
      );
      expect(j.message, kind).toContain(`${figure}.`);
    }
  });

  it.each([
    [100, /^Cloudflare proxy/],
    [300, /^Envoy stream idle timeout/],
  ] as const)(
    '%i s idle: invisible to a 75 s hold (pass, never a guess); a hold past it names it',
    (limitS, culprit) => {
      expect(judged('WebSocket', 75, idleRun(limitS, 75)).j).toMatchObject({ status: 'pass' });
      const long = judged('WebSocket', limitS + 30, idleRun(limitS, limitS + 30));
      expect(long.ev).toMatchObject({ limit: 'idle', cutAfterS: limitS });
      expect(long.ev.culprit).toMatch(culprit);
    },
  );

  it(
    'at --hold 10 a 15 s lifetime cap is not visible (HOLD_SHORT); a 4 s idle timeout is HOLD_CUT with the same ' +
      'figure as at 75',
    () => {
      expect(judged('WebSocket', 10, capRun(15, 10)).j).toMatchObject({ status: 'warn', code: 'HOLD_SHORT' });
      for (const hold of [75, 10]) {
        const { ev, j } = judged('SSE stream', hold, idleRun(4, hold), 'ingress-nginx');
        expect(ev).toMatchObject({ limit: 'idle', cutAfterS: 4 });
        expect(j).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
        expect(ev.culprit).toBe('nginx proxy_read_timeout (ingress-nginx proxy-read-timeout), set to about 4 s');
      }
    },
  );

  it(
    'SSE idle of exactly 15 s is still HOLD_CUT (the heartbeat would race it); 15.5 s is the ' + 'heartbeat warning',
    () => {
      expect(judged('SSE stream', 75, idleRun(15, 75)).j).toMatchObject({ code: 'HOLD_CUT' });
      expect(judged('SSE stream', 75, idleRun(15.5, 75)).j).toMatchObject({ code: 'HOLD_IDLE_HEARTBEAT' });
    },
  );

  it('a stream that never opened is skip with the reason, not a hold verdict', () => {
    const run = {
      silent: {
        endedAt: 2000,
        end: { how: 'error' as const, detail: 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error' },
      },
      keepalive: survived,
    };
    expect(judged('SSE stream', 75, run).j).toMatchObject({
      status: 'skip',
      message:
        'no hold verdict for acme.test: the silent SSE stream never opened (error: UND_ERR_HEADERS_TIMEOUT: ' +
        'Headers Timeout Error)',
    });
  });

  it('unknown says so instead of guessing', () => {
    const run = {
      silent: cut(OPEN, OPEN + 1500, OPEN + 21_500),
      keepalive: { endedAt: 300, end: { how: 'http' as const, status: 503 } },
    };
    const { ev, j } = judged('WebSocket', 75, run, 'ingress-nginx');
    expect(ev.limit).toBe('unknown');
    expect(ev.culprit).toBeUndefined();
    expect(j.message).toBe(
      'silent WebSocket to acme.test cut 20.0 s after its last byte (open 21.5 s; close 1006 after FIN); the ' +
        'keep-alive twin could not be held (HTTP 503), so an idle timeout cannot be told from a lifetime cap',
    );
  });
});

describe('culpritFor', () => {
  it.each([
    [15.1, undefined, 'lifetime', /Envoy\/Contour route timeout/],
    [30, undefined, 'unknown', /GCP load balancer.* or OpenShift/],
    [50.2, 'haproxy', 'idle', /HAProxy ingress/],
    [60, undefined, 'idle', /ingress-nginx proxy-read-timeout, AWS ALB idle timeout or Traefik/],
    [60, 'ingress-nginx', 'idle', /^ingress-nginx proxy-read-timeout \(60 s default\)$/],
    [110, undefined, 'idle', /Cloudflare/],
    [300, 'contour', 'idle', /Envoy stream idle timeout/],
    [3, 'ingress-nginx', 'idle', /^nginx proxy_read_timeout .*about 3 s$/],
    [42, undefined, 'idle', /idle timeout of about 42 s$/],
    [42, 'contour', 'lifetime', /^Envoy \(Contour\) timeoutPolicy.response, set to about 42 s$/],
    [10, 'ingress-nginx', 'lifetime', /caps streams at about 10 s of age .*not ingress-nginx's idle timeouts/],
  ] as const)('%s s (%s, %s) → %s', (s, c, kind, want) => {
    expect(culpritFor(s, c, undefined, kind)).toMatch(want);
  });

  it('a 524 is Cloudflare whatever the time', () => {
    expect(culpritFor(7, undefined, { how: 'http', status: 524 })).toMatch(/Cloudflare/);
  });
});

describe('routing fingerprints', () => {
  const ex = (status: number, body: string, headers: Record<string, string> = {}) => ({
    url: 'u',
    address: 'a',
    status,
    body,
    headers,
    ms: 1,
  });
  it('recognises each platform service from its own answers', () => {
    expect(fingerprint({ '/': ex(400, '{"error":"Invalid preview subdomain"}') })).toBe('preview');
    expect(fingerprint({ '/': ex(404, 'Not found', { 'content-type': 'text/plain' }) })).toBe('files');
    expect(
      fingerprint({
        '/': ex(404, '{}'),
        '/api/config': ex(200, '{"napUrl":"https://a.b","sandboxDomain":"sandbox.a.b"}'),
      }),
    ).toBe('nap-sandbox');
    // nap-browser: /health ok and its /api/config behind auth (401), or its web UI; a napUrl alone is no longer it.
    expect(
      fingerprint({ '/health': ex(200, '{"status":"ok"}'), '/api/config': ex(401, '{"error":"Unauthorized"}') }),
    ).toBe('nap-browser');
    expect(
      fingerprint({ '/': ex(200, '<!doctype html><title>Browsers</title>', { 'content-type': 'text/html' }) }),
    ).toBe('nap-browser');
    expect(
      fingerprint({
        '/': ex(200, '<!doctype html><title>Sandboxes</title>', { 'content-type': 'text/html; charset=utf-8' }),
      }),
    ).toBe('nap-sandbox');
    expect(fingerprint({ '/': ex(404, '{}'), '/api/config': ex(200, '{"napUrl":"https://a.b"}') })).toBeUndefined();
    expect(fingerprint({ '/api/config': ex(401, '{"error":"Unauthorized"}') })).toBeUndefined();
    // nap-cp with a /health and a 401 on /api/* is still nap-cp: its /healthz and / → /login say so.
    expect(
      fingerprint({
        '/': ex(302, '', { location: '/login' }),
        '/health': ex(200, '{"status":"ok"}'),
        '/api/config': ex(401, '{"error":"Unauthorized"}'),
      }),
    ).toBe('nap-cp');
    expect(fingerprint({ '/': ex(302, '', { location: '/login' }) })).toBe('nap-cp');
    expect(fingerprint({ '/': ex(200, '<html>') })).toBeUndefined();
  });

  it('tells the proxy and its default backend from the platform', () => {
    expect(detectController([ex(404, '', { server: 'envoy' })])).toBe('contour');
    expect(detectController([ex(404, '', { server: 'istio-envoy' })])).toBe('istio');
    expect(detectController([ex(404, '404 page not found\n')])).toBe('traefik');
    // ingress-nginx hides its version; a plain nginx shows it.
    expect(detectController([ex(200, 'x', { server: 'nginx' })])).toBe('ingress-nginx');
    expect(detectController([ex(200, 'x', { server: 'nginx/1.25.3' })])).toBe('nginx');
    expect(isDefaultBackend(ex(404, 'default backend - 404'))).toBe(true);
    expect(
      isDefaultBackend(ex(404, '<html><center><h1>404 Not Found</h1></center><hr><center>nginx</center></html>')),
    ).toBe(true);
    expect(isDefaultBackend(ex(404, 'Not found', { 'content-type': 'text/plain' }))).toBe(false);
  });
});
