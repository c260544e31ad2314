// Property tests at a modest count in every run (`npm run fuzz` does a million STUN inputs): the decoders that
// read what hostile peers send never throw, whatever the bytes.
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, sseRecorder, SSE_MAX_EVENTS, type SseTimeline } from '../../src/probes/sse.js';
import { encode, newTransactionId } from '../../src/probes/stun/codec.js';
import { parseValues } from '../../src/values.js';
import { poke } from '../support/stun-poke.js';

const readEverything = (buf: Buffer) => void poke(buf);

const valid = encode(
  {
    method: 'allocate',
    cls: 'error',
    transactionId: newTransactionId(),
    attributes: [
      { type: 'ERROR-CODE', value: { code: 401, reason: 'Unauthorized' } },
      { type: 'REALM', value: 'nap.test' },
      { type: 'NONCE', value: 'abcdef' },
      { type: 'XOR-MAPPED-ADDRESS', value: { family: 6, address: '2001:db8::1', port: 3478 } },
    ],
  },
  { fingerprint: true },
);

describe('fuzz: nothing hostile makes a decoder throw', () => {
  it('STUN: random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        readEverything(Buffer.from(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('STUN: mutations of a valid message (bit flips, truncations, splices)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(valid.length),
        (edits, cut) => {
          const b = Buffer.from(valid);
          for (const [i, v] of edits) b[i] = v;
          readEverything(b.subarray(0, cut));
          readEverything(b);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('values.env: any text parses to values and problems', () => {
    fc.assert(
      fc.property(
        fc.string({
          maxLength: 400,
          unit: fc.constantFrom(
            'A',
            'B',
            '_',
            '=',
            '"',
            "'",
            '$',
            '{',
            '}',
            ':',
            '-',
            '\\',
            '#',
            ' ',
            '\n',
            '\r',
            'x',
            '1',
            'é',
            'export ',
          ),
        }),
        (text) => {
          const r = parseValues(text);
          expect(typeof r.values).toBe('object');
        },
      ),
      { numRuns: 3000 },
    );
  });

  // Our own SSE handling (src/probes/sse.ts), not the parser library alone: the recorder that turns the text into the
  // timeline, and the whole probe reading a real loopback server that sends the fuzzed bytes in fuzzed pieces.
  const sseText = fc.array(
    fc.string({
      maxLength: 60,
      unit: fc.constantFrom(
        'd',
        'a',
        't',
        ':',
        ' ',
        '\n',
        '\r',
        'e',
        'v',
        'n',
        'i',
        '0',
        'b',
        'y',
        'event: bye\n\n',
        'data: x\n\n',
        ': beat\n',
      ),
    }),
    { maxLength: 20 },
  );
  const record = (chunks: string[]) => {
    const events: SseTimeline['events'] = [];
    const rec = sseRecorder(events, () => 0, 'tick');
    for (const c of chunks) rec.feed(c);
    return { events, sawBye: rec.sawBye, stopped: rec.stopped };
  };

  it('SSE recorder: any text, split anywhere, gives the same bounded timeline as the text in one piece', () => {
    fc.assert(
      fc.property(sseText, (chunks) => {
        const split = record(chunks);
        const whole = record([chunks.join('')]);
        expect(split).toEqual(whole);
        expect(split.events.length).toBeLessThanOrEqual(SSE_MAX_EVENTS);
        // A bye among the recorded events is what marks the stream complete.
        if (split.events.some(([, kind, name]) => kind === 'event' && name === 'bye')) expect(split.sawBye).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  describe('SSE probe against a loopback server sending fuzzed bytes', () => {
    let server: http.Server;
    let port = 0;
    let next: Buffer[] = [];
    beforeAll(async () => {
      server = http.createServer((_req, res) => {
        const pieces = next;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (i: number) =>
          i < pieces.length ? res.write(pieces[i], () => setImmediate(send, i + 1)) : res.end();
        send(0);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('never throws, ends with a verdict on the stream, keeps its bounds', async () => {
      const bytes = fc.oneof(
        sseText.map((a) => a.map((t) => Buffer.from(t))),
        fc.array(
          fc.uint8Array({ minLength: 1, maxLength: 80 }).map((u) => Buffer.from(u)),
          { maxLength: 12 },
        ),
      );
      await fc.assert(
        fc.asyncProperty(bytes, async (pieces) => {
          next = pieces;
          const tl = await readSse({
            url: `http://127.0.0.1:${port}/sse`,
            address: '127.0.0.1',
            timeoutMs: 3000,
            expectMs: 0,
          });
          expect(tl.status).toBe(200);
          expect(['survived', 'eof']).toContain(tl.end.how);
          expect(tl.events.length).toBeLessThanOrEqual(SSE_MAX_EVENTS);
          // The probe's verdict matches what the bytes said: complete only when a bye event arrived.
          const said = record([Buffer.concat(pieces).toString('utf8')]);
          expect(tl.end.how === 'survived').toBe(said.sawBye);
        }),
        { numRuns: 40 },
      );
    }, 60_000);
  });
});
