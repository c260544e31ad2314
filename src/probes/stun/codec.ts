// A focused STUN (RFC 8489) / TURN (RFC 8656) message codec. Decoding never throws, whatever the bytes: every read
// is bounds-checked and every loop advances by at least four bytes. Encoding throws (TypeError/RangeError) only on
// our own bad input (an unparsable address, a 13-byte transaction id, ...), never on anything from the network.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
const HEADER = 20;

export const METHOD = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;
export type MethodName = keyof typeof METHOD;
export type MessageClass = 'request' | 'indication' | 'success' | 'error';

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

/** Address attributes whose value is XORed with the magic cookie (and, for IPv6, the transaction id). */
const XOR_ADDRESS_TYPES: ReadonlySet<number> = new Set([
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.XOR_PEER_ADDRESS,
  ATTR.XOR_RELAYED_ADDRESS,
]);

export interface TransportAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** A decoded attribute list keeps order and raw values; typed accessors below read from it. */
export interface RawAttribute {
  type: number;
  /** The value without padding (a copy: it does not alias the packet). */
  value: Buffer;
  /** Offset of the attribute header in the message. */
  offset: number;
}

export interface StunMessage {
  /** 12-bit method. */
  method: number;
  methodName?: MethodName;
  cls: MessageClass;
  /** 12 bytes. */
  transactionId: Buffer;
  attributes: RawAttribute[];
}

export type DecodeResult = { ok: true; message: StunMessage } | { ok: false; error: string };

const CLASSES: readonly MessageClass[] = ['request', 'indication', 'success', 'error'];
const METHOD_NAMES = new Map<number, MethodName>(Object.entries(METHOD).map(([k, v]) => [v, k as MethodName]));
const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
const pad4 = (n: number) => (n + 3) & ~3;

// ---------------------------------------------------------------------------------------------------------------
// Decoding

interface Walked {
  type: number;
  length: number;
  transactionId: Buffer;
  attributes: Array<{ type: number; offset: number; length: number }>;
}

/** Header and attribute framing checks shared by decode and the verifiers. Never throws. */
function walk(buf: Buffer): Walked | string {
  if (!Buffer.isBuffer(buf)) return 'not a Buffer';
  if (buf.length < HEADER) return `${buf.length} bytes is shorter than a STUN header (20)`;
  const type = buf.readUInt16BE(0);
  if (type & 0xc000) return 'not a STUN message (first two bits set)';
  const length = buf.readUInt16BE(2);
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return 'bad magic cookie';
  if (length % 4 !== 0) return `length ${length} is not a multiple of 4`;
  if (HEADER + length > buf.length) return `length ${length} exceeds packet size ${buf.length}`;
  if (HEADER + length < buf.length) return `${buf.length - HEADER - length} bytes after the message (length ${length})`;
  const end = HEADER + length;
  const attributes: Walked['attributes'] = [];
  // Each pass advances by at least 4 bytes; `end` is fixed, so the loop ends.
  for (let off = HEADER; off < end; ) {
    if (off + 4 > end) return `truncated attribute header at offset ${off}`;
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    if (off + 4 + pad4(l) > end)
      return `attribute ${hex4(t)} runs past the end (length ${l} at offset ${off}, message ends at ${end})`;
    attributes.push({ type: t, offset: off, length: l });
    off += 4 + pad4(l);
  }
  return { type, length, transactionId: buf.subarray(8, 20), attributes };
}

