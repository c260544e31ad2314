// `nap-verify check`: build the run context, run the selected checks, render every output from one result list.
import { writeFileSync } from 'node:fs';
import { access, constants, writeFile as writeFileAsync } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type CheckDef, type CheckResult, needId, type RunContext } from '../model.js';
import { UsageError, type CheckOptions } from '../options.js';
import { systemResolvers } from '../probes/dns.js';
import { serverLabel } from '../probes/dns-wire.js';
import { loadChecks, selectIds } from '../registry.js';
import { toJson, type RunRecord } from '../report/json.js';
import { toJunit } from '../report/junit.js';
import { exitCodeFor, summarize } from '../report/summary.js';
import { NO_HOLD_REASON } from '../report/not-tested.js';
import { PIPE_WIDTH, TextRenderer } from '../report/text.js';
import { dependencyClosure, runChecks, type RunHooks } from '../runner.js';
import { buildTarget } from '../target.js';
import { VERSION } from '../version.js';

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
    const { restCredentials } = await import('../probes/stun/credentials.js');
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

/** The checks a check read or needed in this run: what a skip is traced back through. */
function upstreamReader(defs: CheckDef[], ctx: RunContext): (id: string) => string[] {
  const byId = new Map(defs.map((d) => [d.meta.id, d]));
  return (id) => {
    const d = byId.get(id);
    if (!d) return [];
    return [...(d.needs?.(ctx) ?? []).map(needId), ...(d.after?.(ctx) ?? []), ...(d.reads?.(ctx) ?? [])];
  };
}

/** Checks that take the hold's time (or the real upload body's, paced beside it): printed when the run ends. */
const runsBesideHolds = (id: string) => id.startsWith('hold.') || id === 'http.upload';

export async function runCheckCommand(o: CheckOptions, io: Io): Promise<number> {
  const prepared = await prepareRun(o, io.env);
  const { defs, chosen, selected, ctx } = prepared;
  const { target } = ctx;
  // Fail before the run, not after a long hold, when a report cannot be written.
  for (const [flag, file] of [
    ['--json', o.json],
    ['--junit', o.junit],
    ['--report', o.report],
  ] as const) {
    if (file)
      await access(dirname(resolve(file)), constants.W_OK).catch(() => {
        throw new UsageError(`${flag} ${file}: directory ${dirname(resolve(file))} is not writable`);
      });
  }

  const abort = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(sig === 'SIGINT' ? 130 : 143);
    signalled = sig;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const color = o.format === 'text' && useColor(o, io.env, !!io.stdout.isTTY);
  const tty = !!io.stdout.isTTY && io.env.TERM !== 'dumb';
  const text =
    o.format === 'text'
      ? new TextRenderer(
          {
            color,
            quiet: o.quiet,
            verbose: o.verbose,
            strict: o.strict,
            width: tty ? io.stdout.columns || PIPE_WIDTH : PIPE_WIDTH,
          },
          chosen,
          Object.values(target.hosts),
        )
      : undefined;
  const live =
    text && !o.quiet && tty
      ? (await import('../report/live.js')).liveView(
          io.stdout,
          dependencyClosure(defs, selected, ctx).size,
          o.holdS,
          color,
        )
      : undefined;
  // Results print in two batches: the quick checks as soon as only the holds (and the upload beside them) are left,
  // the rest when the run ends; each batch one cause once (TextRenderer.items). With -v, each check as it finishes.
  const wanted = new Set(chosen);
  const order = new Map(chosen.map((id, i) => [id, i]));
  const printed = new Set<string>();
  const moduleOff: CheckResult[] = [];
  const all = new Map<string, CheckResult>();
  const pending = new Set(dependencyClosure(defs, selected, ctx));
  const upstreamOf = upstreamReader(defs, ctx);
  let batch: CheckResult[] = [];
  let quickPrinted = false;
  let liveOn = !!live;
  const write = (lines: string[]) => {
    if (!lines.length) return;
    const block = `${lines.join('\n')}\n`;
    if (live && liveOn) live.print(block);
    else io.stdout.write(block);
  };
  const flush = () => {
    if (!text) return;
    const now = batch.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    batch = [];
    write(text.items(now, all, upstreamOf));
  };
  const emit = (r: CheckResult) => {
    all.set(r.id, r);
    pending.delete(r.id);
    if (text && !printed.has(r.id) && wanted.has(r.id)) {
      printed.add(r.id);
      // Said once per module after the run (-v lists each check as it comes).
      if (r.evidence.moduleOff && !o.verbose) moduleOff.push(r);
      else if (o.verbose) write(text.shows(r) ? text.block(r) : []);
      else batch.push(r);
    }
    if (!quickPrinted && [...pending].every(runsBesideHolds)) {
      quickPrinted = true;
      flush();
    }
  };
  if (text)
    io.stdout.write(
      text
        .header({ version: VERSION, target })
        .map((l) => `${l}\n`)
        .join(''),
    );
  let run: RunRecord;
  try {
    run = await executeRun(prepared, o, abort.signal, {
      onStart: (id) => live?.onStart?.(id),
      onResult: (r) => {
        live?.onResult?.(r);
        emit(r);
      },
    });
  } finally {
    live?.stop();
    liveOn = false;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Anything the hooks never saw (a check stopped by the run's deadline) and the --no-hold skips, before the summary.
  run.results.forEach(emit);
  flush();
  const summary = run.summary;
  if (text) {
    const off = text.modulesOff(moduleOff.sort((a, b) => order.get(a.id)! - order.get(b.id)!));
    if (off.length) io.stdout.write(`${off.join('\n')}\n`);
    const footer = text.footer(run);
    io.stdout.write(`${(o.quiet ? '' : '\n') + footer.join('\n')}\n`);
  } else io.stdout.write(toJson(run));
  const writes: Promise<void>[] = [];
  // Interrupted: write synchronously. Lookups still stuck in getaddrinfo hold libuv's thread pool, and an async
  // write would queue behind them for as long as the resolver waits (measured: 20 s instead of milliseconds).
  const writeFile = signalled ? async (f: string, data: string) => writeFileSync(f, data) : writeFileAsync;
  if (o.json) writes.push(writeFile(o.json, toJson(run)));
  if (o.junit) writes.push(writeFile(o.junit, toJunit(run, o.strict)));
  if (o.report) {
    const html = /\.html?$/i.test(o.report);
    const render = html ? (await import('../report/html.js')).toHtml : (await import('../report/triage.js')).toMarkdown;
    writes.push(writeFile(o.report, render(run)));
  }
  try {
    await Promise.all(writes);
  } catch (e) {
    throw new UsageError(`cannot write report: ${(e as Error).message}`);
  }
  // The path is what the person opens next; on stderr when stdout is JSON, so stdout stays one document.
  if (o.report) (o.format === 'json' ? process.stderr : io.stdout).write(`report written to ${o.report}\n`);
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  return exitCodeFor(summary);
}
