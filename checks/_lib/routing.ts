// What the http, ws, sse and hold checks share: where to connect, what a certificate problem does not block,
// who answered (the responder's identity or the platform's own fingerprints) and which proxy said it.
import net from 'node:net';
import { inert } from '../../src/inert.js';
import type { Controller, Need, Role, RunContext, Upstream } from '../../src/model.js';
import type { HttpExchange } from '../../src/probes/http.js';
import { evidenceOf, type Fingerprint, type ResponderIdentity } from './evidence.js';

/** Certificate findings that still leave a working TLS session: routing can and should be judged anyway. */
export const CERT_CODES = [
  'TLS_UNTRUSTED',
  'TLS_SELF_SIGNED',
  'TLS_INCOMPLETE_CHAIN',
  'TLS_NAME_MISMATCH',
  'TLS_DEFAULT_CERT',
  'TLS_EXPIRED',
  'TLS_NOT_YET_VALID',
] as const;

/** Routing problems that leave the host answering, so a WebSocket or stream test still means something. */
export const SOFT_HTTP_CODES = ['HTTP_CONFIG_MISMATCH', 'HTTP_HOST_REWRITTEN', 'HTTP_WRONG_SERVICE'] as const;

export const WELL_KNOWN = '/.well-known/nap-verify';

/** The DNS check whose answer gives a role's address: none with --ingress-ip or a NodePort install on an IP. */
export function dnsCheckFor(ctx: RunContext, role: Role): `dns.${Role}` | undefined {
  if (ctx.target.ingressIp) return undefined;
  if (ctx.mode === 'nodeport') return net.isIP(ctx.target.domain) ? undefined : 'dns.main';
  return `dns.${role}`;
}

/** The prerequisites of anything that talks HTTP to a role's host. */
export function transportNeeds(ctx: RunContext, role: Role): Need[] {
  const dns = dnsCheckFor(ctx, role);
  if (ctx.mode === 'nodeport') return dns ? [dns] : [];
  return [...(dns ? [dns] : []), { id: `tls.${role}`, tolerate: CERT_CODES }];
}

export const dnsAfter = (ctx: RunContext, role: Role): string[] => {
  const dns = dnsCheckFor(ctx, role);
  return dns ? [dns] : [];
};

/** Roles that exist only behind an ingress: NodePort installs have no files host and no preview wildcard. */
export function ingressOnly(ctx: RunContext, what: string): true | string {
  return ctx.mode === 'nodeport' ? `NodePort mode: ${what}` : true;
}

export function addressFor(ctx: RunContext, role: Role, up: Upstream): string {
  if (ctx.target.ingressIp) return ctx.target.ingressIp;
  const dnsId = dnsCheckFor(ctx, role);
  if (!dnsId) return ctx.target.domain;
  const dns = evidenceOf(up, dnsId);
  const list = dns?.connectAddresses ?? [];
  // The address that answered (dns.* races them, as browsers do); IPv4 first as before when nothing was raced.
  const address = dns?.connectAddress ?? list.find((a) => !a.includes(':')) ?? list[0];
  if (!address) throw new Error(`no address for ${ctx.target.hosts[role]}`);
  return address;
}

export function originFor(ctx: RunContext, role: Role, scheme: 'https' | 'wss' = 'https'): string {
  if (ctx.mode === 'nodeport' && ctx.nodePorts) {
    const port =
      role === 'browsers' ? ctx.nodePorts.browsers : role === 'sandbox' ? ctx.nodePorts.sandbox : ctx.nodePorts.main;
    const host = ctx.target.domain.includes(':') ? `[${ctx.target.domain}]` : ctx.target.domain;
    return `${scheme === 'https' ? 'http' : 'ws'}://${host}:${port}`;
  }
  const port = ctx.httpsPort === 443 ? '' : `:${ctx.httpsPort}`;
  return `${scheme}://${ctx.target.hosts[role]}${port}`;
}

