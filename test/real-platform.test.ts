// Post-install runs against the REAL platform (nap-cp, nap-browser, nap-sandbox built from their source, with
// PostgreSQL and coturn started with the platform's own arguments) behind real nginx and HAProxy, each install in
// its own namespace, run as users run nap-verify: at the default options, with the install's own values.env.
//   - a full install (both modules): no failure, only its true warnings (public /metrics, TURN peers);
//   - a default install (install.sh's defaults: modules off, nap-cp alone on <d> and files.<d>): no failure;
//   - SANDBOX_DOMAIN left empty (install.sh's default): one finding that names it, previews skip with that cause;
//   - NodePort mode from a values.env as install.sh derives it: no failure, and the /metrics fix fits the mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, withChecks, type JsonCheck } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, startHaproxy, UPGRADE_MAP, type Ingress } from './support/ingress.js';
import { startRealPlatform, type RealPlatform, type ValuesEnv } from './support/real-platform.js';
import { addAddress, startCoturn } from './support/turn.js';

const D = 'nap.test';
const TURN_IP = '203.0.113.40';
const TURN_SECRET = 'nvt-real-platform-turn-3c9d';
const REDIRECT_80 =
  'server { listen 127.0.0.1:80 default_server; listen 127.0.0.2:80 default_server; ' +
  'return 301 https://$host$request_uri; }';

/** values.env of an install behind an ingress with both modules, as its admin writes it for install.sh. */
const FULL: ValuesEnv = {
  NAP_HOST: D,
  INGRESS_MODE: 'external',
  SANDBOX_ENABLED: 'true',
  BROWSER_ENABLED: 'true',
  SANDBOX_DOMAIN: `sandbox.${D}`,
  WEB_PUBLIC_URL: `https://${D}`,
  FILES_PUBLIC_URL: `https://files.${D}`,
  BROWSER_PUBLIC_URL: `https://browsers.${D}`,
  SANDBOX_PUBLIC_URL: `https://sandbox.${D}`,
  TURN_HOST: TURN_IP,
  TURN_PORT: '3478',
  TURN_AUTH_SECRET: TURN_SECRET,
};

/** install.sh's defaults behind an ingress: the modules keys as values.env.example leaves them. */
const DEFAULT_INSTALL: ValuesEnv = {
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
  TURN_AUTH_SECRET: '',
};

interface Install {
  ing: Ingress;
  platform: RealPlatform;
}

const installs: Record<'nginx' | 'haproxy' | 'default' | 'noSandboxDomain' | 'nodeport', Install> = {} as never;

async function withCoturn(ing: Ingress): Promise<void> {
  await addAddress(ing.ns, TURN_IP);
  // self-host/manifests/coturn.yaml: use-auth-secret, realm = NAP_HOST, relay range 49152-49252, no denied-peer-ip.
  await startCoturn(ing, { listenIp: TURN_IP, secret: TURN_SECRET, realm: D });
}

/** The same install through nginx on its own default body limit (1m), at this address: --ingress-ip. */
const NGINX_1M = '127.0.0.2';

async function behindNginx(values: ValuesEnv, unrouted: string[] = []): Promise<Install> {
  const records = unrouted.length ? { browsers: null, sandbox: null, wildcard: null } : {};
  const ing = await ingressBase(D, [], undefined, records);
  const platform = await startRealPlatform(ing.ns, values);
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, platform.ports, { port: 443, unrouted }),
      nginxSite(ing, platform.ports, { port: 443, unrouted, listen: [NGINX_1M], maxBody: '1m' }),
      REDIRECT_80,
    ].join('\n'),
  );
  if (platform.running.includes('browser')) await withCoturn(ing);
  return { ing, platform };
}

async function behindHaproxy(values: ValuesEnv): Promise<Install> {
  const ing = await ingressBase(D);
  const platform = await startRealPlatform(ing.ns, values);
  // HAProxy terminates TLS (h2 offered) with the stream timeouts the platform's docs ask for; nginx only redirects :80.
  await startHaproxy(ing, platform.ports, 443, '1h');
  await startNginx(ing.ns, REDIRECT_80);
  await withCoturn(ing);
  return { ing, platform };
}

