// sse.main's buffering verdict when a busy machine distorts arrival times. A reader that gets no CPU (fifteen runs
// starting on two cores, a CI runner) reads hello late, in one chunk with the tick: its first read (the tick sent
// 0.1 s after hello) then looks held back. The verdict may rest only on the second read, the tick sent 0.8 s after
// hello, which no stall a loaded machine produces can fold together. Recorded evidence (from runs through Varnish
// and a buffering nginx with fifteen runs and three busy loops on two cores) and streams simulated through the
// real SSE recorder: these fail if the judgement goes back to trusting a tight gap, or the evidence changes shape
// with the timing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import sseMain, {
  CONFIRM_GAP_MS,
  decisive,
  reading,
  type Reading,
  TICK_GAP_MS,
  TOGETHER_BELOW_MS,
  together,
} from '../../checks/sse.main.js';
import { type SseTimeline, sseRecorder } from '../../src/probes/sse.js';
import { testContext } from '../support/context.js';

const D = 'acme.test';
const ctx = testContext();
type Evidence = Parameters<typeof sseMain.judge>[0];

/** The responder's /sse?hold=1&gap=<gapMs> (§7): hello, ticks every gapMs before the end, bye at 1 s. */
function sent(gapMs: number): Array<[atMs: number, text: string]> {
  const out: Array<[number, string]> = [[0, 'event: hello\ndata: {"service":"nap-cp"}\n\n']];
  for (const i of [0, 1, 2])
    if (gapMs * (i + 1) < 1000) out.push([gapMs * (i + 1), `id: ${i}\nevent: tick\ndata: {"i":${i}}\n\n`]);
  out.push([1000, 'event: bye\ndata: {}\n\n']);
  return out;
}

type Stall = [fromMs: number, toMs: number];

/**
 * What sse.main records of that stream, through the real recorder. A live proxy passes each event on (`delayMs` of
 * network jitter each, bytes still in order); a buffer releases the whole response, headers too, when the stream
 * ends. A reader stalled in [from, to) (no CPU, or its event loop busy) reads what arrived meanwhile at `to`, in
 * one chunk, as one socket read returns it. Times are ms after the request.
 */
function record(gapMs: number, proxy: 'live' | 'buffer', stalls: Stall[] = [], delayMs: number[] = []): Reading {
  const latency = 20;
  const readAt = (t: number) => {
    let at = t;
    // A bounded number of passes: every stall moves `at` forward at most once.
    for (let pass = 0; pass <= stalls.length; pass++)
      for (const [from, to] of stalls) if (at >= from && at < to) at = to;
    return at;
  };
  let last = 0;
  const arrivals = sent(gapMs).map(([t, text], i) => {
    last = Math.max(last, latency + (proxy === 'buffer' ? 1000 : t + (delayMs[i] ?? 0)));
    return { at: readAt(last), text };
  });
  const headersAt = readAt(proxy === 'buffer' ? latency + 1000 : latency);
  const events: SseTimeline['events'] = [];
  let now = 0;
  const rec = sseRecorder(events, () => now, 'tick');
  // One chunk per read: everything that arrived by the same read instant, as the socket hands it over.
  for (const at of [...new Set(arrivals.map((a) => a.at))].sort((a, b) => a - b)) {
    if (rec.stopped) break;
    now = Math.max(at, headersAt);
    rec.feed(
      arrivals
        .filter((a) => a.at === at)
        .map((a) => a.text)
        .join(''),
    );
  }
  const stream: SseTimeline = {
    url: `https://${D}/.well-known/nap-verify/sse?hold=1&gap=${gapMs}`,
    status: 200,
    contentType: 'text/event-stream',
    headersAt,
    lastByteAt: now,
    endedAt: now,
    events,
    end: { how: 'survived' },
  };
  return reading(stream, gapMs);
}

/** As gather does: the first read, a second only when the first saw the pair together; then the verdict. */
async function run(first: Reading, second: Reading, h2?: { first: Reading; second: Reading }) {
  let reads = 1;
  const again = (r: Reading) => async () => {
    reads++;
    return r;
  };
  const h1 = await decisive(first, again(second));
  const h2Reading = h2 ? await decisive(h2.first, again(h2.second)) : undefined;
  const ev: Evidence = { host: D, ...h1, ...(h2Reading ? { h2: { alpn: 'h2', ...h2Reading } } : {}) };
  return { ev, reads, j: sseMain.judge(ev, ctx) };
}

/** A stall of `len` ms starting `at` ms after the request. */
const stall = (at: number, len: number): Stall => [at, at + len];

