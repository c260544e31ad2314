// `nap-verify kit …`: the pre-flight kit — responder manifests, routes per controller, and a linter for the
// user's own ingress manifests.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import {
  bundleText,
  DEFAULT_IMAGE,
  DEFAULT_INGRESS_NAMESPACE,
  deletionObjects,
  instanceLabel,
  isImageRef,
  responderObjects,
  standIns,
} from '../kit/responder.js';
import { cliBundleBase64 } from '../kit/cli-bundle.js';
import { alertRules, exporterObjects } from '../kit/exporter.js';
import { isCronSchedule, jobObjects, type SecretRef } from '../kit/job.js';
import { lintManifests, lintResults, type SourceFile } from '../kit/lint.js';
import { parseExporterConfigShape } from '../exporter/config.js';
import { CONTROLLER_KINDS, platformRoutes, routeObjects, type RouteController } from '../kit/routes.js';
import type { ModuleChoice } from '../model.js';
import { modulesLabel, parseModules } from '../modules.js';
import { parseDomain, parseHostPort, parsePort, readSecret, UsageError } from '../options.js';
import { toJson } from '../report/json.js';
import { exitCodeFor, summarize } from '../report/summary.js';
import { toText } from '../report/text.js';
import { buildTarget } from '../target.js';
import { VERSION } from '../version.js';
import { useColor, type Io } from '../run.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// No anchors/aliases for repeated label maps: plain YAML reads the same in every tool.
const yamlDocs = (objs: Array<Record<string, unknown>>) =>
  objs.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');

/**
 * --modules of a kit subcommand, in check's grammar and words (a bad value is one line, exit 2); undefined when
 * absent: every module assumed, as before the modules were optional.
 */
export function modulesOption(raw: unknown): ModuleChoice | undefined {
  if (raw === undefined) return undefined;
  const m = parseModules(String(raw));
  if ('error' in m) throw new UsageError(`--modules ${String(raw)}: ${m.error}`);
  return m;
}

/** "--modules browser: nap-cp, nap-browser": what a kit output covers when the modules were chosen. */
export function modulesNote(m: ModuleChoice): string {
  const services = ['nap-cp', ...(m.browser ? ['nap-browser'] : []), ...(m.sandbox ? ['nap-sandbox'] : [])];
  return `--modules ${modulesLabel(m)}: ${services.length === 1 ? 'nap-cp only' : services.join(', ')}`;
}

const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five'];

/** The platform installs into `nap`: the namespace routes and responders go to unless told otherwise. */
export const DEFAULT_NAMESPACE = 'nap';

function namespaceOf(raw: unknown, fallback?: string, flag = '--namespace'): string {
  const ns = typeof raw === 'string' ? raw : (fallback ?? '');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns))
    throw new UsageError(
      `${flag} ${ns || '(missing)'}: a Kubernetes namespace name is required (lower-case letters, digits, '-')`,
    );
  return ns;
}

function suffixOf(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw);
  if (!/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/.test(s))
    throw new UsageError(`--suffix ${s}: lower-case letters, digits and '-', at most 22 characters`);
  return s;
}

export function kitResponder(o: Record<string, unknown>): string {
  const namespace = namespaceOf(o.namespace);
  if (typeof o.domain !== 'string')
    throw new UsageError('kit responder needs --domain (the platform domain the stand-ins answer for)');
  const domain = parseDomain(o.domain);
  const suffix = suffixOf(o.suffix);
  const modules = modulesOption(o.modules);
  if (!suffix && o.preInstall !== true) {
    const services = standIns(modules).map((s) => s.service);
    throw new UsageError(
      `kit responder would create Services named ${services.join(', ')}, which the ` +
        `platform install owns: add --pre-install (before installing NAP) or --suffix <s> (beside an install)`,
    );
  }
  const image = o.image === undefined ? DEFAULT_IMAGE : String(o.image);
  if (!isImageRef(image))
    throw new UsageError(
      `--image ${image || '(empty)'}: an image reference is required, e.g. ${DEFAULT_IMAGE} or ` +
        `${DEFAULT_IMAGE}@sha256:<64 hex digits>`,
    );
  // commander's --no-network-policy sets networkPolicy to false.
  const ingressNamespace =
    o.networkPolicy === false
      ? null
      : namespaceOf(o.ingressNamespace, DEFAULT_INGRESS_NAMESPACE, '--ingress-namespace');
  const opts = {
    namespace,
    domain,
    image,
    ingressNamespace,
    bundle: o.delete === true ? '' : bundleText(),
    ...(suffix ? { suffix } : {}),
    ...(modules ? { modules } : {}),
  };
  const selector = `app.kubernetes.io/instance=${instanceLabel(opts)}`;
  if (o.delete === true)
    return (
      `# Delete exactly what \`kit responder\` created (or: kubectl delete -n ${namespace} -l ${selector} ` +
      `deploy,svc,cm,netpol)\n${yamlDocs(deletionObjects(opts))}`
    );
  return (
    `# nap-verify ${VERSION} probe responder for ${domain} in ${namespace}` +
    `${modules ? ` (${modulesNote(modules)})` : ''}; remove with: kubectl delete -n ` +
    `${namespace} -l ${selector} deploy,svc,cm,netpol\n${yamlDocs(responderObjects(opts))}`
  );
}

