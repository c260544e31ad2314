// sse.main: events reach the client as they are sent — not held back by proxy buffering or compression.
import type { CheckDef, Judgement, RunContext, Upstream } from '../src/model.js';
import { readSse, type SseTimeline } from '../src/probes/sse.js';
import { addressFor, dnsAfter, originFor, SOFT_HTTP_CODES, transportNeeds, WELL_KNOWN } from './_lib/routing.js';
import { evidenceOf } from './_lib/evidence.js';

interface SseEvidence {
  host: string;
  unavailable?: string;
  controller?: string;
  stream?: SseTimeline;
  /** Arrival of the hello event and the first tick (sent TICK_GAP_MS after it), ms after the headers. */
  helloAt?: number;
  tickAt?: number;
  /** When the first attempt saw hello and tick together: its gap (ms); the evidence above is the second attempt. */
  firstGapMs?: number;
}

/**
 * The responder sends its first tick TICK_GAP_MS after hello (§7 `&gap=`): a proxy that buffers delivers them
 * together when the 1 s stream ends. 100 ms keeps a healthy run short (even read early, the stream ends the
 * critical path of a --no-hold run: 150 ms made it 0.32 s, 100 ms 0.27 s) and still far above the few ms a buffered
 * pair arrives apart; under 60 % of the gap counts as held back, and a pair seen together once is measured again
 * (a busy machine reading two chunks in one go). A proxy flushing on a timer of ~100 ms passes, as it should: events
 * that late are still live.
 */
export const TICK_GAP_MS = 100;
const BUFFERED_BELOW_MS = Math.round(TICK_GAP_MS * 0.6);

const FIRST_READ = 'sse.main:first-read';

// hold=1: a buffering proxy releases everything when the stream ends after 1 s; a healthy one shows the first tick
// TICK_GAP_MS after hello, and we stop there.
async function measure(ctx: RunContext, up: Upstream, signal: AbortSignal) {
  const stream = await readSse({
    url: `${originFor(ctx, 'main')}${WELL_KNOWN}/sse?hold=1&gap=${TICK_GAP_MS}`,
    address: addressFor(ctx, 'main', up),
    timeoutMs: ctx.timeoutMs,
    expectMs: 1000,
    signal,
    stopAfter: 'tick',
  });
  const at = (name: string) => stream.events.find(([, kind, n]) => kind === 'event' && n === name)?.[0];
  const rel = (t: number | undefined) => (t === undefined ? undefined : t - (stream.headersAt ?? 0));
  return { stream, helloAt: rel(at('hello')), tickAt: rel(at('tick')) };
}

