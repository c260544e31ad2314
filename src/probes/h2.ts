// HTTP/2 the way browsers use it: one TLS connection (ALPN h2) pinned to an address, its SETTINGS, several
// requests with their own :authority on it (connection coalescing), and WebSockets over Extended CONNECT
// (RFC 8441). Evidence only; the checks decide. Every step has a deadline and every session is closed.
import { setMaxListeners } from 'node:events';
import http2 from 'node:http2';
import tls from 'node:tls';
import { type HoldPair, reportSilentEnd, type StreamEnd, twinHasOutlived } from './hold-pair.js';
import { UNVERIFIED_TLS } from './http.js';
import { takePreconnected } from './preconnect.js';
import { type SseTimeline, sseRecorder } from './sse.js';

export interface H2Connection {
  /** The name the connection was opened for (SNI). */
  host: string;
  address: string;
  port: number;
  /** What the server chose when offered h2 and http/1.1; h2 requests are sent only when it is `h2`. */
  alpn?: string;
  /** SETTINGS_ENABLE_CONNECT_PROTOCOL from the server's SETTINGS (RFC 8441). */
  enableConnectProtocol?: boolean;
  /** The connection itself failed (TCP, TLS, or the h2 preface). */
  error?: string;
}

export interface H2Exchange {
  authority: string;
  path: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
}

