/* biome-ignore-all lint/suspicious/noExplicitAny: renders or reads documents from outside (result JSON, manifests);
   every access is guarded */
// `kit lint`: read ingress manifests (Ingress, Contour HTTPProxy, Traefik IngressRoute, Istio Gateway/VirtualService,
// Gateway API Gateway/HTTPRoute) and find the mistakes that break NAP before any traffic flows. Pure: text in,
// findings out, each naming the file, the document index and the fix.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { CheckResult, Module, ModuleChoice, Role, Status } from '../model.js';
import { MODULE_KEY, roleModule, roleOn } from '../modules.js';
import { WILDCARD_SECRET } from './routes.js';

export interface SourceFile {
  name: string;
  text: string;
}

interface Where {
  file: string;
  /** 0-based index of the YAML document in the file. */
  document: number;
  /** 1-based line where the object starts: what an editor jumps to. */
  line: number;
  kind: string;
  name: string;
}

interface RouteEntry extends Where {
  host: string;
  service?: string;
  port?: number;
  tlsSecret?: string;
  /** Contour only: enableWebsockets on the route. */
  websockets?: boolean;
  /** Whether stream timeouts are lifted; undefined when the manifest cannot say (e.g. Traefik's static config). */
  timeoutsLifted?: boolean;
  timeoutNote?: string;
  /** A limit on the whole response, body included (Envoy's route timeout), in seconds; undefined when none. */
  responseCapS?: number;
  /** ingress-nginx: the request body limit in bytes (Infinity: none), and where it comes from. */
  bodyLimit?: { bytes: number; note: string; unset?: true };
}

export interface LintFinding extends Where {
  code: string;
  /** When this finding is milder than its rule (the files route's download limit is a warning). */
  status?: Exclude<Status, 'pass' | 'skip'>;
  host?: string;
  message: string;
  fix: string;
}

export const LINT_RULES: Record<string, { id: string; title: string; status: Exclude<Status, 'pass' | 'skip'> }> = {
  LINT_HOST_MISSING: { id: 'lint.hosts', title: 'Every NAP host has a route', status: 'fail' },
  LINT_WILDCARD_MISSING: {
    id: 'lint.wildcard',
    title: 'The *.sandbox wildcard is routed with the wildcard secret',
    status: 'fail',
  },
  LINT_TLS_UNCOVERED: { id: 'lint.tls', title: 'Every routed host has TLS', status: 'fail' },
  LINT_WS_DISABLED: { id: 'lint.websocket', title: 'WebSockets enabled where the controller needs it', status: 'fail' },
  LINT_TIMEOUT_DEFAULT: { id: 'lint.timeouts', title: 'Stream timeouts lifted to 3600 s or more', status: 'fail' },
  LINT_API_DEPRECATED: { id: 'lint.api', title: 'Current Ingress API', status: 'fail' },
  LINT_PATHTYPE_MISSING: { id: 'lint.pathtype', title: 'Every path has a pathType', status: 'fail' },
  LINT_CLASS_ANNOTATION: {
    id: 'lint.class',
    title: 'ingressClassName rather than the class annotation',
    status: 'warn',
  },
  LINT_WRONG_BACKEND: { id: 'lint.backends', title: 'Each host goes to its NAP service and port', status: 'fail' },
  LINT_BODY_LIMIT: {
    id: 'lint.bodies',
    title: 'Request bodies of the platform’s sizes (50 MiB and more) pass',
    status: 'warn',
  },
};

/** The platform's uploads: skill packages are 50 MB, file uploads ~100 MB (see http.upload). */
const BODY_FLOOR = 50 * 1024 * 1024;

/** nginx sizes: "1m", "512k", "1g", bytes; "0" is no limit. */
export function nginxSize(v: unknown): number | undefined {
  const m = /^\s*(\d+)\s*([kmg]?)\s*$/i.exec(String(v ?? ''));
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n === 0) return Number.POSITIVE_INFINITY;
  return n * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1);
}