export function kitRoutes(o: Record<string, unknown>): string {
  // The checks call the Kubernetes controller ingress-nginx; its routes are the nginx ones.
  const controller = String(o.controller ?? '') === 'ingress-nginx' ? 'nginx' : String(o.controller ?? '');
  if (!(CONTROLLER_KINDS as readonly string[]).includes(controller))
    throw new UsageError(
      `--controller ${controller || '(missing)'}: one of ${CONTROLLER_KINDS.join(', ')} (ingress-nginx = nginx)`,
    );
  if (typeof o.domain !== 'string') throw new UsageError('kit routes needs --domain');
  const domain = parseDomain(o.domain);
  const namespace = namespaceOf(o.namespace, DEFAULT_NAMESPACE);
  const suffix = suffixOf(o.suffix);
  const modules = modulesOption(o.modules);
  const count = platformRoutes(domain, suffix, modules).length;
  return (
    `# nap-verify ${VERSION}: the ${NUMBER_WORDS[count]} NAP routes for ${controller}, ${domain}, namespace ` +
    `${namespace}${modules ? ` (${modulesNote(modules)})` : ''}\n` +
    yamlDocs(routeObjects(controller as RouteController, domain, namespace, suffix, modules))
  );
}

export async function kitLint(paths: string[], o: Record<string, unknown>, io: Io): Promise<number> {
  if (!paths.length) throw new UsageError('kit lint needs files (or - for standard input)');
  const format = String(o.format ?? 'text');
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${format}: expected text or json`);
  const modules = modulesOption(o.modules);
  const files: SourceFile[] = paths.map((p) => {
    let text: string;
    try {
      text = readFileSync(p === '-' ? 0 : p, 'utf8');
    } catch (e) {
      // A pipe whose writer failed (kubectl without access) often leaves stdin closed or unreadable.
      if (p === '-') throw new UsageError('kit lint: no manifests on stdin (did the command before the pipe fail?)');
      throw new UsageError(`kit lint: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (p === '-' && !text.trim())
      throw new UsageError('kit lint: no manifests on stdin (did the command before the pipe fail?)');
    return { name: p === '-' ? '<stdin>' : p, text };
  });
  const domainArg = typeof o.domain === 'string' ? parseDomain(o.domain) : undefined;
  let lint: ReturnType<typeof lintManifests>;
  try {
    lint = lintManifests(files, domainArg, modules);
  } catch (e) {
    throw new UsageError(`kit lint: not YAML: ${(e as Error).message}`);
  }
  if (!lint.domains.length)
    throw new UsageError(
      'kit lint: cannot tell the domain from these manifests (no files./browsers./sandbox. host): pass --domain',
    );
  const results = lintResults(lint.findings);
  const summary = summarize(results, false);
  const now = new Date();
  const domain = lint.domains.join(', ');
  const first = lint.domains[0]!;
  const judgedApart = lint.domains.length > 1 ? `; ${plural(lint.domains.length, 'domain')} judged apart` : '';
  const run = {
    tool: 'nap-verify' as const,
    version: VERSION,
    startedAt: now,
    finishedAt: now,
    // The hosts as routed, the preview as its wildcard: a lint has no random preview name and no TURN server.
    target: { domain, hosts: { ...buildTarget(first).hosts, preview: `*.sandbox.${first}` } },
    options: {
      command: 'kit lint',
      files: files.map((f) => f.name),
      domains: lint.domains,
      documents: lint.documents,
      ...(modules ? { modules: modulesLabel(modules) } : {}),
    },
    resolvers: [],
    summary,
    results,
    headline:
      `kit lint: ${plural(lint.documents, 'object')} in ${files.map((f) => f.name).join(', ')}${judgedApart}` +
      (modules ? `; ${modulesNote(modules)}` : ''),
  };
  const verbose = o.verbose === true;
  const quiet = o.quiet === true;
  // A rule that found nothing is a row only with -v; JSON keeps every rule, so CI counts stay put.
  const shown = format === 'json' || verbose ? run : { ...run, results: results.filter((r) => r.status !== 'pass') };
  io.stdout.write(
    format === 'json'
      ? toJson(run)
      : toText(shown, { color: useColor({}, io.env, !!io.stdout.isTTY), quiet, verbose: false }),
  );
  return exitCodeFor(summary);
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --image of kit job/exporter, checked as kit responder checks it. */
function imageOf(raw: unknown): string {
  const image = typeof raw === 'string' ? raw : DEFAULT_IMAGE;
  if (!isImageRef(image))
    throw new UsageError(
      `--image ${image || '(empty)'}: an image reference is required, e.g. ${DEFAULT_IMAGE} or ` +
        `${DEFAULT_IMAGE}@sha256:<64 hex digits>`,
    );
  return image;
}

