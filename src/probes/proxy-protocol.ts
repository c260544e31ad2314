// PROXY protocol v1: the line a load balancer writes before the client's first byte when the ingress behind it
// expects one (nginx `listen … proxy_protocol`, HAProxy `bind … accept-proxy`, ingress-nginx use-proxy-protocol).
// Such an ingress closes a connection that starts with anything else as soon as the first bytes arrive (measured:
// nginx 1.22 and HAProxy 2.6 reset a TLS ClientHello at once; on plain HTTP nginx closes without an answer and
// HAProxy resets). These helpers ask once more, with the header, to tell that cause from any other.
import net from 'node:net';
import type { HttpExchange } from './http.js';
import { requestHead, ResponseReader } from './http1.js';

export interface ProxyV1Ends {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

/** `PROXY TCP4|TCP6 <src> <dst> <srcport> <dstport>\r\n`; `PROXY UNKNOWN\r\n` when the two ends are not one family. */
export function proxyV1Line(e: ProxyV1Ends): string {
  const src = e.src.replace(/%.*$/, '');
  const dst = e.dst.replace(/%.*$/, '');
  const family = net.isIPv4(src) && net.isIPv4(dst) ? 'TCP4' : net.isIPv6(src) && net.isIPv6(dst) ? 'TCP6' : '';
  if (!family) return 'PROXY UNKNOWN\r\n';
  return `PROXY ${family} ${src} ${dst} ${e.srcPort} ${e.dstPort}\r\n`;
}

/** The header for a connected socket, as a load balancer in front would write it: this end is the client. */
export function proxyV1Header(sock: net.Socket): string {
  return proxyV1Line({
    src: sock.localAddress ?? '',
    dst: sock.remoteAddress ?? '',
    srcPort: sock.localPort ?? 0,
    dstPort: sock.remotePort ?? 0,
  });
}

/**
 * An HTTP exchange that ended before any answer because the server closed or reset the connection: what an ingress
 * expecting PROXY protocol does with a request. Refusals and timeouts are not (nothing listens, or nothing answers).
 */
export function closedWithoutAnswer(error: HttpExchange['error']): boolean {
  return !!error && ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(error.code);
}

/** A plain-HTTP GET whose connection begins with a PROXY v1 header, and the header as sent. */
export type ProxiedExchange = HttpExchange & { header?: string };

export interface ProxiedGetOptions {
  url: string;
  address: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * GET over plain HTTP on one connection to `address` that first sends a PROXY v1 header. Ends with the answer's head
 * (and up to 2 KiB of its body when it comes at once), the connection's end, or `timeoutMs`, whichever is first.
 */
export function proxiedGet(o: ProxiedGetOptions): Promise<ProxiedExchange> {
  const url = new URL(o.url);
  const port = Number(url.port || 80);
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const reader = new ResponseReader();
    let header: string | undefined;
    let settled = false;
    let bodyWait: NodeJS.Timeout | undefined;
    const sock = net.connect({ host: o.address, port });
    const base = () => ({ url: o.url, address: o.address, ...(header ? { header } : {}) });
    const finish = (error?: { code: string; message: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(bodyWait);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      const f = reader.final;
      if (f)
        resolve({ ...base(), status: f.status, headers: f.headers, body: f.body, bodyBytes: f.body.length, ms: ms() });
      else resolve({ ...base(), error: error ?? { code: 'UND_ERR_SOCKET', message: 'other side closed' }, ms: ms() });
    };
    const onAbort = () => finish({ code: 'ABORT_ERR', message: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish({ code: 'ETIMEDOUT', message: `no answer within ${o.timeoutMs} ms` }),
      o.timeoutMs,
    );
    sock.once('connect', () => {
      header = proxyV1Header(sock);
      sock.write(header + requestHead('GET', url, { Connection: 'close' }));
    });
    sock.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      if (reader.garbled) finish({ code: 'HPE_INVALID', message: reader.garbled });
      else if (reader.bodyDone) finish();
      // The head is what is judged: a body that trickles gets 200 ms more, no longer.
      else if (reader.final) bodyWait ??= setTimeout(() => finish(), 200);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => finish({ code: e.code ?? 'ERROR', message: e.message }));
    sock.once('close', () => finish());
  });
}