/** The body limit an ingress-nginx Ingress sets: its annotation, a client_max_body_size in a snippet, or none. */
function nginxBodyLimit(ann: Record<string, string>): RouteEntry['bodyLimit'] {
  const key = 'nginx.ingress.kubernetes.io/proxy-body-size';
  const byAnnotation = nginxSize(ann[key]);
  if (byAnnotation !== undefined) return { bytes: byAnnotation, note: `proxy-body-size ${ann[key]}` };
  for (const snippet of ['server-snippet', 'configuration-snippet']) {
    const m = /client_max_body_size\s+([^;\s]+)/.exec(ann[`nginx.ingress.kubernetes.io/${snippet}`] ?? '');
    const bytes = nginxSize(m?.[1]);
    if (bytes !== undefined) return { bytes, note: `client_max_body_size ${m![1]} in the ${snippet}` };
  }
  return { bytes: 1024 ** 2, note: "proxy-body-size unset (ingress-nginx's default 1m)", unset: true };
}

const EXPECTED_BACKEND: Record<string, { service: string; port: number }> = {
  main: { service: 'nap-cp', port: 3000 },
  files: { service: 'nap-cp', port: 3000 },
  browsers: { service: 'nap-browser', port: 3005 },
  sandbox: { service: 'nap-sandbox', port: 3006 },
  preview: { service: 'nap-sandbox', port: 3006 },
};

type Doc = Record<string, any>;

/** Seconds from "3600", "3600s", "1h", "infinity"; Infinity for no limit. */
export function durationSeconds(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v).trim().toLowerCase();
  if (s === 'infinity' || s === '0s' || s === '0') return Infinity;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1);
}

const hostCovers = (pattern: string, host: string) =>
  pattern === host || (pattern.startsWith('*.') && host.startsWith('*.') && pattern === host);

function fromIngress(d: Doc, w: Where, out: { routes: RouteEntry[]; findings: LintFinding[] }) {
  const api = String(d.apiVersion ?? '');
  const ann: Record<string, string> = d.metadata?.annotations ?? {};
  const v1 = api === 'networking.k8s.io/v1';
  if (!v1)
    out.findings.push({
      ...w,
      code: 'LINT_API_DEPRECATED',
      message: `${w.kind} ${w.name} uses ${api}, removed in Kubernetes 1.22`,
      fix: 'Rewrite it as networking.k8s.io/v1 (backend.service.name/port.number, pathType on every path).',
    });
  if (ann['kubernetes.io/ingress.class'] && !d.spec?.ingressClassName) {
    out.findings.push({
      ...w,
      code: 'LINT_CLASS_ANNOTATION',
      message: `${w.kind} ${w.name} picks its controller with the kubernetes.io/ingress.class annotation`,
      fix: `Use spec.ingressClassName: ${ann['kubernetes.io/ingress.class']} and drop the annotation.`,
    });
  }
  const nginx =
    /nginx/.test(String(d.spec?.ingressClassName ?? ann['kubernetes.io/ingress.class'] ?? '')) ||
    Object.keys(ann).some((k) => k.startsWith('nginx.ingress.kubernetes.io/'));
  const read = durationSeconds(ann['nginx.ingress.kubernetes.io/proxy-read-timeout']);
  const send = durationSeconds(ann['nginx.ingress.kubernetes.io/proxy-send-timeout']);
  const lifted = nginx ? (read ?? 60) >= 3600 && (send ?? 60) >= 3600 : undefined;
  const note = nginx
    ? `proxy-read-timeout ${ann['nginx.ingress.kubernetes.io/proxy-read-timeout'] ?? 'unset (60 s)'}, ` +
      `proxy-send-timeout ${ann['nginx.ingress.kubernetes.io/proxy-send-timeout'] ?? 'unset (60 s)'}`
    : undefined;
  const tls: Array<{ hosts?: string[]; secretName?: string }> = d.spec?.tls ?? [];
  const bodyLimit = nginx ? nginxBodyLimit(ann) : undefined;
  for (const rule of (d.spec?.rules ?? []) as Doc[]) {
    if (!rule?.host) continue;
    const secret = tls.find((t) => (t.hosts ?? []).some((h) => hostCovers(h, rule.host)))?.secretName;
    for (const p of (rule.http?.paths ?? []) as Doc[]) {
      if (v1 && !p.pathType)
        out.findings.push({
          ...w,
          code: 'LINT_PATHTYPE_MISSING',
          host: rule.host,
          message: `${w.kind} ${w.name}: path ${p.path ?? '/'} of ${rule.host} has no pathType`,
          fix: 'Add pathType: Prefix (networking.k8s.io/v1 requires it).',
        });
      const b = p.backend ?? {};
      const service = b.service?.name ?? b.serviceName;
      const port = Number(b.service?.port?.number ?? b.servicePort);
      out.routes.push({
        ...w,
        host: rule.host,
        ...(service ? { service } : {}),
        ...(Number.isFinite(port) ? { port } : {}),
        ...(secret ? { tlsSecret: secret } : {}),
        ...(lifted !== undefined ? { timeoutsLifted: lifted, timeoutNote: note! } : {}),
        ...(bodyLimit ? { bodyLimit } : {}),
      });
    }
  }
}

