// http.exposure: the platform serves Prometheus metrics on /metrics without credentials; the ingress should not.
import type { CheckDef } from '../src/model.js';
import { httpGet, type HttpExchange } from '../src/probes/http.js';
import { addressFor, detectController, dnsAfter, originFor, transportNeeds } from './_lib/routing.js';

function nodePortFix(port: number | undefined): string {
  const at = `NAP_HOST:${port ?? '<NAP_NODE_PORT>'}`;
  return (
    `NodePort mode has no ingress to deny one path: nap-cp serves /metrics on the same node port as the web UI ` +
    `(${at}). Limit who reaches that port — the node's firewall or cloud security group, or a NetworkPolicy on ` +
    "nap-cp that admits only your users' networks and the Prometheus scraper — or put an ingress in front " +
    '(INGRESS_MODE=external) and deny /metrics there.'
  );
}

const check: CheckDef<HttpExchange> = {
  meta: {
    id: 'http.exposure',
    area: 'http',
    title: 'No public /metrics',
    proves: 'https://<d>/metrics does not hand Prometheus metrics to anyone who asks.',
    codes: {
      HTTP_METRICS_PUBLIC: {
        status: 'warn',
        why:
          "nap-cp's /metrics is reachable from outside without credentials: it leaks internal names, counts " +
          'and versions.',
        fix: {
          general: 'Deny /metrics at the ingress (scrape it inside the cluster instead).',
          nginx: "In the server block: location = /metrics { return 404; } (or allow only the scraper's address).",
          'ingress-nginx':
            'Add a server-snippet `location = /metrics { return 404; }` or a separate Ingress for /metrics with ' +
            'an IP allow-list (nginx.ingress.kubernetes.io/whitelist-source-range).',
          contour: 'Add a route for prefix /metrics with a directResponsePolicy {statusCode: 404}.',
          traefik: 'Route PathPrefix(`/metrics`) to a middleware that denies it (ipAllowList).',
          istio: 'An AuthorizationPolicy denying paths ["/metrics"] on the ingress gateway.',
          haproxy: 'http-request deny if { path /metrics }.',
        },
      },
    },
  },
  needs: (ctx) => transportNeeds(ctx, 'main'),
  after: (ctx) => dnsAfter(ctx, 'main'),
  gather(ctx, up, tools) {
    return httpGet({
      url: `${originFor(ctx, 'main')}/metrics`,
      address: addressFor(ctx, 'main', up),
      timeoutMs: ctx.timeoutMs,
      signal: tools.signal,
      maxBody: 2048,
    });
  },
  judge(ex, ctx) {
    const host = ctx.target.domain;
    const controller = detectController([ex]);
    const base = { host, ...(controller ? { controller } : {}) };
    if (ex.error) return { ...base, status: 'skip', message: `no answer for /metrics: ${ex.error.message}` };
    if (ex.status === 200 && /^# (HELP|TYPE) /m.test(ex.body ?? ''))
      return {
        ...base,
        status: 'warn',
        code: 'HTTP_METRICS_PUBLIC',
        message: `${ex.url} is public: 200 with Prometheus metrics`,
        // NodePort mode has no ingress to deny a path on: the node port serves /metrics beside the web UI.
        ...(ctx.mode === 'nodeport' ? { fix: nodePortFix(ctx.nodePorts?.main), replacesFix: true } : {}),
      };
    const location = ex.headers?.location;
    if (ex.status !== undefined && ex.status >= 300 && ex.status < 400 && location) {
      const to = location.replace(/^https?:\/\/[^/]+/i, '').replace(/\?.*$/, '') || location;
      return {
        ...base,
        status: 'pass',
        message: `/metrics redirects to ${to}${/login|auth/i.test(location) ? ' (not public)' : ''}`,
      };
    }
    const notPublic = ex.status === 401 || ex.status === 403 || ex.status === 404 ? ' (not public)' : '';
    return { ...base, status: 'pass', message: `/metrics answers ${ex.status}${notPublic}` };
  },
};

export default check;
