// http.coalesce: what browsers do with one certificate on one address (RFC 9113 §9.1.1): they reuse the HTTP/2
// connection opened for <d> for every other host the certificate covers and that resolves to the same address.
// An ingress that routes by SNI instead of :authority then answers those hosts from <d>'s service.
import { activeRoles } from '../src/modules.js';
import type { CheckDef, Judgement, Role } from '../src/model.js';
import { h2Requests, type H2Connection, type H2Exchange } from '../src/probes/h2.js';
import type { HttpExchange } from '../src/probes/http.js';
import { HTTP_PATHS } from './_lib/http-role.js';
import {
  addressFor,
  detectController,
  EXPECTED,
  fingerprint,
  responderIdentity,
  SERVICE_OF,
  transportNeeds,
  WELL_KNOWN,
} from './_lib/routing.js';
import { sanCovers } from './_lib/san.js';
import { evidenceOf, type Fingerprint } from './_lib/evidence.js';
import { causeOf, describeBlock } from './_lib/cause.js';

const OTHERS: Role[] = ['files', 'browsers', 'sandbox', 'preview'];

export interface CoalescedHost {
  role: Role;
  host: string;
  /** Why no request went to this host over the shared connection (a browser would not coalesce it either). */
  notCoalesced?: string;
  /**
   * Why this host was not asked although a browser might coalesce it: what failed before (no address, its own
   * route failing or skipped). Nothing is known of it here.
   */
  notAsked?: string;
  exchanges?: Record<string, H2Exchange>;
  /** Who answered on the shared connection. */
  service?: string;
  fingerprint?: Fingerprint;
  /** What the host's own connection (http.<role>) answered, to compare with. */
  direct?: { service?: string; fingerprint?: Fingerprint; rootStatus?: number };
}

export interface CoalesceEvidence {
  host: string;
  address: string;
  port: number;
  /**
   * What the server chose when offered h2 and http/1.1 on the connection to <d> (tls.main's, when no host was asked
   * and so no connection of this check's own was opened).
   */
  alpn?: string;
  connection?: H2Connection;
  hosts: CoalescedHost[];
  controller?: string;
}

/** The platform's answers as http-role's fingerprint() reads them, from h2 exchanges. */
const asHttp = (e: H2Exchange | undefined): HttpExchange | undefined =>
  e && {
    url: e.path,
    address: '',
    ms: 0,
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.headers ? { headers: e.headers } : {}),
    ...(e.body !== undefined ? { body: e.body } : {}),
    ...(e.error ? { error: { code: 'H2', message: e.error } } : {}),
  };

const H2_FIX = {
  general:
    'Route every request by its Host / :authority, not by the TLS SNI: over HTTP/2 a browser sends requests for ' +
    'several hosts on one connection. Or give each host its own certificate (then browsers do not coalesce).',
  'ingress-nginx':
    'ingress-nginx routes by Host; look for snippets or a TCP/SSL-passthrough in front that picks the backend by ' +
    'SNI (ssl-passthrough routes by SNI only).',
  contour:
    'Contour answers 421 for a request whose :authority differs from the SNI; Chrome and Firefox retry on a new ' +
    'connection, Safari does not (projectcontour/contour#5240). Give each host its own certificate/secret to ' +
    'stop coalescing, or serve the hosts from one HTTPProxy with one TLS secret per fqdn.',
  istio:
    "Envoy/Istio answer 404 for a host not on the connection's filter chain (istio/istio#13589): put all hosts " +
    'of the certificate in one Gateway server (one hosts list, one credentialName).',
  traefik: 'Traefik routes by Host; check for TCP routers with HostSNI rules in front of the HTTP routers.',
  haproxy:
    'Choose the backend by the Host header (`use_backend … if { req.hdr(host),field(1,:) -i <host> }`), not ' +
    '`ssl_fc_sni`; or `bind … alpn http/1.1` to stop offering HTTP/2.',
};

