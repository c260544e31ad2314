// One TLS handshake to an address with SNI = the host, trusting nothing so that we see exactly what was sent.
import { rememberSession } from './tls-sessions.js';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import {
  analyzeChain,
  caFileAnchorsOf,
  certInfo,
  loadSystemAnchors,
  type CertInfo,
  type ChainAnalysis,
} from './certs.js';
import { proxyV1Header } from './proxy-protocol.js';

export type TlsFailure = {
  stage: 'connect' | 'handshake';
  kind: 'refused' | 'timeout' | 'reset' | 'alert' | 'protocol' | 'error';
  error: string;
  /** Bytes the server sent before a handshake failed: 0 when it closed the connection without a word. */
  received?: number;
};

/** What one TLS session attempt saw (the fields every TLS evidence has beside where it went). */
export interface TlsSession {
  /** Where it failed, when it did: the TCP connect, or the TLS handshake itself. */
  failure?: TlsFailure;
  protocol?: string;
  cipher?: string;
  alpn?: string;
  /** True when only a handshake allowing TLS 1.0/1.1 worked. */
  legacyOnly?: boolean;
  chain: CertInfo[];
  analysis?: ChainAnalysis;
  ms: number;
}

export interface TlsEvidence extends TlsSession {
  host: string;
  address: string;
  port: number;
  /**
   * The handshake was reset or closed before the server sent a byte, so a second connection sent a PROXY protocol
   * v1 header first (`header`) and then the same handshake: its session, kept apart from the first, which is what
   * every client sees.
   */
  proxyProtocol?: TlsSession & { header: string };
}

export interface TlsProbeOptions {
  host: string;
  address: string;
  port: number;
  timeoutMs: number;
  extraCa: string[];
  signal?: AbortSignal;
}

interface Handshake {
  failure?: TlsFailure;
  protocol?: string;
  cipher?: string;
  alpn?: string;
  sent: X509Certificate[];
  /** The PROXY protocol header written before the ClientHello. */
  header?: string;
}

const LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0';
const PROTOCOL_ERRORS =
  /UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|WRONG_VERSION_NUMBER|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW/i;

export async function probeTls(o: TlsProbeOptions): Promise<TlsEvidence> {
  const started = performance.now();
  const first = await session(o, false);
  let proxyProtocol: TlsEvidence['proxyProtocol'];
  // An ingress expecting PROXY protocol resets the ClientHello at once (nginx, HAProxy: measured). Silence is not
  // that: such a server reads a ClientHello as a broken header and closes, it does not wait. One more connection,
  // only then, with its own deadline: a healthy install never pays for it.
  if (closedUnanswered(first.session.failure)) {
    const second = await session(o, true);
    proxyProtocol = { header: second.header ?? '', ...second.session };
  }
  return {
    host: o.host,
    address: o.address,
    port: o.port,
    ...first.session,
    ...(proxyProtocol ? { proxyProtocol } : {}),
    ms: Math.round(performance.now() - started),
  };
}

/** Reset or closed during the handshake before the server sent anything. */
export function closedUnanswered(f: TlsFailure | undefined): boolean {
  return f?.stage === 'handshake' && f.kind === 'reset' && f.received === 0;
}

/** One session: a handshake, and when the server refuses modern TLS a second one allowing TLS 1.0/1.1. */
async function session(o: TlsProbeOptions, proxy: boolean): Promise<{ session: TlsSession; header?: string }> {
  const started = performance.now();
  let hs = await handshake(o, false, proxy);
  let legacyOnly = false;
  if (hs.failure?.kind === 'protocol') {
    // Modern clients refuse TLS < 1.2; ask again allowing it, only to name what the server is stuck on.
    const old = await handshake(o, true, proxy);
    if (!old.failure) {
      hs = old;
      legacyOnly = true;
    }
  }
  const chain = hs.sent.map(certInfo);
  let analysis: ChainAnalysis | undefined;
  if (hs.sent.length) {
    analysis = analyzeChain(hs.sent, caFileAnchorsOf(o.extraCa));
    if (analysis.trust !== 'trusted') {
      // The --ca-file analysis is kept when the system roots do not help: it can name an unsent intermediate.
      const sys = analyzeChain(hs.sent, await loadSystemAnchors());
      if (sys.trust === 'trusted') analysis = sys;
    }
  }
  return {
    session: {
      ...(hs.failure ? { failure: hs.failure } : {}),
      ...(hs.protocol ? { protocol: hs.protocol } : {}),
      ...(hs.cipher ? { cipher: hs.cipher } : {}),
      ...(hs.alpn ? { alpn: hs.alpn } : {}),
      ...(legacyOnly ? { legacyOnly } : {}),
      chain,
      ...(analysis ? { analysis } : {}),
      ms: Math.round(performance.now() - started),
    },
    ...(hs.header ? { header: hs.header } : {}),
  };
}

