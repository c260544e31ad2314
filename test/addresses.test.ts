// Every address of every name (net.addresses) and --ip-family, on dual-stack installs inside a namespace: a ULA
// on its loopback, dnsmasq answering A and AAAA for all five names (wildcard included), real nginx listening on
// both addresses, on one only, or with something else behind one of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { fullStack, nginxSite, publicUrlArgs, startResponder, UPGRADE_MAP, type FullStack } from './support/ingress.js';

const V6 = 'fd00:11::1';
const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const P = { otherOnV6: 8643, v6Only: 8743 };
/** The install reached at :8743 only, with the public URLs (napUrl, login redirects) such an install has. */
const R_V6_ONLY = { cp: 3200, browser: 3205, sandbox: 3206 };

let dual: FullStack;
let deadV6: FullStack;

interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
  evidence: Record<string, any>;
}

async function run(stack: FullStack, extra: string[] = [], env?: Record<string, string>) {
  const r = await runCli(
    stack.ns,
    [...stack.args, '--no-hold', '--format', 'json', '--timeout', '3', ...extra],
    env ? { env } : {},
  );
  expect(r.json, r.stderr || r.stdout).toBeDefined();
  const checks = r.json.checks as JsonCheck[];
  // --no-hold keeps the hold checks as skips (evidence.notHeld): not a failure of this install.
  return {
    ...r,
    checks,
    byId: Object.fromEntries(checks.map((c) => [c.id, c])) as Record<string, JsonCheck>,
    failed: checks.filter((c) => c.status !== 'pass' && !c.evidence.notHeld),
  };
}

/** The same flags pointed at another HTTPS port of the stack. */
const onPort = (port: number) => ['--https-port', String(port)];

beforeAll(async () => {
  [dual, deadV6] = await Promise.all([
    fullStack('nap.test', [], { ipv6: { address: V6, serve: true } }),
    fullStack('nap.test', [], { ipv6: { address: V6, serve: false } }),
  ]);
  await startResponder(dual.ns, 'nap.test', R_V6_ONLY, publicUrlArgs('nap.test', P.v6Only));
  await startNginx(
    dual.ns,
    [
      UPGRADE_MAP,
      // IPv4 healthy; on the IPv6 address an old ingress whose nap-cp rules (<d>, files.<d>) point at nap-sandbox.
      nginxSite(dual, R, { port: P.otherOnV6 }),
      nginxSite(dual, R, { port: P.otherOnV6, listen: [V6], backends: { cp: R.sandbox } }),
      // Only IPv6 answers: a dead A record.
      nginxSite(dual, R_V6_ONLY, { port: P.v6Only, listen: [V6], blockMetrics: true }),
    ].join('\n'),
  );
}, 90_000);
afterAll(runCleanups);

describe('dual-stack installs', () => {
  it('healthy dual stack: every check passes, net.addresses names both families', async () => {
    const r = await run(dual);
    expect(r.failed, JSON.stringify(r.failed)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.byId['net.addresses']!.message).toBe(
      `5 names on 127.0.0.1 (IPv4), ${V6} (IPv6): same certificate and service at every address`,
    );
    expect(r.byId['dns.main']!.evidence.connectAddresses).toEqual(['127.0.0.1', V6]);
    expect(r.byId['http.main']!.evidence).toMatchObject({ connectedTo: '127.0.0.1:8443', alpn: 'h2' });
  });

  it(
    'a dead AAAA: exactly one failing check, net.addresses, naming the address and its family; ' +
      'everything else passes',
    async () => {
      const r = await run(deadV6);
      expect(r.failed.map((c) => [c.id, c.code])).toEqual([['net.addresses', 'NET_ADDRESS_UNREACHABLE']]);
      expect(r.byId['net.addresses']!.message).toBe(
        `${V6} (IPv6) of all 5 names, port 8443: connection refused; browsers fall back to 127.0.0.1 after a ` +
          `delay, other clients stall or fail`,
      );
      expect(r.byId['net.addresses']!.evidence.names[0].addresses).toMatchObject([
        { address: '127.0.0.1', family: 4, verdict: 'same' },
        { address: V6, family: 6, verdict: 'unreachable' },
      ]);
      expect(r.code).toBe(1);
    },
  );

  it('a dead A: the other checks use the IPv6 address that answers; net.addresses reports 127.0.0.1 once', async () => {
    const r = await run(dual, [...onPort(P.v6Only), '--only', 'dns,net,tls,http,ws']);
    expect(r.failed.map((c) => [c.id, c.code])).toEqual([['net.addresses', 'NET_ADDRESS_UNREACHABLE']]);
    expect(r.byId['net.addresses']!.message).toMatch(
      /^127\.0\.0\.1 \(IPv4\) of all 5 names, port 8743: connection refused; browsers fall back to fd00:11::1/,
    );
    expect(r.byId['http.main']!.evidence.connectedTo).toBe(`[${V6}]:8743`);
    expect(r.byId['dns.main']!.evidence.choice).toMatchObject({ how: 'race', chosen: V6 });
  });

  it('another service behind the AAAA: NET_ADDRESS_DIFFERENT (warn)', async () => {
    const r = await run(dual, [...onPort(P.otherOnV6), '--only', 'net,http.main']);
    expect(r.byId['http.main']).toMatchObject({ status: 'pass' });
    expect(r.byId['net.addresses']).toMatchObject({ status: 'warn', code: 'NET_ADDRESS_DIFFERENT' });
    expect(r.byId['net.addresses']!.message).toBe(
      `${V6} (IPv6) of nap.test, files.nap.test: /.well-known/nap-verify answered by nap-sandbox, not nap-cp as ` +
        `on 127.0.0.1`,
    );
  });

  it(
    '--ip-family pins the family for every check: 6 on the dead AAAA fails the TLS checks there; 4 (from ' +
      'NAP_VERIFY_IP_FAMILY) passes',
    async () => {
      const six = await run(deadV6, ['--ip-family', '6', '--only', 'tls.main,net']);
      expect(six.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
      expect(six.byId['tls.main']!.message).toBe(`no TLS session with ${V6}:8443 for nap.test: connection refused`);
      expect(six.byId['net.addresses']!.status).toBe('skip');
      const four = await run(deadV6, ['--only', 'net,tls,http'], { NAP_VERIFY_IP_FAMILY: '4' });
      expect(four.failed).toEqual([]);
      expect(four.byId['net.addresses']!.message).toBe(
        '5 names on 127.0.0.1 (IPv4): same certificate and service at every address',
      );
      expect(four.json.options.ipFamily).toBe('4');
    },
  );
});
