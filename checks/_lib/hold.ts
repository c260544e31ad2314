// hold.ws.<role> and hold.sse.main: a silent stream stays open for --hold seconds and still carries data; when
// it does not, when and how it was cut, and (from its keep-alive twin) whether that is an idle or a lifetime limit.
import { moduleOfRole } from '../../src/modules.js';
import type { CheckDef, CheckMeta, Controller, Judgement, RunContext } from '../../src/model.js';
import { OUTLIVE_MS, TWIN_BEAT_MS, type HoldPair, type StreamEnd } from '../../src/probes/hold-pair.js';
import { h2Sse } from '../../src/probes/h2.js';
import { readSse, type SseTimeline } from '../../src/probes/sse.js';
import { holdWebSocket, type HoldTimeline } from '../../src/probes/ws.js';
import { culpritFor, describeEnd, LIFETIME_FIX, STREAM_TIMEOUT_FIX, type LimitKind } from './culprit.js';
import {
  addressFor,
  dnsAfter,
  ingressOnly,
  originFor,
  SOFT_HTTP_CODES,
  transportNeeds,
  WELL_KNOWN,
} from './routing.js';
import { evidenceOf, type StreamRole } from './evidence.js';

type Timeline = Pick<HoldTimeline, 'openedAt' | 'lastByteAt' | 'endedAt' | 'end' | 'outlivedMs'>;

export interface HoldEvidence {
  host: string;
  holdS: number;
  /** Why nothing was held (no responder, or the stream is buffered so a hold cannot be observed). */
  unavailable?: string;
  silent?: Timeline;
  keepalive?: Timeline;
  controller?: Controller;
  /** Filled when the silent stream did not survive. */
  cutAfterS?: number;
  ageS?: number;
  limit?: LimitKind;
  /** Lifetime cap: the age at which the stream carrying data (the keep-alive twin) was cut. */
  capS?: number;
  ended?: string;
  /** How the keep-alive twin ended when it was cut. */
  twinEnded?: string;
  culprit?: string;
  /** The silent stream never opened: no hold verdict can be made from it. */
  unopened?: boolean;
  /** hold.sse.main read over HTTP/2: the proxy buffers the stream for HTTP/1.1 clients (SSE_BUFFERED_HTTP1). */
  protocol?: 'h2';
}

/** Seconds to one decimal, from the probe's millisecond marks. */
const secs = (ms: number) => Math.round(ms / 100) / 10;

/** The twin cut no later than this after the silent stream's age counts as "cut too" (same age, or first). */
const SAME_AGE_S = OUTLIVE_MS / 1000;

/**
 * nap-cp's SSE comment heartbeat (control-plane/src/lib/sse.ts): an idle timeout above it spares the platform's
 * SSE.
 */
export const PLATFORM_SSE_HEARTBEAT_S = 15;

type Analysis = Pick<
  HoldEvidence,
  'cutAfterS' | 'ageS' | 'limit' | 'capS' | 'ended' | 'twinEnded' | 'culprit' | 'unopened'
>;

/** A twin that stopped carrying data; running into our own deadline or an abort is no finding about the proxy. */
const wasCut = (end: StreamEnd) =>
  end.how !== 'survived' && !(end.how === 'timeout' && !end.detail.startsWith('no echo'));

/** The measured facts of a cut: pure, shared by the WebSocket and SSE holds. */
export function analyzeHold(silent: Timeline, twin: Timeline | undefined, controller?: Controller): Analysis {
  const twinAge =
    twin && wasCut(twin.end) && twin.openedAt !== undefined && twin.endedAt !== undefined
      ? secs(twin.endedAt - twin.openedAt)
      : undefined;
  const twinFacts = twinAge === undefined ? {} : { twinEnded: describeEnd(twin!.end) };
  if (silent.end.how === 'survived') {
    // A busy stream cut while the silent one survived: only a cap checked when data is written does that.
    if (twinAge === undefined) return {};
    return {
      limit: 'lifetime',
      capS: twinAge,
      ...twinFacts,
      culprit: culpritFor(twinAge, controller, twin!.end, 'lifetime'),
    };
  }
  if (silent.openedAt === undefined) return { unopened: true, ended: describeEnd(silent.end) };
  const endedAt = silent.endedAt ?? silent.openedAt;
  const cutAfterS = secs(endedAt - (silent.lastByteAt ?? silent.openedAt));
  const ageS = secs(endedAt - silent.openedAt);
  const ended = describeEnd(silent.end);
  if (twin?.end.how === 'survived' && twin.openedAt !== undefined) {
    return { cutAfterS, ageS, limit: 'idle', ended, culprit: culpritFor(cutAfterS, controller, silent.end, 'idle') };
  }
  if (twinAge !== undefined && twinAge <= ageS + SAME_AGE_S) {
    return {
      cutAfterS,
      ageS,
      limit: 'lifetime',
      capS: twinAge,
      ended,
      ...twinFacts,
      culprit: culpritFor(twinAge, controller, twin!.end, 'lifetime'),
    };
  }
  // The twin never opened, or died well after the silent stream: idle and lifetime cannot be told apart. Name a
  // figure only when both readings give the same one (the silent stream's last byte came as it opened).
  const culprit = Math.abs(ageS - cutAfterS) < 1 ? culpritFor(cutAfterS, undefined, silent.end, 'unknown') : undefined;
  return { cutAfterS, ageS, limit: 'unknown', ended, ...twinFacts, ...(culprit ? { culprit } : {}) };
}

