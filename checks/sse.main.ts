// sse.main: events reach the client as they are sent — not held back by proxy buffering or compression.
import { inert } from '../src/inert.js';
import type { CheckDef, GatherTools, Judgement, RunContext, Upstream } from '../src/model.js';
import { h2Sse } from '../src/probes/h2.js';
import { osLookup } from '../src/probes/dns.js';
import { preconnectedAddress } from '../src/probes/preconnect.js';
import { chooseAddress, preferredOrder } from '../src/probes/reach.js';
import { readSse, type SseTimeline } from '../src/probes/sse.js';
import { addressFor, dnsCheckFor, originFor, SOFT_HTTP_CODES, transportNeeds, WELL_KNOWN } from './_lib/routing.js';
import { evidenceOf } from './_lib/evidence.js';

/**
 * One read of the stream: its timeline, and when hello and the first tick arrived (ms after the headers). Every
 * field is always there (null when it does not apply), so the evidence has the same keys whatever the timing.
 */
export interface Reading {
  stream: SseTimeline;
  /** null: the event did not arrive before the stream ended. */
  helloAt: number | null;
  tickAt: number | null;
  /** How far apart hello and the first tick were sent: TICK_GAP_MS on the first read, CONFIRM_GAP_MS on a second. */
  sentGapMs: number;
  /** The first read saw hello and the tick together: their gap then (ms), and this is the second read. Else null. */
  firstGapMs: number | null;
}

/** The same read over HTTP/2 when the server offers it (what browsers use): ALPN, or why it was not read. */
type H2Reading = { alpn?: string; error?: string } & Partial<Reading>;

interface SseEvidence extends Partial<Reading> {
  host: string;
  unavailable?: string;
  controller?: string;
  h2?: H2Reading;
}

/**
 * The responder sends its first tick TICK_GAP_MS after hello (§7 `&gap=`): a proxy that buffers delivers them
 * together when the 1 s stream ends. 100 ms keeps a healthy run short (even read early, the stream ends the
 * critical path of a --no-hold run: 150 ms made it 0.32 s, 100 ms 0.27 s) and still far above the few ms a buffered
 * pair arrives apart. Less than TOGETHER_BELOW_MS apart is "together". That first read cannot tell a buffer from a
 * busy machine: a reader that gets no CPU for 40 ms or more (fifteen runs starting on two cores do that) reads
 * hello late, with the tick. So a pair seen together is read again with the tick sent CONFIRM_GAP_MS after hello,
 * and only that second read decides: a buffer holds the pair together again (till the stream ends), while a busy
 * machine would have to starve the reader (or a proxy) for CONFIRM_GAP_MS - TOGETHER_BELOW_MS = 740 ms without a
 * break to fake it. A proxy that holds events back for less than that (one flushing on a timer) passes, as it
 * should: events that late are still live.
 */
export const TICK_GAP_MS = 100;
export const CONFIRM_GAP_MS = 800;
export const TOGETHER_BELOW_MS = Math.round(TICK_GAP_MS * 0.6);

// The first reads by the address they went to: gather uses them only if dns.main settled on that one.
const FIRST_READ = (address: string) => `sse.main:first-read@${address}`;
const FIRST_READ_H2 = (address: string) => `sse.main:first-read-h2@${address}`;
// hold=1: a buffering proxy releases everything when the stream ends after 1 s; a healthy one shows the first tick
// gapMs after hello, and we stop there. The second read's tick (800 ms) still comes before that end.
const ssePath = (gapMs: number) => `${WELL_KNOWN}/sse?hold=1&gap=${gapMs}`;

async function measure(ctx: RunContext, address: string, signal: AbortSignal, gapMs = TICK_GAP_MS): Promise<Reading> {
  const stream = await readSse({
    url: `${originFor(ctx, 'main')}${ssePath(gapMs)}`,
    address,
    timeoutMs: ctx.timeoutMs,
    expectMs: 1000,
    signal,
    stopAfter: 'tick',
  });
  return reading(stream, gapMs);
}

/** The same read over HTTP/2; NodePort installs speak plain HTTP, which browsers never use h2 on. */
async function measureH2(
  ctx: RunContext,
  address: string,
  signal: AbortSignal,
  gapMs = TICK_GAP_MS,
): Promise<H2Reading> {
  const r = await h2Sse({
    host: ctx.target.domain,
    address,
    port: ctx.httpsPort,
    timeoutMs: ctx.timeoutMs,
    signal,
    path: ssePath(gapMs),
    expectMs: 1000,
    stopAfter: 'tick',
  });
  const { alpn, error } = r.connection;
  return { ...(alpn ? { alpn } : {}), ...(error ? { error } : {}), ...(r.stream ? reading(r.stream, gapMs) : {}) };
}

