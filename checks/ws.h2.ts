// ws.h2: when a host's HTTP/2 SETTINGS carry SETTINGS_ENABLE_CONNECT_PROTOCOL, Firefox and Chrome open their
// WebSockets with Extended CONNECT (RFC 8441) on that connection instead of an HTTP/1.1 upgrade. A proxy that
// offers it and then refuses it breaks browsers while wscat and curl (HTTP/1.1) work.
import type { CheckDef, Judgement, Role, RunContext } from '../src/model.js';
import { h2WebSocket, type H2WebSocket } from '../src/probes/h2.js';
import { addressFor, detectController, dnsAfter, parseJson, WELL_KNOWN } from './_lib/routing.js';
import { activeRoles } from '../src/modules.js';
import { evidenceOf, STREAM_ROLES } from './_lib/evidence.js';
import { causeOf, describeBlock } from './_lib/cause.js';

const WS_ROLES = STREAM_ROLES;

export interface WsH2Host {
  role: Role;
  host: string;
  /** Why this host was not asked (its own route or HTTP/1.1 WebSocket already failed, or nothing to ask). */
  notTried?: string;
  endpoint?: 'responder' | 'env-gateway' | 'none';
  attempt?: H2WebSocket;
}

export interface WsH2Evidence {
  hosts: WsH2Host[];
  controller?: string;
}

const where = (a: H2WebSocket) =>
  `${a.connection.address.includes(':') ? `[${a.connection.address}]` : a.connection.address}:${a.connection.port}`;

