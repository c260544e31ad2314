// hold.sse.main: a server-sent-event stream on <d> that goes quiet after its first ticks stays open for --hold.
import type { CheckDef, Controller } from '../src/model.js';
import { readSse } from '../src/probes/sse.js';
import type { HttpRoleEvidence } from './_lib/http-role.js';
import { analyzeHold, holdMeta, judgeHold, keepaliveMs, sseAsHold, type HoldEvidence } from './_lib/hold.js';
import { addressFor, originFor, SOFT_HTTP_CODES, transportNeeds, WELL_KNOWN } from './_lib/routing.js';

const check: CheckDef<HoldEvidence> = {
  meta: holdMeta('hold.sse.main', 'Idle SSE stream held on <d>',
    'An SSE response that goes silent after its first events is still open after --hold seconds and delivers its closing event; a cut is timed to 0.1 s and told idle from lifetime by a twin with comment keep-alives.'),
  needs: (ctx) => [...transportNeeds(ctx, 'main'), { id: 'http.main', tolerate: SOFT_HTTP_CODES }],
  deadlineMs: (ctx) => ctx.holdS * 1000 + 4 * ctx.timeoutMs + 2000,
  async gather(ctx, up, tools) {
    const http = up.get('http.main')?.evidence as Partial<HttpRoleEvidence> | undefined;
    const controller = http?.controller as Controller | undefined;
    const base = { host: ctx.target.domain, holdS: ctx.holdS, ...(controller ? { controller } : {}) };
    if (!http?.responder) return { ...base, unavailable: 'no responder behind <d> (the platform has no SSE stream open without credentials): deploy `nap-verify serve`' };
    const url = `${originFor(ctx, 'main')}${WELL_KNOWN}/sse?hold=${ctx.holdS}`;
    const o = { address: addressFor(ctx, 'main', up), timeoutMs: ctx.timeoutMs, expectMs: ctx.holdS * 1000, signal: tools.signal };
    const [silent, twin] = await Promise.all([readSse({ ...o, url }), readSse({ ...o, url: `${url}&beat=${keepaliveMs(ctx.holdS) / 1000}` })]);
    return { ...base, silent: sseAsHold(silent), keepalive: sseAsHold(twin), ...analyzeHold(sseAsHold(silent), sseAsHold(twin), controller) };
  },
  judge: (ev, ctx) => judgeHold(ev, ctx, 'SSE stream'),
};

export default check;
