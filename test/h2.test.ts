// What browsers do over HTTP/2 that curl does not, against real haproxy and nginx in front of the real responder:
// one connection coalesced across the hosts of one certificate (http.coalesce), and WebSockets over Extended
// CONNECT, RFC 8441 (ws.h2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, withChecks } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, startHaproxy, startResponder, UPGRADE_MAP, type Ingress } from './support/ingress.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const PLATFORM = { cp: 4000, browser: 4005, sandbox: 4006 };
const P = {
  haproxyHost: 9443,
  haproxySni: 9444,
  haproxyDenyH2Ws: 9445,
  haproxyH1: 9446,
  platformSni: 9447,
  platformHost: 9448,
  nginx: 8443,
  nginx421: 8444,
};

let ing: Ingress;

async function run(port: number, only = 'http.coalesce,ws.h2', extra: string[] = []) {
  const r = await runCli(ing.ns, [
    '--domain',
    ing.domain,
    '--https-port',
    String(port),
    '--ca-file',
    ing.rootPem,
    '--no-hold',
    '--only',
    only,
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
  const d = ing.domain;
  await Promise.all([startResponder(ing.ns, d, R), startResponder(ing.ns, d, PLATFORM, ['--fingerprints-only'])]);
  await Promise.all([
    // Routing by Host (:authority in h2): right for coalesced requests.
    startHaproxy(ing, R, P.haproxyHost, '30s'),
    // Routing by SNI: every request on a connection opened for <d> goes to nap-cp (measured in the field).
    startHaproxy(ing, R, P.haproxySni, '30s', { routeBySni: true }),
    // WebSockets refused over HTTP/2 on one route: haproxy turns Extended CONNECT into an `Upgrade: websocket`
    // request of version 2.0 for its rules, so a rule that denies those denies exactly what browsers send.
    startHaproxy(ing, R, P.haproxyDenyH2Ws, '30s', {
      frontend: [
        `http-request deny if { req.ver 2.0 } { req.hdr(upgrade) -i websocket } { req.hdr(host),field(1,:) -i ` +
          `browsers.${d} }`,
      ],
    }),
    // HTTP/1.1 only: no h2, nothing to coalesce.
    startHaproxy(ing, R, P.haproxyH1, '30s', { alpn: 'http/1.1' }),
    startHaproxy(ing, PLATFORM, P.platformSni, '30s', { routeBySni: true }),
    startHaproxy(ing, PLATFORM, P.platformHost, '30s'),
  ]);
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: P.nginx }),
      // A server that refuses a request whose Host is not the name the TLS session was opened for.
      nginxSite(ing, R, { port: P.nginx421, extra: 'if ($ssl_server_name != $host) { return 421; }' }),
    ].join('\n'),
  );
}, 60_000);
afterAll(runCleanups);

