// The contract (spec §3) kept once: every check id and the codes it must be able to give. The registry test holds
// the checks to it, `explain` is asserted for every id and code in it, and run counts come from loadChecks().
import { ROLES } from '../../src/model.js';
import { loadChecks } from '../../src/registry.js';

const roles = (ids: readonly string[], codes: string[]) => Object.fromEntries(ids.map((id) => [id, codes]));
const STREAM_ROLES = ROLES.filter((r) => r !== 'files');

const HTTP_CODES = [
  'HTTP_DEFAULT_BACKEND',
  'HTTP_BAD_GATEWAY',
  'HTTP_NO_ENDPOINTS',
  'HTTP_GATEWAY_TIMEOUT',
  'HTTP_WRONG_SERVICE',
  'HTTP_HOST_REWRITTEN',
  'HTTP_CONFIG_MISMATCH',
  'HTTP_UNEXPECTED',
  'HTTP_AUTH_GATE',
  'HTTP_INTERMITTENT',
];

export const CONTRACT: Record<string, string[]> = {
  'config.values': ['CONFIG_MISMATCH'],
  'env.proxy': ['ENV_PROXY'],
  'env.clock': ['CLOCK_SKEW'],
  ...roles(
    ROLES.map((r) => `dns.${r}`),
    ['DNS_NXDOMAIN', 'DNS_SERVFAIL', 'DNS_TIMEOUT', 'DNS_UNREACHABLE', 'DNS_NO_ADDRESS', 'DNS_LOCAL_OVERRIDE'],
  ),
  'dns.consistent': ['DNS_DIVERGENT', 'DNS_UNEXPECTED_IP'],
  ...roles(
    ROLES.map((r) => `tls.${r}`),
    [
      'TLS_HANDSHAKE',
      'TLS_PROXY_PROTOCOL',
      'TLS_UNTRUSTED',
      'TLS_SELF_SIGNED',
      'TLS_INCOMPLETE_CHAIN',
      'TLS_NAME_MISMATCH',
      'TLS_DEFAULT_CERT',
      'TLS_EXPIRED',
      'TLS_NOT_YET_VALID',
      'TLS_EXPIRES_SOON',
      'TLS_OLD_PROTOCOL',
    ],
  ),
  ...roles(
    ROLES.map((r) => `http.${r}`),
    HTTP_CODES,
  ),
  // http.browsers alone: the web UI on <d> frames it (spec §3, contract 3).
  'http.browsers': [...HTTP_CODES, 'HTTP_FRAME_BLOCKED'],
  'http.redirect': ['HTTP_NO_REDIRECT'],
  'http.exposure': ['HTTP_METRICS_PUBLIC'],
  'http.oauth': ['HTTP_OAUTH_MISMATCH'],
  'http.upload': ['HTTP_BODY_LIMIT'],
  'hold.wait.main': ['HOLD_CUT', 'HOLD_SHORT'],
  'hold.wait.sandbox': ['HOLD_CUT', 'HOLD_SHORT'],
  ...roles(
    STREAM_ROLES.map((r) => `ws.${r}`),
    ['WS_REJECTED', 'WS_UPGRADE_STRIPPED', 'WS_NO_ENDPOINT'],
  ),
  ...roles(
    STREAM_ROLES.map((r) => `hold.ws.${r}`),
    ['HOLD_CUT', 'HOLD_SHORT'],
  ),
  'hold.sse.main': ['HOLD_CUT', 'HOLD_SHORT', 'HOLD_IDLE_HEARTBEAT'],
  // SSE_BUFFERED_HTTP1 beyond the spec's list (README): held back for HTTP/1.1 clients only, as sent over h2.
  'sse.main': ['SSE_BUFFERED', 'SSE_BUFFERED_HTTP1', 'SSE_BAD_TYPE'],
  'turn.udp': ['TURN_UNREACHABLE', 'TURN_TIMEOUT', 'TURN_UDP_UNUSED'],
  'turn.tcp': ['TURN_UNREACHABLE', 'TURN_TIMEOUT'],
  // TURN_NO_CHALLENGE and TURN_TIMEOUT are ours beyond the spec's list (README: codes beyond the spec).
  'turn.auth': [
    'TURN_AUTH_REJECTED',
    'TURN_NO_CREDENTIALS',
    'TURN_REALM_MISMATCH',
    'TURN_NO_CHALLENGE',
    'TURN_TIMEOUT',
  ],
  'turn.relay': ['TURN_RELAY_PRIVATE', 'TURN_RELAY_OUT_OF_RANGE', 'TURN_RELAY_BLOCKED'],
  'turn.peers': ['TURN_OPEN_TO_INTERNAL'],
  'http.coalesce': ['H2_MISROUTED', 'H2_MISDIRECTED'],
  'ws.h2': ['WS_H2_REJECTED'],
  'net.addresses': ['NET_ADDRESS_UNREACHABLE', 'NET_ADDRESS_DIFFERENT'],
};

export const SPEC_IDS = Object.keys(CONTRACT);
export const SPEC_CODES = [...new Set(Object.values(CONTRACT).flat())];

/** What a run of every check gives, counted from the registry rather than copied from it. */
export async function runShape() {
  const ids = (await loadChecks()).map((d) => d.meta.id);
  const area = (id: string) => id.split('.')[0]!;
  const holds = ids.filter((id) => area(id) === 'hold');
  const allButHold = ids.filter((id) => area(id) !== 'hold');
  /** JUnit suites of a run: [area, number of checks], in report order (a --no-hold run lists the holds as skipped). */
  const suites: Array<[string, string]> = [];
  for (const id of ids) {
    const last = suites[suites.length - 1];
    if (last?.[0] === area(id)) last[1] = String(Number(last[1]) + 1);
    else suites.push([area(id), '1']);
  }
  const perRole = (prefix: string) =>
    ids.filter((id) => new RegExp(`^${prefix}\\.(${ROLES.join('|')})$`).test(id)).length;
  return {
    all: ids.length,
    holdIds: holds,
    holds: holds.length,
    /** Holds of a stream (WebSocket, SSE): each has a timeline in the report; hold.wait.* has none. */
    streamHolds: holds.filter((id) => !id.startsWith('hold.wait.')).length,
    allButHold: allButHold.length,
    suites,
    dnsRoles: perRole('dns'),
    tlsRoles: perRole('tls'),
  };
}
