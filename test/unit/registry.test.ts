import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadChecks, selectIds } from '../../src/registry.js';

// The contract (spec §3) for the checks that exist so far: ids and the codes each must be able to give.
const CONTRACT: Record<string, string[]> = {
  'config.values': ['CONFIG_MISMATCH'],
  'env.proxy': ['ENV_PROXY'],
  ...Object.fromEntries(['main', 'files', 'browsers', 'sandbox', 'preview'].flatMap((r) => [
    [`dns.${r}`, ['DNS_NXDOMAIN', 'DNS_SERVFAIL', 'DNS_TIMEOUT', 'DNS_UNREACHABLE', 'DNS_NO_ADDRESS', 'DNS_LOCAL_OVERRIDE']],
    [`tls.${r}`, ['TLS_HANDSHAKE', 'TLS_UNTRUSTED', 'TLS_SELF_SIGNED', 'TLS_INCOMPLETE_CHAIN', 'TLS_NAME_MISMATCH', 'TLS_DEFAULT_CERT', 'TLS_EXPIRED', 'TLS_NOT_YET_VALID', 'TLS_EXPIRES_SOON', 'TLS_OLD_PROTOCOL']],
  ])),
  'dns.consistent': ['DNS_DIVERGENT', 'DNS_UNEXPECTED_IP'],
  'env.clock': ['CLOCK_SKEW'],
  ...Object.fromEntries(['main', 'files', 'browsers', 'sandbox', 'preview'].map((r) => [`http.${r}`,
    ['HTTP_DEFAULT_BACKEND', 'HTTP_BAD_GATEWAY', 'HTTP_NO_ENDPOINTS', 'HTTP_GATEWAY_TIMEOUT', 'HTTP_WRONG_SERVICE', 'HTTP_HOST_REWRITTEN', 'HTTP_CONFIG_MISMATCH', 'HTTP_UNEXPECTED']])),
  'http.redirect': ['HTTP_NO_REDIRECT'],
  'http.exposure': ['HTTP_METRICS_PUBLIC'],
  'http.oauth': ['HTTP_OAUTH_MISMATCH'],
  ...Object.fromEntries(['main', 'browsers', 'sandbox', 'preview'].flatMap((r) => [
    [`ws.${r}`, ['WS_REJECTED', 'WS_UPGRADE_STRIPPED', 'WS_NO_ENDPOINT']],
    [`hold.ws.${r}`, ['HOLD_CUT', 'HOLD_SHORT']],
  ])),
  'hold.sse.main': ['HOLD_CUT', 'HOLD_SHORT', 'HOLD_IDLE_HEARTBEAT'],
  'sse.main': ['SSE_BUFFERED', 'SSE_BAD_TYPE'],
  'turn.udp': ['TURN_UNREACHABLE', 'TURN_TIMEOUT', 'TURN_UDP_UNUSED'],
  'turn.tcp': ['TURN_UNREACHABLE', 'TURN_TIMEOUT'],
  // TURN_NO_CHALLENGE and TURN_TIMEOUT are ours beyond the spec's list (README: codes beyond the spec).
  'turn.auth': ['TURN_AUTH_REJECTED', 'TURN_NO_CREDENTIALS', 'TURN_REALM_MISMATCH', 'TURN_NO_CHALLENGE', 'TURN_TIMEOUT'],
  'turn.relay': ['TURN_RELAY_PRIVATE', 'TURN_RELAY_OUT_OF_RANGE', 'TURN_RELAY_BLOCKED'],
  'turn.peers': ['TURN_OPEN_TO_INTERNAL'],
  'http.coalesce': ['H2_MISROUTED', 'H2_MISDIRECTED'],
  'ws.h2': ['WS_H2_REJECTED'],
  'net.addresses': ['NET_ADDRESS_UNREACHABLE', 'NET_ADDRESS_DIFFERENT'],
};

describe('check registry', () => {
  it('finds every check file by its id, and each declares the spec codes with a fix', async () => {
    const defs = await loadChecks();
    const ids = defs.map((d) => d.meta.id);
    const files = readdirSync(new URL('../../checks/', import.meta.url)).filter((f) => /^[a-z]+\..*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, ''));
    expect(ids.sort()).toEqual(files.sort());
    for (const [id, codes] of Object.entries(CONTRACT)) {
      const def = defs.find((d) => d.meta.id === id);
      expect(def, id).toBeDefined();
      expect(Object.keys(def!.meta.codes).sort(), id).toEqual([...codes].sort());
      for (const c of codes) expect(def!.meta.codes[c]!.fix, `${id} ${c}`).toBeTruthy();
    }
  });

  it('selects by id or prefix and reports unknown entries', () => {
    const all = ['dns.main', 'dns.preview', 'dns.consistent', 'tls.main', 'tls.preview'];
    expect(selectIds(all, ['dns'], []).selected).toEqual(['dns.main', 'dns.preview', 'dns.consistent']);
    expect(selectIds(all, [], ['tls.preview', 'dns']).selected).toEqual(['tls.main']);
    expect(selectIds(all, ['tls.pre'], []).unknown).toEqual(['tls.pre']);
  });
});
