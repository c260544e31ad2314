// Which evidence a check id carries, for the checks that read another's: role families as template literal types,
// one typed accessor. A misspelt id, an id no check has (`ws.files`) or a field the evidence lacks is a build error,
// not an `undefined` at run time. test/unit/wiring.test.ts holds this map to the checks' own evidence types.
import type { Role, Upstream } from '../../src/model.js';
import type { TlsEvidence } from '../../src/probes/tls.js';
import type { DnsEvidence } from './dns-name.js';
import type { HttpRoleEvidence } from './http-role.js';
import type { WsEvidence } from './ws-role.js';

/** The roles with WebSocket endpoints (files.<d> has none): ws.*, hold.ws.*, ws.h2. */
export type StreamRole = Exclude<Role, 'files'>;
export const STREAM_ROLES: readonly StreamRole[] = ['main', 'browsers', 'sandbox', 'preview'];

export type EvidenceById = { [R in Role as `dns.${R}`]: DnsEvidence } & { [R in Role as `tls.${R}`]: TlsEvidence } & {
  [R in Role as `http.${R}`]: HttpRoleEvidence;
} & { [R in StreamRole as `ws.${R}`]: WsEvidence };

export type WiredId = keyof EvidenceById;

/**
 * The evidence check `id` gathered, if it ran. Partial: a check that threw or was cut short carries what it had,
 * or nothing, so every field is read as possibly absent.
 */
export function evidenceOf<K extends WiredId>(up: Upstream, id: K): Partial<EvidenceById[K]> | undefined {
  return up.get(id)?.evidence as Partial<EvidenceById[K]> | undefined;
}