describe('the margin a busy machine would have to beat', () => {
  it('a 100 ms stall folds the first read together; the second read survives a 700 ms stall', () => {
    // What load did in the flaky runs: hello read late, with the tick, though a live proxy passed each as sent.
    expect(together(record(TICK_GAP_MS, 'live', [stall(10, 150)]))).toBe(true);
    expect(together(record(CONFIRM_GAP_MS, 'live', [stall(10, 700)]))).toBe(false);
    // The second read's pair is sent far enough apart that only a buffer, not a stall, folds it together.
    expect(CONFIRM_GAP_MS - TOGETHER_BELOW_MS).toBeGreaterThanOrEqual(700);
    expect(CONFIRM_GAP_MS).toBeLessThan(1000); // its tick still comes before the 1 s stream ends
  });

  it('a clean first read decides alone: no second read on the fast path', async () => {
    const r = await run(record(TICK_GAP_MS, 'live'), record(CONFIRM_GAP_MS, 'buffer'));
    expect(r.reads).toBe(1);
    expect(r.j).toMatchObject({ status: 'pass', message: /first tick 0\.10 s after hello as sent$/ });
  });
});

describe('recorded under load (fifteen runs and three busy loops on two cores)', () => {
  // Through Varnish (streams, send_timeout 8): the first read saw hello and the tick in one chunk, 0 ms apart.
  const stalledFirst = reading(
    {
      url: `https://${D}:8446/.well-known/nap-verify/sse?hold=1&gap=100`,
      events: [
        [231, 'event', 'hello'],
        [231, 'event', 'tick'],
      ],
      end: { how: 'survived' },
      headersAt: 231,
      lastByteAt: 231,
      status: 200,
      contentType: 'text/event-stream',
      server: 'nginx',
      endedAt: 232,
    },
    TICK_GAP_MS,
  );
  const secondAsSent = reading(
    {
      url: `https://${D}:8446/.well-known/nap-verify/sse?hold=1&gap=800`,
      events: [
        [205, 'event', 'hello'],
        [1005, 'event', 'tick'],
      ],
      end: { how: 'survived' },
      headersAt: 205,
      lastByteAt: 1005,
      status: 200,
      contentType: 'text/event-stream',
      server: 'nginx',
      endedAt: 1006,
    },
    CONFIRM_GAP_MS,
  );
  // The old re-read, 0.1 s apart again, from the run that made hold.sse.main skip: 25 ms, "held" a second time.
  const oldSecond = { ...secondAsSent, helloAt: 0, tickAt: 25, sentGapMs: TICK_GAP_MS };
  // nginx with proxy_buffering on, no HTTP/2: headers and events together when the 1 s stream ends, both reads.
  const buffered = (gapMs: number, at: number) =>
    reading(
      {
        url: `https://${D}:8447/.well-known/nap-verify/sse?hold=1&gap=${gapMs}`,
        events: [
          [at, 'event', 'hello'],
          [at, 'event', 'tick'],
          [at, 'event', 'bye'],
        ],
        end: { how: 'survived' },
        headersAt: at,
        lastByteAt: at,
        status: 200,
        contentType: 'text/event-stream',
        server: 'nginx',
        endedAt: at,
      },
      gapMs,
    );

  it('Varnish: together on the first read, 0.8 s apart as sent on the second: pass, over both protocols', async () => {
    expect(together(oldSecond)).toBe(true); // what the old rule concluded "buffered" from, twice
    const r = await run(stalledFirst, secondAsSent, { first: stalledFirst, second: secondAsSent });
    expect(r.reads).toBe(3);
    expect(r.j).toMatchObject({
      status: 'pass',
      message: 'text/event-stream, uncompressed, first tick 0.80 s after hello as sent over HTTP/1.1 and HTTP/2',
    });
    expect(r.ev).toMatchObject({ helloAt: 0, tickAt: 800, sentGapMs: CONFIRM_GAP_MS, firstGapMs: 0 });
  });

  it('the old evidence, together twice 0.1 s apart, is no buffered verdict: skip, the second read decides', () => {
    const j = sseMain.judge({ host: D, ...oldSecond, firstGapMs: 0 }, ctx);
    expect(j).toMatchObject({ status: 'skip', message: /^buffering not judged: .*the second read, which decides$/ });
    const h2Only = sseMain.judge({ host: D, ...secondAsSent, h2: { alpn: 'h2', ...stalledFirst } }, ctx);
    expect(h2Only).toMatchObject({ status: 'skip', message: /on the first read over HTTP\/2, and the run ended/ });
  });

  it('a real buffer: together on both reads, however far apart sent: SSE_BUFFERED naming both', async () => {
    const r = await run(buffered(TICK_GAP_MS, 1106), buffered(CONFIRM_GAP_MS, 1118));
    expect(r.j).toMatchObject({ status: 'fail', code: 'SSE_BUFFERED' });
    expect(r.j.message).toBe(
      'hello and the first tick, sent 0.8 s apart, arrived within 0 ms of each other, 1.1 s after the request, ' +
        'as the 1 s stream ended (read twice: sent 0.1 s apart the first time, within 0 ms): the proxy buffers ' +
        'the stream',
    );
  });

  it('buffered for HTTP/1.1 only, HTTP/2 stalled on its first read: SSE_BUFFERED_HTTP1, not SSE_BUFFERED', async () => {
    const r = await run(buffered(TICK_GAP_MS, 1106), buffered(CONFIRM_GAP_MS, 1118), {
      first: stalledFirst,
      second: secondAsSent,
    });
    expect(r.j).toMatchObject({ status: 'warn', code: 'SSE_BUFFERED_HTTP1' });
  });
});