/**
 * The address dns.main will connect <d> to, as soon as this machine's own answer is in (the same getaddrinfo call
 * as dns.main's, and the same race when there are several): dns-name.ts's choice, made early. Undefined when that
 * answer is empty (dns.main then goes by the DNS servers' answers, and gather reads). With --ingress-ip, or a
 * NodePort install on an IP, there is nothing to resolve.
 */
async function earlyAddress(ctx: RunContext, up: Upstream, tools: GatherTools): Promise<string | undefined> {
  if (!dnsCheckFor(ctx, 'main')) return addressFor(ctx, 'main', up);
  // The check command's head start already asked (one answer, the same choice): no second wait for it.
  const known = ctx.mode === 'external' ? await preconnectedAddress(ctx.target.hosts.main, ctx.httpsPort) : undefined;
  if (known) return known;
  const os = await osLookup(ctx.target.hosts.main, ctx.timeoutMs, tools.signal);
  const candidates = preferredOrder(os.addresses, ctx.ipFamily);
  if (candidates.length <= 1) return candidates[0];
  const port = ctx.mode === 'nodeport' ? (ctx.nodePorts?.main ?? ctx.httpPort) : ctx.httpsPort;
  const key = `reach:${[...candidates].sort().join(',')}:${port}`;
  return (await tools.probe(key, () => chooseAddress(candidates, port, ctx.timeoutMs, tools.signal))).chosen;
}

/** A timeline as a reading: when hello and the first tick arrived, relative to the headers. */
export function reading(stream: SseTimeline, sentGapMs: number): Reading {
  const at = (name: string) => stream.events.find(([, kind, n]) => kind === 'event' && n === name)?.[0];
  const rel = (t: number | undefined) => (t === undefined ? null : t - (stream.headersAt ?? 0));
  return { stream, helloAt: rel(at('hello')), tickAt: rel(at('tick')), sentGapMs, firstGapMs: null };
}

/** The tick's arrival after hello's (ms); undefined when either did not arrive. */
const gapOf = (x: Partial<Reading>) =>
  typeof x.helloAt === 'number' && typeof x.tickAt === 'number' ? x.tickAt - x.helloAt : undefined;

/** Hello and the first tick arrived less than TOGETHER_BELOW_MS apart. */
export const together = (x: Partial<Reading>) => (gapOf(x) ?? Infinity) < TOGETHER_BELOW_MS;

/**
 * The reading the verdict rests on: the first, unless it saw hello and the tick together; then `again`, the second
 * read (CONFIRM_GAP_MS apart), carrying the first one's gap. Together once may be this machine, busy; a buffer
 * holds the pair together every time, however far apart it was sent.
 */
export async function decisive<R extends Partial<Reading>>(
  first: R,
  again: () => Promise<R>,
  signal?: AbortSignal,
): Promise<R> {
  if (!together(first) || signal?.aborted) return first;
  return { ...(await again()), firstGapMs: gapOf(first)! };
}

/**
 * How one reading delivered: as sent, or held back (and how), or not an event stream at all; or undecided, a pair
 * seen together only on a read whose tick was sent less than CONFIRM_GAP_MS after hello (the run ended before the
 * second read), which a busy machine can fake.
 */
type Delivery =
  | { kind: 'live'; gap: number }
  | { kind: 'held'; why: string }
  | { kind: 'undecided' }
  | { kind: 'compressed'; encoding: string }
  | { kind: 'not-sse'; why: string };

