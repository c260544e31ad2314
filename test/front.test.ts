// Faults in front of the platform, through real nginx, at the default options and in a fast run:
//   - an SSO gate (auth_request + error_page 401 → 302 to https://sso.<d>/oauth2/start, as ingress-nginx builds
//     auth-url/auth-signin) on every host: fail on <d> (its public token endpoint is gated too), files.<d> and the
//     previews, warn on browsers and sandbox; the checks behind it skip naming it;
//   - the same gate on browsers and sandbox only, <d> untouched: warnings there, nothing fails;
//   - <d> gated but its public paths exempt: a warning, not a failure;
//   - a broken replica: an upstream of two servers, the second answering 503: HTTP_INTERMITTENT with the tally;
//   - X-Frame-Options DENY on browsers.<d>: HTTP_FRAME_BLOCKED quoting it; CSP frame-ancestors https://<d> passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import {
  ingressBase,
  nginxSite,
  startResponder,
  UPGRADE_MAP,
  type Ingress,
  type ResponderPorts,
} from './support/ingress.js';
import { failuresOf, runAt, warningsOf } from './support/run-at.js';

const D = 'nap.test';
const PORTS: ResponderPorts = { cp: 3000, browser: 3005, sandbox: 3006 };
/** Each install on port 443 of its own loopback address, reached with --ingress-ip. */
const A = {
  gateAll: '127.0.0.21',
  gateModules: '127.0.0.22',
  gatePublicOpen: '127.0.0.23',
  replica: '127.0.0.24',
  xfo: '127.0.0.25',
  csp: '127.0.0.26',
};
const BROKEN_REPLICA = 3099;
/** The auth service behind the gate (oauth2-proxy's /oauth2/auth): no session, so 401 to everything. */
const AUTH_SERVICE = 3098;

/** As ingress-nginx renders auth-url + auth-signin: a subrequest, and its 401 turned into a redirect to the login. */
const GATE =
  'auth_request /_nvt_auth; error_page 401 = @nvt_sso; ' +
  `location = /_nvt_auth { internal; proxy_pass http://127.0.0.1:${AUTH_SERVICE}; proxy_pass_request_body off; ` +
  'proxy_set_header Content-Length ""; } ' +
  'location @nvt_sso { return 302 https://sso.nap.test/oauth2/start?rd=https://$host$request_uri; }';
/** <d>'s public token endpoint exempt from the gate (what the fix asks for), as its own location. */
const TOKEN_OPEN = `location = /api/oauth/token { auth_request off; proxy_pass http://127.0.0.1:${PORTS.cp}; }`;

let ing: Ingress;

beforeAll(async () => {
  ing = await ingressBase(D);
  await startResponder(ing.ns, D, PORTS);
  const site = (address: string, o: Parameters<typeof nginxSite>[2] extends infer T ? Partial<T> : never) =>
    nginxSite(ing, PORTS, { port: 443, listen: [address], blockMetrics: true, ...o });
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      site(A.gateAll, { extra: GATE }),
      site(A.gateModules, { hostExtra: { [`browsers.${D}`]: GATE, [`sandbox.${D}`]: GATE } }),
      site(A.gatePublicOpen, { hostExtra: { [D]: `${GATE} ${TOKEN_OPEN}` } }),
      // A Service with two endpoints, the second a broken replica answering 503 to everything.
      `upstream nvt_browsers_replicas { server 127.0.0.1:${PORTS.browser}; server 127.0.0.1:${BROKEN_REPLICA}; }`,
      `server { listen 127.0.0.1:${BROKEN_REPLICA}; return 503; }`,
      `server { listen 127.0.0.1:${AUTH_SERVICE}; return 401; }`,
      site(A.replica, { hostProxyPass: { [`browsers.${D}`]: 'nvt_browsers_replicas' } }),
      site(A.xfo, { hostExtra: { [`browsers.${D}`]: 'add_header X-Frame-Options DENY always;' } }),
      site(A.csp, {
        hostExtra: { [`browsers.${D}`]: `add_header Content-Security-Policy "frame-ancestors https://${D}" always;` },
      }),
    ].join('\n'),
  );
}, 60_000);
afterAll(runCleanups);

const run = (address: string, extra: string[] = []) => runAt(ing, address, extra);
const failures = failuresOf;
const warnings = warningsOf;

