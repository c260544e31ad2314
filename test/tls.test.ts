// TLS checks against a real nginx terminating TLS with certificates made at test time. Each port is one
// ingress configuration, healthy or broken in one way; DNS for tls.test comes from a real dnsmasq.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type JsonCheck, withChecks } from './harness/cli.js';
import { startDnsmasq } from './harness/dnsmasq.js';
import { createNetns, type Netns } from './harness/netns.js';
import { startNginx, tlsServer } from './harness/nginx.js';
import { createPki, type Ca } from './harness/pki.js';
import { runCleanups } from './harness/proc.js';
import { zone } from './support/zone.js';

const D = 'tls.test';
const NAMES = [D, `files.${D}`, `browsers.${D}`, `sandbox.${D}`];
const WILD = `*.sandbox.${D}`;
const DAY = 86_400_000;
const PORT = {
  healthy: 8443,
  missingSan: 8444,
  noWildcard: 8445,
  wildcardTooHigh: 8446,
  expired: 8447,
  expiresSoon: 8448,
  notYetValid: 8449,
  selfSigned: 8450,
  noIntermediate: 8451,
  fallback: 8452,
  untrusted: 8453,
  oldProtocol: 8454,
  rejectSni: 8455,
  closed: 8499,
};

let ns: Netns;
let rootPem: string;
/** Root and intermediate in one file, as CA bundles often come. */
let caBundle: string;

async function tls(port: number, extra: string[] = []) {
  const r = await runCli(ns, [
    '--domain',
    D,
    '--https-port',
    String(port),
    '--ca-file',
    rootPem,
    '--only',
    'tls',
    '--format',
    'json',
    '--timeout',
    '2',
    ...extra,
  ]);
  return withChecks(r);
}

beforeAll(async () => {
  ns = await createNetns();
  await startDnsmasq(ns, { lines: ['local=/test/', ...zone(D)] });
  const pki = await createPki(mkdtempSync(path.join(tmpdir(), 'nvt-pki-')));
  const root = await pki.rootCa('NVT Root CA');
  const inter = await pki.intermediate(root, 'NVT Intermediate CA');
  const otherRoot = await pki.rootCa('Unknown Root CA');
  const otherInter = await pki.intermediate(otherRoot, 'Unknown Intermediate CA');
  rootPem = pki.bundle('root', root.certPem);
  caBundle = pki.bundle('ca-bundle', root.certPem, inter.certPem);
  const now = Date.now();

  const leaf = (issuer: Ca | 'self', sans: string[], dates: { notBefore?: Date; notAfter?: Date } = {}) =>
    pki.leaf(issuer, { cn: sans[0] ?? D, sans, ...dates });
  const [main, wild, noFiles, tooHigh, expired, soon, early, self, foreignMain, foreignWild, fake] = await Promise.all([
    leaf(inter, NAMES),
    leaf(inter, [WILD]),
    leaf(inter, [D, `browsers.${D}`, `sandbox.${D}`]),
    leaf(inter, [`*.${D}`]),
    leaf(inter, NAMES, { notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - 2 * DAY) }),
    leaf(inter, NAMES, { notAfter: new Date(now + 5 * DAY) }),
    leaf(inter, NAMES, { notBefore: new Date(now + 2 * DAY), notAfter: new Date(now + 90 * DAY) }),
    leaf('self', NAMES),
    leaf(otherInter, NAMES),
    leaf(otherInter, [WILD]),
    pki.leaf('self', { cn: 'Kubernetes Ingress Controller Fake Certificate', org: 'Acme Co', sans: ['ingress.local'] }),
  ]);
  const full = (name: string, l: { certPem: string }, i: Ca = inter) => pki.bundle(name, l.certPem, i.certPem);
  // One port: the four names on one certificate, the preview wildcard on another, as the platform's secrets are.
  const site = (
    port: number,
    mainCert: string,
    mainKey: string,
    preview?: { cert: string; key: string },
    extra: Partial<Parameters<typeof tlsServer>[0]> = {},
  ) => [
    tlsServer({ port, serverNames: NAMES, certPath: mainCert, keyPath: mainKey, defaultServer: true, ...extra }),
    ...(preview
      ? [tlsServer({ port, serverNames: [WILD], certPath: preview.cert, keyPath: preview.key, ...extra })]
      : []),
  ];
  const goodPreview = { cert: full('wild', wild), key: wild.keyPath };
  await startNginx(
    ns,
    [
      ...site(PORT.healthy, full('main', main), main.keyPath, goodPreview),
      ...site(PORT.missingSan, full('nofiles', noFiles), noFiles.keyPath, goodPreview),
      ...site(PORT.noWildcard, full('main2', main), main.keyPath),
      ...site(PORT.wildcardTooHigh, full('main3', main), main.keyPath, {
        cert: full('toohigh', tooHigh),
        key: tooHigh.keyPath,
      }),
      ...site(PORT.expired, full('expired', expired), expired.keyPath, goodPreview),
      ...site(PORT.expiresSoon, full('soon', soon), soon.keyPath, goodPreview),
      ...site(PORT.notYetValid, full('early', early), early.keyPath, goodPreview),
      ...site(PORT.selfSigned, self.certPath, self.keyPath, goodPreview),
      ...site(PORT.noIntermediate, main.certPath, main.keyPath, goodPreview),
      // ingress-nginx without a secret for a host: its default server answers with the fake certificate.
      tlsServer({
        port: PORT.fallback,
        serverNames: [],
        certPath: fake.certPath,
        keyPath: fake.keyPath,
        defaultServer: true,
      }),
      tlsServer({ port: PORT.fallback, serverNames: NAMES, certPath: full('main4', main), keyPath: main.keyPath }),
      ...site(PORT.untrusted, full('foreign', foreignMain, otherInter), foreignMain.keyPath, {
        cert: full('foreignwild', foreignWild, otherInter),
        key: foreignWild.keyPath,
      }),
      ...site(PORT.oldProtocol, full('main5', main), main.keyPath, goodPreview, { protocols: 'TLSv1.1' }),
      // Like Contour/Envoy: an SNI without a route gets no handshake at all.
      tlsServer({
        port: PORT.rejectSni,
        serverNames: [],
        certPath: full('main6', main),
        keyPath: main.keyPath,
        defaultServer: true,
        rejectHandshake: true,
      }),
      tlsServer({ port: PORT.rejectSni, serverNames: NAMES, certPath: full('main7', main), keyPath: main.keyPath }),
    ].join('\n'),
  );
}, 60_000);
afterAll(runCleanups);

