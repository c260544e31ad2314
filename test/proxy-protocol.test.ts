// An ingress that expects PROXY protocol behind a load balancer that does not send it: real nginx
// (`listen … proxy_protocol`) and real HAProxy (`bind … accept-proxy`) reset the TLS ClientHello at once, and on
// plain HTTP nginx closes without an answer while HAProxy resets. tls.<role> must name that cause
// (TLS_PROXY_PROTOCOL, never TLS_HANDSHAKE), http.redirect too, and everything behind them skip. A healthy stack
// gets no second connection; a server that is silent, refuses the SNI, or closes whatever comes is not asked twice
// for nothing and keeps TLS_HANDSHAKE.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../src/model.js';
import { type JsonCheck, runCli, withChecks } from './harness/cli.js';
import { startNginx, tlsServer } from './harness/nginx.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import {
  fullStack,
  type FullStack,
  type Ingress,
  ingressBase,
  nginxSite,
  publicUrlArgs,
  startHaproxy,
  startResponder,
  UPGRADE_MAP,
  waitPort,
} from './support/ingress.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const P = {
  /** nginx: the five hosts on `listen … ssl proxy_protocol`, and the :80-style redirect with proxy_protocol. */
  nginxHttps: 8443,
  nginxHttp: 8080,
  /** The same plain-HTTP port, but behind the header it answers 200 instead of redirecting. */
  nginxHttpNoRedirect: 8081,
  /** HAProxy: `bind … ssl crt … accept-proxy`, and a redirect frontend with `accept-proxy`. */
  haproxyHttps: 9443,
  haproxyHttp: 9080,
  /** Not PROXY protocol: accepts and never answers; resets whatever arrives; refuses the SNI with an alert. */
  silent: 7001,
  resets: 7002,
  rejectSni: 7003,
};
const TLS_IDS = ROLES.map((r) => `tls.${r}`);

let ing: Ingress;

async function run(httpsPort: number, httpPort: number, extra: string[] = [], timeoutMs = 60_000) {
  return withChecks(
    await runCli(
      ing.ns,
      [
        '--domain',
        ing.domain,
        '--https-port',
        String(httpsPort),
        '--http-port',
        String(httpPort),
        '--ca-file',
        ing.rootPem,
        // TURN is no part of the HTTP ingress (nothing runs it here): left out, as it would only time out.
        '--skip',
        'turn',
        '--format',
        'json',
        ...extra,
      ],
      { timeoutMs },
    ),
  );
}