const check: CheckDef<SseEvidence> = {
  meta: {
    id: 'sse.main',
    area: 'sse',
    title: 'SSE delivered as sent',
    proves:
      `A server-sent-event stream through the ingress is text/event-stream, uncompressed, and its events ` +
      `arrive as they are sent (the first tick, sent ${TICK_GAP_MS / 1000} s after hello, arrives ` +
      `${TICK_GAP_MS / 1000} s after it).`,
    codes: {
      SSE_BUFFERED: {
        status: 'fail',
        why:
          'The proxy holds events back (response buffering or compression) and releases them in bursts: live ' +
          'progress and chat streams in NAP stall.',
        fix: {
          general: 'Turn response buffering and compression off for text/event-stream.',
          'ingress-nginx':
            'nginx.ingress.kubernetes.io/proxy-buffering: "off" on the Ingress (plain nginx: proxy_buffering ' +
            'off; or the backend header X-Accel-Buffering: no), and leave text/event-stream out of gzip_types.',
          nginx:
            'In the location that proxies NAP: proxy_buffering off; (or the backend header X-Accel-Buffering: ' +
            'no), and leave text/event-stream out of gzip_types.',
          contour: 'Envoy streams by default: remove compression filters for text/event-stream.',
          traefik:
            'Remove the compress middleware from the route (or exclude text/event-stream); ' +
            'responseForwarding.flushInterval.',
          istio: 'Remove EnvoyFilters that add buffering or compression on this route.',
          haproxy:
            'Disable compression for text/event-stream (compression type without it); option http-buffer-request off.',
        },
      },
      SSE_BAD_TYPE: {
        status: 'fail',
        why:
          'The stream does not arrive as text/event-stream with status 200: something in front rewrote or ' +
          'replaced the response.',
        fix: 'Check for an error page or a content-type rewrite in front of nap-cp.',
      },
    },
  },
  needs: (ctx) => [...transportNeeds(ctx, 'main'), { id: 'http.main', tolerate: SOFT_HTTP_CODES }],
  // The first read takes TICK_GAP_MS whatever the ingress: it starts once the address is known, beside tls.main and
  // http.main, instead of after them. http.main still decides whether it is read at all (no responder: skip).
  early: {
    after: (ctx) => dnsAfter(ctx, 'main'),
    start(ctx, up, tools) {
      void tools.probe(FIRST_READ, () => measure(ctx, up, tools.signal));
    },
  },
  async gather(ctx, up, tools) {
    const http = evidenceOf(up, 'http.main');
    const base = { host: ctx.target.domain, ...(http?.controller ? { controller: http.controller } : {}) };
    if (!http?.responder)
      return {
        ...base,
        unavailable:
          `no responder behind ${ctx.target.domain} (the platform has no SSE stream open without ` +
          `credentials): buffering not tested; run the responder in a maintenance window`,
      };
    let m = await tools.probe(FIRST_READ, () => measure(ctx, up, tools.signal));
    // Together once may be this machine, busy, reading two chunks in one go; a buffer holds them together every time.
    const together = (x: typeof m) =>
      x.helloAt !== undefined && x.tickAt !== undefined && x.tickAt - x.helloAt < BUFFERED_BELOW_MS;
    let firstGapMs: number | undefined;
    if (together(m) && !tools.signal.aborted) {
      firstGapMs = m.tickAt! - m.helloAt!;
      m = await measure(ctx, up, tools.signal);
    }
    const { stream, helloAt, tickAt } = m;
    return {
      ...base,
      stream,
      ...(helloAt !== undefined ? { helloAt } : {}),
      ...(tickAt !== undefined ? { tickAt } : {}),
      ...(firstGapMs !== undefined ? { firstGapMs } : {}),
    };
  },
  judge(ev): Judgement {
    const host = ev.host;
    const base = { host, ...(ev.controller ? { controller: ev.controller as Judgement['controller'] } : {}) };
    if (ev.unavailable || !ev.stream) return { ...base, status: 'skip', message: ev.unavailable ?? 'not measured' };
    const s = ev.stream;
    if (s.status !== 200)
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BAD_TYPE',
        message:
          `the SSE stream answered ` +
          `${s.status ?? s.end.how}${s.body ? `: ${JSON.stringify(s.body.slice(0, 80))}` : ''}`,
      };
    if (!/^text\/event-stream/i.test(s.contentType ?? ''))
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BAD_TYPE',
        message: `the SSE stream arrived as ${s.contentType ?? 'no content type'}, not text/event-stream`,
      };
    if (s.contentEncoding)
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BUFFERED',
        message: `the SSE stream was compressed (${s.contentEncoding}) on the way: compression holds events back`,
      };
    if (ev.helloAt === undefined || ev.tickAt === undefined)
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BUFFERED',
        message:
          `${ev.helloAt === undefined ? 'no hello event' : 'no tick'} arrived before the stream ended ` +
          `(${s.end.how}): events are held back`,
      };
    const gap = ev.tickAt - ev.helloAt;
    if (gap < BUFFERED_BELOW_MS)
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BUFFERED',
        message:
          `hello and the first tick, sent ${TICK_GAP_MS / 1000} s apart, arrived within ${gap} ms of each ` +
          `other, ${(ev.tickAt / 1000).toFixed(1)} s after the ` +
          `headers${ev.firstGapMs !== undefined ? ` (twice: ${ev.firstGapMs} ms the first time)` : ''}: the ` +
          `proxy buffers the stream`,
      };
    return {
      ...base,
      status: 'pass',
      message: `text/event-stream, uncompressed, first tick ${(gap / 1000).toFixed(2)} s after hello as sent`,
    };
  },
};

export default check;
