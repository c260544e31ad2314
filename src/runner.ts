// Runs checks concurrently: each starts at once and waits only for the checks it reads. A check whose
// prerequisite failed is skipped with the reason, so one root cause is reported once.
import { setMaxListeners } from 'node:events';
import {
  needId,
  type CheckDef,
  type CodeMeta,
  type CheckResult,
  type GatherTools,
  type Judgement,
  type Need,
  type RunContext,
} from './model.js';
import { moduleOffReason } from './modules.js';
import { remediationFor } from './remediation.js';

/** Abort listeners one signal may carry before Node warns of a leak (see setMaxListeners below). */
const PROBE_LISTENERS = 200;

export interface RunHooks {
  onStart?(id: string): void;
  onResult?(r: CheckResult): void;
}

/** Code of a result whose check itself broke (a bug, or a probe that ignored its deadline): never a silent pass. */
export const CHECK_ERROR = 'CHECK_ERROR';

/** What `explain CHECK_ERROR` says of it in a run (the browser page has its own, in kit/browser-codes.ts). */
export const CHECK_ERROR_META: CodeMeta = {
  status: 'fail',
  why:
    'The check itself could not reach a verdict: its probe threw, or it had no result by its own deadline or the ' +
    "run's. Nothing was proven either way for that check; the message says what broke.",
  fix:
    'Run it again on its own (--only <id> -v) to see whether it repeats; if it does, report it as a nap-verify bug ' +
    'with the JSON result (--json result.json) and the message.',
};

/** Whether a check means anything in this run: its module is on and its own appliesTo agrees; else the reason. */
export function applicability(def: CheckDef, ctx: RunContext): true | string {
  const off = def.module ? moduleOffReason(ctx.modules, def.module, ctx.target.domain) : undefined;
  return off ?? def.appliesTo?.(ctx) ?? true;
}

export function dependencyClosure(defs: CheckDef[], selected: string[], ctx: RunContext): Set<string> {
  const byId = new Map(defs.map((d) => [d.meta.id, d]));
  const out = new Set<string>();
  const visit = (id: string, depth: number) => {
    const d = byId.get(id);
    if (!d || out.has(id) || depth > 32) return;
    out.add(id);
    if (applicability(d, ctx) !== true) return;
    for (const dep of [...(d.needs?.(ctx) ?? []).map(needId), ...(d.after?.(ctx) ?? [])]) visit(dep, depth + 1);
  };
  for (const id of selected) visit(id, 0);
  return out;
}

/** How long one check may take at most: its own deadline, or a few network steps. */
export const checkLimitMs = (def: CheckDef, ctx: RunContext) => def.deadlineMs?.(ctx) ?? ctx.timeoutMs * 3 + 2000;

/**
 * The most a run can take: the longest chain of dependent checks, each at its own limit (holds count their hold).
 * Checks off that chain run beside it. Cycles cannot lengthen it: each check is counted once per chain.
 */
export function runDeadlineMs(defs: CheckDef[], ids: Iterable<string>, ctx: RunContext): number {
  const byId = new Map(defs.map((d) => [d.meta.id, d]));
  const memo = new Map<string, number>();
  const longest = (id: string, seen: Set<string>): number => {
    const d = byId.get(id);
    if (!d || seen.has(id)) return 0;
    if (memo.has(id)) return memo.get(id)!;
    if (applicability(d, ctx) !== true) return 0;
    const next = new Set(seen).add(id);
    const deps = [...(d.needs?.(ctx) ?? []).map(needId), ...(d.after?.(ctx) ?? []), ...(d.reads?.(ctx) ?? [])];
    const v = checkLimitMs(d, ctx) + Math.max(0, ...deps.map((x) => longest(x, next)));
    memo.set(id, v);
    return v;
  };
  return Math.max(0, ...[...ids].map((id) => longest(id, new Set())));
}

