// `nap-verify check`: the arguments' run (src/run.ts), streamed as text while it goes, then every output rendered
// from one result list.
import { writeFileSync } from 'node:fs';
import { access, constants, writeFile as writeFileAsync } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type CheckDef, type CheckResult, needId, type RunContext } from '../model.js';
import { UsageError, type CheckOptions } from '../options.js';
import { toJson, type RunRecord } from '../report/json.js';
import { toJunit } from '../report/junit.js';
import { exitCodeFor } from '../report/summary.js';
import { PIPE_WIDTH, TextRenderer } from '../report/text.js';
import { executeRun, prepareRun, useColor, type Io } from '../run.js';
import { dependencyClosure } from '../runner.js';
import { VERSION } from '../version.js';

/** The checks a check read or needed in this run: what a skip is traced back through. */
function upstreamReader(defs: CheckDef[], ctx: RunContext): (id: string) => string[] {
  const byId = new Map(defs.map((d) => [d.meta.id, d]));
  return (id) => {
    const d = byId.get(id);
    if (!d) return [];
    return [...(d.needs?.(ctx) ?? []).map(needId), ...(d.after?.(ctx) ?? []), ...(d.reads?.(ctx) ?? [])];
  };
}

let ran = 0;
/**
 * How many checks this process ran to a verdict (skips not counted): dist/bin's loader keeps the code cache of the
 * run that ran the most (scripts/check-world.mjs).
 */
export const checksRun = (): number => ran;

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
        if (r.status !== 'skip') ran++;
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
