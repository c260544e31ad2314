// Plain nginx told apart from ingress-nginx (its versioned Server header), with nginx's own directives as the fix;
// and dropped Upgrade headers given one code on every host, whatever the service answers a plain GET with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, startResponder, UPGRADE_MAP, type Ingress } from './support/ingress.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const FINGERPRINTS_ONLY = { cp: 4000, browser: 4005, sandbox: 4006 };
const P = { plainStripped: 8470, plainBuffered: 8471, plainCut: 8472, platformStripped: 8473 };
// What a hand-written nginx sends: `Server: nginx/1.22.1` (the harness turns tokens off, as ingress-nginx does).
const PLAIN = 'server_tokens on;';

let ing: Ingress;

interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
  evidence: Record<string, any>;
  remediation?: string;
}

async function run(port: number, extra: string[]) {
  const r = await runCli(ing.ns, [
    '--domain',
    ing.domain,
    '--https-port',
    String(port),
    '--ca-file',
    ing.rootPem,
    '--format',
    'json',
    '--timeout',
    '3',
    ...extra,
  ]);
  expect(r.json, r.stderr || r.stdout).toBeDefined();
  return Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c])) as Record<string, JsonCheck>;
}

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  await Promise.all([
    startResponder(ing.ns, ing.domain, R),
    startResponder(ing.ns, ing.domain, FINGERPRINTS_ONLY, ['--fingerprints-only']),
  ]);
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: P.plainStripped, upgrade: false, extra: PLAIN }),
      // No HTTP/2, so the buffer holds events from every client (SSE_BUFFERED, not the HTTP/1.1-only warning).
      nginxSite(ing, R, { port: P.plainBuffered, buffering: true, http2: false, extra: PLAIN }),
      nginxSite(ing, R, { port: P.plainCut, readTimeout: '3s', extra: PLAIN }),
      // The platform itself (no responder) behind an ingress that drops the Upgrade headers.
      nginxSite(ing, FINGERPRINTS_ONLY, { port: P.platformStripped, upgrade: false }),
    ].join('\n'),
  );
}, 60_000);
afterAll(runCleanups);

describe('plain nginx', () => {
  it(
    'dropped Upgrade headers: recognised as nginx, the fix is proxy_set_header Upgrade/Connection, ' +
      'not annotations',
    async () => {
      const c = await run(P.plainStripped, ['--only', 'http.main,ws']);
      expect(c['http.main']!.evidence.controller).toBe('nginx');
      for (const role of ['main', 'browsers', 'sandbox', 'preview']) {
        expect(c[`ws.${role}`], role).toMatchObject({ status: 'fail', code: 'WS_UPGRADE_STRIPPED' });
        expect(c[`ws.${role}`]!.remediation, role).toBe(
          'In the location that proxies NAP: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; ' +
            'proxy_set_header Connection "upgrade"; and proxy_read_timeout 3600s;',
        );
      }
    },
  );

  it('buffering on: SSE_BUFFERED with proxy_buffering off as the fix', async () => {
    const c = await run(P.plainBuffered, ['--only', 'sse']);
    expect(c['sse.main']).toMatchObject({ status: 'fail', code: 'SSE_BUFFERED' });
    expect(c['sse.main']!.remediation).toMatch(/^In the location that proxies NAP: proxy_buffering off;/);
    expect(c['sse.main']!.remediation).not.toContain('nginx.ingress.kubernetes.io');
  });

  it('a 3 s proxy_read_timeout at the default --hold: HOLD_CUT naming nginx, the fix ' +
    'proxy_read_timeout 3600s', async () => {
    const c = await run(P.plainCut, ['--only', 'hold.ws.main']);
    expect(c['hold.ws.main']).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
    expect(c['hold.ws.main']!.message).toMatch(/likely nginx proxy_read_timeout, set to about 3 s$/);
    expect(c['hold.ws.main']!.remediation).toContain('proxy_read_timeout 3600s; proxy_send_timeout 3600s;');
    expect(c['hold.ws.main']!.remediation).not.toContain('nginx.ingress.kubernetes.io');
  }, 30_000);
});

describe('dropped Upgrade headers, one code on every host', () => {
  it(
    'the platform answering /env-gateway without Upgrade as it answers a plain GET (its web UI, 200) is ' +
      'WS_UPGRADE_STRIPPED, as on the responder hosts',
    async () => {
      const c = await run(P.platformStripped, ['--only', 'ws.main']);
      expect(c['ws.main']).toMatchObject({ status: 'fail', code: 'WS_UPGRADE_STRIPPED' });
      // The real nap-cp serves its web UI (200) to a plain GET of /env-gateway: the stand-in used to answer 404,
      // which nap-cp never does there (test/conformance.test.ts). A 200 to an upgrade is a plain request served.
      expect(c['ws.main']!.message).toBe(
        'upgrade to nap.test answered 200 instead of 101: the service saw a plain request, the proxy dropped the ' +
          'Upgrade headers',
      );
      expect(c['ws.main']!.evidence.plainStatus).toBe(200);
    },
  );
});
