// The one-file bundle for air-gapped hosts: its size, and its start-up and --no-hold run time next to the installed
// command's (the split bundle in dist/bin/) and the tsc modules' (dist/src/cli.js, what the command was before),
// against the real local stack. Figures go to bench/RESULTS.md; nothing is asserted.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, it } from 'vitest';
import { CLI_PATH, REPO_ROOT } from '../test/harness/cli.js';
import { makeTempDir, runCleanups } from '../test/harness/proc.js';
import { fullStack, type FullStack } from '../test/support/ingress.js';
import { median, writeSection } from './results.js';

let stack: FullStack;
let bundle: string;
const rows: string[] = [];
const note = (line: string) => {
  rows.push(line);
  console.log(line);
};

beforeAll(async () => {
  stack = await fullStack('nap.test');
  const dir = await makeTempDir('nvb-bundle-');
  bundle = path.join(dir, 'nap-verify.mjs');
  execFileSync('node', [path.join(REPO_ROOT, 'scripts', 'build-bundle.mjs'), '--outfile', bundle], {
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
}, 180_000);
afterAll(() => {
  writeSection('One-file bundle', rows.join('\n'));
  return runCleanups();
});

/** Median wall time (ms) of a command over n runs, inside the stack's namespace. */
async function timed(cmd: string, n: number): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await stack.ns.exec(
      'bash',
      ['-c', `s=$(date +%s%N); ${cmd} >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`],
      { timeoutMs: 60_000 },
    );
    runs.push(Number(r.stdout.trim()));
  }
  return median(runs);
}

/** Peak RSS (MiB) of a command, from GNU time, the highest of n runs. */
async function peakRss(cmd: string, n: number): Promise<string> {
  let kb = 0;
  for (let i = 0; i < n; i++) {
    const r = await stack.ns.exec('bash', ['-c', `/usr/bin/time -f %M ${cmd} 2>&1 >/dev/null | tail -1`], {
      timeoutMs: 60_000,
    });
    kb = Math.max(kb, Number(r.stdout.trim()) || 0);
  }
  return `${(kb / 1024).toFixed(0)} MiB`;
}

it('size, start-up and a --no-hold run: one-file bundle vs the installed command vs tsc modules', async () => {
  const bytes = statSync(bundle).size;
  const gz = gzipSync(readFileSync(bundle)).length;
  const args = stack.args.map((a) => `'${a}'`).join(' ');
  const tsc = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
  const builds = [bundle, CLI_PATH, tsc];
  const version: number[] = [];
  const run: number[] = [];
  const rss: string[] = [];
  for (const b of builds) {
    version.push(await timed(`node ${b} --version`, 10));
    run.push(await timed(`node ${b} ${args} --no-hold --format json`, 5));
    rss.push(await peakRss(`node ${b} ${args} --no-hold --format json`, 3));
  }
  note(
    `\`dist/nap-verify.mjs\` (\`npm run bundle\`, esbuild, minified, every check and the responder inside): ` +
      `**${(bytes / 1024).toFixed(0)} KiB** (${(gz / 1024).toFixed(0)} KiB gzipped).\n`,
  );
  note(
    '| median | one file (`node nap-verify.mjs`) | installed command (`dist/bin/`, split bundle) | tsc modules ' +
      '(`dist/src/cli.js` + node_modules) |',
  );
  note('|---|---|---|---|');
  note(`| \`--version\` start-up (10 runs) | ${version.map((v) => `${v} ms`).join(' | ')} |`);
  note(`| \`--no-hold\` run on the healthy stack, TURN included (5 runs) | ${run.map((v) => `${v} ms`).join(' | ')} |`);
  note(`| peak RSS of that run (highest of 3) | ${rss.join(' | ')} |`);
});
