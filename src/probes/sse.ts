// A server-sent-event stream read through the proxy with a timeline of what arrived when: enough to see
// buffering (ticks sent 0.5 s apart arriving together) and to see a silent stream being cut.
import { createParser } from 'eventsource-parser';
import { Agent, request } from './undici.js';
import { pinnedLookup, UNVERIFIED_TLS } from './http.js';
import { reportSilentEnd, twinHasOutlived, type HoldPair, type StreamEnd } from './hold-pair.js';

export interface SseTimeline {
  url: string;
  status?: number;
  contentType?: string;
  contentEncoding?: string;
  server?: string;
  /** ms since the probe started. */
  headersAt?: number;
  lastByteAt?: number;
  endedAt?: number;
  /** (ms, kind, name): events by their `event:` name, comments as `: text` — bounded. */
  events: Array<[number, 'event' | 'comment', string]>;
  /** First bytes of a non-200 body. */
  body?: string;
  end: StreamEnd;
  /** A keep-alive twin stopped, still carrying data, this many ms of age after the silent stream's cut. */
  outlivedMs?: number;
}

const MAX_EVENTS = 256;

export interface SseOptions {
  url: string;
  address: string;
  timeoutMs: number;
  /** How long the stream is expected to run; the probe's own deadline is this plus room. */
  expectMs: number;
  /** Stop reading once this event has arrived (what was to be measured has been): the stream counts as complete. */
  stopAfter?: string;
  /** In a hold: this stream's part in the silent/twin pair (the silent one reports its cut, the twin stops after). */
  pair?: { shared: HoldPair; as: 'silent' | 'twin' };
  signal?: AbortSignal;
}

export async function readSse(o: SseOptions): Promise<SseTimeline> {
  const tl = await readSseStream(o);
  if (o.pair?.as === 'silent') reportSilentEnd(o.pair.shared, tl.end, tl.headersAt, tl.endedAt ?? 0);
  return tl;
}

/**
 * What the stream's text says, fed chunk by chunk as it arrives: events and comments into `events` (bounded), and
 * whether the `bye` or the awaited event came. Apart from the network so that it can be fuzzed on its own.
 */
export function sseRecorder(events: SseTimeline['events'], now: () => number, stopAfter?: string) {
  // Line ends are normalised here: eventsource-parser lost a line that ended in a lone CR at the end of one chunk
  // (":" "\r" "d" gave nothing, ":\rd" a comment); a CRLF split across chunks must still count once.
  let endedInCr = false;
  const feed = (text: string) => {
    if (endedInCr && text.startsWith('\n')) text = text.slice(1);
    endedInCr = text.endsWith('\r');
    parser.feed(text.replace(/\r\n?/g, '\n'));
  };
  const rec = { sawBye: false, stopped: false, feed };
  const parser = createParser({
    onEvent: (e) => {
      if (events.length < MAX_EVENTS) events.push([now(), 'event', e.event ?? 'message']);
      if (e.event === 'bye') rec.sawBye = true;
      if (stopAfter && e.event === stopAfter) rec.stopped = true;
    },
    onComment: (c) => {
      if (events.length < MAX_EVENTS) events.push([now(), 'comment', c.trim().slice(0, 40)]);
    },
  });
  return rec;
}

export const SSE_MAX_EVENTS = MAX_EVENTS;

async function readSseStream(o: SseOptions): Promise<SseTimeline> {
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const tl: SseTimeline = { url: o.url, events: [], end: { how: 'timeout', detail: 'not finished' } };
  const deadline = AbortSignal.timeout(o.expectMs + 2 * o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
  // bodyTimeout 0: silence is what we measure; the deadline above bounds it instead.
  const agent = new Agent({
    connect: { lookup: pinnedLookup(o.address), ...UNVERIFIED_TLS, timeout: o.timeoutMs },
    headersTimeout: o.timeoutMs,
    bodyTimeout: 0,
  });
  const rec = sseRecorder(tl.events, now, o.stopAfter);
  try {
    // Accept compression as browsers do, so a proxy that compresses (and so buffers) the stream shows itself.
    const res = await request(o.url, {
      method: 'GET',
      dispatcher: agent,
      signal,
      headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'nap-verify' },
    });
    tl.headersAt = now();
    tl.lastByteAt = tl.headersAt;
    tl.status = res.statusCode;
    const h = (k: string) => (res.headers[k] === undefined ? undefined : String(res.headers[k]));
    const ct = h('content-type');
    const ce = h('content-encoding');
    const sv = h('server');
    if (ct) tl.contentType = ct;
    if (ce) tl.contentEncoding = ce;
    if (sv) tl.server = sv;
    if (res.statusCode !== 200) {
      tl.body = await firstBytes(res.body, 2048);
      tl.endedAt = now();
      tl.end = { how: 'http', status: res.statusCode };
      return tl;
    }
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      tl.lastByteAt = now();
      // A compressed stream cannot be parsed as text; its arrival times still tell the story.
      if (!tl.contentEncoding) rec.feed(decoder.decode(chunk, { stream: true }));
      const twin = o.pair?.as === 'twin' ? o.pair.shared : undefined;
      if (twin && twinHasOutlived(twin, tl.lastByteAt - tl.headersAt!)) {
        tl.outlivedMs = tl.lastByteAt - tl.headersAt! - twin.silentCutAgeMs!;
        rec.stopped = true;
      }
      if (rec.stopped) {
        res.body.destroy();
        tl.endedAt = now();
        tl.end = { how: 'survived' };
        return tl;
      }
    }
    tl.endedAt = now();
    tl.end =
      rec.sawBye || tl.contentEncoding
        ? { how: 'survived' }
        : { how: 'eof', detail: 'the stream ended before its bye event' };
  } catch (e) {
    tl.endedAt = now();
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err.code ?? err.cause?.code ?? '';
    if (signal.aborted)
      tl.end = {
        how: 'timeout',
        detail: o.signal?.aborted ? 'aborted' : `no end within ${o.expectMs + 2 * o.timeoutMs} ms`,
      };
    else if (rec.sawBye) tl.end = { how: 'survived' };
    // undici's "other side closed" is a FIN before the response was complete; ECONNRESET is a reset.
    else if (code === 'UND_ERR_SOCKET' && /other side closed/.test(err.message))
      tl.end = { how: 'eof', detail: 'connection closed mid-stream (FIN)' };
    else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') tl.end = { how: 'reset', detail: err.message };
    else tl.end = { how: 'error', detail: `${code ? `${code}: ` : ''}${err.message}` };
  } finally {
    void agent.destroy().catch(() => {});
  }
  return tl;
}

/** The start of a body as text, at most `max` bytes: an error page can be large, and only its first words matter. */
async function firstBytes(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // What arrived before the error is what there is to show.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
