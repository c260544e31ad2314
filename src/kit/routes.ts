// `kit routes`: the five routes of spec §1 for one ingress controller, with the platform's TLS secrets, WebSockets
// on and stream timeouts lifted — the translation of the platform's Contour example to each controller. Routes of an
// optional module that is off (--modules) are left out: a default install is nap-cp alone on <d> and files.<d>.
import type { ModuleChoice, Role } from '../model.js';
import { roleOn } from '../modules.js';

export const CONTROLLER_KINDS = ['contour', 'nginx', 'traefik', 'istio', 'gateway-api'] as const;
export type RouteController = (typeof CONTROLLER_KINDS)[number];

export const TLS_SECRET = 'nap-tls-cert';
export const WILDCARD_SECRET = 'nap-sandbox-tls-cert';

export interface Route {
  /** Short name for object names: main, files, browsers, sandbox, preview. */
  role: Role;
  host: string;
  service: string;
  port: number;
  secret: string;
  /** Streams (WebSocket/SSE) go over it: lift timeouts, enable WebSockets. */
  streaming: boolean;
}

/** The routes of the modules that are on (all of them when no choice was made); nap-cp's two always. */
export function platformRoutes(domain: string, suffix?: string, modules?: ModuleChoice): Route[] {
  const svc = (s: string) => (suffix ? `${s}-${suffix}` : s);
  const all: Route[] = [
    { role: 'main', host: domain, service: svc('nap-cp'), port: 3000, secret: TLS_SECRET, streaming: true },
    {
      role: 'files',
      host: `files.${domain}`,
      service: svc('nap-cp'),
      port: 3000,
      secret: TLS_SECRET,
      streaming: false,
    },
    {
      role: 'browsers',
      host: `browsers.${domain}`,
      service: svc('nap-browser'),
      port: 3005,
      secret: TLS_SECRET,
      streaming: true,
    },
    {
      role: 'sandbox',
      host: `sandbox.${domain}`,
      service: svc('nap-sandbox'),
      port: 3006,
      secret: TLS_SECRET,
      streaming: true,
    },
    {
      role: 'preview',
      host: `*.sandbox.${domain}`,
      service: svc('nap-sandbox'),
      port: 3006,
      secret: WILDCARD_SECRET,
      streaming: true,
    },
  ];
  return all.filter((r) => roleOn(modules, r.role));
}

type Obj = Record<string, unknown>;
const meta = (name: string, namespace: string, extra: Obj = {}) => ({
  name,
  namespace,
  labels: { 'app.kubernetes.io/managed-by': 'nap-verify' },
  ...extra,
});

function contour(routes: Route[], ns: string): Obj[] {
  return routes.map((r) => ({
    apiVersion: 'projectcontour.io/v1',
    kind: 'HTTPProxy',
    metadata: meta(`nap-${r.role}`, ns),
    spec: {
      virtualhost: { fqdn: r.host, tls: { secretName: r.secret } },
      routes: [
        {
          // Envoy's 15 s route timeout would cut every stream: lift it everywhere, files included.
          timeoutPolicy: { response: 'infinity', idle: 'infinity' },
          ...(r.streaming ? { enableWebsockets: true } : {}),
          services: [{ name: r.service, port: r.port }],
        },
      ],
    },
  }));
}

function nginx(routes: Route[], ns: string): Obj[] {
  // One Ingress per certificate: the four names share nap-tls-cert, the wildcard has its own.
  const groups: Array<[string, Route[]]> = [
    ['nap', routes.filter((r) => r.secret === TLS_SECRET)],
    ['nap-sandbox-preview', routes.filter((r) => r.secret === WILDCARD_SECRET)],
  ];
  // Without the Sandbox module there is no wildcard, so no second Ingress.
  return groups
    .filter(([, rs]) => rs.length)
    .map(([name, rs]) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(name, ns, {
        annotations: {
          'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
          'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
          'nginx.ingress.kubernetes.io/proxy-body-size': '0',
        },
      }),
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: rs.map((r) => r.host), secretName: rs[0]!.secret }],
        rules: rs.map((r) => ({
          host: r.host,
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: r.service, port: { number: r.port } } } },
            ],
          },
        })),
      },
    }));
}

