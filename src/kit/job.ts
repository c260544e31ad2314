// `kit job`: the verifier as a Kubernetes Job (or CronJob) inside the cluster, against the public names — the
// hairpin NAT / split-horizon view a laptop cannot see. One-file bundle from a ConfigMap on a stock node image,
// `--vantage in-cluster`, the text report then JUnit then JSON in its log, the Job's status = the verdict.
import type { ModuleChoice } from '../model.js';
import { modulesLabel } from '../modules.js';
import { APP_DIR, bundleConfigMapData, LOADER_KEY, TMP_DIR } from './cli-bundle.js';
import { CONTAINER_SECURITY, MANAGED_BY, POD_SECURITY, RESOURCES } from './responder.js';

export const JOB_PART_OF = 'nap-verify-job';
export const VALUES_PATH = '/etc/nap-verify/values.env';
/** Where a private CA from --ca-configmap is mounted (job and exporter). */
export const CA_DIR = '/etc/nap-verify-ca';
/** Lines in the log between the text report, the JUnit file and the JSON result. */
export const JUNIT_MARK = '----- nap-verify JUnit -----';
export const JSON_MARK = '----- nap-verify JSON -----';

export interface SecretRef {
  name: string;
  key: string;
}

export interface JobKitOptions {
  namespace: string;
  name: string;
  image: string;
  bundleBase64: string;
  domain?: string;
  cron?: string;
  helmTest: boolean;
  /** A Secret holding the platform's values.env (key `values.env`): domain, ports, TURN host and secret. */
  valuesSecret?: string;
  /** A Secret key holding the TURN REST secret, passed as NAP_VERIFY_TURN_SECRET. */
  turnSecret?: SecretRef;
  /** A ConfigMap key holding a private CA (PEM), for --ca-file. */
  caConfigMap?: SecretRef;
  /** --modules for the run; absent: the run decides (from values.env with valuesSecret, else every module). */
  modules?: ModuleChoice;
  /** More `check` options, as given after `--`. */
  checkArgs: string[];
  /** activeDeadlineSeconds: the run's hold plus start-up, with room. */
  deadlineS: number;
}

/** The shell around the CLI: run it, then print the JUnit and JSON it wrote, then exit with its status. */
export const JOB_SCRIPT = [
  `node ${APP_DIR}/${LOADER_KEY} "$@" --json ${TMP_DIR}/result.json --junit ${TMP_DIR}/junit.xml`,
  'rc=$?',
  `echo '${JUNIT_MARK}'`,
  `cat ${TMP_DIR}/junit.xml 2>/dev/null`,
  `echo '${JSON_MARK}'`,
  `cat ${TMP_DIR}/result.json 2>/dev/null`,
  'exit $rc',
].join('; ');

/** The arguments the CLI gets in the pod. */
export function jobCliArgs(
  o: Pick<JobKitOptions, 'domain' | 'valuesSecret' | 'checkArgs' | 'caConfigMap' | 'modules'>,
): string[] {
  return [
    '--vantage',
    'in-cluster',
    ...(o.domain ? ['--domain', o.domain] : []),
    ...(o.valuesSecret ? ['--values', VALUES_PATH] : []),
    ...(o.modules ? ['--modules', modulesLabel(o.modules)] : []),
    ...(o.caConfigMap ? ['--ca-file', `${CA_DIR}/${o.caConfigMap.key}`] : []),
    ...o.checkArgs,
  ];
}

export function jobObjects(o: JobKitOptions): Array<Record<string, unknown>> {
  const labels = {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/part-of': JOB_PART_OF,
    'app.kubernetes.io/instance': o.name,
  };
  // helm test creates hooks in weight order and runs the test Job; its ConfigMap must exist first.
  const hook = (weight: string) =>
    o.helmTest
      ? {
          annotations: {
            'helm.sh/hook': 'test',
            'helm.sh/hook-weight': weight,
            'helm.sh/hook-delete-policy': 'before-hook-creation',
          },
        }
      : {};
  const configMap = `${o.name}-bundle`;
  const podSpec = {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    securityContext: { ...POD_SECURITY, fsGroup: 1000 },
    containers: [
      {
        name: 'nap-verify',
        image: o.image,
        command: ['sh', '-c', JOB_SCRIPT, 'nap-verify'],
        args: jobCliArgs(o),
        env: [
          { name: 'NO_COLOR', value: '1' },
          ...(o.turnSecret
            ? [
                {
                  name: 'NAP_VERIFY_TURN_SECRET',
                  valueFrom: { secretKeyRef: { name: o.turnSecret.name, key: o.turnSecret.key } },
                },
              ]
            : []),
        ],
        resources: RESOURCES,
        securityContext: CONTAINER_SECURITY,
        volumeMounts: [
          { name: 'app', mountPath: APP_DIR, readOnly: true },
          { name: 'tmp', mountPath: TMP_DIR },
          ...(o.valuesSecret ? [{ name: 'values', mountPath: '/etc/nap-verify', readOnly: true }] : []),
          ...(o.caConfigMap ? [{ name: 'ca', mountPath: CA_DIR, readOnly: true }] : []),
        ],
      },
    ],
    volumes: [
      { name: 'app', configMap: { name: configMap } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ...(o.valuesSecret
        ? [
            {
              name: 'values',
              secret: {
                secretName: o.valuesSecret,
                defaultMode: 0o440,
                items: [{ key: 'values.env', path: 'values.env' }],
              },
            },
          ]
        : []),
      ...(o.caConfigMap
        ? [
            {
              name: 'ca',
              configMap: { name: o.caConfigMap.name, items: [{ key: o.caConfigMap.key, path: o.caConfigMap.key }] },
            },
          ]
        : []),
    ],
  };
  const jobSpec = {
    // A retry would hide the verdict: one run, its exit status is the answer.
    backoffLimit: 0,
    activeDeadlineSeconds: o.deadlineS,
    ...(o.cron || o.helmTest ? {} : { ttlSecondsAfterFinished: 86_400 }),
    template: { metadata: { labels }, spec: podSpec },
  };
  const objects: Array<Record<string, unknown>> = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMap, namespace: o.namespace, labels, ...hook('-5') },
      ...bundleConfigMapData(o.bundleBase64),
    },
  ];
  if (o.cron) {
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: o.name, namespace: o.namespace, labels },
      spec: {
        schedule: o.cron,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 300,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels }, spec: jobSpec },
      },
    });
  } else {
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: o.name, namespace: o.namespace, labels, ...hook('0') },
      spec: jobSpec,
    });
  }
  return objects;
}

const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;
const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;

/** A Kubernetes CronJob schedule: five fields or a macro. Checked for shape; the API server checks the rest. */
export function isCronSchedule(s: string): boolean {
  const t = s.trim();
  if (CRON_MACRO.test(t)) return true;
  const fields = t.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}
