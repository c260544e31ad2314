// The exporter's costs against the real local stack: a quick probe through the exporter vs the CLI's --no-hold
// run (same checks, same stack), and 1,000 consecutive probes: RSS, the heap left after a full collection (a
// bench-only hook, bench/support/gc-on-signal.mjs) and open file descriptors of the exporter before and after.
// Figures go to bench/RESULTS.md; targets (≤ 1.3×, < 10 MB, no fd growth) are reported.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { CLI_PATH } from '../test/harness/cli.js';
import { makeTempDir, runCleanups, type ManagedProc } from '../test/harness/proc.js';
import { fullStack, STACK_TURN_IP, waitPort, type FullStack } from '../test/support/ingress.js';
import { median, writeSection } from './results.js';

let stack: FullStack;
let exporter: ManagedProc;
const PORT = 9816;
const rows: string[] = [];
const note = (line: string) => {
  rows.push(line);
  console.log(line);
};

beforeAll(async () => {
  stack = await fullStack('nap.test');
  const dir = await makeTempDir('nvb-exporter-');
  const secretFile = stack.args[stack.args.indexOf('--turn-secret-file') + 1]!;
  const config = path.join(dir, 'exporter.yaml');
  writeFileSync(
    config,
    [
      // The background full run (started with the exporter) holds for 1 s, not 75: it is over before the first
      // measurement, so the figures below are the quick probes' own.
      'hold: 1',
      'defaults:',
      `  caFile: ${stack.rootPem}`,
      'targets:',
      `  nap.test: { httpsPort: ${stack.httpsPort}, httpPort: ${stack.httpPort}, turn: ${STACK_TURN_IP}, ` +
        `turnSecretFile: ${secretFile} }`,
      '',
    ].join('\n'),
  );
  const gcHook = new URL('./support/gc-on-signal.mjs', import.meta.url).pathname;
  exporter = stack.ns.spawn('node', [
    '--expose-gc',
    '--import',
    gcHook,
    CLI_PATH,
    'exporter',
    '--listen',
    `127.0.0.1:${PORT}`,
    '--config',
    config,
  ]);
  await waitPort(stack.ns, PORT, 'exporter');
}, 120_000);
afterAll(() => {
  writeSection('Exporter', rows.join('\n'));
  return runCleanups();
});

const sh = (cmd: string, timeoutMs = 600_000) =>
  stack.ns.exec('bash', ['-c', cmd], { timeoutMs, env: { ...process.env, NO_COLOR: '1' } as NodeJS.ProcessEnv });
const q = (a: string[]) => a.map((x) => `'${x}'`).join(' ');

/** RSS (KiB) and open descriptors of the exporter process, and its heap in use after a full collection (bytes). */
async function usage(): Promise<{ rssKb: number; fds: number; heapAfterGc: number }> {
  const seen = exporter.output().match(/gc-on-signal heapUsed=\d+/g)?.length ?? 0;
  process.kill(exporter.pid, 'SIGUSR2');
  let heapAfterGc = 0;
  for (let i = 0; i < 50 && !heapAfterGc; i++) {
    await new Promise((res) => setTimeout(res, 100));
    const all = [...exporter.output().matchAll(/gc-on-signal heapUsed=(\d+)/g)];
    if (all.length > seen) heapAfterGc = Number(all[all.length - 1]![1]);
  }
  const r = await sh(`grep VmRSS /proc/${exporter.pid}/status | awk '{print $2}'; ls /proc/${exporter.pid}/fd | wc -l`);
  const [rss, fds] = r.stdout.trim().split('\n').map(Number);
  return { rssKb: rss!, fds: fds!, heapAfterGc };
}

