// HTTP/1.1 written by hand on one socket pinned to an address, for the exchanges a client library hides: a request
// that declares a body and never sends it (Expect: 100-continue), a body streamed until the proxy cuts it, an answer
// that starts only after a long wait. Every step has a deadline; whatever arrives is evidence, not an exception.
import type net from 'node:net';
import tls from 'node:tls';
import { UNVERIFIED_TLS, type HttpExchange, type HttpGetOptions } from './http.js';
import { openConnection, requestHead, ResponseReader } from './http1.js';
import { sessionFor } from './tls-sessions.js';

/**
 * A connection for the hand-written probes (http1.ts's openConnection), resuming the session tls.* left for this
 * address and name unless one is given: its socket, or its failure as evidence.
 */
export function connect(
  url: URL,
  address: string,
  timeoutMs: number,
  signal?: AbortSignal,
  session?: Buffer,
): Promise<{ sock: net.Socket } | { error: { code: string; message: string } }> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const resume = session ?? sessionFor(address, port, url.hostname);
  return openConnection(url, address, timeoutMs, { ...UNVERIFIED_TLS, ...(resume ? { session: resume } : {}) }, signal);
}

/** How a socket ended without a final answer, in the words evidence uses. */
export function endOf(err: NodeJS.ErrnoException | undefined): 'reset' | 'eof' | 'error' {
  if (!err) return 'eof';
  return err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'error';
}

/** One GET on a connection of its own (Connection: close), as an HttpExchange: status, headers, up to 2 KiB of body. */
export async function rawGet(
  urlText: string,
  address: string,
  timeoutMs: number,
  signal?: AbortSignal,
  session?: { resume?: Buffer; onSession?: (s: Buffer) => void },
): Promise<HttpExchange> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const url = new URL(urlText);
  const conn = await connect(url, address, timeoutMs, signal, session?.resume);
  if ('error' in conn) return { url: urlText, address, error: conn.error, ms: ms() };
  const { sock } = conn;
  const got = sock instanceof tls.TLSSocket ? sock.getSession() : undefined;
  if (got) session?.onSession?.(got);
  const reader = new ResponseReader();
  return new Promise((resolve) => {
    let settled = false;
    const done = (err?: { code: string; message: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      const a = reader.final;
      resolve(
        a
          ? { url: urlText, address, status: a.status, headers: a.headers, body: a.body, ms: ms() }
          : {
              url: urlText,
              address,
              error: err ?? { code: 'UND_ERR_SOCKET', message: reader.garbled ?? 'closed without an answer' },
              ms: ms(),
            },
      );
    };
    const onAbort = () => done({ code: 'ABORT_ERR', message: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => done({ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'no answer in time' }), timeoutMs);
    sock.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      if (reader.garbled || (reader.final && reader.bodyDone)) done();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done({ code: e.code ?? 'ERROR', message: e.message }));
    sock.on('close', () => done());
    sock.write(requestHead('GET', url, { Accept: '*/*', Connection: 'close' }));
  });
}

/**
 * The same request `times` times at once, each on a connection of its own: what a broken replica or a second
 * claimant of the host shows, one answer in several, where a kept-alive connection would hear one backend only.
 * Each asks `Connection: close`: http1.ts keeps one connection per origin, which is the point these avoid.
 */
export async function httpRepeat(o: HttpGetOptions, times: number): Promise<HttpExchange[]> {
  const u = new URL(o.url);
  // tls.* left a session to resume: all at once. Otherwise the first connection's session, once it has one, lets
  // the others resume: a full handshake costs the ingress a signature each, thirty of them in a fast run.
  if (u.protocol !== 'https:' || sessionFor(o.address, Number(u.port || 443), u.hostname))
    return Promise.all(Array.from({ length: times }, () => rawGet(o.url, o.address, o.timeoutMs, o.signal)));
  let resume: Buffer | undefined;
  let ready!: () => void;
  const sessionKnown = new Promise<void>((r) => (ready = r));
  const first = rawGet(o.url, o.address, o.timeoutMs, o.signal, {
    onSession: (s) => {
      resume = s;
      ready();
    },
  }).finally(() => ready());
  await sessionKnown;
  const rest = Array.from({ length: times - 1 }, () =>
    rawGet(o.url, o.address, o.timeoutMs, o.signal, resume ? { resume } : undefined),
  );
  return Promise.all([first, ...rest]);
}
