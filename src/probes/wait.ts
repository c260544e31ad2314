// A request whose answer starts only after a long wait (the responder's /wait?after=<s>), as the platform's own
// are: a chat turn that starts a stopped workspace, a /_proxy call, a document conversion. Records when the first
// byte came and what it was, or how the connection ended without one.
import { requestHead, ResponseReader, type RawAnswer } from './http1.js';
import { connect, endOf } from './raw-http.js';

export interface WaitAnswer {
  /** Seconds the service was asked to wait. */
  afterS: number;
  /** Milliseconds from the request to the first byte of any answer (or to the end of a silent connection). */
  firstByteMs?: number;
  answer?: RawAnswer;
  /** answered: a final answer came; reset/eof: the connection ended without one; deadline: our own limit. */
  ended: 'answered' | 'reset' | 'eof' | 'deadline' | 'error';
  /** Milliseconds from the request to the end (answer complete, reset, EOF or deadline). */
  endedMs: number;
  error?: { code: string; message: string };
}

export interface WaitProbeOptions {
  url: string;
  address: string;
  afterS: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function waitProbe(o: WaitProbeOptions): Promise<WaitAnswer> {
  const url = new URL(o.url);
  const conn = await connect(url, o.address, o.timeoutMs, o.signal);
  if ('error' in conn) return { afterS: o.afterS, ended: 'error', endedMs: 0, error: conn.error };
  const { sock } = conn;
  const reader = new ResponseReader();
  const sentAt = performance.now();
  const since = (t: number) => Math.round(t - sentAt);
  return new Promise<WaitAnswer>((resolve) => {
    let settled = false;
    const done = (ended: WaitAnswer['ended'], error?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      const now = performance.now();
      resolve({
        afterS: o.afterS,
        ...(reader.firstByteAt !== undefined ? { firstByteMs: since(reader.firstByteAt) } : {}),
        ...(reader.final ? { answer: reader.final } : {}),
        ended: reader.final ? 'answered' : ended,
        endedMs: since(now),
        ...(error && !reader.final ? { error: { code: error.code ?? 'ERROR', message: error.message } } : {}),
      });
    };
    const onAbort = () => done('deadline');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // The wait itself, then a few network steps for the answer.
    const deadline = setTimeout(() => done('deadline'), o.afterS * 1000 + 2 * o.timeoutMs);
    sock.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      if (reader.garbled) done('error', Object.assign(new Error(reader.garbled), { code: 'GARBLED' }));
      else if (reader.final && reader.bodyDone) done('answered');
    });
    sock.on('error', (err: NodeJS.ErrnoException) => done(endOf(err), err));
    sock.on('close', () => done('eof'));
    sock.write(requestHead('GET', url, { Accept: 'application/json', Connection: 'close' }));
  });
}
