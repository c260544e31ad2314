// HTTP/1.1 exchanges pinned to an address, one kept-alive connection per origin and one request on it at a time
// (what undici's Agent did here with connections: 1, pipelining: 1), and the parser every hand-written probe reads
// answers with. Written by hand because a fast run is CPU-bound on one core: undici (its module graph, an llhttp
// WebAssembly instance per connection, a dispatcher chain per request) cost a `--no-hold` run ~27 ms of CPU more than
// this, and there every millisecond of CPU is one of wall time (bench/RESULTS.md). Everything the server sends is
// hostile: the head is bounded (64 KiB), the body read up to the caller's limit, and anything that is not HTTP is a
// finding, not a throw.
import net from 'node:net';
import tls from 'node:tls';

const MAX_HEAD = 64 * 1024;
/** Body bytes a ResponseReader keeps. */
const READER_BODY = 2048;
/** An idle kept-alive connection is closed after this long (undici's default keep-alive timeout). */
const IDLE_MS = 4000;

export interface Http1Request {
  url: URL;
  address: string;
  timeoutMs: number;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Body bytes kept; past them the exchange stops reading and reports `truncated`. */
  maxBody: number;
  signal?: AbortSignal;
  /** TLS options of the connection (no verification here: tls.* judges certificates). */
  tlsOptions: tls.ConnectionOptions;
}

/** When each phase was reached (performance.now()); the connection ones only on a connection this exchange opened. */
export interface Http1Marks {
  startedAt: number;
  /** This exchange began opening its own connection (after waiting for those queued before it). */
  openAt?: number;
  connectAt?: number;
  secureAt?: number;
  sentAt?: number;
  firstByteAt?: number;
  reused?: true;
}

export type Http1Result = {
  marks: Http1Marks;
} & (
  | { status: number; headers: Record<string, string>; body: Buffer; bodyBytes: number; truncated?: true }
  | { error: { code: string; message: string } }
);

/** What a response head says, and how its body is framed. */
export interface ResponseHead {
  status: number;
  headers: Record<string, string>;
  framing: { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };
  keepAlive: boolean;
}

type ParseError = { code: string; message: string };

/** A response head from its bytes (without the blank line), or why it is not one. */
export function parseHead(raw: Buffer, method: string): ResponseHead | ParseError {
  const [statusLine = '', ...lines] = raw.toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (!m) {
    // Quoted as the text it most likely is (UTF-8), not byte by byte: the finding is read by a person.
    const said = raw.subarray(0, Math.max(0, raw.indexOf('\r\n'))).toString('utf8') || raw.toString('utf8');
    return protocolError(`Expected HTTP/1.x status line, got ${JSON.stringify([...said].slice(0, 40).join(''))}`);
  }
  const status = Number(m[2]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) return protocolError(`Invalid header line ${JSON.stringify(l.slice(0, 40))}`);
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    // Repeated fields join as undici (and fetch) present them.
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  // 101: what follows is another protocol's, and no further HTTP on this connection.
  if (status === 101) return { status, headers, framing: { kind: 'none' }, keepAlive: false };
  const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (noBody) return { status, headers, framing: { kind: 'none' }, keepAlive };
  if (headers['transfer-encoding'] !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(headers['transfer-encoding']))
      return { status, headers, framing: { kind: 'close' }, keepAlive: false };
    return { status, headers, framing: { kind: 'chunked' }, keepAlive };
  }
  if (headers['content-length'] !== undefined) {
    const cl = headers['content-length'].split(',').map((s) => s.trim());
    if (!cl.every((s) => /^\d{1,15}$/.test(s) && s === cl[0]))
      return protocolError(`Invalid Content-Length ${JSON.stringify(headers['content-length'].slice(0, 40))}`);
    return { status, headers, framing: { kind: 'length', length: Number(cl[0]) }, keepAlive };
  }
  return { status, headers, framing: { kind: 'close' }, keepAlive: false };
}

const HEADERS_OVERFLOW: ParseError = { code: 'UND_ERR_HEADERS_OVERFLOW', message: 'Headers Overflow Error' };

const protocolError = (why: string): ParseError => ({
  code: 'HPE_INVALID_CONSTANT',
  message: `Response does not match the HTTP/1.1 protocol (${why})`,
});

