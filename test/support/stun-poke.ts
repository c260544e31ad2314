// Everything a caller might do with untrusted STUN bytes: the fuzz and codec tests both feed it hostile input.
import { expect } from 'vitest';
import {
  ATTR,
  decode,
  decodeChannelData,
  frameLength,
  getAddress,
  getAddresses,
  getChannelNumber,
  getData,
  getErrorCode,
  getRequestedTransport,
  getString,
  getUint32,
  verifyFingerprint,
  verifyIntegrity,
} from '../../src/probes/stun/codec.js';

export const READ_TYPES = [...new Set(Object.values(ATTR))];

/** Any throw fails the calling test. Returns whether decode accepted the bytes. */
export function poke(buf: Buffer, key: Buffer = Buffer.from('key')): boolean {
  const d = decode(buf);
  frameLength(buf);
  decodeChannelData(buf);
  verifyIntegrity(buf, key);
  verifyFingerprint(buf);
  if (!d.ok) {
    expect(typeof d.error).toBe('string');
    return false;
  }
  const m = d.message;
  for (const t of [...READ_TYPES, ...m.attributes.map((a) => a.type)]) {
    getAddress(m, t);
    getAddresses(m, t);
    getString(m, t);
    getUint32(m, t);
  }
  getErrorCode(m);
  getData(m);
  getChannelNumber(m);
  getRequestedTransport(m);
  return true;
}
