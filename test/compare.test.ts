// Vantage points on real runs: one real stack (test/support/ingress.ts) seen through two DNS views — the
// "in-cluster" view (split-horizon DNS that sends the main and files names to an address where no ingress
// listens) and the "laptop" view (public DNS whose browsers record points at a dead load balancer) — both with a
// dead wildcard. Each run gets its own /etc/resolv.conf in a private mount namespace; `compare` merges them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './harness/cli.js';
import { startDnsmasq } from './harness/dnsmasq.js';
import { runCleanups } from './harness/proc.js';
import { fullStack, type FullStack } from './support/ingress.js';
import { zone } from './support/zone.js';

const DEAD = '127.0.0.9'; // on lo, but nothing listens there: connection refused, as a dead VIP
let stack: FullStack;
let out: string;
let inside: string;
let laptop: string;

/** The CLI with its own resolv.conf (a bind mount in a private mount namespace inside the stack's netns). */
async function runWithResolver(resolverIp: string, args: string[]) {
  const resolv = path.join(out, `resolv-${resolverIp}.conf`);
  writeFileSync(resolv, `nameserver ${resolverIp}\noptions timeout:1 attempts:1\n`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  return stack.ns.exec(
    'unshare',
    ['-m', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, 'node', CLI_PATH, ...args],
    { env, timeoutMs: 60_000 },
  );
}

beforeAll(async () => {
  stack = await fullStack('nap.test');
  out = mkdtempSync(path.join(tmpdir(), 'nvt-compare-'));
  await startDnsmasq(stack.ns, {
    listen: '127.0.0.53',
    lines: ['local=/test/', ...zone('nap.test', { main: DEAD, files: DEAD, wildcard: DEAD })],
  });
  await startDnsmasq(stack.ns, {
    listen: '127.0.0.54',
    lines: ['local=/test/', ...zone('nap.test', { browsers: DEAD, wildcard: DEAD })],
  });
  inside = path.join(out, 'inside.json');
  laptop = path.join(out, 'laptop.json');
  const args = [...stack.args, '--no-hold', '--skip', 'turn', '--timeout', '3'];
  const [a, b] = await Promise.all([
    runWithResolver('127.0.0.53', [
      ...args,
      '--vantage',
      'in-cluster',
      '--json',
      inside,
      '--junit',
      path.join(out, 'inside.xml'),
    ]),
    runWithResolver('127.0.0.54', [
      ...args,
      '--vantage',
      'laptop',
      '--json',
      laptop,
      '--report',
      path.join(out, 'laptop.md'),
    ]),
  ]);
  // Both views have a dead name, so both runs fail; stderr stays clean.
  expect([a.code, a.stderr, b.code, b.stderr]).toEqual([1, '', 1, '']);
}, 120_000);
afterAll(runCleanups);

const status = (file: string, id: string) =>
  JSON.parse(readFileSync(file, 'utf8')).checks.find((c: { id: string }) => c.id === id)?.status;

describe('--vantage', () => {
  it('labels the JSON, the JUnit file and the report header', () => {
    expect(JSON.parse(readFileSync(inside, 'utf8')).vantage).toBe('in-cluster');
    expect(JSON.parse(readFileSync(inside, 'utf8')).options.vantage).toBe('in-cluster');
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      readFileSync(path.join(out, 'inside.xml'), 'utf8'),
    );
    expect(junit.testsuites.name).toBe('nap-verify nap.test from in-cluster');
    for (const s of junit.testsuites.testsuite) {
      expect(s.hostname).toBe('in-cluster');
      expect(s.properties.property).toEqual({ name: 'vantage', value: 'in-cluster' });
    }
    expect(readFileSync(path.join(out, 'laptop.md'), 'utf8')).toMatch(/^\| Vantage \| laptop \(--vantage; /m);
  });

  it('defaults to the host name, and rejects a label that cannot name a column', async () => {
    const r = await runCli(stack.ns, [...stack.args, '--only', 'env.proxy', '--format', 'json']);
    expect(r.json.vantage).toBe(os.hostname());
    const bad = await runCli(stack.ns, [...stack.args, '--vantage', 'my laptop']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'nap-verify: --vantage my laptop: 1-63 letters, digits and . _ : @ + - (like laptop or in-cluster)\n',
    );
    const env = await runCli(stack.ns, [...stack.args, '--only', 'env.proxy', '--format', 'json'], {
      env: { NAP_VERIFY_VANTAGE: 'ci-runner' },
    });
    expect(env.json.vantage).toBe('ci-runner');
  });

  it('the two views really differ where the DNS answers differ', () => {
    expect([status(inside, 'tls.main'), status(laptop, 'tls.main')]).toEqual(['fail', 'pass']);
    expect([status(inside, 'tls.browsers'), status(laptop, 'tls.browsers')]).toEqual(['pass', 'fail']);
    expect([status(inside, 'tls.preview'), status(laptop, 'tls.preview')]).toEqual(['fail', 'fail']);
    expect([status(inside, 'tls.sandbox'), status(laptop, 'tls.sandbox')]).toEqual(['pass', 'pass']);
  });
});

describe('compare', () => {
  it('merges the runs check by check and says what each difference means', async () => {
    const r = await runCli(stack.ns, ['compare', inside, laptop, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const j = r.json;
    expect(j).toMatchObject({ tool: 'nap-verify', kind: 'compare', domain: 'nap.test' });
    expect(j.vantages.map((v: { name: string; inside: boolean }) => [v.name, v.inside])).toEqual([
      ['in-cluster', true],
      ['laptop', false],
    ]);
    const row = (id: string) => j.checks.find((c: { id: string }) => c.id === id);
    expect(row('tls.main').verdict).toBe('hairpin');
    expect(row('tls.main').meaning).toMatch(
      /works outside \(laptop\) but fails inside the cluster \(in-cluster\): hairpin NAT/,
    );
    expect(row('tls.main').cells['in-cluster']).toMatchObject({
      status: 'fail',
      code: 'TLS_HANDSHAKE',
      host: 'nap.test',
    });
    expect(row('tls.browsers').verdict).toBe('in-front');
    expect(row('tls.browsers').meaning).toMatch(/load balancer, firewall or public DNS in front of the ingress/);
    expect(row('tls.preview').verdict).toBe('everywhere');
    expect(row('tls.sandbox').verdict).toBe('same');
    expect(row('http.sandbox').verdict).toBe('same');
    // A check skipped on one side (its prerequisite failed there) is no evidence: one view only.
    expect(row('http.main').cells['in-cluster'].status).toBe('skip');
    expect(row('http.main').verdict).toBe('one-view');
    expect(j.conclusions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            /^\d+ checks? fail only outside: look at the load balancer, firewall or public DNS /.source +
              /in front of the ingress \(.*tls\.browsers/.source,
          ),
        ),
        expect.stringMatching(
          /^\d+ checks? fail only inside the cluster: look at hairpin NAT and split-horizon DNS \(.*tls\.main/,
        ),
        expect.stringMatching(/^\d+ checks? fail everywhere: look at the ingress or the platform \(.*tls\.preview/),
      ]),
    );
  });

  it('prints one readable table, and writes the comparison as Markdown and HTML in the report look', async () => {
    const md = path.join(out, 'cmp.md');
    const html = path.join(out, 'cmp.html');
    const t = await runCli(stack.ns, ['compare', inside, laptop, '--report', md]);
    expect(t.stdout).toMatch(/^nap-verify compare \d+\.\d+\.\d+ {2}nap\.test$/m);
    expect(t.stdout).toMatch(/^ {2}check +in-cluster +laptop +meaning$/m);
    expect(t.stdout).toMatch(
      /^ {2}tls\.main +✖ FAIL TLS_HANDSHAKE +✔ PASS +works outside \(laptop\) but fails inside the cluster/m,
    );
    expect(t.stdout).toMatch(
      new RegExp(
        /^ {2}tls\.browsers +✔ PASS +✖ FAIL TLS_HANDSHAKE +/.source +
          /works inside the cluster \(in-cluster\) but fails outside \(laptop\)/.source,
        'm',
      ),
    );
    const m = readFileSync(md, 'utf8');
    expect(m).toMatch(/^# nap-verify comparison: nap\.test$/m);
    expect(m).toMatch(/^\| FAIL \| tls\.main \| FAIL TLS_HANDSHAKE \| PASS \| works outside/m);
    await runCli(stack.ns, ['compare', inside, laptop, '--report', html]);
    const h = readFileSync(html, 'utf8');
    expect(h).toMatch(/^<!doctype html>/);
    expect(h).toContain('<span class="badge fail">FAIL</span></td><td>tls.main</td>');
    expect(h).not.toMatch(/<script/i);
  });

  it('reads a browser-page result (fewer checks, other ids): missing is "not run there"', async () => {
    const browser = path.join(out, 'browser.json');
    writeFileSync(
      browser,
      JSON.stringify({
        tool: 'nap-verify',
        schema: 1,
        vantage: 'browser',
        startedAt: new Date().toISOString(),
        target: { domain: 'nap.test' },
        summary: { pass: 1, warn: 0, fail: 1, skip: 0, status: 'fail' },
        checks: [
          {
            id: 'tls.main',
            title: 'TLS on the main host',
            status: 'pass',
            message: 'fetch https://nap.test/ resolved',
          },
          {
            id: 'turn.tcp',
            title: 'TURN relay over TCP',
            status: 'fail',
            code: 'TURN_TIMEOUT',
            host: '203.0.113.20',
            message: 'no relay candidate over TCP within 8 s',
          },
        ],
      }),
    );
    const r = await runCli(stack.ns, ['compare', inside, laptop, browser, '--format', 'json']);
    const row = (id: string) => r.json.checks.find((c: { id: string }) => c.id === id);
    expect(row('tls.main').cells.browser.status).toBe('pass');
    expect(row('tls.main').verdict).toBe('hairpin');
    expect(row('tls.files').cells.browser).toBeNull();
    // The runs here left TURN out (--skip turn): only the browser judged it.
    expect(row('turn.tcp')).toMatchObject({
      verdict: 'one-view',
      cells: { 'in-cluster': null, laptop: null, browser: { code: 'TURN_TIMEOUT' } },
    });
    const t = await runCli(stack.ns, ['compare', inside, laptop, browser]);
    expect(t.stdout).toMatch(/^ {2}tls\.files +✖ FAIL TLS_HANDSHAKE +✔ PASS +– not run +/m);
  });

  it('--inside marks another vantage point as inside; bad input is one line and exit 2', async () => {
    const r = await runCli(stack.ns, ['compare', inside, laptop, '--inside', 'laptop', '--format', 'json']);
    expect(r.json.vantages.map((v: { inside: boolean }) => v.inside)).toEqual([true, true]);
    expect(r.json.checks.find((c: { id: string }) => c.id === 'tls.main').verdict).toBe('client-network');
    const cases: Array<[string[], string]> = [
      [['compare', inside], 'nap-verify: compare: compare needs at least two result files (one per vantage point)\n'],
      [
        ['compare', inside, path.join(out, 'nope.json')],
        `nap-verify: compare: cannot read ${path.join(out, 'nope.json')} (ENOENT)\n`,
      ],
      [
        ['compare', inside, path.join(out, 'laptop.md')],
        expect.stringMatching(/^nap-verify: compare: .*laptop\.md is not JSON \(/) as unknown as string,
      ],
      [
        ['compare', inside, laptop, '--inside', 'office'],
        'nap-verify: compare: --inside office: no such vantage point (have in-cluster, laptop)\n',
      ],
    ];
    for (const [args, err] of cases) {
      const x = await runCli(stack.ns, args);
      expect(x.code).toBe(2);
      expect(x.stderr).toEqual(err);
    }
    const other = path.join(out, 'other.json');
    writeFileSync(
      other,
      JSON.stringify({ ...JSON.parse(readFileSync(laptop, 'utf8')), target: { domain: 'acme.test' } }),
    );
    const d = await runCli(stack.ns, ['compare', inside, other]);
    expect(d.stderr).toBe(
      'nap-verify: compare: these results are for different domains (nap.test, acme.test): compare runs against ' +
        'one install\n',
    );
  });
});
