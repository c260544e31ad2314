// The triage report (spec §4) from real runs: a healthy stack and a broken one, as Markdown and as one HTML page
// rendered in real headless Chromium; `explain` for every check id and code of the spec.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureOverflow } from './harness/chromium.js';
import { CLI_PATH, REPO_ROOT, runCli } from './harness/cli.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import { fullStack, STACK_TURN_SECRET, type FullStack } from './support/ingress.js';
import { runShape, SPEC_CODES, SPEC_IDS } from './support/spec-codes.js';

const execFileAsync = promisify(execFile);

let stack: FullStack;
let out: string;
const WRONG_SECRET = 'nvt-wrong-secret-9f8e7d';

beforeAll(async () => {
  stack = await fullStack('nap.test');
  out = await makeTempDir('nvt-report-');
}, 60_000);
afterAll(runCleanups);

/** Headings and table headers: the report's structure, without timings or random names. */
function structure(md: string): string[] {
  return md
    .split('\n')
    .filter((l) => /^#{1,4} |^\| (status|asked|#|stream|) \||^<details>/.test(l))
    .map((l) =>
      l
        .replace(/nvf[0-9a-f]{10}/g, 'nvf…')
        .replace(/<\/summary>.*/, '</summary>')
        .replace(/: [^<]*<\/summary>/, '</summary>'),
    );
}

describe('triage report', () => {
  it('healthy run, Markdown: verdict first, no problems, summary table with links, passing checks folded', async () => {
    const file = path.join(out, 'healthy.md');
    const r = await runCli(stack.ns, [...stack.args, '--hold', '2', '--report', file]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^report written to ${file.replace(/[.]/g, '\\.')}$`, 'm'));
    const md = readFileSync(file, 'utf8');
    const lines = md.split('\n').filter(Boolean);
    expect(lines[0]).toBe('# nap-verify triage report: nap.test');
    // At --hold 2 every hold is HOLD_SHORT (a warning); everything else passes.
    const shape = await runShape();
    const { holds, allButHold } = shape;
    expect(lines[1]).toBe(
      `**Verdict: WARN: ${holds} warnings — see Problems below. ${allButHold} passed, 0 failed, ${holds} ` +
        `warnings, 0 skipped.**`,
    );
    expect(md).toMatch(
      /^\| Ingress controller \| ingress-nginx \(from its Server header, error pages or fallback certificate\) \|$/m,
    );
    expect(md).toMatch(/^\| Vantage \| \S+ \(this run's machine/m);
    expect(md).toMatch(/^\| Client public address \| 203\.0\.113\.20 \(as the TURN server saw it over UDP\) \|$/m);
    expect(md).toMatch(/^\| Resolvers \| 127\.0\.0\.1:53 \(system\) \|$/m);
    const s = structure(md);
    expect(s.filter((l) => /^## /.test(l))).toEqual(['## Problems', '## Summary', '## Details']);
    // A HOLD_SHORT warning per hold, one fix: printed once, the others point back to it.
    expect(md.match(/^### WARN \d\. hold\./gm)).toHaveLength(holds);
    expect(md.match(/^- Run with --hold 75 \(the default\) or longer\.$/gm)).toHaveLength(1);
    expect(md.match(/Fix: the same as for \[hold\.sse\.main\]\(#check-hold\.sse\.main\) above\./g)).toHaveLength(
      holds - 1,
    );
    expect(md).toContain('| PASS | [tls.preview](#check-tls.preview) |');
    expect(md).toContain('<a id="check-tls.preview"></a>');
    expect(s).toContain('<details><summary>PASS tls.preview — TLS certificate for *.sandbox.nap.test</summary>');
    expect(s).toContain('#### WARN hold.ws.browsers — Idle WebSocket held on browsers.nap.test');
    expect(md).not.toContain('<d>');
    // One DNS table per dns.<role>, one chain table per tls.<role>, one timeline per hold.
    expect(s.filter((l) => l.startsWith('| asked |'))).toHaveLength(shape.dnsRoles);
    expect(s.filter((l) => l.startsWith('| # |'))).toHaveLength(shape.tlsRoles);
    expect(s.filter((l) => l.startsWith('| stream |'))).toHaveLength(shape.streamHolds);
    expect(md).toMatch(/\| 1 \| CN=Ingress Intermediate CA \| — \| CN=Ingress Root CA \|/);
    expect(md).toMatch(/\| silent \| \d\.\d s \| \d\.\d s \| \d\.\d s \| still open after the hold \|/);
    // Evidence is trimmed: no evidence block runs past its limit.
    const blocks = md.split(/<\/?pre>/).filter((_, i) => i % 2 === 1);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(block.trim().split('\n').length).toBeLessThanOrEqual(25);
    expect(md).not.toContain(STACK_TURN_SECRET);
  });

  it('failing run, HTML: problems first (fails, then warnings) with fixes and links; no sideways scroll at 1280 ' +
    'and 800 px in Chromium', async () => {
    const values = path.join(out, 'values.env');
    writeFileSync(
      values,
      [
        'NAP_HOST=nap.test',
        'INGRESS_MODE=external',
        'BROWSER_ENABLED=true',
        'SANDBOX_ENABLED=true',
        'FILES_PUBLIC_URL=https://nap.test/files',
        'TURN_HOST=203.0.113.20',
        'TURN_PORT=3479',
        `TURN_AUTH_SECRET=${WRONG_SECRET}`,
      ].join('\n'),
    );
    const html = path.join(out, 'triage.html');
    const args = [
      '--values',
      values,
      '--https-port',
      String(stack.httpsPort),
      '--http-port',
      String(stack.httpPort),
      '--ca-file',
      stack.rootPem,
      '--turn',
      '203.0.113.20',
      '--expect-ip',
      '127.0.0.9',
      '--no-hold',
      '--report',
      html,
    ];
    const r = await runCli(stack.ns, args);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`report written to ${html}`);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).not.toMatch(/<script|<link |src="http|href="http/i);
    expect(page).toMatch(/<p class="verdict fail">Verdict: FAIL: \d+ failed/);
    // The order a reader needs: verdict, problems (fails before warnings), then the summary table, then details.
    const at = (needle: string) => page.indexOf(needle);
    expect(at('id="problems"')).toBeGreaterThan(at('class="verdict'));
    expect(at('id="summary"')).toBeGreaterThan(at('id="problems"'));
    expect(at('id="details"')).toBeGreaterThan(at('id="summary"'));
    const problemHeads = [...page.matchAll(/<h3 id="problem-[^"]+" class="st (fail|warn)">/g)].map((m) => m[1]);
    expect(problemHeads.length).toBeGreaterThan(2);
    expect(problemHeads).toEqual([...problemHeads].sort());
    expect(page).toContain('<span class="badge fail">FAIL</span> 1. config.values');
    expect(page).toMatch(/<h4 id="check-config\.values" class="st fail">/);
    expect(page).toContain('(<a href="#check-config.values">details</a>)');
    expect(page).toContain('<a href="#check-dns.consistent">dns.consistent</a>');
    expect(page).toContain(
      'FILES_PUBLIC_URL=https://nap.test/files should be a URL on files.nap.test (exported file links land on ' +
        'the login page',
    );
    expect(page).toContain('TURN_PORT=3479 should be 3478');
    expect(page).toContain('TURN_AUTH_REJECTED');
    expect(page).toMatch(
      new RegExp(
        /<details id="check-tls\.main" class="pass"><summary><span class="badge pass">PASS<\/span> /.source +
          /tls\.main — TLS certificate for nap\.test: /.source,
      ),
    );
    expect(page).toContain('@media print');
    for (const secret of [WRONG_SECRET, STACK_TURN_SECRET]) {
      expect(page).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
    // A real browser renders it at a desktop and a narrow width: screenshots for a person, and no sideways scroll
    // (every <details> opened, so folded evidence fits too).
    for (const width of [1280, 800]) {
      const png = path.join(out, `triage-${width}.png`);
      execFileSync('bash', [path.join(REPO_ROOT, 'scripts/screenshot.sh'), html, png, String(width), '2400'], {
        timeout: 90_000,
      });
      const head = readFileSync(png);
      expect(head.subarray(1, 4).toString()).toBe('PNG');
      expect(head.readUInt32BE(16)).toBe(width);
      expect(head.length).toBeGreaterThan(50_000);
      const m = measureOverflow(html, width);
      expect(m.innerWidth).toBe(width);
      expect(m.scrollWidth, m.wide.join(', ')).toBeLessThanOrEqual(width);
      expect(m.wide, `${width} px`).toEqual([]);
      // NAP_VERIFY_KEEP_SCREENSHOT=<dir> keeps the pictures for a person to look at.
      if (process.env.NAP_VERIFY_KEEP_SCREENSHOT)
        copyFileSync(png, path.join(process.env.NAP_VERIFY_KEEP_SCREENSHOT, path.basename(png)));
    }
  }, 180_000);

  it('--report takes .md or .html only', async () => {
    const r = await runCli(stack.ns, [...stack.args, '--report', path.join(out, 'r.pdf')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/name it \.md \(Markdown\) or \.html/);
  });
});

describe('explain', () => {
  const explain = (term: string) => execFileSync('node', [CLI_PATH, 'explain', term], { encoding: 'utf8' });
  // One process per term, four at a time: one after another they took ~35 s on a loaded two-core machine.
  const explainAll = async (terms: string[]): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    const queue = [...terms];
    const worker = async () => {
      for (let term = queue.shift(); term !== undefined; term = queue.shift()) {
        out.set(term, (await execFileAsync('node', [CLI_PATH, 'explain', term], { encoding: 'utf8' })).stdout);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return out;
  };

  it('every spec check id: what it proves and each of its codes with why and fix', async () => {
    const texts = await explainAll(SPEC_IDS);
    for (const id of SPEC_IDS) {
      const text = texts.get(id);
      expect(text, id).toMatch(new RegExp(`^${id.replace(/\./g, '\\.')} — `));
      expect(text, id).toMatch(/\nProves: .+\n/);
      expect(text, id).toMatch(/ {4}why: .+\n {4}fix: /);
    }
  }, 90_000); // 50 CLI processes: under a loaded machine this is slow, never wrong

  it('every spec code: why it happens and the fix per controller where fixes differ', async () => {
    const texts = await explainAll(SPEC_CODES);
    for (const code of SPEC_CODES) {
      const text = texts.get(code);
      // A code whose milder case warns says both (HTTP_BODY_LIMIT: fail or warn).
      expect(text, code).toMatch(new RegExp(`^${code} \\((fail|warn|skip)( or (warn|skip))?\\) — from `));
      expect(text, code).toMatch(/\nWhy: .+\n\nFix:\n {2}\S/);
    }
    expect(explain('HOLD_CUT')).toMatch(/^ {2}ingress-nginx: .*proxy-read-timeout: "3600"/m);
    expect(explain('HOLD_CUT')).toMatch(/^ {2}Contour: .*timeoutPolicy/m);
    expect(explain('HOLD_CUT')).toMatch(/^ {2}nginx: .*proxy_read_timeout 3600s/m);
    expect(explain('H2_MISROUTED')).toMatch(/^ {2}HAProxy: .*not `ssl_fc_sni`/m);
  }, 90_000); // 50 CLI processes: under a loaded machine this is slow, never wrong

  it('an unknown term is one line and exit 2', () => {
    let err: { status: number; stderr: string } | undefined;
    try {
      explain('NOPE_CODE');
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(2);
    expect(String(err?.stderr).trim().split('\n')).toHaveLength(1);
  });
});
