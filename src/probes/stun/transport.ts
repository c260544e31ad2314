// STUN transactions over UDP (retransmits per RFC 8489 §6.2.1, bounded by the deadline) and TCP (stream framing),
// with answers matched by transaction id. Hostile servers get nowhere: unreadable or unmatched packets are
// counted and dropped, a flood closes the transport, a garbage stream ends it.
import dgram from 'node:dgram';
import net from 'node:net';
import { decode, frameLength, type StunMessage } from './codec.js';

export interface Endpoint {
  address: string;
  port: number;
}

export type Failure = {
  kind: 'timeout' | 'refused' | 'reset' | 'closed' | 'malformed' | 'flood' | 'error';
  error: string;
};
export type TransactionResult =
  | { ok: true; message: StunMessage; raw: Buffer; rttMs: number }
  | ({ ok: false } & Failure);

export interface TransportStats {
  received: number;
  /** Packets that were not STUN/ChannelData or did not decode. */
  malformed: number;
  /** Well-formed answers to a transaction we did not start (or already finished). */
  unmatched: number;
}

export interface StunTransport {
  kind: 'udp' | 'tcp';
  local: Endpoint;
  stats: TransportStats;
  /** Send a request and wait for the response with the same transaction id. */
  request(raw: Buffer, transactionId: Buffer, timeoutMs: number): Promise<TransactionResult>;
  /** Send without waiting (indications). */
  send(raw: Buffer): void;
  /** Indications (e.g. TURN Data) as they arrive. */
  onIndication(cb: (m: StunMessage) => void): void;
  /** Set once the transport has died (reset, closed, flood, garbage): pending and later requests fail with it. */
  failure?: Failure;
  close(): void;
}

/** More than this many packets on one transport is a flood, not an answer. */
const FLOOD_LIMIT = 2000;
const MAX_TCP_BUFFER = 256 * 1024;
/** RFC 8489 §6.2.1: RTO 500 ms, doubling; at most 7 sends — and never past the caller's deadline. */
const RTO_MS = 500;
const MAX_SENDS = 7;

interface Pending {
  resolve(r: TransactionResult): void;
  sentAt: number;
}