async function nodePortInstall(): Promise<Install> {
  const ing = await ingressBase(D);
  // install.sh's NodePort defaults: the public URLs unset (derived as http://NAP_HOST:<node port>), no ingress.
  const values: ValuesEnv = {
    NAP_HOST: D,
    NAP_NODE_PORT: '30080',
    BROWSER_NODE_PORT: '30085',
    SANDBOX_NODE_PORT: '30086',
    SANDBOX_ENABLED: 'true',
    BROWSER_ENABLED: 'true',
    SANDBOX_DOMAIN: `sandbox.${D}`,
    TURN_HOST: TURN_IP,
    TURN_PORT: '3478',
    TURN_AUTH_SECRET: TURN_SECRET,
  };
  // A NodePort Service forwards node:3008x to the pod's port; here the services listen on the node ports.
  const platform = await startRealPlatform(ing.ns, values, { cp: 30080, browser: 30085, sandbox: 30086 });
  await withCoturn(ing);
  return { ing, platform };
}

beforeAll(async () => {
  const [nginx, haproxy, dflt, noSandboxDomain, nodeport] = await Promise.all([
    behindNginx(FULL),
    behindHaproxy(FULL),
    behindNginx(DEFAULT_INSTALL, [`browsers.${D}`, `sandbox.${D}`, `*.sandbox.${D}`]),
    behindNginx({ ...FULL, SANDBOX_DOMAIN: '' }),
    nodePortInstall(),
  ]);
  Object.assign(installs, { nginx, haproxy, default: dflt, noSandboxDomain, nodeport });
}, 300_000);
afterAll(runCleanups);

/** A run as users make it: the install's values.env, the private CA of the test ingress, nothing else. */
async function run(i: Install, extra: string[] = [], values = true) {
  const r = await runCli(
    i.ing.ns,
    [...(values ? ['--values', i.platform.valuesFile] : []), '--ca-file', i.ing.rootPem, '--format', 'json', ...extra],
    { timeoutMs: 60_000 },
  );
  return withChecks(r);
}

const notPassing = (checks: JsonCheck[]) => checks.filter((c) => c.status !== 'pass' && c.status !== 'skip');
const summary = (checks: JsonCheck[]) => checks.map((c) => `${c.id} ${c.status} ${c.code ?? ''} ${c.message}`);

