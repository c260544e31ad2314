// Spec §3 against real servers: a check that tested nothing is `skip` with the reason, never `pass`, and the reason
// is what happened. Two installs in one namespace of our own: a domain with no DNS record at all (dnsmasq answers
// NXDOMAIN for every name), and a domain whose names resolve to a real nginx that answers every host with its own
// 404 (no host answers as the platform). The whole CLI, --no-hold, JSON: every `pass` carries a measurement in its
// evidence, and the checks that read others skip naming the check that failed (DNS, the route), not "no responder"
// or "no Date header".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, withChecks, type JsonCheck } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, UPGRADE_MAP, type Ingress } from './support/ingress.js';

const D = 'nap.test';
/** Under `local=/test/` with no record: NXDOMAIN for every name, the TURN host included. */
const NO_DNS = 'nodns.test';

let ing: Ingress;

beforeAll(async () => {
  ing = await ingressBase(D);
  const all = [D, `files.${D}`, `browsers.${D}`, `sandbox.${D}`, `*.sandbox.${D}`];
  // An ingress with no rule for any NAP host: its default server's 404 for all five names.
  const site = nginxSite(ing, { cp: 3000, browser: 3005, sandbox: 3006 }, { port: 443, unrouted: all });
  await startNginx(ing.ns, [UPGRADE_MAP, site].join('\n'));
}, 60_000);
afterAll(runCleanups);

const run = async (domain: string, extra: string[] = []) =>
  withChecks(
    await runCli(ing.ns, ['--domain', domain, '--no-hold', '--format', 'json', '--timeout', '2', ...extra], {
      timeoutMs: 120_000,
    }),
  );

/** What a pass of each check must show it measured; a pass of any other check here is a pass on nothing. */
const MEASURED: Array<[RegExp, (e: Record<string, any>) => boolean]> = [
  [/^env\.proxy$/, (e) => typeof e.proxies === 'object'],
  [/^env\.clock$/, (e) => typeof e.skewS === 'number'],
  [/^dns\.(main|files|browsers|sandbox|preview)$/, (e) => e.dnsAddresses?.length > 0],
  [/^dns\.consistent$/, (e) => Object.keys(e.sets ?? {}).length > 1],
  [/^tls\./, (e) => e.chain?.length > 0],
  [/^net\.addresses$/, (e) => e.names?.some((n: any) => n.addresses.length > 0)],
  [/^http\.exposure$/, (e) => typeof e.status === 'number'],
];

function expectEveryPassMeasured(checks: JsonCheck[]) {
  for (const c of checks.filter((x) => x.status === 'pass')) {
    const m = MEASURED.find(([re]) => re.test(c.id));
    expect(m, `${c.id} passed: ${c.message}`).toBeDefined();
    expect(m![1](c.evidence), `${c.id} passed without a measurement: ${JSON.stringify(c.evidence)}`).toBe(true);
  }
}

describe('a check that tested nothing skips, naming what happened', () => {
  it('no DNS record for any name: only env.proxy passes; the rest skip naming DNS or what failed', async () => {
    const r = await run(NO_DNS);
    const checks = r.json.checks as JsonCheck[];
    expectEveryPassMeasured(checks);
    expect(checks.filter((c) => c.status === 'pass').map((c) => c.id)).toEqual(['env.proxy']);
    for (const role of ['main', 'files', 'browsers', 'sandbox', 'preview'])
      expect(r.byId[`dns.${role}`], role).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN' });
    // Every other result is a skip; those that read others' results say why from them.
    expect(checks.filter((c) => c.status === 'fail').every((c) => c.code === 'DNS_NXDOMAIN')).toBe(true);
    const readers = ['env.clock', 'ws.h2', 'http.coalesce', 'net.addresses', 'dns.consistent', 'http.upload'];
    for (const id of [...readers, 'http.oauth', 'turn.udp', 'turn.tcp', 'turn.auth', 'turn.relay', 'turn.peers']) {
      const c = r.byId[id]!;
      expect(c.status, `${id}: ${c.message}`).toBe('skip');
      expect(c.message, id).toMatch(/dns\.\w+ (failed \()?DNS_NXDOMAIN|does not resolve \(ENOTFOUND\)|turn\.auth/);
      expect(c.message, id).not.toMatch(/no responder|Date header|unreachable|no TLS session/);
    }
    expect(r.byId['env.clock']!.message).toBe(
      `no Date to compare with: ${NO_DNS} was not asked (no address in DNS (dns.main DNS_NXDOMAIN))`,
    );
    expect(r.byId['ws.h2']!.message).toContain(`${NO_DNS} (no address in DNS (dns.main DNS_NXDOMAIN))`);
    expect(r.byId['http.upload']!.message).toContain(
      `sandbox.${NO_DNS} (no address in DNS (dns.sandbox DNS_NXDOMAIN))`,
    );
    expect(r.byId['turn.auth']!.message).toMatch(/^skipped: turn\.udp and turn\.tcp: TURN server nodns\.test:3478: /);
    expect(r.code).toBe(1);
  }, 130_000);

  it('no host answers as the platform (the ingress 404s every host): what needs a route skips naming it', async () => {
    const r = await run(D, ['--ca-file', ing.rootPem, '--skip', 'turn,http.redirect']);
    const checks = r.json.checks as JsonCheck[];
    expectEveryPassMeasured(checks);
    for (const role of ['main', 'files', 'browsers', 'sandbox', 'preview'])
      expect(r.byId[`http.${role}`], role).toMatchObject({ status: 'fail', code: 'HTTP_DEFAULT_BACKEND' });
    // Before: "no other host shares the certificate and address of nap.test: nothing for a browser to coalesce".
    const coalesce = r.byId['http.coalesce']!;
    expect(coalesce.status, coalesce.message).toBe('skip');
    expect(coalesce.message).toContain(`files.${D} (http.files failed (HTTP_DEFAULT_BACKEND): its own route is judged`);
    for (const id of ['ws.h2', 'http.upload', 'http.oauth']) {
      const c = r.byId[id]!;
      expect(c.status, `${id}: ${c.message}`).toBe('skip');
      expect(c.message, id).toMatch(/http\.\w+ failed \(HTTP_DEFAULT_BACKEND\)/);
      expect(c.message, id).not.toMatch(/no responder/);
    }
    for (const id of ['ws.main', 'ws.browsers', 'ws.sandbox', 'ws.preview', 'sse.main'])
      expect(r.byId[id]!.message, id).toMatch(/^skipped: http\.\w+ failed \(HTTP_DEFAULT_BACKEND\)$/);
    // What did measure something still passes: the ingress's own Date, its certificate, its /metrics 404.
    for (const id of ['env.clock', 'tls.main', 'net.addresses', 'http.exposure'])
      expect(r.byId[id]!.status, `${id}: ${r.byId[id]!.message}`).toBe('pass');
  }, 130_000);
});
