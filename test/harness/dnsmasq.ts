// A real dnsmasq (2.90) inside a test namespace, plus the configurations that produce the DNS
// failure modes nap-verify must classify. Facts below were measured with dnsmasq 2.90 and the
// hand-rolled client dnsq.mjs (dig is not installed); harness.test.ts re-proves each of them.
//
// * Unknown name under `local=/test/`                      -> NXDOMAIN (immediately).
// * `server=/dead.test/127.0.0.1#P`, nothing listening on P -> NO ANSWER AT ALL. dnsmasq ignores the
//   ICMP port-unreachable, keeps the query pending and never synthesises SERVFAIL (observed: still
//   silent after 25 s). Same for a UDP socket that is bound but never replies (startSilentUdp).
//   So both are "timeout" setups; getaddrinfo gives up after resolv.conf's timeout × attempts.
// * A domain with no usable server (`server=/x.test/#` under no-resolv, `server=…#0`, a server
//   that is dnsmasq itself) -> REFUSED, not SERVFAIL; an upstream's REFUSED is passed through.
// * SERVFAIL needs a validation failure: `dnssec` + a (fake) trust anchor for the forwarded zone
//   + an upstream that answers positively but unsigned. dnsmasq then asks the upstream for DS,
//   cannot build a chain, logs "validation … is ABANDONED" and replies SERVFAIL at once.
//   Domain-specific servers are NOT validated unless a trust anchor covers their domain
//   (logged as "(no DNSSEC)"), and dnsmasq refuses to start with `dnssec` but no root anchor,
//   hence two anchors. Locally configured data (host-record, address=, local=) is never
//   validated, so the rest of the same dnsmasq keeps answering normally. See servfailLines().
// * Wildcard CNAME `cname=*.sandbox.c.test,sandbox.c.test`: accepted by the parser but IGNORED
//   (NXDOMAIN for abc.sandbox.c.test) unless the zone is an auth zone: `auth-zone=c.test` +
//   `auth-server=<ns-name>` (no interface: otherwise queries arriving there become auth-only and
//   everything outside the auth zones gets REFUSED). Then the normal recursive listener answers
//   abc.sandbox.c.test CNAME sandbox.c.test + its A (TTL 600, the auth TTL). In an auth zone only
//   host-record/cname/txt-record/… data is served (not address=/…/). See wildcardCnameLines().
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { makeTempDir, waitFor, type ManagedProc } from './proc.js';

export interface DnsmasqOpts {
  /** dnsmasq config lines: host-record=…, address=/…/…, cname=…, txt-record=…, local=/test/, server=… */
  lines: string[];
  port?: number;
  listen?: string;
}

export interface DnsmasqProc extends ManagedProc {
  /** Directory holding dnsmasq.conf, dnsmasq.log (log-queries) and dnsmasq.pid. */
  dir: string;
  log(): Promise<string>;
}

const DNSQ = fileURLToPath(new URL('./dnsq.mjs', import.meta.url));
// Answered from config so readiness can be probed whatever opts.lines forwards where.
const READY_NAME = 'nvt-ready.harness.invalid';

export async function startDnsmasq(ns: Netns, opts: DnsmasqOpts): Promise<DnsmasqProc> {
  const port = opts.port ?? 53;
  const listen = opts.listen ?? '127.0.0.1';
  // Registered before the process, so (cleanups run newest first) it is removed after the stop.
  const dir = await makeTempDir('nvt-dnsmasq-');
  const pidFile = path.join(dir, 'dnsmasq.pid');
  const conf = `${[
    'no-resolv', // upstreams only from explicit server= lines
    'no-hosts', // /etc/hosts belongs to the getaddrinfo side of the test, not to this server
    'no-poll',
    'bind-interfaces', // several dnsmasq instances may share one namespace on other addresses/ports
    `listen-address=${listen}`,
    `port=${port}`,
    'keep-in-foreground',
    `pid-file=${pidFile}`,
    'user=root', // default drops to "nobody"/"dnsmasq"; root keeps the log file writable
    'log-queries=extra',
    `log-facility=${path.join(dir, 'dnsmasq.log')}`,
    `host-record=${READY_NAME},127.0.0.1`,
    ...opts.lines,
  ].join('\n')}\n`;
  const confPath = path.join(dir, 'dnsmasq.conf');
  await writeFile(confPath, conf);

  const proc = ns.spawn('dnsmasq', ['-k', '-C', confPath]);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const fail = async (err: unknown): Promise<never> => {
    await proc.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`dnsmasq did not start: ${msg}\n--- output ---\n${proc.output()}\n--- conf ---\n${conf}`);
  };
  try {
    // dnsmasq 2.90 binds its listeners (create_bound_listeners) before it writes the pid file, and
    // writes one with -k but NOT with -d/--no-daemon (debug mode). The pid file is therefore
    // enough; one query on top is cheap and proves the configured address/port really answer.
    await waitFor(() => exited || existsSync(pidFile), 'dnsmasq pid file', 5000);
    if (exited) throw new Error('exited early');
    await waitFor(
      async () => {
        if (exited) throw new Error('exited early');
        const r = await dnsQuery(ns, READY_NAME, { server: listen, port, timeoutMs: 300 });
        return r.rcode === 0;
      },
      `dnsmasq answering on ${listen}#${port}`,
      5000,
    );
  } catch (err) {
    return fail(err);
  }
  return Object.assign(proc, { dir, log: () => readFile(path.join(dir, 'dnsmasq.log'), 'utf8').catch(() => '') });
}

