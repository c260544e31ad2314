// Runs the container of a printed Deployment/Job/CronJob the way a kubelet would, inside a test namespace: a new
// root that is a read-only tmpfs holding only /usr (read-only: node and sh), /dev, /proc and a few /etc files
// (resolver config), the pod's volumes mounted at their mountPaths (ConfigMaps from the manifest itself or given
// by the test, Secrets given by the test, emptyDirs as tmpfs), the container's env (secretKeyRef resolved from
// the given Secrets), its command + args, as the pod's runAsUser. Nothing is created outside a temp dir: every
// mount lives in a private mount namespace that ends with the process.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Netns } from '../harness/netns.js';
import { makeTempDir, type ManagedProc } from '../harness/proc.js';

type Obj = Record<string, any>;

export interface PodInputs {
  /** ConfigMaps the manifest refers to but does not contain (a CA the user made): name → key → text. */
  configMaps?: Record<string, Record<string, string>>;
  /** Secrets by name → key → value. */
  secrets?: Record<string, Record<string, string>>;
}

export interface PodCommand {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** The pod template of a Deployment, Job or CronJob among the objects. */
export function podTemplate(objects: Obj[]): Obj {
  const w = objects.find((o) => ['Deployment', 'Job', 'CronJob'].includes(o.kind));
  if (!w) throw new Error('no workload in the manifest');
  return w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template : w.spec.template;
}

export async function podCommand(objects: Obj[], inputs: PodInputs = {}): Promise<PodCommand> {
  const pod = podTemplate(objects).spec;
  const c = pod.containers[0];
  const base = await makeTempDir('nvt-pod-');
  const root = path.join(base, 'root');
  mkdirSync(root);
  const configMap = (name: string): Obj => {
    const own = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    if (own) return own;
    if (inputs.configMaps?.[name]) return { data: inputs.configMaps[name] };
    throw new Error(`ConfigMap ${name} is neither in the manifest nor given`);
  };
  const mounts: string[] = [];
  for (const v of pod.volumes ?? []) {
    const m = (c.volumeMounts ?? []).find((x: Obj) => x.name === v.name);
    if (!m) continue;
    const target = `"$R${m.mountPath}"`;
    if (v.emptyDir) {
      mounts.push(`mkdir -p ${target}`, `mount -t tmpfs -o size=64m,mode=1777 ${v.name} ${target}`);
      continue;
    }
    const dir = path.join(base, `vol-${v.name}`);
    mkdirSync(dir, { mode: 0o755 });
    let files: Record<string, Buffer> = {};
    if (v.configMap) {
      const cm = configMap(v.configMap.name);
      for (const [k, t] of Object.entries(cm.data ?? {})) files[k] = Buffer.from(String(t));
      for (const [k, b] of Object.entries(cm.binaryData ?? {})) files[k] = Buffer.from(String(b), 'base64');
    } else if (v.secret) {
      const s = inputs.secrets?.[v.secret.secretName];
      if (!s) throw new Error(`Secret ${v.secret.secretName} not given`);
      for (const [k, t] of Object.entries(s)) files[k] = Buffer.from(t);
    } else throw new Error(`volume ${v.name}: only configMap, secret and emptyDir are emulated`);
    const items = (v.configMap ?? v.secret).items as Array<{ key: string; path: string }> | undefined;
    if (items) files = Object.fromEntries(items.map((i) => [i.path, files[i.key]!]));
    for (const [k, b] of Object.entries(files)) {
      writeFileSync(path.join(dir, k), b);
      chmodSync(path.join(dir, k), 0o644);
    }
    mounts.push(`mkdir -p ${target}`, `mount --bind "${dir}" ${target}`, `mount -o remount,bind,ro ${target}`);
  }
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp' };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const v = inputs.secrets?.[ref.name]?.[ref.key];
      if (v === undefined && !ref.optional) throw new Error(`secret ${ref.name}/${ref.key} not given`);
      if (v !== undefined) env[e.name] = v;
    }
  }
  const user = `${pod.securityContext?.runAsUser ?? 0}:${pod.securityContext?.runAsGroup ?? 0}`;
  const script = [
    'set -e',
    `R="${root}"`,
    'mount -t tmpfs -o size=8m,mode=755 podroot "$R"',
    'mkdir -p "$R/usr" "$R/dev" "$R/proc" "$R/etc"',
    'ln -s usr/bin "$R/bin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"; ln -s usr/sbin "$R/sbin"',
    'mount --bind /usr "$R/usr"; mount -o remount,bind,ro "$R/usr"',
    'mount --rbind /dev "$R/dev"',
    'mount -t proc proc "$R/proc"',
    'for f in resolv.conf hosts nsswitch.conf host.conf gai.conf passwd group; do [ -e "/etc/$f" ] && cp ' +
      '"/etc/$f" "$R/etc/$f"; done',
    ...mounts,
    // readOnlyRootFilesystem: only the volumes stay writable.
    'mount -o remount,ro "$R"',
    `exec /usr/sbin/chroot --userspec=${user} "$R" "$@"`,
  ].join('\n');
  return {
    cmd: 'unshare',
    args: ['-m', '--propagation', 'private', 'sh', '-c', script, 'pod', ...(c.command ?? []), ...(c.args ?? [])],
    env,
  };
}

export async function runPod(ns: Netns, objects: Obj[], inputs: PodInputs = {}, timeoutMs = 90_000) {
  const p = await podCommand(objects, inputs);
  return ns.exec(p.cmd, p.args, { env: p.env, timeoutMs });
}

export async function spawnPod(ns: Netns, objects: Obj[], inputs: PodInputs = {}): Promise<ManagedProc> {
  const p = await podCommand(objects, inputs);
  return ns.spawn(p.cmd, p.args, { env: p.env });
}
