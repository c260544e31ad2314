// The one-file bundle for air-gapped hosts: its size, and its start-up and --no-hold run time next to the installed
// CLI's, against the real local stack. Figures go to bench/RESULTS.md; nothing is asserted.
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

it('size, start-up and a --no-hold run: bundle vs installed CLI', async () => {
  const bytes = statSync(bundle).size;
  const gz = gzipSync(readFileSync(bundle)).length;
  const args = stack.args.map((a) => `'${a}'`).join(' ');
  const versionBundle = await timed(`node ${bundle} --version`, 10);
  const versionCli = await timed(`node ${CLI_PATH} --version`, 10);
  const runBundle = await timed(`node ${bundle} ${args} --no-hold --format json`, 5);
  const runCli = await timed(`node ${CLI_PATH} ${args} --no-hold --format json`, 5);
  note(
    `\`dist/nap-verify.mjs\` (\`npm run bundle\`, esbuild, minified, every check and the responder inside): ` +
      `**${(bytes / 1024).toFixed(0)} KiB** (${(gz / 1024).toFixed(0)} KiB gzipped).\n`,
  );
  note('| median | bundle (`node nap-verify.mjs`) | installed CLI (`dist/src/cli.js` + node_modules) |');
  note('|---|---|---|');
  note(`| \`--version\` start-up (10 runs) | ${versionBundle} ms | ${versionCli} ms |`);
  note(`| \`--no-hold\` run on the healthy stack, TURN included (5 runs) | ${runBundle} ms | ${runCli} ms |`);
});
