// One cause, one finding (spec §4), against real servers at the default options: no DNS records at all, one
// untrusted certificate, one proxy timeout. The text names the cause once with every host it touches and prints its
// fix once; the checks that could not run say so in one line; the JSON keeps every check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { fullStack, nginxSite, UPGRADE_MAP, type FullStack } from './support/ingress.js';

let stack: FullStack;
const CUT_PORT = 8453;

beforeAll(async () => {
  stack = await fullStack('nap.test');
  // The same install behind an nginx whose stream timeouts are 3 s.
  await startNginx(
    stack.ns,
    [
      UPGRADE_MAP,
      nginxSite(stack, { cp: 3000, browser: 3005, sandbox: 3006 }, { port: CUT_PORT, readTimeout: '3s' }),
    ].join('\n'),
  );
}, 120_000);
afterAll(runCleanups);

/** A finding's wrapped lines read as one text. */
const flat = (s: string) => s.replace(/\n +/g, ' ');
const lineCount = (s: string) => s.trimEnd().split('\n').length;
const count = (s: string, re: RegExp) => s.match(new RegExp(re.source, 'gm'))?.length ?? 0;
/** The lines of the finding that starts with `head`, up to the next line at the left margin. */
function finding(stdout: string, head: RegExp): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => head.test(l));
  expect(at, stdout).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > at && /^ {2}\S|^\S|^$/.test(l));
  return lines.slice(at, end).join('\n');
}

describe('one cause, one finding', () => {
  it('no DNS records at all (the state before DNS is set up): one finding naming each host, the fix once', async () => {
    const domain = 'acme.test';
    const r = await runCli(stack.ns, ['--domain', domain], { timeoutMs: 60_000 });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toBe('');
    expect(lineCount(r.stdout), r.stdout).toBeLessThan(50);
    const dns = finding(r.stdout, /^ {2}✖ DNS_NXDOMAIN {2}/);
    for (const host of [domain, `files.${domain}`, `browsers.${domain}`, `sandbox.${domain}`])
      expect(dns).toMatch(new RegExp(`(^|[ ,])${host.replace(/\./g, '\\.')}[,:]`, 'm'));
    expect(flat(dns)).toMatch(/nvf[0-9a-f]{10}\.sandbox\.acme\.test does not exist/);
    expect(count(r.stdout, /DNS_NXDOMAIN/)).toBe(1);
    expect(count(r.stdout, /↳ fix:/)).toBe(1);
    expect(count(r.stdout, /Add an A\/AAAA record/)).toBe(1);
    expect(count(r.stdout, /Create it in the zone/)).toBe(1);
    // What could not run says so once, under its cause, and no other reason is claimed for it.
    const behind = finding(r.stdout, /^ {6}○ not run because of it:/);
    for (const id of ['tls.main', 'http.files', 'ws.h2', 'env.clock', 'hold.ws.main', 'hold.wait.sandbox'])
      expect(behind).toContain(id);
    expect(r.stdout).not.toMatch(/no responder|NOT tested|no Date header/);
    // The JSON keeps every check as it is.
    const j = await runCli(stack.ns, ['--domain', domain, '--format', 'json'], { timeoutMs: 60_000 });
    const failed = j.json.checks.filter((c: { status: string }) => c.status === 'fail');
    expect(failed.map((c: { id: string; code: string }) => `${c.id} ${c.code}`)).toEqual([
      'dns.main DNS_NXDOMAIN',
      'dns.files DNS_NXDOMAIN',
      'dns.browsers DNS_NXDOMAIN',
      'dns.sandbox DNS_NXDOMAIN',
      'dns.preview DNS_NXDOMAIN',
    ]);
    expect(j.json.checks.length).toBe(j.json.summary.pass + j.json.summary.fail + j.json.summary.skip);
  }, 120_000);

  it('one untrusted certificate on every host: one finding, the five hosts, the fix once', async () => {
    const args = stack.args.filter((a, i, all) => a !== '--ca-file' && all[i - 1] !== '--ca-file');
    // --no-hold: the holds would run on through the untrusted chain (the HTTP checks tolerate it) for 75 s.
    const r = await runCli(stack.ns, [...args, '--no-hold'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout).toBe(1);
    const tls = finding(r.stdout, /^ {2}✖ TLS_[A-Z_]+ {2}tls\./);
    const code = tls.match(/TLS_[A-Z_]+/)![0];
    expect(count(r.stdout, new RegExp(code))).toBe(1);
    for (const id of ['tls.main', 'tls.files', 'tls.browsers', 'tls.sandbox', 'tls.preview']) expect(tls).toContain(id);
    for (const host of ['files.nap.test', 'browsers.nap.test', 'sandbox.nap.test']) expect(tls).toContain(host);
    expect(count(tls, /↳ fix:/)).toBe(1);
    // The five chains end at one root: one sentence names every host.
    expect(flat(tls)).toMatch(/chain for nap\.test, files\.nap\.test, browsers\.nap\.test, sandbox\.nap\.test and nvf/);
    expect(count(r.stdout, /which this machine does not trust/)).toBe(1);
  }, 120_000);

  it('one proxy timeout on every stream: one finding naming each hold, the fix once', async () => {
    const args = stack.args.map((a, i, all) => (all[i - 1] === '--https-port' ? String(CUT_PORT) : a));
    const r = await runCli(stack.ns, [...args, '--hold', '5', '--skip', 'turn,http.redirect'], {
      timeoutMs: 90_000,
    });
    expect(r.code, r.stdout).toBe(1);
    expect(count(r.stdout, /HOLD_CUT/), r.stdout).toBe(1);
    const cut = finding(r.stdout, /^ {2}✖ HOLD_CUT {2}/);
    for (const id of ['hold.sse.main', 'hold.ws.main', 'hold.ws.browsers', 'hold.ws.sandbox', 'hold.ws.preview'])
      expect(cut).toContain(id);
    expect(count(cut, /↳ fix:/)).toBe(1);
    expect(count(r.stdout, /proxy_read_timeout/)).toBeGreaterThan(0);
  }, 120_000);
});
