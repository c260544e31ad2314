// The benchmark suite of issue 6 against the real local stack (dnsmasq, nginx, haproxy, coturn, responder), several
// runs and medians; figures go to bench/RESULTS.md. Targets are reported, not asserted: speed is measured here.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, it } from 'vitest';
import { CLI_PATH, runCli } from '../test/harness/cli.js';
import { startNginx } from '../test/harness/nginx.js';
import { runCleanups } from '../test/harness/proc.js';
import {
  fullStack,
  nginxSite,
  startHaproxy,
  STACK_TURN_IP,
  STACK_TURN_SECRET,
  UPGRADE_MAP,
  type FullStack,
} from '../test/support/ingress.js';
import { startCoturn } from '../test/support/turn.js';
import { median, writeSection } from './results.js';

const FLOOR = fileURLToPath(new URL('./support/floor.mjs', import.meta.url));

let stack: FullStack;
const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const WIDE_TURN_IP = '203.0.113.21';
const rows: string[] = [];
const note = (line: string) => {
  rows.push(line);
  console.log(line);
};

beforeAll(async () => {
  stack = await fullStack('nap.test');
  // Proxies with short stream timeouts for the cut-off precision runs, beside the healthy 3600 s one.
  await startNginx(
    stack.ns,
    [
      UPGRADE_MAP,
      nginxSite(stack, R, { port: 8453, readTimeout: '3s' }),
      nginxSite(stack, R, { port: 8457, readTimeout: '7s' }),
    ].join('\n'),
  );
  await startHaproxy(stack, R, 9453, '3s');
  await startHaproxy(stack, R, 9457, '7s');
  // A coturn with room for 100+ simultaneous allocations, for the scaling runs.
  const { addAddress } = await import('../test/support/turn.js');
  await addAddress(stack.ns, WIDE_TURN_IP);
  await startCoturn(stack, {
    listenIp: WIDE_TURN_IP,
    secret: STACK_TURN_SECRET,
    realm: 'nap.test',
    denyInternal: true,
    minPort: 50000,
    maxPort: 51000,
  });
}, 120_000);
afterAll(() => {
  writeSection('Suite', rows.join('\n'));
  return runCleanups();
});

const sh = (cmd: string, timeoutMs = 120_000) =>
  stack.ns.exec('bash', ['-c', cmd], { timeoutMs, env: { ...process.env, NO_COLOR: '1' } as NodeJS.ProcessEnv });
const q = (a: string[]) => a.map((x) => `'${x}'`).join(' ');

/** Wall time (ms) and peak RSS (KiB) of one command, from GNU time. */
async function measure(cmd: string): Promise<{ ms: number; rssKb: number; code: number | null }> {
  const r = await sh(
    `/usr/bin/time -f '%e %M' ${cmd} >/dev/null 2>/tmp/nvb-time; code=$?; tail -1 /tmp/nvb-time; exit $code`,
  );
  const [secs, kb] = r.stdout.trim().split(/\s+/).map(Number);
  return { ms: Math.round((secs ?? 0) * 1000), rssKb: kb ?? 0, code: r.code };
}

