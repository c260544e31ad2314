// The run API, below the commands: what a run needs before it starts (prepareRun) and the run itself to its record
// (executeRun). `nap-verify check` streams it as text, the exporter serves it as metrics, the kit's tests call it;
// src/runner.ts runs the checks inside it. Also what every command writes to (Io) and whether it colours (useColor).
import type { CheckDef, CheckResult, RunContext } from './model.js';
import { UsageError, type CheckOptions } from './options.js';
import { systemResolvers } from './probes/dns.js';
import { serverLabel } from './probes/dns-wire.js';
import { loadChecks, selectIds } from './registry.js';
import type { RunRecord } from './report/json.js';
import { summarize } from './report/summary.js';
import { NO_HOLD_REASON } from './report/not-tested.js';
import { runChecks, type RunHooks } from './runner.js';
import { buildTarget } from './target.js';
import { VERSION } from './version.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
}

export function useColor(o: Pick<CheckOptions, 'color'>, env: Io['env'], isTTY: boolean): boolean {
  if (o.color === false) return false;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return !/^(0|false)$/i.test(env.FORCE_COLOR);
  return isTTY && env.TERM !== 'dumb';
}

/** What the reports say about how the run was asked for: paths and values, never file contents or secrets. */
function shownOptions(o: CheckOptions): Record<string, unknown> {
  return {
    domain: o.domain,
    values: o.values?.file ?? null,
    mode: o.mode,
    nodePorts: o.nodePorts ?? null,
    ingressIp: o.ingressIp ?? null,
    ipFamily: o.ipFamily,
    expectIp: o.expectIps,
    resolver: o.resolvers.map(serverLabel),
    httpsPort: o.httpsPort,
    httpPort: o.httpPort,
    caFile: o.caFile ?? null,
    certWarnDays: o.certWarnDays,
    only: o.only,
    skip: o.skip,
    timeout: o.timeoutMs / 1000,
    hold: o.noHold ? false : o.holdS,
    format: o.format,
    json: o.json ?? null,
    junit: o.junit ?? null,
    report: o.report ?? null,
    strict: o.strict,
    vantage: o.vantage,
    turn: `${o.turn?.host ?? o.domain}:${o.turn?.port ?? 3478}`,
    turnSecretFile: o.turnSecretFile ?? null,
    turnSecret: o.turnSecret ? '(set, redacted)' : null,
    turnUser: o.turnUser ?? null,
    turnPassword: o.turnPassword ? '(set, redacted)' : null,
    relayRange: `${o.relayRange[0]}-${o.relayRange[1]}`,
    relaySamples: o.relaySamples,
  };
}

/** REST credentials are made fresh for this run (valid one hour), named so coturn's log shows who allocated. */
async function turnCredentials(o: CheckOptions): Promise<Pick<RunContext['turn'], 'credentials'>> {
  if (o.turnSecret) {
    const { restCredentials } = await import('./probes/stun/credentials.js');
    return { credentials: { ...restCredentials(o.turnSecret, 'nap-verify', 3600), source: 'rest-secret' } };
  }
  if (o.turnUser && o.turnPassword)
    return { credentials: { username: o.turnUser, password: o.turnPassword, source: 'static' } };
  return {};
}

/** What a run needs before it starts: the checks, the selection and the context. Shared by check and exporter. */
export interface PreparedRun {
  defs: CheckDef[];
  /** Every check asked for, in report order (the --no-hold skips included). */
  chosen: string[];
  /** What actually runs. */
  selected: string[];
  /** --no-hold: the hold checks, reported as skip with the reason. */
  notHeld: string[];
  ctx: RunContext;
}

export async function prepareRun(o: CheckOptions, env: Io['env']): Promise<PreparedRun> {
  const defs = await loadChecks();
  const { selected: chosen, unknown } = selectIds(
    defs.map((d) => d.meta.id),
    o.only,
    o.skip,
  );
  if (unknown.length) {
    const areas = [...new Set(defs.map((d) => d.meta.id.split('.')[0]))].join(', ');
    throw new UsageError(
      `unknown check id or prefix: ${unknown.join(', ')} (known areas: ${areas}; ` +
        '`nap-verify explain <id>` lists ids)',
    );
  }
  if (!chosen.length) throw new UsageError('--only/--skip leave no check to run');
  // --no-hold keeps the hold checks in every output as `skip` with the reason, so CI's test counts stay put.
  // A hold of a module that is off is skipped for that reason instead (the runner says it).
  const offModule = (id: string) => {
    const m = defs.find((d) => d.meta.id === id)?.module;
    return !!m && !!o.modules && !o.modules[m];
  };
  const notHeld = o.noHold ? chosen.filter((id) => id.startsWith('hold.') && !offModule(id)) : [];
  const selected = chosen.filter((id) => !notHeld.includes(id));
  const target = buildTarget(o.domain, o.ingressIp, o.turn, o.mode);
  const system = await systemResolvers();
  const ctx: RunContext = {
    target,
    mode: o.mode,
    ...(o.nodePorts ? { nodePorts: o.nodePorts } : {}),
    ...(o.values ? { values: o.values } : {}),
    ...(o.modules ? { modules: o.modules } : {}),
    httpsPort: o.httpsPort,
    httpPort: o.httpPort,
    ipFamily: o.ipFamily,
    expectIps: o.expectIps,
    resolvers: [
      ...system,
      ...o.resolvers.filter((r) => !system.some((s) => s.address === r.address && s.port === r.port)),
    ],
    extraCa: o.extraCa,
    certWarnDays: o.certWarnDays,
    timeoutMs: o.timeoutMs,
    holdS: o.holdS,
    uploadBytes: o.uploadBytes,
    noHold: o.noHold,
    turn: { relayRange: o.relayRange, relaySamples: o.relaySamples, ...(await turnCredentials(o)) },
    env,
    now: () => new Date(),
  };
  return { defs, chosen, selected, notHeld, ctx };
}

/** Runs a prepared run to its record (every report renders from it). An aborted signal marks it interrupted. */
export async function executeRun(
  p: PreparedRun,
  o: CheckOptions,
  signal: AbortSignal,
  hooks: RunHooks = {},
): Promise<RunRecord> {
  const startedAt = new Date();
  const { target } = p.ctx;
  const ran = await runChecks(p.defs, p.selected, p.ctx, signal, hooks);
  const skippedHolds = p.notHeld.map((id): CheckResult => {
    const def = p.defs.find((d) => d.meta.id === id)!;
    return {
      id,
      title: def.meta.title.replaceAll('<d>', target.domain),
      status: 'skip',
      message: NO_HOLD_REASON.replace('75 s', `${o.holdS} s`),
      durationMs: 0,
      evidence: { notHeld: '--no-hold' },
    };
  });
  const order = new Map(p.chosen.map((id, i) => [id, i]));
  const results = [...ran, ...skippedHolds].sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return {
    tool: 'nap-verify',
    version: VERSION,
    vantage: o.vantage,
    startedAt,
    finishedAt: new Date(),
    target,
    options: shownOptions(o),
    resolvers: p.ctx.resolvers.map((r) => `${serverLabel(r)} (${r.source})`),
    summary: summarize(results, o.strict, signal.aborted),
    results,
    ...(signal.aborted ? { interrupted: true } : {}),
  };
}
