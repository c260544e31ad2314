// DNS checks against a real dnsmasq in a network namespace of our own: the OS resolver path (getaddrinfo,
// /etc/hosts) and direct queries both see exactly the zones below, and nothing leaves the namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness/cli.js';
import { servfailLines, startDnsmasq, startServfailUpstream, startSilentUdp } from './harness/dnsmasq.js';
import { createNetns, type Netns } from './harness/netns.js';
import { runCleanups } from './harness/proc.js';
import { zone } from './support/zone.js';

let ns: Netns;

interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
  host?: string;
  evidence: Record<string, any>;
  remediation?: string;
}

async function dns(args: string[], env?: Record<string, string>) {
  const r = await runCli(ns, ['--only', 'dns', '--format', 'json', '--timeout', '1', ...args], {
    ...(env ? { env } : {}),
  });
  expect(r.json, r.stderr || r.stdout).toBeDefined();
  const byId = Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c]));
  return { ...r, byId: byId as Record<string, JsonCheck> };
}

beforeAll(async () => {
  ns = await createNetns({ hosts: '127.0.0.5 files.override.test\n' });
  await startSilentUdp(ns, 5399).ready;
  await startServfailUpstream(ns, 'servfail.test', 5397);
  await startDnsmasq(ns, {
    lines: [
      'local=/test/',
      ...zone('good.test'),
      ...zone('nofiles.test', { files: null }),
      ...zone('nowild.test', { wildcard: null }),
      ...zone('diverge.test', { browsers: '127.0.0.2' }),
      ...zone('override.test'),
      ...zone('cname.test', { wildcard: 'cname' }),
      ...zone('noaddr.test', { files: null }),
      'txt-record=files.noaddr.test,"no address here"',
      // A domain forwarded to a bound socket that never answers: dnsmasq waits, the client times out.
      'server=/timeout.test/127.0.0.1#5399',
      // DNSSEC demanded for a zone whose upstream is unsigned: validation fails, dnsmasq answers SERVFAIL.
      ...servfailLines('servfail.test', 5397),
    ],
  });
  // A second server with another view of good.test: split horizon between resolvers.
  await startDnsmasq(ns, { port: 5300, lines: ['local=/test/', ...zone('good.test', { main: '127.0.0.3' })] });
});
afterAll(runCleanups);

