// Proves the real-server harness (test/harness/) itself: namespaces, dnsmasq failure modes,
// openssl-made PKI and nginx TLS behave as the product tests will assume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, runCleanups, runCommand, spawnManaged, waitFor } from './harness/proc.js';
import { createNetns, type Netns } from './harness/netns.js';
import {
  dnsQuery,
  servfailLines,
  startDnsmasq,
  startServfailUpstream,
  startSilentUdp,
  timeoutLines,
  wildcardCnameLines,
  type DnsmasqProc,
} from './harness/dnsmasq.js';
import { createPki, type Ca, type Leaf, type Pki } from './harness/pki.js';
import { startNginx, tlsServer, type Nginx } from './harness/nginx.js';
import { CLI_PATH, REPO_ROOT, runCli } from './harness/cli.js';

afterAll(runCleanups, 20_000);

const T = { timeout: 20_000 };

describe('proc', T, () => {
  it('captures output, stops with SIGTERM and reports the exit', async () => {
    const p = spawnManaged('sh', ['-c', 'echo hello; echo oops >&2; exec sleep 30']);
    await waitFor(() => p.output().includes('oops'), 'sh output');
    expect(p.output()).toContain('hello');
    const t0 = Date.now();
    await p.stop();
    expect(await p.exited).toBeNull(); // killed by a signal
    expect(Date.now() - t0).toBeLessThan(1500);
    await p.stop(); // idempotent
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const p = spawnManaged('sh', ['-c', "trap '' TERM; echo ready; while :; do sleep 0.1; done"]);
    await waitFor(() => p.output().includes('ready'), 'trap installed');
    const t0 = Date.now();
    await p.stop();
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(4000);
  });

  it('waitFor names what it waited for and the timeout', async () => {
    await expect(waitFor(() => false, 'the impossible', 100)).rejects.toThrow(/100 ms.*the impossible/);
  });

  it('runCommand kills at its timeout', async () => {
    const r = await runCommand('sleep', ['10'], { timeoutMs: 200 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.ms).toBeLessThan(2000);
  });
});

describe('netns', T, () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await createNetns({ hosts: '127.0.0.9 web.nvt.test\n' });
  });

  it('has only loopback, up', async () => {
    const r = await ns.exec('ip', ['-o', 'link']);
    const links = r.stdout.trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it('resolves through its own /etc/hosts via getaddrinfo (getent)', async () => {
    const r = await ns.exec('getent', ['ahosts', 'web.nvt.test']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^127\.0\.0\.9\s+STREAM web\.nvt\.test/m);
    // …and the host's /etc/hosts is not affected.
    const host = await runCommand('getent', ['ahosts', 'web.nvt.test']);
    expect(host.stdout).not.toContain('127.0.0.9');
  });

  it('sees its own resolv.conf', async () => {
    const r = await ns.exec('cat', ['/etc/resolv.conf']);
    expect(r.stdout).toBe('nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  });

  it('spawn() returns the real command pid (ip netns exec execs), and stop() kills it', async () => {
    const p = ns.spawn('sleep', ['30']);
    await waitFor(() => readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep', 'ip to exec sleep');
    const id = await runCommand('ip', ['netns', 'identify', String(p.pid)]);
    expect(id.stdout.trim()).toBe(ns.name);
    await p.stop();
    expect(existsSync(`/proc/${p.pid}`)).toBe(false);
  });

  it('exec() passes stdin and kills at its timeout', async () => {
    const r = await ns.exec('cat', [], { input: 'piped' });
    expect(r.stdout).toBe('piped');
    const slow = await ns.exec('sleep', ['10'], { timeoutMs: 300 });
    expect(slow.signal).toBe('SIGKILL');
  });

  it('destroy() removes the namespace and its /etc/netns files', async () => {
    const tmp = await createNetns();
    tmp.spawn('sleep', ['30']);
    await tmp.destroy();
    const list = await runCommand('ip', ['netns', 'list']);
    expect(list.stdout).not.toMatch(new RegExp(`^${tmp.name}\\b`, 'm'));
    expect(existsSync(`/etc/netns/${tmp.name}`)).toBe(false);
  });
});

describe('dnsmasq', T, () => {
  let ns: Netns;
  let dm: DnsmasqProc;
  beforeAll(async () => {
    ns = await createNetns();
    const silent = startSilentUdp(ns, 5399);
    await silent.ready;
    await startServfailUpstream(ns, 'sf.test', 5397);
    dm = await startDnsmasq(ns, {
      lines: [
        'host-record=app.x.test,127.0.0.10',
        'address=/sandbox.x.test/127.0.0.11',
        'local=/test/',
        ...timeoutLines('dead.test', 5399), // silent socket
        ...timeoutLines('gone.test', 5398), // nothing listening
        ...servfailLines('sf.test', 5397),
        'host-record=sandbox.c.test,127.0.0.12',
        ...wildcardCnameLines('c.test', 'sandbox.c.test', 'sandbox.c.test'),
        // the same wildcard CNAME outside an auth zone, to prove it is ignored there
        'host-record=sandbox.w.test,127.0.0.13',
        'cname=*.sandbox.w.test,sandbox.w.test',
      ],
    });
  }, 20_000);

  it('answers a host-record through getaddrinfo', async () => {
    const r = await ns.exec('getent', ['ahosts', 'app.x.test']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^127\.0\.0\.10\s+STREAM app\.x\.test/m);
  });

  it('answers any name under an address=/…/ wildcard', async () => {
    const r = await ns.exec('getent', ['ahosts', 'abc.sandbox.x.test']);
    expect(r.stdout).toMatch(/^127\.0\.0\.11\s/m);
    const q = await dnsQuery(ns, 'nvf0123456789.sandbox.x.test');
    expect(q.rcode).toBe(0);
    expect(q.answers).toEqual([{ name: 'nvf0123456789.sandbox.x.test', type: 'A', ttl: 0, data: '127.0.0.11' }]);
  });

  it('says NXDOMAIN for an unknown name under local=/test/', async () => {
    const q = await dnsQuery(ns, 'nope.x.test');
    expect(q.rcodeName).toBe('NXDOMAIN');
    const r = await ns.exec('getent', ['ahosts', 'nope.x.test']);
    expect(r.code).toBe(2); // getent: key not found
  });

  it('answers SERVFAIL at once for a DNSSEC-bogus forwarded zone', async () => {
    const q = await dnsQuery(ns, 'www.sf.test');
    expect(q.rcodeName).toBe('SERVFAIL');
    expect(q.ms).toBeLessThan(1000);
    // the rest of the same server is unaffected by `dnssec`
    expect((await dnsQuery(ns, 'app.x.test')).rcode).toBe(0);
    expect(await dm.log()).toMatch(/validation www\.sf\.test is ABANDONED/);
  });

  it('never answers for a zone forwarded to a silent socket or a closed port', async () => {
    const [silent, closed] = await Promise.all([
      dnsQuery(ns, 'www.dead.test', { timeoutMs: 2500 }),
      dnsQuery(ns, 'www.gone.test', { timeoutMs: 2500 }),
    ]);
    expect(silent.timeout).toBe(true);
    expect(closed.timeout).toBe(true);
    // getaddrinfo gives up after resolv.conf's timeout:1 attempts:1
    const r = await ns.exec('getent', ['ahosts', 'other.dead.test']);
    expect(r.code).toBe(2);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(5000);
  });

  it('serves a wildcard CNAME only inside an auth zone', async () => {
    const q = await dnsQuery(ns, 'nvfabcdef0123.sandbox.c.test');
    expect(q.rcode).toBe(0);
    expect(q.answers).toEqual([
      { name: 'nvfabcdef0123.sandbox.c.test', type: 'CNAME', ttl: 600, data: 'sandbox.c.test' },
      { name: 'sandbox.c.test', type: 'A', ttl: 600, data: '127.0.0.12' },
    ]);
    const r = await ns.exec('getent', ['ahosts', 'x1.sandbox.c.test']);
    expect(r.stdout).toMatch(/^127\.0\.0\.12\s+STREAM sandbox\.c\.test/m); // canonical name = target
    expect((await dnsQuery(ns, 'abc.sandbox.w.test')).rcodeName).toBe('NXDOMAIN');
  });

  it('reports a config error with dnsmasq output', async () => {
    await expect(startDnsmasq(ns, { port: 5396, lines: ['no-such-option=1'] })).rejects.toThrow(
      /dnsmasq did not start[\s\S]*no-such-option/,
    );
  });
});

describe('pki', T, () => {
  let pki: Pki;
  let root: Ca;
  let inter: Ca;
  const DAY = 86_400_000;
  const verify = (leaf: Leaf) =>
    runCommand('openssl', ['verify', '-CAfile', root.certPath, '-untrusted', inter.certPath, leaf.certPath]);

  beforeAll(async () => {
    pki = await createPki(await makeTempDir('nvt-pki-'));
    root = await pki.rootCa('NVT Test Root');
    inter = await pki.intermediate(root, 'NVT Test Intermediate');
  });

  it('issues a root -> intermediate -> leaf chain that verifies', async () => {
    const leaf = await pki.leaf(inter, { cn: 'x.test', sans: ['x.test', 'files.x.test'] });
    const r = await verify(leaf);
    expect(r.stdout).toContain(': OK');
    expect(r.code).toBe(0);
    const text = await runCommand('openssl', ['x509', '-in', inter.certPath, '-noout', '-text']);
    expect(text.stdout).toMatch(/CA:TRUE, pathlen:0/);
    expect(text.stdout).toMatch(/ecdsa-with-SHA256/);
  });

  it('puts the SANs in subjectAltName, and no SAN extension when sans is empty', async () => {
    const leaf = await pki.leaf(inter, { cn: 'x.test', sans: ['x.test', '*.sandbox.x.test'], org: 'Acme/Test' });
    const r = await runCommand('openssl', [
      'x509',
      '-in',
      leaf.certPath,
      '-noout',
      '-ext',
      'subjectAltName',
      '-subject',
    ]);
    expect(r.stdout).toContain('DNS:x.test, DNS:*.sandbox.x.test');
    expect(r.stdout).toContain('subject=O = Acme/Test, CN = x.test');
    const bare = await pki.leaf(inter, { cn: 'bare.test', sans: [] });
    const b = await runCommand('openssl', ['x509', '-in', bare.certPath, '-noout', '-ext', 'subjectAltName']);
    expect(b.stdout + b.stderr).not.toContain('DNS:');
  });

  it('makes an expired leaf that fails with "certificate has expired"', async () => {
    const leaf = await pki.leaf(inter, {
      cn: 'old.test',
      sans: ['old.test'],
      notBefore: new Date(Date.now() - 100 * DAY),
      notAfter: new Date(Date.now() - 10 * DAY),
    });
    const r = await verify(leaf);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('certificate has expired');
  });

  it('makes a not-yet-valid leaf that fails with "certificate is not yet valid"', async () => {
    const leaf = await pki.leaf(inter, {
      cn: 'new.test',
      sans: ['new.test'],
      notBefore: new Date(Date.now() + 10 * DAY),
    });
    const r = await verify(leaf);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('certificate is not yet valid');
  });

  it('makes self-signed leaves and unique serials', async () => {
    const a = await pki.leaf('self', { cn: 'self.test', sans: ['self.test'] });
    const b = await pki.leaf('self', { cn: 'self.test', sans: ['self.test'] });
    const info = async (l: Leaf) =>
      (await runCommand('openssl', ['x509', '-in', l.certPath, '-noout', '-serial', '-subject', '-issuer'])).stdout;
    const [ia, ib] = [await info(a), await info(b)];
    expect(ia).toContain('subject=CN = self.test');
    expect(ia).toContain('issuer=CN = self.test');
    expect(ia.split('\n')[0]).not.toBe(ib.split('\n')[0]);
  });

  it('bundles PEMs into one file', () => {
    const p = pki.bundle('chain', root.certPem, inter.certPem);
    expect(readFileSync(p, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });
});

describe('nginx', T, () => {
  let ns: Netns;
  let pki: Pki;
  let root: Ca;
  let nginx: Nginx;

  const sClient = (port: number, servername: string, extra: string[] = []) =>
    ns.exec(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-CAfile', root.certPath, ...extra],
      { timeoutMs: 10_000, input: '' }, // stdin EOF: s_client quits after the handshake
    );

  beforeAll(async () => {
    ns = await createNetns();
    pki = await createPki(await makeTempDir('nvt-pki-'));
    root = await pki.rootCa('NVT Root');
    const inter = await pki.intermediate(root, 'NVT Intermediate');
    const leaf = await pki.leaf(inter, { cn: 'x.test', sans: ['x.test', 'files.x.test'] });
    const fullchain = pki.bundle('x-fullchain', leaf.certPem, inter.certPem);
    const old = await pki.leaf(inter, { cn: 'old.x.test', sans: ['old.x.test'] });
    nginx = await startNginx(
      ns,
      [
        // unknown SNI on 8443 hits the default server, which refuses the handshake
        tlsServer({
          port: 8443,
          serverNames: [],
          certPath: fullchain,
          keyPath: leaf.keyPath,
          defaultServer: true,
          rejectHandshake: true,
        }),
        tlsServer({ port: 8443, serverNames: ['x.test', 'files.x.test'], certPath: fullchain, keyPath: leaf.keyPath }),
        tlsServer({
          port: 8444,
          serverNames: ['old.x.test'],
          certPath: old.certPath,
          keyPath: old.keyPath,
          protocols: 'TLSv1.1',
        }),
      ].join('\n'),
    );
  }, 20_000);

  it('serves leaf + intermediate for a known SNI, trusted by the root', async () => {
    const r = await sClient(8443, 'files.x.test', ['-showcerts']);
    expect(r.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/0 s:CN = x\.test/);
    expect(r.stdout).toMatch(/1 s:CN = NVT Intermediate/);
    expect(r.stdout).toContain('Verify return code: 0 (ok)');
    const http = await ns.exec(
      'openssl',
      ['s_client', '-quiet', '-connect', '127.0.0.1:8443', '-servername', 'x.test'],
      {
        input: 'GET / HTTP/1.0\r\nHost: x.test\r\n\r\n',
        timeoutMs: 10_000,
      },
    );
    expect(http.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(http.stdout).toMatch(/\r\n\r\nok\n$/);
  });

  it('rejects the handshake for an unknown SNI (ssl_reject_handshake)', async () => {
    const r = await sClient(8443, 'unknown.test');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unrecognized name|alert number 112/);
    expect(r.stdout).not.toContain('BEGIN CERTIFICATE');
  });

  it('negotiates TLS 1.1 on a TLSv1.1-only server when the client allows SECLEVEL 0', async () => {
    const r = await sClient(8444, 'old.x.test', ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    expect(r.stdout).toMatch(/Protocol\s*:\s*TLSv1\.1/);
    expect(r.stdout).toMatch(/^New, TLSv1\.\d, Cipher is ECDHE-ECDSA-/m);
    // A default OpenSSL 3 client fails the handshake (its SSL-Session block still says "TLSv1.1",
    // the server's version, so look at the cipher instead).
    const modern = await sClient(8444, 'old.x.test');
    expect(modern.code).not.toBe(0);
    expect(modern.stdout).toContain('Cipher is (NONE)');
  });

  it('throws with nginx -t output for a bad config', async () => {
    await expect(startNginx(ns, 'server { listen 127.0.0.1:8445; bogus_directive on; }')).rejects.toThrow(
      /nginx -t failed[\s\S]*bogus_directive/,
    );
  });

  it('stop() ends master and workers', async () => {
    const pids = (await runCommand('ip', ['netns', 'pids', ns.name])).stdout.split(/\s+/).filter(Boolean);
    const nginxPids = pids.filter((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'nginx');
    expect(nginxPids.length).toBeGreaterThanOrEqual(2); // master + worker
    expect(nginx.errorLog()).toContain('start worker process');
    await nginx.stop();
    for (const p of nginxPids) expect(existsSync(`/proc/${p}`)).toBe(false);
  });
});

describe('cli', T, () => {
  it('locates the repo root from import.meta.url, and CLI_PATH is the built file npm installs as the command', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      name: string;
      bin: Record<string, string>;
    };
    expect(pkg.name).toBe('nap-verify');
    // What users run (`npx nap-verify`) is what the tests run; `npm test` builds it first (pretest).
    expect(CLI_PATH).toBe(path.resolve(REPO_ROOT, pkg.bin['nap-verify']!));
    expect(existsSync(CLI_PATH)).toBe(true);
  });

  it('runs node on the built CLI inside the namespace', async () => {
    const ns = await createNetns();
    const r = await runCli(ns, ['--domain', 'nap.test', '--format', 'json', '--only', 'none'], { timeoutMs: 15_000 });
    // The built CLI ran to its own exit inside the namespace: an unknown --only is bad input (exit 2, one line).
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^nap-verify: unknown check id or prefix: none \(known areas: /);
  });
});
