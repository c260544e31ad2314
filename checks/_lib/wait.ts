// hold.wait.<role>: a request whose answer starts only after --hold seconds still gets it. The platform has such
// requests (a chat turn that starts a stopped workspace waits up to 90 s for its first byte; /_proxy calls up to
// 180 s; a document conversion 120 s; sandbox exec until the command ends), and proxies cut them with a limit on
// the wait for the first byte that idle-stream settings do not show (Varnish first_byte_timeout, Traefik
// responseHeaderTimeout) or with the same idle timeout that cuts quiet streams (nginx proxy_read_timeout).
import { inert } from '../../src/inert.js';
import { moduleOfRole } from '../../src/modules.js';
import type { CheckDef, Controller, Judgement, RunContext, Upstream } from '../../src/model.js';
import type { RawAnswer } from '../../src/probes/http1.js';
import { waitProbe, type WaitAnswer } from '../../src/probes/wait.js';
import { holdMeta } from './hold.js';
import {
  addressFor,
  detectController,
  dnsAfter,
  originFor,
  serverProduct,
  SOFT_HTTP_CODES,
  transportNeeds,
  viaNames,
  WELL_KNOWN,
} from './routing.js';
import { evidenceOf } from './evidence.js';

export type WaitRole = 'main' | 'sandbox';

export interface WaitEvidence {
  host: string;
  holdS: number;
  unavailable?: string;
  wait?: WaitAnswer;
  controller?: Controller;
  /** When it was cut: seconds waited, how it ended, and the layer that most likely did it. */
  cutAfterS?: number;
  ended?: string;
  culprit?: string;
  /** A stream hold on the same host cut at the same time: one limit, reported there. */
  sharedWith?: { id: string; cutAfterS: number };
}

interface Culprit {
  name: string;
  fix: string;
}

const PLATFORM_WAITS =
  'a chat turn that starts a stopped workspace (up to 90 s before its first byte), /_proxy calls (up to 180 s), ' +
  'document previews (up to 120 s) and sandbox exec are cut';