function base(kind: 'udp' | 'tcp', local: Endpoint, send: (b: Buffer) => void, close: () => void) {
  const pending = new Map<string, Pending>();
  const indications: Array<(m: StunMessage) => void> = [];
  const stats: TransportStats = { received: 0, malformed: 0, unmatched: 0 };
  const t: StunTransport = {
    kind,
    local,
    stats,
    request: () => Promise.reject(new Error('replaced below')),
    send,
    onIndication: (cb) => void indications.push(cb),
    close,
  };
  const fail = (f: Failure) => {
    if (t.failure) return;
    t.failure = f;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.resolve({ ok: false, ...f });
    }
    close();
  };
  const receive = (buf: Buffer) => {
    if (t.failure) return;
    if (++stats.received > FLOOD_LIMIT)
      return fail({ kind: 'flood', error: `more than ${FLOOD_LIMIT} packets on one transport` });
    const d = decode(buf);
    if (!d.ok) {
      stats.malformed++;
      return;
    }
    const m = d.message;
    if (m.cls === 'indication') {
      for (const cb of indications) cb(m);
      return;
    }
    const key = m.transactionId.toString('hex');
    const p = pending.get(key);
    if (!p || m.cls === 'request') {
      stats.unmatched++;
      return;
    }
    pending.delete(key);
    p.resolve({ ok: true, message: m, raw: buf, rttMs: Math.round(performance.now() - p.sentAt) });
  };
  const register = (id: Buffer, timeoutMs: number, onTimeout?: () => void) =>
    new Promise<TransactionResult>((resolve) => {
      if (t.failure) return resolve({ ok: false, ...t.failure });
      const key = id.toString('hex');
      const timer = setTimeout(() => {
        pending.delete(key);
        onTimeout?.();
        resolve({ ok: false, kind: 'timeout', error: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      pending.set(key, {
        sentAt: performance.now(),
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  return { t, receive, fail, register, pending };
}

export function openUdp(server: Endpoint, timeoutMs: number): Promise<StunTransport | Failure> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      sock.close();
    };
    const send = (b: Buffer) => !closed && sock.send(b, (e) => e && b0.fail({ kind: 'error', error: e.message }));
    const b0 = base('udp', { address: '', port: 0 }, send, close);
    sock.on('message', (m) => b0.receive(m));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // On a connected UDP socket an ICMP port-unreachable surfaces as ECONNREFUSED: nothing listens there.
      const f: Failure =
        e.code === 'ECONNREFUSED'
          ? { kind: 'refused', error: `ICMP port unreachable from ${server.address}:${server.port}` }
          : { kind: 'error', error: `${e.code ?? ''} ${e.message}`.trim() };
      if (!connected) {
        close();
        resolve(f);
      } else b0.fail(f);
    });
    let connected = false;
    const timer = setTimeout(() => {
      close();
      resolve({ kind: 'timeout', error: `UDP socket not ready within ${timeoutMs} ms` });
    }, timeoutMs);
    sock.connect(server.port, server.address, () => {
      connected = true;
      clearTimeout(timer);
      const a = sock.address();
      b0.t.local = { address: a.address, port: a.port };
      b0.t.request = (raw, id, deadlineMs) => {
        const timers: NodeJS.Timeout[] = [];
        let wait = RTO_MS;
        let at = 0;
        for (let i = 1; i < MAX_SENDS && at + wait < deadlineMs; i++) {
          at += wait;
          timers.push(setTimeout(() => send(raw), at));
          wait *= 2;
        }
        send(raw);
        return b0.register(id, deadlineMs).finally(() => timers.forEach(clearTimeout));
      };
      resolve(b0.t);
    });
  });
}

export function openTcp(server: Endpoint, timeoutMs: number): Promise<StunTransport | Failure> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: server.address, port: server.port });
    let closed = false;
    let buffered = Buffer.alloc(0);
    const close = () => {
      if (closed) return;
      closed = true;
      sock.destroy();
    };
    const send = (b: Buffer) => !closed && sock.write(b);
    const b0 = base('tcp', { address: '', port: 0 }, send, close);
    const timer = setTimeout(() => {
      close();
      resolve({ kind: 'timeout', error: `no TCP connection within ${timeoutMs} ms` });
    }, timeoutMs);
    let connected = false;
    sock.on('connect', () => {
      connected = true;
      clearTimeout(timer);
      b0.t.local = { address: sock.localAddress ?? '', port: sock.localPort ?? 0 };
      b0.t.request = (raw, id, deadlineMs) => {
        const p = b0.register(id, deadlineMs);
        send(raw);
        return p;
      };
      resolve(b0.t);
    });
    sock.on('data', (chunk) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (buffered.length > MAX_TCP_BUFFER)
        return b0.fail({ kind: 'malformed', error: `more than ${MAX_TCP_BUFFER} bytes without a complete STUN frame` });
      // Each pass consumes at least one whole frame, so the loop ends.
      for (;;) {
        const len = frameLength(buffered);
        if (typeof len === 'object')
          return b0.fail({ kind: 'malformed', error: `TCP stream is not STUN: ${len.error}` });
        if (len === 0 || len > buffered.length) break;
        const frame = buffered.subarray(0, len);
        buffered = buffered.subarray(len);
        if ((frame[0]! & 0xc0) === 0) b0.receive(Buffer.from(frame));
      }
    });
    const onGone = (f: Failure) => {
      clearTimeout(timer);
      if (!connected) {
        close();
        resolve(f);
      } else b0.fail(f);
    };
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED')
        onGone({ kind: 'refused', error: `TCP connection refused by ${server.address}:${server.port}` });
      else if (e.code === 'ECONNRESET') onGone({ kind: 'reset', error: 'connection reset by the server' });
      else onGone({ kind: 'error', error: `${e.code ?? ''} ${e.message}`.trim() });
    });
    sock.on('close', () => onGone({ kind: 'closed', error: 'the server closed the TCP connection' }));
  });
}

export const isFailure = (x: StunTransport | Failure): x is Failure => 'kind' in x && !('request' in x);