it('--no-hold full run vs the same probes with the standard tools in sequence', async () => {
  // Its own section, so that running this benchmark alone (`-t`) keeps the suite's other figures.
  const rows: string[] = [];
  const note = (line: string) => {
    rows.push(line);
    console.log(line);
  };
  const ours: Array<{ ms: number; rssKb: number }> = [];
  for (let i = 0; i < 5; i++) ours.push(await measure(`node ${CLI_PATH} ${q(stack.args)} --no-hold`));
  const d = stack.domain;
  const hosts = [d, `files.${d}`, `browsers.${d}`, `sandbox.${d}`, `nvf0123456789.sandbox.${d}`];
  const paths = ['/.well-known/nap-verify', '/', '/healthz', '/health', '/api/config'];
  const tools = [
    ...hosts.map((h) => `dig +short +time=2 @127.0.0.1 ${h} A`),
    ...hosts.map(
      (h) =>
        `openssl s_client -connect 127.0.0.1:${stack.httpsPort} -servername ${h} -CAfile ${stack.rootPem} ` +
        `-verify_return_error </dev/null`,
    ),
    ...hosts.flatMap((h) =>
      paths.map(
        (p) =>
          `curl -s -o /dev/null --cacert ${stack.rootPem} --resolve ${h}:${stack.httpsPort}:127.0.0.1 ` +
          `https://${h}:${stack.httpsPort}${p}`,
      ),
    ),
    `curl -s -o /dev/null --resolve ${d}:${stack.httpPort}:127.0.0.1 http://${d}:${stack.httpPort}/`,
    `curl -s -o /dev/null --cacert ${stack.rootPem} --resolve ${d}:${stack.httpsPort}:127.0.0.1 ` +
      `https://${d}:${stack.httpsPort}/metrics`,
    `turnutils_stunclient ${STACK_TURN_IP}`,
    `turnutils_uclient -y -n 1 -m 1 -l 50 -W ${STACK_TURN_SECRET} -u bench -r ${d} ${STACK_TURN_IP}`,
  ];
  const theirs: number[] = [];
  for (let i = 0; i < 3; i++) theirs.push((await measure(`bash -c ${q([tools.join(' ; ')])}`)).ms);
  const withoutUclient: number[] = [];
  for (let i = 0; i < 3; i++) withoutUclient.push((await measure(`bash -c ${q([tools.slice(0, -1).join(' ; ')])}`)).ms);
  const m = median(ours.map((o) => o.ms));
  // Per-check durations from the JSON of further runs: what a loopback dns.* check costs inside a whole run.
  const per: Record<string, number[]> = {};
  for (let i = 0; i < 5; i++) {
    const r = await runCli(stack.ns, [...stack.args, '--no-hold', '--format', 'json'], { timeoutMs: 60_000 });
    for (const c of r.json.checks as Array<{ id: string; durationMs: number }>) {
      per[c.id] ??= [];
      per[c.id]!.push(c.durationMs);
    }
  }
  const dnsIds = Object.keys(per).filter((id) => /^dns\.(main|files|browsers|sandbox|preview)$/.test(id));
  const rss = Math.max(...ours.map((o) => o.rssKb));
  note(`### --no-hold full run (${Object.keys(per).length} checks) vs standard tools\n`);
  note(`| | median wall time | runs |`);
  note(`|---|---|---|`);
  note(
    `| nap-verify --no-hold (DNS, TLS, HTTP, WebSocket, SSE, TURN incl. 6 relayed allocations) | ${m} ms, peak ` +
      `RSS ${rss} KiB | ${ours.map((o) => o.ms).join(', ')} |`,
  );
  note(
    `| ${tools.length} commands in sequence: dig ×5, openssl s_client ×5, curl ×27, turnutils_stunclient, ` +
      `turnutils_uclient | ${median(theirs)} ms | ${theirs.join(', ')} |`,
  );
  note(
    `| the same without turnutils_uclient (its relay test alone takes seconds) | ${median(withoutUclient)} ms | ` +
      `${withoutUclient.join(', ')} |`,
  );
  note(
    `\nRatio nap-verify / tools: **${(m / median(theirs)).toFixed(3)}** (target ≤ 0.5); without uclient ` +
      `**${(m / median(withoutUclient)).toFixed(2)}** (target ≤ 0.6). The tools do less (no WebSocket, SSE, ` +
      `chain analysis or peer checks).`,
  );
  note(`Fast run: median **${m} ms** (target ≤ 350 ms); peak RSS **${(rss / 1024).toFixed(0)} MiB** (target ≤ 70 MB).`);
  note(
    `dns.<role> inside a run (median ms): ${dnsIds.map((id) => `${id} ${median(per[id]!)}`).join(', ')}; ` +
      `sse.main ${median(per['sse.main'] ?? [0])} ms.\n`,
  );
  writeSection('Fast run vs tools', rows.join('\n'));
});

it('--no-hold side by side with the floor: Node alone, five names, five TLS handshakes and HTTPS answers', async () => {
  // Contract §5: a `--no-hold` run within 2.5× the floor (aim 2×), Node's start included on both sides. The floor
  // (bench/support/floor.mjs) resolves the five names with getaddrinfo (the namespace's resolv.conf: the stack's
  // dnsmasq, which the CLI asks too), then in parallel makes one TLS handshake (SNI, the same CA) and one HTTPS GET
  // per name. Pairs interleave in one shell inside the namespace, each pair in alternating order, so load from
  // anything else on the machine falls on both sides alike; medians, and the median of the pairs' own ratios.
  const pairs = 10;
  const floorCmd = `node ${FLOOR} ${q([stack.domain, String(stack.httpsPort), stack.rootPem])}`;
  const cliCmd = `node ${CLI_PATH} ${q(stack.args)} --no-hold`;
  // Each command timed by the shell around it (ns resolution); a failed run is said, not timed as a fast one.
  const timed = (name: string, cmd: string) =>
    `s=$(date +%s%N); ${cmd} >/dev/null 2>&1 || echo "fail ${name} $?"; e=$(date +%s%N); ` +
    `echo "${name} $(( (e - s) / 1000 ))"`;
  // One warm-up of each (page cache, dnsmasq's cache), not counted.
  const script = [
    `${floorCmd} >/dev/null 2>&1; ${cliCmd} >/dev/null 2>&1`,
    `for i in $(seq 1 ${pairs}); do`,
    `  if [ $((i % 2)) -eq 1 ]; then ${timed('floor', floorCmd)}; ${timed('cli', cliCmd)};`,
    `  else ${timed('cli', cliCmd)}; ${timed('floor', floorCmd)}; fi`,
    'done',
  ].join('\n');
  const out = (await sh(script, 300_000)).stdout.trim().split('\n');
  const failed = out.filter((l) => l.startsWith('fail '));
  if (failed.length) throw new Error(`runs failed: ${failed.join('; ')}`);
  const us = (name: string) => out.filter((l) => l.startsWith(`${name} `)).map((l) => Number(l.split(' ')[1]));
  const floor = us('floor').map((u) => u / 1000);
  const cli = us('cli').map((u) => u / 1000);
  const ratios = cli.map((c, i) => c / floor[i]!);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const rows: string[] = [];
  const note = (line: string) => {
    rows.push(line);
    console.log(line);
  };
  note(`| ${pairs} interleaved pairs | median | runs (ms) |`);
  note('|---|---|---|');
  const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  note(`| floor: \`node bench/support/floor.mjs\` | ${ms(median(floor))} | ${runs(floor)} |`);
  note(`| \`nap-verify --no-hold\` (stack.args) | ${ms(median(cli))} | ${runs(cli)} |`);
  note(
    `\nRatio of the medians **${(median(cli) / median(floor)).toFixed(2)}×** (contract ≤ 2.5×, aim 2×); median ` +
      `of the pairs' ratios ${median(ratios).toFixed(2)}× (${ratios.map((r) => r.toFixed(2)).join(', ')}). ` +
      `Under 1 s: ${Math.max(...cli) < 1000 ? 'every run' : `${cli.filter((c) => c < 1000).length} of ${pairs}`}.`,
  );
  writeSection('Fast run vs the floor', rows.join('\n'));
});

