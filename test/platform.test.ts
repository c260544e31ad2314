// Post-install runs against the real platform (nap-cp, nap-browser, nap-sandbox built from their source:
// test/support/real-platform.ts) behind the real test nginx, with coturn beside it: a healthy install is all-pass
// except the stream checks that need the responder (they skip and say so), and the faults the platform's
// configuration shows are caught for real: a host routed to another service, napUrl with the NodePort origin, and
// NodePort public URLs in the login redirect. The same NodePort-configured install, reached on its node ports, is
// right in NodePort mode.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type JsonCheck, withChecks } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, UPGRADE_MAP, type Ingress, type ResponderPorts } from './support/ingress.js';
import { startRealPlatform } from './support/real-platform.js';
import { addAddress, startCoturn } from './support/turn.js';

const D = 'nap.test';
const TURN_IP = '203.0.113.30';
const TURN_SECRET = 'nvt-platform-turn-secret-90b1';
/** The healthy install, and one installed with install.sh's NodePort fallbacks (reached on its node ports too). */
const HEALTHY: ResponderPorts = { cp: 3100, browser: 3105, sandbox: 3106 };
const NODEPORT_URLS: ResponderPorts = { cp: 30080, browser: 30085, sandbox: 30086 };
/** Only BROWSER_PUBLIC_URL left at the NodePort form. */
const BROWSER_URL_LEFT: ResponderPorts = { cp: 3300, browser: 3305, sandbox: 3306 };
const P = { healthy: 8443, wrongRoute: 8444, nodePortUrls: 8445, browserUrlLeft: 8446 };

let ing: Ingress;
let values: string;
let secretFile: string;

/** The real nap-cp, nap-browser and nap-sandbox, installed with these public URLs (both modules on). */
async function startPlatform(ports: ResponderPorts, urls: { web: string; browser: string; sandbox: string }) {
  await startRealPlatform(
    ing.ns,
    {
      NAP_HOST: D,
      INGRESS_MODE: 'external',
      BROWSER_ENABLED: 'true',
      SANDBOX_ENABLED: 'true',
      SANDBOX_DOMAIN: `sandbox.${D}`,
      WEB_PUBLIC_URL: urls.web,
      FILES_PUBLIC_URL: `https://files.${D}`,
      BROWSER_PUBLIC_URL: urls.browser,
      SANDBOX_PUBLIC_URL: urls.sandbox,
      TURN_HOST: TURN_IP,
      TURN_AUTH_SECRET: TURN_SECRET,
    },
    ports,
  );
}

/** The public URLs of an install reached at https://<role>.<d>:<port>. */
const httpsUrls = (port: number) => ({
  web: `https://${D}:${port}`,
  browser: `https://browsers.${D}:${port}`,
  sandbox: `https://sandbox.${D}:${port}`,
});

async function run(port: number, extra: string[]) {
  const r = await runCli(ing.ns, [
    '--domain',
    D,
    '--https-port',
    String(port),
    '--http-port',
    '8080',
    '--ca-file',
    ing.rootPem,
    '--format',
    'json',
    '--timeout',
    '3',
    ...extra,
  ]);
  return withChecks(r);
}

beforeAll(async () => {
  ing = await ingressBase(D);
  // One after another: each nap-cp applies its migrations to a fresh database at start.
  await startPlatform(HEALTHY, httpsUrls(P.healthy));
  await startPlatform(NODEPORT_URLS, {
    web: `http://${D}:30080`,
    browser: `http://${D}:30085`,
    sandbox: `http://${D}:30086`,
  });
  await startPlatform(BROWSER_URL_LEFT, { ...httpsUrls(P.browserUrlLeft), browser: `http://${D}:30085` });
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, HEALTHY, { port: P.healthy, blockMetrics: true }),
      // browsers.<d> routed to nap-sandbox's Service: the host answers, as another service.
      nginxSite(ing, HEALTHY, { port: P.wrongRoute, backends: { browser: HEALTHY.sandbox } }),
      nginxSite(ing, NODEPORT_URLS, { port: P.nodePortUrls, blockMetrics: true }),
      nginxSite(ing, BROWSER_URL_LEFT, { port: P.browserUrlLeft, blockMetrics: true }),
      `server { listen 127.0.0.1:8080 default_server; return 301 https://$host:${P.healthy}$request_uri; }`,
    ].join('\n'),
  );
  await addAddress(ing.ns, TURN_IP);
  await startCoturn(ing, { listenIp: TURN_IP, secret: TURN_SECRET, realm: D, denyInternal: true });
  const dir = await makeTempDir('nvt-platform-');
  secretFile = path.join(dir, 'turn-secret');
  writeFileSync(secretFile, TURN_SECRET, { mode: 0o600 });
  values = path.join(dir, 'values.env');
  writeFileSync(
    values,
    [
      `NAP_HOST=${D}`,
      'INGRESS_MODE=external',
      'BROWSER_ENABLED=true',
      'SANDBOX_ENABLED=true',
      `SANDBOX_DOMAIN=sandbox.${D}`,
      `WEB_PUBLIC_URL=https://${D}:${P.healthy}`,
      `BROWSER_PUBLIC_URL=https://browsers.${D}:${P.healthy}`,
      `SANDBOX_PUBLIC_URL=https://sandbox.${D}:${P.healthy}`,
      `FILES_PUBLIC_URL=https://files.${D}:${P.healthy}`,
      `TURN_HOST=${TURN_IP}`,
      'TURN_PORT=3478',
    ].join('\n'),
  );
}, 180_000);
afterAll(runCleanups);

