// exporter.yaml: how often `full` runs, and per-target options (the check command's own option names, validated
// by the same code). Read once at start: anything wrong is exit 2 with one line.
//
//   interval: 10m          # full module: start a run this often per target (default 10m, at least hold + 30 s)
//   hold: 75               # full module's --hold
//   timeout: 10            # per network step (a quick probe also stays inside the scrape's timeout)
//   defaults: { caFile: /etc/nap-verify/ca.pem }
//   targets:
//     acme.com:
//       turn: 203.0.113.20
//       turnSecretFile: /etc/nap-verify/turn-secret
//       resolver: [10.0.0.10]
//       ingressIp: 198.51.100.7
//       httpsPort: 443
//       modules: browser,sandbox   # the optional modules it runs (browser, sandbox, both, none); absent: all
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseModules } from '../modules.js';
import { parseDomain, UsageError, validate, type CheckOptions, type RawOptions } from '../options.js';

/** Per-target keys, spelt as the check command's options (kebab-case accepted too). */
export const TARGET_KEYS = [
  'turn',
  'turnSecretFile',
  'caFile',
  'resolver',
  'ingressIp',
  'expectIp',
  'httpsPort',
  'httpPort',
  'certWarnDays',
  'relayRange',
  'relaySamples',
  'only',
  'skip',
  'mode',
  'napNodePort',
  'browserNodePort',
  'sandboxNodePort',
  'modules',
] as const;

export interface ExporterConfig {
  intervalS: number;
  holdS: number;
  timeoutS: number;
  defaults: RawOptions;
  targets: Map<string, RawOptions>;
  /** The exporter's --vantage, in every result it makes. */
  vantage?: string;
}

export const DEFAULT_INTERVAL_S = 600;

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** "90", 90, "90s", "10m", "1h" → seconds. */
export function parseDuration(what: string, v: unknown): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(v));
  if (!m || (typeof v !== 'string' && typeof v !== 'number'))
    throw new UsageError(`${what} ${String(v)}: expected a duration like 90s, 10m or 1h`);
  const n = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] as number);
  if (!(n > 0)) throw new UsageError(`${what} ${String(v)}: must be more than 0`);
  return n;
}

function targetOptions(where: string, raw: unknown): RawOptions {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${where}: expected a mapping of options`);
  const out: RawOptions = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = camel(k);
    if (!(TARGET_KEYS as readonly string[]).includes(key))
      throw new UsageError(`${where}: unknown option ${k} (known: ${TARGET_KEYS.join(', ')})`);
    if (key === 'modules') {
      // `modules: none`, `modules: browser,sandbox` or a list; checked here, so kit exporter refuses it too.
      const list = Array.isArray(v) ? v.map(String).join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const m = parseModules(list);
      if ('error' in m) throw new UsageError(`${where}: ${k} ${list}: ${m.error}`);
      out.modules = list;
    } else if (Array.isArray(v)) out[key] = v.map(String);
    else if (typeof v === 'string' || typeof v === 'number') out[key] = String(v);
    else throw new UsageError(`${where}.${k}: expected a value or a list`);
  }
  return out;
}

/** The file's shape and values, without reading the files it names (kit exporter: they exist only in the pod). */
export function parseExporterConfigShape(text: string, file: string): ExporterConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UsageError(`--config ${file}: not YAML (${(e as Error).message.split('\n')[0]})`);
  }
  doc ??= {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`--config ${file}: expected a mapping at the top`);
  const d = doc as Record<string, unknown>;
  const known = ['interval', 'hold', 'timeout', 'defaults', 'targets'];
  const extra = Object.keys(d).filter((k) => !known.includes(k));
  if (extra.length) throw new UsageError(`--config ${file}: unknown key ${extra[0]} (known: ${known.join(', ')})`);
  const holdS = d.hold === undefined ? 75 : parseDuration(`--config ${file}: hold`, d.hold);
  const timeoutS = d.timeout === undefined ? 10 : parseDuration(`--config ${file}: timeout`, d.timeout);
  const intervalS =
    d.interval === undefined ? DEFAULT_INTERVAL_S : parseDuration(`--config ${file}: interval`, d.interval);
  if (intervalS < holdS + 30)
    throw new UsageError(
      `--config ${file}: interval ${intervalS} s is shorter than hold + 30 s: full runs would overlap`,
    );
  const defaults = targetOptions(`--config ${file}: defaults`, d.defaults);
  const targets = new Map<string, RawOptions>();
  if (d.targets !== undefined && d.targets !== null) {
    if (typeof d.targets !== 'object' || Array.isArray(d.targets))
      throw new UsageError(`--config ${file}: targets must map domains to options`);
    for (const [name, opts] of Object.entries(d.targets as Record<string, unknown>)) {
      targets.set(
        parseDomain(name, `--config ${file}: target`),
        targetOptions(`--config ${file}: targets.${name}`, opts),
      );
    }
  }
  return { intervalS, holdS, timeoutS, defaults, targets };
}

export function parseExporterConfig(text: string, file: string): ExporterConfig {
  const cfg = parseExporterConfigShape(text, file);
  // Every target's options go through the check command's validation now, so a bad file stops the start.
  for (const t of cfg.targets.keys()) {
    try {
      optionsFor(cfg, t, 'quick', {});
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`--config ${file}: targets.${t}: ${e.message}`);
      throw e;
    }
  }
  return cfg;
}

export function readExporterConfig(file: string): ExporterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--config ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseExporterConfig(text, file);
}

export type Module = 'quick' | 'full';
export const MODULES: readonly Module[] = ['quick', 'full'];

/**
 * The check options of one probe: defaults, then the target's own, then the module. `timeoutS` narrows the
 * per-step deadline (a quick probe inside a short scrape timeout). Secrets only from files or `secrets`.
 */
export function optionsFor(
  cfg: ExporterConfig,
  domain: string,
  module: Module,
  secrets: { turnSecret?: string },
  timeoutS = cfg.timeoutS,
): CheckOptions {
  const raw: RawOptions = {
    ...cfg.defaults,
    ...(cfg.targets.get(domain) ?? {}),
    domain,
    timeout: String(Math.min(cfg.timeoutS, Math.max(0.1, timeoutS))),
    format: 'json',
    ...(cfg.vantage ? { vantage: cfg.vantage } : {}),
  };
  if (module === 'quick') raw.hold = false;
  else raw.hold = String(cfg.holdS);
  return validate(raw, secrets);
}
