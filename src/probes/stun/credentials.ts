// TURN credentials: coturn's time-limited REST API credentials and the RFC 8489 long-term key.
import { createHash, createHmac } from 'node:crypto';

/**
 * coturn's REST API credentials (use-auth-secret / static-auth-secret): username `<unix expiry>:<name>` (just
 * `<unix expiry>` when name is empty), password base64(HMAC-SHA1(secret, username)).
 */
export function restCredentials(
  secret: string,
  name: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): { username: string; password: string } {
  const expiry = Math.floor(nowMs / 1000) + Math.floor(ttlSeconds);
  const username = name === '' ? String(expiry) : `${expiry}:${name}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, password };
}

/** RFC 3454 table B.1, "commonly mapped to nothing". */
/* biome-ignore lint/suspicious/noMisleadingCharacterClass: RFC 3454 lists these code points one by one, combining
   marks included */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
/** RFC 3454 table C.1.2, non-ASCII space characters (U+200B is already mapped to nothing above). */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;

/**
 * The mapping and normalization steps of SASLprep (RFC 4013 §2.1-2.2): non-ASCII spaces to U+0020, table B.1 to
 * nothing, then NFKC. Limits: the prohibited-output (§2.3), bidirectional (§2.4) and unassigned-code-point checks
 * are not made — such a password is used as mapped instead of being rejected — and NFKC is that of the running
 * ICU (Unicode 15+) rather than Unicode 3.2. For ASCII passwords (coturn REST passwords are base64) it is the
 * identity, as it must be.
 */
export function saslprep(s: string): string {
  return s.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
}

/**
 * RFC 8489 §9.2.2 long-term key: MD5(username ":" realm ":" SASLprep(password)), UTF-8. Username and realm are
 * used as given (as coturn does); only the password is SASLprep'ed (see saslprep for the subset implemented).
 */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5')
    .update(`${username}:${realm}:${saslprep(password)}`, 'utf8')
    .digest();
}