function fromHttpProxy(d: Doc, w: Where, out: { routes: RouteEntry[] }) {
  const fqdn = d.spec?.virtualhost?.fqdn;
  if (!fqdn) return;
  for (const r of (d.spec?.routes ?? []) as Doc[]) {
    const s = r.services?.[0];
    const tp = r.timeoutPolicy ?? {};
    const response = durationSeconds(tp.response) ?? 15;
    const lifted = response >= 3600 && (durationSeconds(tp.idle) ?? 300) >= 3600;
    out.routes.push({
      ...w,
      host: fqdn,
      ...(s?.name ? { service: s.name } : {}),
      ...(s?.port ? { port: Number(s.port) } : {}),
      ...(d.spec.virtualhost.tls?.secretName ? { tlsSecret: d.spec.virtualhost.tls.secretName } : {}),
      websockets: r.enableWebsockets === true,
      timeoutsLifted: lifted,
      responseCapS: response,
      timeoutNote: r.timeoutPolicy
        ? `timeoutPolicy response ${tp.response ?? 'unset (15 s)'}, idle ${tp.idle ?? 'unset (5 min)'}`
        : 'no timeoutPolicy (Envoy route timeout 15 s)',
    });
  }
}

function fromIngressRoute(d: Doc, w: Where, out: { routes: RouteEntry[] }) {
  for (const r of (d.spec?.routes ?? []) as Doc[]) {
    const match = String(r.match ?? '');
    const hosts = [...match.matchAll(/Host\(([^)]*)\)/g)].flatMap((m) =>
      [...m[1]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!),
    );
    const wild = /HostRegexp\(`\^?\[[^\]]*\]\+\\\.(.+?)\$?`\)/.exec(match);
    if (wild) hosts.push(`*.${wild[1]!.replace(/\\\./g, '.')}`);
    const s = r.services?.[0];
    for (const host of hosts)
      out.routes.push({
        ...w,
        host,
        ...(s?.name ? { service: s.name } : {}),
        ...(s?.port ? { port: Number(s.port) } : {}),
        ...(d.spec?.tls?.secretName ? { tlsSecret: d.spec.tls.secretName } : {}),
      });
  }
}

