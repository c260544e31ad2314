// The STUN/TURN codec: byte-exact on the RFC 5769 test vectors, round trips on seeded random messages, and never a
// throw on hostile bytes (truncations, bit flips, random and half-valid packets).
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ATTR,
  decode,
  decodeChannelData,
  encode,
  encodeChannelData,
  frameLength,
  getAddress,
  getAddresses,
  getChannelNumber,
  getData,
  getErrorCode,
  getRequestedTransport,
  getString,
  getUint32,
  MAGIC_COOKIE,
  METHOD,
  newTransactionId,
  verifyFingerprint,
  verifyIntegrity,
  type AttributeInput,
  type MessageClass,
  type StunMessage,
} from '../../src/probes/stun/codec.js';
import { longTermKey, restCredentials, saslprep } from '../../src/probes/stun/credentials.js';
import { poke as pokeWith, READ_TYPES } from '../support/stun-poke.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// ---------------------------------------------------------------------------------------------------------------
// RFC 5769 test vectors, as printed in the RFC.

/** §2.1 Sample Request. */
const SAMPLE_REQUEST = hex(`
  00 01 00 58   21 12 a4 42   b7 e7 a7 01   bc 34 d6 86   fa 87 df ae
  80 22 00 10   53 54 55 4e   20 74 65 73   74 20 63 6c   69 65 6e 74
  00 24 00 04   6e 00 01 ff
  80 29 00 08   93 2f f9 b1   51 26 3b 36
  00 06 00 09   65 76 74 6a   3a 68 36 76   59 20 20 20
  00 08 00 14   9a ea a7 0c   bf d8 cb 56   78 1e f2 b5   b2 d3 f2 49   c1 b5 71 a2
  80 28 00 04   e5 7a 3b cf`);

/** §2.2 Sample IPv4 Response. */
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c   21 12 a4 42   b7 e7 a7 01   bc 34 d6 86   fa 87 df ae
  80 22 00 0b   74 65 73 74   20 76 65 63   74 6f 72 20
  00 20 00 08   00 01 a1 47   e1 12 a6 43
  00 08 00 14   2b 91 f5 99   fd 9e 90 c3   8c 74 89 f9   2a f9 ba 53   f0 6b e7 d7
  80 28 00 04   c0 7d 4c 96`);

/** §2.3 Sample IPv6 Response. */
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48   21 12 a4 42   b7 e7 a7 01   bc 34 d6 86   fa 87 df ae
  80 22 00 0b   74 65 73 74   20 76 65 63   74 6f 72 20
  00 20 00 14   00 02 a1 47   01 13 a9 fa   a5 d3 f1 79   bc 25 f4 b5   be d2 b9 d9
  00 08 00 14   a3 82 95 4e   4b e6 7b f1   17 84 c9 7c   82 92 c2 75   bf e3 ed 41
  80 28 00 04   c8 fb 0b 4c`);