const ROLES = ['main', 'files', 'browsers', 'sandbox', 'preview'];

describe('tls.* against real nginx', () => {
  it('a healthy ingress passes all five, with the chain as sent and its anchor in evidence', async () => {
    const r = await tls(PORT.healthy);
    expect(r.code).toBe(0);
    for (const role of ROLES) expect(r.byId[`tls.${role}`], role).toMatchObject({ status: 'pass' });
    const ev = r.byId['tls.preview']!.evidence;
    expect(ev.chain.map((c: any) => c.subject)).toEqual([`CN=${WILD}`, 'CN=NVT Intermediate CA']);
    expect(ev.analysis).toMatchObject({ trust: 'trusted', anchor: 'CN=NVT Root CA', anchorSource: 'ca-file' });
    expect(ev.protocol).toBe('TLSv1.3');
    expect(r.byId['tls.main']!.message).toMatch(/TLSv1\.3, issued by NVT Intermediate CA, valid (89|90) more days/);
  });

  it('a certificate without the files SAN: TLS_NAME_MISMATCH on tls.files only, naming the SANs to add', async () => {
    const r = await tls(PORT.missingSan);
    expect(r.byId['tls.files']).toMatchObject({ status: 'fail', code: 'TLS_NAME_MISMATCH' });
    expect(r.byId['tls.files']!.message).toContain(`SANs ${D}, browsers.${D}, sandbox.${D}`);
    expect(r.byId['tls.files']!.remediation).toContain(
      `Reissue nap-tls-cert with SANs ${D}, files.${D}, browsers.${D}, sandbox.${D}`,
    );
    for (const role of ['main', 'browsers', 'sandbox', 'preview'])
      expect(r.byId[`tls.${role}`]!.status, role).toBe('pass');
  });

  it(
    'no wildcard certificate: the preview host gets the main certificate, TLS_NAME_MISMATCH naming ' +
      'nap-sandbox-tls-cert',
    async () => {
      const r = await tls(PORT.noWildcard);
      expect(r.byId['tls.preview']).toMatchObject({ status: 'fail', code: 'TLS_NAME_MISMATCH' });
      expect(r.byId['tls.preview']!.remediation).toContain(`Reissue nap-sandbox-tls-cert with SAN ${WILD}`);
      expect(r.byId['tls.sandbox']!.status).toBe('pass');
    },
  );

  it('a wildcard one level too high (*.<d>) is TLS_NAME_MISMATCH that says why', async () => {
    const r = await tls(PORT.wildcardTooHigh, ['--only', 'tls.preview']);
    expect(r.byId['tls.preview']).toMatchObject({ status: 'fail', code: 'TLS_NAME_MISMATCH' });
    expect(r.byId['tls.preview']!.message).toMatch(
      /\*\.tls\.test covers one label only, not nvf[0-9a-f]{10}\.sandbox\.tls\.test/,
    );
  });

  it('expired is TLS_EXPIRED; expiring within --cert-warn-days is a TLS_EXPIRES_SOON warning', async () => {
    const expired = await tls(PORT.expired, ['--only', 'tls.main']);
    expect(expired.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_EXPIRED' });
    expect(expired.byId['tls.main']!.message).toMatch(/expired \d{4}-\d\d-\d\d \(2 days ago\)/);
    const soon = await tls(PORT.expiresSoon, ['--only', 'tls.main']);
    expect(soon.byId['tls.main']).toMatchObject({ status: 'warn', code: 'TLS_EXPIRES_SOON' });
    expect(soon.code).toBe(0);
    expect((await tls(PORT.expiresSoon, ['--only', 'tls.main', '--strict'])).code).toBe(1);
    expect(
      (await tls(PORT.expiresSoon, ['--only', 'tls.main', '--cert-warn-days', '3'])).byId['tls.main']!.status,
    ).toBe('pass');
  });

  it('a certificate valid only from the day after tomorrow is TLS_NOT_YET_VALID', async () => {
    const r = await tls(PORT.notYetValid, ['--only', 'tls.main']);
    expect(r.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_NOT_YET_VALID' });
  });

  it('a self-signed certificate is TLS_SELF_SIGNED', async () => {
    const r = await tls(PORT.selfSigned, ['--only', 'tls.main']);
    expect(r.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_SELF_SIGNED' });
  });

  it('a leaf sent without its intermediate is TLS_INCOMPLETE_CHAIN, even though the root is trusted', async () => {
    const r = await tls(PORT.noIntermediate, ['--only', 'tls.main']);
    expect(r.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_INCOMPLETE_CHAIN' });
    expect(r.byId['tls.main']!.message).toContain('sent 1 certificate but not the intermediate "NVT Intermediate CA"');
    expect(r.byId['tls.main']!.remediation).toContain('fullchain');
    expect(r.byId['tls.main']!.evidence.chain).toHaveLength(1);
    // With the intermediate known locally (a CA bundle), the diagnosis is the same and names it as unsent.
    const r2 = await tls(PORT.noIntermediate, ['--only', 'tls.main', '--ca-file', caBundle]);
    expect(r2.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_INCOMPLETE_CHAIN' });
    expect(r2.byId['tls.main']!.evidence.analysis.unsentIntermediate).toBe('CN=NVT Intermediate CA');
  });

  it("the ingress's fallback certificate is TLS_DEFAULT_CERT naming ingress-nginx", async () => {
    const r = await tls(PORT.fallback);
    expect(r.byId['tls.preview']).toMatchObject({ status: 'fail', code: 'TLS_DEFAULT_CERT' });
    expect(r.byId['tls.preview']!.message).toContain(
      `ingress-nginx's fallback certificate "Kubernetes Ingress Controller Fake Certificate"`,
    );
    expect(r.byId['tls.preview']!.remediation).toContain('nap-sandbox-tls-cert');
    expect(r.byId['tls.main']!.status).toBe('pass');
  });

  it('a chain to a root nobody trusts is TLS_UNTRUSTED naming that root', async () => {
    const r = await tls(PORT.untrusted, ['--only', 'tls.main']);
    expect(r.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_UNTRUSTED' });
    expect(r.byId['tls.main']!.message).toContain('ends at "Unknown Root CA"');
    // The test CA itself is untrusted without --ca-file: a private CA must be named.
    const r2 = await runCli(ns, [
      '--domain',
      D,
      '--https-port',
      String(PORT.healthy),
      '--only',
      'tls.main',
      '--format',
      'json',
    ]);
    expect(r2.json.checks[0]).toMatchObject({ code: 'TLS_UNTRUSTED' });
  });

  it('a server stuck on TLS 1.1 is TLS_OLD_PROTOCOL', async () => {
    const r = await tls(PORT.oldProtocol, ['--only', 'tls.main']);
    expect(r.byId['tls.main']).toMatchObject({ status: 'fail', code: 'TLS_OLD_PROTOCOL' });
    expect(r.byId['tls.main']!.evidence).toMatchObject({ protocol: 'TLSv1.1', legacyOnly: true });
  });

  it('a refused SNI and a closed port are TLS_HANDSHAKE, told apart', async () => {
    const sni = await tls(PORT.rejectSni);
    expect(sni.byId['tls.preview']).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
    expect(sni.byId['tls.preview']!.message).toMatch(
      /TCP connected, then the TLS handshake failed: .*unrecognized name/i,
    );
    expect(sni.byId['tls.main']!.status).toBe('pass');
    const closed = await tls(PORT.closed, ['--only', 'tls.main']);
    expect(closed.byId['tls.main']).toMatchObject({ code: 'TLS_HANDSHAKE' });
    expect(closed.byId['tls.main']!.message).toContain('connection refused');
  });

  it('--ingress-ip bypasses DNS for the connection; without it a failed dns.<role> makes tls.<role> skip', async () => {
    const r = await runCli(ns, [
      '--domain',
      'nodns.test',
      '--https-port',
      String(PORT.healthy),
      '--ca-file',
      rootPem,
      '--only',
      'dns.main,tls.main',
      '--format',
      'json',
      '--timeout',
      '1',
    ]);
    const byId = Object.fromEntries(r.json.checks.map((c: JsonCheck) => [c.id, c]));
    expect(byId['dns.main']).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN' });
    expect(byId['tls.main']).toMatchObject({ status: 'skip', message: 'skipped: dns.main failed (DNS_NXDOMAIN)' });
    const direct = await tls(PORT.healthy, ['--ingress-ip', '127.0.0.1', '--only', 'tls.main']);
    expect(direct.byId['tls.main']).toMatchObject({ status: 'pass' });
    expect(direct.json.target.ingressIp).toBe('127.0.0.1');
  });
});
