// WebSocket upgrades and held WebSocket streams through the proxy, pinned to one address (SNI and Host follow
// the URL). No pings ever: a client ping resets a proxy's idle timer and would hide the cut we measure.
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { reportSilentEnd, twinHasOutlived, type HoldPair, type StreamEnd } from './hold-pair.js';
import { pinnedLookup, UNVERIFIED_TLS } from './http.js';

export interface WsUpgrade {
  url: string;
  address: string;
  upgraded: boolean;
  status?: number;
  headers?: Record<string, string>;
  /** Body of a non-101 answer, first bytes. */
  body?: string;
  firstMessage?: string;
  closeCode?: number;
  closeReason?: string;
  error?: string;
  ms: number;
}

const MAX_BODY = 2048;

function open(url: string, address: string, timeoutMs: number): WebSocket {
  return new WebSocket(url, {
    lookup: pinnedLookup(address),
    ...UNVERIFIED_TLS,
    handshakeTimeout: timeoutMs,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
    headers: { 'user-agent': 'nap-verify' },
  } as WebSocket.ClientOptions);
}

const flatHeaders = (h: IncomingMessage['headers']) =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
  );

/** Upgrade, then wait for the first message or a close (whichever comes) within the deadline. */
export function wsUpgrade(url: string, address: string, timeoutMs: number, signal?: AbortSignal): Promise<WsUpgrade> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const ev: WsUpgrade = { url, address, upgraded: false, ms: 0 };
    let done = false;
    const ws = open(url, address, timeoutMs);
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ev.ms = ms();
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(ev);
    };
    const onAbort = () => {
      ev.error ??= 'aborted';
      finish();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      ev.error ??= ev.upgraded
        ? `upgraded, but no message or close within ${timeoutMs} ms`
        : `no answer to the upgrade within ${timeoutMs} ms`;
      finish();
    }, timeoutMs);
    ws.on('upgrade', (res) => {
      ev.upgraded = true;
      ev.status = res.statusCode;
      ev.headers = flatHeaders(res.headers);
    });
    ws.on('unexpected-response', (_req, res) => {
      ev.status = res.statusCode;
      ev.headers = flatHeaders(res.headers);
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        if (n < MAX_BODY) chunks.push(c.subarray(0, MAX_BODY - n));
        n += c.length;
        if (n >= MAX_BODY) {
          ev.body = Buffer.concat(chunks).toString('utf8');
          finish();
        }
      });
      res.on('end', () => {
        ev.body = Buffer.concat(chunks).toString('utf8');
        finish();
      });
      res.on('error', () => finish());
    });
    ws.on('message', (data) => {
      ev.firstMessage = data.toString().slice(0, MAX_BODY);
      finish();
    });
    ws.on('close', (code, reason) => {
      ev.closeCode = code;
      ev.closeReason = reason.toString().slice(0, 256);
      finish();
    });
    ws.on('error', (e: Error) => {
      ev.error ??= e.message;
      // 'unexpected-response' handles non-101 answers; any other error ends the attempt.
      if (ev.status === undefined || ev.upgraded) finish();
    });
  });
}

export interface HoldTimeline {
  url: string;
  mode: 'silent' | 'keepalive';
  /** ms since the probe started: the stream opened, its last byte in either direction, its end. */
  openedAt?: number;
  lastByteAt?: number;
  endedAt?: number;
  /** Bytes seen, as (ms, direction, what) — bounded. */
  events: Array<[number, 'in' | 'out', string]>;
  end: StreamEnd;
  /** For WebSockets: the echo sent after the hold came back. */
  afterHold?: 'echoed' | 'no-echo';
  /** The twin was stopped, still carrying data, this many ms of age after the silent stream's cut. */
  outlivedMs?: number;
}

const MAX_EVENTS = 64;

export interface HoldOptions {
  url: string;
  address: string;
  holdMs: number;
  timeoutMs: number;
  /** Send an application message this often (the keep-alive twin); omit for a silent stream. */
  keepaliveMs?: number;
  /** Shared with the other stream of the pair: the silent one reports its cut, the twin stops once past it. */
  pair?: HoldPair;
  signal?: AbortSignal;
}

