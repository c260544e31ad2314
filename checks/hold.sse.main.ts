// hold.sse.main: a server-sent-event stream on <d> that goes quiet after its first ticks stays open for --hold.
import type { CheckDef, Controller } from '../src/model.js';
import { readSse } from '../src/probes/sse.js';
import { TWIN_BEAT_MS, type HoldPair } from '../src/probes/ws.js';
import { analyzeHold, HOLD_IDLE_HEARTBEAT, holdMeta, judgeHold, sseAsHold, type HoldEvidence } from './_lib/hold.js';
import { addressFor, originFor, SOFT_HTTP_CODES, transportNeeds, WELL_KNOWN } from './_lib/routing.js';
import { evidenceOf } from './_lib/evidence.js';

/** What sse.main's failure means for a hold: nothing can be observed through a buffer or a non-stream. */
const NOT_HOLDABLE: Record<string, string> = {
  SSE_BUFFERED: 'the proxy holds the stream back (SSE_BUFFERED in sse.main), and a hold cannot be observed through a buffer',
  SSE_BAD_TYPE: 'the answer is not an event stream (SSE_BAD_TYPE in sse.main), so there is no stream to hold',
};

const check: CheckDef<HoldEvidence> = {
  meta: holdMeta('hold.sse.main', 'Idle SSE stream held on <d>',
    'An SSE response that goes silent after its first events is still open after --hold seconds and delivers its closing event; a cut is timed to 0.1 s and told idle from lifetime by a twin with comment keep-alives every 0.5 s. An idle timeout longer than nap-cp\'s 15 s SSE heartbeat is a warning, not a failure.',
    { HOLD_IDLE_HEARTBEAT }),
  needs: (ctx) => [...transportNeeds(ctx, 'main'), { id: 'http.main', tolerate: SOFT_HTTP_CODES }],
  // sse.main first: a stream it found buffered or not an event stream gives no hold verdict.
  after: () => ['sse.main'],
  deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
  async gather(ctx, up, tools) {
    const http = evidenceOf(up, 'http.main');
    const controller = http?.controller as Controller | undefined;
    const host = ctx.target.domain;
    const base = { host, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
    if (!http?.responder) return { ...base, unavailable: `no responder behind ${host} (the platform has no SSE stream open without credentials): idle timeout not tested; lint the live routes (nap-verify kit lint) or run the responder in a maintenance window` };
    const sse = up.get('sse.main');
    if (sse?.status === 'fail') return { ...base, unavailable: `no hold on ${host}: ${NOT_HOLDABLE[sse.code ?? ''] ?? `sse.main failed (${sse.code ?? sse.message})`}` };
    const url = `${originFor(ctx, 'main')}${WELL_KNOWN}/sse?hold=${ctx.holdS}`;
    const o = { address: addressFor(ctx, 'main', up), timeoutMs: ctx.timeoutMs, expectMs: ctx.holdS * 1000, signal: tools.signal };
    const shared: HoldPair = {};
    const [silent, twin] = await Promise.all([
      readSse({ ...o, url, pair: { shared, as: 'silent' } }),
      readSse({ ...o, url: `${url}&beat=${TWIN_BEAT_MS / 1000}`, pair: { shared, as: 'twin' } }),
    ]);
    return { ...base, silent: sseAsHold(silent), keepalive: sseAsHold(twin), ...analyzeHold(sseAsHold(silent), sseAsHold(twin), controller) };
  },
  judge: (ev, ctx) => judgeHold(ev, ctx, 'SSE stream'),
};

export default check;