/** The layer that cut a wait, from what it answered (status, Server, Via, body) and when. */
export function waitCulprit(w: WaitAnswer, cutAfterS: number, controller?: Controller): Culprit {
  const a: RawAnswer | undefined = w.answer;
  // Named from the Server and Via headers read inert and whole (routing.ts), and from the proxies' own pages.
  const server = serverProduct(a?.headers.server)?.name;
  const body = a?.body ?? '';
  const varnish = viaNames(a?.headers.via, 'varnish') || a?.headers['x-varnish'] !== undefined;
  if (a?.status === 524 || server === 'cloudflare')
    return {
      name: 'Cloudflare proxy (HTTP 524 after 100 s without an answer)',
      fix:
        "Cloudflare ends a proxied request that has no answer after 100 s (Enterprise can raise it): don't proxy " +
        'the NAP hosts through Cloudflare (DNS only), or keep that limit above the platform waits.',
    };
  if (varnish || /<title>\d{3} Backend fetch failed<\/title>/.test(body))
    return {
      name: `Varnish first_byte_timeout (60 s default; cut after ${cutAfterS.toFixed(1)} s)`,
      fix:
        'Raise Varnish first_byte_timeout to 3600 s: varnishd -p first_byte_timeout=3600, or in VCL ' +
        'vcl_backend_fetch: set bereq.first_byte_timeout = 3600s; (and between_bytes_timeout for streams).',
    };
  if (server === 'caddy')
    return {
      name: 'Caddy reverse_proxy response_header_timeout',
      fix:
        'Remove response_header_timeout from the reverse_proxy transport (it is unset by default) or raise it ' +
        'to 3600s.',
    };
  if (server === 'envoy' || server === 'istio-envoy' || body.trim() === 'upstream request timeout')
    return {
      name: 'Envoy route timeout (15 s default; Contour timeoutPolicy.response, Istio VirtualService timeout)',
      fix:
        'Contour: timeoutPolicy: {response: infinity} on the HTTPProxy route; Istio: timeout: 0s on the ' +
        'VirtualService route; plain Envoy: route timeout: 0s.',
    };
  if (controller === 'haproxy' || /^The server didn't respond in time\.\r?$/m.test(body))
    return {
      name: `HAProxy timeout server (${cutAfterS.toFixed(0)} s)`,
      fix: 'timeout server 1h (on the HAProxy ingress: the timeout-server annotation).',
    };
  if (controller === 'traefik')
    return {
      name: 'Traefik responseHeaderTimeout (serversTransport forwardingTimeouts)',
      fix: 'Set the serversTransport forwardingTimeouts.responseHeaderTimeout to 0 (no limit) or 3600s.',
    };
  if (controller === 'ingress-nginx')
    return {
      name: `ingress-nginx proxy-read-timeout (${cutAfterS.toFixed(0)} s; 60 s default)`,
      fix: 'Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-read-timeout: "3600".',
    };
  if (controller === 'nginx')
    return {
      name: `nginx proxy_read_timeout (${cutAfterS.toFixed(0)} s; 60 s default)`,
      fix: 'In the location that proxies NAP: proxy_read_timeout 3600s;',
    };
  if (a?.status === 502 && cutAfterS >= 28 && cutAfterS <= 32)
    return {
      name: 'GCP load balancer backend timeout (30 s default)',
      fix: 'BackendConfig timeoutSec: 3600 on the NAP Services.',
    };
  return {
    name: `a proxy or load balancer on the path that waits at most about ${cutAfterS.toFixed(0)} s for an answer`,
    fix:
      'Raise the limit on the wait for the first byte of the answer to 3600 s on every layer in front of NAP ' +
      '(Varnish first_byte_timeout, Traefik responseHeaderTimeout, nginx proxy_read_timeout, HAProxy timeout ' +
      'server, Envoy route timeout, GCP backend timeoutSec).',
  };
}

function describe(w: WaitAnswer): string {
  if (w.answer) return `HTTP ${w.answer.status}`;
  if (w.ended === 'reset') return 'connection reset';
  if (w.ended === 'eof') return 'connection closed (EOF) without an answer';
  return w.error ? `${w.ended}: ${inert(w.error.message)}` : w.ended;
}

/** The stream holds on the same host whose cut would be this wait's too. */
const STREAMS: Record<WaitRole, string[]> = {
  main: ['hold.ws.main', 'hold.sse.main'],
  sandbox: ['hold.ws.sandbox'],
};

function sharedCut(up: Upstream, role: WaitRole, cutAfterS: number): WaitEvidence['sharedWith'] {
  for (const id of STREAMS[role]) {
    const r = up.get(id);
    if (r?.code !== 'HOLD_CUT') continue;
    const ev = r.evidence as { cutAfterS?: number; capS?: number; limit?: string };
    const at = ev.limit === 'lifetime' ? ev.capS : ev.cutAfterS;
    if (at !== undefined && Math.abs(at - cutAfterS) <= 1) return { id, cutAfterS: at };
  }
  return undefined;
}

const probeKey = (role: WaitRole) => `hold.wait.${role}:wait`;

function startWait(ctx: RunContext, role: WaitRole, up: Upstream, signal: AbortSignal) {
  return waitProbe({
    url: `${originFor(ctx, role)}${WELL_KNOWN}/wait?after=${ctx.holdS}`,
    address: addressFor(ctx, role, up),
    afterS: ctx.holdS,
    timeoutMs: ctx.timeoutMs,
    signal,
  });
}

export function holdWaitCheck(role: WaitRole): CheckDef<WaitEvidence> {
  const id = `hold.wait.${role}`;
  const where = role === 'main' ? '<d>' : 'sandbox.<d>';
  return {
    ...moduleOfRole(role),
    meta: holdMeta(
      id,
      `Long wait for the first byte on ${where}`,
      `A request whose answer starts only after --hold seconds (the responder's ${WELL_KNOWN}/wait) still gets ` +
        "it: the platform's own slow requests (a chat turn that starts a stopped workspace, /_proxy calls, " +
        'document conversion, sandbox exec) wait that long before their first byte. Runs beside the stream holds.',
      {
        HOLD_CUT: {
          status: 'fail',
          why:
            'A proxy on the path ended a request that had no answer yet: a limit on the wait for the first byte ' +
            '(Varnish first_byte_timeout, 60 s by default; Traefik responseHeaderTimeout; Caddy ' +
            'response_header_timeout; Envoy/Contour route timeout, 15 s; GCP backend timeout, 30 s; Cloudflare, ' +
            '100 s → 524) or the idle timeout that also cuts quiet streams (nginx proxy_read_timeout, HAProxy ' +
            `timeout server). The platform's slow requests are cut: ${PLATFORM_WAITS.replace(/ are cut$/, '')}. The ` +
            'message names the layer from its answer (status, Server, Via) and when it cut; a cut shared with a ' +
            'stream hold on the same host is one limit, fixed there.',
          fix: {
            general:
              'Raise the limit on the wait for the first byte to 3600 s on every layer in front of NAP: Varnish ' +
              'first_byte_timeout, Traefik serversTransport forwardingTimeouts.responseHeaderTimeout, Caddy ' +
              'response_header_timeout, nginx proxy_read_timeout, HAProxy timeout server, Envoy route timeout ' +
              '(Contour timeoutPolicy.response, Istio VirtualService timeout), GCP BackendConfig timeoutSec; ' +
              "Cloudflare's 100 s cannot be raised below Enterprise: don't proxy the NAP hosts through it.",
            'ingress-nginx': 'Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-read-timeout: "3600".',
            nginx: 'proxy_read_timeout 3600s; in the location that proxies NAP.',
            haproxy: 'timeout server 1h (on the HAProxy ingress: the timeout-server annotation).',
            traefik: 'serversTransport forwardingTimeouts.responseHeaderTimeout: 0 (no limit) or 3600s.',
            contour: 'timeoutPolicy: {response: infinity} on each HTTPProxy route.',
            istio: 'timeout: 0s on the VirtualService route.',
          },
        },
      },
    ),
    needs: (ctx) => [...transportNeeds(ctx, role), { id: `http.${role}`, tolerate: SOFT_HTTP_CODES }],
    // The stream holds on this host, when the run has them: a cut they share is one limit, reported once.
    reads: () => STREAMS[role],
    // The wait starts as soon as the host is known to be the responder, beside the stream holds, not after them.
    early: {
      // The address comes from the DNS answer (addressFor reads it), the verdict that a responder is there from http.
      after: (ctx) => [...dnsAfter(ctx, role), `http.${role}`],
      start(ctx, up, tools) {
        if (evidenceOf(up, `http.${role}`)?.responder)
          void tools.probe(probeKey(role), () => startWait(ctx, role, up, tools.signal));
      },
    },
    deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
    async gather(ctx, up, tools) {
      const http = evidenceOf(up, `http.${role}`);
      const host = ctx.target.hosts[role];
      const controller = (http?.controller as Controller | undefined) ?? undefined;
      const base = { host, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
      if (!http?.responder)
        return {
          ...base,
          unavailable:
            `no responder behind ${host} (the platform has no request that waits without credentials): the ` +
            'wait for a first byte was not tested; run the responder in a maintenance window',
        };
      const wait = await tools.probe(probeKey(role), () => startWait(ctx, role, up, tools.signal));
      if (wait.ended === 'answered' && wait.answer?.status === 200) return { ...base, wait };
      if (wait.ended === 'deadline' || (wait.ended === 'error' && wait.firstByteMs === undefined && !wait.endedMs))
        return { ...base, wait };
      const cutAfterS = Math.round((wait.firstByteMs ?? wait.endedMs) / 100) / 10;
      const who = controller ?? detectController([wait.answer]);
      const shared = sharedCut(up, role, cutAfterS);
      return {
        ...base,
        wait,
        cutAfterS,
        ended: describe(wait),
        culprit: waitCulprit(wait, cutAfterS, who).name,
        ...(shared ? { sharedWith: shared } : {}),
      };
    },
    judge: (ev, ctx) => judgeWait(ev, ctx),
  };
}

export function judgeWait(ev: WaitEvidence, ctx: RunContext): Judgement {
  const host = ev.host;
  const base = { host, ...(ev.controller ? { controller: ev.controller } : {}) };
  if (ev.unavailable || !ev.wait) return { ...base, status: 'skip', message: ev.unavailable ?? 'not waited' };
  const w = ev.wait;
  if (w.ended === 'answered' && w.answer?.status === 200) {
    const got = `${host} answered after ${((w.firstByteMs ?? 0) / 1000).toFixed(1)} s of waiting, as asked`;
    if (ctx.holdS <= 60)
      return {
        ...base,
        status: 'warn',
        code: 'HOLD_SHORT',
        message: `${got}, but --hold ${ev.holdS} ≤ 60 proves nothing about the common 60 s limits`,
      };
    return { ...base, status: 'pass', message: got };
  }
  if (ev.cutAfterS === undefined)
    return {
      ...base,
      status: 'fail',
      code: 'HOLD_CUT',
      message: `${host}: no answer to a request that waits ${ev.holdS} s (${describe(w)})`,
    };
  const cut =
    `a request to ${host} waiting ${ev.holdS} s for its answer was cut after ${ev.cutAfterS.toFixed(1)} s ` +
    `(${ev.ended})`;
  if (ev.sharedWith)
    return {
      host,
      status: 'fail',
      code: 'HOLD_CUT',
      message:
        `${cut}: the same limit that cut ${ev.sharedWith.id} at ${ev.sharedWith.cutAfterS.toFixed(1)} s, ` +
        `likely ${ev.culprit}; ${PLATFORM_WAITS}`,
      fix: `One setting cuts both: the fix of ${ev.sharedWith.id} covers this wait too.`,
      replacesFix: true,
    };
  const culprit = waitCulprit(w, ev.cutAfterS, ev.controller ?? detectController([w.answer]));
  return {
    host,
    status: 'fail',
    code: 'HOLD_CUT',
    message: `${cut}; likely ${culprit.name}; ${PLATFORM_WAITS}`,
    fix: culprit.fix,
    replacesFix: true,
  };
}
