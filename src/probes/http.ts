// HTTP exchanges pinned to one address while URL, SNI and Host stay the real name. undici request(): its fetch
// drops a Host header, and a pinned lookup keeps certificate checks (done by tls.*) out of routing results.
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import { Agent, request, type Dispatcher } from './undici.js';
import { PHASE_MARKS, phaseTimer, phaseTimings, type ExchangeMarks } from './http-timing.js';

export interface HttpExchange {
  url: string;
  address: string;
  status?: number;
  headers?: Record<string, string>;
  /** The first bytes of the body, as text. */
  body?: string;
  bodyBytes?: number;
  truncated?: boolean;
  error?: { code: string; message: string };
  ms: number;
  /** Per-phase timings, when the answer's headers arrived (0 for the phases a kept-alive connection skipped). */
  dnsMs?: number;
  connectMs?: number;
  tlsMs?: number;
  firstByteMs?: number;
  reusedConnection?: true;
}

export interface HttpGetOptions {
  url: string;
  address: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  maxBody?: number;
  /** Default GET; a POST carries `body` (the token endpoint's `{}`). */
  method?: 'GET' | 'POST';
  body?: string;
}

/** A lookup that answers every name with one address: the name still drives SNI and Host. */
export function pinnedLookup(address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

let unverified: tls.SecureContext | undefined;
/**
 * TLS options for connections whose certificate tls.* judges: no verification here, and an empty trust store, so
 * no connection loads (and keeps) its own copy of the ~140 root certificates. One context for all of them: a run
 * opens ~30 such connections, and a context per connection cost ~7 ms of CPU on the critical path. (tls.* itself
 * keeps a fresh context per handshake: what the server sends is what it judges.)
 */
export const UNVERIFIED_TLS = {
  rejectUnauthorized: false,
  get secureContext(): tls.SecureContext {
    unverified ??= tls.createSecureContext({ ca: [] });
    return unverified;
  },
};

// One agent per address and deadline, one kept-alive connection per origin: every undici connection carries its
// own llhttp WebAssembly instance (~1.5 MB), so 25 parallel sockets cost ~40 MB where 5 sequential ones cost 8.
const agents = new Map<string, Dispatcher>();
function agentFor(address: string, timeoutMs: number): Dispatcher {
  const key = `${address}/${timeoutMs}`;
  let a = agents.get(key);
  if (!a) {
    // A timing connector and interceptor record each exchange's phases (see http-timing.ts).
    const timer = phaseTimer({ lookup: pinnedLookup(address), ...UNVERIFIED_TLS, timeout: timeoutMs });
    a = new Agent({
      connect: timer.connector,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      maxHeaderSize: 64 * 1024,
      connections: 1,
      pipelining: 1,
    }).compose(timer.interceptor);
    agents.set(key, a);
  }
  return a;
}

export async function httpGet(o: HttpGetOptions): Promise<HttpExchange> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const agent = agentFor(o.address, o.timeoutMs);
  const signal = o.signal
    ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs * 2)])
    : AbortSignal.timeout(o.timeoutMs * 2);
  const max = o.maxBody ?? 8192;
  const marks: ExchangeMarks = { startedAt: performance.now() };
  try {
    const res = await request(o.url, {
      method: o.method ?? 'GET',
      dispatcher: agent,
      headers: { 'user-agent': 'nap-verify', ...o.headers },
      ...(o.body !== undefined ? { body: o.body } : {}),
      signal,
      maxRedirections: 0,
      [PHASE_MARKS]: marks,
    } as Parameters<typeof request>[1]);
    const timings = phaseTimings(marks);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > max) {
        chunks.push(chunk.subarray(0, Math.max(0, max - (bytes - chunk.length))));
        truncated = true;
        break;
      }
      chunks.push(chunk);
    }
    if (truncated) res.body.destroy();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    return {
      url: o.url,
      address: o.address,
      status: res.statusCode,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
      bodyBytes: bytes,
      ...(truncated ? { truncated } : {}),
      ms: ms(),
      ...timings,
    };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err.code ?? err.cause?.code ?? err.name ?? 'ERROR';
    const message = err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message;
    return { url: o.url, address: o.address, error: { code, message }, ms: ms() };
  }
}
