// http.*, ws.* and sse.main through real nginx and haproxy in front of the real responder (`nap-verify serve`),
// each proxy configuration healthy or broken the way ingresses are broken in the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIRM_GAP_MS, TICK_GAP_MS } from '../checks/sse.main.js';
import { areaOf } from '../src/model.js';
import { loadChecks } from '../src/registry.js';
import { runCli, type JsonCheck, withChecks } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import {
  ingressBase,
  nginxSite,
  publicUrlArgs,
  startHaproxy,
  startResponder,
  UPGRADE_MAP,
  waitPort,
  type Ingress,
} from './support/ingress.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const FINGERPRINTS_ONLY = { cp: 4000, browser: 4005, sandbox: 4006 };
const OTHER_DOMAIN = { cp: 5000, browser: 5005, sandbox: 5006 };
const SILENT_BACKEND = 3998;
const SKEWED_BACKEND = 3996;
const P = {
  healthy: 8443,
  stripped: 8444,
  rewritten: 8445,
  buffered: 8446,
  down: 8447,
  unrouted: 8448,
  wrong: 8449,
  platform: 8450,
  mismatch: 8451,
  slow: 8452,
  wsForbidden: 8453,
  sseReplaced: 8454,
  gzip: 8455,
  otherApp: 8456,
  skewed: 8457,
  bufferedH1: 8458,
  haproxyEmpty: 9444,
};

let ing: Ingress;

async function run(port: number, extra: string[] = []) {
  // Without --only, DNS, env and TURN are left out: the same for every port, and tested elsewhere.
  const scope = extra.includes('--only') ? [] : ['--skip', 'dns,env,turn'];
  const r = await runCli(ing.ns, [
    '--domain',
    ing.domain,
    '--https-port',
    String(port),
    '--http-port',
    '8080',
    '--ca-file',
    ing.rootPem,
    '--no-hold',
    ...scope,
    '--format',
    'json',
    '--timeout',
    '3',
    ...extra,
  ]);
  return withChecks(r);
}

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  await Promise.all([
    startResponder(ing.ns, ing.domain, R, publicUrlArgs(ing.domain, P.healthy)),
    startResponder(ing.ns, ing.domain, FINGERPRINTS_ONLY, [
      '--fingerprints-only',
      ...publicUrlArgs(ing.domain, P.platform),
    ]),
    startResponder(ing.ns, 'other.test', OTHER_DOMAIN),
  ]);
  // A service that accepts connections and never answers: what a hung pod looks like to the proxy.
  ing.ns.spawn('node', ['-e', `require('net').createServer(()=>{}).listen(${SILENT_BACKEND},'127.0.0.1')`]);
  const d = ing.domain;
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: P.healthy, blockMetrics: true }),
      nginxSite(ing, R, { port: P.stripped, upgrade: false }),
      nginxSite(ing, R, { port: P.rewritten, hostHeader: 'nap-cp' }),
      nginxSite(ing, R, { port: P.buffered, buffering: true }),
      // The same without HTTP/2: what every client then gets is what HTTP/1.1 clients get above.
      nginxSite(ing, R, { port: P.bufferedH1, buffering: true, http2: false }),
      nginxSite(ing, R, { port: P.down, backends: { cp: 3999 } }),
      nginxSite(ing, R, { port: P.unrouted, unrouted: [`files.${d}`] }),
      nginxSite(ing, R, { port: P.wrong, backends: { browser: R.sandbox } }),
      nginxSite(ing, FINGERPRINTS_ONLY, { port: P.platform }),
      nginxSite(ing, OTHER_DOMAIN, { port: P.mismatch }),
      nginxSite(ing, R, { port: P.slow, readTimeout: '1s', backends: { browser: SILENT_BACKEND } }),
      // An auth layer or WAF that refuses WebSocket upgrades on the probe path.
      nginxSite(ing, R, { port: P.wsForbidden, extra: 'location = /.well-known/nap-verify/ws { return 403; }' }),
      // A maintenance page in place of the event stream.
      nginxSite(ing, R, {
        port: P.sseReplaced,
        extra: 'location = /.well-known/nap-verify/sse { return 200 "maintenance"; }',
      }),
      nginxSite(ing, R, { port: P.gzip, extra: 'gzip on; gzip_types text/event-stream; gzip_min_length 1;' }),
      // Something else entirely answering for <d>.
      nginxSite(ing, R, { port: P.otherApp, hostBackends: { [d]: 3997 } }),
      'server { listen 127.0.0.1:3997; default_type text/html; return 200 "<html>Welcome to Acme intranet</html>"; }',
      nginxSite(ing, R, { port: P.skewed, hostBackends: { [d]: SKEWED_BACKEND }, extra: 'proxy_pass_header Date;' }),
      // Plain HTTP on 8080 for <d>: redirect on the healthy path, content on 8081.
      `server { listen 127.0.0.1:8080 default_server; return 301 https://$host:${P.healthy}$request_uri; }`,
      `server { listen 127.0.0.1:8081 default_server; location / { proxy_pass http://127.0.0.1:${R.cp}; ` +
        `proxy_set_header Host $host; } }`,
    ].join('\n'),
  );
  await startHaproxy(ing, R, P.haproxyEmpty, '30s', { noServers: true });
  // A server whose clock runs five minutes fast, its Date header passed through by nginx (proxy_pass_header).
  // (libfaketime under nginx was tried first: its offset did not reliably reach the workers.)
  ing.ns.spawn('node', [
    '-e',
    `require('http').createServer((q,s)=>{s.writeHead(200,{date:new ` +
      `Date(Date.now()+300000).toUTCString(),'content-type':'text/plain'});s.end('ok')})` +
      `.listen(${SKEWED_BACKEND},'127.0.0.1')`,
  ]);
  await Promise.all([waitPort(ing.ns, SKEWED_BACKEND), waitPort(ing.ns, SILENT_BACKEND)]);
}, 60_000);
afterAll(runCleanups);

