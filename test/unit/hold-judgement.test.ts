// Pure judgements of the routing and hold checks on recorded evidence.
import { describe, expect, it } from 'vitest';
import { culpritFor } from '../../checks/_lib/culprit.js';
import { analyzeHold, keepaliveMs } from '../../checks/_lib/hold.js';
import { detectController, fingerprint, isDefaultBackend } from '../../checks/_lib/routing.js';

const cut = (openedAt: number, lastByteAt: number, endedAt: number) => ({ openedAt, lastByteAt, endedAt, end: { how: 'close' as const, code: 1006, reason: '', fin: true } });
const survived = { openedAt: 5, lastByteAt: 75_000, endedAt: 75_010, end: { how: 'survived' as const } };

describe('analyzeHold', () => {
  it('silent cut, twin alive: an idle timeout measured from the last byte', () => {
    expect(analyzeHold(cut(10, 12, 60_040), survived, 'ingress-nginx')).toEqual({
      cutAfterS: 60, ageS: 60, limit: 'idle', ended: 'close 1006 after FIN', culprit: 'ingress-nginx proxy-read-timeout (60 s default)',
    });
  });

  it('both cut at the same age: a lifetime cap, judged by age (GCP-style 30 s)', () => {
    const a = analyzeHold(cut(0, 10, 30_050), cut(0, 29_000, 30_100));
    expect(a).toMatchObject({ limit: 'lifetime', ageS: 30.1 });
    expect(a.culprit).toMatch(/GCP load balancer/);
  });

  it('both cut at different ages: unknown', () => {
    expect(analyzeHold(cut(0, 10, 15_000), cut(0, 40_000, 45_000)).limit).toBe('unknown');
  });

  it('a survivor needs no analysis', () => {
    expect(analyzeHold(survived, survived)).toEqual({});
  });

  it('keeps the twin busy every min(20 s, hold/4)', () => {
    expect(keepaliveMs(75)).toBe(18_750);
    expect(keepaliveMs(600)).toBe(20_000);
    expect(keepaliveMs(5)).toBe(1250);
  });
});

describe('culpritFor', () => {
  it.each([
    [15.1, undefined, /Envoy\/Contour route timeout/],
    [30, undefined, /GCP load balancer|OpenShift/],
    [50.2, 'haproxy', /HAProxy ingress/],
    [60, undefined, /ingress-nginx proxy-read-timeout, AWS ALB idle timeout or Traefik/],
    [60, 'ingress-nginx', /^ingress-nginx proxy-read-timeout \(60 s default\)$/],
    [110, undefined, /Cloudflare/],
    [300, 'contour', /Envoy stream idle timeout/],
    [3, 'ingress-nginx', /^nginx proxy_read_timeout .*about 3 s$/],
    [42, undefined, /about 42 s$/],
  ] as const)('%s s (%s) → %s', (s, c, want) => {
    expect(culpritFor(s, c)).toMatch(want);
  });

  it('a 524 is Cloudflare whatever the time', () => {
    expect(culpritFor(7, undefined, { how: 'http', status: 524 })).toMatch(/Cloudflare/);
  });
});

describe('routing fingerprints', () => {
  const ex = (status: number, body: string, headers: Record<string, string> = {}) => ({ url: 'u', address: 'a', status, body, headers, ms: 1 });
  it('recognises each platform service from its own answers', () => {
    expect(fingerprint({ '/': ex(400, '{"error":"Invalid preview subdomain"}') })).toBe('preview');
    expect(fingerprint({ '/': ex(404, 'Not found', { 'content-type': 'text/plain' }) })).toBe('files');
    expect(fingerprint({ '/': ex(404, '{}'), '/api/config': ex(200, '{"napUrl":"https://a.b","sandboxDomain":"sandbox.a.b"}') })).toBe('nap-sandbox');
    expect(fingerprint({ '/': ex(404, '{}'), '/api/config': ex(200, '{"napUrl":"https://a.b"}') })).toBe('nap-browser');
    expect(fingerprint({ '/': ex(302, '', { location: '/login' }) })).toBe('nap-cp');
    expect(fingerprint({ '/': ex(200, '<html>') })).toBeUndefined();
  });

  it('tells the proxy and its default backend from the platform', () => {
    expect(detectController([ex(404, '', { server: 'envoy' })])).toBe('contour');
    expect(detectController([ex(404, '', { server: 'istio-envoy' })])).toBe('istio');
    expect(detectController([ex(404, '404 page not found\n')])).toBe('traefik');
    expect(detectController([ex(200, 'x', { server: 'nginx/1.25.3' })])).toBe('ingress-nginx');
    expect(isDefaultBackend(ex(404, 'default backend - 404'))).toBe(true);
    expect(isDefaultBackend(ex(404, '<html><center><h1>404 Not Found</h1></center><hr><center>nginx</center></html>'))).toBe(true);
    expect(isDefaultBackend(ex(404, 'Not found', { 'content-type': 'text/plain' }))).toBe(false);
  });
});
