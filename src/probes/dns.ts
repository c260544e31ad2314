// Resolve one name the two ways that matter: as this machine's programs do (getaddrinfo: hosts file, nsswitch)
// and as each DNS server answers directly (rcode, CNAME chain). Evidence only; the checks decide.
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { Resolver } from '../model.js';
import { queryServer, serverLabel, type Outcome, type WireAnswer } from './dns-wire.js';

export interface OsView {
  outcome: 'answer' | 'notfound' | 'tempfail' | 'timeout' | 'error';
  addresses: string[];
  error?: string;
  ms: number;
}

export interface ServerView {
  server: string;
  source: Resolver['source'];
  /** The A and AAAA answers merged: see mergeOutcome. */
  outcome: Outcome;
  addresses: string[];
  cnames: string[];
  answers: WireAnswer[];
}

export interface NameEvidence {
  host: string;
  os: OsView;
  servers: ServerView[];
}

export async function resolveName(
  host: string,
  resolvers: Resolver[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<NameEvidence> {
  const [os, ...servers] = await Promise.all([
    osLookup(host, timeoutMs, signal),
    ...resolvers.map(async (r): Promise<ServerView> => {
      const answers = await Promise.all([
        queryServer(r, host, 'A', timeoutMs, signal),
        queryServer(r, host, 'AAAA', timeoutMs, signal),
      ]);
      return {
        server: serverLabel(r),
        source: r.source,
        outcome: mergeOutcome(answers.map((a) => a.outcome)),
        addresses: answers.flatMap((a) => a.addresses),
        cnames: answers.find((a) => a.cnames.length)?.cnames ?? [],
        answers,
      };
    }),
  ]);
  return { host, os: os!, servers };
}

/**
 * One outcome for a name from its A and AAAA answers. Any address wins; otherwise a definite negative
 * (NXDOMAIN, NODATA) only when both questions got one, since a timed-out A with an empty AAAA proves nothing.
 */
export function mergeOutcome(outcomes: Outcome[]): Outcome {
  if (outcomes.includes('answer')) return 'answer';
  if (outcomes.every((o) => o === 'nxdomain' || o === 'nodata'))
    return outcomes.includes('nxdomain') ? 'nxdomain' : 'nodata';
  for (const o of ['servfail', 'timeout', 'refused', 'malformed', 'error'] as const) if (outcomes.includes(o)) return o;
  return 'error';
}

/**
 * getaddrinfo calls in flight, by name: a caller that asks for a name already being resolved joins that call (one
 * answer for both, each with its own deadline and timing). sse.main asks for <d> beside dns.main, to start its
 * stream as soon as the machine's answer is in (checks/sse.main.ts).
 */
const inFlight = new Map<string, Promise<LookupAddress[]>>();
function getaddrinfo(host: string): Promise<LookupAddress[]> {
  let call = inFlight.get(host);
  if (!call) {
    call = lookup(host, { all: true, verbatim: true });
    inFlight.set(host, call);
    const settled = () => inFlight.delete(host);
    call.then(settled, settled);
  }
  return call;
}

/** The name as this machine's programs resolve it (getaddrinfo: hosts file, nsswitch), within `timeoutMs`. */
export async function osLookup(host: string, timeoutMs: number, signal?: AbortSignal): Promise<OsView> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // getaddrinfo cannot be cancelled; past the deadline we stop waiting and let the thread finish on its own.
  const deadline = new Promise<OsView>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          outcome: 'timeout',
          addresses: [],
          error: `getaddrinfo gave no answer within ${timeoutMs} ms`,
          ms: ms(),
        }),
      timeoutMs,
    );
    onAbort = () => resolve({ outcome: 'timeout', addresses: [], error: 'aborted', ms: ms() });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const attempt = getaddrinfo(host).then(
    (list): OsView => ({ outcome: 'answer', addresses: [...new Set(list.map((a) => a.address))], ms: ms() }),
    (e: NodeJS.ErrnoException): OsView => {
      const outcome =
        e.code === 'ENOTFOUND' || e.code === 'ENODATA' ? 'notfound' : e.code === 'EAI_AGAIN' ? 'tempfail' : 'error';
      return { outcome, addresses: [], error: `getaddrinfo ${e.code ?? 'error'}`, ms: ms() };
    },
  );
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** The nameservers this machine's stub resolver uses (glibc reads at most three). */
export async function systemResolvers(path = '/etc/resolv.conf'): Promise<Resolver[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: Resolver[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const addr = m?.[1]?.replace(/%.*$/, '');
    if (addr && net.isIP(addr) && out.length < 3) out.push({ address: addr, port: 53, source: 'system' });
  }
  return out;
}
