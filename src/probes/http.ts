// HTTP exchanges pinned to one address while URL, SNI and Host stay the real name (http1.ts speaks HTTP/1.1 on
// kept-alive connections); no certificate is verified here: tls.* judges them, and routing results stay apart.
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import { http1Exchange, type Http1Marks } from './http1.js';

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

export async function httpGet(o: HttpGetOptions): Promise<HttpExchange> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  // However the answer trickles in, the exchange ends within twice the deadline.
  const overall = AbortSignal.timeout(o.timeoutMs * 2);
  const signal = o.signal ? AbortSignal.any([o.signal, overall]) : overall;
  const r = await http1Exchange({
    url: new URL(o.url),
    address: o.address,
    timeoutMs: o.timeoutMs,
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    ...(o.body !== undefined ? { body: o.body } : {}),
    maxBody: o.maxBody ?? 8192,
    signal,
    tlsOptions: UNVERIFIED_TLS,
  });
  if ('error' in r) {
    const error =
      overall.aborted && !o.signal?.aborted
        ? { code: 'ETIMEDOUT', message: `no complete answer within ${o.timeoutMs * 2} ms (overall timeout)` }
        : r.error;
    return { url: o.url, address: o.address, error, ms: ms() };
  }
  return {
    url: o.url,
    address: o.address,
    status: r.status,
    headers: r.headers,
    body: r.body.toString('utf8'),
    bodyBytes: r.bodyBytes,
    ...(r.truncated ? { truncated: r.truncated } : {}),
    ms: ms(),
    ...phaseTimings(r.marks),
  };
}

/**
 * Per-phase timings, as blackbox_exporter reports them: name lookup (none: the address is pinned), TCP connect and
 * TLS handshake of the connection this exchange opened (0 on a kept-alive one), and the wait from the request being
 * sent to the first byte of the answer.
 */
function phaseTimings(m: Http1Marks): Partial<HttpExchange> {
  if (m.sentAt === undefined || m.firstByteAt === undefined) return {};
  const ms = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? 0 : Math.max(0, Math.round(b - a));
  const firstByteMs = ms(m.sentAt, m.firstByteAt);
  if (m.reused) return { dnsMs: 0, connectMs: 0, tlsMs: 0, firstByteMs, reusedConnection: true };
  return { dnsMs: 0, connectMs: ms(m.openAt, m.connectAt), tlsMs: ms(m.connectAt, m.secureAt), firstByteMs };
}