export function holdMeta(id: string, title: string, proves: string, extra: CheckMeta['codes'] = {}): CheckMeta {
  return {
    id,
    area: 'hold',
    title,
    proves,
    codes: {
      HOLD_CUT: {
        status: 'fail',
        why:
          "A proxy on the path closed a stream that was merely quiet (or too old): NAP's WebSocket and SSE " +
          'connections go quiet for minutes, so users see disconnects and reconnect loops.',
        fix: STREAM_TIMEOUT_FIX,
      },
      HOLD_SHORT: {
        status: 'warn',
        why: 'The hold was 60 s or shorter, so it cannot show whether the common 60 s idle default is still in force.',
        fix: 'Run with --hold 75 (the default) or longer.',
      },
      ...extra,
    },
  };
}

/** hold.sse.main only: an SSE idle timeout longer than the platform's heartbeat. */
export const HOLD_IDLE_HEARTBEAT = {
  status: 'warn' as const,
  why:
    `nap-cp sends an SSE comment heartbeat every ${PLATFORM_SSE_HEARTBEAT_S} s, so an idle timeout longer ` +
    `than that does not cut the platform's own SSE; a quiet SSE stream without heartbeats (another client, a ` +
    `proxy that drops comments) is still cut. WebSockets, which the platform does not ping, are judged by the ` +
    `hold.ws.* checks.`,
  fix: STREAM_TIMEOUT_FIX,
};

const TWIN = `keep-alive twin (a byte every ${TWIN_BEAT_MS / 1000} s)`;

