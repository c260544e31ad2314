// JUnit XML for CI dashboards: one <testsuite> per area, one <testcase> per check (spec §4).
import { areaOf, type CheckResult } from '../model.js';
import type { RunRecord } from './json.js';

// XML 1.0 cannot carry most control characters even escaped; a hostile server's text must not break the file.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids
const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
const attr = (s: string) =>
  clean(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;');
const text = (s: string) => clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const secs = (ms: number) => (ms / 1000).toFixed(3);

function testcase(r: CheckResult, strict: boolean): string {
  const open =
    `    <testcase classname="nap-verify.${areaOf(r.id)}" name="${attr(r.id)}" ` + `time="${secs(r.durationMs)}">`;
  const detail = [r.host ? `host: ${r.host}` : '', r.message, r.remediation ? `fix: ${r.remediation}` : '']
    .filter(Boolean)
    .join('\n');
  const failure = (type: string) =>
    `\n      <failure type="${attr(type)}" ` +
    `message="${attr(`${r.code ? `${r.code}: ` : ''}${r.message}`)}">${text(detail)}</failure>\n    `;
  switch (r.status) {
    case 'pass':
      return `${open}</testcase>`;
    case 'fail':
      return `${open}${failure(r.code ?? 'fail')}</testcase>`;
    case 'skip':
      return `${open}\n      <skipped message="${attr(r.message)}"/>\n    </testcase>`;
    case 'warn':
      return strict
        ? `${open}${failure(r.code ?? 'warn')}</testcase>`
        : `${open}\n      <system-out>${text(`WARN ${r.code ?? ''}: ${detail}`)}</system-out>\n    </testcase>`;
  }
}

export function toJunit(run: RunRecord, strict: boolean): string {
  const areas = [...new Set(run.results.map((r) => areaOf(r.id)))];
  const fails = (rs: CheckResult[]) => rs.filter((r) => r.status === 'fail' || (strict && r.status === 'warn')).length;
  const suites = areas.map((area) => {
    const rs = run.results.filter((r) => areaOf(r.id) === area);
    const time = rs.reduce((m, r) => Math.max(m, r.durationMs), 0);
    return [
      `  <testsuite name="${area}"${run.vantage ? ` hostname="${attr(run.vantage)}"` : ''} tests="${rs.length}" ` +
        `failures="${fails(rs)}" errors="0" skipped="${rs.filter((r) => r.status === 'skip').length}" ` +
        `time="${secs(time)}" timestamp="${run.startedAt.toISOString().slice(0, 19)}">`,
      ...(run.vantage ? [`    <properties><property name="vantage" value="${attr(run.vantage)}"/></properties>`] : []),
      ...rs.map((r) => testcase(r, strict)),
      '  </testsuite>',
    ].join('\n');
  });
  const total = run.finishedAt.getTime() - run.startedAt.getTime();
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="nap-verify ${attr(run.target.domain)}${run.vantage ? ` from ${attr(run.vantage)}` : ''}" ` +
      `tests="${run.results.length}" failures="${fails(run.results)}" errors="0" ` +
      `skipped="${run.results.filter((r) => r.status === 'skip').length}" time="${secs(total)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