function k8sName(flag: string, raw: unknown, fallback?: string): string {
  const v = raw === undefined ? fallback : String(raw);
  if (!v || !K8S_NAME.test(v))
    throw new UsageError(
      `${flag} ${v ?? '(missing)'}: a Kubernetes name is required (lower-case letters, digits, '-', at most 63)`,
    );
  return v;
}

/** `<name>[:<key>]` of a Secret or ConfigMap key: `--turn-secret-from` (key turn-secret), `--ca-configmap` (ca.crt). */
function keyRef(flag: string, raw: unknown, defaultKey: string): SecretRef | undefined {
  if (raw === undefined) return undefined;
  const [name, key = defaultKey, ...rest] = String(raw).split(':');
  if (rest.length || !/^[-._a-zA-Z0-9]+$/.test(key))
    throw new UsageError(`${flag} ${String(raw)}: expected <name>[:<key>]`);
  return { name: k8sName(flag, name), key };
}
const secretRef = (raw: unknown) => keyRef('--turn-secret-from', raw, 'turn-secret');
const caRef = (raw: unknown) => keyRef('--ca-configmap', raw, 'ca.crt');

export function kitJob(o: Record<string, unknown>, checkArgs: string[]): string {
  const namespace = namespaceOf(o.namespace);
  const domain = typeof o.domain === 'string' ? parseDomain(o.domain) : undefined;
  const valuesSecret = o.valuesSecret === undefined ? undefined : k8sName('--values-secret', o.valuesSecret);
  if (!domain && !valuesSecret)
    throw new UsageError(
      "kit job needs --domain, or --values-secret <secret> holding the platform's values.env (its NAP_HOST)",
    );
  const cron = typeof o.cron === 'string' ? o.cron.trim() : undefined;
  if (cron !== undefined && !isCronSchedule(cron))
    throw new UsageError(
      `--cron ${cron}: expected a schedule of five fields (like "*/30 * * * *") or @hourly/@daily/...`,
    );
  if (cron && o.helmTest === true)
    throw new UsageError('--helm-test runs a Job when `helm test` asks: it cannot be a CronJob (drop --cron)');
  if (checkArgs.some((a) => /^--turn-(secret|password)/.test(a)))
    throw new UsageError(
      'secrets never go into the manifest: use --turn-secret-from <secret>[:key] or --values-secret',
    );
  const modules = modulesOption(o.modules);
  if (modules && checkArgs.some((a) => /^--modules(=|$)/.test(a)))
    throw new UsageError('--modules is given twice (before and after --): give it once');
  const holdAt = checkArgs.indexOf('--hold');
  const hold = holdAt >= 0 ? Number(checkArgs[holdAt + 1]) : 75;
  const name = k8sName('--name', o.name, 'nap-verify');
  const turnSecret = secretRef(o.turnSecretFrom);
  const caConfigMap = caRef(o.caConfigmap);
  const objects = jobObjects({
    namespace,
    name,
    image: imageOf(o.image),
    bundleBase64: cliBundleBase64(...(typeof o.bundle === 'string' ? [o.bundle] : [])),
    helmTest: o.helmTest === true,
    checkArgs,
    deadlineS: Math.round((Number.isFinite(hold) ? hold : 75) + 300),
    ...(domain ? { domain } : {}),
    ...(cron ? { cron } : {}),
    ...(valuesSecret ? { valuesSecret } : {}),
    ...(turnSecret ? { turnSecret } : {}),
    ...(caConfigMap ? { caConfigMap } : {}),
    ...(modules ? { modules } : {}),
  });
  const what = cron ? `CronJob (${cron})` : o.helmTest === true ? 'helm test Job' : 'Job';
  return (
    `# nap-verify ${VERSION} in-cluster ${what} for ${domain ?? `NAP_HOST from Secret ${valuesSecret}`} in ` +
    `${namespace}; logs: kubectl logs -n ${namespace} ` +
    `${cron ? '-l' : 'job/'}${cron ? `app.kubernetes.io/instance=${name}` : name}\n${yamlDocs(objects)}`
  );
}