function fromVirtualService(d: Doc, w: Where, out: { routes: RouteEntry[] }, gatewayTls: Map<string, string>) {
  for (const h of (d.spec?.hosts ?? []) as string[]) {
    for (const http of (d.spec?.http ?? []) as Doc[]) {
      const dest = http.route?.[0]?.destination;
      const t = durationSeconds(http.timeout);
      out.routes.push({
        ...w,
        host: h,
        ...(dest?.host ? { service: String(dest.host).split('.')[0] } : {}),
        ...(dest?.port?.number ? { port: Number(dest.port.number) } : {}),
        ...(gatewayTls.get(h) ? { tlsSecret: gatewayTls.get(h)! } : {}),
        timeoutsLifted: t === undefined || t >= 3600,
        ...(t !== undefined ? { responseCapS: t } : {}),
        timeoutNote: `timeout ${http.timeout ?? 'unset'}`,
      });
    }
  }
}

function fromHttpRoute(d: Doc, w: Where, out: { routes: RouteEntry[] }, gatewayTls: Map<string, string>) {
  for (const h of (d.spec?.hostnames ?? []) as string[]) {
    for (const rule of (d.spec?.rules ?? []) as Doc[]) {
      const b = rule.backendRefs?.[0];
      const t = durationSeconds(rule.timeouts?.request);
      out.routes.push({
        ...w,
        host: h,
        ...(b?.name ? { service: b.name } : {}),
        ...(b?.port ? { port: Number(b.port) } : {}),
        ...(gatewayTls.get(h) ? { tlsSecret: gatewayTls.get(h)! } : {}),
        timeoutsLifted: t === undefined ? undefined : t >= 3600,
        ...(t !== undefined ? { responseCapS: t } : {}),
        timeoutNote: `timeouts.request ${rule.timeouts?.request ?? 'unset (implementation default)'}`,
      });
    }
  }
}

