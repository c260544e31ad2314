// The evidence the role checks (dns.*, tls.*, http.*, ws.*) carry, and which check id carries which, for the checks
// that read another's: role families as template literal types, one typed accessor. A misspelt id, an id no check has
// (`ws.files`) or a field the evidence lacks is a build error, not an `undefined` at run time.
// test/unit/wiring.test.ts holds this map to the checks' own evidence types. The shapes live here, not in the role
// modules that gather them, so this module imports none of checks/_lib and every role module can import it.
import type { Role, Upstream } from '../../src/model.js';
import type { NameEvidence } from '../../src/probes/dns.js';
import type { HttpExchange } from '../../src/probes/http.js';
import type { AddressChoice } from '../../src/probes/reach.js';
import type { TlsEvidence } from '../../src/probes/tls.js';
import type { WsUpgrade } from '../../src/probes/ws.js';

/** The roles with WebSocket endpoints (files.<d> has none): ws.*, hold.ws.*, ws.h2. */
export type StreamRole = Exclude<Role, 'files'>;
export const STREAM_ROLES: readonly StreamRole[] = ['main', 'browsers', 'sandbox', 'preview'];

// ---------------------------------------------------------------- dns.<role> (dns-name.ts)

export interface DnsEvidence extends NameEvidence {
  role: Role;
  /** What DNS servers answer (union): what every user's resolver should see. */
  dnsAddresses: string[];
  /** Where this machine will connect: its own resolution, else the DNS answer (only the --ip-family one). */
  connectAddresses: string[];
  /** The one every check uses: the preferred address that accepts TCP (Happy Eyeballs), see probes/reach.ts. */
  connectAddress?: string;
  choice?: AddressChoice;
}

// ---------------------------------------------------------------- http.<role> (http-role.ts, front.ts, routing.ts)

export interface HttpRoleEvidence {
  host: string;
  address: string;
  /** Where the requests went, `address:port` (IPv6 in brackets). */
  connectedTo?: string;
  /** What the server chose when tls.<role> offered h2 and http/1.1 (these requests themselves use HTTP/1.1). */
  alpn?: string;
  exchanges: Record<string, HttpExchange>;
  responder?: ResponderIdentity;
  fingerprint?: Fingerprint;
  controller?: string;
  /** An authentication gate answered instead of the service (HTTP_AUTH_GATE). */
  gate?: Gate;
  /** <d> behind a gate: nap-cp's public token endpoint (POST /api/oauth/token with {}) through it. */
  token?: HttpExchange;
  /** The identifying request (GET /) six times, each on its own connection: a broken replica shows here. */
  repeats?: Tally;
  /**
   * http.preview: the SANDBOX_DOMAIN nap-sandbox runs with, from http.sandbox's public /api/config (absent when
   * that was not read). nap-sandbox treats only hosts under it as previews.
   */
  sandboxDomain?: string;
}

export interface ResponderIdentity {
  service: string;
  host: string | null;
  forwardedProto: string | null;
  protocol: number;
}

/** The service behind a host, from what the platform itself answers (spec §1 table). */
export type Fingerprint = 'nap-cp' | 'files' | 'nap-browser' | 'nap-sandbox' | 'preview';

/** An authentication gate answering instead of the service (front.ts). */
export interface Gate {
  /** The gate's answer to the identifying request: a redirect to its login, or a challenge. */
  status: number;
  location?: string;
  /** Where the redirect goes (scheme, host, port): the gate's login origin. */
  origin?: string;
  challenge?: string;
  /** What the gate most likely is, from its login URL or challenge. */
  kind: string;
}

/** One answer in several differing (front.ts). */
export interface Tally {
  /** Each distinct answer and how many of the requests got it, the most frequent first. */
  answers: Array<{ answer: string; count: number; server?: string }>;
  total: number;
}

// ---------------------------------------------------------------- ws.<role> (ws-role.ts)

export interface WsEvidence {
  host: string;
  /** Which endpoint was tried: the responder's echo, or the platform's own /env-gateway. */
  endpoint: 'responder' | 'env-gateway' | 'none';
  attempt?: WsUpgrade;
  /** When the upgrade was not answered with 101: the status a plain GET of the same path gets. */
  plainStatus?: number;
  controller?: string;
}

// ---------------------------------------------------------------- the map and the accessor

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