function expectGateEverywhere(r: Awaited<ReturnType<typeof run>>) {
  expect(failures(r).sort()).toEqual(
    ['http.files HTTP_AUTH_GATE', 'http.main HTTP_AUTH_GATE', 'http.preview HTTP_AUTH_GATE'].sort(),
  );
  expect(warnings(r).sort()).toEqual(['http.browsers HTTP_AUTH_GATE', 'http.sandbox HTTP_AUTH_GATE']);
  const main = r.byId['http.main']!;
  expect(main.message).toContain(
    `an authentication gate answers for ${D} instead of the service: GET / gave 302 to https://sso.nap.test` +
      '/oauth2/start (oauth2-proxy)',
  );
  expect(main.message).toContain('POST /api/oauth/token');
  expect(main.evidence.gate).toMatchObject({ origin: 'https://sso.nap.test', kind: 'oauth2-proxy' });
  expect(main.remediation).toContain(`files.${D} and *.sandbox.${D} whole`);
  expect(main.remediation).toContain('/api/oauth/token');
  expect(main.remediation).toContain('auth-url and auth-signin annotations');
  expect(r.byId['http.files']!.message).toContain('anonymous export links open a login page');
  // The checks behind the gate skip with it as the reason, none fails with a code of its own.
  for (const id of ['ws.main', 'ws.browsers', 'ws.sandbox', 'sse.main'])
    expect(r.byId[id]!.message, id).toMatch(/skipped: http\.\w+ (failed|warned) \(HTTP_AUTH_GATE\)/);
  expect(r.byId['http.oauth']!.message).toContain('an authentication gate answers for it');
  expect(r.byId['http.upload']!.message).toContain('an authentication gate answers for it');
}

describe('an SSO gate in front of the platform', () => {
  it('on every host, at the defaults: fail on <d> (public paths gated), files, previews; warn on modules', async () => {
    expectGateEverywhere(await run(A.gateAll));
  }, 160_000);

  it('the same in a fast run', async () => {
    expectGateEverywhere(await run(A.gateAll, ['--no-hold']));
  });

  it('on browsers and sandbox only: warnings there, nothing fails', async () => {
    const r = await run(A.gateModules, ['--no-hold']);
    expect(failures(r)).toEqual([]);
    expect(warnings(r).sort()).toEqual(['http.browsers HTTP_AUTH_GATE', 'http.sandbox HTTP_AUTH_GATE']);
    expect(r.byId['http.main']!.status).toBe('pass');
    expect(r.byId['ws.browsers']!.message).toBe('skipped: http.browsers warned (HTTP_AUTH_GATE)');
  });

  it('<d> gated with its public paths exempt: a warning that says they pass', async () => {
    const r = await run(A.gatePublicOpen, ['--no-hold']);
    expect(failures(r)).toEqual([]);
    expect(r.byId['http.main']).toMatchObject({ status: 'warn', code: 'HTTP_AUTH_GATE' });
    expect(r.byId['http.main']!.message).toContain(
      "its public paths pass (POST /api/oauth/token answers the platform's 400)",
    );
  });
});

describe('a broken replica behind a route', () => {
  it('six requests on separate connections: HTTP_INTERMITTENT with the tally, at the defaults and fast', async () => {
    for (const extra of [[], ['--no-hold']]) {
      const r = await run(A.replica, extra);
      const b = r.byId['http.browsers']!;
      expect(b, JSON.stringify(b)).toMatchObject({ status: 'fail', code: 'HTTP_INTERMITTENT' });
      // Round robin over two endpoints, shared with the other requests of the run: some of six, never all.
      expect(b.message).toMatch(
        /^[1-5] of 6 requests to browsers\.nap\.test, each on a connection of its own, got 503 /,
      );
      expect(b.message).toMatch(/; the others 200 "Browsers" \(Server: nginx\) ×[1-5]\./);
      const counts = b.evidence.repeats.answers.map((a: { count: number }) => a.count);
      expect(counts.reduce((x: number, y: number) => x + y, 0)).toBe(6);
      expect(b.message).toContain('two routes or ingress controllers claim this host');
      expect(failures(r)).toEqual(['http.browsers HTTP_INTERMITTENT']);
    }
  }, 160_000);
});

describe('framing of the remote browser', () => {
  it('X-Frame-Options DENY on browsers.<d>: HTTP_FRAME_BLOCKED quoting it; frame-ancestors <d> passes', async () => {
    const [xfo, csp] = await Promise.all([run(A.xfo, ['--no-hold']), run(A.csp, ['--no-hold'])]);
    expect(xfo.byId['http.browsers']).toMatchObject({ status: 'fail', code: 'HTTP_FRAME_BLOCKED' });
    expect(xfo.byId['http.browsers']!.message).toContain('answers with X-Frame-Options: DENY');
    expect(xfo.byId['http.browsers']!.message).toContain(`does not let https://${D} frame it`);
    expect(failures(xfo)).toEqual(['http.browsers HTTP_FRAME_BLOCKED']);
    expect(csp.byId['http.browsers']!.status).toBe('pass');
    expect(failures(csp)).toEqual([]);
  });
});