const check: CheckDef<WsH2Evidence> = {
  meta: {
    id: 'ws.h2',
    area: 'ws',
    title: 'WebSockets over HTTP/2 (RFC 8441)',
    proves:
      'On each WebSocket host whose HTTP/2 SETTINGS offer Extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL), a ' +
      "WebSocket opened as browsers open it (:method CONNECT, :protocol websocket) gets 200 and the service's " +
      'first frame; a host that does not offer it is fine (browsers then use HTTP/1.1 upgrades, checked by ws.*).',
    codes: {
      WS_H2_REJECTED: {
        status: 'fail',
        why:
          'The server advertises WebSockets over HTTP/2 (SETTINGS_ENABLE_CONNECT_PROTOCOL), so Firefox and ' +
          'Chrome open them with Extended CONNECT, and then it refuses or breaks that request. Their WebSockets ' +
          'fail while curl, wscat and Node clients (HTTP/1.1 upgrades) work (envoyproxy/envoy#8547).',
        fix: {
          general:
            'Either accept Extended CONNECT end to end (route it like the HTTP/1.1 upgrade), or stop advertising ' +
            'it so browsers fall back to HTTP/1.1 upgrades.',
          haproxy:
            'Remove the rule that denies the request over HTTP/2 (haproxy turns Extended CONNECT into an ' +
            'Upgrade: websocket request for the backend); or add `h2-workaround-bogus-websocket-clients` to the ' +
            'bind line to stop advertising it.',
          contour:
            'Envoy advertises it with `allow_connect: true`; the route needs `upgrade_configs: websocket` ' +
            '(Contour: `enableWebsockets: true` on the route) for CONNECT requests too.',
          istio:
            'Envoy advertises it with `http2_protocol_options.allow_connect`; remove that EnvoyFilter, or add ' +
            'the websocket upgrade config on the route.',
          'ingress-nginx':
            'nginx advertises it only from 1.25 (`http2 on`); check snippets that refuse CONNECT or :protocol.',
          traefik: 'Check middlewares that refuse CONNECT requests on the WebSocket route.',
        },
      },
    },
  },
  appliesTo: (ctx: RunContext) =>
    ctx.mode === 'nodeport' ? 'NodePort mode is plain HTTP: browsers use HTTP/2 only over TLS' : true,
  after: (ctx) =>
    activeRoles(ctx.modules, WS_ROLES).flatMap((r) => [...dnsAfter(ctx, r), `tls.${r}`, `http.${r}`, `ws.${r}`]),
  async gather(ctx, up, tools) {
    const hosts = await Promise.all(
      activeRoles(ctx.modules, WS_ROLES).map(async (role): Promise<WsH2Host> => {
        const host = ctx.target.hosts[role];
        const out: WsH2Host = { role, host };
        // No session: why, traced back (no address when DNS failed, no TLS session when the handshake did).
        if (!evidenceOf(up, `tls.${role}`)?.chain?.length) return { ...out, notTried: causeOf(up, `tls.${role}`) };
        // One root cause, reported once: a host whose route or HTTP/1.1 WebSocket fails is judged by those checks.
        for (const id of [`http.${role}`, `ws.${role}`]) {
          const r = up.get(id);
          // A config mismatch (napUrl) leaves the route answering as it should: still worth trying.
          if (r?.code === 'HTTP_AUTH_GATE') return { ...out, notTried: describeBlock(r) };
          if (r?.status === 'fail' && r.code !== 'HTTP_CONFIG_MISMATCH')
            return { ...out, notTried: `${describeBlock(r)}: judged there` };
        }
        const http = evidenceOf(up, `http.${role}`);
        const endpoint = http?.responder ? 'responder' : role === 'main' ? 'env-gateway' : 'none';
        const path =
          endpoint === 'responder' ? `${WELL_KNOWN}/ws` : endpoint === 'env-gateway' ? '/env-gateway' : undefined;
        const attempt = await h2WebSocket({
          host,
          address: addressFor(ctx, role, up),
          port: ctx.httpsPort,
          timeoutMs: ctx.timeoutMs,
          signal: tools.signal,
          ...(path ? { path } : {}),
        });
        return { ...out, endpoint, attempt };
      }),
    );
    const controller = detectController(
      hosts.map(
        (h) =>
          h.attempt && {
            ...(h.attempt.headers ? { headers: h.attempt.headers } : {}),
            ...(h.attempt.body ? { body: h.attempt.body } : {}),
          },
      ),
    );
    return { hosts, ...(controller ? { controller } : {}) };
  },
  judge(ev): Judgement {
    const base = ev.controller ? { controller: ev.controller as Judgement['controller'] } : {};
    const asked = ev.hosts.filter(
      (h) => h.attempt && !h.attempt.connection.error && h.attempt.connection.alpn === 'h2',
    );
    const offered = asked.filter((h) => h.attempt!.connection.enableConnectProtocol);
    for (const h of offered.filter((x) => x.attempt!.attempted)) {
      const a = h.attempt!;
      const path = a.path ?? '?';
      const lead = `${h.host} (${where(a)}) offers WebSockets over HTTP/2, but CONNECT :protocol websocket on ${path}`;
      if (a.status !== 200) {
        const got =
          a.status !== undefined
            ? `answered ${a.status}${
                a.body
                  ? `: ${JSON.stringify(
                      a.body
                        .replace(/<[^>]*>/g, ' ')
                        .replace(/\s+/g, ' ')
                        .trim()
                        .slice(0, 80),
                    )}`
                  : ''
              }`
            : `failed: ${a.error ?? 'no answer'}`;
        return {
          ...base,
          status: 'fail',
          code: 'WS_H2_REJECTED',
          host: h.host,
          message: `${lead} ${got}: Firefox and Chrome WebSockets fail there, HTTP/1.1 clients work`,
        };
      }
      if (h.endpoint === 'responder') {
        const hello = parseJson(a.firstMessage);
        if (hello?.type !== 'hello') {
          const what =
            a.closeCode !== undefined
              ? `closed ${a.closeCode}`
              : a.firstMessage !== undefined
                ? `sent ${JSON.stringify(a.firstMessage.slice(0, 60))}`
                : (a.error ?? 'sent nothing');
          return {
            ...base,
            status: 'fail',
            code: 'WS_H2_REJECTED',
            host: h.host,
            message: `${lead} got 200, then no hello from the service: ${what}`,
          };
        }
      } else if (a.closeCode === undefined && a.firstMessage === undefined) {
        return {
          ...base,
          status: 'fail',
          code: 'WS_H2_REJECTED',
          host: h.host,
          message:
            `${lead} got 200, then no WebSocket frame from the platform (expected close 1008 without a ` +
            `token): ${a.error ?? 'nothing'}`,
        };
      }
    }
    const list = (hs: WsH2Host[]) => hs.map((h) => h.host).join(', ');
    const notAsked = ev.hosts.filter((h) => !asked.includes(h));
    const whyNotAsked = (h: WsH2Host) =>
      h.notTried ?? h.attempt?.connection.error ?? `ALPN ${h.attempt?.connection.alpn ?? 'none'}`;
    const aside = notAsked.length
      ? `; not asked: ${notAsked.map((h) => `${h.host} (${whyNotAsked(h)})`).join(', ')}`
      : '';
    // Nothing connected at all: nothing was tested, whatever the reason (spec §3: skip, never pass).
    if (!ev.hosts.some((h) => h.attempt && !h.attempt.connection.error))
      return {
        ...base,
        status: 'skip',
        message: `nothing to ask: ${notAsked.map((h) => `${h.host} (${whyNotAsked(h)})`).join(', ')}`,
      };
    if (!asked.length)
      return {
        ...base,
        status: 'pass',
        message: `no WebSocket host speaks HTTP/2: browsers use HTTP/1.1 upgrades (ws.*)${aside}`,
      };
    if (!offered.length)
      return {
        ...base,
        status: 'pass',
        message:
          `no host offers WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL): browsers use ` +
          `HTTP/1.1 upgrades (ws.*) on ${list(asked)}${aside}`,
      };
    const tried = offered.filter((h) => h.attempt!.attempted);
    const untried = offered.filter((h) => !h.attempt!.attempted);
    const detail = tried
      .map(
        (h) => `${h.host} ${h.endpoint === 'responder' ? '200 + hello' : `200, close ${h.attempt!.closeCode ?? '-'}`}`,
      )
      .join(', ');
    const noResponder = `no responder behind ${untried.length === 1 ? 'it' : 'them'} and no public WebSocket endpoint`;
    const noEndpoint = untried.length
      ? `; offered but no public WebSocket endpoint to try on ${list(untried)} (deploy \`nap-verify serve\`)`
      : '';
    const plain = asked.filter((h) => !offered.includes(h));
    const h1 = plain.length ? `; HTTP/1.1 upgrades only on ${list(plain)}` : '';
    // Offered and never tried, and no host that does not offer it: nothing was tested (spec §3: skip, never pass).
    if (!tried.length && !plain.length)
      return {
        ...base,
        status: 'skip',
        message:
          `Extended CONNECT offered by ${list(offered)}, not tried: ${noResponder} (deploy ` +
          `\`nap-verify serve\`)${aside}`,
      };
    if (!tried.length)
      return {
        ...base,
        status: 'pass',
        message:
          `no WebSocket over HTTP/2 offered by ${list(plain)}: browsers use HTTP/1.1 upgrades (ws.*) there` +
          `${noEndpoint}${aside}`,
      };
    return {
      ...base,
      status: 'pass',
      message: `Extended CONNECT offered and accepted: ${detail}${noEndpoint}${h1}${aside}`,
    };
  },
};

export default check;