/**
 * Reads one response from the bytes of a connection as they arrive: interim answers skipped, then the head, then the
 * body by its framing. `feed` returns what is left over after the response ended (bytes of nothing we asked for).
 */
export class ResponseParser {
  head?: ResponseHead;
  /** Interim answers seen before the final one (100 Continue, 103). */
  readonly interim: number[] = [];
  error?: ParseError;
  /** The response is complete (its framing said where it ends). */
  done = false;
  bodyBytes = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private buf: Buffer = Buffer.alloc(0);
  private left = 0;
  /** Chunked: reading a size line (`size`), chunk data (`data`), the CRLF after it (`crlf`) or the trailers. */
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';

  constructor(
    private readonly method: string,
    private readonly maxBody: number,
    /** Each piece of the body as it is decoded (a stream read as it comes); kept up to maxBody either way. */
    private readonly onBody?: (piece: Buffer) => void,
    /** The final head, before any of its body. */
    private readonly onHead?: (head: ResponseHead) => void,
  ) {}

  /** Bytes past the limit were received (the body is cut there). */
  get truncated(): boolean {
    return this.bodyBytes > this.maxBody;
  }

  get body(): Buffer {
    return Buffer.concat(this.kept, Math.min(this.keptBytes, this.maxBody));
  }

  feed(chunk: Buffer): void {
    if (this.done || this.error) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    // Bounded: each round consumes a head, a chunk line or a chunk's bytes, or returns for more input.
    for (let round = 0; round < 10_000 && !this.done && !this.error && this.buf.length; round++) {
      if (!this.head) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) this.error = HEADERS_OVERFLOW;
          return;
        }
        if (end > MAX_HEAD) {
          this.error = HEADERS_OVERFLOW;
          return;
        }
        const head = parseHead(this.buf.subarray(0, end), this.method);
        this.buf = this.buf.subarray(end + 4);
        if ('code' in head) {
          this.error = head;
          return;
        }
        if (head.status >= 100 && head.status < 200 && head.status !== 101) {
          this.interim.push(head.status);
          continue;
        }
        this.head = head;
        this.onHead?.(head);
        if (head.framing.kind === 'none') this.done = true;
        else if (head.framing.kind === 'length') {
          this.left = head.framing.length;
          if (this.left === 0) this.done = true;
        }
        continue;
      }
      const framing = this.head.framing;
      if (framing.kind === 'close') {
        this.take(this.buf);
        this.buf = Buffer.alloc(0);
      } else if (framing.kind === 'length') {
        const n = Math.min(this.left, this.buf.length);
        this.take(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.left -= n;
        if (this.left === 0) this.done = true;
      } else this.chunked();
    }
  }

  /** The connection ended: a body framed by the close is complete; anything else is cut short. */
  end(): void {
    if (this.done || this.error) return;
    if (this.head?.framing.kind === 'close') this.done = true;
  }

  private chunked(): void {
    if (this.chunkState === 'data') {
      const n = Math.min(this.left, this.buf.length);
      this.take(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      this.left -= n;
      if (this.left === 0) this.chunkState = 'crlf';
      return;
    }
    const eol = this.buf.indexOf('\r\n');
    if (eol < 0) {
      if (this.buf.length > 4096) this.error = protocolError('Chunk line too long');
      return;
    }
    const line = this.buf.subarray(0, eol).toString('latin1');
    this.buf = this.buf.subarray(eol + 2);
    if (this.chunkState === 'crlf') {
      if (line !== '') this.error = protocolError('Expected CRLF after chunk data');
      this.chunkState = 'size';
    } else if (this.chunkState === 'trailer') {
      if (line === '') this.done = true;
    } else {
      const m = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
      if (!m) {
        this.error = protocolError(`Invalid chunk size ${JSON.stringify(line.slice(0, 20))}`);
        return;
      }
      this.left = Number.parseInt(m[1]!, 16);
      this.chunkState = this.left === 0 ? 'trailer' : 'data';
    }
  }

  private take(b: Buffer): void {
    if (b.length) this.onBody?.(b);
    this.bodyBytes += b.length;
    if (this.keptBytes < this.maxBody && b.length) {
      this.kept.push(b);
      this.keptBytes += b.length;
    }
  }
}