/** Open a WebSocket, stay silent (or keep it alive) for holdMs, then prove it still carries data. */
export function holdWebSocket(o: HoldOptions): Promise<HoldTimeline> {
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const tl: HoldTimeline = {
    url: o.url,
    mode: o.keepaliveMs ? 'keepalive' : 'silent',
    events: [],
    end: { how: 'timeout', detail: 'not finished' },
  };
  const mark = (dir: 'in' | 'out', what: string) => {
    tl.lastByteAt = now();
    if (tl.events.length < MAX_EVENTS) tl.events.push([tl.lastByteAt, dir, what]);
  };
  return new Promise((resolve) => {
    const ws = open(o.url, o.address, o.timeoutMs);
    const timers: NodeJS.Timeout[] = [];
    let fin = false;
    let settled = false;
    let waitingEcho = false;
    const finish = (end: StreamEnd) => {
      if (settled) return;
      settled = true;
      tl.end = end;
      tl.endedAt ??= now();
      if (!o.keepaliveMs) reportSilentEnd(o.pair, end, tl.openedAt, tl.endedAt);
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(tl);
    };
    const onAbort = () => finish({ how: 'timeout', detail: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // The whole hold plus room to open and to hear the echo: nothing here can outlive it.
    timers.push(setTimeout(() => finish({ how: 'timeout', detail: 'overall deadline' }), o.holdMs + 3 * o.timeoutMs));
    ws.on('upgrade', (res) => {
      res.socket.once('end', () => (fin = true));
    });
    ws.on('unexpected-response', (_req, res) => {
      tl.endedAt = now();
      finish({ how: 'http', status: res.statusCode ?? 0 });
    });
    ws.on('open', () => {
      tl.openedAt = now();
      tl.lastByteAt = tl.openedAt;
      if (o.keepaliveMs) {
        let n = 0;
        const tick = () => {
          if (settled) return;
          ws.send(`keepalive-${n++}`);
          mark('out', 'keepalive');
          if (now() + o.keepaliveMs! < tl.openedAt! + o.holdMs) timers.push(setTimeout(tick, o.keepaliveMs));
        };
        timers.push(setTimeout(tick, o.keepaliveMs));
      }
      timers.push(
        setTimeout(() => {
          waitingEcho = true;
          ws.send('after-hold');
          mark('out', 'after-hold');
          timers.push(
            setTimeout(() => {
              tl.afterHold = 'no-echo';
              tl.endedAt = now();
              finish({ how: 'timeout', detail: `no echo within ${o.timeoutMs} ms after the hold` });
            }, o.timeoutMs),
          );
        }, o.holdMs),
      );
    });
    ws.on('message', (data) => {
      const text = data.toString();
      mark('in', text.includes('"hello"') ? 'hello' : text.includes('after-hold') ? 'echo after-hold' : 'echo');
      if (waitingEcho && text.includes('after-hold')) {
        tl.afterHold = 'echoed';
        finish({ how: 'survived' });
      } else if (o.keepaliveMs && tl.openedAt !== undefined && twinHasOutlived(o.pair, tl.lastByteAt! - tl.openedAt)) {
        tl.outlivedMs = tl.lastByteAt! - tl.openedAt - o.pair!.silentCutAgeMs!;
        finish({ how: 'survived' });
      }
    });
    ws.on('close', (code, reason) => {
      tl.endedAt = now();
      finish({ how: 'close', code, reason: reason.toString().slice(0, 200), fin });
    });
    ws.on('error', (e: NodeJS.ErrnoException) => {
      if (tl.endedAt === undefined) tl.endedAt = now();
      const code = e.code ?? '';
      if (code === 'ECONNRESET') finish({ how: 'reset', detail: e.message });
      else if (tl.openedAt === undefined && !/Unexpected server response/.test(e.message))
        finish({ how: 'error', detail: e.message });
    });
  });
}
