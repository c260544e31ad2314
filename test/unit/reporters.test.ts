import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/model.js';
import { toJson, type RunRecord } from '../../src/report/json.js';
import { toJunit } from '../../src/report/junit.js';
import { summarize } from '../../src/report/summary.js';
import { formatDuration, toText } from '../../src/report/text.js';
import { buildTarget } from '../../src/target.js';
import { assertResultSchema, RESULT_SCHEMA } from '../harness/schema.js';

const results: CheckResult[] = [
  {
    id: 'dns.main',
    title: 'DNS',
    status: 'pass',
    message: '127.0.0.1',
    host: 'acme.test',
    durationMs: 3,
    evidence: { a: 1 },
  },
  {
    id: 'dns.preview',
    title: 'DNS',
    status: 'fail',
    code: 'DNS_NXDOMAIN',
    message: 'no <wildcard> & "quotes"\u0001',
    host: 'nvf1.sandbox.acme.test',
    durationMs: 2,
    evidence: {},
    remediation: 'Add *.sandbox.acme.test',
  },
  {
    id: 'tls.main',
    title: 'TLS',
    status: 'warn',
    code: 'TLS_EXPIRES_SOON',
    message: 'expires in 3 days',
    host: 'acme.test',
    durationMs: 9,
    evidence: {},
    remediation: 'Renew',
  },
  {
    id: 'tls.preview',
    title: 'TLS',
    status: 'skip',
    message: 'skipped: dns.preview failed',
    durationMs: 0,
    evidence: {},
  },
];

const run = (strict = false): RunRecord => ({
  tool: 'nap-verify',
  version: '0.1.0',
  startedAt: new Date('2026-11-24T10:00:00Z'),
  finishedAt: new Date('2026-11-24T10:00:01.5Z'),
  target: buildTarget('acme.test'),
  options: { domain: 'acme.test' },
  resolvers: ['127.0.0.1:53 (system)'],
  summary: summarize(results, strict),
  results,
});

describe('reporters', () => {
  it('JSON matches the shipped schema (ajv), and the schema is a real constraint', () => {
    const doc = JSON.parse(toJson(run()));
    assertResultSchema(doc);
    assertResultSchema(JSON.parse(toJson(run(true))));
    expect(RESULT_SCHEMA.properties.summary.properties.status.enum).toEqual(['pass', 'warn', 'fail', 'interrupted']);
    const broken = [
      { ...doc, schema: 2 },
      { ...doc, summary: { ...doc.summary, status: 'ok' } },
      { ...doc, checks: [{ ...doc.checks[1], code: undefined }] },
      { ...doc, checks: [{ ...doc.checks[0], status: 'passed' }] },
      { ...doc, surprise: true },
      (({ target: _t, ...rest }) => rest)(doc),
    ].map((d) => JSON.parse(JSON.stringify(d)));
    for (const [i, d] of broken.entries())
      expect(() => assertResultSchema(d), String(i)).toThrow(/does not match schema\/result-1\.json/);
  });

  it('JSON carries exactly the spec §4 fields', () => {
    const doc = JSON.parse(toJson(run()));
    expect(Object.keys(doc)).toEqual([
      'tool',
      'version',
      'schema',
      'startedAt',
      'finishedAt',
      'durationMs',
      'target',
      'options',
      'environment',
      'summary',
      'checks',
    ]);
    expect(doc).toMatchObject({
      tool: 'nap-verify',
      schema: 1,
      durationMs: 1500,
      summary: { pass: 1, warn: 1, fail: 1, skip: 1, status: 'fail' },
    });
    expect(Object.keys(doc.target)).toEqual(['domain', 'hosts', 'ingressIp', 'turn']);
    expect(Object.keys(doc.target.hosts)).toEqual(['main', 'files', 'browsers', 'sandbox', 'preview']);
    expect(Object.keys(doc.environment)).toEqual(['node', 'platform', 'resolvers']);
    expect(Object.keys(doc.checks[1])).toEqual([
      'id',
      'title',
      'status',
      'code',
      'message',
      'host',
      'durationMs',
      'evidence',
      'remediation',
    ]);
    expect(Object.keys(doc.checks[3])).toEqual(['id', 'title', 'status', 'message', 'durationMs', 'evidence']);
  });

  it('JUnit is valid XML: a suite per area, failure/skipped/system-out, warn fails only under --strict', () => {
    const xml = toJunit(run(), false);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suites = doc.testsuites.testsuite;
    expect(suites.map((s: { name: string }) => s.name)).toEqual(['dns', 'tls']);
    expect(doc.testsuites).toMatchObject({ tests: '4', failures: '1', skipped: '1' });
    expect(suites[0].testcase[1].failure.type).toBe('DNS_NXDOMAIN');
    expect(suites[0].testcase[1].failure.message).toContain('no <wildcard> & "quotes"');
    expect(suites[1].testcase[0]['system-out']).toContain('TLS_EXPIRES_SOON');
    expect(suites[1].testcase[1].skipped.message).toContain('dns.preview failed');
    const strict = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(toJunit(run(true), true));
    expect(strict.testsuites.failures).toBe('2');
    expect(strict.testsuites.testsuite[1].testcase[0].failure.type).toBe('TLS_EXPIRES_SOON');
  });

  it('text: grouped, summary line, no colour codes unless asked', () => {
    const plain = toText(run(), { color: false, quiet: false, verbose: false });
    expect(plain).not.toMatch(/\u001b\[/);
    expect(plain).toMatch(/^DNS$/m);
    expect(plain).toMatch(/✖ dns\.preview\s+nvf1\.sandbox\.acme\.test\s+2 ms\s+DNS_NXDOMAIN no <wildcard>/);
    expect(plain).toContain('↳ fix: Add *.sandbox.acme.test');
    expect(plain).toMatch(/^1 passed, 1 failed, 1 warning, 1 skipped/m);
    expect(toText(run(), { color: true, quiet: false, verbose: false })).toMatch(/\u001b\[/);
    const quiet = toText(run(), { color: false, quiet: true, verbose: false });
    expect(quiet).not.toContain('dns.main');
    expect(quiet).toContain('dns.preview');
  });
});

describe('formatDuration', () => {
  it('ms below a second, s from a second, decided after rounding: 999.6 ms is never "1000 ms"', () => {
    expect([0.4, 12, 999.4, 999.5, 999.6, 1000, 1049, 75_100].map(formatDuration)).toEqual([
      '0 ms',
      '12 ms',
      '999 ms',
      '1.0 s',
      '1.0 s',
      '1.0 s',
      '1.0 s',
      '75.1 s',
    ]);
  });
});
