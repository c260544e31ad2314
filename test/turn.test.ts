// turn.* against real coturn servers in a namespace of their own, with the faults of the field made for real:
// wrong or missing secret, relay range moved, relay on a private address, open peers, a stopped server, and
// iptables dropping 3478/udp or the relay range. coturn's own client cross-checks the relay verdicts.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult, type JsonCheck, withChecks } from './harness/cli.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import { startCoturn, turnNetns, type TurnNet } from './support/turn.js';

const SECRET = 'nvt-coturn-secret-7d1f3a9b2c';
const D = 'nap.test';
const IP = {
  healthy: '203.0.113.10',
  moved: '203.0.113.11',
  privateRelay: '203.0.113.12',
  open: '203.0.113.13',
  stopped: '203.0.113.14',
  staticUser: '203.0.113.15',
  noAuth: '203.0.113.16',
};
const STATIC = { name: 'nvt-user', password: 'nvt-static-password-41c9' };
const PRIVATE_RELAY = '10.99.0.12';

let net: TurnNet;
let secretFile: string;
let wrongSecretFile: string;

type Run = CliResult & { byId: Record<string, JsonCheck> };

/** coturn's own client relaying between two allocations (-y): how many of its packets were lost. */
async function uclientLoss(ip: string): Promise<string> {
  const r = await net.ns.exec(
    'turnutils_uclient',
    ['-y', '-n', '1', '-m', '1', '-l', '50', '-W', SECRET, '-u', 'nvt-uclient', '-r', D, ip],
    { timeoutMs: 40_000 },
  );
  const m = /Total lost packets \d+ \(([\d.]+)%\)/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`turnutils_uclient gave no summary:\n${r.stdout}${r.stderr}`);
  return m[1]!;
}

async function turn(ip: string, extra: string[] = [], env?: Record<string, string>): Promise<Run> {
  const r = await runCli(
    net.ns,
    ['--domain', D, '--only', 'turn', '--turn', ip, '--format', 'json', '--timeout', '2', ...extra],
    env ? { env } : {},
  );
  return withChecks(r);
}

beforeAll(async () => {
  net = await turnNetns();
  for (const ip of [...Object.values(IP), PRIVATE_RELAY]) await net.addAddress(ip);
  const dir = await makeTempDir('nvt-turn-');
  secretFile = path.join(dir, 'secret');
  wrongSecretFile = path.join(dir, 'wrong');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  writeFileSync(wrongSecretFile, 'not-the-secret\n', { mode: 0o600 });
  await Promise.all([
    startCoturn(net, { listenIp: IP.healthy, secret: SECRET, realm: D, denyInternal: true }),
    startCoturn(net, {
      listenIp: IP.moved,
      secret: SECRET,
      realm: D,
      denyInternal: true,
      minPort: 50000,
      maxPort: 50100,
    }),
    startCoturn(net, {
      listenIp: IP.privateRelay,
      relayIp: PRIVATE_RELAY,
      secret: SECRET,
      realm: D,
      denyInternal: true,
    }),
    startCoturn(net, { listenIp: IP.open, secret: SECRET, realm: 'other.test' }),
    startCoturn(net, { listenIp: IP.staticUser, staticUser: STATIC, realm: D, denyInternal: true }),
    startCoturn(net, { listenIp: IP.noAuth, noAuth: true, realm: D, denyInternal: true }),
  ]);
}, 60_000);
afterAll(runCleanups);

