// JUnit XML for CI dashboards: one <testsuite> per area, one <testcase> per check (spec §4).
import { areaOf, type CheckResult } from '../model.js';
import type { RunRecord } from './json.js';
import { inertXml } from '../inert.js';

// XML 1.0 cannot carry most control characters even escaped: every value passes src/inert.ts's inertXml, so a
// hostile server's text shows as its escapes and the file stays well-formed. An attribute is one line; text keeps
// the report's own line breaks.
const attr = (s: string) => inertXml(s);
const text = (s: string) => s.split('\n').map(inertXml).join('\n');
const secs = (ms: number) => (ms / 1000).toFixed(3);

function testcase(r: CheckResult, strict: boolean): string {
  const open =
    `    <testcase classname="nap-verify.${attr(areaOf(r.id))}" name="${attr(r.id)}" ` +
    `time="${secs(r.durationMs)}">`;
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
      `  <testsuite name="${attr(area)}"${run.vantage ? ` hostname="${attr(run.vantage)}"` : ''} ` +
        `tests="${rs.length}" ` +
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
