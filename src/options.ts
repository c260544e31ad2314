// The `check` command's options: parsed values from argv or NAP_VERIFY_<NAME>, validated into one object.
// Anything wrong is a UsageError: one line on stderr, exit 2, no stack trace.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { domainToASCII } from 'node:url';
import { parsePemBundle } from './probes/certs.js';
import type { IpFamily, ModuleChoice, Resolver } from './model.js';
import { modulesFromValues, parseModules } from './modules.js';
import { parseValues, type ValuesFile } from './values.js';

export class UsageError extends Error {}

export type Mode = 'external' | 'nodeport';

export interface CheckOptions {
  domain: string;
  /** external: behind the user's ingress (TLS, five names); nodeport: plain HTTP on the node ports. */
  mode: Mode;
  nodePorts?: { main: number; browsers: number; sandbox: number };
  values?: { file: string } & ValuesFile;
  /** The optional modules: --modules, else BROWSER_ENABLED/SANDBOX_ENABLED from --values; absent: all assumed. */
  modules?: ModuleChoice;
  ingressIp?: string;
  /** --ip-family: connect only to IPv4 (4) or IPv6 (6) addresses, or to whichever answers (auto). */
  ipFamily: IpFamily;
  expectIps: string[];
  resolvers: Resolver[];
  httpsPort: number;
  httpPort: number;
  caFile?: string;
  extraCa: string[];
  certWarnDays: number;
  only: string[];
  skip: string[];
  timeoutMs: number;
  /** Idle-hold duration for the hold.* checks, seconds. */
  holdS: number;
  /** --upload-size: the largest request body http.upload asks the ingress to take, bytes. */
  uploadBytes: number;
  /** --no-hold: leave the hold checks out (a fast smoke test). */
  noHold: boolean;
  format: 'text' | 'json';
  turn?: { host: string; port: number };
  /** The TURN REST secret (from --turn-secret-file or NAP_VERIFY_TURN_SECRET): never shown. */
  turnSecret?: string;
  turnSecretFile?: string;
  turnUser?: string;
  /** From NAP_VERIFY_TURN_PASSWORD only: never shown. */
  turnPassword?: string;
  relayRange: [number, number];
  relaySamples: number;
  json?: string;
  junit?: string;
  /** A triage report, Markdown or self-contained HTML by its extension. */
  report?: string;
  strict: boolean;
  /** Where this run looks from (spec §9): a label in every output, so `compare` can merge runs. */
  vantage: string;
  color?: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Raw values as they come from commander or the environment: strings, string lists, booleans. */
export type RawOptions = Record<string, string | string[] | boolean | undefined>;

/** Option name (camelCase, as commander stores it) → environment variable. */
export function envName(option: string): string {
  return `NAP_VERIFY_${option.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off|)$/i;

export function envBoolean(name: string, value: string): boolean {
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  throw new UsageError(`${name}=${value} is not a boolean (use 1/0, true/false)`);
}

/** Lists from the environment are comma or space separated; from argv each flag use adds entries the same way. */
export const splitList = (v: string | string[] | boolean | undefined): string[] =>
  (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);

export function parseDomain(raw: string, flag = '--domain'): string {
  const d = raw.trim().replace(/\.$/, '');
  if (!d) throw new UsageError(`${flag} is empty`);
  if (net.isIP(d) || net.isIP(d.replace(/^\[|\]$/g, '')))
    throw new UsageError(
      `${flag} ${raw}: an IP address is not a domain; give the DNS name (pass the address with --ingress-ip)`,
    );
  /* biome-ignore lint/suspicious/noControlCharactersInRegex: the range is 'any non-ASCII character', control
     characters included */
  if (/[^\x00-\x7f]/.test(d)) {
    const ascii = domainToASCII(d);
    throw new UsageError(
      `${flag} ${raw}: internationalized names must be given in punycode${ascii ? ` (${ascii})` : ''}`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(d) || d.includes('/'))
    throw new UsageError(`${flag} ${raw}: give a bare name like acme.com, not a URL`);
  const name = d.toLowerCase();
  if (name.length > 253) throw new UsageError(`${flag} ${raw}: longer than 253 characters`);
  const labels = name.split('.');
  if (labels.length < 2) throw new UsageError(`${flag} ${raw}: needs at least two labels (like acme.com)`);
  for (const l of labels) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))
      throw new UsageError(`${flag} ${raw}: "${l}" is not a valid DNS label`);
  }
  // The preview host is <10+ chars>.sandbox.<d>: it must still fit in 253.
  if (name.length > 253 - 'nvf0123456789.sandbox.'.length)
    throw new UsageError(`${flag} ${raw}: too long to hold sandbox preview names under it`);
  return name;
}

/** A vantage label: what a person would call the place (laptop, in-cluster, office-vpn); it names a column. */
export function parseVantage(raw: string, flag = '--vantage'): string {
  const v = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,62}$/.test(v)) {
    throw new UsageError(
      `${flag} ${raw || '(empty)'}: 1-63 letters, digits and . _ : @ + - (like laptop or in-cluster)`,
    );
  }
  return v;
}

export function parseIp(flag: string, raw: string): string {
  const ip = raw.trim().replace(/^\[|\]$/g, '');
  if (!net.isIP(ip)) throw new UsageError(`${flag} ${raw}: not an IPv4 or IPv6 address`);
  return ip;
}

export function parsePort(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${flag} ${raw}: not a port number`);
  const n = Number(raw);
  if (n < 1 || n > 65535) throw new UsageError(`${flag} ${raw}: ports are 1-65535`);
  return n;
}

