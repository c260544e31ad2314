// `kit job` and `kit exporter`: the printed objects validated against the Kubernetes (and Prometheus Operator)
// schemas with kubernetes-models, the alert rules with promtool, and the printed pods actually run as a kubelet
// would (test/support/pod.ts: read-only root, the manifest's volumes and env, runAsUser) against the real stack.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { makeTempDir, runCleanups, waitFor } from './harness/proc.js';
import { fullStack, STACK_TURN_IP, STACK_TURN_SECRET, waitPort, type FullStack } from './support/ingress.js';
import { runPod, spawnPod } from './support/pod.js';

let stack: FullStack;
let dir: string;
let bundle: string;

beforeAll(async () => {
  stack = await fullStack('nap.test');
  dir = await makeTempDir('nvt-kit-cluster-');
  // Our own copy of the bundle: no other test rewrites it while these read it.
  bundle = path.join(dir, 'nap-verify.mjs');
  execFileSync('node', [path.join(REPO_ROOT, 'scripts', 'build-bundle.mjs'), '--outfile', bundle], {
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
}, 180_000);
afterAll(runCleanups);

async function kit(args: string[]): Promise<Array<Record<string, any>>> {
  const r = await runCli(stack.ns, ['kit', ...args], { timeoutMs: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS());
}

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  ConfigMap,
  Service,
  Deployment,
  Job,
  CronJob,
  ServiceMonitor,
  PrometheusRule,
};

/** Every object through the real schema validator of its kind (throws with the path of the first error). */
function validateAll(objects: Array<Record<string, any>>): string[] {
  return objects.map((o) => {
    const Model = MODELS[o.kind];
    if (!Model) throw new Error(`no schema model for ${o.kind}`);
    new Model(o).validate();
    return o.kind;
  });
}

const RESPONDER_POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};
const RESPONDER_CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};
const JOB_ARGS = [
  '--namespace',
  'nap',
  '--domain',
  'nap.test',
  '--ca-configmap',
  'nap-ca',
  '--turn-secret-from',
  'nap-turn:secret',
];
const STACK_ARGS = ['--https-port', String(8443), '--http-port', String(8080), '--turn', STACK_TURN_IP];

