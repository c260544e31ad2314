// `kit responder`: the probe responder as Kubernetes objects — a ConfigMap with the one-file bundle, and for each
// platform service a Deployment plus a Service under the platform's name (or beside it, with a suffix), so the
// user's real ingress routes reach it unchanged.
import { readFileSync } from 'node:fs';
import type { Module, ModuleChoice } from '../model.js';
import { moduleOn } from '../modules.js';
import type { Service } from '../serve/responder.js';

export const DEFAULT_IMAGE = 'node:22-alpine';
/** Where the ingress controller runs: the only namespace the NetworkPolicy admits (ingress-nginx's own default). */
export const DEFAULT_INGRESS_NAMESPACE = 'ingress-nginx';

/**
 * An image reference as a container runtime takes it: [registry[:port]/]path[:tag][@sha256:<64 hex>]. A digest
 * pins the exact bytes the pod runs; the tag is then only a label.
 */
const IMAGE_REF = new RegExp(
  '^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*' +
    '(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$',
);
export const isImageRef = (s: string) => s.length <= 512 && IMAGE_REF.test(s);
export const MANAGED_BY = 'nap-verify';
export const PART_OF = 'nap-verify-responder';

export const STAND_INS: Array<{ service: Service; port: number; health: string; module?: Module }> = [
  { service: 'nap-cp', port: 3000, health: '/healthz' },
  { service: 'nap-browser', port: 3005, health: '/health', module: 'browser' },
  { service: 'nap-sandbox', port: 3006, health: '/health', module: 'sandbox' },
];

/** The stand-ins of the modules that are on (all three when no choice was made); nap-cp's always. */
export const standIns = (modules?: ModuleChoice) => STAND_INS.filter((s) => moduleOn(modules, s.module));

/** What every pod the kit prints runs with: non-root, no privilege, read-only, no capabilities, small limits. */
export const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};
export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};
export const RESOURCES = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

export interface ResponderKitOptions {
  namespace: string;
  domain: string;
  suffix?: string;
  image: string;
  /** Namespace of the ingress controller: the NetworkPolicy admits only its pods; null: no NetworkPolicy. */
  ingressNamespace: string | null;
  /** The bundle (dist/responder.mjs) text. */
  bundle: string;
  /** The optional modules: stand-ins only for those that are on (nap-cp always); absent: all three. */
  modules?: ModuleChoice;
}

// The one-file CLI bundle carries the responder bundle inside it (defined by scripts/build-bundle.mjs).
declare const __NAP_VERIFY_RESPONDER__: string | undefined;

export function bundleText(): string {
  if (typeof __NAP_VERIFY_RESPONDER__ === 'string') return __NAP_VERIFY_RESPONDER__;
  return readFileSync(new URL('../../responder.mjs', import.meta.url), 'utf8');
}

/** The label every object carries: `kubectl delete -l <selector>` removes exactly what this created. */
export const instanceLabel = (o: Pick<ResponderKitOptions, 'suffix'>) =>
  `nap-verify-responder${o.suffix ? `-${o.suffix}` : ''}`;

export function responderObjects(o: ResponderKitOptions): Array<Record<string, unknown>> {
  const name = (s: string) => (o.suffix ? `${s}-${o.suffix}` : s);
  const labels = {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/instance': instanceLabel(o),
  };
  const configMap = name('nap-verify-responder');
  const objects: Array<Record<string, unknown>> = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMap, namespace: o.namespace, labels },
      data: { 'responder.mjs': o.bundle },
    },
  ];
  for (const s of standIns(o.modules)) {
    const podLabels = { ...labels, 'app.kubernetes.io/name': name(s.service) };
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: name(s.service), namespace: o.namespace, labels: podLabels },
      spec: {
        replicas: 1,
        selector: {
          matchLabels: { 'app.kubernetes.io/instance': instanceLabel(o), 'app.kubernetes.io/name': name(s.service) },
        },
        template: {
          metadata: { labels: podLabels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: POD_SECURITY,
            containers: [
              {
                name: 'responder',
                image: o.image,
                command: ['node', '/app/responder.mjs'],
                args: ['--domain', o.domain, '--service', s.service, '--port', String(s.port)],
                ports: [{ name: 'http', containerPort: s.port }],
                readinessProbe: { httpGet: { path: s.health, port: s.port }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: s.health, port: s.port }, periodSeconds: 20 },
                resources: RESOURCES,
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [{ name: 'app', mountPath: '/app', readOnly: true }],
              },
            ],
            volumes: [{ name: 'app', configMap: { name: configMap } }],
          },
        },
      },
    });
    if (o.ingressNamespace !== null) {
      // During the pre-flight window the stand-ins face the internet through the ingress only: no other pod
      // (and no NodePort path through another namespace) may reach them directly.
      objects.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: name(s.service), namespace: o.namespace, labels },
        spec: {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/instance': instanceLabel(o), 'app.kubernetes.io/name': name(s.service) },
          },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.ingressNamespace } } }],
              ports: [{ protocol: 'TCP', port: s.port }],
            },
          ],
        },
      });
    }
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: name(s.service), namespace: o.namespace, labels },
      spec: {
        type: 'ClusterIP',
        selector: { 'app.kubernetes.io/instance': instanceLabel(o), 'app.kubernetes.io/name': name(s.service) },
        ports: [{ name: 'http', port: s.port, targetPort: s.port }],
      },
    });
  }
  return objects;
}

/** What `--delete` prints: the same objects by kind and name, for `kubectl delete -f -`. */
export function deletionObjects(o: ResponderKitOptions): Array<Record<string, unknown>> {
  return responderObjects(o).map((x) => ({
    apiVersion: x.apiVersion,
    kind: x.kind,
    metadata: { name: (x.metadata as { name: string }).name, namespace: o.namespace },
  }));
}