/**
 * One handshake on a TCP connection of our own (its byte count tells a silent close from a refusal mid-handshake);
 * with `proxy`, a PROXY protocol v1 header goes first, as a load balancer in front would send it.
 */
function handshake(o: TlsProbeOptions, legacy: boolean, proxy: boolean): Promise<Handshake> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let header: string | undefined;
    let sock: tls.TLSSocket | undefined;
    const raw = net.connect({ host: o.address, port: o.port });
    const done = (h: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock?.destroy();
      raw.destroy();
      resolve({ ...h, ...(header ? { header } : {}) });
    };
    const fail = (kind: TlsFailure['kind'], error: string) =>
      done({
        failure: connected
          ? { stage: 'handshake', kind, error, received: raw.bytesRead }
          : { stage: 'connect', kind, error },
        sent: [],
      });
    const onAbort = () => fail('timeout', 'aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        fail(
          'timeout',
          connected
            ? `TCP connected but no TLS handshake within ${o.timeoutMs} ms`
            : `no TCP connection within ${o.timeoutMs} ms`,
        ),
      o.timeoutMs,
    );
    const onError = (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const msg = `${code ? `${code}: ` : ''}${e.message}`;
      if (code === 'ECONNREFUSED') fail('refused', 'connection refused');
      else if (code === 'ECONNRESET' || code === 'EPIPE')
        fail('reset', connected ? 'connection reset during the TLS handshake' : 'connection reset');
      else if (PROTOCOL_ERRORS.test(code) || PROTOCOL_ERRORS.test(e.message)) fail('protocol', msg);
      else if (/ALERT/i.test(code)) fail('alert', msg);
      else fail('error', msg);
    };
    const onClose = () =>
      fail('reset', connected ? 'server closed the connection during the TLS handshake' : 'connection closed');
    // Errors of the TCP socket before (and, whichever comes first, after) TLS takes it over.
    raw.on('error', onError);
    raw.once('close', () => {
      if (!sock) onClose();
    });
    raw.once('connect', () => {
      connected = true;
      if (proxy) {
        header = proxyV1Header(raw);
        raw.write(header);
      }
      const s = tls.connect({
        socket: raw,
        servername: o.host,
        // An empty store: nothing can complete the chain behind our back (see certs.ts).
        ca: [],
        rejectUnauthorized: false,
        ALPNProtocols: ['h2', 'http/1.1'],
        ...(legacy ? { minVersion: 'TLSv1' as const, ciphers: LEGACY_CIPHERS } : {}),
      });
      sock = s;
      s.once('secureConnect', () => {
        const session = !proxy && !legacy ? s.getSession() : undefined;
        if (session) rememberSession(o.address, o.port, o.host, session);
        done({
          protocol: s.getProtocol() ?? undefined,
          cipher: s.getCipher()?.name,
          alpn: typeof s.alpnProtocol === 'string' ? s.alpnProtocol : undefined,
          sent: sentChain(s.getPeerCertificate(true)),
        });
      });
      s.on('error', onError);
      s.once('close', onClose);
    });
  });
}

/** The certificates as the server sent them, leaf first, following issuer links Node found among them. */
function sentChain(peer: tls.PeerCertificate | tls.DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  let cur = peer as tls.DetailedPeerCertificate | undefined;
  for (let i = 0; cur?.raw && i < 16; i++) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(cur.raw);
    } catch {
      break;
    }
    if (out.some((c) => c.fingerprint256 === x.fingerprint256)) break;
    out.push(x);
    cur = cur.issuerCertificate;
  }
  return out;
}