describe('kit job', () => {
  it('a Job, a CronJob and a helm test Job that the Kubernetes schemas accept', async () => {
    const job = await kit(['job', ...JOB_ARGS, '--bundle', bundle]);
    expect(validateAll(job)).toEqual(['ConfigMap', 'Job']);
    const cron = await kit(['job', ...JOB_ARGS, '--bundle', bundle, '--cron', '*/30 * * * *']);
    expect(validateAll(cron)).toEqual(['ConfigMap', 'CronJob']);
    expect(cron[1]!.spec).toMatchObject({
      schedule: '*/30 * * * *',
      concurrencyPolicy: 'Forbid',
      jobTemplate: { spec: { backoffLimit: 0 } },
    });
    const helm = await kit(['job', ...JOB_ARGS, '--bundle', bundle, '--helm-test']);
    expect(validateAll(helm)).toEqual(['ConfigMap', 'Job']);
    expect(helm[1]!.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test' });
    // The bundle must exist before the test Job: a hook too, created first.
    expect(helm[0]!.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test', 'helm.sh/hook-weight': '-5' });
    expect(Number(helm[1]!.metadata.annotations['helm.sh/hook-weight'])).toBeGreaterThan(-5);
  });

  it(
    'same security context and limits as the responder; the secret only by reference; the bundle ' + 'fits a ConfigMap',
    async () => {
      const [cm, job] = await kit(['job', ...JOB_ARGS, '--bundle', bundle, '--values-secret', 'nap-values']);
      const responder = await kit(['responder', '--namespace', 'nap', '--domain', 'nap.test', '--pre-install']);
      const rPod = responder.find((o) => o.kind === 'Deployment')!.spec.template.spec;
      const pod = job!.spec.template.spec;
      expect(pod.securityContext).toMatchObject(RESPONDER_POD_SECURITY);
      expect(pod.securityContext).toMatchObject(rPod.securityContext);
      expect(pod.containers[0].securityContext).toEqual(RESPONDER_CONTAINER_SECURITY);
      expect(pod.containers[0].resources).toEqual(rPod.containers[0].resources);
      expect(pod.containers[0].image).toBe('node:22-alpine');
      expect(pod.containers[0].env).toContainEqual({
        name: 'NAP_VERIFY_TURN_SECRET',
        valueFrom: { secretKeyRef: { name: 'nap-turn', key: 'secret' } },
      });
      expect(pod.containers[0].args).toEqual([
        '--vantage',
        'in-cluster',
        '--domain',
        'nap.test',
        '--values',
        '/etc/nap-verify/values.env',
        '--ca-file',
        '/etc/nap-verify-ca/ca.crt',
      ]);
      // A ConfigMap holds at most 1 MiB: the bundle (over 1 MiB as text) travels gzipped.
      const size = Buffer.byteLength(JSON.stringify(cm));
      expect(size).toBeLessThan(1024 * 1024);
      expect(JSON.stringify([cm, job])).not.toContain(STACK_TURN_SECRET);
    },
  );

  it('run as the kubelet would: exit 0 on the healthy stack, text then JUnit then JSON (vantage ' +
    'in-cluster) in the log', async () => {
    const objects = await kit(['job', ...JOB_ARGS, '--bundle', bundle, '--', ...STACK_ARGS, '--no-hold']);
    const inputs = {
      configMaps: { 'nap-ca': { 'ca.crt': readFileSync(stack.rootPem, 'utf8') } },
      secrets: { 'nap-turn': { secret: STACK_TURN_SECRET } },
    };
    const r = await runPod(stack.ns, objects, inputs);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    const [text, rest] = r.stdout.split('----- nap-verify JUnit -----\n');
    const [junit, json] = rest!.split('----- nap-verify JSON -----\n');
    // Skipped: config.values (no values.env given to this Job) and the seven holds (--no-hold).
    expect(text).toMatch(/^\d+ passed, 0 failed, 0 warnings, 8 skipped/m);
    expect(text).toMatch(/^ {2}✔ turn\.relay /m);
    expect(XMLValidator.validate(junit!)).toBe(true);
    expect(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(junit!).testsuites.name).toBe(
      'nap-verify nap.test from in-cluster',
    );
    const doc = JSON.parse(json!);
    expect(doc).toMatchObject({ vantage: 'in-cluster', summary: { status: 'pass', fail: 0 } });
    expect(r.stdout).not.toContain(STACK_TURN_SECRET);
    // The JSON from the log is what `compare` reads: beside a run from outside, on a healthy stack, no difference.
    writeFileSync(path.join(dir, 'in-cluster.json'), json!);
    const laptop = path.join(dir, 'laptop.json');
    await runCli(
      stack.ns,
      [
        '--domain',
        'nap.test',
        ...STACK_ARGS,
        '--ca-file',
        stack.rootPem,
        '--no-hold',
        '--vantage',
        'laptop',
        '--json',
        laptop,
      ],
      { env: { NAP_VERIFY_TURN_SECRET: STACK_TURN_SECRET } },
    );
    const cmp = await runCli(stack.ns, ['compare', path.join(dir, 'in-cluster.json'), laptop, '--format', 'json']);
    expect(cmp.code).toBe(0);
    const verdicts = cmp.json.checks.map((c: { id: string; verdict: string; cells: unknown }) => [
      c.id,
      c.verdict,
      JSON.stringify(c.cells),
    ]);
    expect(verdicts.filter((v: string[]) => v[1] !== 'same' && v[1] !== 'no-evidence')).toEqual([]);
    expect(cmp.json.vantages.map((v: { name: string; inside: boolean }) => [v.name, v.inside])).toEqual([
      ['in-cluster', true],
      ['laptop', false],
    ]);
  }, 120_000);

  it('the Job fails when the checks fail (exit 1), and says why in the log', async () => {
    const objects = await kit([
      'job',
      ...JOB_ARGS,
      '--bundle',
      bundle,
      '--',
      ...STACK_ARGS.map((a) => (a === '8443' ? '9443' : a)),
      '--no-hold',
      '--skip',
      'turn',
    ]);
    const r = await runPod(stack.ns, objects, {
      configMaps: { 'nap-ca': { 'ca.crt': readFileSync(stack.rootPem, 'utf8') } },
      secrets: { 'nap-turn': { secret: STACK_TURN_SECRET } },
    });
    expect(r.code).toBe(1);
    // Nothing listens on 9443: one handshake failure on every host, said once with its hosts.
    expect(r.stdout).toMatch(/^ {2}✖ TLS_HANDSHAKE {2}tls\.main, tls\.files/m);
    expect(r.stdout).toMatch(/^ {6}no TLS session with 127\.0\.0\.1:9443 for nap\.test, files\.nap\.test/m);
    expect(JSON.parse(r.stdout.split('----- nap-verify JSON -----\n')[1]!).summary.status).toBe('fail');
  }, 120_000);

  it('the bundle run alone ships itself: its ConfigMap holds exactly its own bytes', async () => {
    const alone = await makeTempDir('nvt-bundle-alone-');
    copyFileSync(bundle, path.join(alone, 'nap-verify.mjs'));
    const r = await stack.ns.exec(
      'bash',
      ['-c', `cd ${alone} && exec node nap-verify.mjs kit job --namespace nap --domain nap.test`],
      { env: { PATH: process.env.PATH, HOME: alone }, timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const cm = parseAllDocuments(r.stdout)[0]!.toJS();
    expect(gunzipSync(Buffer.from(cm.binaryData['nap-verify.mjs.gz'], 'base64')).equals(readFileSync(bundle))).toBe(
      true,
    );
  });

  it('bad input is one line and exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['job', '--namespace', 'nap'],
        "kit job needs --domain, or --values-secret <secret> holding the platform's values.env (its NAP_HOST)",
      ],
      [
        ['job', '--namespace', 'nap', '--domain', 'nap.test', '--cron', 'every hour'],
        '--cron every hour: expected a schedule of five fields (like "*/30 * * * *") or @hourly/@daily/...',
      ],
      [
        ['job', '--namespace', 'nap', '--domain', 'nap.test', '--cron', '@daily', '--helm-test'],
        '--helm-test runs a Job when `helm test` asks: it cannot be a CronJob (drop --cron)',
      ],
      [
        ['job', '--namespace', 'nap', '--domain', 'nap.test', '--', '--turn-secret-file', '/s'],
        'secrets never go into the manifest: use --turn-secret-from <secret>[:key] or --values-secret',
      ],
      [
        ['job', '--namespace', 'nap', '--domain', 'nap.test', '--bundle', '/nonexistent.mjs'],
        'the one-file bundle /nonexistent.mjs cannot be read: run `npm run bundle` first, or give --bundle ' +
          '<file> (it is what the pod runs)',
      ],
      [
        ['exporter', '--namespace', 'mon', '--service-monitor'],
        '--service-monitor needs a target to probe: --target <domain> (repeatable) or targets in --config',
      ],
    ];
    for (const [args, err] of cases) {
      const r = await runCli(stack.ns, ['kit', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`nap-verify: ${err}\n`);
    }
  });
});

describe('kit exporter', () => {
  it(
    'Deployment, Service, ServiceMonitor and PrometheusRule that the schemas accept; blackbox-style ' + 'endpoints',
    async () => {
      const objs = await kit([
        'exporter',
        '--namespace',
        'mon',
        '--bundle',
        bundle,
        '--service-monitor',
        '--target',
        'nap.test',
        '--target',
        'acme.com',
      ]);
      expect(validateAll(objs)).toEqual([
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Service',
        'ServiceMonitor',
        'PrometheusRule',
      ]);
      const sm = objs.find((o) => o.kind === 'ServiceMonitor')!;
      expect(sm.spec.endpoints.map((e: any) => [e.path, e.params?.target?.[0] ?? null])).toEqual([
        ['/probe', 'nap.test'],
        ['/probe', 'acme.com'],
        ['/metrics', null],
      ]);
      expect(sm.spec.endpoints[0].relabelings).toContainEqual({
        targetLabel: 'instance',
        replacement: 'nap.test',
        action: 'replace',
      });
      const pod = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec;
      expect(pod.securityContext).toEqual(RESPONDER_POD_SECURITY);
      expect(pod.containers[0].securityContext).toEqual(RESPONDER_CONTAINER_SECURITY);
      expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/-/healthy');
    },
  );

  it('the alert rules pass promtool check rules, as a rules file and as the PrometheusRule spec', async () => {
    const rules = await runCli(stack.ns, ['kit', 'exporter', '--namespace', 'mon', '--rules']);
    expect(rules.code).toBe(0);
    const file = path.join(dir, 'rules.yml');
    writeFileSync(file, rules.stdout);
    const objs = await kit([
      'exporter',
      '--namespace',
      'mon',
      '--bundle',
      bundle,
      '--service-monitor',
      '--target',
      'nap.test',
    ]);
    const specFile = path.join(dir, 'rule-spec.yml');
    writeFileSync(specFile, JSON.stringify(objs.find((o) => o.kind === 'PrometheusRule')!.spec));
    for (const f of [file, specFile]) {
      const r = await stack.ns.exec('promtool', ['check', 'rules', f], { timeoutMs: 20_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: 3 rules found/);
    }
    const doc = parseAllDocuments(rules.stdout)[0]!.toJS();
    expect(doc.groups[0].rules.map((r: any) => [r.alert, r.for])).toEqual([
      ['NapVerifyProbeFailing', '10m'],
      ['NapVerifyCertificateExpiringSoon', '15m'],
      ['NapVerifyHoldCut', '0m'],
    ]);
    expect(doc.groups[0].rules[1].expr).toContain('< 14 * 86400');
  });

  it('the printed Deployment runs as the kubelet would and answers /probe from its ConfigMap config', async () => {
    const config = path.join(dir, 'exporter.yaml');
    writeFileSync(
      config,
      [
        'timeout: 5',
        'defaults: { caFile: /etc/nap-verify-ca/ca.crt, httpPort: 8080 }',
        'targets:',
        `  nap.test: { httpsPort: 8443, turn: ${STACK_TURN_IP} }`,
        '',
      ].join('\n'),
    );
    const objs = await kit([
      'exporter',
      '--namespace',
      'mon',
      '--bundle',
      bundle,
      '--config',
      config,
      '--ca-configmap',
      'nap-ca',
      '--turn-secret-from',
      'nap-turn:secret',
    ]);
    const pod = await spawnPod(stack.ns, objs, {
      configMaps: { 'nap-ca': { 'ca.crt': readFileSync(stack.rootPem, 'utf8') } },
      secrets: { 'nap-turn': { secret: STACK_TURN_SECRET } },
    });
    await waitPort(stack.ns, 9816, 'exporter pod');
    let body = '';
    await waitFor(
      async () => {
        const r = await stack.ns.exec(
          'curl',
          ['-sS', '--max-time', '30', 'http://127.0.0.1:9816/probe?target=nap.test'],
          { timeoutMs: 35_000 },
        );
        body = r.stdout;
        return r.code === 0 && body.includes('nap_verify_probe_success');
      },
      'a probe through the exporter pod',
      60_000,
    );
    expect(body).toMatch(/^nap_verify_probe_success 1$/m);
    expect(body).toMatch(/^nap_verify_check_status\{check="turn\.relay",status="pass"\} 1$/m);
    expect(body).not.toContain(STACK_TURN_SECRET);
    expect(pod.output()).toMatch(
      /listening on http:\/\/0\.0\.0\.0:9816 \(targets in config: 1, full every 10 min, vantage in-cluster\)/,
    );
    expect(pod.output()).not.toContain(STACK_TURN_SECRET);
  }, 120_000);
});
