// http.redirect: someone typing the bare domain into a browser ends up on https.
import type { CheckDef } from '../src/model.js';
import { httpGet, type HttpExchange } from '../src/probes/http.js';
import { addressFor, detectController, dnsAfter, ingressOnly } from './_lib/routing.js';

const check: CheckDef<HttpExchange> = {
  meta: {
    id: 'http.redirect',
    area: 'http',
    title: 'Plain HTTP redirects to HTTPS',
    proves: 'http://<d>/ answers with a redirect to https://<d>/.',
    codes: {
      HTTP_NO_REDIRECT: {
        status: 'fail',
        why: 'Plain HTTP on <d> does not redirect to HTTPS: users typing the domain get an error or an insecure page.',
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
  gather(ctx, up, tools) {
    const port = ctx.httpPort === 80 ? '' : `:${ctx.httpPort}`;
    return httpGet({
      url: `http://${ctx.target.domain}${port}/`,
      address: addressFor(ctx, 'main', up),
      timeoutMs: ctx.timeoutMs,
      signal: tools.signal,
    });
  },
  judge(ex, ctx) {
    const host = ctx.target.domain;
    const controller = detectController([ex]);
    const base = { host, ...(controller ? { controller } : {}) };
    if (ex.error)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_NO_REDIRECT',
        message: `nothing answers plain HTTP on ${ex.address}:${ctx.httpPort}: ${ex.error.message}`,
      };
    const location = ex.headers?.location ?? '';
    const redirect = [301, 302, 303, 307, 308].includes(ex.status ?? 0);
    let target: URL | undefined;
    try {
      target = new URL(location, ex.url);
    } catch {
      target = undefined;
    }
    if (redirect && target?.protocol === 'https:' && target.hostname === host)
      return { ...base, status: 'pass', message: `${ex.status} → ${target.origin}${target.pathname}` };
    if (redirect)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_NO_REDIRECT',
        message: `http://${host}/ redirects to ${location || '(no Location)'}, not to https://${host}/`,
      };
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_NO_REDIRECT',
      message: `http://${host}/ answers ${ex.status} over plain HTTP instead of redirecting to https`,
    };
  },
};

export default check;
