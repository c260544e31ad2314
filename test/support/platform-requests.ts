// Every request a check sends to a NAP service to identify or judge it, plus the rows of spec §1 and the answers
// ../shared/platform/README.md measured: ONE list, which test/conformance.test.ts sends to the real platform and to
// `nap-verify serve` and compares. A new check request belongs here (the test greps the check sources for path
// literals and fails on one it does not find below).
import { HTTP_PATHS } from '../../checks/_lib/http-role.js';
import { WELL_KNOWN } from '../../checks/_lib/routing.js';

/** The service port a request reaches: the role's own service, or another one when a route points wrong. */
export type PlatformService = 'cp' | 'browser' | 'sandbox';

export interface PlatformRequest {
  /** Unique and readable: host, method, path, and the service it reached when that is not the host's own. */
  id: string;
  /** Which check sends it (or the spec row / measurement it comes from). */
  by: string;
  /** Tells apart two requests of one host, method and path (different headers). */
  tag?: string;
  service: PlatformService;
  /** The Host header as the service receives it. */
  host: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** A WebSocket upgrade (HTTP/1.1: what an ingress sends upstream for a browser's or a check's WebSocket). */
  upgrade?: true;
  /**
   * A spec §7 path of the responder (`/.well-known/nap-verify*`): the responder answers it with its protocol, so
   * it is compared with the platform only when the responder runs `--fingerprints-only`.
   */
  responderProtocol?: true;
}

/** A preview label as dns.preview makes them (src/target.ts previewLabel: `nvf` + 10 hex, no hyphen). */
export const PREVIEW_LABEL = 'nvf0a1b2c3d4e';

/**
 * Path literals in checks/*.ts, checks/_lib/*.ts and src/kit/browser-page.ts that are no request to a service:
 * each with the reason. Every other path literal there must be the path (or a prefix of the path) of a request below.
 */
export const NOT_REQUESTS: Record<string, string> = {
  '/oauth/authorize': 'http.oauth: the path the login redirect must name, read from a Location',
  '/api/auth/callback': 'http.oauth: the redirect_uri path the login redirect must carry, read from a Location',
  '/udp': 'turn.relay: text of a remediation (49152-49252/udp), not a path',
  // HTTP_AUTH_GATE's fix lists <d>'s public paths to exempt from a gate (checks/_lib/front.ts); none is requested.
  '/sk/': 'HTTP_AUTH_GATE: a public path to exempt from a gate, named in the fix',
  '/.well-known/agent-skills': 'HTTP_AUTH_GATE: a public path to exempt from a gate, named in the fix',
  '/env/v1/': 'HTTP_AUTH_GATE: a public path to exempt from a gate, named in the fix',
};