it('a quick probe through the exporter vs the CLI --no-hold run', async () => {
  const cli: number[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await sh(
      `/usr/bin/time -f '%e' node ${CLI_PATH} ${q(stack.args)} --no-hold >/dev/null 2>/tmp/nvb-exp-time; tail -1 ` +
        `/tmp/nvb-exp-time`,
    );
    cli.push(Number(r.stdout.trim()) * 1000);
  }
  const probe: number[] = [];
  const inRun: number[] = [];
  for (let i = 0; i < 15; i++) {
    const r = await sh(
      `curl -s -o /tmp/nvb-exp-body -w '%{time_total}' ` +
        `'http://127.0.0.1:${PORT}/probe?target=nap.test&module=quick'; echo; grep ` +
        `'^nap_verify_probe_duration_seconds\\|^nap_verify_probe_success' /tmp/nvb-exp-body`,
    );
    const [total, ...lines] = r.stdout.trim().split('\n');
    if (i < 3) continue; // the first probes compile the checks' code paths
    probe.push(Number(total) * 1000);
    inRun.push(Number(lines.find((l) => l.startsWith('nap_verify_probe_duration_seconds'))!.split(' ')[1]) * 1000);
    if (!lines.includes('nap_verify_probe_success 1')) note(`(probe ${i} did not succeed)`);
  }
  const ratio = median(probe) / median(cli);
  note('| measure | median |');
  note('|---|---|');
  note(`| CLI \`--no-hold\` run, process start included (7 runs) | ${median(cli).toFixed(0)} ms |`);
  note(
    `| \`/probe?module=quick\` through the exporter, HTTP round trip (12 warm probes) | ` +
      `${median(probe).toFixed(0)} ms |`,
  );
  note(`| the run inside that probe (\`nap_verify_probe_duration_seconds\`) | ${median(inRun).toFixed(0)} ms |`);
  note(`| exporter / CLI | ${ratio.toFixed(2)}× (target ≤ 1.3×) |`);
  note('');
}, 600_000);

it('1,000 consecutive quick probes: RSS and file descriptors of the exporter', async () => {
  for (let i = 0; i < 20; i++) await sh(`curl -s -o /dev/null 'http://127.0.0.1:${PORT}/probe?target=nap.test'`);
  const before = await usage();
  const began = Date.now();
  // One curl process per half (a new TCP connection each, as Prometheus reconnects rarely; sequential). Halves: what
  // the first 500 leave behind (caches filling) apart from what the next 500 add (a leak would go on growing).
  const half = () =>
    sh(
      `ok=0; for i in $(seq 1 500); do curl -s 'http://127.0.0.1:${PORT}/probe?target=nap.test' | grep -q ` +
        `'^nap_verify_probe_success 1' && ok=$((ok+1)); done; echo $ok`,
      1_800_000,
    );
  const first = await half();
  const middle = await usage();
  const second = await half();
  const r = { stdout: String(Number(first.stdout.trim()) + Number(second.stdout.trim())) };
  const secs = (Date.now() - began) / 1000;
  // Give the collector a moment to settle, as a long-running process would between scrapes.
  await new Promise((res) => setTimeout(res, 3000));
  const after = await usage();
  const growthMb = (after.rssKb - before.rssKb) / 1024;
  note('| 1,000 probes | before | after | change |');
  note('|---|---|---|---|');
  note(
    `| RSS | ${(before.rssKb / 1024).toFixed(1)} MB | ${(after.rssKb / 1024).toFixed(1)} MB | ` +
      `${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB (target < 10 MB) |`,
  );
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const delta = (a: number, b: number) => `${b - a >= 0 ? '+' : ''}${mb(b - a)}`;
  note(
    `| heap in use after a full GC (the leak measure) | ${mb(before.heapAfterGc)} | ${mb(after.heapAfterGc)} | ` +
      `${delta(before.heapAfterGc, after.heapAfterGc)}; over the last 500 probes ` +
      `${delta(middle.heapAfterGc, after.heapAfterGc)} (${mb(middle.heapAfterGc)} after the first 500) |`,
  );
  note(
    `| open file descriptors | ${before.fds} | ${after.fds} | ` +
      `${after.fds - before.fds >= 0 ? '+' : ''}${after.fds - before.fds} (target: no growth) |`,
  );
  note(
    `| probes that succeeded | | ${r.stdout.trim()} / 1000 | ${((secs * 1000) / 1000).toFixed(0)} ms per probe ` +
      `on average (${secs.toFixed(0)} s in all) |`,
  );
  note('');
}, 1_900_000);
