// http.redirect: someone typing the bare domain into a browser ends up on https.
import type { CheckDef, Judgement } from '../src/model.js';
import { httpGet, type HttpExchange } from '../src/probes/http.js';
import { closedWithoutAnswer, proxiedGet, type ProxiedExchange } from '../src/probes/proxy-protocol.js';
import { formatFix } from '../src/remediation.js';
import { addressFor, detectController, dnsAfter, ingressOnly } from './_lib/routing.js';
import { PROXY_PROTOCOL_FIX } from './_lib/tls-host.js';

/**
 * The GET of http://<d>/; when the connection was closed or reset before any answer, `proxyProtocol` is the same GET
 * on a second connection that sent a PROXY protocol v1 header first.
 */
export type RedirectEvidence = HttpExchange & { proxyProtocol?: ProxiedExchange };

const check: CheckDef<RedirectEvidence> = {
  meta: {
    id: 'http.redirect',
    area: 'http',
    title: 'Plain HTTP redirects to HTTPS',
    proves: 'http://<d>/ answers with a redirect to https://<d>/.',
    codes: {
      HTTP_NO_REDIRECT: {
        status: 'fail',
        why:
          'Plain HTTP on <d> does not redirect to HTTPS: users typing the domain get an error or an insecure page. ' +
          'When port 80 closes the connection without an answer unless a PROXY protocol header comes first, the ' +
          'ingress expects PROXY protocol and the load balancer in front does not send it (see TLS_PROXY_PROTOCOL).',
        fix: {
          general: 'Redirect port 80 to HTTPS on the ingress.',
          'ingress-nginx':
            'ingress-nginx redirects when the Ingress has a tls section (ssl-redirect defaults to true); check ' +
            'nginx.ingress.kubernetes.io/ssl-redirect is not "false".',
          contour:
            'Contour redirects to HTTPS for an HTTPProxy with virtualhost.tls unless permitInsecure: true is set ' +
            'on the route.',
          traefik: 'Add a redirectScheme middleware (or entryPoints.web.http.redirections) to https.',
          istio: 'Set tls.httpsRedirect: true on the Gateway port 80 server.',
          haproxy: 'Set the ssl-redirect annotation (haproxy.org/ssl-redirect: "true").',
        },
      },
    },
    // The same address as the main host: no reason to ask DNS again.
  },
  appliesTo: (ctx) => ingressOnly(ctx, 'plain HTTP is the install itself, there is no HTTPS to redirect to'),
  needs: (ctx) => dnsAfter(ctx, 'main'),
  after: (ctx) => dnsAfter(ctx, 'main'),
  async gather(ctx, up, tools) {
    const port = ctx.httpPort === 80 ? '' : `:${ctx.httpPort}`;
    const url = `http://${ctx.target.domain}${port}/`;
    const address = addressFor(ctx, 'main', up);
    const ex = await httpGet({ url, address, timeoutMs: ctx.timeoutMs, signal: tools.signal });
    // Closed at once without an answer: an ingress expecting PROXY protocol does that. Asked once more, with the
    // header, only then (a refusal or a timeout is not that: nothing listens, or nothing answers).
    if (!closedWithoutAnswer(ex.error)) return ex;
    const proxied = await proxiedGet({ url, address, timeoutMs: ctx.timeoutMs, signal: tools.signal });
    return { ...ex, proxyProtocol: proxied };
  },
  judge(ex, ctx) {
    const host = ctx.target.domain;
    const proxied = ex.proxyProtocol;
    if (ex.error && proxied && !proxied.error && proxied.status !== undefined)
      return proxyProtocolJudgement(ex, proxied, ctx.httpPort, host);
    const controller = detectController([ex]);
    const base = { host, ...(controller ? { controller } : {}) };
    if (ex.error) {
      const alsoProxied = proxied?.error ? `; after a PROXY protocol header too: ${proxied.error.message}` : '';
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_NO_REDIRECT',
        message: `nothing answers plain HTTP on ${ex.address}:${ctx.httpPort}: ${ex.error.message}${alsoProxied}`,
      };
    }
    const r = redirectOf(ex, host);
    if (r.ok) return { ...base, status: 'pass', message: r.text };
    return { ...base, status: 'fail', code: 'HTTP_NO_REDIRECT', message: r.text };
  },
};

/** Whether an answer redirects http://<d>/ to https://<d>/, and what it did in words. */
function redirectOf(ex: HttpExchange, host: string): { ok: boolean; text: string } {
  const location = ex.headers?.location ?? '';
  const redirect = [301, 302, 303, 307, 308].includes(ex.status ?? 0);
  let target: URL | undefined;
  try {
    target = new URL(location, ex.url);
  } catch {
    target = undefined;
  }
  if (redirect && target?.protocol === 'https:' && target.hostname === host)
    return { ok: true, text: `${ex.status} → ${target.origin}${target.pathname}` };
  if (redirect)
    return {
      ok: false,
      text: `http://${host}/ redirects to ${location || '(no Location)'}, not to https://${host}/`,
    };
  return { ok: false, text: `http://${host}/ answers ${ex.status} over plain HTTP instead of redirecting to https` };
}

/**
 * Port 80 answers only behind a PROXY protocol header: the cause is named, and whether the redirect itself works
 * once the header is sent (then the PROXY protocol fix is the whole fix).
 */
function proxyProtocolJudgement(ex: HttpExchange, proxied: ProxiedExchange, port: number, host: string): Judgement {
  const controller = detectController([proxied]);
  const how = ex.error?.code === 'UND_ERR_SOCKET' ? 'closes' : 'resets';
  const behind = redirectOf(proxied, host);
  const cause =
    `${ex.address}:${port} ${how} the connection without an answer as soon as the request for http://${host}/ ` +
    `arrives, and answers only after a PROXY protocol v1 header: the ingress expects PROXY protocol and the load ` +
    `balancer in front does not send it`;
  return {
    host,
    ...(controller ? { controller } : {}),
    status: 'fail',
    code: 'HTTP_NO_REDIRECT',
    message: behind.ok
      ? `${cause}; the redirect itself is fine once PROXY protocol is sent (${behind.text})`
      : `${cause}; behind the header ${behind.text}`,
    fix: formatFix(PROXY_PROTOCOL_FIX, controller),
    // A redirect that works behind the header needs nothing but the PROXY protocol fix.
    ...(behind.ok ? { replacesFix: true } : {}),
  };
}

export default check;