export async function runChecks(
  defs: CheckDef[],
  selected: string[],
  ctx: RunContext,
  signal: AbortSignal,
  hooks: RunHooks = {},
): Promise<CheckResult[]> {
  const toRun = dependencyClosure(defs, selected, ctx);
  const byId = new Map(defs.filter((d) => toRun.has(d.meta.id)).map((d) => [d.meta.id, d]));
  const probes = new Map<string, Promise<unknown>>();
  // Early probes nobody ended up reading (their check was skipped) stop with the run.
  const runEnd = new AbortController();
  const earlySignal = AbortSignal.any([signal, runEnd.signal]);
  // Each check's signal, and the early probes', listen to the run's: some fifty at once in a full run.
  setMaxListeners(PROBE_LISTENERS, signal, earlySignal);
  const running = new Map<string, Promise<CheckResult>>();
  const tools = (sig: AbortSignal): GatherTools => ({
    signal: sig,
    probe<T>(key: string, run: () => Promise<T>): Promise<T> {
      if (!probes.has(key)) {
        const p = run();
        // An early probe may end unread (its check skipped): its failure is no crash.
        p.catch(() => {});
        probes.set(key, p);
      }
      return probes.get(key) as Promise<T>;
    },
  });

  const start = (id: string): Promise<CheckResult> => {
    let p = running.get(id);
    if (!p) {
      // Registered before it runs, so a check reached again through its own dependencies waits instead of recursing.
      let settle!: (r: CheckResult) => void;
      p = new Promise<CheckResult>((resolve) => (settle = resolve));
      running.set(id, p);
      void runOne(byId.get(id)!).then(settle);
    }
    return p;
  };

  const runOne = async (def: CheckDef): Promise<CheckResult> => {
    const { id, title } = def.meta;
    const applies = applicability(def, ctx);
    if (applies !== true) {
      // A module that is off is named, so reports can tell "not installed" from "not testable here".
      const off = def.module && moduleOffReason(ctx.modules, def.module) ? { moduleOff: def.module } : {};
      const evidence = { notApplicable: true, ...off };
      const r = withDomain({ id, title, status: 'skip', message: applies, durationMs: 0, evidence }, ctx.target.domain);
      hooks.onResult?.(r);
      return r;
    }
    const needs = (def.needs?.(ctx) ?? []).filter((n) => byId.has(needId(n)));
    const after = [...(def.after?.(ctx) ?? []), ...(def.reads?.(ctx) ?? [])].filter((d) => byId.has(d));
    if (def.early) void startEarly(def);
    const upstream = new Map<string, CheckResult>();
    for (const dep of [...new Set([...needs.map(needId), ...after])]) upstream.set(dep, await start(dep));
    const began = performance.now();
    hooks.onStart?.(id);
    const blocks = (n: Need) => {
      const r = upstream.get(needId(n))!;
      if (r.status === 'skip') return true;
      if (r.code && byId.get(r.id)?.meta.codes[r.code]?.blocksDependents) return true;
      return r.status === 'fail' && !(typeof n !== 'string' && r.code && n.tolerate.includes(r.code));
    };
    const blockedNeed = needs.find(blocks);
    const blocked = blockedNeed ? upstream.get(needId(blockedNeed)) : undefined;
    let result: CheckResult;
    if (blocked?.evidence.interrupted) {
      // Its prerequisite was cut short by the interrupt, not found wanting: this one is unfinished too.
      result = {
        id,
        title,
        status: 'skip',
        message: 'interrupted before it finished',
        durationMs: 0,
        evidence: { interrupted: true, blockedBy: blocked.id },
      };
    } else if (blocked) {
      result = {
        id,
        title,
        status: 'skip',
        message:
          `skipped: ${blocked.id} ` +
          `${
            blocked.status === 'skip'
              ? 'was skipped'
              : `${blocked.status === 'fail' ? 'failed' : 'warned'}${blocked.code ? ` (${blocked.code})` : ''}`
          }`,
        durationMs: 0,
        evidence: { blockedBy: blocked.id },
      };
    } else if (signal.aborted) {
      result = { id, title, status: 'skip', message: 'skipped: run interrupted', durationMs: 0, evidence: {} };
    } else {
      result = await gatherAndJudge(def, ctx, upstream, signal, tools, began);
    }
    result = withDomain(result, ctx.target.domain);
    hooks.onResult?.(result);
    return result;
  };

  const startEarly = async (def: CheckDef): Promise<void> => {
    const early = def.early!;
    const ready = new Map<string, CheckResult>();
    for (const dep of early.after(ctx).filter((d) => byId.has(d))) ready.set(dep, await start(dep));
    // A failure the check tolerates in its needs (a config mismatch on http.<role>) does not hold its probe back.
    const tolerated = (r: CheckResult) =>
      (def.needs?.(ctx) ?? []).some(
        (n) => typeof n !== 'string' && n.id === r.id && !!r.code && n.tolerate.includes(r.code),
      );
    if (
      earlySignal.aborted ||
      [...ready.values()].some((r) => r.status === 'skip' || (r.status === 'fail' && !tolerated(r)))
    )
      return;
    try {
      early.start(ctx, ready, tools(earlySignal));
    } catch {
      // gather runs the probe itself and reports what breaks.
    }
  };

  // A backstop beyond every check's own deadline: whatever goes wrong (a dependency cycle, a runner bug), the run
  // ends by the deadline and says which checks never finished.
  const limitMs = runDeadlineMs(defs, byId.keys(), ctx) + 1000;
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<'overrun'>((resolve) => {
    timer = setTimeout(() => resolve('overrun'), limitMs);
  });
  const all = await Promise.all(
    [...byId.keys()].map(async (id): Promise<CheckResult> => {
      const r = await Promise.race([start(id), overrun]);
      if (r !== 'overrun') return r;
      const def = byId.get(id)!;
      return {
        id,
        title: def.meta.title.replaceAll('<d>', ctx.target.domain),
        status: 'fail',
        code: CHECK_ERROR,
        message:
          `${id} had no result when the run passed its deadline (${(limitMs / 1000).toFixed(1)} s: the ` +
          `longest chain of checks at their limits)`,
        durationMs: limitMs,
        evidence: {},
      };
    }),
  );
  clearTimeout(timer);
  runEnd.abort();
  const wanted = new Set(selected);
  return all.filter((r) => wanted.has(r.id));
}