/** A request head as the probes write it: the real name in Host, our User-Agent, then the caller's fields. */
export function requestHead(method: string, url: URL, headers: Record<string, string>): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'User-Agent: nap-verify'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A final answer as the hand-written probes report it: its status, its head, the start of its body as text. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The first bytes of the body (at most 2 KiB), as text. */
  body: string;
}

/**
 * The parser as the one-connection probes (raw-http.ts, upload.ts, wait.ts) read with it: interim answers
 * (100 Continue), the final one with up to 2 KiB of its body, and when the first byte came. Feed it every chunk;
 * it says what it has seen so far.
 */
export class ResponseReader {
  private readonly p = new ResponseParser('GET', READER_BODY);
  firstByteAt?: number;

  feed(chunk: Buffer): void {
    this.firstByteAt ??= performance.now();
    this.p.feed(chunk);
  }

  /** Interim statuses seen (100, 103). */
  get interim(): number[] {
    return this.p.interim;
  }

  get final(): RawAnswer | undefined {
    const h = this.p.head;
    return h && { status: h.status, headers: h.headers, body: this.p.body.toString('utf8') };
  }

  /** The answer could not be read (a head over 64 KiB, or not HTTP). */
  get garbled(): string | undefined {
    return this.p.error?.message;
  }

  /** The final answer's body is complete (or as much of it as is kept). */
  get bodyDone(): boolean {
    return !!this.p.head && (this.p.done || this.p.bodyBytes >= READER_BODY);
  }
}

interface Lane {
  /** The idle kept-alive connection, if any. */
  idle?: net.Socket;
  /** The end of the last queued exchange: the next one starts after it. */
  queue: Promise<unknown>;
}
const lanes = new Map<string, Lane>();

/** One exchange, after those queued before it on the same origin and address; never throws. */
export function http1Exchange(r: Http1Request): Promise<Http1Result> {
  const key = `${r.address}|${r.timeoutMs}|${r.url.protocol}//${r.url.host}`;
  let lane = lanes.get(key);
  if (!lane) {
    lane = { queue: Promise.resolve() };
    lanes.set(key, lane);
  }
  const l = lane;
  const marks: Http1Marks = { startedAt: performance.now() };
  const run = async (): Promise<Http1Result> => {
    const idle = l.idle;
    l.idle = undefined;
    if (idle && !idle.destroyed) {
      idle.ref();
      const again = await exchange(r, idle, { ...marks, reused: true });
      // A kept-alive connection the server had already closed: the request never reached it, so send it again on a
      // new one (what browsers do; the server saw nothing of the first).
      if (!('error' in again) || again.marks.firstByteAt !== undefined || r.signal?.aborted) return keep(l, again);
      marks.startedAt = performance.now();
    }
    const opened = await open(r, marks);
    if ('error' in opened) return { marks, error: opened.error };
    return keep(l, await exchange(r, opened.sock, marks));
  };
  const p = l.queue.then(run, run);
  l.queue = p;
  return p;
}

/** An exchange that left its connection reusable parks it on the lane (unreferenced, closed after IDLE_MS). */
function keep(l: Lane, res: Http1Result & { reusable?: net.Socket }): Http1Result {
  const sock = res.reusable;
  delete res.reusable;
  if (sock) {
    l.idle?.destroy();
    l.idle = sock;
    sock.unref();
    sock.setTimeout(IDLE_MS);
  }
  return res;
}

function open(r: Http1Request, marks: Http1Marks): Promise<{ sock: net.Socket } | { error: ParseError }> {
  marks.openAt = performance.now();
  return openConnection(r.url, r.address, r.timeoutMs, r.tlsOptions, r.signal, marks).then((v) => {
    if ('sock' in v) {
      // For the connection's life: an error while it idles only ends it; an idle one closes after IDLE_MS.
      v.sock.on('error', () => {});
      v.sock.on('timeout', () => v.sock.destroy());
    }
    return v;
  });
}