describe('turn.* against real coturn', () => {
  it(
    "a healthy server passes all five over UDP and TCP (as coturn's own client relays); the secret never " +
      'reaches any output',
    async () => {
      const json = path.join(path.dirname(secretFile), 'turn.json');
      const junit = path.join(path.dirname(secretFile), 'turn.xml');
      const t0 = Math.floor(Date.now() / 1000);
      const [r, loss, text] = await Promise.all([
        turn(IP.healthy, ['--turn-secret-file', secretFile, '--json', json, '--junit', junit]),
        uclientLoss(IP.healthy),
        runCli(net.ns, [
          '--domain',
          D,
          '--only',
          'turn',
          '--turn',
          IP.healthy,
          '--turn-secret-file',
          secretFile,
          '-v',
          '--timeout',
          '2',
        ]),
      ]);
      const t1 = Math.floor(Date.now() / 1000);
      expect(loss).toBe('0.000000');
      expect(r.code, JSON.stringify(r.json.checks)).toBe(0);
      for (const id of ['turn.udp', 'turn.tcp', 'turn.auth', 'turn.relay', 'turn.peers'])
        expect(r.byId[id], id).toMatchObject({ status: 'pass' });
      expect(r.byId['turn.udp']!.evidence.mapped).toMatchObject({ address: IP.healthy });
      expect(r.byId['turn.auth']!.message).toBe(
        '401 challenge with realm "nap.test", then allocated with REST credentials from the secret',
      );
      const samples = r.byId['turn.relay']!.evidence.samples as Array<{
        transport: string;
        dataBack: boolean;
        relayed: { port: number };
      }>;
      expect(samples.map((s) => s.transport).sort()).toEqual(['tcp', 'tcp', 'tcp', 'udp', 'udp', 'udp']);
      for (const s of samples) {
        expect(s.dataBack).toBe(true);
        expect(s.relayed.port).toBeGreaterThanOrEqual(49152);
        expect(s.relayed.port).toBeLessThanOrEqual(49252);
      }
      expect(r.byId['turn.peers']!.message).toBe(
        'refused 127.0.0.1, 10.0.0.1, 172.16.0.1, 192.168.0.1, 169.254.169.254',
      );
      // Neither the secret nor the password made from it (for any expiry this run could have used) is written anywhere.
      const { readFileSync } = await import('node:fs');
      const { createHmac } = await import('node:crypto');
      const derived = Array.from({ length: t1 - t0 + 3 }, (_, i) =>
        createHmac('sha1', SECRET)
          .update(`${t0 - 1 + i + 3600}:nap-verify`)
          .digest('base64'),
      );
      for (const out of [
        r.stdout,
        r.stderr,
        text.stdout,
        text.stderr,
        readFileSync(json, 'utf8'),
        readFileSync(junit, 'utf8'),
      ]) {
        expect(out).not.toContain(SECRET);
        for (const p of derived) expect(out).not.toContain(p);
      }
      expect(text.stdout).toMatch(/^ {6}samples:\n {8}- transport: \w+\n(?: {10}.*\n)*? {10}dataBack: true$/m);
    },
  );

  it('a static long-term user: --turn-user with NAP_VERIFY_TURN_PASSWORD; never the password as a flag', async () => {
    const r = await turn(IP.staticUser, ['--turn-user', STATIC.name], { NAP_VERIFY_TURN_PASSWORD: STATIC.password });
    expect(r.byId['turn.auth']).toMatchObject({
      status: 'pass',
      message: '401 challenge with realm "nap.test", then allocated with the static user',
    });
    expect(r.byId['turn.relay']!.status).toBe('pass');
    expect(r.stdout).not.toContain(STATIC.password);
    const bad = await turn(IP.staticUser, ['--turn-user', STATIC.name], { NAP_VERIFY_TURN_PASSWORD: 'wrong' });
    expect(bad.byId['turn.auth']).toMatchObject({ code: 'TURN_AUTH_REJECTED' });
    const noPassword = await runCli(net.ns, ['--domain', D, '--turn-user', STATIC.name]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/needs its password in NAP_VERIFY_TURN_PASSWORD/);
  });

  it('no credentials: TURN_NO_CREDENTIALS (warn) and the relay checks skip', async () => {
    const r = await turn(IP.healthy);
    expect(r.byId['turn.auth']).toMatchObject({ status: 'warn', code: 'TURN_NO_CREDENTIALS' });
    expect(r.byId['turn.relay']).toMatchObject({ status: 'skip' });
    expect(r.byId['turn.peers']).toMatchObject({ status: 'skip' });
    expect(r.code).toBe(0);
  });

  it('a wrong secret: TURN_AUTH_REJECTED; the secret may also come from NAP_VERIFY_TURN_SECRET', async () => {
    const r = await turn(IP.healthy, ['--turn-secret-file', wrongSecretFile]);
    expect(r.byId['turn.auth']).toMatchObject({ status: 'fail', code: 'TURN_AUTH_REJECTED' });
    expect(r.byId['turn.auth']!.message).toMatch(/refused: 401/);
    expect(r.byId['turn.relay']!.status).toBe('skip');
    const env = await turn(IP.healthy, [], { NAP_VERIFY_TURN_SECRET: SECRET });
    expect(env.byId['turn.auth']!.status).toBe('pass');
    expect(env.stdout).not.toContain(SECRET);
  });

  it('a relay range moved to 50000-50100: TURN_RELAY_OUT_OF_RANGE naming min-port/max-port', async () => {
    const r = await turn(IP.moved, ['--turn-secret-file', secretFile]);
    expect(r.byId['turn.relay']).toMatchObject({ status: 'fail', code: 'TURN_RELAY_OUT_OF_RANGE' });
    expect(r.byId['turn.relay']!.message).toMatch(/relay ports? 50\d\d\d.* outside 49152-49252/);
    expect(r.byId['turn.relay']!.remediation).toContain('min-port=49152 and max-port=49252');
    // The same server is fine for a user whose firewall opens its range.
    expect(
      (await turn(IP.moved, ['--turn-secret-file', secretFile, '--relay-range', '50000-50100'])).byId['turn.relay']!
        .status,
    ).toBe('pass');
  });

  it('a relay on a private address behind a public listener: TURN_RELAY_PRIVATE naming external-ip', async () => {
    const r = await turn(IP.privateRelay, ['--turn-secret-file', secretFile]);
    expect(r.byId['turn.relay']).toMatchObject({ status: 'fail', code: 'TURN_RELAY_PRIVATE' });
    expect(r.byId['turn.relay']!.remediation).toContain(`external-ip=${IP.privateRelay}/${PRIVATE_RELAY}`);
  });

  it('default peer rules and another realm: TURN_OPEN_TO_INTERNAL and TURN_REALM_MISMATCH (warnings)', async () => {
    const r = await turn(IP.open, ['--turn-secret-file', secretFile]);
    expect(r.byId['turn.auth']).toMatchObject({ status: 'warn', code: 'TURN_REALM_MISMATCH' });
    expect(r.byId['turn.peers']).toMatchObject({ status: 'warn', code: 'TURN_OPEN_TO_INTERNAL' });
    expect(r.byId['turn.peers']!.message).toContain('10.0.0.1');
    expect(r.byId['turn.peers']!.remediation).toContain('denied-peer-ip=10.0.0.0-10.255.255.255');
    expect(r.byId['turn.relay']!.status).toBe('pass');
  });

  it('coturn with no-auth: an anonymous Allocate is granted — TURN_NO_CHALLENGE (an open relay)', async () => {
    const r = await turn(IP.noAuth, ['--turn-secret-file', secretFile]);
    expect(r.byId['turn.auth']).toMatchObject({ status: 'fail', code: 'TURN_NO_CHALLENGE' });
    expect(r.byId['turn.auth']!.message).toBe(
      `${IP.noAuth}:3478 allocated a relay for an anonymous request: it is an open relay`,
    );
    expect(r.byId['turn.auth']!.remediation).toContain('use-auth-secret');
    expect(r.byId['turn.relay']!.status).toBe('skip');
  });

  it('no server: both reachability checks fail (refused, told from a timeout) and the rest skip', async () => {
    const r = await turn(IP.stopped, ['--turn-secret-file', secretFile]);
    expect(r.byId['turn.udp']).toMatchObject({ status: 'fail', code: 'TURN_UNREACHABLE' });
    expect(r.byId['turn.udp']!.message).toContain('ICMP port unreachable');
    expect(r.byId['turn.tcp']).toMatchObject({ status: 'fail', code: 'TURN_UNREACHABLE' });
    for (const id of ['turn.auth', 'turn.relay', 'turn.peers']) expect(r.byId[id]!.status, id).toBe('skip');
  });
});