export function parseResolver(raw: string): Resolver {
  const s = raw.trim();
  let host = s;
  let port = '53';
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2] ?? '53';
  } else if (net.isIPv4(s.split(':')[0] ?? '') && s.split(':').length === 2) {
    [host, port] = s.split(':') as [string, string];
  }
  if (!net.isIP(host)) throw new UsageError(`--resolver ${raw}: expected ip or ip:port (IPv6 as [addr]:port)`);
  return { address: host, port: parsePort('--resolver', port), source: 'flag' };
}

function parseNumber(flag: string, raw: string, min: number, max: number, integer: boolean): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`${flag} ${raw}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function readCaFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--ca-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const pems = parsePemBundle(text);
  if (!pems.length) throw new UsageError(`--ca-file ${path}: no PEM certificate in it`);
  return pems;
}

const str = (v: RawOptions[string]) => (typeof v === 'string' ? v : Array.isArray(v) ? v[v.length - 1] : undefined);

function readValuesFile(path: string): { file: string } & ValuesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--values ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return { file: path, ...parseValues(text) };
}

function parseIpFamily(raw: string): IpFamily {
  const f = raw
    .trim()
    .toLowerCase()
    .replace(/^ip(v)?/, '');
  if (f === 'auto' || f === '4' || f === '6') return f;
  throw new UsageError(`--ip-family ${raw}: expected auto, 4 or 6`);
}

const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};
/** The responder reads at most 1 GiB of a body (spec §7). */
export const MAX_UPLOAD_BYTES = 1024 ** 3;

/** `100MiB`, `25MB`, `1g` (k/m/g alone are binary, as nginx reads `client_max_body_size 1m`), or bytes. */
export function parseSize(raw: string, flag = '--upload-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = m ? UNIT[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${flag} ${raw}: expected a size like 100MiB, 25MB or 1g`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 1024 || bytes > MAX_UPLOAD_BYTES) throw new UsageError(`${flag} ${raw}: give a size from 1 KiB to 1 GiB`);
  return bytes;
}

function parseMode(raw: string, from: string): Mode {
  const m = raw.trim().toLowerCase();
  if (m === 'nodeport') return 'nodeport';
  if (m === 'external' || m === 'ingress') return 'external';
  throw new UsageError(`${from} ${raw}: expected nodeport or external`);
}

