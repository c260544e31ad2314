// HTTP exchanges pinned to one address while URL, SNI and Host stay the real name. undici request(): its fetch
// drops a Host header, and a pinned lookup keeps certificate checks (done by tls.*) out of routing results.
import type { LookupFunction } from 'node:net';
import { Agent, request } from 'undici';

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
}

export interface HttpGetOptions {
  url: string;
  address: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  maxBody?: number;
}

/** A lookup that answers every name with one address: the name still drives SNI and Host. */
export function pinnedLookup(address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

export async function httpGet(o: HttpGetOptions): Promise<HttpExchange> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const agent = new Agent({
    connect: { lookup: pinnedLookup(o.address), rejectUnauthorized: false, timeout: o.timeoutMs },
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    maxHeaderSize: 64 * 1024,
    pipelining: 0,
  });
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs * 2)]) : AbortSignal.timeout(o.timeoutMs * 2);
  const max = o.maxBody ?? 8192;
  try {
    const res = await request(o.url, { method: 'GET', dispatcher: agent, headers: { 'user-agent': 'nap-verify', ...o.headers }, signal, maxRedirections: 0 } as Parameters<typeof request>[1]);
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
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    return { url: o.url, address: o.address, status: res.statusCode, headers, body: Buffer.concat(chunks).toString('utf8'), bodyBytes: bytes, ...(truncated ? { truncated } : {}), ms: ms() };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err.code ?? err.cause?.code ?? err.name ?? 'ERROR';
    const message = err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message;
    return { url: o.url, address: o.address, error: { code, message }, ms: ms() };
  } finally {
    void agent.destroy().catch(() => {});
  }
}