/** Everything one PROXY-expecting ingress must give: one cause, named where it is seen, skipped behind. */
function assertProxyProtocolRun(byId: Record<string, JsonCheck>, httpsPort: number, httpPort: number) {
  const checks = Object.values(byId);
  for (const id of TLS_IDS) {
    const c = byId[id]!;
    expect(c, id).toMatchObject({ status: 'fail', code: 'TLS_PROXY_PROTOCOL' });
    expect(c.message).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${httpsPort} resets the connection for \\S+ as soon as the TLS ClientHello arrives, ` +
          'and the handshake completes only after a PROXY protocol v1 header: the ingress expects PROXY protocol ' +
          'and the load balancer in front does not send it \\(behind the header: TLSv1\\.[23], certificate from ' +
          'Ingress Intermediate CA valid \\d+ more days\\)$',
      ),
    );
    // Both attempts: the first as every client sees it (reset, not a byte back), the second behind the header.
    expect(c.evidence.failure).toMatchObject({ stage: 'handshake', kind: 'reset', received: 0 });
    expect(c.evidence.chain).toEqual([]);
    expect(c.evidence.proxyProtocol.header).toMatch(
      new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${httpsPort}\\r\\n$`),
    );
    expect(c.evidence.proxyProtocol.failure).toBeUndefined();
    expect(c.evidence.proxyProtocol.chain[0].sans).toContain(ing.domain);
    // Both sides of the fix.
    expect(c.remediation).toMatch(/aws-load-balancer-proxy-protocol: "\*"/);
    expect(c.remediation).toMatch(/use-proxy-protocol: "false"/);
    expect(c.remediation).toMatch(/accept-proxy/);
  }
  const redirect = byId['http.redirect']!;
  expect(redirect).toMatchObject({ status: 'fail', code: 'HTTP_NO_REDIRECT' });
  expect(redirect.message).toMatch(
    new RegExp(
      `^127\\.0\\.0\\.1:${httpPort} (closes|resets) the connection without an answer as soon as the request for ` +
        `http://${ing.domain}/ arrives, and answers only after a PROXY protocol v1 header: the ingress expects ` +
        'PROXY protocol and the load balancer in front does not send it; the redirect itself is fine once PROXY ' +
        `protocol is sent \\(30[12] → https://${ing.domain}:${httpsPort}/\\)$`,
    ),
  );
  expect(redirect.message).not.toMatch(/nothing answers/);
  expect(redirect.evidence.proxyProtocol.header).toMatch(/^PROXY TCP4 /);
  // The redirect works behind the header: the PROXY protocol fix is the whole fix, not the redirect annotations.
  expect(redirect.remediation).toMatch(/PROXY protocol/);
  expect(redirect.remediation).not.toMatch(/ssl-redirect/);
  // One cause, one finding each: no TLS_HANDSHAKE anywhere, nothing else fails with its own code.
  expect(checks.filter((c) => c.code === 'TLS_HANDSHAKE').map((c) => c.id)).toEqual([]);
  expect(
    checks.filter((c) => c.status === 'fail' && !TLS_IDS.includes(c.id) && c.id !== 'http.redirect').map((c) => c.id),
  ).toEqual([]);
  // What needs a TLS session skips, naming the check that failed and why.
  for (const c of checks.filter((c) => /^(http|ws|sse|net)\./.test(c.id) && c.id !== 'http.redirect'))
    expect(c, c.id).toMatchObject({ status: 'skip' });
  // ws.h2 (not a dependant: it reads what ran before it) tested nothing: skip, naming why for each host.
  expect(byId['ws.h2']!.message).toMatch(
    /nothing to ask: nap\.test \(no TLS session \(tls\.main TLS_PROXY_PROTOCOL\)\)/,
  );
  expect(byId['http.main']!.message).toBe('skipped: tls.main failed (TLS_PROXY_PROTOCOL)');
  expect(byId['ws.sandbox']!.message).toBe('skipped: tls.sandbox failed (TLS_PROXY_PROTOCOL)');
}

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  const d = ing.domain;
  await startResponder(ing.ns, d, R, publicUrlArgs(d, P.nginxHttps));
  const site = nginxSite(ing, R, { port: P.nginxHttps, blockMetrics: true }).replaceAll(
    `:${P.nginxHttps} ssl`,
    `:${P.nginxHttps} ssl proxy_protocol`,
  );
  expect(site.match(/proxy_protocol/g)?.length).toBe(6);
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      site,
      `server { listen 127.0.0.1:${P.nginxHttp} proxy_protocol default_server; ` +
        `return 301 https://$host:${P.nginxHttps}$request_uri; }`,
      `server { listen 127.0.0.1:${P.nginxHttpNoRedirect} proxy_protocol default_server; return 200 "plain\\n"; }`,
      tlsServer({
        port: P.rejectSni,
        serverNames: [d],
        certPath: ing.certPath,
        keyPath: ing.keyPath,
        defaultServer: true,
        rejectHandshake: true,
      }),
    ].join('\n'),
  );
  await startHaproxy(ing, R, P.haproxyHttps, '30s', { bindExtra: 'accept-proxy' });
  // Port 80 of the same HAProxy install: the redirect, behind accept-proxy like the TLS bind.
  const dir = await makeTempDir('nvt-haproxy80-');
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `${[
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend web',
      `  bind 127.0.0.1:${P.haproxyHttp} accept-proxy`,
      `  http-request redirect location https://%[req.hdr(host),field(1,:)]:${P.haproxyHttps}%[capture.req.uri]`,
    ].join('\n')}\n`,
  );
  ing.ns.spawn('haproxy', ['-db', '-f', cfg]);
  // Not PROXY protocol: a server that accepts and never answers, and one that resets whatever arrives.
  ing.ns.spawn('node', [
    '-e',
    `const net = require('node:net');
     net.createServer((s) => s.on('error', () => {})).listen(${P.silent}, '127.0.0.1');
     net.createServer((s) => s.on('error', () => {}).once('data', () => s.resetAndDestroy())).listen(${P.resets},
       '127.0.0.1');`,
  ]);
  await Promise.all([P.haproxyHttp, P.silent, P.resets].map((p) => waitPort(ing.ns, p)));
}, 60_000);
afterAll(runCleanups);

describe('PROXY protocol expected, not sent (TLS_PROXY_PROTOCOL)', () => {
  it('nginx `listen … ssl proxy_protocol`: every tls.<role> TLS_PROXY_PROTOCOL, http.redirect names it', async () => {
    const r = await run(P.nginxHttps, P.nginxHttp, ['--no-hold']);
    assertProxyProtocolRun(r.byId, P.nginxHttps, P.nginxHttp);
    // nginx closes plain HTTP without an answer (measured), and its 301 comes only behind the header.
    expect(r.byId['http.redirect']!.evidence.error.code).toBe('UND_ERR_SOCKET');
    expect(r.byId['http.redirect']!.message).toMatch(/ closes the connection /);
    expect(r.code).toBe(1);
  }, 60_000);

  it('the same at the default options, holds included: they skip at once and the run stays short', async () => {
    const r = await run(P.nginxHttps, P.nginxHttp, [], 100_000);
    assertProxyProtocolRun(r.byId, P.nginxHttps, P.nginxHttp);
    for (const c of Object.values(r.byId).filter((c) => c.id.startsWith('hold.')))
      expect(c, c.id).toMatchObject({ status: 'skip' });
    // Nothing holds a stream: well under the 75 s hold.
    expect(r.ms).toBeLessThan(20_000);
  }, 120_000);

  it('HAProxy `bind … accept-proxy`: the same verdicts (it resets plain HTTP too)', async () => {
    const r = await run(P.haproxyHttps, P.haproxyHttp, ['--no-hold']);
    assertProxyProtocolRun(r.byId, P.haproxyHttps, P.haproxyHttp);
    expect(r.byId['http.redirect']!.evidence.error.code).toBe('ECONNRESET');
    expect(r.byId['http.redirect']!.message).toMatch(/ resets the connection /);
  }, 60_000);

  it('port 80 answers 200 behind the header: http.redirect names the PROXY protocol and the redirect', async () => {
    const r = await run(P.nginxHttps, P.nginxHttpNoRedirect, ['--only', 'http.redirect']);
    const c = r.byId['http.redirect']!;
    expect(c).toMatchObject({ status: 'fail', code: 'HTTP_NO_REDIRECT' });
    expect(c.message).toMatch(
      new RegExp(
        'answers only after a PROXY protocol v1 header: the ingress expects PROXY protocol and the load balancer in ' +
          'front does not send it; behind the header http://nap\\.test/ answers 200 over plain HTTP instead of ' +
          'redirecting to https$',
      ),
    );
    // Both fixes, for the controller its answer names (Server: nginx, no version: ingress-nginx): the PROXY
    // protocol one first, then the redirect.
    expect(c.remediation).toMatch(/^Set use-proxy-protocol: "false" in the controller ConfigMap/);
    expect(c.remediation).toMatch(/ssl-redirect/);
  }, 60_000);
});

describe('not PROXY protocol: asked once, TLS_HANDSHAKE as before', () => {
  const tlsOnly = (port: number) => run(port, P.nginxHttp, ['--only', 'tls.main', '--timeout', '1']);

  it('a server that accepts and never answers: a timeout, no second connection', async () => {
    const r = await tlsOnly(P.silent);
    const c = r.byId['tls.main']!;
    expect(c).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
    expect(c.evidence.failure).toMatchObject({ stage: 'handshake', kind: 'timeout' });
    expect(c.evidence.proxyProtocol).toBeUndefined();
    expect(r.ms).toBeLessThan(10_000);
  }, 30_000);

  it('a server that refuses the SNI with an alert: answered, no second connection', async () => {
    const c = (await tlsOnly(P.rejectSni)).byId['tls.main']!;
    expect(c).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
    expect(c.evidence.failure.kind).not.toBe('reset');
    expect(c.evidence.proxyProtocol).toBeUndefined();
  }, 30_000);

  it('a server that resets whatever comes, a PROXY header too: TLS_HANDSHAKE, the header did not help', async () => {
    const c = (await tlsOnly(P.resets)).byId['tls.main']!;
    expect(c).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
    expect(c.message).toBe(
      `no TLS session with 127.0.0.1:${P.resets} for nap.test: TCP connected, then the TLS handshake failed: ` +
        'connection reset during the TLS handshake; after a PROXY protocol header too: connection reset during ' +
        'the TLS handshake',
    );
    expect(c.evidence.proxyProtocol).toMatchObject({ failure: { kind: 'reset' }, chain: [] });
  }, 30_000);
});

describe('a healthy stack', () => {
  let stack: FullStack;
  beforeAll(async () => {
    stack = await fullStack('nap.test');
  }, 60_000);

  it('every tls.<role> passes on the first connection: no PROXY protocol question asked', async () => {
    const r = withChecks(await runCli(stack.ns, [...stack.args, '--only', 'tls,http.redirect', '--format', 'json']));
    for (const id of TLS_IDS) {
      expect(r.byId[id], id).toMatchObject({ status: 'pass' });
      expect(r.byId[id]!.evidence.proxyProtocol, id).toBeUndefined();
      expect(r.byId[id]!.evidence.failure, id).toBeUndefined();
    }
    expect(r.byId['http.redirect']).toMatchObject({ status: 'pass' });
    expect(r.byId['http.redirect']!.evidence.proxyProtocol).toBeUndefined();
  }, 60_000);
});