export function judgeHold(ev: HoldEvidence, ctx: RunContext, kind: 'WebSocket' | 'SSE stream'): Judgement {
  const host = ev.host;
  const base = { host, ...(ev.controller ? { controller: ev.controller } : {}) };
  if (ev.unavailable || !ev.silent) return { ...base, status: 'skip', message: ev.unavailable ?? 'not held' };
  if (ev.unopened)
    return {
      ...base,
      status: 'skip',
      message: `no hold verdict for ${host}: the silent ${kind} never opened (${ev.ended})`,
    };
  const s1 = (n: number | undefined) => (n ?? 0).toFixed(1);
  // A lifetime cap: the controller's idle-timeout fix would send the reader to the wrong setting.
  const ownCap =
    (ev.controller === 'contour' && ev.culprit?.includes('Contour')) ||
    (ev.controller === 'istio' && ev.culprit?.includes('Istio'));
  const lifetimeBase = ownCap ? base : { host, fix: LIFETIME_FIX, replacesFix: true };
  if (ev.silent.end.how === 'survived') {
    if (ev.limit === 'lifetime') {
      return {
        ...lifetimeBase,
        status: 'fail',
        code: 'HOLD_CUT',
        message:
          `${kind}s to ${host} that carry data are cut at ${s1(ev.capS)} s of age: the ${TWIN} was cut ` +
          `then (${ev.twinEnded}) while the silent one survived ${ev.holdS} s; a lifetime cap, not an idle ` +
          `timeout; likely ${ev.culprit}`,
      };
    }
    const held = `silent ${kind} to ${host} stayed open ${ev.holdS} s and still carried data afterwards`;
    if (ctx.holdS <= 60)
      return {
        ...base,
        status: 'warn',
        code: 'HOLD_SHORT',
        message: `${held}, but --hold ${ev.holdS} ≤ 60 proves nothing about the common 60 s default`,
      };
    return { ...base, status: 'pass', message: held };
  }
  const silent =
    `silent ${kind} to ${host} cut ${s1(ev.cutAfterS)} s after its last byte (open ${s1(ev.ageS)} ` + `s; ${ev.ended})`;
  if (ev.limit === 'idle') {
    const idle = `${silent}; its ${TWIN} outlived it: an idle timeout of ${s1(ev.cutAfterS)} s`;
    if (kind === 'SSE stream' && (ev.cutAfterS ?? 0) > PLATFORM_SSE_HEARTBEAT_S) {
      return {
        ...base,
        status: 'warn',
        code: 'HOLD_IDLE_HEARTBEAT',
        message:
          `${idle}, longer than nap-cp's ${PLATFORM_SSE_HEARTBEAT_S} s SSE heartbeat, which keeps the ` +
          `platform's SSE alive through this proxy (the WebSocket holds say whether WebSockets survive); likely ` +
          `${ev.culprit}`,
      };
    }
    return { ...base, status: 'fail', code: 'HOLD_CUT', message: `${idle}; likely ${ev.culprit}` };
  }
  if (ev.limit === 'lifetime') {
    return {
      ...lifetimeBase,
      status: 'fail',
      code: 'HOLD_CUT',
      message:
        `${kind}s to ${host} are capped at ${s1(ev.capS)} s of age: the ${TWIN} was cut at ${s1(ev.capS)} ` +
        `s (${ev.twinEnded}), the silent one at ${s1(ev.ageS)} s (${ev.ended}); a lifetime cap, not an idle ` +
        `timeout; likely ${ev.culprit}`,
    };
  }
  const twin = ev.twinEnded
    ? `was cut later (${ev.twinEnded})`
    : `could not be held (${ev.keepalive ? describeEnd(ev.keepalive.end) : 'not run'})`;
  return {
    host,
    status: 'fail',
    code: 'HOLD_CUT',
    message:
      `${silent}; the keep-alive twin ${twin}, so an idle timeout cannot be told from a lifetime ` +
      `cap${ev.culprit ? `; likely ${ev.culprit}` : ''}`,
  };
}