/** §2.4 Sample Request with Long-Term Authentication. */
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60   21 12 a4 42   78 ad 34 33   c6 ad 72 c0   29 da 41 2e
  00 06 00 12   e3 83 9e e3   83 88 e3 83   aa e3 83 83   e3 82 af e3   82 b9 00 00
  00 15 00 1c   66 2f 2f 34   39 39 6b 39   35 34 64 36   4f 4c 33 34   6f 4c 39 46   53 54 76 79   36 34 73 41
  00 14 00 0b   65 78 61 6d   70 6c 65 2e   6f 72 67 00
  00 08 00 14   f6 70 24 65   6d d6 4a 3e   02 b8 e0 71   2e 85 c9 a2   8c a8 96 66`);

const SHORT_TERM_KEY = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt', 'utf8');
const TID_1 = hex('b7e7a701 bc34d686 fa87dfae');
const TID_4 = hex('78ad3433 c6ad72c0 29da412e');
const USERNAME_4 = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9'; // マトリックス
const PASSWORD_4 = 'The\u00ADM\u00AAtr\u2168';
const NONCE_4 = 'f//499k954d6OL34oL9FSTvy64sA';
const REALM_4 = 'example.org';

function decoded(buf: Buffer): StunMessage {
  const d = decode(buf);
  if (!d.ok) throw new Error(`decode failed: ${d.error}`);
  return d.message;
}

function flipBit(buf: Buffer, bit: number): Buffer {
  const b = Buffer.from(buf);
  b[bit >> 3] = b[bit >> 3]! ^ (0x80 >> (bit & 7));
  return b;
}

/** Offset of the first attribute of a type in a (valid) message. */
const offsetOf = (buf: Buffer, type: number) => decoded(buf).attributes.find((a) => a.type === type)!.offset;

interface Vector {
  name: string;
  bytes: Buffer;
  key: Buffer;
  fingerprint: boolean;
  padByte: number;
  method: number;
  cls: MessageClass;
  transactionId: Buffer;
  attributes: AttributeInput[];
  check(m: StunMessage): void;
}

const VECTORS: Vector[] = [
  {
    name: '§2.1 Sample Request',
    bytes: SAMPLE_REQUEST,
    key: SHORT_TERM_KEY,
    fingerprint: true,
    padByte: 0x20,
    method: METHOD.binding,
    cls: 'request',
    transactionId: TID_1,
    attributes: [
      { type: 'SOFTWARE', value: 'STUN test client' },
      { type: 'raw', attrType: ATTR.PRIORITY, value: hex('6e0001ff') },
      { type: 'raw', attrType: ATTR.ICE_CONTROLLED, value: hex('932ff9b151263b36') },
      { type: 'USERNAME', value: 'evtj:h6vY' },
    ],
    check(m) {
      expect(getString(m, ATTR.SOFTWARE)).toBe('STUN test client');
      expect(getUint32(m, ATTR.PRIORITY)).toBe(0x6e0001ff);
      expect(m.attributes.find((a) => a.type === ATTR.ICE_CONTROLLED)!.value.toString('hex')).toBe('932ff9b151263b36');
      expect(getString(m, ATTR.USERNAME)).toBe('evtj:h6vY');
    },
  },
  {
    name: '§2.2 Sample IPv4 Response',
    bytes: SAMPLE_IPV4_RESPONSE,
    key: SHORT_TERM_KEY,
    fingerprint: true,
    padByte: 0x20,
    method: METHOD.binding,
    cls: 'success',
    transactionId: TID_1,
    attributes: [
      { type: 'SOFTWARE', value: 'test vector' },
      { type: 'XOR-MAPPED-ADDRESS', value: { family: 4, address: '192.0.2.1', port: 32853 } },
    ],
    check(m) {
      expect(getString(m, ATTR.SOFTWARE)).toBe('test vector');
      expect(getAddress(m, ATTR.XOR_MAPPED_ADDRESS)).toEqual({ family: 4, address: '192.0.2.1', port: 32853 });
    },
  },
  {
    name: '§2.3 Sample IPv6 Response',
    bytes: SAMPLE_IPV6_RESPONSE,
    key: SHORT_TERM_KEY,
    fingerprint: true,
    padByte: 0x20,
    method: METHOD.binding,
    cls: 'success',
    transactionId: TID_1,
    attributes: [
      { type: 'SOFTWARE', value: 'test vector' },
      {
        type: 'XOR-MAPPED-ADDRESS',
        value: { family: 6, address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
      },
    ],
    check(m) {
      expect(getString(m, ATTR.SOFTWARE)).toBe('test vector');
      expect(getAddress(m, ATTR.XOR_MAPPED_ADDRESS)).toEqual({
        family: 6,
        address: '2001:db8:1234:5678:11:2233:4455:6677',
        port: 32853,
      });
    },
  },
  {
    name: '§2.4 Sample Request with Long-Term Authentication',
    bytes: SAMPLE_LONG_TERM_REQUEST,
    key: longTermKey(USERNAME_4, REALM_4, PASSWORD_4),
    fingerprint: false,
    padByte: 0,
    method: METHOD.binding,
    cls: 'request',
    transactionId: TID_4,
    attributes: [
      { type: 'USERNAME', value: USERNAME_4 },
      { type: 'NONCE', value: NONCE_4 },
      { type: 'REALM', value: REALM_4 },
    ],
    check(m) {
      expect(getString(m, ATTR.USERNAME)).toBe(USERNAME_4);
      expect(m.attributes[0]!.value.length).toBe(18);
      expect(getString(m, ATTR.NONCE)).toBe(NONCE_4);
      expect(getString(m, ATTR.REALM)).toBe(REALM_4);
    },
  },
];

describe('RFC 5769 test vectors', () => {
  for (const v of VECTORS) {
    describe(v.name, () => {
      it('decodes to the documented values', () => {
        const m = decoded(v.bytes);
        expect(m.method).toBe(v.method);
        expect(m.methodName).toBe('binding');
        expect(m.cls).toBe(v.cls);
        expect(m.transactionId.equals(v.transactionId)).toBe(true);
        const tail = v.fingerprint ? [ATTR.MESSAGE_INTEGRITY, ATTR.FINGERPRINT] : [ATTR.MESSAGE_INTEGRITY];
        expect(m.attributes.map((a) => a.type)).toEqual([...v.attributes.map((a) => attrTypeOf(a)), ...tail]);
        // Offsets point at attribute headers.
        for (const a of m.attributes) expect(v.bytes.readUInt16BE(a.offset)).toBe(a.type);
        v.check(m);
      });

      it('verifies MESSAGE-INTEGRITY and FINGERPRINT on the original bytes', () => {
        expect(verifyIntegrity(v.bytes, v.key)).toBe(true);
        expect(verifyIntegrity(v.bytes, Buffer.from('wrong'))).toBe(false);
        expect(verifyFingerprint(v.bytes)).toBe(v.fingerprint);
      });

      it('re-encodes to the identical bytes', () => {
        const out = encode(
          { method: v.method, cls: v.cls, transactionId: v.transactionId, attributes: v.attributes },
          { integrityKey: v.key, fingerprint: v.fingerprint, padByte: v.padByte },
        );
        expect(out.toString('hex')).toBe(v.bytes.toString('hex'));
      });

      it('with zero padding, encodes the same values and still verifies', () => {
        const out = encode(
          { method: 'binding', cls: v.cls, transactionId: v.transactionId, attributes: v.attributes },
          { integrityKey: v.key, fingerprint: true },
        );
        expect(out.length).toBe(v.bytes.length + (v.fingerprint ? 0 : 8));
        expect(verifyIntegrity(out, v.key)).toBe(true);
        expect(verifyFingerprint(out)).toBe(true);
        v.check(decoded(out));
      });

      it('any single flipped bit breaks FINGERPRINT, and MESSAGE-INTEGRITY when it falls in what it covers', () => {
        const miEnd = offsetOf(v.bytes, ATTR.MESSAGE_INTEGRITY) + 24;
        for (let bit = 0; bit < v.bytes.length * 8; bit++) {
          const b = flipBit(v.bytes, bit);
          if (bit < miEnd * 8) expect(verifyIntegrity(b, v.key), `bit ${bit}`).toBe(false);
          // Only FINGERPRINT follows: a flip in its value leaves MESSAGE-INTEGRITY intact (one in its header may
          // break framing).
          else if (bit >= (miEnd + 4) * 8) expect(verifyIntegrity(b, v.key), `bit ${bit}`).toBe(true);
          expect(verifyFingerprint(b), `bit ${bit}`).toBe(false);
        }
      });
    });
  }

  it('the §2.4 password SASLprep\'s to "TheMatrIX" and the key is MD5 of "user:realm:password"', () => {
    expect(saslprep(PASSWORD_4)).toBe('TheMatrIX');
    expect(saslprep('plain ASCII pass/word+=')).toBe('plain ASCII pass/word+=');
    expect(saslprep('a\u00A0b\u200Bc')).toBe('a bc');
    const want = createHash('md5')
      .update(Buffer.from(`${USERNAME_4}:${REALM_4}:TheMatrIX`, 'utf8'))
      .digest();
    expect(longTermKey(USERNAME_4, REALM_4, PASSWORD_4).equals(want)).toBe(true);
  });

  it('attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are not read', () => {
    // Splice a REALM after MESSAGE-INTEGRITY in §2.2: the framing is fine, but the value is unauthenticated.
    const v = SAMPLE_IPV4_RESPONSE;
    const fp = offsetOf(v, ATTR.FINGERPRINT);
    const extra = hex('0014 0004 65766c21'); // REALM "evl!"
    const b = Buffer.concat([v.subarray(0, fp), extra, v.subarray(fp)]);
    b.writeUInt16BE(b.length - 20, 2);
    const m = decoded(b);
    expect(m.attributes.map((a) => a.type)).toContain(ATTR.REALM);
    expect(getString(m, ATTR.REALM)).toBeUndefined();
    expect(getString(m, ATTR.SOFTWARE)).toBe('test vector');
    expect(verifyIntegrity(b, SHORT_TERM_KEY)).toBe(true);
    expect(verifyFingerprint(b)).toBe(false);
  });
});

function attrTypeOf(a: AttributeInput): number {
  if (a.type === 'raw') return a.attrType;
  const names: Record<string, number> = {
    'XOR-MAPPED-ADDRESS': ATTR.XOR_MAPPED_ADDRESS,
    'XOR-RELAYED-ADDRESS': ATTR.XOR_RELAYED_ADDRESS,
    'XOR-PEER-ADDRESS': ATTR.XOR_PEER_ADDRESS,
    'MAPPED-ADDRESS': ATTR.MAPPED_ADDRESS,
    USERNAME: ATTR.USERNAME,
    REALM: ATTR.REALM,
    NONCE: ATTR.NONCE,
    SOFTWARE: ATTR.SOFTWARE,
    LIFETIME: ATTR.LIFETIME,
    'REQUESTED-TRANSPORT': ATTR.REQUESTED_TRANSPORT,
    DATA: ATTR.DATA,
    'CHANNEL-NUMBER': ATTR.CHANNEL_NUMBER,
    'ERROR-CODE': ATTR.ERROR_CODE,
  };
  return names[a.type]!;
}

// ---------------------------------------------------------------------------------------------------------------

describe('decode errors say why', () => {
  it('names the problem', () => {
    const lying = Buffer.from(SAMPLE_REQUEST);
    lying.writeUInt16BE(300, 2);
    expect(decode(lying)).toEqual({ ok: false, error: 'length 300 exceeds packet size 108' });
    expect(decode(Buffer.concat([Buffer.from([0xc0]), SAMPLE_REQUEST.subarray(1)]))).toEqual({
      ok: false,
      error: 'not a STUN message (first two bits set)',
    });
    const cookie = Buffer.from(SAMPLE_REQUEST);
    cookie[4] = 0;
    expect(decode(cookie)).toEqual({ ok: false, error: 'bad magic cookie' });
    const past = Buffer.from(SAMPLE_IPV4_RESPONSE);
    past.writeUInt16BE(0x00ff, 20 + 16 + 2); // XOR-MAPPED-ADDRESS length 255
    const d = decode(past);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.error).toMatch(/^attribute 0x0020 runs past the end/);
    expect(decode(Buffer.alloc(0))).toMatchObject({ ok: false });
    expect(decode(Buffer.concat([SAMPLE_REQUEST, Buffer.alloc(4)]))).toMatchObject({
      ok: false,
      error: '4 bytes after the message (length 88)',
    });
  });
});

describe('credentials', () => {
  it('restCredentials: coturn REST username and password (known answer)', () => {
    const now = 1_700_000_000_999;
    const c = restCredentials('northwind-secret', 'nap-verify', 3600, now);
    expect(c.username).toBe('1700003600:nap-verify');
    expect(c.password).toBe(createHmac('sha1', 'northwind-secret').update('1700003600:nap-verify').digest('base64'));
    expect(c.password).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it('restCredentials: expiry is floor(now/1000) + ttl, by default from the clock', () => {
    const before = Math.floor(Date.now() / 1000);
    const c = restCredentials('s', 'x', 60);
    const after = Math.floor(Date.now() / 1000);
    const expiry = Number(c.username.split(':')[0]);
    expect(expiry).toBeGreaterThanOrEqual(before + 60);
    expect(expiry).toBeLessThanOrEqual(after + 60);
    expect(restCredentials('s', '', 10, 5_000).username).toBe('15');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(0, 255);
    return b;
  };
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof rng>;

const ALPHABET = ['a', 'Z', '0', ' ', ':', '/', 'é', 'ß', 'マ', '€', '😀', '\u00AD'];

function randomIPv6(r: Rng): { text: string; canonical: string } {
  // Some zero groups in runs, so "::" compression is exercised; written in full form with leading zeros.
  const groups = Array.from({ length: 8 }, () => (r.next() < 0.4 ? 0 : r.int(0, 0xffff)));
  const text = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
  // The WHATWG URL serializer compresses IPv6 per RFC 5952 too: an independent oracle.
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  return { text, canonical };
}

interface Expectation {
  input: AttributeInput;
  check(m: StunMessage): void;
}

function randomAttribute(r: Rng): Expectation {
  const kind = r.int(0, 8);
  switch (kind) {
    case 0: {
      const type = r.pick(['XOR-MAPPED-ADDRESS', 'XOR-RELAYED-ADDRESS', 'XOR-PEER-ADDRESS', 'MAPPED-ADDRESS'] as const);
      const port = r.int(0, 0xffff);
      if (r.next() < 0.5) {
        const value = {
          family: 4 as const,
          address: [r.int(0, 255), r.int(0, 255), r.int(0, 255), r.int(0, 255)].join('.'),
          port,
        };
        return {
          input: { type, value },
          check: (m) => expect(getAddress(m, attrTypeOf({ type, value }))).toEqual(value),
        };
      }
      const { text, canonical } = randomIPv6(r);
      const value = { family: 6 as const, address: text, port };
      return {
        input: { type, value },
        check: (m) => expect(getAddress(m, attrTypeOf({ type, value }))).toEqual({ ...value, address: canonical }),
      };
    }
    case 1: {
      const type = r.pick(['USERNAME', 'REALM', 'NONCE', 'SOFTWARE'] as const);
      const value = Array.from({ length: r.int(0, 33) }, () => r.pick(ALPHABET)).join('');
      return { input: { type, value }, check: (m) => expect(getString(m, attrTypeOf({ type, value }))).toBe(value) };
    }
    case 2: {
      const value = r.int(0, 0xffffffff);
      return { input: { type: 'LIFETIME', value }, check: (m) => expect(getUint32(m, ATTR.LIFETIME)).toBe(value) };
    }
    case 3: {
      const value = r.pick([17, 6, r.int(0, 255)]);
      return {
        input: { type: 'REQUESTED-TRANSPORT', value },
        check: (m) => expect(getRequestedTransport(m)).toBe(value),
      };
    }
    case 4: {
      const value = r.bytes(r.int(0, 300));
      return { input: { type: 'DATA', value }, check: (m) => expect(getData(m)?.equals(value)).toBe(true) };
    }
    case 5: {
      const value = r.int(0x4000, 0x4fff);
      return { input: { type: 'CHANNEL-NUMBER', value }, check: (m) => expect(getChannelNumber(m)).toBe(value) };
    }
    case 6: {
      const value = {
        code: r.int(300, 699),
        reason: Array.from({ length: r.int(0, 20) }, () => r.pick(ALPHABET)).join(''),
      };
      return { input: { type: 'ERROR-CODE', value }, check: (m) => expect(getErrorCode(m)).toEqual(value) };
    }
    default: {
      // Raw attributes of any type but the ones encode appends itself.
      let attrType = r.int(0, 0xffff);
      if (
        attrType === ATTR.MESSAGE_INTEGRITY ||
        attrType === ATTR.MESSAGE_INTEGRITY_SHA256 ||
        attrType === ATTR.FINGERPRINT
      )
        attrType = ATTR.PRIORITY;
      const value = r.bytes(r.int(0, 41));
      return {
        input: { type: 'raw', attrType, value },
        check: (m) => expect(m.attributes[0]!.value.equals(value) && m.attributes[0]!.type === attrType).toBe(true),
      };
    }
  }
}

const METHODS = Object.values(METHOD);
const CLASSES: MessageClass[] = ['request', 'indication', 'success', 'error'];

describe('round trip on seeded random messages', () => {
  it('2000 messages of every method and class encode, decode to the same values, and verify', () => {
    const r = rng(0x5eed);
    let signed = 0;
    for (let n = 0; n < 2000; n++) {
      const method = n % 5 === 4 ? r.int(0, 0xfff) : METHODS[n % METHODS.length]!;
      const cls = CLASSES[n % 4]!;
      const transactionId = r.bytes(12);
      const attrs = Array.from({ length: r.int(0, 8) }, () => randomAttribute(r));
      const key = r.next() < 0.5 ? r.bytes(r.int(0, 64)) : undefined;
      const fingerprint = r.next() < 0.5;
      const padByte = r.next() < 0.8 ? 0 : r.int(0, 255);
      const buf = encode(
        {
          method:
            r.next() < 0.3 && n % 5 !== 4 ? (Object.keys(METHOD)[n % METHODS.length] as keyof typeof METHOD) : method,
          cls,
          transactionId,
          attributes: attrs.map((a) => a.input),
        },
        { ...(key ? { integrityKey: key } : {}), fingerprint, padByte },
      );
      expect(buf.length % 4).toBe(0);
      expect(frameLength(buf)).toBe(buf.length);
      const m = decoded(buf);
      expect(m.method).toBe(method);
      expect(m.cls).toBe(cls);
      expect(m.transactionId.equals(transactionId)).toBe(true);
      expect(m.attributes.length).toBe(attrs.length + (key ? 1 : 0) + (fingerprint ? 1 : 0));
      attrs.forEach((a, i) => {
        expect(m.attributes[i]!.type).toBe(attrTypeOf(a.input));
        a.check({ ...m, attributes: [m.attributes[i]!] });
      });
      expect(verifyIntegrity(buf, key ?? Buffer.alloc(0))).toBe(!!key);
      expect(verifyFingerprint(buf)).toBe(fingerprint);
      if (key) {
        signed++;
        expect(verifyIntegrity(buf, Buffer.concat([key, Buffer.from([1])]))).toBe(false);
      }
    }
    expect(signed).toBeGreaterThan(800);
  });

  it('every XOR-PEER-ADDRESS is read, in order', () => {
    const peers = [
      { family: 4 as const, address: '198.51.100.7', port: 0 },
      { family: 6 as const, address: '2001:db8::1', port: 3478 },
      { family: 4 as const, address: '203.0.113.9', port: 65535 },
    ];
    const buf = encode({
      method: 'createPermission',
      cls: 'request',
      transactionId: newTransactionId(),
      attributes: peers.map((value) => ({ type: 'XOR-PEER-ADDRESS' as const, value })),
    });
    const m = decoded(buf);
    expect(m.methodName).toBe('createPermission');
    expect(getAddresses(m, ATTR.XOR_PEER_ADDRESS)).toEqual(peers);
    expect(getAddress(m, ATTR.XOR_PEER_ADDRESS)).toEqual(peers[0]);
    expect(getAddress(m, ATTR.XOR_RELAYED_ADDRESS)).toBeUndefined();
    expect(getAddresses(m, ATTR.MAPPED_ADDRESS)).toEqual([]);
  });

  it('IPv6 text forms are accepted and decoded canonically; bad input to encode is refused', () => {
    const tid = newTransactionId();
    expect(tid.length).toBe(12);
    const enc = (address: string, family: 4 | 6 = 6) =>
      encode({
        method: 'binding',
        cls: 'success',
        transactionId: tid,
        attributes: [{ type: 'MAPPED-ADDRESS', value: { family, address, port: 1 } }],
      });
    expect(getAddress(decoded(enc('::')), ATTR.MAPPED_ADDRESS)?.address).toBe('::');
    expect(getAddress(decoded(enc('::ffff:192.0.2.1')), ATTR.MAPPED_ADDRESS)?.address).toBe('::ffff:c000:201');
    expect(getAddress(decoded(enc('1:0:0:2:0:0:0:3')), ATTR.MAPPED_ADDRESS)?.address).toBe('1:0:0:2::3');
    expect(() => enc('1::2::3')).toThrow(TypeError);
    expect(() => enc('1:2:3:4:5:6:7:8:9')).toThrow(TypeError);
    expect(() => enc('10.0.0.256', 4)).toThrow(TypeError);
    expect(() => enc('2001:db8::1', 4)).toThrow(TypeError);
    expect(() =>
      encode({ method: 'binding', cls: 'request', transactionId: Buffer.alloc(11), attributes: [] }),
    ).toThrow(TypeError);
    expect(() => encode({ method: 0x1000, cls: 'request', transactionId: tid, attributes: [] })).toThrow(RangeError);
    expect(() =>
      encode({
        method: 'binding',
        cls: 'request',
        transactionId: tid,
        attributes: [{ type: 'CHANNEL-NUMBER', value: 0x5000 }],
      }),
    ).toThrow(RangeError);
    expect(() =>
      encode({
        method: 'binding',
        cls: 'error',
        transactionId: tid,
        attributes: [{ type: 'ERROR-CODE', value: { code: 200, reason: '' } }],
      }),
    ).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile input

/** Everything a caller might do with untrusted bytes (see test/support/stun-poke.ts). */
const poke = (buf: Buffer) => pokeWith(buf, SHORT_TERM_KEY);

const ALL_VECTORS = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST];

/** A valid-looking header, then attribute framing that is sometimes right and sometimes a lie. */
function halfValid(r: Rng): Buffer {
  const attrs: Buffer[] = [];
  const count = r.int(0, 6);
  for (let i = 0; i < count; i++) {
    const type = r.next() < 0.7 ? r.pick(READ_TYPES) : r.int(0, 0xffff);
    const valueLen = r.pick([0, 1, 2, 3, 4, 5, 7, 8, 12, 20, 21, r.int(0, 40)]);
    const declared = r.next() < 0.85 ? valueLen : r.pick([0, 0xffff, valueLen + 1, valueLen + 4, r.int(0, 0xffff)]);
    const a = Buffer.alloc(4 + (r.next() < 0.9 ? (valueLen + 3) & ~3 : valueLen));
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(declared, 2);
    r.bytes(valueLen).copy(a, 4);
    // Address-shaped values: family 1 or 2, so the address readers get past the first checks.
    if (valueLen >= 2 && r.next() < 0.5) a[5] = r.pick([1, 2]);
    // ERROR-CODE-shaped values.
    if (valueLen >= 4 && r.next() < 0.3) a[6] = r.int(0, 7);
    attrs.push(a);
  }
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(r.int(0, 0x3fff), 0);
  const lie = r.next();
  h.writeUInt16BE(lie < 0.7 ? body.length : lie < 0.8 ? 0xffff : lie < 0.9 ? r.int(0, 0xffff) : body.length + 4, 2);
  h.writeUInt32BE(r.next() < 0.95 ? MAGIC_COOKIE : r.int(0, 0xffffffff), 4);
  r.bytes(12).copy(h, 8);
  return Buffer.concat([h, body]).subarray(0, r.next() < 0.9 ? undefined : r.int(0, 20 + body.length));
}

describe('hostile input never throws', () => {
  it('every truncation of every vector', () => {
    for (const v of ALL_VECTORS) {
      for (let n = 0; n <= v.length; n++) {
        const prefix = v.subarray(0, n);
        expect(poke(prefix)).toBe(n === v.length);
        expect(frameLength(prefix)).toBe(n < 8 ? 0 : v.length);
      }
    }
  });

  it('every single-bit flip of every vector', () => {
    let accepted = 0;
    for (const v of ALL_VECTORS) for (let bit = 0; bit < v.length * 8; bit++) if (poke(flipBit(v, bit))) accepted++;
    expect(accepted).toBeGreaterThan(0);
  });

  it('20000 seeded random and half-valid buffers', () => {
    const r = rng(20240229);
    let accepted = 0;
    let attrsSeen = 0;
    for (let n = 0; n < 20000; n++) {
      const b = n % 2 === 0 ? r.bytes(r.int(0, 200)) : halfValid(r);
      if (poke(b)) {
        accepted++;
        attrsSeen += decoded(b).attributes.length;
      }
    }
    // The half-valid generator must reach the attribute readers, not only the header checks.
    expect(accepted).toBeGreaterThan(2000);
    expect(attrsSeen).toBeGreaterThan(5000);
  });

  it('non-Buffer input is an error, not a throw', () => {
    for (const x of [undefined, null, 'STUN', 42, {}, new Uint8Array(20)]) {
      expect(decode(x as unknown as Buffer).ok).toBe(false);
      expect(typeof frameLength(x as unknown as Buffer)).toBe('object');
      expect(decodeChannelData(x as unknown as Buffer).ok).toBe(false);
      expect(verifyIntegrity(x as unknown as Buffer, SHORT_TERM_KEY)).toBe(false);
      expect(verifyFingerprint(x as unknown as Buffer)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ChannelData and stream framing', () => {
  it('round trips, unpadded (UDP) and padded to 4 bytes (TCP)', () => {
    for (let len = 0; len <= 9; len++) {
      const data = Buffer.alloc(len, 0xab);
      const udp = encodeChannelData(0x4001, data, false);
      const tcp = encodeChannelData(0x4fff, data, true);
      expect(udp.length).toBe(4 + len);
      expect(tcp.length).toBe(4 + Math.ceil(len / 4) * 4);
      expect(tcp.readUInt16BE(2)).toBe(len);
      expect(tcp.subarray(4 + len).every((x) => x === 0)).toBe(true);
      expect(decodeChannelData(udp)).toEqual({ ok: true, channel: 0x4001, data });
      expect(decodeChannelData(tcp)).toEqual({ ok: true, channel: 0x4fff, data });
      expect(frameLength(tcp)).toBe(tcp.length);
      expect(frameLength(udp)).toBe(tcp.length);
    }
  });

  it('channel numbers outside 0x4000-0x4FFF are rejected', () => {
    for (const ch of [0x3fff, 0x5000, 0x7fff, 0x0000, 0xffff])
      expect(() => encodeChannelData(ch, Buffer.alloc(1), false)).toThrow(RangeError);
    for (const ch of [0x3fff, 0x5000, 0x7fff, 0x8000, 0x0001]) {
      const b = Buffer.from([ch >> 8, ch & 0xff, 0, 1, 9]);
      expect(decodeChannelData(b)).toMatchObject({ ok: false });
    }
    expect(decodeChannelData(Buffer.from([0x40, 0x00, 0x00, 0x09, 1, 2]))).toMatchObject({
      ok: false,
      error: 'ChannelData length 9 exceeds packet size 6',
    });
    expect(
      decodeChannelData(Buffer.concat([encodeChannelData(0x4000, Buffer.alloc(4), true), Buffer.alloc(4)])),
    ).toMatchObject({ ok: false });
  });

  it('frameLength: STUN, ChannelData, need more, garbage', () => {
    expect(frameLength(SAMPLE_REQUEST)).toBe(108);
    expect(frameLength(SAMPLE_REQUEST.subarray(0, 8))).toBe(108);
    expect(frameLength(Buffer.alloc(0))).toBe(0);
    expect(frameLength(SAMPLE_REQUEST.subarray(0, 7))).toBe(0);
    expect(frameLength(Buffer.from([0x40, 0x00, 0x00]))).toBe(0);
    expect(frameLength(Buffer.from([0x40, 0x00, 0x00, 0x05]))).toBe(12);
    for (const g of [
      Buffer.from('\x80abcdefgh', 'latin1'),
      Buffer.from([0xff, 0, 0, 0]),
      Buffer.from([0x50, 0, 0, 0]),
      Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01', 'latin1'),
    ]) {
      expect(frameLength(g)).toMatchObject({ error: expect.any(String) });
    }
    const oddLength = Buffer.from(SAMPLE_REQUEST);
    oddLength.writeUInt16BE(0x57, 2);
    expect(frameLength(oddLength)).toMatchObject({ error: expect.any(String) });
  });

  it('splits a TCP stream of STUN and padded ChannelData frames', () => {
    const cd = encodeChannelData(0x4123, Buffer.from('hello'), true);
    let stream = Buffer.concat([SAMPLE_IPV4_RESPONSE, cd, SAMPLE_LONG_TERM_REQUEST, cd]);
    const frames: Buffer[] = [];
    for (;;) {
      const len = frameLength(stream);
      if (typeof len === 'object') throw new Error(len.error);
      if (len === 0 || len > stream.length) break;
      frames.push(stream.subarray(0, len));
      stream = stream.subarray(len);
    }
    expect(stream.length).toBe(0);
    expect(frames.map((f) => f.length)).toEqual([SAMPLE_IPV4_RESPONSE.length, 12, SAMPLE_LONG_TERM_REQUEST.length, 12]);
    expect(decoded(frames[0]!).cls).toBe('success');
    expect(decodeChannelData(frames[1]!)).toEqual({ ok: true, channel: 0x4123, data: Buffer.from('hello') });
    expect(verifyIntegrity(frames[2]!, longTermKey(USERNAME_4, REALM_4, PASSWORD_4))).toBe(true);
  });
});