describe('simulated arrivals: the verdict does not move with the load', () => {
  // Stalls a loaded machine produces: up to four, each at most 0.6 s, with the reader running at least 1 ms between
  // them; and network jitter up to 0.1 s per event.
  const stalls = fc
    .array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 600 })), { maxLength: 4 })
    .map((gaps) => {
      let at = 0;
      return gaps.map(([quiet, len]): Stall => {
        at += quiet;
        const s = stall(at, len);
        at += len;
        return s;
      });
    });
  const jitter = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 5, maxLength: 5 });
  const twoReads = fc.record({ s1: stalls, s2: stalls, j1: jitter, j2: jitter });

  it('a live proxy is judged live (pass), over HTTP/1.1 and HTTP/2, whatever the stalls', async () => {
    await fc.assert(
      fc.asyncProperty(twoReads, twoReads, async (h1, h2) => {
        const r = await run(record(TICK_GAP_MS, 'live', h1.s1, h1.j1), record(CONFIRM_GAP_MS, 'live', h1.s2, h1.j2), {
          first: record(TICK_GAP_MS, 'live', h2.s1, h2.j1),
          second: record(CONFIRM_GAP_MS, 'live', h2.s2, h2.j2),
        });
        expect(r.j.status, r.j.message).toBe('pass');
      }),
      { numRuns: 300 },
    );
  });

  it('a buffer is SSE_BUFFERED every time, and buffered for HTTP/1.1 only stays SSE_BUFFERED_HTTP1', async () => {
    await fc.assert(
      fc.asyncProperty(twoReads, twoReads, async (h1, h2) => {
        const held = [record(TICK_GAP_MS, 'buffer', h1.s1), record(CONFIRM_GAP_MS, 'buffer', h1.s2)] as const;
        expect((await run(...held)).j).toMatchObject({ status: 'fail', code: 'SSE_BUFFERED' });
        const h2Live = {
          first: record(TICK_GAP_MS, 'live', h2.s1, h2.j1),
          second: record(CONFIRM_GAP_MS, 'live', h2.s2, h2.j2),
        };
        expect((await run(...held, h2Live)).j).toMatchObject({ status: 'warn', code: 'SSE_BUFFERED_HTTP1' });
      }),
      { numRuns: 300 },
    );
  });

  it('the evidence has the same keys whether the first read decided or a second one did', async () => {
    const clean = await run(record(TICK_GAP_MS, 'live'), record(CONFIRM_GAP_MS, 'live'), {
      first: record(TICK_GAP_MS, 'live'),
      second: record(CONFIRM_GAP_MS, 'live'),
    });
    const busy = record(TICK_GAP_MS, 'live', [stall(10, 150)]);
    const reread = await run(busy, record(CONFIRM_GAP_MS, 'live'), {
      first: busy,
      second: record(CONFIRM_GAP_MS, 'live'),
    });
    expect([clean.reads, reread.reads]).toEqual([1, 3]);
    expect([clean.j.status, reread.j.status]).toEqual(['pass', 'pass']);
    expect(Object.keys(reread.ev).sort()).toEqual(Object.keys(clean.ev).sort());
    expect(Object.keys(reread.ev.h2!).sort()).toEqual(Object.keys(clean.ev.h2!).sort());
    expect(clean.ev).toMatchObject({ firstGapMs: null, sentGapMs: TICK_GAP_MS, h2: { firstGapMs: null } });
    expect(reread.ev).toMatchObject({ firstGapMs: 0, sentGapMs: CONFIRM_GAP_MS, h2: { firstGapMs: 0 } });
  });
});
