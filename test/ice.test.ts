// What the relay range must be open to, reproduced: the platform's own WebRTC set-up in real Chromium against real
// coturn. The user's browser sits in an "outside" namespace and gets exactly the platform's single ICE server
// (turn:<TURN_HOST>:3478?transport=tcp); neko's side sits in a "cluster" namespace beside coturn with host
// candidates only (ICE-lite). Every UDP datagram from outside to the TURN host is dropped (3478/udp and the relay
// range). Media still flows (relay over TCP ↔ the pod), while nap-verify run from outside reports TURN_UDP_UNUSED
// and a relay range closed to it — and says that this is stricter than the platform needs.
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { createNetns, type Netns } from './harness/netns.js';
import { runCleanups, runOk, waitFor } from './harness/proc.js';
import { waitPort } from './support/ingress.js';
import { addAddress, startCoturn } from './support/turn.js';

const TURN_IP = '203.0.113.50';
const POD_IP = '192.0.2.1';
const OUTSIDE_IP = '192.0.2.2';
const SECRET = 'nvt-ice-secret-3c7e';
const PAGE_PORT = 8098;

let cluster: Netns;
let outside: Netns;
let dir: string;

beforeAll(async () => {
  cluster = await createNetns();
  outside = await createNetns();
  // One link between the two namespaces; the TURN host address lives on the cluster side's loopback.
  const tag = `${process.pid % 100000}`;
  await runOk('ip', [
    'link',
    'add',
    `nvc${tag}`,
    'netns',
    cluster.name,
    'type',
    'veth',
    'peer',
    'name',
    `nvo${tag}`,
    'netns',
    outside.name,
  ]);
  const sh = async (ns: Netns, ...cmds: string[][]) => {
    for (const c of cmds) await runOk('ip', ['netns', 'exec', ns.name, ...c]);
  };
  await sh(
    cluster,
    ['ip', 'addr', 'add', `${POD_IP}/24`, 'dev', `nvc${tag}`],
    ['ip', 'link', 'set', `nvc${tag}`, 'up'],
    ['ip', 'route', 'add', 'default', 'dev', `nvc${tag}`],
  );
  await sh(
    outside,
    ['ip', 'addr', 'add', `${OUTSIDE_IP}/24`, 'dev', `nvo${tag}`],
    ['ip', 'link', 'set', `nvo${tag}`, 'up'],
    ['ip', 'route', 'add', 'default', 'via', POD_IP],
  );
  await addAddress(cluster, TURN_IP);
  await startCoturn({ ns: cluster }, { listenIp: TURN_IP, secret: SECRET, realm: 'nap.test' });
  await sh(
    cluster,
    // The firewall in front of the TURN host drops every UDP datagram from outside: 3478/udp and the relay range.
    ['iptables', '-A', 'INPUT', '-s', OUTSIDE_IP, '-p', 'udp', '-j', 'DROP'],
    // Only an artefact of one kernel: the pod's datagrams to the relay would leave from the relay's own address,
    // which coturn refuses as a peer; a real pod sends from its own address, as this rewrite makes it.
    [
      'iptables',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-o',
      'lo',
      '-s',
      TURN_IP,
      '-d',
      TURN_IP,
      '-p',
      'udp',
      '--dport',
      '49152:49252',
      '-j',
      'SNAT',
      '--to-source',
      POD_IP,
    ],
  );
  dir = mkdtempSync(path.join(tmpdir(), 'nvt-ice-'));
  cluster.spawn('node', [path.join(REPO_ROOT, 'test/support/ice.mjs'), dir, String(PAGE_PORT)]);
  await waitPort(cluster, PAGE_PORT, 'ICE page server');
}, 60_000);
afterAll(runCleanups);

interface PageResult {
  role: string;
  message: string | null;
  state: string;
  candidates: string[];
  local?: { type: string; address: string; protocol: string; relayProtocol: string | null };
  error?: string;
}

function chromium(ns: Netns, url: string) {
  const profile = mkdtempSync(path.join(tmpdir(), 'nvt-ice-profile-'));
  return ns.spawn('timeout', [
    '90',
    'chromium',
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    // Real addresses in the candidates, as a pod's neko and a user's browser on its own machine have them.
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    url,
  ]);
}

describe("the platform's WebRTC path through coturn (real Chromium, two namespaces)", () => {
  it('all UDP from outside dropped: media still flows (TURN over TCP ↔ pod host candidate); nap-verify from ' +
    'outside says what it proved and what not', async () => {
    const username = `${Math.floor(Date.now() / 1000) + 3600}:sandbox`;
    const credential = createHmac('sha1', SECRET).update(username).digest('base64');
    const q = new URLSearchParams({
      role: 'user',
      turn: `turn:${TURN_IP}:3478?transport=tcp`,
      u: username,
      p: credential,
    });
    const pod = chromium(cluster, `http://127.0.0.1:${PAGE_PORT}/?role=pod`);
    const user = chromium(outside, `http://${POD_IP}:${PAGE_PORT}/?${q}`);
    const files = ['user', 'pod'].map((r) => path.join(dir, `result-${r}.json`));
    await waitFor(() => files.every((f) => existsSync(f)), "both pages' results", 75_000);
    await Promise.all([pod.stop(), user.stop()]);
    const [u, p] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as PageResult);
    expect(u!.error, JSON.stringify(u)).toBeUndefined();
    expect(p!.error, JSON.stringify(p)).toBeUndefined();
    // Both ways through: the pod's first frame reached the user, the user's answer reached the pod.
    expect(u).toMatchObject({ message: 'frame-1', state: 'connected' });
    expect(p).toMatchObject({ message: 'ack-frame-1' });
    // The user's side used its relay, reached over TCP; the pod offered its own address only.
    expect(u!.local).toMatchObject({ type: 'relay', address: TURN_IP, relayProtocol: 'tcp' });
    expect(p!.candidates.every((c) => / typ host /.test(c))).toBe(true);
    expect(p!.candidates.join(' ')).toContain(POD_IP);

    // The same TURN server judged from outside.
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    const r = await runCli(outside, [
      '--domain',
      'nap.test',
      '--only',
      'turn.udp,turn.tcp,turn.auth,turn.relay',
      '--turn',
      TURN_IP,
      '--turn-secret-file',
      secretFile,
      '--format',
      'json',
      '--timeout',
      '2',
    ]);
    const byId = Object.fromEntries(
      (r.json.checks as Array<{ id: string; status: string; code?: string; message: string }>).map((c) => [c.id, c]),
    );
    expect(byId['turn.udp']).toMatchObject({ status: 'warn', code: 'TURN_UDP_UNUSED' });
    expect(byId['turn.tcp']!.status).toBe('pass');
    expect(byId['turn.auth']!.status).toBe('pass');
    expect(byId['turn.relay']).toMatchObject({ code: 'TURN_RELAY_BLOCKED' });
    expect(byId['turn.relay']!.message).toContain(
      'proven from here (outside the cluster), which is stricter than the platform needs',
    );
  }, 120_000);
});