export function holdWsCheck(role: StreamRole): CheckDef<HoldEvidence> {
  const id = `hold.ws.${role}`;
  return {
    ...moduleOfRole(role),
    meta: holdMeta(
      id,
      `Idle WebSocket held on ${role === 'main' ? '<d>' : role === 'preview' ? '*.sandbox.<d>' : `${role}.<d>`}`,
      'A WebSocket that carries nothing for --hold seconds is still open afterwards and echoes a message; a cut ' +
        'is timed to 0.1 s and told idle from lifetime by a keep-alive twin.',
    ),
    ...(role === 'preview' ? { appliesTo: (ctx: RunContext) => ingressOnly(ctx, 'no preview wildcard host') } : {}),
    needs: () => [`ws.${role}`],
    after: (ctx) => dnsAfter(ctx, role),
    deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
    async gather(ctx, up, tools) {
      const ws = evidenceOf(up, `ws.${role}`);
      const host = ctx.target.hosts[role];
      const controller = ws?.controller as Controller | undefined;
      const base = { host, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
      if (ws?.endpoint !== 'responder')
        return {
          ...base,
          unavailable:
            `no responder behind ${host} (the platform has no WebSocket that stays open without ` +
            `credentials): idle timeout not tested; lint the live routes (nap-verify kit lint) or run the ` +
            `responder in a maintenance window`,
        };
      const url = `${originFor(ctx, role, 'wss')}${WELL_KNOWN}/ws`;
      const address = addressFor(ctx, role, up);
      const o = { url, address, holdMs: ctx.holdS * 1000, timeoutMs: ctx.timeoutMs, signal: tools.signal };
      const pair: HoldPair = {};
      const [silent, keepalive] = await Promise.all([
        holdWebSocket({ ...o, pair }),
        holdWebSocket({ ...o, pair, keepaliveMs: TWIN_BEAT_MS }),
      ]);
      return { ...base, silent, keepalive, ...analyzeHold(silent, keepalive, controller) };
    },
    judge: (ev, ctx) => judgeHold(ev, ctx, 'WebSocket'),
  };
}

const H1_ONLY = 'SSE_BUFFERED_HTTP1';

/** What sse.main's failure means for a hold: nothing can be observed through a buffer or a non-stream. */
const NOT_HOLDABLE: Record<string, string> = {
  SSE_BUFFERED:
    'the proxy holds the stream back (SSE_BUFFERED in sse.main), and a hold cannot be observed through a buffer',
  SSE_BAD_TYPE: 'the answer is not an event stream (SSE_BAD_TYPE in sse.main), so there is no stream to hold',
};

/** hold.sse.main: the SSE stream on <d> (nap-cp's), held like the WebSockets, by the responder's event stream. */
export function holdSseCheck(): CheckDef<HoldEvidence> {
  return {
    meta: holdMeta(
      'hold.sse.main',
      'Idle SSE stream held on <d>',
      'An SSE response that goes silent after its first events is still open after --hold seconds and delivers ' +
        'its closing event; a cut is timed to 0.1 s and told idle from lifetime by a twin with comment ' +
        "keep-alives every 0.5 s. An idle timeout longer than nap-cp's 15 s SSE heartbeat is a warning, not a failure.",
      { HOLD_IDLE_HEARTBEAT },
    ),
    needs: (ctx) => [...transportNeeds(ctx, 'main'), { id: 'http.main', tolerate: SOFT_HTTP_CODES }],
    // sse.main first: a stream it found buffered or not an event stream gives no hold verdict.
    after: () => ['sse.main'],
    deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
    async gather(ctx, up, tools) {
      const http = evidenceOf(up, 'http.main');
      const controller = http?.controller as Controller | undefined;
      const host = ctx.target.domain;
      const base = { host, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
      if (!http?.responder)
        return {
          ...base,
          unavailable:
            `no responder behind ${host} (the platform has no SSE stream open without credentials): ` +
            `idle timeout not tested; lint the live routes (nap-verify kit lint) or run the responder in a ` +
            `maintenance window`,
        };
      const sse = up.get('sse.main');
      if (sse?.status === 'fail') {
        const why = NOT_HOLDABLE[sse.code ?? ''] ?? `sse.main failed (${sse.code ?? sse.message})`;
        return { ...base, unavailable: `no hold on ${host}: ${why}` };
      }
      const path = `${WELL_KNOWN}/sse?hold=${ctx.holdS}`;
      const twinPath = `${path}&beat=${TWIN_BEAT_MS / 1000}`;
      const o = {
        address: addressFor(ctx, 'main', up),
        timeoutMs: ctx.timeoutMs,
        expectMs: ctx.holdS * 1000,
        signal: tools.signal,
      };
      const shared: HoldPair = {};
      // Buffered for HTTP/1.1 clients only: held over HTTP/2, where the events (and so a cut) can be seen.
      const overH2 = sse?.code === H1_ONLY;
      const read = (p: string, as: 'silent' | 'twin'): Promise<SseTimeline> =>
        overH2
          ? h2Sse({ ...o, host, port: ctx.httpsPort, path: p, pair: { shared, as } }).then(
              (r) => r.stream ?? { url: p, events: [], end: { how: 'error', detail: r.connection.error ?? 'no h2' } },
            )
          : readSse({ ...o, url: `${originFor(ctx, 'main')}${p}`, pair: { shared, as } });
      const [silent, twin] = await Promise.all([read(path, 'silent'), read(twinPath, 'twin')]);
      return {
        ...base,
        ...(overH2 ? { protocol: 'h2' as const } : {}),
        silent: sseAsHold(silent),
        keepalive: sseAsHold(twin),
        ...analyzeHold(sseAsHold(silent), sseAsHold(twin), controller),
      };
    },
    judge: (ev, ctx) => {
      const j = judgeHold(ev, ctx, 'SSE stream');
      if (ev.protocol !== 'h2' || j.status === 'skip') return j;
      return {
        ...j,
        message: `${j.message} (held over HTTP/2: the proxy buffers the stream for HTTP/1.1 clients, ${H1_ONLY})`,
      };
    },
  };
}

/** An SSE timeline as a hold timeline: the stream "opens" when its 200 headers arrive. */
export function sseAsHold(t: SseTimeline): Timeline {
  // A non-200 answer is not a stream that opened: no hold verdict is made from it.
  const opened = t.status === 200 ? { openedAt: t.headersAt } : {};
  return {
    ...opened,
    lastByteAt: t.lastByteAt,
    endedAt: t.endedAt,
    end: t.end,
    ...(t.outlivedMs !== undefined ? { outlivedMs: t.outlivedMs } : {}),
  };
}
