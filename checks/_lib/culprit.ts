// From a measured cut-off to the proxy that most likely made it, and the stream-timeout fix per controller.
// The defaults are the field's (see field-facts.md): a cut within a little of one of them names that layer.
import type { Controller, Fix } from '../../src/model.js';
import type { StreamEnd } from '../../src/probes/ws.js';

interface KnownLimit {
  lo: number;
  hi: number;
  name: string;
  controller?: Controller;
}

const KNOWN: KnownLimit[] = [
  { lo: 13.5, hi: 16.5, name: 'Envoy/Contour route timeout (15 s default)', controller: 'contour' },
  { lo: 28, hi: 32, name: 'GCP load balancer backend timeout or OpenShift router (30 s default)' },
  { lo: 48, hi: 52, name: 'HAProxy ingress timeout-client/timeout-server (50 s default)', controller: 'haproxy' },
  { lo: 58, hi: 62, name: 'ingress-nginx proxy-read-timeout, AWS ALB idle timeout or Traefik ≥ 2.11 readTimeout (60 s default)' },
  { lo: 98, hi: 126, name: 'Cloudflare proxy (100–120 s without bytes, HTTP 524)' },
  { lo: 290, hi: 310, name: 'Envoy stream idle timeout (5 min default)' },
];

const BY_CONTROLLER: Record<Controller, string> = {
  'ingress-nginx': 'nginx proxy_read_timeout (ingress-nginx proxy-read-timeout)',
  contour: 'Envoy (Contour) timeoutPolicy',
  traefik: 'Traefik entryPoint readTimeout',
  istio: 'Envoy (Istio) route or stream idle timeout',
  haproxy: 'HAProxy timeout tunnel / timeout server',
};

export function culpritFor(seconds: number, controller?: Controller, end?: StreamEnd): string {
  if (end?.how === 'http' && end.status === 524) return 'Cloudflare proxy (HTTP 524: no bytes for 100 s)';
  const known = KNOWN.find((k) => seconds >= k.lo && seconds <= k.hi);
  if (known && controller && known.name.startsWith('ingress-nginx') && controller === 'ingress-nginx') return 'ingress-nginx proxy-read-timeout (60 s default)';
  if (known && (!controller || !known.controller || known.controller === controller)) return known.name;
  if (controller) return `${BY_CONTROLLER[controller]}, set to about ${seconds.toFixed(0)} s`;
  return `a proxy or load balancer on the path with a limit of about ${seconds.toFixed(0)} s`;
}

export const STREAM_TIMEOUT_FIX: Fix = {
  general: 'Raise every stream timeout on the path to 3600 s or more (the platform asks for 3600 s or infinity): the ingress controller, and any cloud load balancer in front (AWS ALB idle_timeout.timeout_seconds=3600; GCP BackendConfig timeoutSec: 3600; Cloudflare: do not proxy the NAP hosts, or keep streams busy).',
  'ingress-nginx': 'Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-read-timeout: "3600" and nginx.ingress.kubernetes.io/proxy-send-timeout: "3600".',
  contour: 'On each HTTPProxy route: timeoutPolicy: {response: infinity, idle: infinity} and enableWebsockets: true.',
  traefik: 'Set entryPoints.<name>.transport.respondingTimeouts.readTimeout=0 (Traefik ≥ 2.11 defaults to 60 s) and raise idleTimeout.',
  istio: 'Set timeout: 0s on the VirtualService route (and raise the gateway\'s stream_idle_timeout if streams go quiet for 5 min).',
  haproxy: 'timeout tunnel 1h (WebSockets) and timeout server 1h (SSE); on the HAProxy ingress, annotations timeout-tunnel and timeout-server.',
};

export function describeEnd(end: StreamEnd): string {
  switch (end.how) {
    case 'survived':
      return 'still open';
    case 'close':
      return `close ${end.code}${end.reason ? ` "${end.reason}"` : ''}${end.fin ? ' after FIN' : ''}`;
    case 'http':
      return `HTTP ${end.status}`;
    default:
      return `${end.how}: ${end.detail}`;
  }
}
