// The exporter under a real Prometheus server: both in the stack's namespace, Prometheus scraping
// /probe with the blackbox-style relabelling, the test reading the results back through Prometheus's HTTP query
// API — a healthy install (nap.test) and one whose certificate expired (old.test, same ingress path). A second
// exporter answers the direct HTTP tests (shared runs, full module, bad input), so counts stay exact.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './harness/cli.js';
import { startSilentUdp } from './harness/dnsmasq.js';
import { startNginx } from './harness/nginx.js';
import { createPki } from './harness/pki.js';
import { makeTempDir, runCleanups, waitFor, type ManagedProc } from './harness/proc.js';
import {
  fullStack,
  nginxSite,
  startResponder,
  STACK_TURN_IP,
  STACK_TURN_SECRET,
  UPGRADE_MAP,
  waitPort,
  type FullStack,
} from './support/ingress.js';
import { zone } from './support/zone.js';

let stack: FullStack;
let dir: string;
let configFile: string;
let exporter: ManagedProc;
let direct: ManagedProc;
let defaultsConfig: string;
const EXPORTER = 9816;
const DIRECT = 9817;
const PROMETHEUS = 9090;

/** HTTP inside the namespace (the test process itself is outside it): curl, bounded. */
async function get(
  port: number,
  pathAndQuery: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const args = [
    '-sS',
    '--max-time',
    '30',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    `http://127.0.0.1:${port}${pathAndQuery}`,
  ];
  const r = await stack.ns.exec('curl', args, { timeoutMs: 35_000 });
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

/** One sample's value from exposition text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function promQuery(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await get(PROMETHEUS, `/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = JSON.parse(r.body);
  if (j.status !== 'success') throw new Error(`query ${q}: ${r.body}`);
  return j.data.result;
}

/** Waits (bounded) until Prometheus has a value for the query, and returns it. */
async function promValue(q: string): Promise<string> {
  let value: string | undefined;
  await waitFor(
    async () => {
      const res = await promQuery(q);
      value = res[0]?.value[1];
      return value !== undefined;
    },
    `Prometheus to have ${q}`,
    90_000,
  );
  return value!;
}

beforeAll(async () => {
  stack = await fullStack('nap.test', [...zone('old.test'), ...zone('cut.test'), 'server=/slow.test/127.0.0.1#5399']);
  await startSilentUdp(stack.ns, 5399).ready;
  dir = mkdtempSync(path.join(tmpdir(), 'nvt-exporter-'));
  // old.test: the same ingress path, with a certificate that expired 30 days ago.
  const pki = await createPki(await makeTempDir('nvt-pki-old-'));
  const root = await pki.rootCa('Old Root CA');
  const day = 86_400_000;
  const leaf = await pki.leaf(root, {
    cn: 'old.test',
    sans: ['old.test', 'files.old.test', 'browsers.old.test', 'sandbox.old.test', '*.sandbox.old.test'],
    notBefore: new Date(Date.now() - 120 * day),
    notAfter: new Date(Date.now() - 30 * day),
  });
  const rootPem = pki.bundle('old-root', root.certPem);
  await startNginx(
    stack.ns,
    [
      UPGRADE_MAP,
      nginxSite(
        { ...stack, domain: 'old.test', certPath: leaf.certPath, keyPath: leaf.keyPath },
        { cp: 3000, browser: 3005, sandbox: 3006 },
        { port: 9443 },
      ),
    ].join('\n'),
  );
  await waitPort(stack.ns, 9443);
  // cut.test: its own stand-ins behind an nginx that cuts idle streams after 3 s (proxy_read_timeout 3s).
  const cutPorts = { cp: 3100, browser: 3105, sandbox: 3106 };
  await startResponder(stack.ns, 'cut.test', cutPorts);
  const cutLeaf = await pki.leaf(root, {
    cn: 'cut.test',
    sans: ['cut.test', 'files.cut.test', 'browsers.cut.test', 'sandbox.cut.test', '*.sandbox.cut.test'],
  });
  await startNginx(
    stack.ns,
    [
      UPGRADE_MAP,
      nginxSite({ ...stack, domain: 'cut.test', certPath: cutLeaf.certPath, keyPath: cutLeaf.keyPath }, cutPorts, {
        port: 9445,
        readTimeout: '3s',
        blockMetrics: true,
      }),
    ].join('\n'),
  );
  await waitPort(stack.ns, 9445);
  // An exporter at the defaults (hold 75, interval 10 min): the full module must judge the cut there too.
  defaultsConfig = path.join(dir, 'defaults.yaml');
  writeFileSync(
    defaultsConfig,
    ['targets:', `  cut.test: { httpsPort: 9445, httpPort: 8080, caFile: ${rootPem}, skip: [turn] }`, ''].join('\n'),
  );
  const secretFile = stack.args[stack.args.indexOf('--turn-secret-file') + 1]!;
  configFile = path.join(dir, 'exporter.yaml');
  writeFileSync(
    configFile,
    [
      'interval: 40s',
      'hold: 2',
      'timeout: 5',
      'defaults:',
      `  caFile: ${stack.rootPem}`,
      '  httpPort: 8080',
      'targets:',
      `  nap.test: { httpsPort: 8443, turn: ${STACK_TURN_IP}, turnSecretFile: ${secretFile} }`,
      `  old.test: { https-port: 9443, ca-file: ${rootPem}, skip: [turn] }`,
      '',
    ].join('\n'),
  );
  exporter = stack.ns.spawn('node', [
    CLI_PATH,
    'exporter',
    '--listen',
    `127.0.0.1:${EXPORTER}`,
    '--config',
    configFile,
  ]);
  direct = stack.ns.spawn('node', [
    CLI_PATH,
    'exporter',
    '--listen',
    `127.0.0.1:${DIRECT}`,
    '--config',
    configFile,
    '--vantage',
    'monitoring',
  ]);
  await waitPort(stack.ns, EXPORTER, 'exporter');
  await waitPort(stack.ns, DIRECT, 'second exporter');
  const promDir = await makeTempDir('nvt-prometheus-');
  writeFileSync(
    path.join(promDir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 5s, scrape_timeout: 5s, evaluation_interval: 5s }',
      'scrape_configs:',
      '  - job_name: nap-verify',
      '    metrics_path: /probe',
      '    params: { module: [quick] }',
      '    static_configs: [{ targets: [nap.test, old.test] }]',
      '    relabel_configs:',
      '      - { source_labels: [__address__], target_label: __param_target }',
      '      - { source_labels: [__param_target], target_label: instance }',
      `      - { target_label: __address__, replacement: '127.0.0.1:${EXPORTER}' }`,
      '  - job_name: nap-verify-exporter',
      `    static_configs: [{ targets: ['127.0.0.1:${EXPORTER}'] }]`,
      '',
    ].join('\n'),
  );
  stack.ns.spawn('prometheus', [
    `--config.file=${path.join(promDir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(promDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${PROMETHEUS}`,
    '--log.level=warn',
  ]);
  await waitPort(stack.ns, PROMETHEUS, 'prometheus');
}, 120_000);
afterAll(runCleanups);

