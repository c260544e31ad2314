// `kit exporter`: the exporter in the cluster — the bundle and its exporter.yaml in ConfigMaps, a Deployment on a
// stock node image, a Service; with --service-monitor also a ServiceMonitor (blackbox-style: one endpoint per
// target with `target`/`module` params) and a PrometheusRule with the alerts. `--rules` prints only the alert
// rules as a plain Prometheus rules file (for a Prometheus without the operator; `promtool check rules` reads it).
import { APP_DIR, bundleConfigMapData, LOADER_KEY, TMP_DIR } from './cli-bundle.js';
import { CA_DIR, type SecretRef } from './job.js';
import { CONTAINER_SECURITY, MANAGED_BY, POD_SECURITY } from './responder.js';

export const EXPORTER_PORT = 9816;
export const EXPORTER_PART_OF = 'nap-verify-exporter';

export interface ExporterKitOptions {
  namespace: string;
  name: string;
  image: string;
  bundleBase64: string;
  /** exporter.yaml as given (already validated), or empty. */
  configText: string;
  /** Domains to probe (ServiceMonitor endpoints). */
  targets: string[];
  module: 'quick' | 'full';
  serviceMonitor: boolean;
  turnSecret?: SecretRef;
  /** A ConfigMap with a private CA, mounted at /etc/nap-verify-ca (exporter.yaml: defaults.caFile). */
  caConfigMap?: SecretRef;
}

export interface RuleGroup {
  name: string;
  rules: Array<{
    alert: string;
    expr: string;
    for: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  }>;
}

/** The alerts of spec §9: a probe failing 10 min, a certificate expiring in < 14 days, any hold cut. */
export function alertRules(): { groups: RuleGroup[] } {
  return {
    groups: [
      {
        name: 'nap-verify',
        rules: [
          {
            alert: 'NapVerifyProbeFailing',
            expr: 'nap_verify_probe_success == 0',
            for: '10m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'NAP reachability checks fail for {{ $labels.instance }}',
              description:
                'nap-verify has failed for {{ $labels.instance }} for 10 minutes: see ' +
                'nap_verify_check_code_info{instance="{{ $labels.instance }}"} for the failing checks and codes ' +
                '(`nap-verify explain <code>` gives the fix).',
            },
          },
          {
            alert: 'NapVerifyCertificateExpiringSoon',
            expr: '(nap_verify_cert_not_after_timestamp_seconds - time()) < 14 * 86400',
            for: '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The certificate of {{ $labels.host }} expires in less than 14 days',
              description:
                'The certificate {{ $labels.host }} presents expires in {{ $value | humanizeDuration }}: renew ' +
                'it (cert-manager: kubectl describe certificate).',
            },
          },
          {
            alert: 'NapVerifyHoldCut',
            expr: 'nap_verify_check_code_info{code="HOLD_CUT"} == 1',
            for: '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'A proxy cuts long-lived {{ $labels.check }} streams of {{ $labels.instance }}',
              description:
                'An idle WebSocket/SSE stream was cut before the hold ended (see ' +
                "nap_verify_hold_cut_after_seconds): raise the proxy's stream timeouts " +
                '(`nap-verify explain HOLD_CUT`).',
            },
          },
        ],
      },
    ],
  };
}

export function exporterObjects(o: ExporterKitOptions): Array<Record<string, unknown>> {
  const labels = {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/part-of': EXPORTER_PART_OF,
    'app.kubernetes.io/instance': o.name,
  };
  const selector = { 'app.kubernetes.io/part-of': EXPORTER_PART_OF, 'app.kubernetes.io/instance': o.name };
  const bundleMap = `${o.name}-bundle`;
  const configMap = `${o.name}-config`;
  const objects: Array<Record<string, unknown>> = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: bundleMap, namespace: o.namespace, labels },
      ...bundleConfigMapData(o.bundleBase64),
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMap, namespace: o.namespace, labels },
      data: { 'exporter.yaml': o.configText || '# every key optional: see nap-verify README "Under Prometheus"\n{}\n' },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: o.name, namespace: o.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: POD_SECURITY,
            containers: [
              {
                name: 'exporter',
                image: o.image,
                command: ['node', `${APP_DIR}/${LOADER_KEY}`],
                args: [
                  'exporter',
                  '--listen',
                  `0.0.0.0:${EXPORTER_PORT}`,
                  '--config',
                  '/etc/nap-verify/exporter.yaml',
                  '--vantage',
                  'in-cluster',
                ],
                env: o.turnSecret
                  ? [
                      {
                        name: 'NAP_VERIFY_TURN_SECRET',
                        valueFrom: { secretKeyRef: { name: o.turnSecret.name, key: o.turnSecret.key } },
                      },
                    ]
                  : [],
                ports: [{ name: 'http', containerPort: EXPORTER_PORT }],
                readinessProbe: { httpGet: { path: '/-/healthy', port: EXPORTER_PORT }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/-/healthy', port: EXPORTER_PORT }, periodSeconds: 30 },
                // A long-lived process with concurrent runs: more room than a one-shot responder or job.
                resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'app', mountPath: APP_DIR, readOnly: true },
                  { name: 'config', mountPath: '/etc/nap-verify', readOnly: true },
                  { name: 'tmp', mountPath: TMP_DIR },
                  ...(o.caConfigMap ? [{ name: 'ca', mountPath: CA_DIR, readOnly: true }] : []),
                ],
              },
            ],
            volumes: [
              { name: 'app', configMap: { name: bundleMap } },
              { name: 'config', configMap: { name: configMap } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
              ...(o.caConfigMap ? [{ name: 'ca', configMap: { name: o.caConfigMap.name } }] : []),
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: o.name, namespace: o.namespace, labels },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: EXPORTER_PORT, targetPort: EXPORTER_PORT }] },
    },
  ];
  if (o.serviceMonitor) {
    const full = o.module === 'full';
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: o.name, namespace: o.namespace, labels },
      spec: {
        selector: { matchLabels: selector },
        endpoints: [
          ...o.targets.map((t) => ({
            port: 'http',
            path: '/probe',
            params: { target: [t], module: [o.module] },
            interval: full ? '1m' : '2m',
            scrapeTimeout: full ? '10s' : '60s',
            // The target, not the exporter's pod, is what the series are about (blackbox style).
            relabelings: [
              { targetLabel: 'instance', replacement: t, action: 'replace' },
              { targetLabel: 'target', replacement: t, action: 'replace' },
            ],
          })),
          { port: 'http', path: '/metrics', interval: '1m' },
        ],
      },
    });
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: o.name, namespace: o.namespace, labels },
      spec: alertRules(),
    });
  }
  return objects;
}