function delivery(r: Reading): Delivery {
  const s = r.stream;
  if (s.status !== 200) {
    const said = s.body ? `: ${inert(JSON.stringify(s.body.slice(0, 80)))}` : '';
    return { kind: 'not-sse', why: `the SSE stream answered ${s.status ?? s.end.how}${said}` };
  }
  if (!/^text\/event-stream/i.test(s.contentType ?? ''))
    return {
      kind: 'not-sse',
      why: `the SSE stream arrived as ${s.contentType ?? 'no content type'}, not text/event-stream`,
    };
  if (s.contentEncoding) return { kind: 'compressed', encoding: s.contentEncoding };
  const gap = gapOf(r);
  if (gap === undefined) {
    const missing = typeof r.helloAt !== 'number' ? 'no hello event' : 'no tick';
    return { kind: 'held', why: `${missing} arrived before the stream ended (${s.end.how})` };
  }
  if (gap < TOGETHER_BELOW_MS) {
    // Negated so that a reading without sentGapMs (an older run's) is never judged held either.
    if (!(r.sentGapMs >= CONFIRM_GAP_MS)) return { kind: 'undecided' };
    const first =
      typeof r.firstGapMs === 'number'
        ? ` (read twice: sent ${TICK_GAP_MS / 1000} s apart the first time, within ${r.firstGapMs} ms)`
        : '';
    // From the request, not the headers: a buffer that holds the whole response sends the headers with the events.
    const sinceRequest = (s.headersAt ?? 0) + r.tickAt!;
    const ended = sinceRequest >= 900 ? ', as the 1 s stream ended' : '';
    const when = `${(sinceRequest / 1000).toFixed(1)} s after the request${ended}`;
    return {
      kind: 'held',
      why:
        `hello and the first tick, sent ${r.sentGapMs / 1000} s apart, arrived within ${gap} ms of each other, ` +
        `${when}${first}`,
    };
  }
  return { kind: 'live', gap };
}

/** Turning buffering off fixes both codes: the proxy then flushes each event to every client. */
const UNBUFFER_FIX = {
  general: 'Turn response buffering and compression off for text/event-stream.',
  'ingress-nginx':
    'nginx.ingress.kubernetes.io/proxy-buffering: "off" on the Ingress (plain nginx: proxy_buffering ' +
    'off; or the backend header X-Accel-Buffering: no), and leave text/event-stream out of gzip_types.',
  nginx:
    'In the location that proxies NAP: proxy_buffering off; (or the backend header X-Accel-Buffering: ' +
    'no), and leave text/event-stream out of gzip_types.',
  contour: 'Envoy streams by default: remove compression filters for text/event-stream.',
  traefik:
    'Remove the compress middleware from the route (or exclude text/event-stream); ' +
    'responseForwarding.flushInterval.',
  istio: 'Remove EnvoyFilters that add buffering or compression on this route.',
  haproxy: 'Disable compression for text/event-stream (compression type without it); option http-buffer-request off.',
};

