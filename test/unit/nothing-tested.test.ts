// Spec §3: a check that tested nothing is `skip`, never `pass`, and the reason it prints is computed from what
// happened (no address in DNS, no TLS session, a gate in front, a route that failed, no responder), never a fixed
// sentence. On recorded upstream results, each check's gather (none of these paths touches the network) and judge.
import { describe, expect, it } from 'vitest';
import configValues from '../../checks/config.values.js';
import envClock from '../../checks/env.clock.js';
import coalesce from '../../checks/http.coalesce.js';
import httpOauth from '../../checks/http.oauth.js';
import httpUpload from '../../checks/http.upload.js';
import netAddresses from '../../checks/net.addresses.js';
import turnAuth from '../../checks/turn.auth.js';
import turnPeers from '../../checks/turn.peers.js';
import turnRelay from '../../checks/turn.relay.js';
import wsH2, { type WsH2Evidence } from '../../checks/ws.h2.js';
import { causeOf, describeBlock } from '../../checks/_lib/cause.js';
import { ROLES, type CheckDef, type CheckResult, type GatherTools, type Role, type Upstream } from '../../src/model.js';
import { testContext } from '../support/context.js';

const ctx = testContext();
const D = ctx.target.domain;
const host = (r: Role) => ctx.target.hosts[r];

function result(id: string, status: CheckResult['status'], o: Partial<CheckResult> = {}): CheckResult {
  return { id, title: id, status, message: o.message ?? status, durationMs: 0, evidence: {}, ...o };
}
/** What the runner gives a check whose prerequisite failed or skipped. */
function blocked(id: string, by: CheckResult): CheckResult {
  const how = by.status === 'skip' ? 'was skipped' : `failed${by.code ? ` (${by.code})` : ''}`;
  return result(id, 'skip', { message: `skipped: ${by.id} ${how}`, evidence: { blockedBy: by.id } });
}
const nxdomain = (r: Role) =>
  result(`dns.${r}`, 'fail', {
    code: 'DNS_NXDOMAIN',
    host: host(r),
    message: `${host(r)} does not exist (NXDOMAIN from 127.0.0.1:53)`,
    evidence: { dnsAddresses: [], connectAddresses: [] },
  });
const resolved = (r: Role, address = '192.0.2.1') =>
  result(`dns.${r}`, 'pass', {
    evidence: { dnsAddresses: [address], connectAddresses: [address], connectAddress: address },
  });
const CERT = { sans: [D, `files.${D}`, `browsers.${D}`, `sandbox.${D}`, `*.sandbox.${D}`], fingerprint256: 'AA:BB' };
const session = (r: Role, alpn = 'h2', sans = CERT.sans) =>
  result(`tls.${r}`, 'pass', { evidence: { address: '192.0.2.1', alpn, chain: [{ ...CERT, sans }] } });

/** Every role's DNS failed: what the runner then gives each tls, http and ws check. */
function noDns(): Map<string, CheckResult> {
  const up = new Map<string, CheckResult>();
  for (const r of ROLES) {
    const dns = nxdomain(r);
    up.set(dns.id, dns);
    for (const id of [`tls.${r}`, `http.${r}`, `ws.${r}`]) up.set(id, blocked(id, dns));
  }
  return up;
}

/** No network: any probe asked for is a test failure, except the TURN name (an IP here, resolved without DNS). */
const tools: GatherTools = {
  signal: new AbortController().signal,
  probe: (key, run) => {
    if (!key.startsWith('turn:resolve:')) throw new Error(`no network in this test: ${key}`);
    return run();
  },
};
const run = async <E>(check: CheckDef<E>, up: Upstream, c = ctx) => check.judge(await check.gather(c, up, tools), c);