describe('under a real Prometheus server (blackbox-style relabelling)', () => {
  it('a healthy install: probe success 1 and tls.main pass, read back through the query API', async () => {
    expect(await promValue('nap_verify_probe_success{instance="nap.test"}')).toBe('1');
    expect(await promValue('nap_verify_check_status{instance="nap.test",check="tls.main",status="pass"}')).toBe('1');
    expect(await promValue('nap_verify_check_status{instance="nap.test",check="turn.relay",status="pass"}')).toBe('1');
    const notAfter = Number(
      await promValue('nap_verify_cert_not_after_timestamp_seconds{instance="nap.test",host="*.sandbox.nap.test"}'),
    );
    expect(notAfter * 1000).toBeGreaterThan(Date.now());
    expect(await promValue('up{job="nap-verify-exporter"}')).toBe('1');
  }, 120_000);

  it('an expired certificate: probe success 0, tls.main fail with TLS_EXPIRED', async () => {
    expect(await promValue('nap_verify_probe_success{instance="old.test"}')).toBe('0');
    expect(await promValue('nap_verify_check_status{instance="old.test",check="tls.main",status="fail"}')).toBe('1');
    expect(await promValue('nap_verify_check_code_info{instance="old.test",check="tls.main",code="TLS_EXPIRED"}')).toBe(
      '1',
    );
    const notAfter = Number(
      await promValue('nap_verify_cert_not_after_timestamp_seconds{instance="old.test",host="old.test"}'),
    );
    expect(notAfter * 1000).toBeLessThan(Date.now());
  }, 120_000);
});

