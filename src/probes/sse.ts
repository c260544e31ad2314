// A server-sent-event stream read through the proxy with a timeline of what arrived when: enough to see
// buffering (ticks sent 0.5 s apart arriving together) and to see a silent stream being cut.
import { createParser } from 'eventsource-parser';
import { requestHead, ResponseParser } from './http1.js';
import { takePreconnected } from './preconnect.js';
import { connect } from './raw-http.js';
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
  const limitMs = o.expectMs + 2 * o.timeoutMs;
  const url = new URL(o.url);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const early =
    url.protocol === 'https:' ? await takePreconnected(o.address, port, url.hostname, 'http/1.1') : undefined;
  const conn = early ?? (await connect(url, o.address, o.timeoutMs, o.signal));
  if ('error' in conn) {
    tl.endedAt = now();
    tl.end = o.signal?.aborted
      ? { how: 'timeout', detail: 'aborted' }
      : { how: 'error', detail: `${conn.error.code}: ${conn.error.message}` };
    return tl;
  }
  const { sock } = conn;
  const rec = sseRecorder(tl.events, now, o.stopAfter);
  const decoder = new TextDecoder();
  const errorBody: Buffer[] = [];
  let errorBytes = 0;
  return new Promise((resolve) => {
    let settled = false;
    const done = (end: StreamEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(headersTimer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      tl.endedAt = now();
      tl.end = end;
      if (errorBytes) tl.body = Buffer.concat(errorBody).subarray(0, 2048).toString('utf8');
      resolve(tl);
    };
    const onPiece = (piece: Buffer) => {
      tl.lastByteAt = now();
      if (tl.status !== 200) {
        // The start of an error page is what there is to show; the rest is not read.
        errorBody.push(piece);
        errorBytes += piece.length;
        if (errorBytes >= 2048) done({ how: 'http', status: tl.status! });
        return;
      }
      // A compressed stream cannot be parsed as text; its arrival times still tell the story.
      if (!tl.contentEncoding) rec.feed(decoder.decode(piece, { stream: true }));
      const twin = o.pair?.as === 'twin' ? o.pair.shared : undefined;
      if (twin && twinHasOutlived(twin, tl.lastByteAt - tl.headersAt!)) {
        tl.outlivedMs = tl.lastByteAt - tl.headersAt! - twin.silentCutAgeMs!;
        rec.stopped = true;
      }
      if (rec.stopped) done({ how: 'survived' });
    };
    // The stream as it comes, whatever its framing; its body is never kept here (onPiece reads it).
    const parser = new ResponseParser('GET', 0, onPiece, (h) => {
      clearTimeout(headersTimer);
      tl.headersAt = now();
      tl.lastByteAt = tl.headersAt;
      tl.status = h.status;
      if (h.headers['content-type']) tl.contentType = h.headers['content-type'];
      if (h.headers['content-encoding']) tl.contentEncoding = h.headers['content-encoding'];
      if (h.headers.server) tl.server = h.headers.server;
    });
    const complete = (): StreamEnd =>
      tl.status !== 200
        ? { how: 'http', status: tl.status! }
        : rec.sawBye || tl.contentEncoding
          ? { how: 'survived' }
          : { how: 'eof', detail: 'the stream ended before its bye event' };
    // Silence is what a hold measures: no deadline between bytes, only the stream's own (expectMs + two steps).
    const deadline = setTimeout(() => done({ how: 'timeout', detail: `no end within ${limitMs} ms` }), limitMs);
    const headersTimer = setTimeout(
      () => done({ how: 'error', detail: 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error' }),
      o.timeoutMs,
    );
    const onAbort = () => done({ how: 'timeout', detail: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('data', (chunk: Buffer) => {
      parser.feed(chunk);
      if (settled) return;
      if (parser.error) return done({ how: 'error', detail: `${parser.error.code}: ${parser.error.message}` });
      if (parser.done) done(complete());
    });
    // A FIN: the end of a stream framed by the close, else the connection closed under it.
    sock.on('end', () => {
      parser.end();
      if (parser.done) return done(complete());
      if (rec.sawBye) return done({ how: 'survived' });
      done({
        how: 'eof',
        detail: parser.head ? 'connection closed mid-stream (FIN)' : 'closed without an answer (FIN)',
      });
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      done(
        rec.sawBye
          ? { how: 'survived' }
          : e.code === 'ECONNRESET' || e.code === 'EPIPE'
            ? { how: 'reset', detail: e.message }
            : { how: 'error', detail: `${e.code ? `${e.code}: ` : ''}${e.message}` },
      ),
    );
    sock.on('close', () => done(rec.sawBye ? { how: 'survived' } : { how: 'reset', detail: 'connection closed' }));
    // Accept compression as browsers do, so a proxy that compresses (and so buffers) the stream shows itself.
    sock.write(
      requestHead('GET', url, {
        Accept: 'text/event-stream',
        'Accept-Encoding': 'gzip, deflate, br',
      }),
    );
  });
}
