// Per-phase timings of an HTTP exchange, as blackbox_exporter reports them: name lookup, TCP connect, TLS
// handshake (for the connection the exchange opened; 0 on a kept-alive one), and the wait from the request being
// sent to the first byte of the answer. Measured with a timing connector (socket events) and a handler that marks
// when undici sends the request and when the headers come back.
import type { Socket } from 'node:net';
import { buildConnector, DecoratorHandler, type Dispatcher } from './undici.js';

export interface PhaseTimings {
  dnsMs: number;
  connectMs: number;
  tlsMs: number;
  /** From the request being written to the first byte of the answer (the service and proxies at work). */
  firstByteMs: number;
  /** The exchange ran on a connection an earlier one opened: no lookup, connect or handshake of its own. */
  reusedConnection?: true;
}

interface ConnectionMarks {
  startedAt: number;
  lookupAt?: number;
  connectAt?: number;
  secureAt?: number;
  claimed?: boolean;
}

/** Marks of one exchange, filled as undici reaches each phase. */
export interface ExchangeMarks {
  startedAt: number;
  sentAt?: number;
  firstByteAt?: number;
  connection?: ConnectionMarks;
}

/** The request option under which an exchange hands its marks to the timing interceptor. */
export const PHASE_MARKS = Symbol('nap-verify phase marks');

const ms = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? 0 : Math.max(0, Math.round(b - a));

export function phaseTimings(m: ExchangeMarks): PhaseTimings | undefined {
  if (m.sentAt === undefined || m.firstByteAt === undefined) return undefined;
  const firstByteMs = ms(m.sentAt, m.firstByteAt);
  const c = m.connection;
  if (!c) return { dnsMs: 0, connectMs: 0, tlsMs: 0, firstByteMs, reusedConnection: true };
  const lookupAt = c.lookupAt ?? c.startedAt;
  return {
    dnsMs: ms(c.startedAt, lookupAt),
    connectMs: ms(lookupAt, c.connectAt),
    tlsMs: ms(c.connectAt, c.secureAt),
    firstByteMs,
  };
}

const originKey = (protocol: string, hostname: string, port: string | number) =>
  `${protocol}//${hostname.replace(/^\[|\]$/g, '')}:${port || (protocol === 'https:' ? 443 : 80)}`;

type Args<K extends keyof Dispatcher.DispatchHandler> = Parameters<NonNullable<Dispatcher.DispatchHandler[K]>>;
// DecoratorHandler forwards every callback (and adapts undici's legacy handlers); its typings declare none.
const Forwarding = DecoratorHandler as unknown as new (
  h: Dispatcher.DispatchHandler,
) => {
  onRequestStart(...a: Args<'onRequestStart'>): void;
  onResponseStart(...a: Args<'onResponseStart'>): void;
};

/**
 * A connector and an interceptor for one agent. Connections are kept per origin one at a time (the agents use
 * `connections: 1`), so the newest unclaimed connection of an origin is the one the next exchange waited for.
 */
export function phaseTimer(connect: buildConnector.BuildOptions) {
  const base = buildConnector(connect);
  const latest = new Map<string, ConnectionMarks>();
  const connector: buildConnector.connector = (opts, cb) => {
    const marks: ConnectionMarks = { startedAt: performance.now() };
    const socket = (base as unknown as (o: typeof opts, c: typeof cb) => Socket | undefined)(opts, (err, s) => {
      if (!err) latest.set(originKey(opts.protocol, opts.hostname, opts.port), marks);
      cb(...([err, s] as Parameters<typeof cb>));
    });
    socket?.once('lookup', () => (marks.lookupAt = performance.now()));
    socket?.once('connect', () => (marks.connectAt = performance.now()));
    socket?.once('secureConnect', () => (marks.secureAt = performance.now()));
  };
  const interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    const marks = (opts as unknown as Record<symbol, ExchangeMarks | undefined>)[PHASE_MARKS];
    if (!marks || !opts.origin) return dispatch(opts, handler);
    const u = new URL(String(opts.origin));
    const key = originKey(u.protocol, u.hostname, u.port);
    class Marker extends Forwarding {
      override onRequestStart(...a: Args<'onRequestStart'>) {
        marks!.sentAt = performance.now();
        const c = latest.get(key);
        // A connection opened after this exchange began, and not yet used: this exchange waited for it.
        if (c && !c.claimed && c.startedAt >= marks!.startedAt) {
          c.claimed = true;
          marks!.connection = c;
        } else if (c) c.claimed = true;
        super.onRequestStart(...a);
      }
      override onResponseStart(...a: Args<'onResponseStart'>) {
        marks!.firstByteAt ??= performance.now();
        super.onResponseStart(...a);
      }
    }
    return dispatch(opts, new Marker(handler) as unknown as Dispatcher.DispatchHandler);
  };
  return { connector, interceptor };
}
