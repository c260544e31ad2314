// One TLS handshake to an address with SNI = the host, trusting nothing so that we see exactly what was sent.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import {
  analyzeChain,
  anchorsFromPems,
  certInfo,
  loadSystemAnchors,
  type CertInfo,
  type ChainAnalysis,
} from './certs.js';

export interface TlsEvidence {
  host: string;
  address: string;
  port: number;
  /** Where it failed, when it did: the TCP connect, or the TLS handshake itself. */
  failure?: {
    stage: 'connect' | 'handshake';
    kind: 'refused' | 'timeout' | 'reset' | 'alert' | 'protocol' | 'error';
    error: string;
  };
  protocol?: string;
  cipher?: string;
  alpn?: string;
  /** True when only a handshake allowing TLS 1.0/1.1 worked. */
  legacyOnly?: boolean;
  chain: CertInfo[];
  analysis?: ChainAnalysis;
  ms: number;
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
  failure?: TlsEvidence['failure'];
  protocol?: string;
  cipher?: string;
  alpn?: string;
  sent: X509Certificate[];
}

const LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0';
const PROTOCOL_ERRORS =
  /UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|WRONG_VERSION_NUMBER|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW/i;

export async function probeTls(o: TlsProbeOptions): Promise<TlsEvidence> {
  const started = performance.now();
  let hs = await handshake(o, false);
  let legacyOnly = false;
  if (hs.failure?.kind === 'protocol') {
    // Modern clients refuse TLS < 1.2; ask again allowing it, only to name what the server is stuck on.
    const old = await handshake(o, true);
    if (!old.failure) {
      hs = old;
      legacyOnly = true;
    }
  }
  const chain = hs.sent.map(certInfo);
  let analysis: ChainAnalysis | undefined;
  if (hs.sent.length) {
    analysis = analyzeChain(hs.sent, anchorsFromPems(o.extraCa, 'ca-file'));
    if (analysis.trust !== 'trusted') {
      // The --ca-file analysis is kept when the system roots do not help: it can name an unsent intermediate.
      const sys = analyzeChain(hs.sent, await loadSystemAnchors());
      if (sys.trust === 'trusted') analysis = sys;
    }
  }
  return {
    host: o.host,
    address: o.address,
    port: o.port,
    ...(hs.failure ? { failure: hs.failure } : {}),
    ...(hs.protocol ? { protocol: hs.protocol } : {}),
    ...(hs.cipher ? { cipher: hs.cipher } : {}),
    ...(hs.alpn ? { alpn: hs.alpn } : {}),
    ...(legacyOnly ? { legacyOnly } : {}),
    chain,
    ...(analysis ? { analysis } : {}),
    ms: Math.round(performance.now() - started),
  };
}

function handshake(o: TlsProbeOptions, legacy: boolean): Promise<Handshake> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const sock = tls.connect({
      host: o.address,
      port: o.port,
      servername: o.host,
      // An empty store: nothing can complete the chain behind our back (see certs.ts).
      ca: [],
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(legacy ? { minVersion: 'TLSv1' as const, ciphers: LEGACY_CIPHERS } : {}),
    });
    const done = (h: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(h);
    };
    const fail = (kind: NonNullable<TlsEvidence['failure']>['kind'], error: string) =>
      done({ failure: { stage: connected ? 'handshake' : 'connect', kind, error }, sent: [] });
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
    sock.once('connect', () => (connected = true));
    sock.once('secureConnect', () => {
      done({
        protocol: sock.getProtocol() ?? undefined,
        cipher: sock.getCipher()?.name,
        alpn: typeof sock.alpnProtocol === 'string' ? sock.alpnProtocol : undefined,
        sent: sentChain(sock.getPeerCertificate(true)),
      });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const msg = `${code ? `${code}: ` : ''}${e.message}`;
      if (code === 'ECONNREFUSED') fail('refused', 'connection refused');
      else if (code === 'ECONNRESET')
        fail('reset', connected ? 'connection reset during the TLS handshake' : 'connection reset');
      else if (PROTOCOL_ERRORS.test(code) || PROTOCOL_ERRORS.test(e.message)) fail('protocol', msg);
      else if (/ALERT/i.test(code)) fail('alert', msg);
      else fail('error', msg);
    });
    sock.once('close', () =>
      fail('reset', connected ? 'server closed the connection during the TLS handshake' : 'connection closed'),
    );
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