const check: CheckDef<SseEvidence> = {
  meta: {
    id: 'sse.main',
    area: 'sse',
    title: 'SSE delivered as sent',
    proves:
      `A server-sent-event stream through the ingress is text/event-stream, uncompressed, and its events ` +
      `arrive as they are sent (the first tick, sent ${TICK_GAP_MS / 1000} s after hello, arrives ` +
      `${TICK_GAP_MS / 1000} s after it).`,
    codes: {
      SSE_BUFFERED: {
        status: 'fail',
        why:
          'The proxy holds events back (response buffering or compression) and releases them in bursts: live ' +
          'progress and chat streams in NAP stall.',
        fix: UNBUFFER_FIX,
      },
      SSE_BUFFERED_HTTP1: {
        status: 'warn',
        why:
          'The proxy holds events back from HTTP/1.1 clients but passes them on over HTTP/2 (nginx with ' +
          'proxy_buffering on does this): browsers, which speak HTTP/2 to this ingress, get live events; anything ' +
          'on HTTP/1.1 (scripts and SDKs, a TLS-inspecting proxy that speaks HTTP/1.1 to the ingress) stalls.',
        fix: UNBUFFER_FIX,
      },
      SSE_BAD_TYPE: {
        status: 'fail',
        why:
          'The stream does not arrive as text/event-stream with status 200: something in front rewrote or ' +
          'replaced the response.',
        fix: 'Check for an error page or a content-type rewrite in front of nap-cp.',
      },
    },
  },
  needs: (ctx) => [...transportNeeds(ctx, 'main'), { id: 'http.main', tolerate: SOFT_HTTP_CODES }],
  // The first read takes TICK_GAP_MS whatever the ingress: it starts once the address is known, beside dns.main's
  // questions to the DNS servers, tls.main and http.main, instead of after them. http.main still decides whether it
  // is read at all (no responder: skip), and gather reads again if dns.main settles on another address.
  early: {
    after: () => [],
    start(ctx, up, tools) {
      earlyAddress(ctx, up, tools).then(
        (address) => {
          if (!address || tools.signal.aborted) return;
          void tools.probe(FIRST_READ(address), () => measure(ctx, address, tools.signal));
          if (ctx.mode !== 'nodeport')
            void tools.probe(FIRST_READ_H2(address), () => measureH2(ctx, address, tools.signal));
        },
        () => {
          // gather reads, and reports what breaks.
        },
      );
    },
  },
  async gather(ctx, up, tools) {
    const http = evidenceOf(up, 'http.main');
    const base = { host: ctx.target.domain, ...(http?.controller ? { controller: http.controller } : {}) };
    if (!http?.responder)
      return {
        ...base,
        unavailable:
          `no responder behind ${ctx.target.domain} (the platform has no SSE stream open without ` +
          `credentials): buffering not tested; run the responder in a maintenance window`,
      };
    const address = addressFor(ctx, 'main', up);
    const [h1, h2] = await Promise.all([
      tools
        .probe(FIRST_READ(address), () => measure(ctx, address, tools.signal))
        .then((m) => decisive(m, () => measure(ctx, address, tools.signal, CONFIRM_GAP_MS), tools.signal)),
      ctx.mode === 'nodeport'
        ? undefined
        : tools
            .probe(FIRST_READ_H2(address), () => measureH2(ctx, address, tools.signal))
            .then((m) => decisive(m, () => measureH2(ctx, address, tools.signal, CONFIRM_GAP_MS), tools.signal)),
    ]);
    return { ...base, ...h1, ...(h2 ? { h2 } : {}) };
  },
  judge(ev): Judgement {
    const host = ev.host;
    const base = { host, ...(ev.controller ? { controller: ev.controller as Judgement['controller'] } : {}) };
    if (ev.unavailable || !ev.stream) return { ...base, status: 'skip', message: ev.unavailable ?? 'not measured' };
    const v1 = delivery(ev as Reading);
    if (v1.kind === 'not-sse') return { ...base, status: 'fail', code: 'SSE_BAD_TYPE', message: v1.why };
    const v2 = ev.h2?.stream ? delivery(ev.h2 as Reading) : undefined;
    if (v2?.kind === 'not-sse')
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BAD_TYPE',
        message: `over HTTP/2, which browsers use here, ${v2.why}`,
      };
    if (v1.kind === 'compressed' || v2?.kind === 'compressed') {
      const [encoding, where] =
        v1.kind === 'compressed' ? [v1.encoding, ''] : [(v2 as { encoding: string }).encoding, ' over HTTP/2'];
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BUFFERED',
        message: `the SSE stream was compressed (${encoding}) on the way${where}: compression holds events back`,
      };
    }
    if (v1.kind === 'undecided' || v2?.kind === 'undecided')
      return {
        ...base,
        status: 'skip',
        message:
          `buffering not judged: hello and the first tick arrived together on the first read` +
          `${v1.kind === 'undecided' ? '' : ' over HTTP/2'}, and the run ended before the second read, which decides`,
      };
    const h2Held = v2?.kind === 'held' ? v2.why : undefined;
    if (v1.kind === 'held')
      return v2?.kind === 'live'
        ? {
            ...base,
            status: 'warn',
            code: 'SSE_BUFFERED_HTTP1',
            message:
              `over HTTP/1.1 ${v1.why}: the proxy buffers the stream for HTTP/1.1 clients; over HTTP/2, which ` +
              `browsers use here, the first tick arrived ${(v2.gap / 1000).toFixed(2)} s after hello as sent`,
          }
        : {
            ...base,
            status: 'fail',
            code: 'SSE_BUFFERED',
            message: `${v1.why}: the proxy buffers the stream${h2Held ? ` (over HTTP/2 too: ${h2Held})` : ''}`,
          };
    if (h2Held)
      return {
        ...base,
        status: 'fail',
        code: 'SSE_BUFFERED',
        message:
          `over HTTP/2, which browsers use here, ${h2Held}: the proxy buffers the stream for them (over ` +
          `HTTP/1.1 the first tick arrived ${(v1.gap / 1000).toFixed(2)} s after hello as sent)`,
      };
    const over = v2?.kind === 'live' ? ' over HTTP/1.1 and HTTP/2' : '';
    const h2Note = ev.h2?.error
      ? ` (HTTP/2 not read: ${ev.h2.error})`
      : ev.h2 && !ev.h2.stream
        ? ` (the ingress offers no HTTP/2${ev.h2.alpn ? `: ALPN ${ev.h2.alpn}` : ''})`
        : '';
    return {
      ...base,
      status: 'pass',
      message:
        `text/event-stream, uncompressed, first tick ${(v1.gap / 1000).toFixed(2)} s after hello as ` +
        `sent${over}${h2Note}`,
    };
  },
};

export default check;