describe('HTTP/2 connection coalescing (http.coalesce)', () => {
  it(
    'haproxy routing by Host: every host reached over one connection to <d>; WebSockets over h2 ' +
      'accepted on every host',
    async () => {
      const r = await run(P.haproxyHost);
      expect(r.byId['http.coalesce']).toMatchObject({ status: 'pass' });
      expect(r.byId['http.coalesce']!.message).toMatch(
        new RegExp(
          /^one HTTP\/2 connection to nap\.test \(127\.0\.0\.1:9443\) reached each host's own service: /.source +
            /files\.nap\.test, browsers\.nap\.test, sandbox\.nap\.test, nvf[0-9a-f]{10}\.sandbox\.nap\.test$/.source,
        ),
      );
      expect(r.byId['http.coalesce']!.evidence.connection).toMatchObject({
        alpn: 'h2',
        enableConnectProtocol: true,
        address: '127.0.0.1',
        port: 9443,
      });
      expect(r.byId['ws.h2'], JSON.stringify(r.byId['ws.h2'])).toMatchObject({ status: 'pass' });
      expect(r.byId['ws.h2']!.message).toMatch(
        new RegExp(
          /^Extended CONNECT offered and accepted: nap\.test 200 \+ hello, browsers\.nap\.test 200 \+ hello, /.source +
            /sandbox\.nap\.test 200 \+ hello, nvf[0-9a-f]{10}\.sandbox\.nap\.test 200 \+ hello$/.source,
        ),
      );
    },
  );

  it("haproxy routing by SNI: H2_MISROUTED, while the hosts' own connections pass", async () => {
    const r = await run(P.haproxySni, 'http.coalesce,http.browsers,http.files');
    // files.<d> is nap-cp too, so SNI routing happens to be right for it; browsers.<d> is the first one wrong.
    expect(r.byId['http.coalesce']).toMatchObject({
      status: 'fail',
      code: 'H2_MISROUTED',
      message:
        'over the HTTP/2 connection opened for nap.test (127.0.0.1:9444), :authority browsers.nap.test was ' +
        'answered by nap-cp, not nap-browser: the ingress routes by SNI, not by :authority',
    });
    expect(r.byId['http.browsers']).toMatchObject({ status: 'pass' });
    expect(r.byId['http.files']).toMatchObject({ status: 'pass' });
    expect(r.byId['http.coalesce']!.remediation).toMatch(/ssl_fc_sni/);
  });

  it(
    'nginx with http2: pass (nginx picks the server by Host per request); ws.h2: nginx 1.22 does not offer ' +
      'Extended CONNECT',
    async () => {
      const r = await run(P.nginx);
      expect(r.byId['http.coalesce']).toMatchObject({ status: 'pass' });
      expect(r.byId['http.coalesce']!.evidence.connection).toMatchObject({ alpn: 'h2', enableConnectProtocol: false });
      expect(r.byId['ws.h2']).toMatchObject({ status: 'pass' });
      expect(r.byId['ws.h2']!.message).toMatch(
        new RegExp(
          /^no host offers WebSockets over HTTP\/2 \(no SETTINGS_ENABLE_CONNECT_PROTOCOL\): /.source +
            /browsers use HTTP\/1\.1 upgrades \(ws\.\*\) on nap\.test, browsers\.nap\.test/.source,
        ),
      );
    },
  );

  it('nginx answering 421 when Host is not the SNI: H2_MISDIRECTED (warn), exit 0', async () => {
    const r = await run(P.nginx421, 'http.coalesce');
    expect(r.byId['http.coalesce']).toMatchObject({ status: 'warn', code: 'H2_MISDIRECTED' });
    expect(r.byId['http.coalesce']!.message).toBe(
      'files.nap.test on the HTTP/2 connection opened for nap.test (127.0.0.1:8444) answered 421 Misdirected ' +
        'Request: Safari does not retry it',
    );
    expect(r.code).toBe(0);
  });

  it('no h2 offered: pass with the ALPN in the evidence', async () => {
    const r = await run(P.haproxyH1);
    expect(r.byId['http.coalesce']).toMatchObject({
      status: 'pass',
      message:
        'nap.test at 127.0.0.1:9446 offers no HTTP/2 (ALPN http/1.1): browsers open one connection per host, ' +
        'nothing is coalesced',
    });
    expect(r.byId['http.coalesce']!.evidence.alpn).toBe('http/1.1');
    expect(r.byId['ws.h2']!.message).toMatch(/^no WebSocket host speaks HTTP\/2/);
  });

  it(
    'without the responder: the platform fingerprints catch the SNI routing; ws.h2 uses /env-gateway ' +
      '(200, then 1008)',
    async () => {
      const bad = await run(P.platformSni, 'http.coalesce');
      expect(bad.byId['http.coalesce']).toMatchObject({ status: 'fail', code: 'H2_MISROUTED' });
      expect(bad.byId['http.coalesce']!.message).toBe(
        'over the HTTP/2 connection opened for nap.test (127.0.0.1:9447), :authority browsers.nap.test reached ' +
          'nap-cp, not nap-browser: the ingress routes by SNI, not by :authority',
      );
      const good = await run(P.platformHost);
      expect(good.byId['http.coalesce']).toMatchObject({ status: 'pass' });
      expect(good.byId['ws.h2']).toMatchObject({ status: 'pass' });
      expect(good.byId['ws.h2']!.message).toMatch(
        new RegExp(
          /^Extended CONNECT offered and accepted: nap\.test 200, close 1008; /.source +
            /offered but no public WebSocket endpoint to try on browsers\.nap\.test, sandbox\.nap\.test, nvf/.source,
        ),
      );
    },
  );
});

describe('WebSockets over HTTP/2 (ws.h2)', () => {
  it(
    'haproxy offering Extended CONNECT and denying it on one route: WS_H2_REJECTED, while the ' +
      'HTTP/1.1 upgrade passes',
    async () => {
      const r = await run(P.haproxyDenyH2Ws, 'ws.h2,ws.browsers');
      expect(r.byId['ws.browsers']).toMatchObject({ status: 'pass' });
      expect(r.byId['ws.h2']).toMatchObject({ status: 'fail', code: 'WS_H2_REJECTED' });
      expect(r.byId['ws.h2']!.message).toBe(
        'browsers.nap.test (127.0.0.1:9445) offers WebSockets over HTTP/2, but CONNECT :protocol websocket on ' +
          '/.well-known/nap-verify/ws answered 403: "403 Forbidden Request forbidden by administrative rules.": ' +
          'Firefox and Chrome WebSockets fail there, HTTP/1.1 clients work',
      );
      expect(r.byId['ws.h2']!.remediation).toMatch(/h2-workaround-bogus-websocket-clients/);
    },
  );
});