export function platformRequests(d: string): PlatformRequest[] {
  const HOSTS = {
    main: d,
    files: `files.${d}`,
    browsers: `browsers.${d}`,
    sandbox: `sandbox.${d}`,
    preview: `${PREVIEW_LABEL}.sandbox.${d}`,
  };
  const OWN: Record<keyof typeof HOSTS, PlatformService> = {
    main: 'cp',
    files: 'cp',
    browsers: 'browser',
    sandbox: 'sandbox',
    preview: 'sandbox',
  };
  const out: PlatformRequest[] = [];
  const add = (r: Omit<PlatformRequest, 'id' | 'method'> & { method?: string }) => {
    const method = r.method ?? 'GET';
    const own = Object.entries(HOSTS).find(([, h]) => h === r.host.replace(/:\d+$/, ''))?.[0] as
      | keyof typeof HOSTS
      | undefined;
    const via = own && OWN[own] !== r.service ? ` → ${r.service}` : '';
    const id = `${r.host} ${r.upgrade ? 'UPGRADE' : method} ${r.path}${via}${r.tag ? ` (${r.tag})` : ''}`;
    const same = out.find((o) => o.id === id);
    if (same) {
      // The same request sent for several reasons: one entry naming each; a different one needs a tag of its own.
      const { by: _a, ...was } = same;
      const { by: _b, ...now } = { ...r, id, method, ...(same.responderProtocol ? { responderProtocol: true } : {}) };
      if (JSON.stringify(was) !== JSON.stringify(now)) throw new Error(`two different requests are ${id}: tag one`);
      if (!same.by.includes(r.by)) same.by = `${same.by}; ${r.by}`;
      return;
    }
    out.push({
      ...r,
      id,
      method,
      ...(r.path.startsWith(WELL_KNOWN) ? { responderProtocol: true as const } : {}),
    });
  };

  // http.<role> (checks/_lib/http-role.ts HTTP_PATHS) asks every host the same questions, so that a host routed to
  // the wrong service is recognised as which one: each host to each service (right and wrong routes). http.coalesce
  // sends the same paths over HTTP/2 (the ingress forwards them as these); net.addresses sends the health path of
  // each role (/healthz, /health, /), or the responder's identity path, to every address: a subset.
  for (const [role, host] of Object.entries(HOSTS))
    for (const service of ['cp', 'browser', 'sandbox'] as const)
      for (const path of HTTP_PATHS) add({ by: `http.${role}, http.coalesce, net.addresses`, service, host, path });
  // An ingress that rewrites Host (ingress-nginx upstream-vhost, Istio authority rewrite): HTTP_HOST_REWRITTEN.
  for (const [service, port] of [
    ['cp', 3000],
    ['browser', 3005],
    ['sandbox', 3006],
  ] as const) {
    const host = `nap-${service}.nap.svc.cluster.local:${port}`;
    for (const path of HTTP_PATHS) add({ by: 'http.<role> (Host rewritten by the ingress)', service, host, path });
  }
  // An ingress that forwards the port in Host (the client's Host with --https-port): files and previews route on it.
  for (const role of ['main', 'files', 'preview'] as const)
    for (const path of ['/', '/health', '/healthz'])
      add({ by: `http.${role} (Host with a port)`, service: OWN[role], host: `${HOSTS[role]}:8443`, path });
  // kit browser-check (src/kit/browser-page.ts reach()): a no-cors fetch of /?nap-verify=<8 hex> on every host.
  for (const [role, host] of Object.entries(HOSTS))
    add({
      by: 'kit browser-check tls.*',
      service: OWN[role as keyof typeof HOSTS],
      host,
      path: '/?nap-verify=0a1b2c3d',
    });

  // http.exposure: /metrics on <d> (spec §1: 200 Prometheus text, public).
  add({ by: 'http.exposure', service: 'cp', host: HOSTS.main, path: '/metrics' });
  // http.redirect: GET / over plain HTTP; an ingress that does not redirect passes it on with X-Forwarded-Proto http.
  add({
    by: 'http.redirect (an ingress that passes plain HTTP on)',
    tag: 'X-Forwarded-Proto: http',
    service: 'cp',
    host: HOSTS.main,
    path: '/',
    headers: { 'X-Forwarded-Proto': 'http' },
  });
  // http.oauth: the login redirect on browsers and sandbox (§1); on <d> GET /api/auth/login is 404 (README).
  for (const role of ['browsers', 'sandbox', 'main'] as const)
    add({ by: 'http.oauth; spec §1', service: OWN[role], host: HOSTS[role], path: '/api/auth/login' });
  // env.clock reads the Date header of http.main's answers (compared on every answer below).

  // ws.<role> and ws.h2: /env-gateway on <d> without the responder (101, then 1008), the responder's WebSocket on
  // every host with it; kit browser-check opens both from a browser.
  add({
    by: 'ws.main, ws.h2, kit browser-check ws.main; spec §1',
    service: 'cp',
    host: HOSTS.main,
    path: '/env-gateway',
    upgrade: true,
  });
  for (const [role, host] of Object.entries(HOSTS))
    add({
      by: `ws.${role}, ws.h2, hold.ws.${role}, kit browser-check`,
      service: OWN[role as keyof typeof HOSTS],
      host,
      path: `${WELL_KNOWN}/ws`,
      upgrade: true,
    });
  // ws.<role>: when the upgrade is not answered with 101, a plain GET of the same path tells a service that never saw
  // the Upgrade header (checks/_lib/ws-role.ts).
  add({ by: 'ws.main (plain GET of the upgrade path)', service: 'cp', host: HOSTS.main, path: '/env-gateway' });
  for (const [role, host] of Object.entries(HOSTS))
    add({
      by: `ws.${role} (plain GET of the upgrade path)`,
      service: OWN[role as keyof typeof HOSTS],
      host,
      path: `${WELL_KNOWN}/ws`,
    });
  // Upgrades no route takes (spec §1, README): on <d> an HTTP 302 status line; elsewhere the socket is destroyed.
  for (const [role, host] of Object.entries(HOSTS))
    add({ by: 'spec §1 (upgrades), README', service: OWN[role as keyof typeof HOSTS], host, path: '/', upgrade: true });
  add({ by: 'README (upgrades)', service: 'cp', host: HOSTS.main, path: '/api/config', upgrade: true });
  add({
    by: 'spec §1 (a preview with a port)',
    service: 'sandbox',
    host: `0123abcd-8080.sandbox.${d}`,
    path: '/',
    upgrade: true,
  });

  // sse.main, hold.sse.main, hold.wait.*: the responder's streams (spec §7); a platform without it answers them as
  // any other path.
  add({ by: 'sse.main', service: 'cp', host: HOSTS.main, path: `${WELL_KNOWN}/sse?hold=1&gap=100` });
  add({ by: 'hold.sse.main', service: 'cp', host: HOSTS.main, path: `${WELL_KNOWN}/sse?hold=75&beat=1` });
  for (const role of ['main', 'sandbox'] as const)
    add({ by: `hold.wait.${role}`, service: OWN[role], host: HOSTS[role], path: `${WELL_KNOWN}/wait?after=75` });

  // Spec §3: paths of <d> the platform's own pods and clients call without a session (a gate there is a fail).
  for (const path of ['/mcp', '/s/nvf0a1b2c3d4e', '/api/shares/public/nvf0a1b2c3d4e', '/api/oauth/userinfo'])
    add({ by: 'spec §3 (public paths of <d>)', service: 'cp', host: HOSTS.main, path });

  // Spec §1, the rows no check above sends yet.
  add({ by: 'spec §1', service: 'cp', host: HOSTS.main, path: '/api/version' });
  add({ by: 'spec §1', service: 'cp', host: HOSTS.main, path: '/login' });
  add({
    by: 'spec §1, §3 (public path of <d>: an auth gate there is a fail)',
    service: 'cp',
    host: HOSTS.main,
    method: 'POST',
    path: '/api/oauth/token',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  for (const method of ['GET', 'POST'])
    add({
      by: 'spec §1 (any other /api/* without a session, POST included)',
      service: 'cp',
      host: HOSTS.main,
      method,
      path: '/api/workspaces',
      ...(method === 'POST' ? { headers: { 'Content-Type': 'application/json' }, body: '{}' } : {}),
    });
  // http.upload without the responder (spec §3): a header-only POST with Expect: 100-continue to an authenticated
  // /api/… path; 100 Continue, 401 before the body is read, then the connection is closed (README).
  add({
    by: 'http.upload (no responder); spec §3, README',
    tag: 'Expect: 100-continue, no body',
    service: 'cp',
    host: HOSTS.main,
    method: 'POST',
    path: '/api/workspaces/nap-verify/chat',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '104857600', Expect: '100-continue' },
  });
  add({
    by: 'http.upload (no responder) on sandbox.<d>; spec §3',
    tag: 'Expect: 100-continue, no body',
    service: 'sandbox',
    host: HOSTS.sandbox,
    method: 'POST',
    path: '/api/sandboxes/nap-verify/files',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '104857600', Expect: '100-continue' },
  });
  // http.upload with the responder: its own §7 upload path, header-only (the real body goes there too).
  for (const role of ['main', 'sandbox'] as const)
    add({
      by: 'http.upload (responder)',
      tag: 'Expect: 100-continue, no body',
      service: OWN[role],
      host: HOSTS[role],
      method: 'POST',
      path: `${WELL_KNOWN}/upload`,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '104857600', Expect: '100-continue' },
    });
  add({ by: 'spec §1', service: 'cp', host: HOSTS.files, path: '/exp_AAAAAAAAAAAAAAAAAAAAAA/x.txt' });
  for (const path of ['/exp_AAAAAAAAAAAAAAAAAAAAAA', '/session/exp_AAAAAAAAAAAAAAAAAAAAAA', '/a/b/c.txt'])
    add({ by: 'README (files: every GET /<seg> is a token lookup)', service: 'cp', host: HOSTS.files, path });
  for (const method of ['POST', 'PUT', 'HEAD'])
    for (const path of ['/', '/exp_AAAAAAAAAAAAAAAAAAAAAA/x.txt'])
      add({ by: 'README (files: non-GET is Not found)', service: 'cp', host: HOSTS.files, method, path });
  for (const path of ['/api/docs', '/api/docs/openapi.json', '/api/browsers'])
    add({ by: 'README (browsers /api/*)', service: 'browser', host: HOSTS.browsers, path });
  for (const path of ['/api/docs', '/api/docs/openapi.json', '/api/sandboxes', '/api'])
    add({ by: 'README (sandbox /api/*)', service: 'sandbox', host: HOSTS.sandbox, path });
  for (const method of ['POST', 'PUT', 'DELETE'])
    for (const [role, path] of [
      ['sandbox', '/'],
      ['sandbox', '/x'],
      ['browsers', '/'],
      ['main', '/x'],
    ] as const)
      add({ by: 'README (non-GET outside /api)', service: OWN[role], host: HOSTS[role], method, path });
  for (const path of ['/health', '/x/y?z=1', '/.well-known/nap-verify?x=1'])
    add({ by: 'README (/login?next=<path>)', service: 'cp', host: HOSTS.main, path });

  // Preview labels (spec §1): no numeric -<port> suffix → 400, a port → 502 with no sandbox behind it; the platform
  // takes the text after the last hyphen with parseInt and wants 1–65535 and an id before it.
  for (const label of [
    PREVIEW_LABEL,
    '0123abcd-8080',
    'nvf-0a1b',
    '-8080',
    'abc-0',
    'abc-65535',
    'abc-65536',
    'abc-8080x',
    'a.b-8080',
    'abc-',
  ])
    for (const path of ['/', '/health', '/api/config'])
      add({ by: 'spec §1 (preview labels), dns.preview', service: 'sandbox', host: `${label}.sandbox.${d}`, path });
  for (const label of [PREVIEW_LABEL, '0123abcd-8080'])
    add({
      by: 'spec §1 (preview: non-GET)',
      service: 'sandbox',
      host: `${label}.sandbox.${d}`,
      method: 'POST',
      path: '/',
    });
  return out;
}
