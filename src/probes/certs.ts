// Certificates as plain facts, and the chain the server *sent* walked to a trust anchor offline.
// Node's getPeerCertificate(true) silently completes a chain from the trust store, so a missing intermediate
// would look fine; we handshake trusting nothing, keep what arrived, and build the path ourselves.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';

export interface CertInfo {
  subject: string;
  issuer: string;
  commonName?: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  serial: string;
  isCA: boolean;
  selfIssued: boolean;
  pem: string;
}

export type Trust = 'trusted' | 'self-signed' | 'untrusted-root' | 'incomplete' | 'bad-signature';

export interface ChainAnalysis {
  trust: Trust;
  /** Subjects from the leaf up to the last certificate reached (anchor included when trusted). */
  path: string[];
  anchor?: string;
  anchorSource?: 'ca-file' | 'system';
  /** Issuer DN nobody supplied: not sent by the server, not a trust anchor. */
  missingIssuer?: string;
  /** An intermediate known locally (from --ca-file) that the server should have sent. */
  unsentIntermediate?: string;
}

const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');

export function parsePemBundle(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export function certInfo(x: X509Certificate): CertInfo {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
  const sans = (x.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return {
    subject: oneLine(x.subject),
    issuer: oneLine(x.issuer),
    ...(cn !== undefined ? { commonName: cn } : {}),
    sans,
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprint256: x.fingerprint256,
    serial: x.serialNumber,
    isCA: x.ca,
    selfIssued: selfSigned(x),
    pem: x.toString(),
  };
}

function issued(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Signed by its own key. Not checkIssued(x, x): that also demands keyCertSign, which a self-signed leaf lacks. */
function selfSigned(x: X509Certificate): boolean {
  try {
    return x.subject === x.issuer && x.verify(x.publicKey);
  } catch {
    return false;
  }
}

export interface Anchors {
  roots: X509Certificate[];
  /** Non-self-issued certificates from --ca-file: usable to explain a chain, never to trust one. */
  pool: X509Certificate[];
  source: 'ca-file' | 'system';
}

export function anchorsFromPems(pems: string[], source: Anchors['source']): Anchors {
  const roots: X509Certificate[] = [];
  const pool: X509Certificate[] = [];
  for (const pem of pems) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(pem);
    } catch {
      continue;
    }
    (selfSigned(x) ? roots : pool).push(x);
  }
  return { roots, pool, source };
}

const caFileAnchors = new WeakMap<string[], Anchors>();
/** The --ca-file anchors, parsed once per list (every tls.* handshake of a run judges against the same one). */
export function caFileAnchorsOf(pems: string[]): Anchors {
  let a = caFileAnchors.get(pems);
  if (!a) {
    a = anchorsFromPems(pems, 'ca-file');
    caFileAnchors.set(pems, a);
  }
  return a;
}

let systemAnchors: Promise<Anchors> | undefined;
/**
 * Node's bundled Mozilla roots plus the OS store (browsers on this machine trust the latter). Parsed once, on
 * demand.
 */
export function loadSystemAnchors(): Promise<Anchors> {
  systemAnchors ??= readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8')
    .catch(() => '')
    .then((os) => {
      const pems = [...new Set([...tls.rootCertificates, ...parsePemBundle(os)].map((p) => p.trim()))];
      const a = anchorsFromPems(pems, 'system');
      return { roots: a.roots, pool: [], source: 'system' as const };
    });
  return systemAnchors;
}

/** Walk leaf → issuers through what was sent, then to an anchor. Bounded by the chain length. */
export function analyzeChain(sent: X509Certificate[], anchors: Anchors): ChainAnalysis {
  const leaf = sent[0];
  if (!leaf) return { trust: 'incomplete', path: [] };
  const path: X509Certificate[] = [leaf];
  const subjects = () => path.map((c) => oneLine(c.subject));
  const inPath = (c: X509Certificate) => path.some((p) => p.fingerprint256 === c.fingerprint256);
  let unsent: X509Certificate | undefined;
  for (let i = 0; i < sent.length + anchors.pool.length + 1; i++) {
    const cur = path[path.length - 1]!;
    const anchor = anchors.roots.find((a) => a.fingerprint256 === cur.fingerprint256 || issued(cur, a));
    if (anchor) {
      const base = {
        path: [...subjects(), ...(anchor.fingerprint256 === cur.fingerprint256 ? [] : [oneLine(anchor.subject)])],
        anchor: oneLine(anchor.subject),
        anchorSource: anchors.source,
      };
      return unsent
        ? {
            ...base,
            trust: 'incomplete',
            unsentIntermediate: oneLine(unsent.subject),
            missingIssuer: oneLine(unsent.subject),
          }
        : { ...base, trust: 'trusted' };
    }
    if (selfSigned(cur)) return { trust: path.length === 1 ? 'self-signed' : 'untrusted-root', path: subjects() };
    const parent = sent.find((c) => !inPath(c) && issued(cur, c));
    if (parent) {
      path.push(parent);
      continue;
    }
    const known = anchors.pool.find((c) => !inPath(c) && issued(cur, c));
    if (known) {
      unsent ??= known;
      path.push(known);
      continue;
    }
    if (sent.some((c) => !inPath(c) && oneLine(c.subject) === oneLine(cur.issuer))) {
      return { trust: 'bad-signature', path: subjects(), missingIssuer: oneLine(cur.issuer) };
    }
    // An intermediate that arrived but whose issuer is unknown means an untrusted root; a leaf alone means the
    // server left its intermediates out (ingress secrets holding only the leaf are the common case).
    return { trust: cur.ca ? 'untrusted-root' : 'incomplete', path: subjects(), missingIssuer: oneLine(cur.issuer) };
  }
  return { trust: 'incomplete', path: subjects() };
}