describe('dns.* against real dnsmasq', () => {
  it('a healthy zone passes every name, through getaddrinfo and direct queries, exit 0', async () => {
    const r = await dns(['--domain', 'good.test']);
    expect(r.code).toBe(0);
    for (const role of ['main', 'files', 'browsers', 'sandbox', 'preview']) {
      expect(r.byId[`dns.${role}`], role).toMatchObject({ status: 'pass' });
      expect(r.byId[`dns.${role}`]!.evidence.os.addresses).toEqual(['127.0.0.1']);
      expect(r.byId[`dns.${role}`]!.evidence.servers[0].server).toBe('127.0.0.1:53');
    }
    expect(r.byId['dns.consistent']).toMatchObject({ status: 'pass' });
    expect(r.json.environment.resolvers).toEqual(['127.0.0.1:53 (system)']);
  });

  it('uses a fresh random preview label without a hyphen on every run', async () => {
    const [a, b] = await Promise.all([
      dns(['--domain', 'good.test', '--only', 'dns.preview']),
      dns(['--domain', 'good.test', '--only', 'dns.preview']),
    ]);
    const ha = a.byId['dns.preview']!.host!;
    expect(ha).toMatch(/^nvf[0-9a-f]{10}\.sandbox\.good\.test$/);
    expect(ha).not.toBe(b.byId['dns.preview']!.host);
  });

  it(
    'a missing record is DNS_NXDOMAIN with the record to add, and dns.consistent skips instead of ' + 'failing twice',
    async () => {
      const r = await dns(['--domain', 'nofiles.test']);
      expect(r.code).toBe(1);
      expect(r.byId['dns.files']).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN', host: 'files.nofiles.test' });
      expect(r.byId['dns.files']!.message).toContain('NXDOMAIN from 127.0.0.1:53');
      expect(r.byId['dns.files']!.remediation).toContain('A/AAAA record files.nofiles.test');
      expect(r.byId['dns.consistent']).toMatchObject({ status: 'skip' });
      expect(r.byId['dns.main']!.status).toBe('pass');
    },
  );

  it('a missing wildcard fails dns.preview and asks for *.sandbox.<d>', async () => {
    const r = await dns(['--domain', 'nowild.test']);
    expect(r.byId['dns.preview']).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN' });
    expect(r.byId['dns.preview']!.message).toContain('no wildcard record for *.sandbox.nowild.test');
    expect(r.byId['dns.preview']!.remediation).toContain('*.sandbox.nowild.test CNAME sandbox.nowild.test');
    expect(r.byId['dns.sandbox']!.status).toBe('pass');
  });

  it('a wildcard CNAME to sandbox.<d> passes and keeps the chain', async () => {
    const r = await dns(['--domain', 'cname.test', '--only', 'dns.preview']);
    expect(r.byId['dns.preview']).toMatchObject({ status: 'pass' });
    expect(r.byId['dns.preview']!.evidence.servers[0].cnames).toEqual(['sandbox.cname.test']);
    expect(r.byId['dns.preview']!.message).toContain('via CNAME sandbox.cname.test');
  });

  it('a name with no address is DNS_NO_ADDRESS', async () => {
    const r = await dns(['--domain', 'noaddr.test', '--only', 'dns.files']);
    expect(r.byId['dns.files']).toMatchObject({ status: 'fail', code: 'DNS_NO_ADDRESS' });
  });

  it('a divergent address is DNS_DIVERGENT naming the odd host', async () => {
    const r = await dns(['--domain', 'diverge.test']);
    expect(r.byId['dns.consistent']).toMatchObject({ status: 'fail', code: 'DNS_DIVERGENT' });
    expect(r.byId['dns.consistent']!.message).toContain('browsers.diverge.test → 127.0.0.2');
    expect(r.byId['dns.consistent']!.remediation).toContain('Point browsers.diverge.test at 127.0.0.1');
  });

  it('an address other than --expect-ip is DNS_UNEXPECTED_IP; the right one passes', async () => {
    const bad = await dns(['--domain', 'good.test', '--expect-ip', '127.0.0.9']);
    expect(bad.byId['dns.consistent']).toMatchObject({ status: 'fail', code: 'DNS_UNEXPECTED_IP' });
    expect(bad.byId['dns.consistent']!.message).toContain('(expected 127.0.0.9)');
    const good = await dns(['--domain', 'good.test', '--expect-ip', '127.0.0.1']);
    expect(good.byId['dns.consistent']).toMatchObject({ status: 'pass' });
  });

  it('an /etc/hosts entry that disagrees with DNS is DNS_LOCAL_OVERRIDE (warn, exit 0; --strict exit 1)', async () => {
    const r = await dns(['--domain', 'override.test']);
    expect(r.byId['dns.files']).toMatchObject({ status: 'warn', code: 'DNS_LOCAL_OVERRIDE' });
    expect(r.byId['dns.files']!.message).toContain(
      'this machine resolves files.override.test to 127.0.0.5 but DNS (127.0.0.1:53) says 127.0.0.1',
    );
    expect(r.byId['dns.consistent']!.status).toBe('pass');
    expect(r.code).toBe(0);
    expect((await dns(['--domain', 'override.test', '--strict'])).code).toBe(1);
  });

  it('resolvers that disagree (split horizon) are DNS_LOCAL_OVERRIDE', async () => {
    const r = await dns(['--domain', 'good.test', '--resolver', '127.0.0.1:5300']);
    expect(r.byId['dns.main']).toMatchObject({ status: 'warn', code: 'DNS_LOCAL_OVERRIDE' });
    expect(r.byId['dns.main']!.message).toMatch(
      /127\.0\.0\.1:53 says 127\.0\.0\.1, 127\.0\.0\.1:5300 says 127\.0\.0\.3/,
    );
    expect(r.byId['dns.files']!.status).toBe('pass');
  });

  it('an upstream that never answers is DNS_TIMEOUT within the deadline', async () => {
    const r = await dns(['--domain', 'timeout.test', '--only', 'dns.main']);
    expect(r.byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_TIMEOUT' });
    expect(r.byId['dns.main']!.message).toContain('127.0.0.1:53 did not answer');
  });

  it('a resolver address where nothing listens is DNS_UNREACHABLE (refused at once), not a timeout', async () => {
    const r = await dns(['--domain', 'good.test', '--only', 'dns.main', '--resolver', '127.0.0.1:5391']);
    expect(r.byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_UNREACHABLE' });
    expect(r.byId['dns.main']!.message).toBe(
      'no DNS server at 127.0.0.1:5391 to ask for good.test: connection refused (ICMP port unreachable) (this ' +
        'machine still resolves it to 127.0.0.1, from /etc/hosts or a local cache)',
    );
  });

  it(
    'no DNS server at all: DNS_UNREACHABLE once per name, and TURN skips pointing at DNS instead of ' +
      'blaming a firewall',
    async () => {
      const bare = await createNetns();
      const r = await runCli(bare, [
        '--domain',
        'acme.test',
        '--only',
        'dns.main,turn',
        '--timeout',
        '1',
        '--format',
        'json',
      ]);
      const byId = Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c]));
      expect(byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_UNREACHABLE' });
      expect(byId['dns.main']!.message).toContain('connection refused');
      for (const id of ['turn.udp', 'turn.tcp']) {
        expect(byId[id], id).toMatchObject({ status: 'skip' });
        expect(byId[id]!.message, id).toMatch(
          new RegExp(
            /^TURN server acme\.test:3478: acme\.test does not resolve \(E\w+\); /.source +
              /nothing to test until DNS answers \(see the dns\.\* checks\)/.source,
          ),
        );
        expect(byId[id]!.remediation).toBeUndefined();
      }
      expect(r.json.checks.filter((c: JsonCheck) => c.status === 'fail').map((c: JsonCheck) => c.id)).toEqual([
        'dns.main',
      ]);
    },
  );

  it(
    'a resolver this machine has no route to (offline, a VPN resolver with the VPN down): DNS_UNREACHABLE ' +
      'saying so, at the defaults, no crash',
    async () => {
      // The namespace has only loopback: a packet to 192.0.2.53 (TEST-NET-1) has no route and never leaves it.
      const offline = await createNetns({ resolvConf: 'nameserver 192.0.2.53\noptions timeout:1 attempts:1\n' });
      const r = await runCli(offline, ['--domain', 'acme.test', '--format', 'json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      const byId = Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c]));
      expect(byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_UNREACHABLE' });
      expect(byId['dns.main']!.message).toBe(
        'cannot ask 192.0.2.53:53 for acme.test: no route to it from this machine (ENETUNREACH)',
      );
      expect(byId['dns.main']!.remediation).toMatch(/^This machine has no route to 192\.0\.2\.53:53: join the network/);
      // The text at the defaults: one finding for the five names, its fix once.
      const text = await runCli(offline, ['--domain', 'acme.test']);
      expect(text.stderr).toBe('');
      expect(text.stdout.match(/DNS_UNREACHABLE/g)).toHaveLength(1);
      expect(text.stdout.match(/↳ fix:/g)).toHaveLength(1);
    },
  );

  it('a DNSSEC validation failure upstream is DNS_SERVFAIL', async () => {
    const r = await dns(['--domain', 'servfail.test', '--only', 'dns.main']);
    expect(r.byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_SERVFAIL' });
    expect(r.byId['dns.main']!.message).toContain('127.0.0.1:53 failed to resolve servfail.test: SERVFAIL');
  });
});
