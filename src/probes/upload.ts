// Request bodies through the ingress, two ways. Header-only: a POST that declares a size and asks
// `Expect: 100-continue`, so the proxy refuses a size it will not take (nginx: 413 at once) or lets it on (100
// Continue, or the service's own answer) before any byte is sent — never waiting for an answer that needs the body.
// Real bytes: one body streamed until it is taken, cut, or the time runs out, for proxies that enforce their
// limit only while reading (Caddy's request_body max_size answers 100 Continue to any declared size).
import { requestHead, ResponseReader, type RawAnswer } from './http1.js';
import { connect, endOf } from './raw-http.js';

export interface ExpectAnswer {
  size: number;
  /** 100 Continue came back: the proxy (or the service) is ready to take this size. */
  continued: boolean;
  /** The final answer, when one came without the body (a refusal, or the service's own 401). */
  answer?: RawAnswer;
  /** Nothing at all before the wait ran out: the proxy waits for the body before it answers. */
  silent?: true;
  error?: { code: string; message: string };
  ms: number;
}

export interface ExpectProbeOptions {
  url: string;
  address: string;
  size: number;
  timeoutMs: number;
  /** How long to wait for 100 Continue or an answer; the body is never sent. */
  waitMs: number;
  signal?: AbortSignal;
}

/**
 * After a 100 Continue, a final answer that is already in the same read is kept (nap-cp's 401 comes with it); none
 * is waited for: the proxy has let the size on, which is the question (nginx sends nothing more without the body).
 */
const AFTER_CONTINUE_MS = 0;

export async function expectProbe(o: ExpectProbeOptions): Promise<ExpectAnswer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const url = new URL(o.url);
  const conn = await connect(url, o.address, o.timeoutMs, o.signal);
  if ('error' in conn) return { size: o.size, continued: false, error: conn.error, ms: ms() };
  const { sock } = conn;
  const reader = new ResponseReader();
  return new Promise<ExpectAnswer>((resolve) => {
    let settled = false;
    let afterContinue: NodeJS.Timeout | undefined;
    const done = (extra: Partial<ExpectAnswer> = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(wait);
      clearTimeout(afterContinue);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      const continued = reader.interim.includes(100);
      resolve({
        size: o.size,
        continued,
        ...(reader.final ? { answer: reader.final } : {}),
        ...(!continued && !reader.final && !extra.error ? { silent: true as const } : {}),
        ...extra,
        ms: ms(),
      });
    };
    const onAbort = () => done({ error: { code: 'ABORT_ERR', message: 'aborted' } });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const wait = setTimeout(() => done(), o.waitMs);
    sock.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      if (reader.garbled) return done({ error: { code: 'GARBLED', message: reader.garbled } });
      if (reader.final && reader.bodyDone) return done();
      if (reader.interim.includes(100) && !afterContinue) afterContinue = setTimeout(() => done(), AFTER_CONTINUE_MS);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (reader.final || reader.interim.length) return done();
      done({ error: { code: err.code ?? 'ERROR', message: `${endOf(err)}: ${err.message}` } });
    });
    sock.on('close', () => done());
    sock.write(
      requestHead('POST', url, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(o.size),
        Expect: '100-continue',
        Connection: 'close',
      }),
    );
  });
}

export interface BodyTransfer {
  size: number;
  /** Bytes handed to the socket (the kernel may still have held some when the transfer ended). */
  sent: number;
  /** How it ended: the final answer came, the connection was cut, or the time given ran out. */
  ended: 'answered' | 'reset' | 'eof' | 'deadline' | 'error';
  answer?: RawAnswer;
  error?: { code: string; message: string };
  ms: number;
  /** Throughput while sending, MB/s (10^6 bytes). */
  mbps: number;
}

export interface StreamBodyOptions {
  url: string;
  address: string;
  size: number;
  timeoutMs: number;
  /** The whole transfer's budget: a transfer still running then is reported, not failed. */
  budgetMs: number;
  /** Pace: at most this many bytes a second (an upload spread over the holds costs them no CPU). */
  bytesPerS?: number;
  signal?: AbortSignal;
}

const CHUNK = Buffer.alloc(256 * 1024);

/** Streams `size` zero bytes as one POST body (no Expect: as browsers send uploads) and reads what comes back. */
export async function streamBody(o: StreamBodyOptions): Promise<BodyTransfer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const url = new URL(o.url);
  const mbps = (sent: number) => Math.round((sent / 1e6 / Math.max(0.001, ms() / 1000)) * 10) / 10;
  const conn = await connect(url, o.address, o.timeoutMs, o.signal);
  if ('error' in conn) return { size: o.size, sent: 0, ended: 'error', error: conn.error, ms: ms(), mbps: 0 };
  const { sock } = conn;
  const reader = new ResponseReader();
  let sent = 0;
  return new Promise<BodyTransfer>((resolve) => {
    let settled = false;
    let answerWait: NodeJS.Timeout | undefined;
    const done = (ended: BodyTransfer['ended'], error?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(budget);
      clearTimeout(answerWait);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve({
        size: o.size,
        sent,
        ended: reader.final ? 'answered' : ended,
        ...(reader.final ? { answer: reader.final } : {}),
        ...(error && !reader.final ? { error: { code: error.code ?? 'ERROR', message: error.message } } : {}),
        ms: ms(),
        mbps: mbps(sent),
      });
    };
    const onAbort = () => done('deadline');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const budget = setTimeout(() => done('deadline'), o.budgetMs);
    sock.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      if (reader.final && reader.bodyDone) done('answered');
    });
    sock.on('error', (err: NodeJS.ErrnoException) => done(endOf(err), err));
    sock.on('close', () => done('eof'));
    sock.write(
      requestHead('POST', url, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(o.size),
        Connection: 'close',
      }),
    );
    // Bounded: at most size / 256 KiB writes, each waiting for the socket to drain or for the pace to allow it.
    const began = performance.now();
    const pump = () => {
      while (!settled && sent < o.size) {
        const due = o.bytesPerS ? began + (sent / o.bytesPerS) * 1000 : 0;
        if (due > performance.now() + 5) return void setTimeout(pump, due - performance.now());
        const n = Math.min(CHUNK.length, o.size - sent);
        sent += n;
        if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void sock.once('drain', pump);
      }
      // All of it is out: the answer follows once the service has read it.
      if (!settled) answerWait = setTimeout(() => done('deadline'), o.timeoutMs);
    };
    pump();
  });
}
