import type { CheckResult } from '../model.js';

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
  /** fail when anything failed (or warned under --strict), else warn when anything warned, else pass. */
  status: 'pass' | 'warn' | 'fail';
}

export function summarize(results: CheckResult[], strict: boolean): Summary {
  const n = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const s = { pass: n('pass'), warn: n('warn'), fail: n('fail'), skip: n('skip') };
  const status = s.fail || (strict && s.warn) ? 'fail' : s.warn ? 'warn' : 'pass';
  return { ...s, status };
}

export function exitCodeFor(summary: Summary): 0 | 1 {
  return summary.status === 'fail' ? 1 : 0;
}

export const summaryLine = (s: Summary) =>
  `${s.pass} passed, ${s.fail} failed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.skip} skipped`;