describe('causeOf: the first failure on the way, in words', () => {
  it('follows the runner skips to the failed check and says what it leaves untestable', () => {
    const up = noDns();
    expect(causeOf(up, 'http.main')).toBe('no address in DNS (dns.main DNS_NXDOMAIN)');
    const tls = result('tls.main', 'fail', { code: 'TLS_HANDSHAKE' });
    expect(
      causeOf(
        new Map([
          ['tls.main', tls],
          ['http.main', blocked('http.main', tls)],
        ]),
        'http.main',
      ),
    ).toBe('no TLS session (tls.main TLS_HANDSHAKE)');
    expect(describeBlock(result('http.main', 'warn', { code: 'HTTP_AUTH_GATE' }))).toBe(
      'an authentication gate answers for it (http.main HTTP_AUTH_GATE)',
    );
    expect(describeBlock(result('dns.main', 'fail', { code: 'DNS_TIMEOUT' }))).toBe(
      'no DNS answer (dns.main DNS_TIMEOUT)',
    );
    // A prerequisite this check does not read: the skip's own words name it.
    expect(causeOf(new Map([['http.main', blocked('http.main', nxdomain('main'))]]), 'http.main')).toBe(
      'http.main skipped: dns.main failed (DNS_NXDOMAIN)',
    );
  });
});

describe('no DNS answer: every check that reads others skips naming it', () => {
  const up = noDns();
  const dnsReason = /no address in DNS \(dns\.\w+ DNS_NXDOMAIN\)/;

  it('env.clock: the main host was never asked, not "no Date header"', async () => {
    const j = await run(envClock, up);
    expect(j).toMatchObject({ status: 'skip' });
    expect(j.message).toBe(`no Date to compare with: ${D} was not asked (no address in DNS (dns.main DNS_NXDOMAIN))`);
    expect(j.message).not.toMatch(/Date header/);
  });

  it('ws.h2: each host without an address, not "no TLS session"', async () => {
    const j = await run(wsH2, up);
    expect(j.status).toBe('skip');
    for (const r of ['main', 'browsers', 'sandbox', 'preview'] as const)
      expect(j.message).toContain(`${host(r)} (no address in DNS (dns.${r} DNS_NXDOMAIN))`);
    expect(j.message).not.toMatch(/no TLS session/);
  });

  it('net.addresses, http.upload, http.oauth: skip, each host with its DNS failure', async () => {
    for (const check of [netAddresses, httpUpload, httpOauth] as Array<CheckDef<unknown>>) {
      const j = await run(check, up);
      expect(j.status, check.meta.id).toBe('skip');
      expect(j.message, check.meta.id).toMatch(dnsReason);
      expect(j.message, check.meta.id).not.toMatch(/no responder|http\.\w+ skip\b/);
    }
  });

  it('turn.auth: the TURN name did not resolve, not "unreachable"', async () => {
    const said =
      `TURN server ${D}:3478: ${D} does not resolve (ENOTFOUND); nothing to test until DNS answers (see the dns.* ` +
      'checks), or give --turn <ip>';
    const turn = new Map(['turn.udp', 'turn.tcp'].map((id) => [id, result(id, 'skip', { message: said })]));
    const j = await run(turnAuth, turn);
    expect(j).toMatchObject({ status: 'skip', message: `skipped: turn.udp and turn.tcp: ${said}` });
    expect(j.message).not.toMatch(/unreachable/);
  });
});