describe('/probe directly', () => {
  it('answers the text format that promtool accepts, with every metric of spec §9', async () => {
    const r = await get(DIRECT, '/probe?target=nap.test&module=quick');
    expect(r.status).toBe(200);
    const lint = await stack.ns.exec('promtool', ['check', 'metrics'], { input: r.body, timeoutMs: 20_000 });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.code).toBe(0);
    expect(sample(r.body, 'nap_verify_probe_success')).toBe(1);
    expect(sample(r.body, 'nap_verify_probe_duration_seconds')).toBeGreaterThan(0);
    for (const s of ['pass', 'warn', 'fail', 'skip'])
      expect(sample(r.body, 'nap_verify_check_status', { check: 'dns.main', status: s })).toBe(s === 'pass' ? 1 : 0);
    expect(sample(r.body, 'nap_verify_check_duration_seconds', { check: 'http.main' })).toBeGreaterThan(0);
    for (const host of ['nap.test', 'files.nap.test', 'browsers.nap.test', 'sandbox.nap.test', '*.sandbox.nap.test']) {
      expect(sample(r.body, 'nap_verify_cert_not_after_timestamp_seconds', { host })).toBeGreaterThan(
        Date.now() / 1000,
      );
    }
    // quick = --no-hold: the hold checks are skip (not held), as in the CLI's --no-hold run.
    for (const check of ['hold.sse.main', 'hold.ws.main', 'hold.ws.preview']) {
      expect(sample(r.body, 'nap_verify_check_status', { check, status: 'skip' })).toBe(1);
    }
  }, 60_000);

  it('a fault carries its code, and a slow DNS is judged inside the scrape timeout', async () => {
    const r = await get(DIRECT, '/probe?target=old.test', { 'X-Prometheus-Scrape-Timeout-Seconds': '4' });
    expect(sample(r.body, 'nap_verify_check_code_info', { check: 'tls.files', code: 'TLS_EXPIRED' })).toBe(1);
    expect(sample(r.body, 'nap_verify_probe_success')).toBe(0);
    const slow = await get(DIRECT, '/probe?target=slow.test&module=quick', {
      'X-Prometheus-Scrape-Timeout-Seconds': '3',
    });
    expect(slow.status).toBe(200);
    expect(sample(slow.body, 'nap_verify_probe_success')).toBe(0);
    // The configured 5 s step deadline is narrowed to fit the 3 s scrape: DNS is judged, not cut off.
    expect(sample(slow.body, 'nap_verify_check_code_info', { check: 'dns.main', code: 'DNS_TIMEOUT' })).toBe(1);
  }, 60_000);

  it('concurrent scrapes of one target share one run', async () => {
    const before =
      sample((await get(DIRECT, '/metrics')).body, 'nap_verify_exporter_runs_total', { module: 'quick' }) ?? 0;
    const rs = await Promise.all([1, 2, 3, 4].map(() => get(DIRECT, '/probe?target=nap.test')));
    const durations = rs.map((r) => sample(r.body, 'nap_verify_probe_duration_seconds'));
    expect(new Set(durations).size).toBe(1);
    const after = sample((await get(DIRECT, '/metrics')).body, 'nap_verify_exporter_runs_total', { module: 'quick' });
    expect(after).toBe(before + 1);
  }, 60_000);

  it('full runs with holds in the background and serves the last result with its age', async () => {
    let body = '';
    await waitFor(
      async () => {
        body = (await get(DIRECT, '/probe?target=nap.test&module=full', { 'X-Prometheus-Scrape-Timeout-Seconds': '2' }))
          .body;
        return sample(body, 'nap_verify_probe_result_age_seconds') !== undefined;
      },
      'the first full run',
      60_000,
    );
    // hold: 2 in the config: each hold check ran, and warns that 2 s proves nothing about a 60 s default.
    expect(sample(body, 'nap_verify_check_status', { check: 'hold.ws.main', status: 'warn' })).toBe(1);
    expect(sample(body, 'nap_verify_check_code_info', { check: 'hold.ws.main', code: 'HOLD_SHORT' })).toBe(1);
    expect(sample(body, 'nap_verify_probe_result_age_seconds')).toBeGreaterThanOrEqual(0);
    const m = (await get(DIRECT, '/metrics')).body;
    expect(sample(m, 'nap_verify_exporter_full_targets')).toBe(1);
    expect(sample(m, 'nap_verify_exporter_runs_total', { module: 'full' })).toBe(1);
  }, 90_000);

  it('full at the default hold (75 s) reports a proxy that cuts idle streams at 3 s, as soon as every ' +
    'stream is cut', async () => {
    const proc = stack.ns.spawn('node', [
      CLI_PATH,
      'exporter',
      '--listen',
      '127.0.0.1:9818',
      '--config',
      defaultsConfig,
    ]);
    await waitPort(stack.ns, 9818, 'exporter at the defaults');
    let body = '';
    await waitFor(
      async () => {
        body = (await get(9818, '/probe?target=cut.test&module=full', { 'X-Prometheus-Scrape-Timeout-Seconds': '5' }))
          .body;
        return sample(body, 'nap_verify_probe_result_age_seconds') !== undefined;
      },
      'the first full run at the default hold',
      60_000,
    );
    expect(sample(body, 'nap_verify_probe_success')).toBe(0);
    for (const check of ['hold.ws.main', 'hold.ws.browsers', 'hold.ws.sandbox', 'hold.ws.preview']) {
      expect(sample(body, 'nap_verify_check_code_info', { check, code: 'HOLD_CUT' })).toBe(1);
      const cut = sample(body, 'nap_verify_hold_cut_after_seconds', { check })!;
      expect(cut).toBeGreaterThan(0);
      expect(cut).toBeLessThan(75);
    }
    // The exporter's own figures show one full run, not one per scrape.
    expect(sample((await get(9818, '/metrics')).body, 'nap_verify_exporter_runs_total', { module: 'full' })).toBe(1);
    expect(proc.output()).toMatch(/nap-verify exporter: full cut\.test: fail \(/);
  }, 90_000);

  it('bad input is 400 with one clear line; /-/healthy and /metrics answer', async () => {
    expect(await get(DIRECT, '/probe?target=10.0.0.1')).toEqual({
      status: 400,
      body: 'target 10.0.0.1: an IP address is not a domain; give the DNS name (pass the address with --ingress-ip)\n',
    });
    expect(await get(DIRECT, '/probe?target=https://nap.test/')).toEqual({
      status: 400,
      body: 'target https://nap.test/: give a bare name like acme.com, not a URL\n',
    });
    expect(await get(DIRECT, '/probe')).toEqual({
      status: 400,
      body: 'target parameter is missing: /probe?target=<domain>&module=quick|full\n',
    });
    expect(await get(DIRECT, '/probe?target=nap.test&module=http_2xx')).toEqual({
      status: 400,
      body: 'unknown module "http_2xx": quick or full\n',
    });
    expect(await get(DIRECT, '/-/healthy')).toEqual({ status: 200, body: 'Healthy\n' });
    const m = await get(DIRECT, '/metrics');
    expect(
      sample(m.body, 'nap_verify_exporter_probes_total', { module: 'quick', outcome: 'bad_request' }),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(m.body, 'nap_verify_exporter_process_resident_memory_bytes')).toBeGreaterThan(0);
  }, 30_000);

  it('a config that does not parse, an unknown key, a bad target or --listen: exit 2 at start with ' +
    'one line', async () => {
    const bad = (name: string, text: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const cases: Array<[string[], RegExp]> = [
      [['--config', bad('a.yaml', 'targets: [unclosed\n')], /^nap-verify: --config .*a\.yaml: not YAML \(/],
      [
        ['--config', bad('b.yaml', 'targets:\n  nap.test: { turnSecret: hunter2 }\n')],
        /^nap-verify: --config .*b\.yaml: targets\.nap\.test: unknown option turnSecret \(known: turn, turnSecretFile/,
      ],
      [
        ['--config', bad('c.yaml', 'targets:\n  203.0.113.9: {}\n')],
        /^nap-verify: --config .*c\.yaml: target 203\.0\.113\.9: an IP address is not a domain/,
      ],
      [
        ['--config', bad('d.yaml', 'targets:\n  nap.test: { turnSecretFile: /nonexistent/secret }\n')],
        new RegExp(
          /^nap-verify: --config .*d\.yaml: targets\.nap\.test: /.source +
            /--turn-secret-file \/nonexistent\/secret: cannot read it \(ENOENT\)\n$/.source,
        ),
      ],
      [
        ['--config', bad('e.yaml', 'interval: 30s\nhold: 75\n')],
        /^nap-verify: --config .*e\.yaml: interval 30 s is shorter than hold \+ 30 s/,
      ],
      [
        ['--listen', 'nap.test:80'],
        /^nap-verify: --listen nap\.test:80: the address must be an IP \(or empty for all\)\n$/,
      ],
      [
        ['--listen', `127.0.0.1:${EXPORTER}`],
        new RegExp(`^nap-verify: cannot listen on 127\\.0\\.0\\.1:${EXPORTER}: the port is in use\\n$`),
      ],
    ];
    for (const [args, err] of cases) {
      const r = await runCli(stack.ns, ['exporter', ...args], { timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(err);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('the TURN secret never appears in a response or the log', async () => {
    const bodies = await Promise.all(
      ['/probe?target=nap.test', '/probe?target=nap.test&module=full', '/metrics', '/'].map((p) => get(DIRECT, p)),
    );
    for (const b of bodies) expect(b.body).not.toContain(STACK_TURN_SECRET);
    for (const p of [exporter, direct]) expect(p.output()).not.toContain(STACK_TURN_SECRET);
    expect(readFileSync(configFile, 'utf8')).not.toContain(STACK_TURN_SECRET);
    expect(direct.output()).toMatch(
      new RegExp(
        /nap-verify exporter: listening on http:\/\/127\.0\.0\.1:9817 /.source +
          /\(targets in config: 2, full every 40 s, vantage monitoring\)/.source,
      ),
    );
  }, 60_000);
});
