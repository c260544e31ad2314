// hold.ws.<role> and hold.sse.main: a silent stream stays open for --hold seconds and still carries data; when
// it does not, when and how it was cut, and (from its keep-alive twin) whether that is an idle or a lifetime limit.
import type { CheckDef, CheckMeta, Controller, Judgement, Role, RunContext } from '../../src/model.js';
import type { SseTimeline } from '../../src/probes/sse.js';
import { holdWebSocket, type HoldTimeline, type StreamEnd } from '../../src/probes/ws.js';
import { culpritFor, describeEnd, STREAM_TIMEOUT_FIX } from './culprit.js';
import { addressFor, dnsAfter, ingressOnly, originFor, WELL_KNOWN } from './routing.js';
import type { WsEvidence } from './ws-role.js';

type Timeline = Pick<HoldTimeline, 'openedAt' | 'lastByteAt' | 'endedAt' | 'end'>;

export interface HoldEvidence {
  host: string;
  holdS: number;
  /** Why nothing was held (no responder to hold a stream against). */
  unavailable?: string;
  silent?: Timeline;
  keepalive?: Timeline;
  controller?: Controller;
  /** Filled when the silent stream did not survive. */
  cutAfterS?: number;
  ageS?: number;
  limit?: 'idle' | 'lifetime' | 'unknown';
  ended?: string;
  culprit?: string;
}

/** Seconds to one decimal, from the probe's millisecond marks. */
const secs = (ms: number) => Math.round(ms / 100) / 10;

/** The measured facts of a cut: pure, shared by the WebSocket and SSE holds. */
export function analyzeHold(silent: Timeline, twin: Timeline | undefined, controller?: Controller): Pick<HoldEvidence, 'cutAfterS' | 'ageS' | 'limit' | 'ended' | 'culprit'> {
  if (silent.end.how === 'survived') return {};
  const endedAt = silent.endedAt ?? 0;
  const cutAfterS = secs(endedAt - (silent.lastByteAt ?? silent.openedAt ?? endedAt));
  const ageS = secs(endedAt - (silent.openedAt ?? endedAt));
  let limit: HoldEvidence['limit'] = 'unknown';
  if (twin?.end.how === 'survived') limit = 'idle';
  else if (twin && twin.endedAt !== undefined && Math.abs(secs(twin.endedAt - (twin.openedAt ?? 0)) - ageS) <= 1.5) limit = 'lifetime';
  const measured = limit === 'lifetime' ? ageS : cutAfterS;
  return { cutAfterS, ageS, limit, ended: describeEnd(silent.end), culprit: culpritFor(measured, controller, silent.end) };
}

export const keepaliveMs = (holdS: number) => Math.max(250, Math.min(20_000, (holdS * 1000) / 4));

export function holdMeta(id: string, title: string, proves: string): CheckMeta {
  return {
    id,
    area: 'hold',
    title,
    proves,
    codes: {
      HOLD_CUT: {
        status: 'fail',
        why: 'A proxy on the path closed a stream that was merely quiet (or too old): NAP\'s WebSocket and SSE connections go quiet for minutes, so users see disconnects and reconnect loops.',
        fix: STREAM_TIMEOUT_FIX,
      },
      HOLD_SHORT: {
        status: 'warn',
        why: 'The hold was 60 s or shorter, so it cannot show whether the common 60 s idle default is still in force.',
        fix: 'Run with --hold 75 (the default) or longer.',
      },
    },
  };
}

export function judgeHold(ev: HoldEvidence, ctx: RunContext, kind: 'WebSocket' | 'SSE stream'): Judgement {
  const host = ev.host;
  const base = { host, ...(ev.controller ? { controller: ev.controller } : {}) };
  if (ev.unavailable || !ev.silent) return { ...base, status: 'skip', message: ev.unavailable ?? 'not held' };
  if (ev.silent.end.how === 'survived') {
    const held = `silent ${kind} stayed open ${ev.holdS} s and still carried data afterwards`;
    if (ctx.holdS <= 60) return { ...base, status: 'warn', code: 'HOLD_SHORT', message: `${held}, but --hold ${ev.holdS} ≤ 60 proves nothing about the common 60 s default` };
    return { ...base, status: 'pass', message: held };
  }
  const twin = ev.limit === 'idle' ? '; its keep-alive twin survived: an idle timeout' : ev.limit === 'lifetime' ? '; its keep-alive twin died at the same age: a lifetime cap' : '';
  return {
    ...base, status: 'fail', code: 'HOLD_CUT',
    message: `silent ${kind} to ${host} cut ${ev.cutAfterS?.toFixed(1)} s after its last byte (open ${ev.ageS?.toFixed(1)} s; ${ev.ended})${twin}; likely ${ev.culprit}`,
  };
}

export function holdWsCheck(role: Role): CheckDef<HoldEvidence> {
  const id = `hold.ws.${role}`;
  return {
    meta: holdMeta(id, `Idle WebSocket held on ${role === 'main' ? '<d>' : role === 'preview' ? '*.sandbox.<d>' : `${role}.<d>`}`,
      'A WebSocket that carries nothing for --hold seconds is still open afterwards and echoes a message; a cut is timed to 0.1 s and told idle from lifetime by a keep-alive twin.'),
    ...(role === 'preview' ? { appliesTo: (ctx: RunContext) => ingressOnly(ctx, 'no preview wildcard host') } : {}),
    needs: () => [`ws.${role}`],
    after: (ctx) => dnsAfter(ctx, role),
    deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
    async gather(ctx, up, tools) {
      const ws = up.get(`ws.${role}`)?.evidence as Partial<WsEvidence> | undefined;
      const host = ctx.target.hosts[role];
      const controller = ws?.controller as Controller | undefined;
      const base = { host, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
      if (ws?.endpoint !== 'responder') return { ...base, unavailable: 'no responder behind this host (the platform has no WebSocket that stays open without credentials): deploy `nap-verify serve`' };
      const url = originFor(ctx, role, 'wss') + `${WELL_KNOWN}/ws`;
      const address = addressFor(ctx, role, up);
      const o = { url, address, holdMs: ctx.holdS * 1000, timeoutMs: ctx.timeoutMs, signal: tools.signal };
      const [silent, keepalive] = await Promise.all([holdWebSocket(o), holdWebSocket({ ...o, keepaliveMs: keepaliveMs(ctx.holdS) })]);
      return { ...base, silent, keepalive, ...analyzeHold(silent, keepalive, controller) };
    },
    judge: (ev, ctx) => judgeHold(ev, ctx, 'WebSocket'),
  };
}

/** An SSE timeline as a hold timeline: the stream "opens" when its headers arrive. */
export function sseAsHold(t: SseTimeline): Timeline {
  return { openedAt: t.headersAt, lastByteAt: t.lastByteAt, endedAt: t.endedAt, end: t.end as StreamEnd };
}
