// PROXY protocol expected and not sent, judged on evidence recorded from real nginx and HAProxy
// (test/proxy-protocol.test.ts): tls.<role> gives TLS_PROXY_PROTOCOL (never TLS_HANDSHAKE as well) and names what
// the certificate behind the header would give; http.redirect names the cause, not "nothing answers"; the header
// and when a second connection is asked for at all. No network.
import { describe, expect, it } from 'vitest';
import httpRedirect, { type RedirectEvidence } from '../../checks/http.redirect.js';
import tlsMain from '../../checks/tls.main.js';
import type { RunContext } from '../../src/model.js';
import type { CertInfo } from '../../src/probes/certs.js';
import { closedWithoutAnswer, proxyV1Line } from '../../src/probes/proxy-protocol.js';
import { closedUnanswered, type TlsEvidence } from '../../src/probes/tls.js';
import { remediationFor } from '../../src/remediation.js';
import { testContext } from '../support/context.js';

const D = 'acme.test';
const ctx: RunContext = testContext({
  target: {
    domain: D,
    hosts: {
      main: D,
      files: `files.${D}`,
      browsers: `browsers.${D}`,
      sandbox: `sandbox.${D}`,
      preview: `x.sandbox.${D}`,
    },
    turn: { host: D, port: 3478 },
  },
  now: () => new Date('2026-06-01T00:00:00Z'),
});

const leaf = (notAfter: string): CertInfo => ({
  subject: `CN=${D}`,
  issuer: 'CN=Ingress Intermediate CA',
  commonName: D,
  sans: [D, `files.${D}`, `browsers.${D}`, `sandbox.${D}`, `*.sandbox.${D}`],
  notBefore: '2026-05-01T00:00:00.000Z',
  notAfter,
  fingerprint256: 'AA:BB',
  serial: '01',
  isCA: false,
  selfIssued: false,
  pem: '',
});
const RESET = {
  stage: 'handshake',
  kind: 'reset',
  error: 'connection reset during the TLS handshake',
  received: 0,
} as const;
const HEADER = 'PROXY TCP4 192.0.2.7 192.0.2.10 40112 443\r\n';

/** As probeTls records it for nginx `listen … ssl proxy_protocol`: reset at once, a session behind the header. */
const proxied = (notAfter = '2026-08-30T00:00:00.000Z'): TlsEvidence => ({
  host: D,
  address: '192.0.2.10',
  port: 443,
  failure: RESET,
  chain: [],
  ms: 48,
  proxyProtocol: {
    header: HEADER,
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    alpn: 'h2',
    chain: [leaf(notAfter)],
    analysis: { trust: 'trusted', path: [`CN=${D}`, 'CN=Ingress Intermediate CA', 'CN=Ingress Root CA'] },
    ms: 45,
  },
});

describe('tls.<role> behind a PROXY-protocol ingress', () => {
  it('the handshake completes only behind the header: TLS_PROXY_PROTOCOL, both sides of the fix', () => {
    const j = tlsMain.judge(proxied(), ctx);
    expect(j).toEqual({
      status: 'fail',
      code: 'TLS_PROXY_PROTOCOL',
      host: D,
      message:
        `192.0.2.10:443 resets the connection for ${D} as soon as the TLS ClientHello arrives, and the handshake ` +
        'completes only after a PROXY protocol v1 header: the ingress expects PROXY protocol and the load balancer ' +
        'in front does not send it (behind the header: TLSv1.3, certificate from Ingress Intermediate CA valid 90 ' +
        'more days)',
    });
    const fix = remediationFor(tlsMain.meta, j) ?? '';
    expect(fix).toMatch(/proxy_protocol_v2\.enabled=true/);
    expect(fix).toMatch(/service\.beta\.kubernetes\.io\/aws-load-balancer-proxy-protocol: "\*"/);
    expect(fix).toMatch(/ingress-nginx: Set use-proxy-protocol: "false"/);
    expect(fix).toMatch(/nginx: Drop proxy_protocol from the listen directives/);
    expect(fix).toMatch(/HAProxy: Drop accept-proxy from the bind lines/);
    expect(fix).toMatch(/Traefik: Remove proxyProtocol from the entryPoint/);
  });

  it('a certificate problem behind the header is named in the message, the PROXY protocol stays the code', () => {
    const j = tlsMain.judge(proxied('2026-06-05T00:00:00.000Z'), ctx);
    expect(j).toMatchObject({ status: 'fail', code: 'TLS_PROXY_PROTOCOL' });
    expect(j.message).toMatch(
      /\(behind the header: certificate for acme\.test expires 2026-06-05, in 4 days \(warn below 14\)\)$/,
    );
    // One day left is "1 day", not "1 days".
    expect(tlsMain.judge(proxied('2026-06-02T12:00:00.000Z'), ctx).message).toMatch(/, in 1 day \(warn below 14\)\)$/);
    const expired = tlsMain.judge(proxied('2026-05-20T00:00:00.000Z'), ctx);
    expect(expired).toMatchObject({ status: 'fail', code: 'TLS_PROXY_PROTOCOL' });
    expect(expired.message).toMatch(/behind the header: certificate for acme\.test expired 2026-05-20/);
  });

  it('the header did not help either: TLS_HANDSHAKE, saying so', () => {
    const ev: TlsEvidence = {
      ...proxied(),
      proxyProtocol: { header: HEADER, failure: RESET, chain: [], ms: 2 },
    };
    expect(tlsMain.judge(ev, ctx)).toMatchObject({
      status: 'fail',
      code: 'TLS_HANDSHAKE',
      message:
        `no TLS session with 192.0.2.10:443 for ${D}: TCP connected, then the TLS handshake failed: connection ` +
        'reset during the TLS handshake; after a PROXY protocol header too: connection reset during the TLS handshake',
    });
  });

  it('a second connection only after a reset or close before any byte came back', () => {
    expect(closedUnanswered(RESET)).toBe(true);
    expect(closedUnanswered({ ...RESET, error: 'server closed the connection during the TLS handshake' })).toBe(true);
    // Something came back (a record, an alert): the server spoke TLS, this is not a PROXY-protocol listener.
    expect(closedUnanswered({ ...RESET, received: 7 })).toBe(false);
    expect(closedUnanswered({ stage: 'handshake', kind: 'alert', error: 'alert', received: 7 })).toBe(false);
    // Silence after the ClientHello: nginx and HAProxy expecting PROXY protocol reset it at once (measured).
    expect(closedUnanswered({ stage: 'handshake', kind: 'timeout', error: 'no TLS handshake', received: 0 })).toBe(
      false,
    );
    expect(closedUnanswered({ stage: 'connect', kind: 'refused', error: 'connection refused' })).toBe(false);
    expect(closedUnanswered({ stage: 'connect', kind: 'reset', error: 'connection reset' })).toBe(false);
    expect(closedUnanswered(undefined)).toBe(false);
  });
});