/** A UDP socket bound on host:port inside ns that never answers (a black-holed DNS server). */
export function startSilentUdp(ns: Netns, port: number, host = '127.0.0.1'): ManagedProc & { ready: Promise<void> } {
  const script =
    `const s=require('dgram').createSocket(${JSON.stringify(host.includes(':') ? 'udp6' : 'udp4')});` +
    `s.on('message',()=>console.log('got a ` +
    `datagram'));s.bind(${port},${JSON.stringify(host)},()=>console.log('bound'));`;
  const proc = ns.spawn('node', ['-e', script]);
  const ready = waitFor(() => proc.output().includes('bound'), `silent UDP socket ${host}:${port}`, 5000);
  void ready.catch(() => {}); // the caller may not await it; the failure still shows where it is awaited
  return Object.assign(proc, { ready });
}

export interface DnsAnswer {
  name: string;
  type: string | number;
  ttl: number;
  data: string;
}

export interface DnsReply {
  timeout?: true;
  rcode?: number;
  rcodeName?: string;
  aa?: boolean;
  answers?: DnsAnswer[];
  ms: number;
}

/** One direct UDP query from inside ns (via dnsq.mjs); {timeout:true} when nothing answers. */
export async function dnsQuery(
  ns: Netns,
  name: string,
  opts: { server?: string; port?: number; type?: string; timeoutMs?: number } = {},
): Promise<DnsReply> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const r = await ns.exec(
    'node',
    [DNSQ, opts.server ?? '127.0.0.1', String(opts.port ?? 53), name, opts.type ?? 'A', String(timeoutMs)],
    { timeoutMs: timeoutMs + 10_000 },
  );
  if (r.code !== 0) throw new Error(`dnsq failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as DnsReply;
}

// A syntactically valid root anchor (the real KSK-2017 DS); it is only there because dnsmasq
// refuses `dnssec` without one. Nothing ever asks the root: every other name is local or forwarded.
const ROOT_ANCHOR = 'trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D';

/**
 * Lines for the dnsmasq under test that make every name in `zone` answer SERVFAIL: forward it to
 * an unsigned upstream (start one with startServfailUpstream on upstreamPort) and demand DNSSEC
 * for it via a fake DS trust anchor. Add at most once per dnsmasq (dnssec/root anchor lines).
 */
export function servfailLines(zone: string, upstreamPort: number, upstreamHost = '127.0.0.1'): string[] {
  return [
    'dnssec',
    ROOT_ANCHOR,
    `trust-anchor=${zone},12345,13,2,${'0'.repeat(64)}`,
    `server=/${zone}/${upstreamHost}#${upstreamPort}`,
  ];
}

/** The plain upstream for servfailLines: answers every name in zone positively, A and AAAA. */
export function startServfailUpstream(ns: Netns, zone: string, port: number, host = '127.0.0.1'): Promise<DnsmasqProc> {
  return startDnsmasq(ns, { port, listen: host, lines: [`address=/${zone}/127.0.0.1`, `address=/${zone}/::1`] });
}

/** Lines that forward `zone` to host#port; with nothing answering there, queries time out. */
export function timeoutLines(zone: string, port: number, host = '127.0.0.1'): string[] {
  return [`server=/${zone}/${host}#${port}`];
}

/**
 * Lines for a wildcard CNAME `*.<wildcardParent>` -> target inside auth zone `zone` (the only
 * way dnsmasq 2.90 serves wildcard CNAMEs). The target must be a host-record in the same dnsmasq.
 * Names in `zone` are then answered from auth data only. One auth-server line per dnsmasq is enough.
 */
export function wildcardCnameLines(zone: string, wildcardParent: string, target: string): string[] {
  return [`auth-server=ns.${zone}`, `auth-zone=${zone}`, `cname=*.${wildcardParent},${target}`];
}