export interface H2ProbeOptions {
  host: string;
  address: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_BODY = 8192;

interface Opened {
  conn: H2Connection;
  session?: http2.ClientHttp2Session;
}

/** TLS first (to read ALPN without http2 failing on an h1 server), then the h2 session over that socket. */
async function open(o: H2ProbeOptions, deadline: AbortSignal): Promise<Opened> {
  const base = { host: o.host, address: o.address, port: o.port };
  const early = await takePreconnected(o.address, o.port, o.host, 'h2');
  // The check command's head start, in this probe's words when it failed.
  const socket = early
    ? 'sock' in early
      ? early.sock
      : early.timeout
        ? `no TLS session within ${o.timeoutMs} ms`
        : `${early.error.code !== 'ERROR' ? `${early.error.code}: ` : ''}${early.error.message}`
    : await new Promise<tls.TLSSocket | string>((resolve) => {
        const s = tls.connect({
          host: o.address,
          port: o.port,
          servername: o.host,
          ALPNProtocols: ['h2', 'http/1.1'],
          ...UNVERIFIED_TLS,
        });
        const done = (v: tls.TLSSocket | string) => {
          deadline.removeEventListener('abort', onAbort);
          s.removeAllListeners('error');
          if (typeof v === 'string') s.destroy();
          else s.on('error', () => {});
          resolve(v);
        };
        const onAbort = () => done(`no TLS session within ${o.timeoutMs} ms`);
        deadline.addEventListener('abort', onAbort, { once: true });
        s.once('secureConnect', () => done(s));
        s.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ? `${e.code}: ` : ''}${e.message}`));
      });
  if (typeof socket === 'string') return { conn: { ...base, error: socket } };
  const alpn = typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : undefined;
  if (alpn !== 'h2') {
    socket.destroy();
    return { conn: { ...base, ...(alpn ? { alpn } : {}) } };
  }
  const authority = o.port === 443 ? o.host : `${o.host}:${o.port}`;
  const session = http2.connect(`https://${authority}`, { createConnection: () => socket, maxSessionMemory: 4 });
  session.on('error', () => {});
  // The server's first SETTINGS frame says whether Extended CONNECT is offered.
  const settled = await new Promise<string | undefined>((resolve) => {
    const done = (err?: string) => {
      deadline.removeEventListener('abort', onAbort);
      resolve(err);
    };
    const onAbort = () => done(`no HTTP/2 SETTINGS within ${o.timeoutMs} ms`);
    deadline.addEventListener('abort', onAbort, { once: true });
    session.once('remoteSettings', () => done());
    session.once('error', (e: Error) => done(e.message));
    session.once('close', () => done('connection closed before SETTINGS'));
  });
  const conn: H2Connection = {
    ...base,
    alpn,
    ...(settled ? { error: settled } : { enableConnectProtocol: !!session.remoteSettings.enableConnectProtocol }),
  };
  if (settled) {
    session.destroy();
    return { conn };
  }
  return { conn, session };
}

/** A deadline for the whole probe (`steps` network steps, plus `extraMs` for a stream), tied to the run's signal. */
function deadlineFor(o: H2ProbeOptions, steps: number, extraMs = 0): { signal: AbortSignal; clear(): void } {
  const ctl = new AbortController();
  // Every stream on the connection listens to it (up to 4 hosts × 5 paths when coalescing).
  setMaxListeners(64, ctl.signal);
  const timer = setTimeout(() => ctl.abort(), o.timeoutMs * steps + extraMs);
  const onAbort = () => ctl.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ctl.signal,
    clear: () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function closeSession(session: http2.ClientHttp2Session | undefined): void {
  if (!session || session.destroyed) return;
  session.close();
  // A server that never acknowledges GOAWAY must not keep the socket open.
  setTimeout(() => session.destroy(), 1000).unref();
}

const headerRecord = (h: http2.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([k, v]) => !k.startsWith(':') && v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
  );

/**
 * Several GETs over ONE connection opened for `o.host`, each with its own :authority, as a browser coalescing
 * hosts that share a certificate and an address does. No request is sent when the server does not speak h2.
 */
export async function h2Requests(
  o: H2ProbeOptions,
  requests: Array<{ authority: string; path: string }>,
): Promise<{ connection: H2Connection; exchanges: H2Exchange[] }> {
  const deadline = deadlineFor(o, 3);
  const { conn, session } = await open(o, deadline.signal);
  try {
    if (!session) return { connection: conn, exchanges: [] };
    const exchanges = await Promise.all(requests.map((r) => oneRequest(session, r, deadline.signal)));
    return { connection: conn, exchanges };
  } finally {
    closeSession(session);
    deadline.clear();
  }
}

function oneRequest(
  session: http2.ClientHttp2Session,
  r: { authority: string; path: string },
  deadline: AbortSignal,
): Promise<H2Exchange> {
  return new Promise((resolve) => {
    let stream: http2.ClientHttp2Stream;
    const out: H2Exchange = { authority: r.authority, path: r.path };
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (error?: string) => {
      deadline.removeEventListener('abort', onAbort);
      if (chunks.length) out.body = Buffer.concat(chunks).toString('utf8');
      if (error && out.status === undefined) out.error = error;
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(out);
    };
    const onAbort = () => done('no answer before the deadline');
    try {
      stream = session.request(
        { ':method': 'GET', ':path': r.path, ':authority': r.authority, 'user-agent': 'nap-verify' },
        { endStream: true },
      );
    } catch (e) {
      resolve({ ...out, error: (e as Error).message });
      return;
    }
    deadline.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (h) => {
      out.status = Number(h[':status']);
      out.headers = headerRecord(h);
    });
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= MAX_BODY) chunks.push(c);
      else done();
    });
    stream.on('end', () => done());
    stream.on('error', (e: Error) => done(e.message));
    stream.on('close', () => done(stream.rstCode ? `stream reset (code ${stream.rstCode})` : 'stream closed'));
  });
}

export interface H2WebSocket {
  connection: H2Connection;
  /** Whether the Extended CONNECT was sent (only when the server offered it). */
  attempted: boolean;
  path?: string;
  status?: number;
  headers?: Record<string, string>;
  /** The first text frame the server sent (the responder's hello). */
  firstMessage?: string;
  /** The server's close frame, when it sent one first. */
  closeCode?: number;
  /** Body of a non-200 answer. */
  body?: string;
  error?: string;
}

/**
 * A WebSocket over HTTP/2 (RFC 8441): `:method CONNECT`, `:protocol websocket`, only when the server's SETTINGS
 * enabled it; then the server's first frame (unmasked: server frames are never masked). Without a path only the
 * SETTINGS are read.
 */
export async function h2WebSocket(o: H2ProbeOptions & { path?: string }): Promise<H2WebSocket> {
  const deadline = deadlineFor(o, 3);
  const { conn, session } = await open(o, deadline.signal);
  try {
    if (!session || !conn.enableConnectProtocol || !o.path) return { connection: conn, attempted: false };
    return await extendedConnect(session, { ...o, path: o.path }, conn, deadline.signal);
  } finally {
    closeSession(session);
    deadline.clear();
  }
}