/** Guess <d> from the hosts: the wildcard *.sandbox.<d>, or files./browsers./sandbox. prefixes. */
export function inferDomain(hosts: string[]): string | undefined {
  const votes = new Map<string, number>();
  for (const h of hosts) {
    const m = /^(?:\*\.sandbox|files|browsers|sandbox)\.(.+)$/.exec(h);
    if (m) votes.set(m[1]!, (votes.get(m[1]!) ?? 0) + 1);
  }
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * `modules`: the optional modules the install runs (--modules); a host of a module that is off needs no route and
 * no TLS. Undefined: every module assumed, and a finding for a module's missing host says how to tell lint otherwise.
 */
export function lintManifests(
  files: SourceFile[],
  domainArg?: string,
  modules?: ModuleChoice,
): { domains: string[]; findings: LintFinding[]; documents: number } {
  const routes: RouteEntry[] = [];
  const findings: LintFinding[] = [];
  const gatewayTls = new Map<string, string>();
  const docs: Array<{ d: Doc; w: Where }> = [];
  for (const f of files) {
    const lines = new LineCounter();
    parseAllDocuments(f.text, { lineCounter: lines }).forEach((doc, i) => {
      if (doc.errors.length) throw new Error(`${f.name}: document ${i}: ${doc.errors[0]!.message.split('\n')[0]}`);
      const d = doc.toJS() as Doc | null;
      if (!d || typeof d !== 'object') return;
      const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
      const isList = d.kind === 'List' && Array.isArray(d.items);
      const items: Doc[] = isList ? d.items : [d];
      // A List's items each start on their own line; a plain document starts where its content does.
      const itemNodes = isList
        ? ((doc.get('items', true) as { items?: Array<{ range?: [number, number, number] }> } | undefined)?.items ?? [])
        : [];
      items.forEach((item, k) => {
        const start = isList
          ? itemNodes[k]?.range?.[0]
          : (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
        docs.push({
          d: item,
          w: {
            file: f.name,
            document: i,
            line: lineAt(start),
            kind: String(item.kind ?? '?'),
            name: String(item.metadata?.name ?? '?'),
          },
        });
      });
    });
  }
  // Gateways first: their TLS settings apply to the routes that follow.
  for (const { d } of docs) {
    if (d.kind !== 'Gateway') continue;
    for (const s of (d.spec?.servers ?? []) as Doc[])
      for (const h of (s.hosts ?? []) as string[])
        if (s.tls?.credentialName) gatewayTls.set(h.replace(/^[^/]*\//, ''), s.tls.credentialName);
    for (const l of (d.spec?.listeners ?? []) as Doc[])
      if (l.hostname && l.tls?.certificateRefs?.[0]?.name) gatewayTls.set(l.hostname, l.tls.certificateRefs[0].name);
  }
  for (const { d, w } of docs) {
    const out = { routes, findings };
    if (d.kind === 'Ingress') fromIngress(d, w, out);
    else if (d.kind === 'HTTPProxy') fromHttpProxy(d, w, out);
    else if (d.kind === 'IngressRoute') fromIngressRoute(d, w, out);
    else if (d.kind === 'VirtualService') fromVirtualService(d, w, out, gatewayTls);
    else if (d.kind === 'HTTPRoute') fromHttpRoute(d, w, out, gatewayTls);
  }
  // ingress-nginx's ConfigMap sets the body limit of every Ingress that does not set its own.
  for (const { d, w } of docs) {
    const global = d.kind === 'ConfigMap' ? nginxSize(d.data?.['proxy-body-size']) : undefined;
    if (global === undefined) continue;
    if (global < BODY_FLOOR)
      findings.push({
        ...w,
        code: 'LINT_BODY_LIMIT',
        message:
          `ConfigMap ${w.name} sets proxy-body-size ${d.data['proxy-body-size']} for every Ingress without its own: ` +
          'the platform takes bodies of 50 MiB and more (skill packages; file uploads ~100 MB)',
        fix: 'Set proxy-body-size: "100m" in the ConfigMap (or "0": no limit), or annotate the NAP Ingresses.',
      });
    for (const r of routes)
      if (r.bodyLimit?.unset)
        r.bodyLimit = { bytes: global, note: `proxy-body-size ${d.data['proxy-body-size']} from ConfigMap ${w.name}` };
  }
  // Each file's hosts are judged against its own domain (two installs linted together stay apart), files of one
  // domain together (routes split over files); --domain judges everything against that one.
  const fileDomain = new Map<string, string | undefined>();
  const anyDomain = inferDomain(routes.map((r) => r.host));
  for (const f of files)
    fileDomain.set(
      f.name,
      domainArg ?? inferDomain(routes.filter((r) => r.file === f.name).map((r) => r.host)) ?? anyDomain,
    );
  const domains = [...new Set([...fileDomain.values()].filter((d): d is string => !!d))];
  for (const domain of domains) {
    const mine = (file: string) => fileDomain.get(file) === domain;
    judgeHosts(
      domain,
      routes.filter((r) => mine(r.file)),
      docs.filter((x) => mine(x.w.file)),
      files.filter((f) => mine(f.name)),
      findings,
      modules,
    );
  }
  return { domains, findings, documents: docs.length };
}

function judgeHosts(
  domain: string,
  routes: RouteEntry[],
  docs: Array<{ w: Where }>,
  files: SourceFile[],
  findings: LintFinding[],
  modules: ModuleChoice | undefined,
) {
  const roles: Array<[Role, string]> = [
    ['main', domain],
    ['files', `files.${domain}`],
    ['browsers', `browsers.${domain}`],
    ['sandbox', `sandbox.${domain}`],
    ['preview', `*.sandbox.${domain}`],
  ];
  const firstWhere: Where = docs[0]?.w ?? { file: files[0]?.name ?? '-', document: 0, line: 1, kind: '-', name: '-' };
  for (const [role, host] of roles) {
    const rs = routes.filter((r) => r.host === host);
    // A host of a module that is off needs no route and no TLS; a route it has anyway is still judged below.
    const on = roleOn(modules, role);
    if (!rs.length) {
      if (!on) continue;
      const hint = assumedModuleHint(modules, role, domain, routes);
      findings.push(
        role === 'preview'
          ? {
              ...firstWhere,
              code: 'LINT_WILDCARD_MISSING',
              host,
              message: `no route for ${host}: sandbox previews ({id}-{port}.sandbox.${domain}) have nowhere to go`,
              fix: `Add a route for ${host} to nap-sandbox:3006 with the wildcard secret ${WILDCARD_SECRET}.${hint}`,
            }
          : {
              ...firstWhere,
              code: 'LINT_HOST_MISSING',
              host,
              message: `no route for ${host}`,
              fix:
                `Add a route for ${host} to ` +
                `${EXPECTED_BACKEND[role]!.service}:${EXPECTED_BACKEND[role]!.port} with TLS secret nap-tls-cert.` +
                hint,
            },
      );
      continue;
    }
    for (const r of rs) {
      const where = { file: r.file, document: r.document, line: r.line, kind: r.kind, name: r.name, host };
      const want = EXPECTED_BACKEND[role]!;
      if (
        r.service !== undefined &&
        (!(r.service === want.service || r.service.startsWith(`${want.service}-`)) ||
          (r.port !== undefined && r.port !== want.port))
      ) {
        findings.push({
          ...where,
          code: 'LINT_WRONG_BACKEND',
          message:
            `${host} goes to ${r.service}:${r.port ?? '?'}, not ` +
            `${want.service}:${want.port}${
              role === 'files' ? ' (files must reach nap-cp, which routes it by ' + 'Host to the export app)' : ''
            }`,
          fix: `Point ${host} at ${want.service} port ${want.port}.`,
        });
      }
      // A host of a module that is off is not served by the install: its TLS is nobody's concern.
      if (on && !r.tlsSecret)
        findings.push({
          ...where,
          code: 'LINT_TLS_UNCOVERED',
          message: `${host} has no TLS section or secret in ${r.kind} ${r.name}`,
          fix: `Serve ${host} with TLS secret ${role === 'preview' ? WILDCARD_SECRET : 'nap-tls-cert'}.`,
        });
      else if (on && role === 'preview' && r.tlsSecret && r.tlsSecret !== WILDCARD_SECRET)
        findings.push({
          ...where,
          code: 'LINT_WILDCARD_MISSING',
          message: `${host} uses secret ${r.tlsSecret}, not the wildcard certificate ${WILDCARD_SECRET}`,
          fix: `Use ${WILDCARD_SECRET} (a certificate for *.sandbox.${domain}) for ${host}.`,
        });
      if (r.websockets === false && role !== 'files')
        findings.push({
          ...where,
          code: 'LINT_WS_DISABLED',
          message: `${r.kind} ${r.name}: WebSocket not enabled for ${host}`,
          fix: 'Set enableWebsockets: true on the route.',
        });
      // Uploads go to <d> (chat attachments, voice, skills, files) and sandbox.<d>.
      if (on && (role === 'main' || role === 'sandbox') && r.bodyLimit && r.bodyLimit.bytes < BODY_FLOOR)
        findings.push({
          ...where,
          code: 'LINT_BODY_LIMIT',
          message: `${r.kind} ${r.name}: request bodies to ${host} are capped below 50 MiB (${r.bodyLimit.note}${
            r.bodyLimit.unset ? ', unless the controller ConfigMap raises it' : ''
          }): chat photos, voice input, skill packages (50 MB) and file uploads are refused with 413`,
          fix: 'Annotate the Ingress: nginx.ingress.kubernetes.io/proxy-body-size: "100m" (or "0": no limit).',
        });
      if (r.timeoutsLifted === false && role !== 'files')
        findings.push({
          ...where,
          code: 'LINT_TIMEOUT_DEFAULT',
          message: `${r.kind} ${r.name}: stream timeouts for ${host} are below 3600 s (${r.timeoutNote})`,
          fix: timeoutFix(r.kind),
        });
      // files carries no streams, but a whole-response limit (Envoy's route timeout) cuts long public downloads.
      if (role === 'files' && r.responseCapS !== undefined && r.responseCapS < 3600) {
        findings.push({
          ...where,
          code: 'LINT_TIMEOUT_DEFAULT',
          status: 'warn',
          message:
            `${r.kind} ${r.name}: the response to ${host} is limited to ${r.responseCapS} s, body ` +
            `included (${r.timeoutNote}): a public file export that takes longer to download is cut (large ` +
            `downloads, not streams)`,
          fix: downloadFix(r.kind),
        });
      }
    }
  }
}

const MODULE_NAME: Record<Module, string> = { browser: 'Browser', sandbox: 'Sandbox' };

/**
 * With no --modules every module is assumed; a module none of whose hosts is routed may simply not be installed
 * (install.sh's default). Said in the fix, naming the --modules that fits the routes there are; nothing when the
 * module shows itself by another routed host (then the missing one is a plain mistake) or when --modules was given.
 */
function assumedModuleHint(
  modules: ModuleChoice | undefined,
  role: Role,
  domain: string,
  routes: RouteEntry[],
): string {
  const m = roleModule(role);
  if (!m || modules) return '';
  const hostsOf: Record<Module, string[]> = {
    browser: [`browsers.${domain}`],
    sandbox: [`sandbox.${domain}`, `*.sandbox.${domain}`],
  };
  const routed = (x: Module) => routes.some((r) => hostsOf[x].includes(r.host));
  if (routed(m)) return '';
  const fits = (['browser', 'sandbox'] as const).filter((x) => x !== m && routed(x));
  return (
    ` No --modules was given, so every module was assumed: an install without the ${MODULE_NAME[m]} module ` +
    `(${MODULE_KEY[m]}=false is install.sh's default) has no route for ${hostsOf[m].join(' or ')}; if this is ` +
    `one, lint with --modules ${fits.length ? fits.join(',') : 'none'}.`
  );
}

function downloadFix(kind: string): string {
  if (kind === 'HTTPProxy') return 'timeoutPolicy: {response: infinity} on the files route.';
  if (kind === 'VirtualService') return 'timeout: 0s on the files http route (or remove it).';
  if (kind === 'HTTPRoute') return 'timeouts: {request: 0s} on the files rule.';
  return 'Lift the response timeout of the files route.';
}

function timeoutFix(kind: string): string {
  if (kind === 'HTTPProxy') return 'timeoutPolicy: {response: infinity, idle: infinity} on the route.';
  if (kind === 'Ingress')
    return 'Annotations nginx.ingress.kubernetes.io/proxy-read-timeout: "3600" and proxy-send-timeout: "3600".';
  if (kind === 'VirtualService') return 'timeout: 0s on the http route (or remove it).';
  if (kind === 'HTTPRoute') return 'timeouts: {request: 0s} on the rule.';
  return 'Raise the stream timeouts to 3600 s or more.';
}

/** Findings as results: one failing entry per finding, one passing entry per rule that found nothing. */
export function lintResults(findings: LintFinding[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [code, rule] of Object.entries(LINT_RULES)) {
    const mine = findings.filter((f) => f.code === code);
    if (!mine.length) {
      out.push({ id: rule.id, title: rule.title, status: 'pass', message: 'no finding', durationMs: 0, evidence: {} });
      continue;
    }
    for (const f of mine) {
      out.push({
        id: rule.id,
        title: rule.title,
        status: f.status ?? rule.status,
        code,
        message: `${f.file}:${f.line} ${f.message}`,
        ...(f.host ? { host: f.host } : {}),
        durationMs: 0,
        evidence: {
          file: f.file,
          line: f.line,
          document: f.document,
          kind: f.kind,
          name: f.name,
          ...(f.host ? { host: f.host } : {}),
        },
        remediation: f.fix,
      });
    }
  }
  return out;
}
