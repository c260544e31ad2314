// From a measured cut-off to the proxy that most likely made it, and the stream-timeout fix per controller.
// The defaults are the field's (see field-facts.md): a cut within a little of one of them names that layer.
import { inert } from '../../src/inert.js';
import type { Controller, Fix } from '../../src/model.js';
import type { StreamEnd } from '../../src/probes/hold-pair.js';

/** What a cut was: a limit on quiet time, on a stream's age whatever it carries, or not told apart. */
export type LimitKind = 'idle' | 'lifetime' | 'unknown';

interface KnownLimit {
  lo: number;
  hi: number;
  name: string;
  kind: 'idle' | 'lifetime';
  controller?: Controller;
}

const KNOWN: KnownLimit[] = [
  { lo: 13.5, hi: 16.5, kind: 'lifetime', name: 'Envoy/Contour route timeout (15 s default)', controller: 'contour' },
  { lo: 28, hi: 32, kind: 'lifetime', name: 'GCP load balancer backend timeout (30 s default)' },
  { lo: 28, hi: 32, kind: 'idle', name: 'OpenShift router timeout (30 s default)' },
  {
    lo: 48,
    hi: 52,
    kind: 'idle',
    name: 'HAProxy ingress timeout-client/timeout-server (50 s default)',
    controller: 'haproxy',
  },
  {
    lo: 58,
    hi: 62,
    kind: 'idle',
    name: 'ingress-nginx proxy-read-timeout, AWS ALB idle timeout or Traefik ≥ 2.11 readTimeout (60 s default)',
  },
  { lo: 98, hi: 126, kind: 'idle', name: 'Cloudflare proxy (100–120 s without bytes, HTTP 524)' },
  { lo: 290, hi: 310, kind: 'idle', name: 'Envoy stream idle timeout (5 min default)' },
  { lo: 595, hi: 605, kind: 'lifetime', name: 'Varnish send_timeout (600 s default)' },
];

const BY_CONTROLLER: Record<Controller, string> = {
  'ingress-nginx': 'nginx proxy_read_timeout (ingress-nginx proxy-read-timeout)',
  nginx: 'nginx proxy_read_timeout',
  contour: 'Envoy (Contour) timeoutPolicy',
  traefik: 'Traefik entryPoint readTimeout',
  istio: 'Envoy (Istio) route or stream idle timeout',
  haproxy: 'HAProxy timeout tunnel / timeout server',
};

/** Controllers whose own settings can cap a busy stream's age (the others only time out quiet ones). */
const LIFETIME_BY_CONTROLLER: Partial<Record<Controller, string>> = {
  contour: 'Envoy (Contour) timeoutPolicy.response',
  istio: 'Envoy (Istio) route timeout',
};

/**
 * The layer that most likely made a cut of `seconds`: for an idle limit the quiet time before the cut, for a
 * lifetime cap the age of the stream that carried data. Unknown names no setting it cannot support.
 */
export function culpritFor(
  seconds: number,
  controller?: Controller,
  end?: StreamEnd,
  kind: LimitKind = 'unknown',
): string {
  if (end?.how === 'http' && end.status === 524) return 'Cloudflare proxy (HTTP 524: no bytes for 100 s)';
  const about = seconds.toFixed(0);
  const fits = (k: KnownLimit) => seconds >= k.lo && seconds <= k.hi && (kind === 'unknown' || k.kind === kind);
  const known = KNOWN.filter(fits);
  if (known.length && controller === 'ingress-nginx' && known.some((k) => k.name.startsWith('ingress-nginx')))
    return 'ingress-nginx proxy-read-timeout (60 s default)';
  if (known.length && controller === 'nginx' && known.some((k) => k.name.startsWith('ingress-nginx')))
    return 'nginx proxy_read_timeout (60 s default)';
  const named = known.filter((k) => !controller || !k.controller || k.controller === controller);
  if (named.length) return named.map((k) => k.name).join(' or ');
  if (kind === 'lifetime') {
    const own = controller && LIFETIME_BY_CONTROLLER[controller];
    if (own) return `${own}, set to about ${about} s`;
    return (
      `a proxy on the path that caps streams at about ${about} s of age whatever they carry (a load ` +
      `balancer's backend timeout or a cache's send timeout${controller ? `, not ${controller}'s idle timeouts` : ''})`
    );
  }
  if (kind === 'idle') {
    if (controller) return `${BY_CONTROLLER[controller]}, set to about ${about} s`;
    return `a proxy or load balancer on the path with an idle timeout of about ${about} s`;
  }
  return `a proxy or load balancer on the path with a limit of about ${about} s`;
}

/** The fix for a lifetime cap: idle-timeout settings (proxy-read-timeout, timeout tunnel) do not cause it. */
export const LIFETIME_FIX =
  'A limit on how long a stream may live, not on how long it may be quiet, cuts busy streams too: raise the ' +
  'total-time limit of the layer that has one to 3600 s or more (GCP BackendConfig timeoutSec: 3600; Contour ' +
  'timeoutPolicy.response: infinity; Istio VirtualService timeout: 0s; Varnish send_timeout, and pipe_timeout ' +
  'for WebSockets). Idle timeouts such as proxy-read-timeout or timeout tunnel do not cause this.';

export const STREAM_TIMEOUT_FIX: Fix = {
  general:
    'Raise every stream timeout on the path to 3600 s or more (the platform asks for 3600 s or infinity): the ' +
    'ingress controller, and any cloud load balancer in front (AWS ALB idle_timeout.timeout_seconds=3600; GCP ' +
    'BackendConfig timeoutSec: 3600; Cloudflare: do not proxy the NAP hosts, or keep streams busy).',
  'ingress-nginx':
    'Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-read-timeout: "3600" and ' +
    'nginx.ingress.kubernetes.io/proxy-send-timeout: "3600".',
  nginx:
    'In the location that proxies NAP: proxy_read_timeout 3600s; proxy_send_timeout 3600s; (and proxy_buffering ' +
    'off; for SSE).',
  contour: 'On each HTTPProxy route: timeoutPolicy: {response: infinity, idle: infinity} and enableWebsockets: true.',
  traefik:
    'Set entryPoints.<name>.transport.respondingTimeouts.readTimeout=0 (Traefik ≥ 2.11 defaults to 60 s) and ' +
    'raise idleTimeout.',
  istio:
    "Set timeout: 0s on the VirtualService route (and raise the gateway's stream_idle_timeout if streams go " +
    'quiet for 5 min).',
  haproxy:
    'timeout tunnel 1h (WebSockets) and timeout server 1h (SSE); on the HAProxy ingress, annotations ' +
    'timeout-tunnel and timeout-server.',
};

export function describeEnd(end: StreamEnd): string {
  switch (end.how) {
    case 'survived':
      return 'still open';
    case 'close':
      return `close ${end.code}${end.reason ? ` "${inert(end.reason)}"` : ''}${end.fin ? ' after FIN' : ''}`;
    case 'http':
      return `HTTP ${end.status}`;
    default:
      // The close reason and a socket's error are the server's words: inert (src/inert.ts).
      return `${end.how}: ${inert(end.detail)}`;
  }
}