describe('the real platform, healthy full install, at the default options', () => {
  for (const proxy of ['nginx', 'haproxy'] as const) {
    it(`behind ${proxy}: no failure; warnings only for the public /metrics and the TURN peers`, async () => {
      const r = await run(installs[proxy]);
      const checks = r.json.checks as JsonCheck[];
      expect(
        notPassing(checks)
          .map((c) => `${c.id} ${c.status} ${c.code}`)
          .sort(),
        summary(checks).join('\n'),
      ).toEqual(['http.exposure warn HTTP_METRICS_PUBLIC', 'turn.peers warn TURN_OPEN_TO_INTERNAL']);
      expect(r.code).toBe(0);
      // Every service recognised by its own answers, Host preserved, OAuth wired to the public origins.
      for (const id of ['http.main', 'http.files', 'http.browsers', 'http.sandbox', 'http.preview', 'http.oauth'])
        expect(r.byId[id]!.status, id).toBe('pass');
      expect(r.byId['http.preview']!.message).toContain("nap-sandbox's preview router");
      expect(r.byId['ws.main']!.message).toContain('101 from /env-gateway, then 1008');
      // Without the responder: bodies through the platform's own 401 paths, declared sizes only; no wait to hold.
      const u = r.byId['http.upload']!;
      expect(u.message).toContain(`${D} and sandbox.${D} take request bodies up to 100 MiB`);
      expect(u.message).toContain('not measured: no responder behind the host');
      for (const h of u.evidence.hosts)
        for (const d of h.declared) expect(d.continued || d.answer?.status === 401, `${h.host} ${d.size}`).toBe(true);
      for (const id of ['hold.wait.main', 'hold.wait.sandbox'])
        expect(r.byId[id]!.message, id).toMatch(/^no responder behind \S+ \(the platform has no request that waits/);
      // Skipped only for want of the responder (the platform has no stream open without credentials).
      for (const c of checks.filter((x) => x.status === 'skip'))
        expect(c.message, c.id).toMatch(/no responder|skipped: ws\.\w+ was skipped/);
      expect(r.stdout).not.toContain(TURN_SECRET);
    });
  }
});

describe('the real platform behind nginx at its default body limit (1m), without the responder', () => {
  it("http.upload finds the limit through the platform's own 401 upload paths: one finding, the fix", async () => {
    const r = await run(installs.nginx, ['--ingress-ip', NGINX_1M]);
    const checks = r.json.checks as JsonCheck[];
    expect(
      checks.filter((c) => c.status === 'fail').map((c) => `${c.id} ${c.code}`),
      summary(checks).join('\n'),
    ).toEqual(['http.upload HTTP_BODY_LIMIT']);
    const u = r.byId['http.upload']!;
    expect(u.message).toContain(`${D} takes request bodies only below 2 MiB (1 MiB accepted, 2 MiB refused with 413)`);
    expect(u.remediation).toContain('proxy-body-size');
  });
});

describe("a default install (install.sh's defaults: the Browser and Sandbox modules off)", () => {
  it('with its values.env: no failure; the modules skip naming BROWSER_ENABLED and SANDBOX_ENABLED', async () => {
    const r = await run(installs.default);
    const checks = r.json.checks as JsonCheck[];
    expect(
      notPassing(checks).map((c) => `${c.id} ${c.code}`),
      summary(checks).join('\n'),
    ).toEqual(['http.exposure HTTP_METRICS_PUBLIC']);
    expect(r.code).toBe(0);
    for (const id of ['dns.main', 'dns.files', 'tls.main', 'tls.files', 'http.main', 'http.files', 'config.values'])
      expect(r.byId[id]!.status, id).toBe('pass');
    for (const role of ['browsers', 'sandbox', 'preview'])
      for (const area of ['dns', 'tls', 'http']) {
        const c = r.byId[`${area}.${role}`]!;
        expect(c.status, c.id).toBe('skip');
        expect(c.message, c.id).toMatch(role === 'browsers' ? /BROWSER_ENABLED/ : /SANDBOX_ENABLED/);
        expect(c.evidence.moduleOff, c.id).toBe(role === 'browsers' ? 'browser' : 'sandbox');
      }
    for (const id of ['turn.udp', 'turn.tcp', 'turn.auth', 'turn.relay', 'turn.peers'])
      expect(r.byId[id]!.message, id).toMatch(/^the Browser module is off: BROWSER_ENABLED is not true/);
    expect(r.byId['http.oauth']!.status).toBe('skip');
    expect(r.byId['dns.consistent']!.message).toBe('both names → 127.0.0.1');
    expect(r.byId['net.addresses']!.status).toBe('pass');
  });

  it('--modules none without values.env gives the same verdicts, naming the flag', async () => {
    const r = await run(installs.default, ['--domain', D, '--modules', 'none'], false);
    const checks = r.json.checks as JsonCheck[];
    expect(
      notPassing(checks).map((c) => `${c.id} ${c.code}`),
      summary(checks).join('\n'),
    ).toEqual(['http.exposure HTTP_METRICS_PUBLIC']);
    expect(r.byId['dns.browsers']!.message).toBe(
      'the Browser module is off (--modules none): nap-browser (browsers.nap.test) and coturn are not installed',
    );
  });

  it('with neither: all modules assumed; the fix of each missing host names the modules as a possibility', async () => {
    const r = await run(installs.default, ['--domain', D, '--no-hold'], false);
    expect(r.byId['dns.browsers']).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN' });
    expect(r.byId['dns.browsers']!.remediation).toContain(
      "If this install runs without the Browser module (BROWSER_ENABLED=false is install.sh's default)",
    );
    expect(r.byId['dns.preview']!.remediation).toContain('without the Sandbox module (SANDBOX_ENABLED=false');
    // nap-cp's hosts are always installed: their fixes never suggest a module.
    expect(r.byId['http.main']!.status).toBe('pass');
    expect(r.code).toBe(1);
  });
});

describe('SANDBOX_DOMAIN left empty (install.sh leaves it empty unless set)', () => {
  it('one finding that names it (http.sandbox); the previews skip with that cause, never blame the proxy', async () => {
    const r = await run(installs.noSandboxDomain);
    const checks = r.json.checks as JsonCheck[];
    const fails = checks.filter((c) => c.status === 'fail');
    expect(
      fails.map((c) => `${c.id} ${c.code}`),
      summary(checks).join('\n'),
    ).toEqual(['http.sandbox HTTP_CONFIG_MISMATCH']);
    const sandbox = r.byId['http.sandbox']!;
    expect(sandbox.message).toContain('sandboxDomain localhost, not sandbox.nap.test');
    expect(sandbox.message).toContain('SANDBOX_DOMAIN unset');
    expect(sandbox.remediation).toBe('In values.env set SANDBOX_DOMAIN=sandbox.nap.test, then re-run install.sh.');
    expect(r.byId['http.preview']).toMatchObject({ status: 'skip' });
    expect(r.byId['http.preview']!.message).toContain('nap-sandbox runs with SANDBOX_DOMAIN localhost');
    // values.env says the same: left to the check that shows it from the installed service, not said twice.
    expect(r.byId['config.values']!.status).toBe('pass');
    expect(r.byId['config.values']!.evidence.reportedBy).toEqual([{ key: 'SANDBOX_DOMAIN', check: 'http.sandbox' }]);
    for (const c of checks) expect(`${c.code ?? ''} ${c.message}`, c.id).not.toContain('HTTP_HOST_REWRITTEN');
    // Only the true warnings besides it.
    expect(
      checks
        .filter((c) => c.status === 'warn')
        .map((c) => c.code)
        .sort(),
    ).toEqual(['HTTP_METRICS_PUBLIC', 'TURN_OPEN_TO_INTERNAL']);
  });
});

describe('NodePort mode (install.sh default), from the values.env as install.sh derives it', () => {
  it('no failure; the /metrics fix is for a node port (firewall or NetworkPolicy), not an ingress', async () => {
    const r = await run(installs.nodeport);
    const checks = r.json.checks as JsonCheck[];
    expect(
      notPassing(checks)
        .map((c) => `${c.id} ${c.status} ${c.code}`)
        .sort(),
      summary(checks).join('\n'),
    ).toEqual(['http.exposure warn HTTP_METRICS_PUBLIC', 'turn.peers warn TURN_OPEN_TO_INTERNAL']);
    expect(r.code).toBe(0);
    const fix = r.byId['http.exposure']!.remediation!;
    expect(fix).toContain('NodePort mode has no ingress');
    expect(fix).toContain('NAP_HOST:30080');
    expect(fix).toMatch(/firewall|NetworkPolicy/);
    expect(fix).not.toMatch(/server-snippet|annotation|location = \/metrics/);
    expect(r.byId['http.oauth']!.message).toBe(
      `${D}:30085 and ${D}:30086 send logins to http://${D}:30080/oauth/authorize with their own callback`,
    );
  });
});

describe('the text a person reads', () => {
  it('a default install: each module that is off is one line naming its key, not one line per check', async () => {
    const r = await runCli(installs.default.ing.ns, [
      '--values',
      installs.default.platform.valuesFile,
      '--ca-file',
      installs.default.ing.rootPem,
      '--no-hold',
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed, 1 warning, \d+ skipped/m);
    const flat = r.stdout.replace(/\n +/g, ' ');
    expect(flat.match(/the Browser module is off/g)).toHaveLength(1);
    expect(flat.match(/the Sandbox module is off/g)).toHaveLength(1);
    expect(flat).toContain('BROWSER_ENABLED is not true in values.env');
    expect(flat).toMatch(/not checked: dns\.browsers, tls\.browsers, http\.browsers, .*turn\.peers/);
    // No check line of its own for a module's check, and no finding about hosts that are not installed.
    expect(r.stdout).not.toMatch(/^ {2}\S (dns|tls|http)\.(browsers|sandbox|preview) /m);
    expect(r.stdout).not.toMatch(/DNS_NXDOMAIN|HTTP_DEFAULT_BACKEND|TLS_HANDSHAKE/);
    // What was not tested names only the streams of modules that are installed.
    expect(flat).toMatch(/stream timeouts NOT tested: sse\.main, hold\.sse\.main, hold\.wait\.main, hold\.ws\.main \(/);
  });
});