export function kitExporter(o: Record<string, unknown>): string {
  const namespace = namespaceOf(o.namespace);
  let configText = '';
  let configTargets: string[] = [];
  if (typeof o.config === 'string') {
    try {
      configText = readFileSync(o.config, 'utf8');
    } catch (e) {
      throw new UsageError(
        `--config ${o.config}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    // The same validation the exporter runs at start, minus files that exist only in the pod.
    configTargets = [...parseExporterConfigShape(configText, o.config).targets.keys()];
  }
  const targets = [
    ...new Set([
      ...configTargets,
      ...(Array.isArray(o.target) ? o.target.map((t) => parseDomain(String(t), '--target')) : []),
    ]),
  ];
  const module = String(o.module ?? 'quick');
  if (module !== 'quick' && module !== 'full') throw new UsageError(`--module ${module}: quick or full`);
  if (o.serviceMonitor === true && !targets.length)
    throw new UsageError(
      '--service-monitor needs a target to probe: --target <domain> (repeatable) or targets in --config',
    );
  if (o.rules === true)
    return (
      `# nap-verify ${VERSION} alert rules (a Prometheus rules file; with the operator use ` +
      `--service-monitor for a PrometheusRule)\n${stringify(alertRules(), { lineWidth: 0 })}`
    );
  const turnSecret = secretRef(o.turnSecretFrom);
  const caConfigMap = caRef(o.caConfigmap);
  const objects = exporterObjects({
    namespace,
    name: k8sName('--name', o.name, 'nap-verify-exporter'),
    image: imageOf(o.image),
    bundleBase64: cliBundleBase64(...(typeof o.bundle === 'string' ? [o.bundle] : [])),
    configText,
    targets,
    module,
    serviceMonitor: o.serviceMonitor === true,
    ...(turnSecret ? { turnSecret } : {}),
    ...(caConfigMap ? { caConfigMap } : {}),
  });
  return (
    `# nap-verify ${VERSION} exporter in ` +
    `${namespace}${targets.length ? ` probing ${targets.join(', ')}` : ''}\n${yamlDocs(objects)}`
  );
}

/** `kit browser-check`: the end user's page on stdout. The TURN secret comes from a file or the environment. */
export async function kitBrowserCheck(
  o: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Promise<string> {
  const { browserCheckPage, DEFAULT_VALID_S, MAX_VALID_S, parseDuration } = await import('../kit/browser-check.js');
  if (typeof o.domain !== 'string')
    throw new UsageError('kit browser-check needs --domain (the platform domain the page tests)');
  const domain = parseDomain(o.domain);
  const httpsPort = o.httpsPort === undefined ? 443 : parsePort('--https-port', String(o.httpsPort));
  const turn = typeof o.turn === 'string' ? parseHostPort('--turn', o.turn, 3478) : { host: domain, port: 3478 };
  const validS = o.valid === undefined ? DEFAULT_VALID_S : parseDuration(String(o.valid));
  if (validS === undefined || validS < 60 || validS > MAX_VALID_S)
    throw new UsageError(`--valid ${String(o.valid)}: a duration from 1m to 7d, like 90m, 24h or 7d`);
  const seconds = (flag: string, raw: unknown, def: number, max: number) => {
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new UsageError(`${flag} ${String(raw)}: whole seconds from 1 to ${max}`);
    return n;
  };
  const holdS = seconds('--hold', o.hold, 75, 3600);
  const timeoutS = seconds('--timeout', o.timeout, 10, 120);
  const modules = modulesOption(o.modules);
  // coturn follows the Browser module: without it the page tests no relay, and the secret is not even read.
  const turnSecret =
    modules && !modules.browser
      ? undefined
      : typeof o.turnSecretFile === 'string'
        ? readSecret(o.turnSecretFile)
        : env.NAP_VERIFY_TURN_SECRET?.trim() || undefined;
  return browserCheckPage({
    domain,
    httpsPort,
    turn,
    ...(turnSecret ? { turnSecret } : {}),
    validS,
    responder: o.responder === true,
    holdS,
    timeoutS,
    version: VERSION,
    ...(modules ? { modules } : {}),
  });
}