describe('turn.* behind a real firewall (iptables in the namespace)', () => {
  it(
    '3478/udp dropped while TCP answers: turn.udp TURN_UDP_UNUSED (warn: the platform hands out TCP only); ' +
      'relays over TCP',
    async () => {
      await net.iptables('-I', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '3478', '-j', 'DROP');
      try {
        const r = await turn(IP.healthy, ['--turn-secret-file', secretFile]);
        expect(r.byId['turn.udp']).toMatchObject({ status: 'warn', code: 'TURN_UDP_UNUSED' });
        expect(r.byId['turn.udp']!.message).toMatch(
          new RegExp(
            `^no STUN answer from ${IP.healthy.replace(/\./g, '\\.')}:3478 over UDP: .*\\(packets dropped on the ` +
              `way\\); TCP answers`,
          ),
        );
        expect(r.byId['turn.udp']!.message).toContain(
          `the platform hands clients only turn:${IP.healthy}:3478?transport=tcp (browser-service/src/lib/turn.ts)`,
        );
        expect(r.byId['turn.udp']!.message).toContain('the install guide opens 3478/udp anyway');
        expect(r.code).toBe(0);
        expect(r.byId['turn.tcp']!.status).toBe('pass');
        expect(r.byId['turn.auth']!.status).toBe('pass');
        expect(r.byId['turn.relay']).toMatchObject({ status: 'pass' });
        expect(r.byId['turn.relay']!.evidence.samples.every((s: { transport: string }) => s.transport === 'tcp')).toBe(
          true,
        );
      } finally {
        await net.iptables('-D', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '3478', '-j', 'DROP');
      }
    },
  );

  it(
    '3478 dropped over UDP and TCP: both fail TURN_TIMEOUT (no warning when nothing answers), the ' + 'rest skip',
    async () => {
      await net.iptables('-I', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '3478', '-j', 'DROP');
      await net.iptables('-I', 'INPUT', '-d', IP.healthy, '-p', 'tcp', '--dport', '3478', '-j', 'DROP');
      try {
        const r = await turn(IP.healthy, ['--turn-secret-file', secretFile]);
        expect(r.byId['turn.udp']).toMatchObject({ status: 'fail', code: 'TURN_TIMEOUT' });
        expect(r.byId['turn.tcp']).toMatchObject({ status: 'fail', code: 'TURN_TIMEOUT' });
        for (const id of ['turn.auth', 'turn.relay', 'turn.peers']) expect(r.byId[id]!.status, id).toBe('skip');
        expect(r.code).toBe(1);
      } finally {
        await net.iptables('-D', 'INPUT', '-d', IP.healthy, '-p', 'tcp', '--dport', '3478', '-j', 'DROP');
        await net.iptables('-D', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '3478', '-j', 'DROP');
      }
    },
  );

  it("the relay range dropped: TURN_RELAY_BLOCKED naming the rule to open (and coturn's own client loses " +
    'everything too)', async () => {
    await net.iptables('-I', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '49152:49252', '-j', 'DROP');
    try {
      const [r, loss] = await Promise.all([
        turn(IP.healthy, ['--turn-secret-file', secretFile, '--relay-samples', '2']),
        uclientLoss(IP.healthy),
      ]);
      expect(loss).toBe('100.000000');
      expect(r.byId['turn.relay']).toMatchObject({ status: 'fail', code: 'TURN_RELAY_BLOCKED' });
      expect(r.byId['turn.relay']!.message).toMatch(/^4 of 4 allocations relayed nothing back to this machine/);
      // What was proven from where, and that the platform's own media path is inside the cluster.
      expect(r.byId['turn.relay']!.message).toContain(
        'proven from here (outside the cluster), which is stricter than the platform needs',
      );
      expect(r.byId['turn.relay']!.message).toContain('neko pod inside the cluster');
      expect(r.byId['turn.relay']!.message).toContain('`nap-verify kit job`');
      expect(r.byId['turn.relay']!.remediation).toContain('--dport 49152:49252 -j ACCEPT');
      expect(r.byId['turn.udp']!.status).toBe('pass');
    } finally {
      await net.iptables('-D', 'INPUT', '-d', IP.healthy, '-p', 'udp', '--dport', '49152:49252', '-j', 'DROP');
    }
  }, 45_000);
});