/** Decode one STUN message occupying the whole buffer. Never throws. */
export function decode(buf: Buffer): DecodeResult {
  try {
    const w = walk(buf);
    if (typeof w === 'string') return { ok: false, error: w };
    const t = w.type;
    const method = (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2);
    const cls = CLASSES[((t >> 7) & 0x2) | ((t >> 4) & 0x1)]!;
    const methodName = METHOD_NAMES.get(method);
    const message: StunMessage = {
      method,
      ...(methodName ? { methodName } : {}),
      cls,
      transactionId: Buffer.from(w.transactionId),
      attributes: w.attributes.map((a) => ({
        type: a.type,
        offset: a.offset,
        value: Buffer.from(buf.subarray(a.offset + 4, a.offset + 4 + a.length)),
      })),
    };
    return { ok: true, message };
  } catch (e) {
    // Unreachable by construction; kept so that "never throws" does not rest on that alone.
    return { ok: false, error: `decoder fault: ${(e as Error)?.message ?? String(e)}` };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Typed readers. RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY(-SHA256) are ignored (only FINGERPRINT may
// follow), so the readers do not see them: nobody can append unauthenticated values to a signed message.

function readable(m: StunMessage): RawAttribute[] {
  const out: RawAttribute[] = [];
  const attrs = Array.isArray(m?.attributes) ? m.attributes : [];
  for (const a of attrs) {
    if (a.type === ATTR.MESSAGE_INTEGRITY || a.type === ATTR.MESSAGE_INTEGRITY_SHA256) break;
    if (Buffer.isBuffer(a.value)) out.push(a);
  }
  return out;
}

function first(m: StunMessage, type: number): Buffer | undefined {
  return readable(m).find((a) => a.type === type)?.value;
}

function parseAddress(v: Buffer, type: number, transactionId: Buffer): TransportAddress | undefined {
  if (v.length < 4) return undefined;
  const fam = v[1];
  const xor = XOR_ADDRESS_TYPES.has(type);
  const port = v.readUInt16BE(2) ^ (xor ? MAGIC_COOKIE >>> 16 : 0);
  if (fam === 0x01 && v.length === 8) {
    const a = v.readUInt32BE(4) ^ (xor ? MAGIC_COOKIE : 0);
    return { family: 4, address: [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join('.'), port };
  }
  if (fam === 0x02 && v.length === 20) {
    if (xor && transactionId?.length !== 12) return undefined;
    const bytes = Buffer.from(v.subarray(4, 20));
    if (xor) {
      const mask = Buffer.alloc(16);
      mask.writeUInt32BE(MAGIC_COOKIE, 0);
      transactionId.copy(mask, 4);
      for (let i = 0; i < 16; i++) bytes[i] = bytes[i]! ^ mask[i]!;
    }
    return { family: 6, address: formatIPv6(bytes), port };
  }
  return undefined;
}

/** First occurrence of an address attribute; XOR-* types are un-XORed. IPv4 and IPv6. */
export function getAddress(m: StunMessage, type: number): TransportAddress | undefined {
  return getAddresses(m, type)[0];
}

/** Every well-formed occurrence (XOR-PEER-ADDRESS may repeat); malformed ones are skipped. */
export function getAddresses(m: StunMessage, type: number): TransportAddress[] {
  const out: TransportAddress[] = [];
  for (const a of readable(m)) {
    if (a.type !== type) continue;
    const addr = parseAddress(a.value, type, m.transactionId);
    if (addr) out.push(addr);
  }
  return out;
}

/** UTF-8 (invalid sequences become U+FFFD). */
export function getString(m: StunMessage, type: number): string | undefined {
  return first(m, type)?.toString('utf8');
}

/** A 4-byte unsigned value (LIFETIME, PRIORITY). */
export function getUint32(m: StunMessage, type: number): number | undefined {
  const v = first(m, type);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** ERROR-CODE as class*100 + number (300..699); undefined when the class or number is out of range. */
export function getErrorCode(m: StunMessage): { code: number; reason: string } | undefined {
  const v = first(m, ATTR.ERROR_CODE);
  if (!v || v.length < 4) return undefined;
  const cls = v[2]! & 0x07;
  const num = v[3]!;
  if (cls < 3 || cls > 6 || num > 99) return undefined;
  return { code: cls * 100 + num, reason: v.subarray(4).toString('utf8') };
}

export function getData(m: StunMessage): Buffer | undefined {
  return first(m, ATTR.DATA);
}

/** CHANNEL-NUMBER, only when in the valid range 0x4000-0x4FFF. */
export function getChannelNumber(m: StunMessage): number | undefined {
  const v = first(m, ATTR.CHANNEL_NUMBER);
  if (v?.length !== 4) return undefined;
  const n = v.readUInt16BE(0);
  return n >= 0x4000 && n <= 0x4fff ? n : undefined;
}

/** REQUESTED-TRANSPORT protocol number (17 UDP, 6 TCP). */
export function getRequestedTransport(m: StunMessage): number | undefined {
  const v = first(m, ATTR.REQUESTED_TRANSPORT);
  return v && v.length === 4 ? v[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

export type AttributeInput =
  | {
      type: 'XOR-MAPPED-ADDRESS' | 'XOR-RELAYED-ADDRESS' | 'XOR-PEER-ADDRESS' | 'MAPPED-ADDRESS';
      value: TransportAddress;
    }
  | { type: 'USERNAME' | 'REALM' | 'NONCE' | 'SOFTWARE'; value: string }
  | { type: 'LIFETIME'; value: number }
  /** Protocol number; 3 RFFU bytes zero. */
  | { type: 'REQUESTED-TRANSPORT'; value: number }
  | { type: 'DATA'; value: Buffer }
  /** 0x4000-0x4FFF, 2 RFFU bytes. */
  | { type: 'CHANNEL-NUMBER'; value: number }
  | { type: 'ERROR-CODE'; value: { code: number; reason: string } }
  /** Anything else (PRIORITY, ICE-CONTROLLED, ...), value unpadded. */
  | { type: 'raw'; attrType: number; value: Buffer };

export interface EncodeOptions {
  /** Append MESSAGE-INTEGRITY (HMAC-SHA1) keyed with this. */
  integrityKey?: Buffer;
  /** Append FINGERPRINT (CRC-32 XOR 0x5354554e). */
  fingerprint?: boolean;
  /** Padding byte for attribute values (RFC 5769 §2.1 pads with spaces); default 0. */
  padByte?: number;
}

const ADDRESS_TYPES = {
  'XOR-MAPPED-ADDRESS': ATTR.XOR_MAPPED_ADDRESS,
  'XOR-RELAYED-ADDRESS': ATTR.XOR_RELAYED_ADDRESS,
  'XOR-PEER-ADDRESS': ATTR.XOR_PEER_ADDRESS,
  'MAPPED-ADDRESS': ATTR.MAPPED_ADDRESS,
} as const;
const STRING_TYPES = {
  USERNAME: ATTR.USERNAME,
  REALM: ATTR.REALM,
  NONCE: ATTR.NONCE,
  SOFTWARE: ATTR.SOFTWARE,
} as const;

function uint(n: number, bits: 16 | 32, what: string): number {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RangeError(`${what} ${n} is not a ${bits}-bit unsigned integer`);
  return n;
}

function encodeAddress(a: TransportAddress, type: number, transactionId: Buffer): Buffer {
  const xor = XOR_ADDRESS_TYPES.has(type);
  const port = uint(a.port, 16, 'port') ^ (xor ? MAGIC_COOKIE >>> 16 : 0);
  if (a.family === 4) {
    const bytes = parseIPv4(a.address);
    if (!bytes) throw new TypeError(`not an IPv4 address: ${a.address}`);
    const v = Buffer.alloc(8);
    v[1] = 0x01;
    v.writeUInt16BE(port, 2);
    v.writeUInt32BE((bytes.readUInt32BE(0) ^ (xor ? MAGIC_COOKIE : 0)) >>> 0, 4);
    return v;
  }
  if (a.family === 6) {
    const bytes = parseIPv6(a.address);
    if (!bytes) throw new TypeError(`not an IPv6 address: ${a.address}`);
    const v = Buffer.alloc(20);
    v[1] = 0x02;
    v.writeUInt16BE(port, 2);
    const mask = Buffer.alloc(16);
    if (xor) {
      mask.writeUInt32BE(MAGIC_COOKIE, 0);
      transactionId.copy(mask, 4);
    }
    for (let i = 0; i < 16; i++) v[4 + i] = bytes[i]! ^ mask[i]!;
    return v;
  }
  throw new TypeError(`address family must be 4 or 6, not ${String((a as { family: unknown }).family)}`);
}

function encodeValue(a: AttributeInput, transactionId: Buffer): { type: number; value: Buffer } {
  switch (a.type) {
    case 'XOR-MAPPED-ADDRESS':
    case 'XOR-RELAYED-ADDRESS':
    case 'XOR-PEER-ADDRESS':
    case 'MAPPED-ADDRESS': {
      const type = ADDRESS_TYPES[a.type];
      return { type, value: encodeAddress(a.value, type, transactionId) };
    }
    case 'USERNAME':
    case 'REALM':
    case 'NONCE':
    case 'SOFTWARE':
      return { type: STRING_TYPES[a.type], value: Buffer.from(a.value, 'utf8') };
    case 'LIFETIME': {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(uint(a.value, 32, 'LIFETIME'), 0);
      return { type: ATTR.LIFETIME, value: v };
    }
    case 'REQUESTED-TRANSPORT': {
      if (!Number.isInteger(a.value) || a.value < 0 || a.value > 255)
        throw new RangeError(`REQUESTED-TRANSPORT ${a.value} is not a protocol number`);
      return { type: ATTR.REQUESTED_TRANSPORT, value: Buffer.from([a.value, 0, 0, 0]) };
    }
    case 'DATA':
      return { type: ATTR.DATA, value: a.value };
    case 'CHANNEL-NUMBER': {
      if (!Number.isInteger(a.value) || a.value < 0x4000 || a.value > 0x4fff)
        throw new RangeError(`channel number ${a.value} is outside 0x4000-0x4FFF`);
      const v = Buffer.alloc(4);
      v.writeUInt16BE(a.value, 0);
      return { type: ATTR.CHANNEL_NUMBER, value: v };
    }
    case 'ERROR-CODE': {
      const { code, reason } = a.value;
      if (!Number.isInteger(code) || code < 300 || code > 699)
        throw new RangeError(`error code ${code} is outside 300-699`);
      const r = Buffer.from(reason, 'utf8');
      const v = Buffer.alloc(4 + r.length);
      v[2] = Math.floor(code / 100);
      v[3] = code % 100;
      r.copy(v, 4);
      return { type: ATTR.ERROR_CODE, value: v };
    }
    case 'raw':
      return { type: uint(a.attrType, 16, 'attribute type'), value: a.value };
    default:
      throw new TypeError(`unknown attribute input ${JSON.stringify((a as { type: unknown }).type)}`);
  }
}

export function encode(
  msg: { method: number | MethodName; cls: MessageClass; transactionId: Buffer; attributes: AttributeInput[] },
  opts: EncodeOptions = {},
): Buffer {
  const method = typeof msg.method === 'string' ? METHOD[msg.method] : msg.method;
  if (method === undefined || !Number.isInteger(method) || method < 0 || method > 0xfff)
    throw new RangeError(`method ${String(msg.method)} is not a 12-bit method`);
  const c = CLASSES.indexOf(msg.cls);
  if (c < 0) throw new TypeError(`unknown message class ${String(msg.cls)}`);
  if (!Buffer.isBuffer(msg.transactionId) || msg.transactionId.length !== 12)
    throw new TypeError('transaction id must be 12 bytes');
  const padByte = opts.padByte ?? 0;
  if (!Number.isInteger(padByte) || padByte < 0 || padByte > 255)
    throw new RangeError(`padByte ${padByte} is not a byte`);

  const parts: Buffer[] = [];
  for (const a of msg.attributes) {
    const { type, value } = encodeValue(a, msg.transactionId);
    if (value.length > 0xffff)
      throw new RangeError(`attribute ${hex4(type)} value of ${value.length} bytes is too long`);
    const p = Buffer.alloc(4 + pad4(value.length), padByte);
    p.writeUInt16BE(type, 0);
    p.writeUInt16BE(value.length, 2);
    value.copy(p, 4);
    parts.push(p);
  }
  const header = Buffer.alloc(HEADER);
  const type =
    (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 0x2) << 7) | ((c & 0x1) << 4);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  msg.transactionId.copy(header, 8);
  let out = Buffer.concat([header, ...parts]);
  const setLength = (b: Buffer, bodyLength: number) => {
    if (bodyLength > 0xffff) throw new RangeError(`message body of ${bodyLength} bytes is too long`);
    b.writeUInt16BE(bodyLength, 2);
  };

  if (opts.integrityKey) {
    // RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY, with the length already counting it.
    setLength(out, out.length - HEADER + 24);
    const mac = createHmac('sha1', opts.integrityKey).update(out).digest();
    const mi = Buffer.alloc(24);
    mi.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, 0);
    mi.writeUInt16BE(20, 2);
    mac.copy(mi, 4);
    out = Buffer.concat([out, mi]);
  }
  if (opts.fingerprint) {
    setLength(out, out.length - HEADER + 8);
    const fp = Buffer.alloc(8);
    fp.writeUInt16BE(ATTR.FINGERPRINT, 0);
    fp.writeUInt16BE(4, 2);
    fp.writeUInt32BE((crc32(out) ^ FINGERPRINT_XOR) >>> 0, 4);
    out = Buffer.concat([out, fp]);
  }
  setLength(out, out.length - HEADER);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Integrity and fingerprint

/**
 * Verify the first MESSAGE-INTEGRITY (HMAC-SHA1) over the message up to it, with the length field adjusted to end
 * at MESSAGE-INTEGRITY (RFC 8489 §14.5). False, never a throw, when absent or malformed.
 */
export function verifyIntegrity(buf: Buffer, key: Buffer): boolean {
  try {
    const w = walk(buf);
    if (typeof w === 'string') return false;
    const mi = w.attributes.find((a) => a.type === ATTR.MESSAGE_INTEGRITY);
    if (mi?.length !== 20) return false;
    const head = Buffer.from(buf.subarray(0, mi.offset));
    head.writeUInt16BE(mi.offset + 24 - HEADER, 2);
    const mac = createHmac('sha1', key).update(head).digest();
    return timingSafeEqual(mac, buf.subarray(mi.offset + 4, mi.offset + 24));
  } catch {
    return false;
  }
}

/** Verify FINGERPRINT, which must be the last attribute. False, never a throw, when absent or malformed. */
export function verifyFingerprint(buf: Buffer): boolean {
  try {
    const w = walk(buf);
    if (typeof w === 'string') return false;
    const fp = w.attributes[w.attributes.length - 1];
    if (!fp || fp.type !== ATTR.FINGERPRINT || fp.length !== 4) return false;
    return (crc32(buf.subarray(0, fp.offset)) ^ FINGERPRINT_XOR) >>> 0 === buf.readUInt32BE(fp.offset + 4);
  } catch {
    return false;
  }
}

/** 12 random bytes (crypto). */
export function newTransactionId(): Buffer {
  return randomBytes(12);
}

let CRC_TABLE: Uint32Array | undefined;
/** CRC-32 (ISO-HDLC, as zlib), table-driven. */
export function crc32(buf: Buffer): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = CRC_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// TURN ChannelData and stream framing

const isChannel = (n: number) => Number.isInteger(n) && n >= 0x4000 && n <= 0x4fff;

/** TURN ChannelData (RFC 8656 §12.4): channel number 0x4000-0x4FFF, length, data; over TCP padded to 4 bytes. */
export function encodeChannelData(channel: number, data: Buffer, padded: boolean): Buffer {
  if (!isChannel(channel)) throw new RangeError(`channel number ${channel} is outside 0x4000-0x4FFF`);
  if (data.length > 0xffff) throw new RangeError(`ChannelData of ${data.length} bytes is too long`);
  const out = Buffer.alloc(4 + (padded ? pad4(data.length) : data.length));
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}

/** Decode one ChannelData message; up to 3 bytes of padding after the data are accepted (UDP may or may not pad). */
export function decodeChannelData(
  buf: Buffer,
): { ok: true; channel: number; data: Buffer } | { ok: false; error: string } {
  if (!Buffer.isBuffer(buf)) return { ok: false, error: 'not a Buffer' };
  if (buf.length < 4) return { ok: false, error: `${buf.length} bytes is shorter than a ChannelData header (4)` };
  const channel = buf.readUInt16BE(0);
  if (!isChannel(channel)) return { ok: false, error: `channel number ${hex4(channel)} is outside 0x4000-0x4FFF` };
  const length = buf.readUInt16BE(2);
  if (4 + length > buf.length)
    return { ok: false, error: `ChannelData length ${length} exceeds packet size ${buf.length}` };
  if (buf.length > 4 + pad4(length))
    return { ok: false, error: `${buf.length - 4 - length} bytes after ChannelData of length ${length}` };
  return { ok: true, channel, data: Buffer.from(buf.subarray(4, 4 + length)) };
}

/**
 * Stream framing for STUN over TCP (RFC 8489 §6.2.2 / RFC 8656): given the bytes buffered so far, how long is the
 * first frame? A STUN message is 20 + length; ChannelData 4 + length rounded up to 4. Returns 0 when more bytes
 * are needed, or { error } when the first bytes are neither (so the caller can give up on a garbage stream).
 * A positive answer is always at least 4 (ChannelData) or 20 (STUN), and may exceed what is buffered so far.
 */
export function frameLength(buf: Buffer): number | { error: string } {
  if (!Buffer.isBuffer(buf)) return { error: 'not a Buffer' };
  if (buf.length < 1) return 0;
  const b0 = buf[0]!;
  const top = b0 >> 6;
  if (top === 0) {
    if (buf.length < 8) return 0;
    const length = buf.readUInt16BE(2);
    if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return { error: 'bad magic cookie' };
    if (length % 4 !== 0) return { error: `STUN length ${length} is not a multiple of 4` };
    return HEADER + length;
  }
  if (top === 1) {
    // 0x4000-0x4FFF are channels; 0x5000-0x7FFF are reserved (RFC 8656 §12).
    if (b0 > 0x4f) return { error: `first byte 0x${b0.toString(16)} is neither STUN nor a ChannelData channel` };
    if (buf.length < 4) return 0;
    return 4 + pad4(buf.readUInt16BE(2));
  }
  return { error: `first byte 0x${b0.toString(16).padStart(2, '0')} is neither STUN nor ChannelData` };
}

// ---------------------------------------------------------------------------------------------------------------
// Address text

function parseIPv4(s: string): Buffer | undefined {
  if (typeof s !== 'string') return undefined;
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** RFC 4291 text (with "::" and an optional dotted IPv4 tail); no zone ids. */
function parseIPv6(s: string): Buffer | undefined {
  if (typeof s !== 'string' || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (!v4) return undefined;
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(it)) out.push(parseInt(it, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

/** RFC 5952 canonical text: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
function formatIPv6(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hx = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hx(g);
  return `${hx(g.slice(0, bestAt))}::${hx(g.slice(bestAt + bestLen))}`;
}
