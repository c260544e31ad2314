// Property tests at a modest count in every run (`npm run fuzz` does a million STUN inputs): the decoders that
// read what hostile peers send never throw, whatever the bytes.
import fc from 'fast-check';
import { createParser } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { encode, newTransactionId } from '../../src/probes/stun/codec.js';
import { parseValues } from '../../src/values.js';
import { poke } from '../support/stun-poke.js';

const readEverything = (buf: Buffer) => void poke(buf);

const valid = encode({ method: 'allocate', cls: 'error', transactionId: newTransactionId(), attributes: [
  { type: 'ERROR-CODE', value: { code: 401, reason: 'Unauthorized' } }, { type: 'REALM', value: 'nap.test' }, { type: 'NONCE', value: 'abcdef' },
  { type: 'XOR-MAPPED-ADDRESS', value: { family: 6, address: '2001:db8::1', port: 3478 } },
] }, { fingerprint: true });

describe('fuzz: nothing hostile makes a decoder throw', () => {
  it('STUN: random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      readEverything(Buffer.from(bytes));
    }), { numRuns: 5000 });
  });

  it('STUN: mutations of a valid message (bit flips, truncations, splices)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(valid.length), (edits, cut) => {
      const b = Buffer.from(valid);
      for (const [i, v] of edits) b[i] = v;
      readEverything(b.subarray(0, cut));
      readEverything(b);
    }), { numRuns: 5000 });
  });

  it('values.env: any text parses to values and problems', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400, unit: fc.constantFrom('A', 'B', '_', '=', '"', "'", '$', '{', '}', ':', '-', '\\', '#', ' ', '\n', '\r', 'x', '1', 'é', 'export ') }), (text) => {
      const r = parseValues(text);
      expect(typeof r.values).toBe('object');
    }), { numRuns: 3000 });
  });

  it('SSE: any byte stream, split anywhere, through the event parser we use', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 60, unit: fc.constantFrom('d', 'a', 't', ':', ' ', '\n', '\r', 'e', 'v', 'n', 'i', '0', 'b', 'y') }), { maxLength: 20 }), (chunks) => {
      const p = createParser({ onEvent: () => {}, onComment: () => {} });
      for (const c of chunks) p.feed(c);
    }), { numRuns: 3000 });
  });
});
