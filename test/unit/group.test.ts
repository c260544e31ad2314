// One cause, one finding: the pure layout of src/report/group.ts on recorded results.
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/model.js';
import { causeLines, mergedFix, rootsOf, textItems, withoutHost } from '../../src/report/group.js';

const res = (id: string, status: CheckResult['status'], extra: Partial<CheckResult> = {}): CheckResult => ({
  id,
  title: id,
  status,
  message: `${id} said so`,
  durationMs: 1,
  evidence: {},
  ...extra,
});
const nx = (id: string, host: string) =>
  res(id, 'fail', {
    code: 'DNS_NXDOMAIN',
    host,
    message: `${host} does not exist (NXDOMAIN from 127.0.0.1:53)`,
    remediation: `Add an A/AAAA record ${host} → your ingress.\nCreate it in the zone (\`dig NS a.test\`).`,
  });
const mapOf = (rs: CheckResult[]) => new Map(rs.map((r) => [r.id, r]));

describe('rootsOf: what a result comes down to', () => {
  const dns = nx('dns.main', 'a.test');
  const tls = res('tls.main', 'skip', { evidence: { blockedBy: 'dns.main' } });
  const http = res('http.main', 'skip', { evidence: { blockedBy: 'tls.main' } });
  const upload = res('http.upload', 'skip', { message: 'no host asked' });
  const noHold = res('hold.ws.main', 'skip', { evidence: { notHeld: '--no-hold' } });
  const ws = res('ws.main', 'skip', { message: 'no responder behind a.test' });
  const all = mapOf([dns, tls, http, upload, noHold, ws]);
  const up = (id: string) => (id === 'http.upload' ? ['http.main'] : []);

  it("env.clock's skip beside a TLS session that passed comes down to http.main, which it names", () => {
    const rs = [
      res('dns.main', 'pass'),
      res('tls.main', 'pass'),
      res('http.main', 'fail', { code: 'HTTP_UNEXPECTED', message: 'no HTTP answer from a.test at 192.0.2.1: junk' }),
      res('env.clock', 'skip', {
        message: 'no Date to compare with: no HTTP answer from a.test (http.main failed (HTTP_UNEXPECTED))',
      }),
    ];
    const reads = (id: string) => (id === 'env.clock' ? ['dns.main', 'tls.main', 'http.main'] : []);
    expect(rootsOf(rs[3]!, mapOf(rs), reads)).toEqual(new Set(['http.main']));
  });

  it('follows blockedBy through skips to the failure', () => {
    expect(rootsOf(http, all, up)).toEqual(new Set(['dns.main']));
  });
  it('a judged skip whose every input failed or skipped comes down to their roots', () => {
    expect(rootsOf(upload, all, up)).toEqual(new Set(['dns.main']));
    // One input passed: the skip has a reason of its own.
    const passed = mapOf([...all.values(), res('http.main', 'pass')]);
    expect(rootsOf(upload, passed, up)).toEqual(new Set(['http.upload']));
  });
  it('a skip said for its own sake (--no-hold, module off) comes down to nothing', () => {
    expect(rootsOf(noHold, all, up)).toBeNull();
  });
  it('a skip of its own making (no responder) is its own root', () => {
    expect(rootsOf(ws, all, up)).toEqual(new Set(['ws.main']));
  });
});