it('full run with --hold 10 against the 3600 s proxy: wall time minus hold', async () => {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push((await measure(`node ${CLI_PATH} ${q(stack.args)} --hold 10`)).ms);
  note(
    `### Full run, --hold 10, 3600 s proxy\n\nwall − hold: median ` +
      `**${((median(runs) - 10_000) / 1000).toFixed(2)} s** (target ≤ 2 s); runs ` +
      `${runs.map((r) => (r / 1000).toFixed(2)).join(', ')} s\n`,
  );
});

it('cut-off precision: nginx and haproxy at 3 s and 7 s', async () => {
  const cases: Array<[string, number, number]> = [
    ['nginx', 8453, 3],
    ['nginx', 8457, 7],
    ['haproxy', 9453, 3],
    ['haproxy', 9457, 7],
  ];
  const out = await Promise.all(
    cases.map(async ([proxy, port, t]) => {
      const r = await runCli(
        stack.ns,
        [...stack.args, '--https-port', String(port), '--only', 'hold', '--hold', '10', '--format', 'json'],
        { timeoutMs: 60_000 },
      );
      const cuts = (r.json.checks as Array<{ evidence: { cutAfterS?: number } }>)
        .map((c) => c.evidence.cutAfterS)
        .filter((x): x is number => x !== undefined);
      return { proxy, t, cuts, worst: Math.max(...cuts.map((c) => Math.abs(c - t))) };
    }),
  );
  note(`### Cut-off precision (--hold 10, 4 WebSocket + 1 SSE streams each)\n`);
  note('| proxy | timeout | measured cutAfterS | worst error |');
  note('|---|---|---|---|');
  for (const o of out) note(`| ${o.proxy} | ${o.t} s | ${o.cuts.join(', ')} | ${o.worst.toFixed(2)} s |`);
  note(`\nWorst error overall: **${Math.max(...out.map((o) => o.worst)).toFixed(2)} s** (target ≤ 0.5 s).\n`);
});

it('--version start-up time', async () => {
  const runs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = await sh(
      `s=$(date +%s%N); node ${CLI_PATH} --version >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
    );
    runs.push(Number(t.stdout.trim()));
  }
  const bare: number[] = [];
  for (let i = 0; i < 10; i++)
    bare.push(
      Number((await sh(`s=$(date +%s%N); node -e 0; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`)).stdout.trim()),
    );
  note(
    `### Start-up\n\n\`nap-verify --version\`: median **${median(runs)} ms** (target < 100 ms); bare \`node -e ` +
      `0\` on this machine: ${median(bare)} ms.\n`,
  );
});

it('scaling: --relay-samples 1, 10, 50', async () => {
  note(`### Scaling with --relay-samples (UDP and TCP each, so 2, 20, 100 allocations at once)\n`);
  note('| samples | allocations | turn.relay duration | whole run |');
  note('|---|---|---|---|');
  for (const n of [1, 10, 50]) {
    const r = await runCli(
      stack.ns,
      [
        '--domain',
        'nap.test',
        '--only',
        'turn.relay',
        '--turn',
        WIDE_TURN_IP,
        '--turn-secret-file',
        stack.args[stack.args.indexOf('--turn-secret-file') + 1]!,
        '--relay-range',
        '50000-51000',
        '--relay-samples',
        String(n),
        '--format',
        'json',
      ],
      { timeoutMs: 120_000 },
    );
    const c = r.json.checks[0] as { status: string; durationMs: number; evidence: { samples: unknown[] } };
    note(`| ${n} | ${c.evidence.samples.length} (${c.status}) | ${c.durationMs} ms | ${r.ms} ms |`);
  }
  note(
    '\nPreview labels: one fresh random label per run is what the product does (spec §3); more labels per run ' +
      'are not a feature, so there is no label-scaling figure.\n',
  );
});
