// ws.<role>: a WebSocket upgrade passes the proxy to the host's service.
import { inert } from '../../src/inert.js';
import { moduleOfRole } from '../../src/modules.js';
import type { CheckDef, Judgement, RunContext } from '../../src/model.js';
import { httpGet } from '../../src/probes/http.js';
import { wsUpgrade } from '../../src/probes/ws.js';
import {
  addressFor,
  detectController,
  ingressOnly,
  originFor,
  parseJson,
  SOFT_HTTP_CODES,
  transportNeeds,
  WELL_KNOWN,
} from './routing.js';
import { evidenceOf, type StreamRole, type WsEvidence } from './evidence.js';

/** Statuses that refuse an upgrade on purpose (auth layer, WAF, rate limit): never read as a dropped header. */
const REFUSALS = new Set([401, 403, 405, 407, 429]);

export const WS_FIX = {
  general: 'Let the proxy pass the Upgrade and Connection headers (HTTP/1.1) to the service.',
  'ingress-nginx':
    'ingress-nginx passes WebSocket upgrades by default; remove snippets that clear Upgrade/Connection, and ' +
    'raise proxy-read-timeout/proxy-send-timeout to "3600".',
  nginx:
    'In the location that proxies NAP: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; ' +
    'proxy_set_header Connection "upgrade"; and proxy_read_timeout 3600s;',
  contour: 'Set enableWebsockets: true on the HTTPProxy route.',
  traefik: 'Traefik passes upgrades by default; check middlewares that strip headers.',
  istio: 'Istio passes upgrades by default; check EnvoyFilters and that the Service port is named http (not tcp/grpc).',
  haproxy: 'HAProxy passes upgrades in http mode; set timeout tunnel 1h.',
};

export function wsRoleCheck(role: StreamRole): CheckDef<WsEvidence> {
  return {
    ...moduleOfRole(role),
    meta: {
      id: `ws.${role}`,
      area: 'ws',
      title: `WebSocket upgrade to ${role === 'main' ? '<d>' : role === 'preview' ? '*.sandbox.<d>' : `${role}.<d>`}`,
      proves:
        'A WebSocket upgrade through the ingress is answered with 101 by the service (the responder echo ' +
        "endpoint, or the platform's /env-gateway on <d>).",
      codes: {
        WS_REJECTED: {
          status: 'fail',
          why:
            'The upgrade was refused (an error status instead of 101): blocked by the proxy, an auth layer, ' +
            'or no WebSocket route.',
          fix: WS_FIX,
        },
        WS_UPGRADE_STRIPPED: {
          status: 'fail',
          why:
            'The service got a plain GET: the proxy dropped the Upgrade/Connection headers (or spoke HTTP/1.0 ' +
            'upstream).',
          fix: WS_FIX,
        },
        WS_NO_ENDPOINT: {
          status: 'skip',
          why: 'Without the probe responder, this host has no unauthenticated WebSocket endpoint to try.',
          fix: 'Deploy `nap-verify serve` behind the same Services (see `nap-verify kit responder`) for a full test.',
        },
      },
    },
    ...(role === 'preview' ? { appliesTo: (ctx: RunContext) => ingressOnly(ctx, 'no preview wildcard host') } : {}),
    needs: (ctx) => [...transportNeeds(ctx, role), { id: `http.${role}`, tolerate: SOFT_HTTP_CODES }],
    async gather(ctx, up, tools) {
      const http = evidenceOf(up, `http.${role}`);
      const host = ctx.target.hosts[role];
      const base = { host, ...(http?.controller ? { controller: http.controller } : {}) };
      const path = http?.responder ? `${WELL_KNOWN}/ws` : role === 'main' ? '/env-gateway' : undefined;
      if (!path) return { ...base, endpoint: 'none' };
      const url = originFor(ctx, role, 'wss') + path;
      const address = addressFor(ctx, role, up);
      const attempt = await wsUpgrade(url, address, ctx.timeoutMs, tools.signal);
      // A service answering the upgrade exactly as it answers a plain GET never saw the Upgrade header: the same
      // fault gets the same code on every host, whatever the service does with a plain GET (302, 404, 426).
      const plain =
        !attempt.upgraded && attempt.status !== undefined
          ? await httpGet({ url: originFor(ctx, role) + path, address, timeoutMs: ctx.timeoutMs, signal: tools.signal })
          : undefined;
      return {
        ...base,
        endpoint: http?.responder ? 'responder' : 'env-gateway',
        attempt,
        ...(plain?.status !== undefined ? { plainStatus: plain.status } : {}),
      };
    },
    judge(ev): Judgement {
      const host = ev.host;
      const controller = (ev.controller ?? detectController([ev.attempt])) as Judgement['controller'];
      const base = { host, ...(controller ? { controller } : {}) };
      if (ev.endpoint === 'none' || !ev.attempt) {
        return {
          ...base,
          status: 'skip',
          code: 'WS_NO_ENDPOINT',
          message:
            `no responder behind ${host} and no public WebSocket endpoint: upgrade not tested; run the ` +
            `responder in a maintenance window (nap-verify kit responder)`,
        };
      }
      const a = ev.attempt;
      if (a.upgraded && a.error && a.firstMessage === undefined && a.closeCode === undefined) {
        return {
          ...base,
          status: 'fail',
          code: 'WS_REJECTED',
          message: `upgrade to ${host} answered 101, then the stream broke: ${a.error}`,
        };
      }
      if (a.upgraded) {
        if (ev.endpoint === 'env-gateway') {
          if (a.closeCode === 1008)
            return { ...base, status: 'pass', message: '101 from /env-gateway, then 1008 as expected without a token' };
          return {
            ...base,
            status: 'pass',
            message: `101 from /env-gateway${a.closeCode ? `, closed ${a.closeCode}` : ''}`,
          };
        }
        const hello = parseJson(a.firstMessage);
        return {
          ...base,
          status: 'pass',
          message: `101, ${hello?.type === 'hello' ? `hello from ${String(hello.service)}` : 'upgraded'}`,
        };
      }
      if (a.status === undefined)
        return {
          ...base,
          status: 'fail',
          code: 'WS_REJECTED',
          message: `upgrade to ${host} failed: ${a.error ?? 'no answer'}`,
        };
      const body = parseJson(a.body);
      // Our responder answers a plain GET on its WebSocket path with 426 and says it saw no Upgrade header.
      const stripped =
        (body?.error === 'Upgrade required' && body.upgrade === null) ||
        a.status === 426 ||
        a.status === 400 ||
        a.status === 200;
      if (stripped)
        return {
          ...base,
          status: 'fail',
          code: 'WS_UPGRADE_STRIPPED',
          message:
            `upgrade to ${host} answered ${a.status} instead of 101: the service saw a plain request, the ` +
            `proxy dropped the Upgrade headers`,
        };
      if (ev.plainStatus === a.status && !REFUSALS.has(a.status)) {
        return {
          ...base,
          status: 'fail',
          code: 'WS_UPGRADE_STRIPPED',
          message:
            `upgrade to ${host} answered ${a.status} instead of 101, as a plain GET of the same path ` +
            `does: the proxy dropped the Upgrade headers`,
        };
      }
      return {
        ...base,
        status: 'fail',
        code: 'WS_REJECTED',
        message:
          `upgrade to ${host} answered ${a.status} instead of ` +
          `101${a.body ? `: ${inert(JSON.stringify(a.body.slice(0, 80)))}` : ''}`,
      };
    },
  };
}