describe('the rest of the path failed: the reason names the check that failed', () => {
  it('env.clock: no TLS session, or no HTTP answer, or an answer without a Date', async () => {
    const tls = result('tls.main', 'fail', { code: 'TLS_HANDSHAKE' });
    const j = await run(
      envClock,
      new Map([
        ['tls.main', tls],
        ['http.main', blocked('http.main', tls)],
      ]),
    );
    expect(j.message).toBe(`no Date to compare with: ${D} was not asked (no TLS session (tls.main TLS_HANDSHAKE))`);
    const refused = { url: `https://${D}/`, address: '192.0.2.1', ms: 1, error: { code: 'E', message: 'refused' } };
    const noAnswer = result('http.main', 'fail', {
      code: 'HTTP_UNEXPECTED',
      evidence: { exchanges: { '/': refused } },
    });
    expect((await run(envClock, new Map([['http.main', noAnswer]]))).message).toBe(
      `no Date to compare with: no HTTP answer from ${D} (http.main failed (HTTP_UNEXPECTED))`,
    );
    const undated = { url: `https://${D}/`, address: '192.0.2.1', ms: 1, status: 200, headers: {} };
    const plain = result('http.main', 'pass', { evidence: { exchanges: { '/': undated } } });
    expect((await run(envClock, new Map([['http.main', plain]]))).message).toBe(
      `no Date to compare with: ${D} answered without a Date header`,
    );
  });

  it('ws.h2 keeps "no TLS session" for a handshake that failed', async () => {
    const up = new Map<string, CheckResult>();
    for (const r of ['main', 'browsers', 'sandbox', 'preview'] as const) {
      const tls = result(`tls.${r}`, 'fail', { code: 'TLS_PROXY_PROTOCOL', evidence: { chain: [] } });
      up.set(tls.id, tls);
    }
    const j = await run(wsH2, up);
    expect(j.status).toBe('skip');
    expect(j.message).toContain(`${D} (no TLS session (tls.main TLS_PROXY_PROTOCOL))`);
  });

  it('net.addresses: a failed handshake at the address, a gate in front', async () => {
    const up = new Map<string, CheckResult>();
    for (const r of ROLES) {
      up.set(`dns.${r}`, resolved(r));
      up.set(
        `tls.${r}`,
        r === 'main'
          ? result('tls.main', 'fail', { code: 'TLS_HANDSHAKE', evidence: { address: '192.0.2.1', chain: [] } })
          : session(r),
      );
      if (r !== 'main') up.set(`http.${r}`, result(`http.${r}`, 'warn', { code: 'HTTP_AUTH_GATE' }));
    }
    const j = await run(netAddresses, up);
    expect(j.status).toBe('skip');
    expect(j.message).toContain(`${D}: no TLS session (tls.main TLS_HANDSHAKE) at 192.0.2.1`);
    expect(j.message).toContain(`files.${D}: an authentication gate answers for it (http.files HTTP_AUTH_GATE)`);
  });

  it('turn.auth, turn.relay: both transports unreachable, with their codes; a relay with no sample skips', async () => {
    const up = new Map([
      ['turn.udp', result('turn.udp', 'fail', { code: 'TURN_TIMEOUT' })],
      ['turn.tcp', result('turn.tcp', 'fail', { code: 'TURN_UNREACHABLE' })],
    ]);
    expect((await run(turnAuth, up)).message).toBe(
      'skipped: TURN is unreachable over UDP and TCP (turn.udp TURN_TIMEOUT, turn.tcp TURN_UNREACHABLE)',
    );
    const c = testContext({
      target: { ...ctx.target, turn: { host: '192.0.2.9', port: 3478 } },
      turn: { ...ctx.turn, credentials: { username: 'u', password: 'p', source: 'static' } },
    });
    // Before: no transport, no sample, and "no allocation succeeded" as a TURN_RELAY_BLOCKED failure.
    const unreachable = { status: 'skip', message: expect.stringMatching(/unreachable over UDP and TCP \(turn\.udp/) };
    expect(await run(turnRelay, up, c)).toMatchObject(unreachable);
    expect(await run(turnPeers, up, c)).toMatchObject(unreachable);
  });
});

describe('http.coalesce: no other host asked is skip, unless nothing could coalesce anyway', () => {
  const upWith = (other: (r: Role) => CheckResult[], alpn = 'h2', sans = CERT.sans) => {
    const up = new Map<string, CheckResult>([
      ['dns.main', resolved('main')],
      ['tls.main', session('main', alpn, sans)],
    ]);
    for (const r of ['files', 'browsers', 'sandbox', 'preview'] as const) for (const x of other(r)) up.set(x.id, x);
    return up;
  };
  const unrouted = (r: Role) => [
    resolved(r),
    result(`http.${r}`, 'fail', { code: 'HTTP_DEFAULT_BACKEND', evidence: { exchanges: {} } }),
  ];

  it('no host answering as the platform: skip naming each route that failed, not "nothing to coalesce"', async () => {
    const j = await run(coalesce, upWith(unrouted));
    expect(j.status).toBe('skip');
    expect(j.message).toContain(`files.${D} (http.files failed (HTTP_DEFAULT_BACKEND): its own route is judged there)`);
    expect(j.message).not.toMatch(/nothing for a browser to coalesce/);
  });

  it('no DNS for the other hosts: skip naming DNS, not "does not resolve to" an address', async () => {
    const j = await run(
      coalesce,
      upWith((r) => [nxdomain(r), blocked(`http.${r}`, nxdomain(r))]),
    );
    expect(j.status).toBe('skip');
    expect(j.message).toContain(`browsers.${D} (no address in DNS (dns.browsers DNS_NXDOMAIN))`);
    expect(j.message).not.toMatch(/does not resolve to/);
  });

  it('a gate on every other host: skip naming the gate', async () => {
    const j = await run(
      coalesce,
      upWith((r) => [resolved(r), result(`http.${r}`, 'warn', { code: 'HTTP_AUTH_GATE' })]),
    );
    expect(j.status).toBe('skip');
    expect(j.message).toContain('an authentication gate answers for it (http.sandbox HTTP_AUTH_GATE)');
  });

  it('measured passes stay passes: no h2 in tls.main ALPN, a certificate for <d> alone', async () => {
    const h1 = await coalesce.gather(ctx, upWith(unrouted, 'http/1.1'), tools);
    expect(h1.alpn).toBe('http/1.1');
    expect(coalesce.judge(h1, ctx)).toMatchObject({
      status: 'pass',
      message:
        `${D} at 192.0.2.1:443 offers no HTTP/2 (ALPN http/1.1): browsers open one connection per host, nothing ` +
        'is coalesced',
    });
    const alone = await run(coalesce, upWith(unrouted, 'h2', [D]));
    expect(alone.status).toBe('pass');
    expect(alone.message).toContain(`files.${D} (the certificate of ${D} does not cover it)`);
  });
});

describe('ws.h2: Extended CONNECT offered but never tried', () => {
  const conn = (h: string, enableConnectProtocol: boolean) => ({
    host: h,
    address: '192.0.2.1',
    port: 443,
    alpn: 'h2',
    enableConnectProtocol,
  });
  const untried = (r: Role): WsH2Evidence['hosts'][number] => ({
    role: r,
    host: host(r),
    endpoint: 'none',
    attempt: { connection: conn(host(r), true), attempted: false },
  });

  it('on every host, for want of a responder: skip saying so, not pass', () => {
    const j = wsH2.judge({ hosts: [untried('browsers'), untried('sandbox')] }, ctx);
    expect(j.status).toBe('skip');
    expect(j.message).toMatch(/not tried: no responder behind them and no public WebSocket endpoint/);
  });

  it('beside a host asked that does not offer it: pass on that one, naming the host not tried', () => {
    const plain: WsH2Evidence['hosts'][number] = {
      role: 'main',
      host: D,
      endpoint: 'env-gateway',
      attempt: { connection: conn(D, false), attempted: false },
    };
    const j = wsH2.judge({ hosts: [plain, untried('browsers')] }, ctx);
    expect(j.status).toBe('pass');
    expect(j.message).toContain(`no WebSocket over HTTP/2 offered by ${D}`);
    expect(j.message).toContain(`offered but no public WebSocket endpoint to try on browsers.${D}`);
  });
});

describe('turn.peers and config.values', () => {
  it('turn.peers: no permission refused (every answer an error) is skip; one refused is a pass', () => {
    const verdicts = [
      { peer: '10.0.0.1', result: 'error' as const, detail: 'no answer' },
      { peer: '127.0.0.1', result: 'error' as const, code: 400, detail: 'Bad Request' },
    ];
    expect(turnPeers.judge({ server: '192.0.2.9:3478', verdicts }, ctx)).toMatchObject({
      status: 'skip',
      message: 'no permission request was refused or granted: 10.0.0.1: no answer, 127.0.0.1: 400',
    });
    const one = [...verdicts, { peer: '192.168.0.1', result: 'refused' as const, code: 403 }];
    expect(turnPeers.judge({ server: '192.0.2.9:3478', verdicts: one }, ctx).status).toBe('pass');
  });

  it('config.values: a values file with no key is skip, not "0 keys agree"', () => {
    expect(configValues.judge({ file: '/tmp/values.env', values: {}, findings: [] }, ctx)).toMatchObject({
      status: 'skip',
      message: 'nothing to compare: /tmp/values.env sets no key this check reads',
    });
  });
});
