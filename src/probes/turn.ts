// TURN evidence: Binding over UDP and TCP, the credential challenge, relayed data through sampled allocations,
// and which internal peers the server would relay to. Every socket is closed and every allocation released.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { getData, type TransportAddress } from './stun/codec.js';
import { AllocationMismatch, TurnSession, type Credentials } from './stun/session.js';
import {
  isFailure,
  openTcp,
  openUdp,
  type Endpoint,
  type Failure,
  type StunTransport,
  type TransportStats,
} from './stun/transport.js';

export type TransportKind = 'udp' | 'tcp';

export const label = (e: Endpoint) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

export async function resolveTurn(host: string, port: number, timeoutMs: number): Promise<Endpoint | Failure> {
  if (net.isIP(host)) return { address: host, port };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Failure>(
    (r) =>
      (timer = setTimeout(
        () => r({ kind: 'timeout', error: `${host} did not resolve within ${timeoutMs} ms` }),
        timeoutMs,
      )),
  );
  const found = lookup(host, { all: true }).then(
    (list): Endpoint | Failure => {
      const a = list.find((x) => x.family === 4) ?? list[0];
      return a ? { address: a.address, port } : { kind: 'error', error: `${host} has no address` };
    },
    (e: NodeJS.ErrnoException): Failure => ({ kind: 'error', error: `${host} does not resolve (${e.code})` }),
  );
  try {
    return await Promise.race([found, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fresh local ports tried when the server still holds an allocation for the last one (AllocationMismatch). */
const MISMATCH_ATTEMPTS = 3;

/** One transport (one local port) for `use`; after a 437 Allocation Mismatch, a new transport from another port. */
async function withTransport<T>(
  kind: TransportKind,
  server: Endpoint,
  timeoutMs: number,
  use: (t: StunTransport) => Promise<T>,
): Promise<T | Failure> {
  for (let attempt = 1; ; attempt++) {
    const t = await (kind === 'udp' ? openUdp(server, timeoutMs) : openTcp(server, timeoutMs));
    if (isFailure(t)) return t;
    try {
      return await use(t);
    } catch (e) {
      if (!(e instanceof AllocationMismatch)) throw e;
      if (attempt >= MISMATCH_ATTEMPTS)
        return { kind: 'error', error: `${e.message}, from ${MISMATCH_ATTEMPTS} local ports in a row` };
    } finally {
      t.close();
    }
  }
}

export interface BindingEvidence {
  transport: TransportKind;
  server: string;
  ok: boolean;
  mapped?: TransportAddress;
  software?: string;
  rttMs?: number;
  failure?: Failure & { code?: number };
  stats?: TransportStats;
}

export async function probeBinding(kind: TransportKind, server: Endpoint, timeoutMs: number): Promise<BindingEvidence> {
  const base = { transport: kind, server: label(server) };
  const r = await withTransport(kind, server, timeoutMs, async (t) => ({
    b: await new TurnSession(t, timeoutMs).binding(),
    stats: { ...t.stats },
  }));
  if ('kind' in r) return { ...base, ok: false, failure: r };
  const b = r.b;
  if (!b.ok)
    return {
      ...base,
      ok: false,
      failure: {
        kind: b.kind ?? 'error',
        error: b.error ?? `error ${b.code} ${b.reason ?? ''}`.trim(),
        ...(b.code ? { code: b.code } : {}),
      },
      stats: r.stats,
    };
  return {
    ...base,
    ok: true,
    ...(b.mapped ? { mapped: b.mapped } : {}),
    ...(b.software ? { software: b.software } : {}),
    rttMs: b.rttMs,
    stats: r.stats,
  };
}

export interface AuthEvidence {
  transport: TransportKind;
  server: string;
  /** The unauthenticated Allocate: a TURN server answers 401 with a realm and a nonce. */
  challenge?: { status: number | 'success'; realm?: string; hasNonce: boolean };
  credentials: 'rest-secret' | 'static' | 'none';
  /** The Allocate with credentials, when we had some. */
  authenticated?: { ok: boolean; code?: number; reason?: string; relayed?: TransportAddress };
  failure?: Failure;
}

export async function probeAuth(
  kind: TransportKind,
  server: Endpoint,
  timeoutMs: number,
  creds: Credentials | undefined,
  source: AuthEvidence['credentials'],
): Promise<AuthEvidence> {
  const base = { transport: kind, server: label(server), credentials: source };
  const r = await withTransport(kind, server, timeoutMs, async (t): Promise<AuthEvidence> => {
    const s = new TurnSession(t, timeoutMs, creds);
    const c = await s.challenge();
    if (!c.ok) return { ...base, failure: { kind: c.kind ?? 'error', error: c.error ?? `error ${c.code}` } };
    const challenge = { status: c.status, ...(c.realm !== undefined ? { realm: c.realm } : {}), hasNonce: c.hasNonce };
    if (!creds || c.status !== 401) return { ...base, challenge };
    const a = await s.allocate();
    await s.release();
    if (!a.ok)
      return {
        ...base,
        challenge,
        authenticated: { ok: false, ...(a.code ? { code: a.code } : {}), reason: a.reason ?? a.error ?? 'no answer' },
      };
    return { ...base, challenge, authenticated: { ok: true, ...(a.relayed ? { relayed: a.relayed } : {}) } };
  });
  return 'kind' in r && !('transport' in r) ? { ...base, failure: r } : (r as AuthEvidence);
}

export interface RelaySample {
  transport: TransportKind;
  relayed?: TransportAddress;
  mapped?: TransportAddress;
  /** The peer address the permission was created for (this machine as the server sees it). */
  permittedPeer?: string;
  /** A datagram sent from a second local socket to the relayed address came back as a Data indication. */
  dataBack: boolean;
  error?: string;
  ms: number;
}

/**
 * One allocation: allocate, permit ourselves as a peer, send a datagram to the relay from a second socket, see it
 * arrive.
 */
export async function probeRelay(
  kind: TransportKind,
  server: Endpoint,
  timeoutMs: number,
  creds: Credentials,
): Promise<RelaySample> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const r = await withTransport(kind, server, timeoutMs, async (t): Promise<RelaySample> => {
    const s = new TurnSession(t, timeoutMs, creds);
    const a = await s.allocate();
    if (!a.ok)
      return {
        transport: kind,
        dataBack: false,
        error: a.code ? `Allocate: ${a.code} ${a.reason ?? ''}`.trim() : `Allocate: ${a.error ?? a.reason}`,
        ms: ms(),
      };
    const base = {
      transport: kind,
      ...(a.relayed ? { relayed: a.relayed } : {}),
      ...(a.mapped ? { mapped: a.mapped } : {}),
    };
    try {
      if (!a.relayed || !a.mapped)
        return {
          ...base,
          dataBack: false,
          error: 'Allocate success without XOR-RELAYED-ADDRESS / XOR-MAPPED-ADDRESS',
          ms: ms(),
        };
      const peerIp = a.mapped.address;
      const p = await s.createPermission(peerIp);
      if (!p.ok)
        return {
          ...base,
          permittedPeer: peerIp,
          dataBack: false,
          error: `CreatePermission for ${peerIp}: ${p.code ?? p.kind} ${p.reason ?? p.error ?? ''}`.trim(),
          ms: ms(),
        };
      const dataBack = await sendThroughRelay(t, a.relayed, timeoutMs);
      return {
        ...base,
        permittedPeer: peerIp,
        dataBack,
        ...(dataBack ? {} : { error: `no datagram came back through ${label(a.relayed)} within ${timeoutMs} ms` }),
        ms: ms(),
      };
    } finally {
      await s.release();
    }
  });
  return 'kind' in r && !('transport' in r)
    ? { transport: kind, dataBack: false, error: (r as Failure).error, ms: ms() }
    : (r as RelaySample);
}

/** Send a tagged datagram to the relayed address from a fresh socket; resolve true when it arrives as Data. */
function sendThroughRelay(t: StunTransport, relayed: TransportAddress, timeoutMs: number): Promise<boolean> {
  const tag = Buffer.from(`nap-verify ${randomBytes(8).toString('hex')}`);
  return new Promise((resolve) => {
    const peer = dgram.createSocket(relayed.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(resend);
      peer.close();
      resolve(ok);
    };
    t.onIndication((m) => {
      const d = getData(m);
      if (d?.equals(tag)) finish(true);
    });
    peer.on('error', () => finish(false));
    const send = () => !done && peer.send(tag, relayed.port, relayed.address);
    // UDP may drop one: resend a few times inside the deadline.
    const resend = setInterval(send, Math.max(200, timeoutMs / 4));
    const timer = setTimeout(() => finish(false), timeoutMs);
    send();
  });
}

export interface PeerVerdict {
  peer: string;
  /** refused: 403 Forbidden (what we want); accepted: the server would relay there. */
  result: 'refused' | 'accepted' | 'error';
  code?: number;
  detail?: string;
}

export const INTERNAL_PEERS = ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.0.1', '169.254.169.254'];

/** Ask (only ask) for permissions to internal addresses. No packet is ever sent to them. */
export async function probePeers(
  kind: TransportKind,
  server: Endpoint,
  timeoutMs: number,
  creds: Credentials,
): Promise<{ verdicts: PeerVerdict[]; error?: string }> {
  const r = await withTransport(kind, server, timeoutMs, async (t) => {
    const s = new TurnSession(t, timeoutMs, creds);
    const a = await s.allocate();
    if (!a.ok)
      return {
        verdicts: [],
        error: a.code ? `Allocate: ${a.code} ${a.reason ?? ''}`.trim() : `Allocate: ${a.error ?? a.reason}`,
      };
    try {
      const verdicts = await Promise.all(
        INTERNAL_PEERS.map(async (peer): Promise<PeerVerdict> => {
          const p = await s.createPermission(peer);
          if (p.ok) return { peer, result: 'accepted' };
          if (p.code === 403) return { peer, result: 'refused', code: 403 };
          return {
            peer,
            result: 'error',
            ...(p.code ? { code: p.code } : {}),
            detail: p.reason ?? p.error ?? 'no answer',
          };
        }),
      );
      return { verdicts };
    } finally {
      await s.release();
    }
  });
  return 'verdicts' in r ? r : { verdicts: [], error: r.error };
}
