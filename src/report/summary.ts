import type { CheckResult } from '../model.js';

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
  /**
   * fail when anything failed (or warned under --strict), else warn when anything warned, else pass;
   * interrupted when Ctrl-C/SIGTERM cut the run short (the counts are then of what finished).
   */
  status: 'pass' | 'warn' | 'fail' | 'interrupted';
}

/** Under --strict a warning is a failure everywhere: counted in `fail` here, so every output agrees. */
export function summarize(results: CheckResult[], strict: boolean, interrupted = false): Summary {
  const n = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const warn = n('warn');
  const s = { pass: n('pass'), warn: strict ? 0 : warn, fail: n('fail') + (strict ? warn : 0), skip: n('skip') };
  const status = interrupted ? 'interrupted' : s.fail ? 'fail' : s.warn ? 'warn' : 'pass';
  return { ...s, status };
}

export function exitCodeFor(summary: Summary): 0 | 1 {
  return summary.status === 'fail' ? 1 : 0;
}

export const summaryLine = (s: Summary) =>
  `${s.pass} passed, ${s.fail} failed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.skip} skipped`;
