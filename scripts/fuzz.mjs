// npm run fuzz: a million or more STUN/TURN inputs (random, and mutations of real messages) through every reader
// of the built codec; prints the count and the crashes, exits 1 if there was any.
import { randomBytes } from 'node:crypto';
import * as c from '../dist/src/probes/stun/codec.js';

const N = Number(process.argv[2] ?? 1_000_000);
const seeds = [
  c.encode(
    {
      method: 'binding',
      cls: 'success',
      transactionId: c.newTransactionId(),
      attributes: [
        { type: 'XOR-MAPPED-ADDRESS', value: { family: 4, address: '192.0.2.1', port: 32853 } },
        { type: 'SOFTWARE', value: 'fuzz' },
      ],
    },
    { fingerprint: true },
  ),
  c.encode(
    {
      method: 'allocate',
      cls: 'success',
      transactionId: c.newTransactionId(),
      attributes: [
        { type: 'XOR-RELAYED-ADDRESS', value: { family: 6, address: '2001:db8::2', port: 49152 } },
        { type: 'LIFETIME', value: 600 },
      ],
    },
    { integrityKey: Buffer.from('k'), fingerprint: true },
  ),
  c.encode({
    method: 'data',
    cls: 'indication',
    transactionId: c.newTransactionId(),
    attributes: [
      { type: 'XOR-PEER-ADDRESS', value: { family: 4, address: '203.0.113.9', port: 40000 } },
      { type: 'DATA', value: randomBytes(37) },
    ],
  }),
  c.encodeChannelData(0x4001, randomBytes(20), true),
];
const pool = randomBytes(64 * 1024 * 1024);
let at = 0;
const bytes = (n) => {
  if (at + n > pool.length) at = 0;
  const b = pool.subarray(at, at + n);
  at += n;
  return b;
};
let crashes = 0;
const started = Date.now();
for (let i = 0; i < N; i++) {
  let buf;
  if (i % 2 === 0) buf = Buffer.from(bytes(bytes(1)[0]));
  else {
    const s = Buffer.from(seeds[i % seeds.length]);
    const flips = 1 + (bytes(1)[0] % 4);
    for (let k = 0; k < flips; k++) s[bytes(2).readUInt16BE(0) % s.length] = bytes(1)[0];
    buf = s.subarray(0, bytes(2).readUInt16BE(0) % (s.length + 1) || s.length);
  }
  try {
    const d = c.decode(buf);
    if (d.ok) {
      for (const t of Object.values(c.ATTR)) {
        c.getAddress(d.message, t);
        c.getAddresses(d.message, t);
        c.getString(d.message, t);
        c.getUint32(d.message, t);
      }
      c.getErrorCode(d.message);
      c.getData(d.message);
      c.getChannelNumber(d.message);
      c.verifyIntegrity(buf, Buffer.from('k'));
      c.verifyFingerprint(buf);
    }
    c.frameLength(buf);
    c.decodeChannelData(buf);
  } catch (e) {
    if (crashes++ < 5) console.error(`crash on ${buf.toString('hex')}: ${e.stack}`);
  }
}
const secs = (Date.now() - started) / 1000;
console.log(`${N} STUN inputs in ${secs.toFixed(1)} s (${Math.round(N / secs)}/s), ${crashes} crashes`);
process.exit(crashes ? 1 : 0);