function extendedConnect(
  session: http2.ClientHttp2Session,
  o: H2ProbeOptions & { path: string },
  conn: H2Connection,
  deadline: AbortSignal,
): Promise<H2WebSocket> {
  const authority = o.port === 443 ? o.host : `${o.host}:${o.port}`;
  return new Promise((resolve) => {
    const out: H2WebSocket = { connection: conn, attempted: true, path: o.path };
    let stream: http2.ClientHttp2Stream;
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onAbort);
      if (error && out.firstMessage === undefined && out.closeCode === undefined) out.error = error;
      if (out.status !== undefined && out.status !== 200 && buf.length)
        out.body = buf.subarray(0, MAX_BODY).toString('utf8');
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(out);
    };
    const onAbort = () =>
      done(out.status === 200 ? 'no WebSocket frame before the deadline' : 'no answer before the deadline');
    try {
      stream = session.request({
        ':method': 'CONNECT',
        ':protocol': 'websocket',
        ':scheme': 'https',
        ':path': o.path,
        ':authority': authority,
        'sec-websocket-version': '13',
        origin: `https://${authority}`,
        'user-agent': 'nap-verify',
      });
    } catch (e) {
      resolve({ ...out, error: (e as Error).message });
      return;
    }
    deadline.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (h) => {
      out.status = Number(h[':status']);
      out.headers = headerRecord(h);
    });
    stream.on('data', (c: Buffer) => {
      if (buf.length + c.length > 2 * MAX_BODY) return done('more than 16 KiB without a complete frame');
      buf = Buffer.concat([buf, c]);
      if (out.status !== 200) return;
      const frame = readFrame(buf);
      if (frame === 'incomplete') return;
      if (frame === 'invalid') return done('the server sent bytes that are not a WebSocket frame');
      if (frame.opcode === 1) out.firstMessage = frame.payload.toString('utf8');
      else if (frame.opcode === 8) out.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
      else return done(`first WebSocket frame has opcode ${frame.opcode}`);
      done();
    });
    stream.on('end', () => done(out.status === 200 ? 'stream ended before any WebSocket frame' : undefined));
    stream.on('error', (e: Error) => done(e.message));
    stream.on('close', () => done(stream.rstCode ? `stream reset (code ${stream.rstCode})` : 'stream closed'));
  });
}

/** One unmasked WebSocket frame (RFC 6455 §5.2) from the start of buf; payloads above 8 KiB are not expected. */
export function readFrame(buf: Buffer): { opcode: number; payload: Buffer } | 'incomplete' | 'invalid' {
  if (buf.length < 2) return 'incomplete';
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let at = 2;
  // Reserved bits, unknown opcodes and masked frames (a server never masks) are not a WebSocket server talking.
  if ((buf[0]! & 0x70) !== 0 || ![0, 1, 2, 8, 9, 10].includes(opcode) || (buf[1]! & 0x80) !== 0) return 'invalid';
  if (len === 126) {
    if (buf.length < 4) return 'incomplete';
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) return 'invalid';
  if (len > MAX_BODY) return 'invalid';
  if (buf.length < at + len) return 'incomplete';
  return { opcode, payload: Buffer.from(buf.subarray(at, at + len)) };
}

export interface H2SseOptions extends H2ProbeOptions {
  path: string;
  /** How long the stream is expected to run; the probe's deadline is this plus two network steps. */
  expectMs: number;
  /** Stop reading once this event has arrived. */
  stopAfter?: string;
  /** In a hold: this stream's part in the silent/twin pair, as readSse's. */
  pair?: { shared: HoldPair; as: 'silent' | 'twin' };
}

export interface H2Sse {
  connection: H2Connection;
  /** Read only when the server chose h2; the same timeline as readSse's (ms since this probe started). */
  stream?: SseTimeline;
}

/**
 * An event stream over HTTP/2, the protocol browsers use when the server offers it. A proxy may buffer per
 * downstream protocol (nginx with proxy_buffering on holds small writes back from an HTTP/1.1 client and passes
 * them to an HTTP/2 one: measured), so sse.main reads both. Nothing is requested when the server does not speak h2.
 */