/**
 * A connection to `address` for `url` (TLS with SNI = the URL's host for https, offering http/1.1), within
 * `timeoutMs`; its failure as evidence (code and message), never a throw, so every probe that writes HTTP/1.1 by hand
 * reports a connection that did not open the same way. `marks` gets when TCP and TLS were up.
 */
export function openConnection(
  url: URL,
  address: string,
  timeoutMs: number,
  tlsOptions: tls.ConnectionOptions,
  signal?: AbortSignal,
  marks?: Pick<Http1Marks, 'connectAt' | 'secureAt'>,
): Promise<{ sock: net.Socket } | { error: ParseError }> {
  const https = url.protocol === 'https:';
  const port = Number(url.port || (https ? 443 : 80));
  // Aborted before it began (while waiting in a queue): nothing to open.
  if (signal?.aborted) return Promise.resolve({ error: aborted() });
  return new Promise((resolve) => {
    const sock = https
      ? tls.connect({ host: address, port, servername: url.hostname, ALPNProtocols: ['http/1.1'], ...tlsOptions })
      : net.connect({ host: address, port });
    const finish = (v: { sock: net.Socket } | { error: ParseError }) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      if ('error' in v) sock.destroy();
      resolve(v);
    };
    const onError = (e: NodeJS.ErrnoException) => finish({ error: { code: e.code ?? 'ERROR', message: e.message } });
    const onAbort = () => finish({ error: aborted() });
    const timer = setTimeout(
      () => finish({ error: { code: 'ETIMEDOUT', message: `no connection within ${timeoutMs} ms` } }),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', onError);
    sock.once('connect', () => {
      if (marks) marks.connectAt = performance.now();
    });
    sock.once(https ? 'secureConnect' : 'connect', () => {
      if (https && marks) marks.secureAt = performance.now();
      sock.setNoDelay(true);
      finish({ sock });
    });
  });
}

const aborted = (): ParseError => ({ code: 'ABORT_ERR', message: 'aborted' });

function requestBytes(r: Http1Request): string {
  const length: Record<string, string> =
    r.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(r.body)) } : {};
  return requestHead(r.method, r.url, { ...r.headers, ...length }) + (r.body ?? '');
}

function exchange(
  r: Http1Request,
  sock: net.Socket,
  marks: Http1Marks,
): Promise<Http1Result & { reusable?: net.Socket }> {
  const parser = new ResponseParser(r.method, r.maxBody);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error?: ParseError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onClose);
      sock.off('error', onError);
      const head = parser.head;
      if (!error && head && (parser.done || parser.truncated)) {
        const reusable = parser.done && !parser.truncated && head.keepAlive && !sock.destroyed ? sock : undefined;
        if (!reusable) sock.destroy();
        resolve({
          marks,
          status: head.status,
          headers: head.headers,
          body: parser.body,
          bodyBytes: parser.bodyBytes,
          ...(parser.truncated ? { truncated: true as const } : {}),
          ...(reusable ? { reusable } : {}),
        });
        return;
      }
      sock.destroy();
      resolve({ marks, error: error ?? { code: 'UND_ERR_SOCKET', message: 'other side closed' } });
    };
    // Headers within the deadline from the request, then no silence longer than it while the body comes.
    let timer = setTimeout(
      () => finish({ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }),
      r.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      marks.firstByteAt ??= performance.now();
      const hadHead = !!parser.head;
      parser.feed(chunk);
      if (parser.error) return finish(parser.error);
      if (parser.done || parser.truncated) return finish();
      if (parser.head && !hadHead) {
        clearTimeout(timer);
        timer = setTimeout(() => finish({ code: 'UND_ERR_BODY_TIMEOUT', message: 'Body Timeout Error' }), r.timeoutMs);
      } else if (parser.head) timer.refresh();
    };
    const onEnd = () => {
      parser.end();
      finish();
    };
    const onClose = () => finish();
    const onError = (e: NodeJS.ErrnoException) => finish({ code: e.code ?? 'ERROR', message: e.message });
    const onAbort = () => finish(aborted());
    if (r.signal?.aborted) return finish(aborted());
    r.signal?.addEventListener('abort', onAbort, { once: true });
    sock.setTimeout(0);
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('close', onClose);
    sock.on('error', onError);
    sock.write(requestBytes(r));
    marks.sentAt = performance.now();
  });
}