const STREAM_CHECKS = [
  'hold.wait.main',
  'hold.wait.sandbox',
  'ws.browsers',
  'ws.sandbox',
  'ws.preview',
  'sse.main',
  'hold.ws.main',
  'hold.ws.browsers',
  'hold.ws.sandbox',
  'hold.ws.preview',
  'hold.sse.main',
];

describe('a post-install run against the platform as its code answers', () => {
  it(
    'healthy: all pass (nap-browser recognised by its 401 and UI, OAuth wired to the public origins) except the ' +
      'stream checks, which skip and say why',
    async () => {
      const r = await run(P.healthy, [
        '--values',
        values,
        '--turn',
        TURN_IP,
        '--turn-secret-file',
        secretFile,
        '--hold',
        '2',
      ]);
      const notPass = (r.json.checks as JsonCheck[]).filter((c) => c.status !== 'pass');
      expect(notPass.map((c) => c.id).sort(), JSON.stringify(notPass)).toEqual([...STREAM_CHECKS].sort());
      for (const c of notPass) {
        expect(c.status, c.id).toBe('skip');
        expect(c.message, c.id).toMatch(/responder|nap-verify serve|skipped: (ws|sse)\./);
      }
      expect(r.code).toBe(0);
      expect(r.byId['http.browsers']!.message).toBe('nap-browser, Host preserved');
      expect(r.byId['http.browsers']!.evidence.exchanges['/api/config']).toMatchObject({ status: 401 });
      expect(r.byId['http.sandbox']!.message).toBe('nap-sandbox, Host preserved');
      expect(r.byId['http.oauth']!.message).toBe(
        `browsers.${D} and sandbox.${D} send logins to https://${D}:${P.healthy}/oauth/authorize with their own ` +
          `callback`,
      );
      expect(r.byId['ws.main']!.message).toBe('101 from /env-gateway, then 1008 as expected without a token');
      expect(r.byId['ws.browsers']).toMatchObject({ code: 'WS_NO_ENDPOINT' });
      expect(r.byId['turn.udp']!.status).toBe('pass');
      expect(r.stdout).not.toContain(TURN_SECRET);
    },
  );

  it("browsers.<d> routed to nap-sandbox: HTTP_WRONG_SERVICE from the platform's own answers", async () => {
    const r = await run(P.wrongRoute, ['--only', 'http.browsers,http.oauth']);
    expect(r.byId['http.browsers']).toMatchObject({
      status: 'fail',
      code: 'HTTP_WRONG_SERVICE',
      message: `browsers.${D} reached nap-sandbox, not nap-browser`,
    });
    // Its login redirect would be another service's: http.oauth does not read it as a wrong BROWSER_PUBLIC_URL.
    expect(r.byId['http.oauth']!.message).toContain(
      `browsers.${D} not asked: http.browsers failed (HTTP_WRONG_SERVICE)`,
    );
    expect(r.byId['http.oauth']!.message).not.toContain('BROWSER_PUBLIC_URL');
  });

  it(
    "installed with install.sh's NodePort fallbacks behind an ingress: HTTP_CONFIG_MISMATCH and " +
      'HTTP_OAUTH_MISMATCH naming the keys',
    async () => {
      const r = await run(P.nodePortUrls, ['--only', 'http']);
      const want = `https://${D}:${P.nodePortUrls}`;
      expect(r.byId['http.sandbox']).toMatchObject({ status: 'fail', code: 'HTTP_CONFIG_MISMATCH' });
      expect(r.byId['http.sandbox']!.message).toBe(
        `sandbox.${D}/api/config says napUrl http://${D}:30080, expected origin ${want}: the platform was ` +
          `installed with WEB_PUBLIC_URL=http://${D}:30080`,
      );
      // One fix, with the value to set: not followed by the general one with its <NAP_HOST> placeholders.
      expect(r.byId['http.sandbox']!.remediation).toBe(
        `In values.env set WEB_PUBLIC_URL=${want}, then re-run install.sh.`,
      );
      // nap-browser keeps its /api/config behind auth: nothing to compare there, and the route is right.
      expect(r.byId['http.browsers']!.status).toBe('pass');
      const o = r.byId['http.oauth']!;
      expect(o).toMatchObject({ status: 'fail', code: 'HTTP_OAUTH_MISMATCH' });
      // One clause per key, however many redirects showed it.
      expect(o.message).toBe(
        `login redirects: WEB_PUBLIC_URL is http://${D}:30080 (authorize URL of browsers.${D}, authorize URL of ` +
          `sandbox.${D}), expected ${want}; ` +
          `BROWSER_PUBLIC_URL is http://${D}:30085 (redirect_uri of browsers.${D}), expected ` +
          `https://browsers.${D}:${P.nodePortUrls}; ` +
          `SANDBOX_PUBLIC_URL is http://${D}:30086 (redirect_uri of sandbox.${D}), expected ` +
          `https://sandbox.${D}:${P.nodePortUrls}`,
      );
      expect(o.remediation).toContain(
        `In values.env set WEB_PUBLIC_URL=${want}, BROWSER_PUBLIC_URL=https://browsers.${D}:${P.nodePortUrls}, ` +
          `SANDBOX_PUBLIC_URL=https://sandbox.${D}:${P.nodePortUrls}`,
      );
      // The fix names every key with its value once; the code's general text (placeholders, no port) is not added.
      expect(o.remediation!.match(/WEB_PUBLIC_URL=/g)).toHaveLength(1);
      expect(r.code).toBe(1);
    },
  );

  it('only BROWSER_PUBLIC_URL left at the NodePort form: HTTP_OAUTH_MISMATCH naming that key alone', async () => {
    const r = await run(P.browserUrlLeft, ['--only', 'http.browsers,http.sandbox,http.oauth']);
    expect(r.byId['http.sandbox']!.status).toBe('pass');
    const o = r.byId['http.oauth']!;
    expect(o).toMatchObject({ status: 'fail', code: 'HTTP_OAUTH_MISMATCH' });
    expect(o.message).toBe(
      `login redirects: BROWSER_PUBLIC_URL is http://${D}:30085 (redirect_uri of browsers.${D}), expected ` +
        `https://browsers.${D}:${P.browserUrlLeft}`,
    );
    expect(o.remediation).toMatch(
      new RegExp(
        `^In values.env set BROWSER_PUBLIC_URL=https://browsers\\.nap\\.test:${P.browserUrlLeft}, then re-run ` +
          `install.sh`,
      ),
    );
    const explain = await runCli(ing.ns, ['explain', 'HTTP_OAUTH_MISMATCH']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('http.oauth');
    expect(explain.stdout).toContain('BROWSER_PUBLIC_URL');
  });

  it(
    'the same NodePort-configured install reached on its node ports in NodePort mode: napUrl and ' +
      'OAuth are right there',
    async () => {
      const r = await runCli(ing.ns, [
        '--mode',
        'nodeport',
        '--domain',
        D,
        '--nap-node-port',
        '30080',
        '--browser-node-port',
        '30085',
        '--sandbox-node-port',
        '30086',
        '--only',
        'http',
        '--format',
        'json',
        '--timeout',
        '3',
      ]);
      const byId = Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c]));
      for (const id of ['http.main', 'http.browsers', 'http.sandbox', 'http.oauth'])
        expect(byId[id], id).toMatchObject({ status: 'pass' });
      expect(byId['http.oauth']!.message).toBe(
        `${D}:30085 and ${D}:30086 send logins to http://${D}:30080/oauth/authorize with their own callback`,
      );
    },
  );
});
