// Raw DNS over UDP (with TCP fallback on truncation): we need rcodes, CNAME chains and timeouts told apart,
// which node:dns hides. dns2 supplies the packet codec only; its TCP client has no timeout, so transport is ours.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Resolver } from '../model.js';

export type QType = 'A' | 'AAAA';
export type Outcome = 'answer' | 'nodata' | 'nxdomain' | 'servfail' | 'refused' | 'timeout' | 'malformed' | 'error';

export interface WireRecord {
  name: string;
  type: string;
  ttl: number;
  data: string;
}

export interface WireAnswer {
  qtype: QType;
  server: string;
  via: 'udp' | 'tcp';
  outcome: Outcome;
  rcode?: string;
  /** Addresses of the final name after following the CNAME chain. */
  addresses: string[];
  /** name → target, in order. */
  cnames: string[];
  records: WireRecord[];
  authoritative?: boolean;
  /** Packets dropped because their id or question did not match ours (spoofing or a confused server). */
  ignored: number;
  error?: string;
  ms: number;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  41: 'OPT',
};

/** A UDP exchange that failed, in words: what the kernel said about the server. */
function udpFailure(e: NodeJS.ErrnoException): string {
  // ECONNREFUSED here is an ICMP port-unreachable: nothing listens on the server's port.
  if (e.code === 'ECONNREFUSED') return 'connection refused (ICMP port unreachable)';
  // No route: this machine is not on a network that reaches the server (offline, a VPN's resolver with it down).
  if (e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH') return `no route to it from this machine (${e.code})`;
  return `${e.code ?? ''} ${e.message}`.trim();
}

type PacketModule = typeof import('dns2');
let codec: Promise<PacketModule['Packet']> | undefined;
/** Set in the bundles (scripts/build-bundle.mjs), which carry packet.js alone in place of `dns2`. */
declare const __NAP_VERIFY_BUNDLE__: string | undefined;
/**
 * dns2's packet codec alone. Its index also loads its servers, DoH and TCP clients: ~50 ms of module loading on
 * the main thread, paid on every run's critical path at the first DNS query (what made a loopback dns.* check cost
 * ~65 ms; the thread pool was not it). packet.js is a file the package ships but does not export, so it is
 * required by path. The bundles map `dns2` to packet.js for this file: they load the codec alone too, from
 * themselves, with or without node_modules beside them (they used to inline the whole index for installs without).
 */
function loadCodec(): Promise<PacketModule['Packet']> {
  codec ??= (async () => {
    if (typeof __NAP_VERIFY_BUNDLE__ !== 'string') {
      try {
        const require = createRequire(import.meta.url);
        const dir = path.dirname(require.resolve('dns2/package.json'));
        return require(path.join(dir, 'packet.js')) as PacketModule['Packet'];
      } catch {
        // No node_modules: the index below.
      }
    }
    return (await import('dns2')).Packet;
  })();
  return codec;
}

export function serverLabel(r: Pick<Resolver, 'address' | 'port'>): string {
  return r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
}

async function encodeQuery(name: string, qtype: QType, id: number): Promise<Buffer> {
  const Packet = await loadCodec();
  const p = new Packet();
  p.header.id = id;
  p.header.rd = 1;
  p.questions.push({ name, type: Packet.TYPE[qtype], class: Packet.CLASS.IN } as never);
  return Buffer.from(p.toBuffer());
}

interface Parsed {
  id: number;
  qr: number;
  tc: number;
  aa: number;
  rcode: number;
  qname?: string;
  qtype?: number;
  records: WireRecord[];
}

async function decode(buf: Buffer): Promise<Parsed | undefined> {
  const Packet = await loadCodec();
  if (buf.length < 12) return undefined;
  // dns2 loops over the header's record counts with a try/catch per record: a 13-byte packet claiming 65535
  // records costs seconds of CPU. No record is shorter than 5 (question) or 11 (resource) bytes, so refuse
  // counts the packet cannot hold.
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  if (counts[0]! * 5 + (counts[1]! + counts[2]! + counts[3]!) * 11 > buf.length - 12) return undefined;
  try {
    const p = Packet.parse(buf) as unknown as {
      header: { id: number; qr: number; tc: number; aa: number; rcode: number };
      questions: Array<{ name: string; type: number }>;
      answers: Array<{ name: string; type: number; ttl: number; address?: string; domain?: string }>;
    };
    const q = p.questions?.[0];
    const records = (p.answers ?? [])
      .filter((r) => r && typeof r.name === 'string')
      .map((r) => ({
        name: r.name.toLowerCase(),
        type: TYPE_NAMES[r.type] ?? String(r.type),
        ttl: r.ttl,
        data: String(r.address ?? r.domain ?? ''),
      }));
    return { ...p.header, qname: q?.name, qtype: q?.type, records };
  } catch {
    return undefined;
  }
}

function summarize(
  base: Omit<WireAnswer, 'outcome' | 'addresses' | 'cnames' | 'records'>,
  name: string,
  p: Parsed,
): WireAnswer {
  const rcode = RCODES[p.rcode] ?? `RCODE${p.rcode}`;
  const records = p.records;
  const cnames: string[] = [];
  let current = name.toLowerCase();
  // Follow the chain the server put in the answer section; bounded so a CNAME loop cannot spin.
  for (let i = 0; i < 16; i++) {
    const c = records.find((r) => r.type === 'CNAME' && r.name === current);
    if (!c) break;
    current = c.data.toLowerCase().replace(/\.$/, '');
    cnames.push(current);
  }
  const addresses = records.filter((r) => r.type === base.qtype && r.name === current).map((r) => r.data);
  let outcome: Outcome;
  if (p.rcode === 0) outcome = addresses.length ? 'answer' : 'nodata';
  else if (p.rcode === 3) outcome = 'nxdomain';
  else if (p.rcode === 5) outcome = 'refused';
  else outcome = 'servfail';
  return { ...base, outcome, rcode, addresses, cnames, records, authoritative: p.aa === 1 };
}

function matches(p: Parsed, id: number, name: string, qtype: QType): boolean {
  return (
    p.id === id &&
    p.qr === 1 &&
    (p.qname === undefined || p.qname.toLowerCase() === name.toLowerCase()) &&
    (p.qtype === undefined || TYPE_NAMES[p.qtype] === qtype)
  );
}

/** One question to one server: UDP with bounded retransmits inside the deadline, TCP when the answer is truncated. */
export async function queryServer(
  server: Resolver,
  name: string,
  qtype: QType,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WireAnswer> {
  const started = performance.now();
  const id = randomInt(0, 65536);
  const query = await encodeQuery(name, qtype, id);
  const base = { qtype, server: serverLabel(server), ignored: 0 };
  const udp = await udpExchange(server, query, timeoutMs, signal, (buf) =>
    decode(buf).then((p) => {
      if (!p) return 'malformed';
      if (!matches(p, id, name, qtype)) return 'mismatch';
      return p;
    }),
  );
  const ms = () => Math.round(performance.now() - started);
  if (udp.kind === 'answer') {
    if (udp.packet.tc !== 1)
      return { ...summarize({ ...base, via: 'udp', ms: 0, ignored: udp.ignored }, name, udp.packet), ms: ms() };
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const tcp = await tcpExchange(server, query, left, signal);
    if (tcp.kind === 'answer') {
      const p = await decode(tcp.buf);
      if (p && matches(p, id, name, qtype))
        return { ...summarize({ ...base, via: 'tcp', ms: 0, ignored: udp.ignored }, name, p), ms: ms() };
      return {
        ...base,
        via: 'tcp',
        outcome: 'malformed',
        addresses: [],
        cnames: [],
        records: [],
        error: 'truncated UDP answer and an unreadable TCP answer',
        ms: ms(),
      };
    }
    return {
      ...base,
      via: 'tcp',
      outcome: tcp.kind,
      addresses: [],
      cnames: [],
      records: [],
      error: `truncated UDP answer; TCP: ${tcp.error}`,
      ms: ms(),
    };
  }
  const outcome: Outcome = udp.kind === 'timeout' && udp.malformed > 0 ? 'malformed' : udp.kind;
  const error =
    outcome === 'malformed'
      ? `${udp.malformed} unreadable packet(s) and no valid answer within ${timeoutMs} ms`
      : udp.error;
  return {
    ...base,
    via: 'udp',
    outcome,
    addresses: [],
    cnames: [],
    records: [],
    ignored: udp.ignored,
    error,
    ms: ms(),
  };
}

type UdpResult =
  | { kind: 'answer'; packet: Parsed; ignored: number }
  | { kind: 'timeout' | 'error'; error: string; ignored: number; malformed: number };

function udpExchange(
  server: Resolver,
  query: Buffer,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  check: (buf: Buffer) => Promise<Parsed | 'malformed' | 'mismatch'>,
): Promise<UdpResult> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
    let ignored = 0;
    let malformed = 0;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (r: UdpResult) => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      signal?.removeEventListener('abort', onAbort);
      sock.close();
      resolve(r);
    };
    const onAbort = () => finish({ kind: 'timeout', error: 'aborted', ignored, malformed });
    signal?.addEventListener('abort', onAbort, { once: true });
    const failed = (e: NodeJS.ErrnoException) => finish({ kind: 'error', error: udpFailure(e), ignored, malformed });
    sock.on('error', failed);
    sock.on('message', (buf) => {
      void check(buf).then((r) => {
        if (r === 'malformed') malformed++;
        else if (r === 'mismatch') ignored++;
        else finish({ kind: 'answer', packet: r, ignored });
      });
    });
    // connect() makes the kernel drop packets from other sources and report ICMP errors to us.
    sock.connect(server.port, server.address, (err?: Error) => {
      // No route to the server (a resolver on a network this machine is not on): nothing was sent, nothing can be.
      if (err) return failed(err);
      const send = () =>
        !done && sock.send(query, (e) => e && finish({ kind: 'error', error: e.message, ignored, malformed }));
      send();
      // Retransmit at 1/3 and 2/3 of the deadline (UDP loss is normal); three sends at most.
      timers.push(setTimeout(send, timeoutMs / 3), setTimeout(send, (2 * timeoutMs) / 3));
    });
    timers.push(
      setTimeout(
        () => finish({ kind: 'timeout', error: `no answer within ${timeoutMs} ms`, ignored, malformed }),
        timeoutMs,
      ),
    );
  });
}

type TcpResult = { kind: 'answer'; buf: Buffer } | { kind: 'timeout' | 'error'; error: string };

const MAX_TCP_ANSWER = 65535;

function tcpExchange(server: Resolver, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<TcpResult> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: server.address, port: server.port });
    const chunks: Buffer[] = [];
    let have = 0;
    let done = false;
    const finish = (r: TcpResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ kind: 'timeout', error: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish({ kind: 'timeout', error: `no TCP answer within ${Math.round(timeoutMs)} ms` }),
      timeoutMs,
    );
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d) => {
      chunks.push(d);
      have += d.length;
      if (have > MAX_TCP_ANSWER + 2) return finish({ kind: 'error', error: 'TCP answer larger than 64 KiB' });
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0))
        finish({ kind: 'answer', buf: all.subarray(2, 2 + all.readUInt16BE(0)) });
    });
    sock.on('end', () => finish({ kind: 'error', error: 'server closed the TCP connection before a full answer' }));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish({ kind: 'error', error: `${e.code ?? ''} ${e.message}`.trim() }),
    );
  });
}