export async function h2Sse(o: H2SseOptions): Promise<H2Sse> {
  const t0 = performance.now();
  const deadline = deadlineFor(o, 2, o.expectMs);
  const { conn, session } = await open(o, deadline.signal);
  try {
    if (!session) return { connection: conn };
    const stream = await sseStream(session, o, t0, deadline.signal);
    if (o.pair?.as === 'silent') reportSilentEnd(o.pair.shared, stream.end, stream.headersAt, stream.endedAt ?? 0);
    return { connection: conn, stream };
  } finally {
    closeSession(session);
    deadline.clear();
  }
}

function sseStream(
  session: http2.ClientHttp2Session,
  o: H2SseOptions,
  t0: number,
  deadline: AbortSignal,
): Promise<SseTimeline> {
  const authority = o.port === 443 ? o.host : `${o.host}:${o.port}`;
  const now = () => Math.round(performance.now() - t0);
  const tl: SseTimeline = { url: `https://${authority}${o.path}`, events: [], end: { how: 'timeout', detail: '' } };
  const rec = sseRecorder(tl.events, now, o.stopAfter);
  const decoder = new TextDecoder();
  return new Promise((resolve) => {
    let stream: http2.ClientHttp2Stream;
    let settled = false;
    let body = '';
    const done = (end: StreamEnd) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onAbort);
      tl.endedAt = now();
      tl.end = end;
      if (body) tl.body = body;
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(tl);
    };
    const onAbort = () => done({ how: 'timeout', detail: 'no end before the deadline' });
    try {
      // Accept compression as browsers do, so a proxy that compresses (and so buffers) the stream shows itself.
      stream = session.request(
        {
          ':method': 'GET',
          ':path': o.path,
          ':authority': authority,
          accept: 'text/event-stream',
          'accept-encoding': 'gzip, deflate, br',
          'user-agent': 'nap-verify',
        },
        { endStream: true },
      );
    } catch (e) {
      tl.end = { how: 'error', detail: (e as Error).message };
      resolve(tl);
      return;
    }
    deadline.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (h) => {
      tl.headersAt = now();
      tl.lastByteAt = tl.headersAt;
      tl.status = Number(h[':status']);
      const one = (k: string) => (h[k] === undefined ? undefined : String(h[k]));
      const [ct, ce, sv] = [one('content-type'), one('content-encoding'), one('server')];
      if (ct) tl.contentType = ct;
      if (ce) tl.contentEncoding = ce;
      if (sv) tl.server = sv;
    });
    stream.on('data', (c: Buffer) => {
      tl.lastByteAt = now();
      if (tl.status !== 200) {
        // The start of an error page is what there is to show; the rest is not read.
        body = (body + decoder.decode(c, { stream: true })).slice(0, 2048);
        if (body.length >= 2048) done({ how: 'http', status: tl.status! });
        return;
      }
      // A compressed stream cannot be parsed as text; its arrival times still tell the story.
      if (!tl.contentEncoding) rec.feed(decoder.decode(c, { stream: true }));
      const twin = o.pair?.as === 'twin' ? o.pair.shared : undefined;
      if (twin && twinHasOutlived(twin, tl.lastByteAt - tl.headersAt!)) {
        tl.outlivedMs = tl.lastByteAt - tl.headersAt! - twin.silentCutAgeMs!;
        rec.stopped = true;
      }
      if (rec.stopped) done({ how: 'survived' });
    });
    stream.on('end', () => {
      if (tl.status !== undefined && tl.status !== 200) return done({ how: 'http', status: tl.status });
      done(
        rec.sawBye || tl.contentEncoding
          ? { how: 'survived' }
          : { how: 'eof', detail: 'the stream ended before its bye event' },
      );
    });
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // RST_STREAM from the server (a proxy cutting the stream) arrives as this error: a reset, as on HTTP/1.1.
      const rst = e.code === 'ERR_HTTP2_STREAM_ERROR' ? /error code (\S+)/.exec(e.message)?.[1] : undefined;
      done(rst ? { how: 'reset', detail: `RST_STREAM ${rst}` } : { how: 'error', detail: e.message });
    });
    stream.on('close', () =>
      done(
        stream.rstCode
          ? { how: 'reset', detail: `stream reset (code ${stream.rstCode})` }
          : { how: 'eof', detail: 'stream closed' },
      ),
    );
  });
}