const check: CheckDef<CoalesceEvidence> = {
  meta: {
    id: 'http.coalesce',
    area: 'http',
    title: 'HTTP/2 connection reuse across hosts',
    proves:
      'Over ONE HTTP/2 connection opened to <d> (SNI <d>), a request with :authority = each other host that the ' +
      "same certificate covers and that resolves to the same address reaches that host's own service, as " +
      'browsers send them.',
    codes: {
      H2_MISROUTED: {
        status: 'fail',
        why:
          'A request for one host, sent on the HTTP/2 connection a browser opened for <d>, was answered by ' +
          'another service: the ingress routes by the TLS SNI (or connection) instead of the :authority/Host of ' +
          'each request. curl and other clients that never coalesce see nothing wrong.',
        fix: H2_FIX,
      },
      H2_MISDIRECTED: {
        status: 'warn',
        why:
          'The ingress answered 421 Misdirected Request to a coalesced request. Chrome and Firefox retry on a ' +
          'new connection; Safari does not and shows an error (projectcontour/contour#5240).',
        fix: H2_FIX,
      },
    },
  },
  appliesTo: (ctx) =>
    ctx.mode === 'nodeport' ? 'NodePort mode is plain HTTP: browsers use HTTP/2 only over TLS' : true,
  needs: (ctx) => transportNeeds(ctx, 'main'),
  after: (ctx) => {
    const others = activeRoles(ctx.modules, OTHERS);
    return [...(ctx.target.ingressIp ? [] : others.map((r) => `dns.${r}`)), ...others.map((r) => `http.${r}`)];
  },
  async gather(ctx, up, tools) {
    const host = ctx.target.domain;
    const address = addressFor(ctx, 'main', up);
    const port = ctx.httpsPort;
    const cert = evidenceOf(up, 'tls.main')?.chain?.[0];
    const hosts: CoalescedHost[] = activeRoles(ctx.modules, OTHERS).map((role) => {
      const h = ctx.target.hosts[role];
      const out: CoalescedHost = { role, host: h };
      if (!cert?.sans.some((s) => sanCovers(s, h)))
        return { ...out, notCoalesced: `the certificate of ${host} does not cover it` };
      if (!ctx.target.ingressIp) {
        const dns = evidenceOf(up, `dns.${role}`);
        const addrs = [...(dns?.connectAddresses ?? []), ...(dns?.dnsAddresses ?? [])];
        // No address at all is no answer from DNS, not an answer elsewhere: where it would go is unknown.
        if (!addrs.length) return { ...out, notAsked: causeOf(up, `dns.${role}`) };
        if (!addrs.includes(address)) return { ...out, notCoalesced: `it does not resolve to ${address}` };
      }
      const http = up.get(`http.${role}`);
      // A config mismatch (napUrl) is no routing fault: the host still answers as its own service.
      if (!http || http.status === 'skip') return { ...out, notAsked: causeOf(up, `http.${role}`) };
      if (http.code === 'HTTP_AUTH_GATE') return { ...out, notAsked: describeBlock(http) };
      if (http.status === 'fail' && http.code !== 'HTTP_CONFIG_MISMATCH')
        return { ...out, notAsked: `${describeBlock(http)}: its own route is judged there` };
      const ev = evidenceOf(up, `http.${role}`);
      if (ev)
        out.direct = {
          ...(ev.responder ? { service: ev.responder.service } : {}),
          ...(ev.fingerprint ? { fingerprint: ev.fingerprint } : {}),
          ...(ev.exchanges?.['/']?.status !== undefined ? { rootStatus: ev.exchanges['/'].status } : {}),
        };
      return out;
    });
    const ask = hosts.filter((h) => !h.notCoalesced && !h.notAsked);
    if (!ask.length) {
      // What <d> chose when tls.main offered h2 and http/1.1: without h2 there is nothing to coalesce anyway.
      const alpn = evidenceOf(up, 'tls.main')?.alpn;
      return { host, address, port, ...(alpn ? { alpn } : {}), hosts };
    }
    const authority = (h: string) => (port === 443 ? h : `${h}:${port}`);
    const { connection, exchanges } = await h2Requests(
      { host, address, port, timeoutMs: ctx.timeoutMs, signal: tools.signal },
      ask.flatMap((h) => HTTP_PATHS.map((path) => ({ authority: authority(h.host), path }))),
    );
    for (const h of ask) {
      const mine = exchanges.filter((e) => e.authority === authority(h.host));
      if (!mine.length) continue;
      h.exchanges = Object.fromEntries(mine.map((e) => [e.path, e]));
      const id = responderIdentity(asHttp(h.exchanges[WELL_KNOWN]));
      const fp = fingerprint(Object.fromEntries(mine.map((e) => [e.path, asHttp(e)])));
      if (id) h.service = id.service;
      if (fp) h.fingerprint = fp;
    }
    const controller = detectController(exchanges.map(asHttp));
    return {
      host,
      address,
      port,
      ...(connection.alpn ? { alpn: connection.alpn } : {}),
      connection,
      hosts,
      ...(controller ? { controller } : {}),
    };
  },
  judge(ev): Judgement {
    const where = `${ev.address.includes(':') ? `[${ev.address}]` : ev.address}:${ev.port}`;
    const base = { host: ev.host, ...(ev.controller ? { controller: ev.controller as Judgement['controller'] } : {}) };
    const asked = ev.hosts.filter((h) => !h.notCoalesced && !h.notAsked);
    const notAsked = ev.hosts.filter((h) => h.notAsked);
    const noH2 = (alpn: string | undefined) =>
      `${ev.host} at ${where} offers no HTTP/2 (ALPN ${alpn ?? 'none'}): browsers open one ` +
      `connection per host, nothing is coalesced`;
    const whyNot = (hs: CoalescedHost[]) => hs.map((h) => `${h.host} (${h.notCoalesced ?? h.notAsked})`).join(', ');
    if (!asked.length) {
      // Measured on tls.main's handshake: no HTTP/2, so no browser coalesces whatever the other hosts are.
      if (ev.alpn && ev.alpn !== 'h2') return { ...base, status: 'pass', message: noH2(ev.alpn) };
      // Hosts a browser might coalesce, not asked because something before failed: nothing was tested.
      if (notAsked.length)
        return {
          ...base,
          status: 'skip',
          message: `no host asked over the HTTP/2 connection to ${ev.host}: ${whyNot(ev.hosts)}`,
        };
      return {
        ...base,
        status: 'pass',
        message:
          `no other host shares the certificate and address of ${ev.host}: nothing for a browser to coalesce ` +
          `(${whyNot(ev.hosts)})`,
      };
    }
    const c = ev.connection;
    if (!c) return { ...base, status: 'skip', message: `no connection to ${ev.host} at ${where}` };
    if (c.error)
      return {
        ...base,
        status: 'skip',
        message: `no HTTP/2 session with ${ev.host} at ${where}: ${c.error} (tls.main judges the connection)`,
      };
    if (c.alpn !== 'h2') return { ...base, status: 'pass', message: noH2(c.alpn) };
    const names = asked.map((h) => h.host);
    for (const h of asked) {
      const ex = h.exchanges ?? {};
      const misdirected = Object.values(ex).find((e) => e.status === 421);
      if (misdirected) {
        return {
          ...base,
          status: 'warn',
          code: 'H2_MISDIRECTED',
          host: h.host,
          message:
            `${h.host} on the HTTP/2 connection opened for ${ev.host} (${where}) answered 421 Misdirected ` +
            `Request: Safari does not retry it`,
        };
      }
    }
    for (const h of asked) {
      const want = SERVICE_OF[EXPECTED[h.role]];
      const ex = h.exchanges ?? {};
      const root = ex['/'];
      const lead = `over the HTTP/2 connection opened for ${ev.host} (${where}), :authority ${h.host}`;
      if (!root || (root.status === undefined && !h.service)) {
        return {
          ...base,
          status: 'fail',
          code: 'H2_MISROUTED',
          host: h.host,
          message: `${lead} got no answer: ${root?.error ?? 'not sent'}; its own connection works`,
        };
      }
      if (h.service && h.service !== want) {
        return {
          ...base,
          status: 'fail',
          code: 'H2_MISROUTED',
          host: h.host,
          message: `${lead} was answered by ${h.service}, not ${want}: the ingress routes by SNI, not by :authority`,
        };
      }
      if (
        !h.service &&
        h.fingerprint &&
        h.fingerprint !== EXPECTED[h.role] &&
        h.fingerprint !== h.direct?.fingerprint
      ) {
        return {
          ...base,
          status: 'fail',
          code: 'H2_MISROUTED',
          host: h.host,
          message:
            `${lead} reached ${describe(h.fingerprint)}, not ${describe(EXPECTED[h.role])}: the ingress ` +
            `routes by SNI, not by :authority`,
        };
      }
      if (!h.service && !h.fingerprint && h.direct?.rootStatus !== undefined && root.status !== h.direct.rootStatus) {
        return {
          ...base,
          status: 'fail',
          code: 'H2_MISROUTED',
          host: h.host,
          message:
            `${lead} answered GET / with ${root.status}, ` + `where its own connection answers ${h.direct.rootStatus}`,
        };
      }
    }
    const untried = ev.hosts.filter((h) => h.notCoalesced);
    return {
      ...base,
      status: 'pass',
      message:
        `one HTTP/2 connection to ${ev.host} (${where}) reached each host's own service: ` +
        `${names.join(', ')}${untried.length ? ` (not coalesced: ${whyNot(untried)})` : ''}` +
        `${notAsked.length ? `; not asked: ${whyNot(notAsked)}` : ''}`,
    };
  },
};

const describe = (fp: Fingerprint) =>
  fp === 'files' ? "nap-cp's export app" : fp === 'preview' ? "nap-sandbox's preview router" : fp;

export default check;
