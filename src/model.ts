// The result model every check, runner and reporter shares. Spec §3/§4 make these names public interface.

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

export const ROLES = ['main', 'files', 'browsers', 'sandbox', 'preview'] as const;
export type Role = (typeof ROLES)[number];

/** The platform's optional modules (install.sh: BROWSER_ENABLED, SANDBOX_ENABLED); nap-cp is always there. */
export const MODULES = ['browser', 'sandbox'] as const;
export type Module = (typeof MODULES)[number];

export interface ModuleChoice {
  browser: boolean;
  sandbox: boolean;
  /** values: BROWSER_ENABLED/SANDBOX_ENABLED (the installer's default: off); flag: --modules; assumed: neither. */
  source: 'values' | 'flag' | 'assumed';
}

export type Area = 'config' | 'env' | 'dns' | 'net' | 'tls' | 'http' | 'ws' | 'hold' | 'sse' | 'turn' | 'lint';

/**
 * Ingress controllers whose fixes differ; `unknown` shows them all briefly. `nginx` is plain nginx (configured with
 * directives, told apart by its versioned Server header), `ingress-nginx` the Kubernetes controller (annotations).
 */
export const CONTROLLERS = ['ingress-nginx', 'nginx', 'contour', 'traefik', 'istio', 'haproxy'] as const;
export type Controller = (typeof CONTROLLERS)[number];

/** A fix: one text for everyone, or one per controller where the controllers differ. */
export type Fix = string | ({ general?: string } & Partial<Record<Controller, string>>);

export interface CodeMeta {
  /** The status a result with this code has. */
  status: Exclude<Status, 'pass'>;
  /** A milder case of the same finding has this status (HTTP_BODY_LIMIT: a limit above 50 MiB only warns). */
  alsoStatus?: Exclude<Status, 'pass'>;
  /**
   * Whatever its status, nothing behind this answer can be seen: the checks that need this one skip with it as the
   * reason (HTTP_AUTH_GATE warns on browsers.<d>, and a WebSocket to it would only meet the gate again).
   */
  blocksDependents?: true;
  /** Why this happens, in the user's words. */
  why: string;
  fix: Fix;
}

export interface CheckMeta {
  id: string;
  area: Area;
  title: string;
  /** What a pass proves. */
  proves: string;
  codes: Record<string, CodeMeta>;
}

/** What judge() returns: the verdict without runner bookkeeping. */
export interface Judgement {
  status: Status;
  code?: string;
  message: string;
  host?: string;
  /** Extra, situation-specific fix text (names the record, secret or SAN); prepended to the code's fix. */
  fix?: string;
  /** The situation-specific fix is the whole fix: the code's usual fix would point at the wrong setting. */
  replacesFix?: boolean;
  /** The ingress controller the evidence points at: the code's fix is then shown for it alone. */
  controller?: Controller;
}

export interface CheckResult {
  id: string;
  title: string;
  status: Status;
  code?: string;
  message: string;
  host?: string;
  durationMs: number;
  evidence: Record<string, unknown>;
  remediation?: string;
}

export interface Target {
  domain: string;
  hosts: Record<Role, string>;
  ingressIp?: string;
  turn: { host: string; port: number };
}

/** blackbox_exporter's preferred_ip_protocol, pinned: auto, IPv4 only, IPv6 only. */
export type IpFamily = 'auto' | '4' | '6';

export interface Resolver {
  address: string;
  port: number;
  /** `system` came from resolv.conf, `flag` from --resolver. */
  source: 'system' | 'flag';
}

/** Everything a check may read about the run: target, options, trust anchors. Immutable during the run. */
export interface RunContext {
  target: Target;
  /** external: behind the user's ingress (TLS, five names); nodeport: plain HTTP on the node ports. */
  mode: 'external' | 'nodeport';
  /** NodePort mode: the node port of each service. */
  nodePorts?: { main: number; browsers: number; sandbox: number };
  /** The optional modules the install runs; absent: all assumed (no --modules, no --values). */
  modules?: ModuleChoice;
  /** The parsed values.env, when --values was given (secrets included: never put it in evidence as is). */
  values?: { file: string; values: Record<string, string>; problems: Array<{ line: number; message: string }> };
  httpsPort: number;
  httpPort: number;
  /** --ip-family: which addresses of a name every check connects to (auto: any, the one that answers). */
  ipFamily?: IpFamily;
  expectIps: string[];
  resolvers: Resolver[];
  /** Extra trust anchors from --ca-file, PEM. */
  extraCa: string[];
  certWarnDays: number;
  timeoutMs: number;
  /** Idle-hold duration in seconds for the hold.* checks. */
  holdS: number;
  /** --upload-size in bytes (default 100 MiB): the largest body http.upload asks the ingress to take. */
  uploadBytes?: number;
  /** --no-hold: a fast run, whose http.upload sends no real body (the holds' time is not there to use). */
  noHold?: boolean;
  turn: TurnContext;
  env: Record<string, string | undefined>;
  now: () => Date;
}

export interface TurnContext {
  /** Credentials to allocate with; the password is never shown anywhere. */
  credentials?: { username: string; password: string; source: 'rest-secret' | 'static' };
  relayRange: [number, number];
  relaySamples: number;
}

/** Results of checks this one runs after, by id. */
export type Upstream = ReadonlyMap<string, CheckResult>;

export interface GatherTools {
  /** Share one probe between checks: the first caller runs it, the others await the same promise. */
  probe<T>(key: string, run: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
}

/** A prerequisite: a check that must not fail or skip, unless it failed with one of the tolerated codes. */
export type Need = string | { id: string; tolerate: readonly string[] };

export const needId = (n: Need) => (typeof n === 'string' ? n : n.id);

export interface CheckDef<E = unknown> {
  meta: CheckMeta;
  /** The optional module whose service this check proves: off in this run → `skip`, naming the values.env key. */
  module?: Module;
  /** Whether the check means anything for this run; a string is the reason it does not (then it is `skip`). */
  appliesTo?(ctx: RunContext): true | string;
  /** Checks that must not fail or skip; otherwise this one is `skip` with the reason. */
  needs?(ctx: RunContext): Need[];
  /** Checks whose results this one reads, whatever their status. */
  after?(ctx: RunContext): string[];
  /**
   * Checks whose results this one reads when the run has them anyway; unlike `after`, never pulls them into the
   * run (config.values leaves a key to the live check that shows it, but needs no network of its own).
   */
  reads?(ctx: RunContext): string[];
  /** How long gather may take at most, when more than a few network steps (the holds). */
  deadlineMs?(ctx: RunContext): number;
  /**
   * Start gather's slow probe before every need is settled: once the `after` checks passed (or warned), `start`
   * runs it through `tools.probe`, and gather later picks up the same promise under the same key. The verdict
   * still waits for every need; a check skipped for a failed need leaves the early answer unread (the runner
   * aborts it when the run ends). For a probe whose inputs are known early but whose worth is not (sse.main).
   */
  early?: {
    after(ctx: RunContext): string[];
    start(ctx: RunContext, upstream: Upstream, tools: GatherTools): void;
  };
  /** Ask the network (through src/probes) and return plain evidence. No verdicts here. */
  gather(ctx: RunContext, upstream: Upstream, tools: GatherTools): Promise<E>;
  /** Pure: the same evidence and context always give the same judgement. */
  judge(evidence: E, ctx: RunContext): Judgement;
}

export function areaOf(id: string): Area {
  return id.split('.')[0] as Area;
}