describe('http.redirect behind a PROXY-protocol ingress', () => {
  const closed: RedirectEvidence = {
    url: `http://${D}/`,
    address: '192.0.2.10',
    error: { code: 'UND_ERR_SOCKET', message: 'other side closed' },
    ms: 3,
  };
  const behind = (status: number, headers: Record<string, string>): RedirectEvidence => ({
    ...closed,
    proxyProtocol: { url: `http://${D}/`, address: '192.0.2.10', header: HEADER, status, headers, body: '', ms: 2 },
  });

  it('the redirect works behind the header: the cause named, the PROXY protocol fix the whole fix', () => {
    const j = httpRedirect.judge(behind(301, { location: `https://${D}/`, server: 'nginx' }), ctx);
    expect(j).toMatchObject({
      status: 'fail',
      code: 'HTTP_NO_REDIRECT',
      controller: 'ingress-nginx',
      replacesFix: true,
      message:
        `192.0.2.10:80 closes the connection without an answer as soon as the request for http://${D}/ arrives, ` +
        'and answers only after a PROXY protocol v1 header: the ingress expects PROXY protocol and the load ' +
        'balancer in front does not send it; the redirect itself is fine once PROXY protocol is sent (301 → ' +
        `https://${D}/)`,
    });
    expect(j.message).not.toMatch(/nothing answers/);
    const fix = remediationFor(httpRedirect.meta, j, 'ingress-nginx');
    expect(fix).toMatch(/^Set use-proxy-protocol: "false" in the controller ConfigMap/);
    expect(fix).not.toMatch(/ssl-redirect/);
  });

  it('no redirect behind the header either: both named, both fixes', () => {
    const j = httpRedirect.judge(
      { ...behind(200, {}), error: { code: 'ECONNRESET', message: 'read ECONNRESET' } },
      ctx,
    );
    expect(j.message).toMatch(/^192\.0\.2\.10:80 resets the connection without an answer .* does not send it; /);
    expect(j.message).toMatch(
      /; behind the header http:\/\/acme\.test\/ answers 200 over plain HTTP instead of redirecting to https$/,
    );
    const fix = remediationFor(httpRedirect.meta, j) ?? '';
    expect(fix).toMatch(/aws-load-balancer-proxy-protocol/);
    expect(fix).toMatch(/Redirect port 80 to HTTPS on the ingress/);
  });

  it('nothing behind the header either: "nothing answers", as before, saying the header was tried', () => {
    const j = httpRedirect.judge(
      {
        ...closed,
        proxyProtocol: { ...closed, header: HEADER, error: { code: 'ECONNRESET', message: 'read ECONNRESET' } },
      },
      ctx,
    );
    expect(j.message).toBe(
      'nothing answers plain HTTP on 192.0.2.10:80: other side closed; after a PROXY protocol header too: read ' +
        'ECONNRESET',
    );
  });

  it('asks a second time only after a close or reset without an answer', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])
      expect(closedWithoutAnswer({ code, message: '' }), code).toBe(true);
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ABORT_ERR'])
      expect(closedWithoutAnswer({ code, message: '' }), code).toBe(false);
    expect(closedWithoutAnswer(undefined)).toBe(false);
  });
});

describe('the PROXY protocol v1 header', () => {
  it('TCP4 and TCP6 from the two ends, UNKNOWN across families; no IPv6 zone', () => {
    expect(proxyV1Line({ src: '192.0.2.7', dst: '192.0.2.10', srcPort: 40112, dstPort: 443 })).toBe(HEADER);
    expect(proxyV1Line({ src: '2001:db8::7', dst: '2001:db8::10', srcPort: 50000, dstPort: 8443 })).toBe(
      'PROXY TCP6 2001:db8::7 2001:db8::10 50000 8443\r\n',
    );
    expect(proxyV1Line({ src: 'fe80::1%eth0', dst: 'fe80::2%eth0', srcPort: 1, dstPort: 2 })).toBe(
      'PROXY TCP6 fe80::1 fe80::2 1 2\r\n',
    );
    expect(proxyV1Line({ src: '192.0.2.7', dst: '2001:db8::10', srcPort: 1, dstPort: 2 })).toBe('PROXY UNKNOWN\r\n');
  });
});