export function parseJson(body: string | undefined): Record<string, unknown> | undefined {
  if (!body) return undefined;
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function responderIdentity(ex: HttpExchange | undefined): ResponderIdentity | undefined {
  if (ex?.status !== 200) return undefined;
  const j = parseJson(ex.body);
  if (j?.protocol !== 1 || typeof j.service !== 'string') return undefined;
  return {
    service: j.service,
    host: typeof j.host === 'string' ? j.host : null,
    forwardedProto: typeof j.forwardedProto === 'string' ? j.forwardedProto : null,
    protocol: 1,
  };
}

export const EXPECTED: Record<Role, Fingerprint> = {
  main: 'nap-cp',
  files: 'files',
  browsers: 'nap-browser',
  sandbox: 'nap-sandbox',
  preview: 'preview',
};
export const SERVICE_OF: Record<Fingerprint, string> = {
  'nap-cp': 'nap-cp',
  files: 'nap-cp',
  'nap-browser': 'nap-browser',
  'nap-sandbox': 'nap-sandbox',
  preview: 'nap-sandbox',
};

/** The web UI's `<title>`, when a host answers its root with HTML. */
export function htmlTitle(ex: HttpExchange | undefined): string | undefined {
  if (ex?.status !== 200 || !/^text\/html/.test(ex.headers?.['content-type'] ?? '')) return undefined;
  return /<title>([^<]*)<\/title>/i.exec(ex.body ?? '')?.[1]?.trim();
}

/**
 * Which service answered, by spec §1's table of what the platform answers without credentials. nap-browser's
 * /api/config is behind its auth middleware (401), nap-sandbox's is public; both serve their web UI on `/`.
 */
export function fingerprint(ex: Record<string, HttpExchange | undefined>): Fingerprint | undefined {
  const root = ex['/'];
  const rootJson = parseJson(root?.body);
  if (root?.status === 400 && rootJson?.error === 'Invalid preview subdomain') return 'preview';
  if (
    root?.status === 404 &&
    root.body?.trim() === 'Not found' &&
    /^text\/plain/.test(root.headers?.['content-type'] ?? '')
  )
    return 'files';
  const config = ex['/api/config'];
  const configJson = parseJson(config?.body);
  const health = ex['/health']?.status === 200 ? parseJson(ex['/health']?.body) : undefined;
  const title = htmlTitle(root);
  if (
    (config?.status === 200 && typeof configJson?.napUrl === 'string' && 'sandboxDomain' in configJson) ||
    title === 'Sandboxes'
  )
    return 'nap-sandbox';
  // nap-cp before nap-browser: its /api/* may well answer 401 too, but only nap-cp has /healthz and / → /login.
  const healthz = ex['/healthz']?.status === 200 ? parseJson(ex['/healthz']?.body) : undefined;
  if (healthz?.status === 'ok' || (root?.status === 302 && /\/login$/.test(root.headers?.location ?? '')))
    return 'nap-cp';
  if (
    (health?.status === 'ok' && config?.status === 401 && configJson?.error === 'Unauthorized') ||
    title === 'Browsers'
  )
    return 'nap-browser';
  return undefined;
}

/** A URL's origin (scheme, host, port; default ports dropped), or undefined when it is no absolute URL. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? undefined : u.origin;
  } catch {
    return undefined;
  }
}

/** The values.env key that sets each role's public URL, and the origin the install must have been given. */
export const PUBLIC_URL_KEY: Partial<Record<Role, string>> = {
  main: 'WEB_PUBLIC_URL',
  browsers: 'BROWSER_PUBLIC_URL',
  sandbox: 'SANDBOX_PUBLIC_URL',
};

export function expectedPublicOrigin(ctx: RunContext, role: Role): string {
  return originOf(originFor(ctx, role))!;
}

// RFC 9110's token, and the shape of a Server header: product[/version], then more products or (comments).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const PRODUCTS = new RegExp(`^(${TOKEN})(?:/(${TOKEN}))?(?: +(?:${TOKEN}(?:/${TOKEN})?|\\([^()\\\\<>]*\\)))*$`);
// One Via entry: [protocol/]version, the hop that received it (a host or pseudonym), and an optional (comment).
const VIA_ENTRY = new RegExp(`^(?:${TOKEN}/)?${TOKEN} +([^ ,()\\\\<>]+)(?: +\\(([^()\\\\<>]*)\\))?$`);

/**
 * The first product a Server header names, lower-cased, with its version: `nginx` and `1.22.1` of
 * `nginx/1.22.1 (Ubuntu)`. Read from the header made inert and only from a well-formed one: `nginx<script>`, or a
 * header with an escape sequence in it, names no product rather than whatever it contains.
 */
export function serverProduct(header: string | undefined): { name: string; version?: string } | undefined {
  const h = inert(header ?? '').trim();
  const m = h.length <= 256 ? PRODUCTS.exec(h) : null;
  return m ? { name: m[1]!.toLowerCase(), ...(m[2] ? { version: m[2] } : {}) } : undefined;
}

/**
 * Whether a Via header names `name` as a hop (`1.1 varnish`) or as the hop's software (`1.1 cache-1 (Varnish/7.4)`),
 * entry by entry, read inert and only from well-formed entries.
 */
export function viaNames(via: string | undefined, name: string): boolean {
  const h = inert(via ?? '');
  if (h.length > 1024) return false;
  return h.split(',').some((entry) => {
    const m = VIA_ENTRY.exec(entry.trim());
    const by = m?.[1]?.toLowerCase();
    const software = m?.[2]?.toLowerCase().split('/')[0];
    return !!m && (by === name || software === name);
  });
}

/** Which ingress controller answered, from its Server header and the shape of its own error pages. */
export function detectController(
  exchanges: Array<{ headers?: Record<string, string>; body?: string } | undefined>,
): Controller | undefined {
  for (const ex of exchanges) {
    const product = serverProduct(ex?.headers?.server);
    const name = product?.name;
    if (name === 'istio-envoy') return 'istio';
    if (name === 'envoy') return 'contour';
    // ingress-nginx hides its version (server-tokens: false by default); a plain nginx shows it (server_tokens on).
    if (name === 'nginx') return /^\d/.test(product?.version ?? '') ? 'nginx' : 'ingress-nginx';
    if (name === 'traefik' || ex?.body?.trim() === '404 page not found') return 'traefik';
    if (name === 'haproxy' || /^No server is available to handle this request\.\r?$/m.test(ex?.body ?? ''))
      return 'haproxy';
  }
  return undefined;
}

/** The proxy's own 404 for a host it has no rule for, as opposed to the platform's 404s. */
export function isDefaultBackend(ex: HttpExchange | undefined): boolean {
  if (ex?.status !== 404) return false;
  const body = ex.body ?? '';
  const server = serverProduct(ex.headers?.server)?.name;
  return (
    /^default backend - 404$/im.test(body.trim()) ||
    /<hr><center>nginx(?:\/[\d.]+)?<\/center>/i.test(body) ||
    body.trim() === '404 page not found' ||
    ((server === 'envoy' || server === 'istio-envoy') && body.trim() === '')
  );
}