function traefik(routes: Route[], ns: string): Obj[] {
  const transport = {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'ServersTransport',
    metadata: meta('nap-streams', ns),
    spec: { forwardingTimeouts: { responseHeaderTimeout: '0s', idleConnTimeout: '3600s' } },
  };
  return [
    transport,
    ...routes.map((r) => ({
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRoute',
      metadata: meta(`nap-${r.role}`, ns, {
        annotations: {
          'nap-verify/entrypoint-note':
            'Traefik >= 2.11 cuts reads after 60 s at the entryPoint: set ' +
            '--entryPoints.websecure.transport.respondingTimeouts.readTimeout=0 in the static configuration',
        },
      }),
      spec: {
        entryPoints: ['websecure'],
        routes: [
          {
            kind: 'Rule',
            match: r.host.startsWith('*.')
              ? `HostRegexp(\`^[a-z0-9-]+\\.${r.host.slice(2).replace(/\./g, '\\.')}$\`)`
              : `Host(\`${r.host}\`)`,
            services: [{ name: r.service, port: r.port, serversTransport: 'nap-streams' }],
          },
        ],
        tls: { secretName: r.secret },
      },
    })),
  ];
}

function istio(routes: Route[], ns: string): Obj[] {
  const gateway = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: meta('nap-gateway', ns),
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        // credentialName secrets live in the ingress gateway's namespace (usually istio-system).
        {
          port: { number: 443, name: 'https-nap', protocol: 'HTTPS' },
          tls: { mode: 'SIMPLE', credentialName: TLS_SECRET },
          hosts: routes.filter((r) => r.secret === TLS_SECRET).map((r) => r.host),
        },
        {
          port: { number: 443, name: 'https-preview', protocol: 'HTTPS' },
          tls: { mode: 'SIMPLE', credentialName: WILDCARD_SECRET },
          hosts: routes.filter((r) => r.secret === WILDCARD_SECRET).map((r) => r.host),
        },
        {
          port: { number: 80, name: 'http', protocol: 'HTTP' },
          tls: { httpsRedirect: true },
          hosts: routes.map((r) => r.host),
        },
        // A server needs a host: without the Sandbox module there is no wildcard to serve.
      ].filter((x) => x.hosts.length),
    },
  };
  return [
    gateway,
    ...routes.map((r) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: meta(`nap-${r.role}`, ns),
      spec: {
        hosts: [r.host],
        gateways: ['nap-gateway'],
        http: [
          {
            timeout: '0s',
            route: [{ destination: { host: `${r.service}.${ns}.svc.cluster.local`, port: { number: r.port } } }],
          },
        ],
      },
    })),
  ];
}

function gatewayApi(routes: Route[], ns: string): Obj[] {
  const gateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: meta('nap-gateway', ns),
    spec: {
      gatewayClassName: 'REPLACE-with-your-GatewayClass',
      listeners: routes.map((r) => ({
        name: `https-${r.role}`,
        hostname: r.host,
        port: 443,
        protocol: 'HTTPS',
        tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: r.secret }] },
      })),
    },
  };
  return [
    gateway,
    ...routes.map((r) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta(`nap-${r.role}`, ns),
      spec: {
        parentRefs: [{ name: 'nap-gateway', sectionName: `https-${r.role}` }],
        hostnames: [r.host],
        // A zero duration disables the request timeout (Gateway API): long-lived streams stay up.
        rules: [{ timeouts: { request: '0s' }, backendRefs: [{ name: r.service, port: r.port }] }],
      },
    })),
  ];
}

export function routeObjects(
  controller: RouteController,
  domain: string,
  namespace: string,
  suffix?: string,
  modules?: ModuleChoice,
): Obj[] {
  const routes = platformRoutes(domain, suffix, modules);
  switch (controller) {
    case 'contour':
      return contour(routes, namespace);
    case 'nginx':
      return nginx(routes, namespace);
    case 'traefik':
      return traefik(routes, namespace);
    case 'istio':
      return istio(routes, namespace);
    case 'gateway-api':
      return gatewayApi(routes, namespace);
  }
}