const INTERRUPTED = Symbol('interrupted');

async function gatherAndJudge(
  def: CheckDef,
  ctx: RunContext,
  upstream: Map<string, CheckResult>,
  runSignal: AbortSignal,
  tools: (s: AbortSignal) => GatherTools,
  began: number,
): Promise<CheckResult> {
  const { id, title } = def.meta;
  // Probes keep their own per-step deadlines; this one only catches a check that ignores them.
  const limitMs = checkLimitMs(def, ctx);
  const deadline = AbortSignal.timeout(limitMs);
  const signal = AbortSignal.any([runSignal, deadline]);
  // Every probe of a check listens here (http.<role>: five requests and six repeats at once): not a leak.
  setMaxListeners(PROBE_LISTENERS, signal);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${limitMs} ms`)), limitMs);
  });
  // Ctrl-C ends the wait at once: a probe stuck where no signal reaches it (getaddrinfo in libuv's thread pool) must
  // not hold the partial report back for its whole deadline.
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<typeof INTERRUPTED>((resolve) => {
    onAbort = () => resolve(INTERRUPTED);
    if (runSignal.aborted) onAbort();
    else runSignal.addEventListener('abort', onAbort, { once: true });
  });
  const ms = () => Math.round(performance.now() - began);
  let evidence: unknown;
  try {
    evidence = await Promise.race([def.gather(ctx, upstream, tools(signal)), expired, interrupted]);
  } catch (e) {
    if (runSignal.aborted)
      return {
        id,
        title,
        status: 'skip',
        message: 'interrupted before it finished',
        durationMs: ms(),
        evidence: { interrupted: true },
      };
    return {
      id,
      title,
      status: 'fail',
      code: CHECK_ERROR,
      message: `${id} could not gather evidence: ${(e as Error).message}`,
      durationMs: ms(),
      evidence: {},
    };
  } finally {
    clearTimeout(timer);
    runSignal.removeEventListener('abort', onAbort!);
  }
  // Evidence cut short by Ctrl-C proves nothing either way.
  if (runSignal.aborted)
    return {
      id,
      title,
      status: 'skip',
      message: 'interrupted before it finished',
      durationMs: ms(),
      evidence: { interrupted: true },
    };
  let j: Judgement;
  try {
    j = def.judge(evidence, ctx);
  } catch (e) {
    return {
      id,
      title,
      status: 'fail',
      code: CHECK_ERROR,
      message: `${id} could not judge its evidence: ${(e as Error).message}`,
      durationMs: ms(),
      evidence: toEvidence(evidence),
    };
  }
  const remediation = j.status === 'pass' ? undefined : remediationFor(def.meta, j, j.controller);
  return {
    id,
    title,
    status: j.status,
    ...(j.code ? { code: j.code } : {}),
    message: j.message,
    ...(j.host ? { host: j.host } : {}),
    durationMs: ms(),
    evidence: toEvidence(evidence),
    ...(remediation ? { remediation } : {}),
  };
}

/**
 * Titles and fixes are written once for every domain with a `<d>` placeholder; what a run prints names the real
 * domain instead (a person copies the fix as it stands).
 */
export function withDomain(r: CheckResult, domain: string): CheckResult {
  const put = (s: string) => s.replaceAll('<d>', domain);
  return {
    ...r,
    title: put(r.title),
    message: put(r.message),
    ...(r.remediation ? { remediation: put(r.remediation) } : {}),
  };
}

function toEvidence(e: unknown): Record<string, unknown> {
  return e && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, unknown>) : { value: e };
}
