// Real X.509 material made at test time with the openssl CLI (EC P-256, SHA-256), so TLS checks are
// tested against what a real server sends rather than against mocked objects.
// Every certificate is issued with `openssl ca`, because OpenSSL 3.0's `x509`/`req -x509` cannot set
// an arbitrary notBefore (no -not_before before 3.4) and expired / not-yet-valid certs are needed.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runOk } from './proc.js';

export interface Ca {
  name: string;
  keyPath: string;
  certPath: string;
  certPem: string;
}

export interface Leaf {
  keyPath: string;
  certPath: string;
  certPem: string;
}

export interface LeafOpts {
  cn: string;
  /** DNS names for subjectAltName; empty = no SAN extension at all. */
  sans: string[];
  notBefore?: Date;
  notAfter?: Date;
  org?: string;
}

export interface Pki {
  dir: string;
  rootCa(cn: string): Promise<Ca>;
  intermediate(parent: Ca, cn: string): Promise<Ca>;
  leaf(issuer: Ca | 'self', opts: LeafOpts): Promise<Leaf>;
  /** Writes the PEMs concatenated to <dir>/<name>.pem and returns that path. */
  bundle(name: string, ...pems: string[]): string;
}

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 90;

export async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  let seq = 0;
  // Unique, filesystem-safe base names (also used as the Ca's name).
  const slug = (cn: string): string =>
    `${String(seq++).padStart(3, '0')}-${cn.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 40)}`;

  const issue = async (p: {
    base: string;
    cn: string;
    org?: string | undefined;
    issuer: Ca | 'self';
    ext: string;
    notBefore: Date;
    notAfter: Date;
  }): Promise<{ keyPath: string; certPath: string; certPem: string }> => {
    const keyPath = path.join(dir, `${p.base}.key`);
    const certPath = path.join(dir, `${p.base}.crt`);
    // A throw-away `openssl ca` database per certificate: no shared state, so issuance can run in
    // parallel; rand_serial gives unique 159-bit serials without a serial file.
    const work = await mkdtemp(path.join(dir, `.ca-${p.base}-`));
    const cnf = path.join(work, 'openssl.cnf');
    const csr = path.join(work, 'req.csr');
    await writeFile(path.join(work, 'index.txt'), '');
    await writeFile(path.join(work, 'index.txt.attr'), 'unique_subject = no\n');
    await writeFile(cnf, caConfig(work));
    await writeFile(path.join(work, 'ext.cnf'), `[ ext ]\n${p.ext}`);

    try {
      await runIssue(work, cnf, csr, keyPath, certPath, p);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return { keyPath, certPath, certPem: await readFile(certPath, 'utf8') };
  };

  const runIssue = async (
    work: string,
    cnf: string,
    csr: string,
    keyPath: string,
    certPath: string,
    p: { cn: string; org?: string | undefined; issuer: Ca | 'self'; notBefore: Date; notAfter: Date },
  ): Promise<void> => {
    const subj = `${p.org ? `/O=${esc(p.org)}` : ''}/CN=${esc(p.cn)}`;
    await runOk('openssl', [
      'req',
      '-new',
      '-config',
      cnf,
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-subj',
      subj,
      '-out',
      csr,
    ]);
    const signer =
      p.issuer === 'self'
        ? ['-selfsign', '-keyfile', keyPath]
        : ['-cert', p.issuer.certPath, '-keyfile', p.issuer.keyPath];
    await runOk('openssl', [
      'ca',
      '-batch',
      '-notext',
      '-config',
      cnf,
      '-in',
      csr,
      '-out',
      certPath,
      ...signer,
      '-startdate',
      asn1Time(p.notBefore),
      '-enddate',
      asn1Time(p.notAfter),
      '-extfile',
      path.join(work, 'ext.cnf'),
      '-extensions',
      'ext',
    ]);
  };

  const now = (): number => Date.now();

  const makeCa = async (issuer: Ca | 'self', cn: string, ext: string): Promise<Ca> => {
    const base = slug(cn);
    const r = await issue({
      base,
      cn,
      issuer,
      ext,
      notBefore: new Date(now() - DAY_MS),
      notAfter: new Date(now() + CA_DAYS * DAY_MS),
    });
    return { name: base, ...r };
  };

  return {
    dir,
    rootCa: (cn) =>
      makeCa(
        'self',
        cn,
        `${[
          'basicConstraints = critical, CA:TRUE',
          'keyUsage = critical, keyCertSign, cRLSign',
          'subjectKeyIdentifier = hash',
        ].join('\n')}\n`,
      ),
    intermediate: (parent, cn) =>
      makeCa(
        parent,
        cn,
        `${[
          'basicConstraints = critical, CA:TRUE, pathlen:0',
          'keyUsage = critical, keyCertSign, cRLSign',
          'subjectKeyIdentifier = hash',
          'authorityKeyIdentifier = keyid:always',
        ].join('\n')}\n`,
      ),
    leaf: async (issuer, o) => {
      const lines = [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectKeyIdentifier = hash',
      ];
      // A self-signed leaf has no separate issuer key to point at.
      if (issuer !== 'self') lines.push('authorityKeyIdentifier = keyid:always');
      if (o.sans.length > 0) lines.push(`subjectAltName = ${o.sans.map((s) => `DNS:${s}`).join(', ')}`);
      const r = await issue({
        base: slug(o.cn),
        cn: o.cn,
        org: o.org,
        issuer,
        ext: `${lines.join('\n')}\n`,
        notBefore: o.notBefore ?? new Date(now() - DAY_MS),
        notAfter: o.notAfter ?? new Date(now() + LEAF_DAYS * DAY_MS),
      });
      return r;
    },
    bundle: (name, ...pems) => {
      const file = path.join(dir, `${name}.pem`);
      writeFileSync(file, pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''));
      return file;
    },
  };
}

// `openssl ca` wants UTCTime (YYMMDDHHMMSSZ) for 1950–2049 and GeneralizedTime otherwise (RFC 5280).
function asn1Time(d: Date): string {
  const iso = d.toISOString(); // 2025-01-02T03:04:05.678Z
  const y = d.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20250102030405
  return `${y >= 1950 && y < 2050 ? digits.slice(2) : digits}Z`;
}

// -subj syntax: '/' separates RDNs and '\' escapes.
function esc(v: string): string {
  return v.replace(/[\\/]/g, (c) => `\\${c}`);
}

function caConfig(work: string): string {
  return `# generated by test/harness/pki.ts
[ ca ]
default_ca = CA_default

[ CA_default ]
dir = ${work}
database = $dir/index.txt
new_certs_dir = $dir
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
# keep the DN exactly as requested (O before CN) instead of reordering it by policy
preserve = yes

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = placeholder
`;
}
