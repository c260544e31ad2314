// The two TLS connections sse.main's first reads need, opened by the check command as soon as its options are read,
// while the checks' code is still loading. Those reads end a `--no-hold` run: each waits for a tick the responder
// sends 100 ms after hello, whatever the machine does, and their handshakes, started with the checks, waited ~50 ms
// behind the other checks' work on the one busy thread (bench/RESULTS.md). A connection is only a head start: the
// read takes it when it goes to the same address, port and name (else it is closed), and connects itself otherwise.
import { lookup } from 'node:dns/promises';
import tls from 'node:tls';

export type Alpn = 'http/1.1' | 'h2';

/** What the check command knows before the checks load (a subset of CheckOptions). */
export interface PreconnectOptions {
  domain: string;
  mode: 'external' | 'nodeport';
  ingressIp?: string;
  ipFamily: 'auto' | '4' | '6';
  httpsPort: number;
  timeoutMs: number;
  only: string[];
  skip: string[];
}

/** How a connection attempt ended: the socket, or why not (`timeout`: nothing within the deadline). */
export type Outcome = { sock: tls.TLSSocket } | { error: { code: string; message: string }; timeout?: true };

interface Opened {
  key: string;
  outcome: Promise<Outcome | undefined>;
}

const opened = new Map<Alpn, Opened>();
/** The address the connections went to, for the name and port they were opened for. */
let target: { host: string; port: number; address: Promise<string | undefined> } | undefined;
const keyOf = (address: string, port: number, host: string) => `${address}|${port}|${host.toLowerCase()}`;

/** sse.main runs in this selection (the registry's --only/--skip matching, for this one id). */
function selectsSse(o: PreconnectOptions): boolean {
  const id = 'sse.main';
  const picks = (e: string) => e === id || id.startsWith(`${e}.`);
  return (!o.only.length || o.only.some(picks)) && !o.skip.some(picks);
}

/**
 * Starts the connections when sse.main will read from <d> over TLS: its address is --ingress-ip or the machine's
 * one answer for <d> (several answers are raced by the read itself, so nothing is opened for them). Never throws;
 * the sockets are unreferenced until taken, so an unused one never keeps the process alive.
 */
export function preconnect(o: PreconnectOptions): void {
  if (o.mode !== 'external' || !selectsSse(o) || opened.size) return;
  const address = o.ingressIp
    ? Promise.resolve(o.ingressIp)
    : lookup(o.domain, { all: true }).then(
        (all) => {
          const usable = all.filter((a) => o.ipFamily === 'auto' || String(a.family) === o.ipFamily);
          return usable.length === 1 ? usable[0]!.address : undefined;
        },
        () => undefined,
      );
  target = { host: o.domain.toLowerCase(), port: o.httpsPort, address };
  for (const alpn of ['http/1.1', 'h2'] as const) {
    const entry: Opened = { key: '', outcome: Promise.resolve(undefined) };
    entry.outcome = address.then((a) => {
      if (!a) return undefined;
      entry.key = keyOf(a, o.httpsPort, o.domain);
      return open(a, o, alpn);
    });
    opened.set(alpn, entry);
  }
}

// Its own few lines rather than http1.ts's openConnection: this module loads with the command's entry, before the
// checks, and the HTTP client would come along into that chunk (and a second copy of it).
function open(address: string, o: PreconnectOptions, alpn: Alpn): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: address,
      port: o.httpsPort,
      servername: o.domain,
      ALPNProtocols: alpn === 'h2' ? ['h2', 'http/1.1'] : ['http/1.1'],
      // As every probe but tls.*: the certificate is tls.*'s to judge.
      rejectUnauthorized: false,
    });
    s.unref();
    const timer = setTimeout(
      () =>
        settle({
          error: { code: 'ETIMEDOUT', message: `no connection within ${o.timeoutMs} ms` },
          timeout: true,
        }),
      o.timeoutMs,
    );
    timer.unref();
    const settle = (v: Outcome) => {
      clearTimeout(timer);
      s.off('error', onError);
      if ('error' in v) s.destroy();
      else s.on('error', () => {});
      resolve(v);
    };
    const onError = (e: NodeJS.ErrnoException) => settle({ error: { code: e.code ?? 'ERROR', message: e.message } });
    s.once('error', onError);
    s.once('secureConnect', () => settle({ sock: s }));
  });
}

/**
 * How the attempt opened for this address, port, name and protocol went, once: its socket (if still open), or its
 * failure, which is the read's own (it would have met the same). Undefined when there was none for them: the read
 * connects itself. A socket opened for another address is closed.
 */
export async function takePreconnected(
  address: string,
  port: number,
  host: string,
  alpn: Alpn,
): Promise<Outcome | undefined> {
  const entry = opened.get(alpn);
  if (!entry) return undefined;
  opened.delete(alpn);
  const outcome = await entry.outcome;
  if (!outcome) return undefined;
  if (entry.key !== keyOf(address, port, host)) {
    if ('sock' in outcome) outcome.sock.destroy();
    return undefined;
  }
  if ('error' in outcome) return outcome;
  const { sock } = outcome;
  // Closed by the server while it waited (an idle timeout): the read connects itself.
  if (sock.destroyed || sock.readableEnded) return undefined;
  sock.removeAllListeners('error');
  sock.ref();
  return outcome;
}

/**
 * The address the head start went to for this name and port: the machine's one answer (or --ingress-ip), the
 * address sse.main would pick itself, known without asking again. Undefined when nothing was opened for them.
 */
export function preconnectedAddress(host: string, port: number): Promise<string | undefined> | undefined {
  return target && target.host === host.toLowerCase() && target.port === port ? target.address : undefined;
}
