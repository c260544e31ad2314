// hold.sse.main: a server-sent-event stream on <d> that goes quiet after its first ticks stays open for --hold.
// Built with the WebSocket holds in checks/_lib/hold.ts (one home for holds' gathering and judgement).
import { holdSseCheck } from './_lib/hold.js';

export default holdSseCheck();