describe('textItems: one cause once', () => {
  it('several checks with one code are one finding; what could not run folds under it', () => {
    const batch = [
      nx('dns.main', 'a.test'),
      nx('dns.files', 'files.a.test'),
      res('tls.main', 'skip', { evidence: { blockedBy: 'dns.main' } }),
      res('tls.files', 'skip', { evidence: { blockedBy: 'dns.files' } }),
      res('ws.h2', 'skip', { message: 'nothing to ask' }),
      res('hold.ws.main', 'skip', { evidence: { notHeld: '--no-hold' } }),
      res('turn.udp', 'skip', { message: 'TURN host does not resolve' }),
      res('turn.tcp', 'skip', { message: 'TURN host does not resolve' }),
      res('turn.auth', 'skip', { message: 'TURN unreachable' }),
    ];
    const up = (id: string) =>
      ({ 'ws.h2': ['tls.main', 'tls.files'], 'turn.auth': ['turn.udp', 'turn.tcp'] })[id] ?? [];
    const items = textItems(batch, mapOf(batch), up);
    expect(items.map((i) => i.kind)).toEqual(['cause', 'same-skip']);
    const [cause, turn] = items;
    expect(cause).toMatchObject({ code: 'DNS_NXDOMAIN' });
    if (cause?.kind !== 'cause' || turn?.kind !== 'same-skip') throw new Error('layout');
    expect(cause.members.map((r) => r.id)).toEqual(['dns.main', 'dns.files']);
    expect(cause.behind.map((r) => r.id)).toEqual(['tls.main', 'tls.files', 'ws.h2']);
    expect(turn.results.map((r) => r.id)).toEqual(['turn.udp', 'turn.tcp']);
    expect(turn.behind.map((r) => r.id)).toEqual(['turn.auth']);
  });

  it('one failure alone stays one result; a warning never joins a failure of the same code', () => {
    const batch = [
      res('http.main', 'fail', { code: 'X' }),
      res('http.files', 'warn', { code: 'X' }),
      res('ws.main', 'skip', { evidence: { blockedBy: 'http.main' } }),
    ];
    const items = textItems(batch, mapOf(batch), () => []);
    expect(items.map((i) => i.kind)).toEqual(['one', 'one']);
    expect(items[0]).toMatchObject({ result: { id: 'http.main' }, behind: [{ id: 'ws.main' }] });
  });
});

describe('causeLines and mergedFix', () => {
  it('a host is taken out only as a whole name, never as the tail of another', () => {
    expect(withoutHost('files.a.test and a.test: a.test-x', 'a.test')).toBe('files.a.test and \u0000: a.test-x');
  });
  it('the same sentence about several hosts is said once, naming them', () => {
    const lines = causeLines([nx('dns.main', 'a.test'), nx('dns.files', 'files.a.test')]);
    expect(lines).toEqual(['a.test, files.a.test: does not exist (NXDOMAIN from 127.0.0.1:53)']);
    const chain = (id: string, host: string) =>
      res(id, 'fail', { host, message: `chain for ${host} ends at "Root", which this machine does not trust` });
    expect(
      causeLines([chain('tls.main', 'a.test'), chain('tls.files', 'files.a.test'), chain('x', 'b.a.test')]),
    ).toEqual(['chain for a.test, files.a.test and b.a.test ends at "Root", which this machine does not trust']);
  });
  it('different sentences stay apart', () => {
    const a = nx('dns.main', 'a.test');
    const b = { ...nx('dns.preview', 'p.a.test'), message: 'p.a.test does not exist: no wildcard record' };
    expect(causeLines([a, b])).toEqual([a.message, b.message]);
  });
  it('one fix: each paragraph once, a paragraph naming the host said once for all hosts', () => {
    const fix = mergedFix([nx('dns.main', 'a.test'), nx('dns.files', 'files.a.test')]);
    expect(fix).toBe(
      'Add an A/AAAA record a.test, files.a.test → your ingress.\nCreate it in the zone (`dig NS a.test`).',
    );
  });
});

describe('a judged skip beside checks that passed', () => {
  const tls = res('tls.main', 'fail', { code: 'TLS_HANDSHAKE' });
  const dns = res('dns.main', 'pass');
  const up = () => ['dns.main', 'tls.main'];
  it('is put down to the failure it names', () => {
    const clock = res('env.clock', 'skip', {
      message: 'a.test was not asked (no TLS session (tls.main TLS_HANDSHAKE))',
    });
    expect(rootsOf(clock, mapOf([tls, dns, clock]), up)).toEqual(new Set(['tls.main']));
  });
  it('keeps its own reason when it does not name the failure', () => {
    const values = res('config.values', 'skip', { message: 'nothing to compare: values.env sets no key' });
    expect(rootsOf(values, mapOf([tls, dns, values]), up)).toEqual(new Set(['config.values']));
  });
});