export function validate(raw: RawOptions, secrets: Secrets = {}): CheckOptions {
  const valuesPath = str(raw.values);
  const values = valuesPath ? readValuesFile(valuesPath) : undefined;
  const v = values?.values ?? {};
  const mode = str(raw.mode)
    ? parseMode(str(raw.mode)!, '--mode')
    : v.INGRESS_MODE
      ? parseMode(v.INGRESS_MODE, 'INGRESS_MODE in --values')
      : // install.sh: INGRESS_MODE="${INGRESS_MODE:-nodeport}"; without --values the tool's own default applies.
        values
        ? 'nodeport'
        : 'external';
  const domainRaw = str(raw.domain) ?? v.NAP_HOST;
  if (!domainRaw)
    throw new UsageError(
      values
        ? `--domain is required: ${valuesPath} has no NAP_HOST`
        : '--domain is required (or NAP_VERIFY_DOMAIN, or --values with NAP_HOST)',
    );
  const format = str(raw.format) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${format}: expected text or json`);
  if (raw.quiet === true && raw.verbose === true)
    throw new UsageError('--quiet and --verbose contradict each other: choose one');
  const caFile = str(raw.caFile);
  const o: CheckOptions = {
    // NodePort installs may live on a bare node address; everything behind an ingress needs names.
    domain: mode === 'nodeport' && net.isIP(domainRaw.trim()) ? domainRaw.trim() : parseDomain(domainRaw),
    mode,
    ipFamily: parseIpFamily(str(raw.ipFamily) ?? 'auto'),
    expectIps: splitList(raw.expectIp).map((ip) => parseIp('--expect-ip', ip)),
    resolvers: splitList(raw.resolver).map(parseResolver),
    httpsPort: parsePort('--https-port', str(raw.httpsPort) ?? '443'),
    httpPort: parsePort('--http-port', str(raw.httpPort) ?? '80'),
    extraCa: caFile ? readCaFile(caFile) : [],
    certWarnDays: parseNumber('--cert-warn-days', str(raw.certWarnDays) ?? '14', 0, 3650, true),
    only: splitList(raw.only),
    skip: splitList(raw.skip),
    timeoutMs: Math.round(parseNumber('--timeout', str(raw.timeout) ?? '10', 0.1, 600, false) * 1000),
    holdS: raw.hold === false ? 75 : parseNumber('--hold', str(raw.hold) ?? '75', 1, 3600, false),
    noHold: raw.hold === false,
    uploadBytes: parseSize(str(raw.uploadSize) ?? '100MiB'),
    format,
    relayRange: parseRange(str(raw.relayRange) ?? '49152-49252'),
    relaySamples: parseNumber('--relay-samples', str(raw.relaySamples) ?? '3', 1, 50, true),
    strict: raw.strict === true,
    vantage: parseVantage(str(raw.vantage) ?? os.hostname()),
    quiet: raw.quiet === true,
    verbose: raw.verbose === true,
  };
  const ingressIp = str(raw.ingressIp);
  if (ingressIp) o.ingressIp = parseIp('--ingress-ip', ingressIp);
  if (o.ingressIp && o.ipFamily !== 'auto' && net.isIP(o.ingressIp) !== Number(o.ipFamily)) {
    throw new UsageError(
      `--ingress-ip ${o.ingressIp} is not an IPv${o.ipFamily} address, but --ip-family is ${o.ipFamily}`,
    );
  }
  if (caFile) o.caFile = caFile;
  const json = str(raw.json);
  const junit = str(raw.junit);
  if (json) o.json = json;
  if (junit) o.junit = junit;
  if (json && junit && json === junit)
    throw new UsageError(`--json and --junit both write ${json}: give them different files`);
  const report = str(raw.report);
  if (report) {
    if (!/\.(md|markdown|html?)$/i.test(report))
      throw new UsageError(`--report ${report}: name it .md (Markdown) or .html (self-contained page)`);
    if (report === json || report === junit)
      throw new UsageError(`--report ${report} is also given to --json/--junit: give it its own file`);
    o.report = report;
  }
  if (raw.color === false) o.color = false;
  if (values) o.values = values;
  const modules = str(raw.modules);
  if (modules !== undefined) {
    const m = parseModules(modules);
    if ('error' in m) throw new UsageError(`--modules ${modules}: ${m.error}`);
    o.modules = m;
  } else if (values) o.modules = modulesFromValues(v);
  if (mode === 'nodeport') {
    // A module that is off has no node port to reach; install.sh's defaults fill the gap, nothing connects there.
    const offDefault: Record<string, string | undefined> = {
      ...(o.modules && !o.modules.browser ? { BROWSER_NODE_PORT: '30085' } : {}),
      ...(o.modules && !o.modules.sandbox ? { SANDBOX_NODE_PORT: '30086' } : {}),
    };
    const port = (flag: string, key: string, ...keys: string[]) => {
      const val = str(raw[flag]) ?? [key, ...keys].map((k) => v[k]).find(Boolean) ?? offDefault[key];
      if (!val)
        throw new UsageError(
          `NodePort mode needs --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} (or ${key} in --values)`,
        );
      return parsePort(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, val);
    };
    o.nodePorts = {
      main: port('napNodePort', 'NAP_NODE_PORT', 'TOS_NODE_PORT'),
      browsers: port('browserNodePort', 'BROWSER_NODE_PORT'),
      sandbox: port('sandboxNodePort', 'SANDBOX_NODE_PORT'),
    };
  }
  const turn = str(raw.turn) ?? (v.TURN_HOST ? `${v.TURN_HOST}${v.TURN_PORT ? `:${v.TURN_PORT}` : ''}` : undefined);
  if (turn) o.turn = parseHostPort(str(raw.turn) ? '--turn' : 'TURN_HOST/TURN_PORT in --values', turn, 3478);
  const secretFile = str(raw.turnSecretFile);
  if (secretFile) {
    o.turnSecretFile = secretFile;
    o.turnSecret = readSecret(secretFile);
  } else if (secrets.turnSecret) o.turnSecret = secrets.turnSecret;
  else if (v.TURN_AUTH_SECRET && !str(raw.turnUser)) o.turnSecret = v.TURN_AUTH_SECRET;
  const user = str(raw.turnUser);
  if (user) {
    if (!secrets.turnPassword)
      throw new UsageError(
        '--turn-user needs its password in NAP_VERIFY_TURN_PASSWORD (never as a flag: argv is visible to other users)',
      );
    o.turnUser = user;
    o.turnPassword = secrets.turnPassword;
  }
  if (o.turnSecret && o.turnUser)
    throw new UsageError(
      'give either a TURN REST secret (--turn-secret-file / NAP_VERIFY_TURN_SECRET) or --turn-user, not both',
    );
  return o;
}

/** Secrets come only from the environment or a file, never from argv. */
export interface Secrets {
  turnSecret?: string;
  turnPassword?: string;
}

export function readSecret(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--turn-secret-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const secret = text.trim();
  if (!secret) throw new UsageError(`--turn-secret-file ${path}: the file is empty`);
  return secret;
}

export function parseHostPort(flag: string, raw: string, defaultPort: number): { host: string; port: number } {
  const s = raw.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    if (!net.isIPv6(v6[1]!)) throw new UsageError(`${flag} ${raw}: not an IPv6 address`);
    return { host: v6[1]!, port: v6[2] ? parsePort(flag, v6[2]) : defaultPort };
  }
  if (net.isIPv6(s)) return { host: s, port: defaultPort };
  const [host, port, ...rest] = s.split(':');
  if (!host || rest.length) throw new UsageError(`${flag} ${raw}: expected host or host:port`);
  if (!net.isIP(host)) parseDomain(host, flag);
  return { host: host.toLowerCase(), port: port === undefined ? defaultPort : parsePort(flag, port) };
}

function parseRange(raw: string): [number, number] {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new UsageError(`--relay-range ${raw}: expected lo-hi, like 49152-49252`);
  const lo = parsePort('--relay-range', m[1]!);
  const hi = parsePort('--relay-range', m[2]!);
  if (lo > hi) throw new UsageError(`--relay-range ${raw}: ${lo} is above ${hi}`);
  return [lo, hi];
}