describe('routing through real nginx', () => {
  it(
    'a healthy ingress: every host on its own service with Host preserved, upgrades pass, SSE ' + 'unbuffered',
    async () => {
      const r = await run(P.healthy);
      expect(r.code, JSON.stringify(r.json.checks.filter((c: JsonCheck) => c.status !== 'pass'))).toBe(0);
      // Every check this scope runs (all but dns, env and turn) is reported, and every one passes but config.values
      // (no --values file to read here) and the holds (--no-hold lists them as not held).
      const SKIPPED_AREAS = ['dns', 'env', 'turn'];
      const reported = (await loadChecks()).map((d) => d.meta.id).filter((id) => !SKIPPED_AREAS.includes(areaOf(id)));
      expect(Object.keys(r.byId).sort()).toEqual([...reported].sort());
      expect(r.byId['config.values']).toMatchObject({ status: 'skip', message: 'no --values file given' });
      const holds = reported.filter((id) => areaOf(id) === 'hold');
      for (const id of holds) expect(r.byId[id], id).toMatchObject({ status: 'skip' });
      const inScope = reported.filter((id) => id !== 'config.values' && !holds.includes(id));
      for (const id of inScope) expect(r.byId[id], id).toMatchObject({ status: 'pass' });
      expect(r.byId['http.files']!.message).toBe('nap-cp (responder), Host preserved, X-Forwarded-Proto https');
      expect(r.byId['http.preview']!.evidence.responder.host).toMatch(/^nvf[0-9a-f]{10}\.sandbox\.nap\.test(:8443)?$/);
      expect(r.byId['ws.preview']!.message).toBe('101, hello from nap-sandbox');
      // Apart as sent: at least the part of the gap below which the pair counts as held back.
      expect(r.byId['sse.main']!.evidence.tickAt - r.byId['sse.main']!.evidence.helloAt).toBeGreaterThanOrEqual(
        Math.round(TICK_GAP_MS * 0.6),
      );
      expect(r.byId['http.redirect']!.message).toMatch(/^301 → https:\/\/nap\.test:8443\//);
    },
  );

  it('Upgrade headers dropped by the proxy: WS_UPGRADE_STRIPPED on every ws check', async () => {
    const r = await run(P.stripped, ['--only', 'ws']);
    for (const role of ['main', 'browsers', 'sandbox', 'preview'])
      expect(r.byId[`ws.${role}`], role).toMatchObject({ status: 'fail', code: 'WS_UPGRADE_STRIPPED' });
    expect(r.byId['ws.main']!.message).toContain('answered 426 instead of 101');
    expect(r.byId['ws.main']!.remediation).toContain('ingress-nginx');
  });

  it('proxy_set_header Host nap-cp: HTTP_HOST_REWRITTEN naming the Host the service saw', async () => {
    const r = await run(P.rewritten, ['--only', 'http']);
    expect(r.byId['http.main']).toMatchObject({ status: 'fail', code: 'HTTP_HOST_REWRITTEN' });
    expect(r.byId['http.main']!.message).toContain('but with Host: nap-cp');
    expect(r.byId['http.files']).toMatchObject({ code: 'HTTP_HOST_REWRITTEN' });
    expect(r.byId['http.main']!.remediation).toMatch(/^ingress-nginx: |upstream-vhost/m);
  });

  it('proxy_buffering on, no HTTP/2: SSE_BUFFERED', async () => {
    const r = await run(P.bufferedH1, ['--only', 'sse']);
    expect(r.byId['sse.main']).toMatchObject({ status: 'fail', code: 'SSE_BUFFERED' });
    // Together on both reads: the first (tick sent 0.1 s after hello) and the one that decides (0.8 s).
    const s = (ms: number) => String(ms / 1000).replace('.', '\\.');
    expect(r.byId['sse.main']!.message).toMatch(
      new RegExp(
        `hello and the first tick, sent ${s(CONFIRM_GAP_MS)} s apart, arrived within \\d+ ms of each other, .* ` +
          `\\(read twice: sent ${s(TICK_GAP_MS)} s apart the first time, within \\d+ ms\\): the proxy buffers ` +
          `the stream$`,
      ),
    );
    expect(r.byId['sse.main']!.evidence).toMatchObject({ sentGapMs: CONFIRM_GAP_MS, firstGapMs: expect.any(Number) });
    expect(r.byId['sse.main']!.evidence.h2).toMatchObject({ alpn: 'http/1.1' });
    expect(r.byId['sse.main']!.remediation).toContain('proxy-buffering: "off"');
  });

  it(
    'proxy_buffering on with HTTP/2 (nginx passes events to h2 clients): SSE_BUFFERED_HTTP1 warn naming both ' +
      'reads (the hold that skips for it: hold.test)',
    async () => {
      const r = await run(P.buffered, ['--only', 'sse']);
      const c = r.byId['sse.main']!;
      expect(c).toMatchObject({ status: 'warn', code: 'SSE_BUFFERED_HTTP1' });
      expect(c.message).toMatch(
        new RegExp(
          /^over HTTP\/1\.1 hello and the first tick, .*: /.source +
            /the proxy buffers the stream for HTTP\/1\.1 clients; over HTTP\/2, /.source,
        ),
      );
      expect(c.message).toMatch(/which browsers use here, the first tick arrived 0\.\d\d s after hello as sent$/);
      // Both reads are in the evidence: held back over HTTP/1.1, as sent over HTTP/2.
      const h2 = c.evidence.h2 as { alpn: string; helloAt: number; tickAt: number };
      expect(h2.alpn).toBe('h2');
      expect(h2.tickAt - h2.helloAt).toBeGreaterThanOrEqual(TICK_GAP_MS * 0.6);
      expect(c.remediation).toContain('proxy-buffering: "off"');
    },
  );

  it('a dead backend: HTTP_BAD_GATEWAY, and the ws/sse checks on that host skip instead of failing twice', async () => {
    const r = await run(P.down, ['--only', 'http.main,http.files,ws.main,sse.main,http.browsers']);
    expect(r.byId['http.main']).toMatchObject({ status: 'fail', code: 'HTTP_BAD_GATEWAY' });
    expect(r.byId['http.files']).toMatchObject({ status: 'fail', code: 'HTTP_BAD_GATEWAY' });
    expect(r.byId['ws.main']).toMatchObject({
      status: 'skip',
      message: 'skipped: http.main failed (HTTP_BAD_GATEWAY)',
    });
    expect(r.byId['sse.main']!.status).toBe('skip');
    expect(r.byId['http.browsers']!.status).toBe('pass');
  });

  it('a host without an ingress rule: HTTP_DEFAULT_BACKEND', async () => {
    const r = await run(P.unrouted, ['--only', 'http']);
    expect(r.byId['http.files']).toMatchObject({ status: 'fail', code: 'HTTP_DEFAULT_BACKEND' });
    expect(r.byId['http.files']!.message).toContain('the ingress (ingress-nginx) answered 404 itself');
    expect(r.byId['http.main']!.status).toBe('pass');
  });

  it('browsers routed to nap-sandbox: HTTP_WRONG_SERVICE', async () => {
    const r = await run(P.wrong, ['--only', 'http.browsers']);
    expect(r.byId['http.browsers']).toMatchObject({
      status: 'fail',
      code: 'HTTP_WRONG_SERVICE',
      message: 'browsers.nap.test reached nap-sandbox, not nap-browser',
    });
  });

  it('a hung service: HTTP_GATEWAY_TIMEOUT', async () => {
    const r = await run(P.slow, ['--only', 'http.browsers']);
    expect(r.byId['http.browsers']).toMatchObject({ status: 'fail', code: 'HTTP_GATEWAY_TIMEOUT' });
  });

  it('services installed for another domain: HTTP_CONFIG_MISMATCH from /api/config', async () => {
    const r = await run(P.mismatch, ['--only', 'http.browsers,http.sandbox,http.oauth']);
    // nap-browser's /api/config is behind its auth (401): only nap-sandbox's public one says what it was given.
    expect(r.byId['http.browsers']!.status).toBe('pass');
    expect(r.byId['http.sandbox']).toMatchObject({ status: 'fail', code: 'HTTP_CONFIG_MISMATCH' });
    // Both keys it was installed with, in one finding: napUrl (WEB_PUBLIC_URL) and sandboxDomain (SANDBOX_DOMAIN).
    expect(r.byId['http.sandbox']!.message).toBe(
      'sandbox.nap.test/api/config says napUrl https://other.test, expected origin https://nap.test:8451: the ' +
        'platform was installed with WEB_PUBLIC_URL=https://other.test; and sandboxDomain sandbox.other.test, not ' +
        'sandbox.nap.test: nap-sandbox runs with SANDBOX_DOMAIN sandbox.other.test, so it treats no ' +
        '*.sandbox.nap.test host as a preview and every sandbox preview link fails',
    );
    expect(r.byId['http.sandbox']!.remediation).toBe(
      'In values.env set WEB_PUBLIC_URL=https://nap.test:8451 and SANDBOX_DOMAIN=sandbox.nap.test, then re-run ' +
        'install.sh.',
    );
    expect(r.byId['http.oauth']).toMatchObject({ status: 'fail', code: 'HTTP_OAUTH_MISMATCH' });
    expect(r.byId['http.oauth']!.message).toContain(
      'WEB_PUBLIC_URL is https://other.test (authorize URL of browsers.nap.test, authorize URL of ' +
        'sandbox.nap.test), expected https://nap.test:8451',
    );
  });

  it('public /metrics: HTTP_METRICS_PUBLIC warning; plain HTTP without redirect: HTTP_NO_REDIRECT', async () => {
    const r = await run(P.stripped, ['--only', 'http.exposure,http.redirect', '--http-port', '8081']);
    expect(r.byId['http.exposure']).toMatchObject({ status: 'warn', code: 'HTTP_METRICS_PUBLIC' });
    expect(r.byId['http.redirect']).toMatchObject({ status: 'fail', code: 'HTTP_NO_REDIRECT' });
    expect(r.byId['http.redirect']!.message).toBe('http://nap.test/ redirects to /login, not to https://nap.test/');
  });

  it(
    'without the responder: platform fingerprints route-check every host; ws.main uses /env-gateway; the rest ' +
      'skip as documented',
    async () => {
      const r = await run(P.platform);
      for (const role of ['main', 'files', 'browsers', 'sandbox', 'preview', 'oauth'])
        expect(r.byId[`http.${role}`], role).toMatchObject({ status: 'pass' });
      expect(r.byId['http.files']!.message).toBe("nap-cp's export app, Host preserved");
      expect(r.byId['http.browsers']!.message).toBe('nap-browser, Host preserved');
      expect(r.byId['ws.main']).toMatchObject({
        status: 'pass',
        message: '101 from /env-gateway, then 1008 as expected without a token',
      });
      for (const role of ['browsers', 'sandbox', 'preview'])
        expect(r.byId[`ws.${role}`], role).toMatchObject({ status: 'skip', code: 'WS_NO_ENDPOINT' });
      expect(r.byId['sse.main']).toMatchObject({ status: 'skip' });
      expect(r.byId['sse.main']!.message).toBe(
        'no responder behind nap.test (the platform has no SSE stream open without credentials): buffering not ' +
          'tested; run the responder in a maintenance window',
      );
      const holds = await run(P.platform, ['--only', 'hold', '--hold', '2']);
      for (const c of holds.json.checks as JsonCheck[]) expect(c, c.id).toMatchObject({ status: 'skip' });
    },
  );
});

describe('more field faults through real nginx', () => {
  it('an upgrade refused on the way: WS_REJECTED with the status', async () => {
    const r = await run(P.wsForbidden, ['--only', 'ws.browsers']);
    expect(r.byId['ws.browsers']).toMatchObject({ status: 'fail', code: 'WS_REJECTED' });
    expect(r.byId['ws.browsers']!.message).toMatch(/answered 403 instead of 101/);
  });

  it('a page in place of the event stream: SSE_BAD_TYPE; gzip on the stream: SSE_BUFFERED (compressed)', async () => {
    const replaced = await run(P.sseReplaced, ['--only', 'sse']);
    expect(replaced.byId['sse.main']).toMatchObject({ status: 'fail', code: 'SSE_BAD_TYPE' });
    expect(replaced.byId['sse.main']!.message).toContain('arrived as text/plain');
    const gz = await run(P.gzip, ['--only', 'sse']);
    expect(gz.byId['sse.main']).toMatchObject({ status: 'fail', code: 'SSE_BUFFERED' });
    expect(gz.byId['sse.main']!.message).toContain('compressed (gzip)');
  });

  it('another application answering for <d>: HTTP_UNEXPECTED with what it said', async () => {
    const r = await run(P.otherApp, ['--only', 'http.main']);
    expect(r.byId['http.main']).toMatchObject({ status: 'fail', code: 'HTTP_UNEXPECTED' });
    expect(r.byId['http.main']!.message).toContain('GET / gave 200: "<html>Welcome to Acme intranet</html>"');
  });

  it('a server clock five minutes off: CLOCK_SKEW (warn)', async () => {
    const r = await run(P.skewed, ['--only', 'env.clock']);
    expect(r.byId['env.clock'], JSON.stringify(r.byId['env.clock'])).toMatchObject({
      status: 'warn',
      code: 'CLOCK_SKEW',
    });
    expect(r.byId['env.clock']!.message).toMatch(/this machine's clock is (29\d|30\d) s behind the servers'/);
    const ok = await run(P.healthy, ['--only', 'env.clock']);
    expect(ok.byId['env.clock']!.status).toBe('pass');
  });
});

describe('routing through real haproxy', () => {
  it('a backend without servers: HTTP_NO_ENDPOINTS (503), haproxy recognised', async () => {
    const r = await run(P.haproxyEmpty, ['--only', 'http.main']);
    expect(r.byId['http.main']).toMatchObject({ status: 'fail', code: 'HTTP_NO_ENDPOINTS' });
    expect(r.byId['http.main']!.message).toContain('(haproxy)');
    expect(r.byId['http.main']!.remediation).not.toContain('ingress-nginx');
  });
});
