// The exposition of one run, on a recorded result: label escaping, the preview host as its wildcard, hold cuts,
// and what makes a probe unsuccessful.
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/model.js';
import { labelValue, probeMetrics } from '../../src/exporter/metrics.js';
import type { RunRecord } from '../../src/report/json.js';
import { summarize } from '../../src/report/summary.js';

const hosts = {
  main: 'acme.com',
  files: 'files.acme.com',
  browsers: 'browsers.acme.com',
  sandbox: 'sandbox.acme.com',
  preview: 'nvf0123456789.sandbox.acme.com',
};
function run(results: CheckResult[], extra: Partial<RunRecord> = {}): RunRecord {
  return {
    tool: 'nap-verify',
    version: '0',
    startedAt: new Date(1000),
    finishedAt: new Date(3500),
    options: {},
    resolvers: [],
    target: { domain: 'acme.com', hosts, turn: { host: 'acme.com', port: 3478 } },
    summary: summarize(results, false),
    results,
    ...extra,
  };
}
const r = (
  id: string,
  status: CheckResult['status'],
  evidence: Record<string, unknown> = {},
  code?: string,
): CheckResult => ({ id, title: id, status, message: '', durationMs: 250, evidence, ...(code ? { code } : {}) });

describe('probeMetrics', () => {
  it('reports the preview certificate under its wildcard, hold cuts, codes and the duration', () => {
    const text = probeMetrics(
      run([
        r('tls.preview', 'pass', { host: hosts.preview, chain: [{ notAfter: '2030-01-01T00:00:00Z' }] }),
        r('hold.ws.main', 'fail', { cutAfterS: 3.02 }, 'HOLD_CUT'),
      ]),
    );
    expect(text).toContain('nap_verify_cert_not_after_timestamp_seconds{host="*.sandbox.acme.com"} 1893456000\n');
    expect(text).toContain('nap_verify_hold_cut_after_seconds{check="hold.ws.main"} 3.02\n');
    expect(text).toContain('nap_verify_check_code_info{check="hold.ws.main",code="HOLD_CUT"} 1\n');
    expect(text).toContain('nap_verify_probe_duration_seconds 2.5\n');
    expect(text).toContain('nap_verify_probe_success 0\n');
    expect(text).not.toContain('nvf0123456789');
  });
  it('warnings still succeed; an interrupted run does not', () => {
    expect(probeMetrics(run([r('http.exposure', 'warn', {}, 'HTTP_METRICS_PUBLIC')]))).toContain(
      'nap_verify_probe_success 1\n',
    );
    expect(probeMetrics(run([r('dns.main', 'pass')], { interrupted: true }))).toContain('nap_verify_probe_success 0\n');
  });
  it('escapes label values as the text format requires', () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
