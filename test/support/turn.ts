// Real coturn in a namespace with "public" (TEST-NET-3) and private addresses on its own loopback,
// and iptables there for firewall faults. Nothing leaves the namespace.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createNetns, type Netns } from '../harness/netns.js';
import { makeTempDir, runOk, waitFor, type ManagedProc } from '../harness/proc.js';

export interface TurnNet {
  ns: Netns;
  /** Add an address to the namespace (on its loopback: dummy links need a kernel module not every host has). */
  addAddress(ip: string): Promise<void>;
  iptables(...args: string[]): Promise<void>;
}

/** An extra address in a namespace, on its loopback (dummy links need a kernel module not every host has). */
export async function addAddress(ns: Netns, addr: string): Promise<void> {
  await runOk('ip', ['-n', ns.name, 'addr', 'add', `${addr}/32`, 'dev', 'lo']);
}

export async function turnNetns(): Promise<TurnNet> {
  const ns = await createNetns();
  // Keep this namespace's ephemeral ports (client sockets) out of the relay ranges the tests firewall.
  await runOk('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=20000 30000']);
  return {
    ns,
    addAddress: (addr) => addAddress(ns, addr),
    iptables: async (...args) => void (await runOk('ip', ['netns', 'exec', ns.name, 'iptables', ...args])),
  };
}

export interface CoturnOptions {
  listenIp: string;
  relayIp?: string;
  minPort?: number;
  maxPort?: number;
  /** REST secret (use-auth-secret), or a static long-term user instead. */
  secret?: string;
  staticUser?: { name: string; password: string };
  /** coturn's no-auth: allocates for anyone (an open relay). */
  noAuth?: boolean;
  realm: string;
  /** Deny relaying to private peers (the hardening turn.peers asks for). */
  denyInternal?: boolean;
}

export async function startCoturn(net: { ns: Netns }, o: CoturnOptions): Promise<ManagedProc> {
  const dir = await makeTempDir('nvt-coturn-');
  const conf = `${[
    `listening-ip=${o.listenIp}`,
    'listening-port=3478',
    `relay-ip=${o.relayIp ?? o.listenIp}`,
    `min-port=${o.minPort ?? 49152}`,
    `max-port=${o.maxPort ?? 49252}`,
    ...(o.noAuth
      ? ['no-auth']
      : o.staticUser
        ? ['lt-cred-mech', `user=${o.staticUser.name}:${o.staticUser.password}`]
        : ['use-auth-secret', `static-auth-secret=${o.secret}`]),
    `realm=${o.realm}`,
    'fingerprint',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    'no-rfc5780',
    ...(o.denyInternal
      ? [
          '10.0.0.0-10.255.255.255',
          '172.16.0.0-172.31.255.255',
          '192.168.0.0-192.168.255.255',
          '169.254.0.0-169.254.255.255',
          '127.0.0.0-127.255.255.255',
        ].map((r) => `denied-peer-ip=${r}`)
      : []),
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`,
    'log-file=stdout',
    'simple-log',
  ].join('\n')}\n`;
  const file = path.join(dir, 'turnserver.conf');
  writeFileSync(file, conf, { mode: 0o600 });
  const proc = net.ns.spawn('turnserver', ['-c', file]);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const up = async () =>
    (await net.ns.exec('bash', ['-c', `exec 3<>/dev/tcp/${o.listenIp}/3478`], { timeoutMs: 2000 })).code === 0;
  await waitFor(async () => exited || (await up()), `coturn on ${o.listenIp}`, 10_000);
  if (exited) throw new Error(`coturn exited at start:\n${proc.output()}`);
  return proc;
}
