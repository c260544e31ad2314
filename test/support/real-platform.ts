// The real platform (nap-cp, nap-browser, nap-sandbox: neutree-ai/agent-platform at e5ea8d0, built by
// scripts/platform-setup.mjs from NAP_PLATFORM_SRC) with PostgreSQL, started in a test namespace with the
// environment install.sh gives each service (self-host/manifests/*.yaml), derived from a values.env.
// No stand-in here: what these services answer is what nap-verify must judge right.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/cli.js';
import type { Netns } from '../harness/netns.js';
import { makeTempDir, registerCleanup, runCommand, spawnManaged, waitFor, type ManagedProc } from '../harness/proc.js';
import { waitPort } from './ingress.js';

export const PLATFORM_COMMIT = 'e5ea8d04950d78480906e814aab60b526bee8586';

export interface PlatformBuild {
  /** The built tree: control-plane/, browser-service/, sandbox-service/, web/. */
  tree: string;
  /** Node 22, which the services target. */
  node: string;
}

let build: PlatformBuild | undefined;

/**
 * Builds (or finds built) the real platform. Fails, never skips, when NAP_PLATFORM_SRC is missing: this tier must
 * not pass silently on a machine without the platform.
 */
export function platformBuild(): PlatformBuild {
  if (build) return build;
  if (!process.env.NAP_PLATFORM_SRC) {
    throw new Error(
      'NAP_PLATFORM_SRC is not set: the real-platform tests need neutree-ai/agent-platform at commit ' +
        `${PLATFORM_COMMIT} (a checkout or a git-archive .tar.gz). .ci/run sets it; see README "Tests".`,
    );
  }
  const base = path.resolve(process.env.NAP_PLATFORM_DIR ?? path.join(REPO_ROOT, '.platform'));
  // Two test files may ask at once: the lock makes the second wait for the first's build, then find it ready.
  const out = execFileSync(
    'flock',
    [`${base}.lock`, process.execPath, path.join(REPO_ROOT, 'scripts', 'platform-setup.mjs')],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NAP_PLATFORM_DIR: base }, timeout: 600_000 },
  );
  // The setup script's last line is the folder it built (or found built) for this source.
  const dir = out.toString().trim().split('\n').pop()!;
  build = { tree: path.join(dir, 'tree'), node: path.join(dir, 'node22', 'bin', 'node') };
  return build;
}

/** Debian keeps the server programs under /usr/lib/postgresql/<major>/bin, off PATH; the newest is taken. */
function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (newest) return path.join(root, newest, 'bin');
  throw new Error(
    'no PostgreSQL server programs (initdb) under /usr/lib/postgresql: scripts/system-deps.sh installs them',
  );
}

export interface Postgres {
  /** A fresh database on this server, and the DATABASE_URL that reaches it (unix socket: works in any netns). */
  createDb(name: string): Promise<string>;
}

let pg: Promise<Postgres> | undefined;

/** One PostgreSQL per test file, its own cluster in a temporary directory, gone with the file's cleanups. */
export function startPostgres(): Promise<Postgres> {
  pg ??= (async () => {
    const bin = pgBin();
    const dir = await makeTempDir('nvt-pg-');
    const data = path.join(dir, 'data');
    const sock = path.join(dir, 'sock');
    // postgres refuses to run as root: the cluster belongs to the postgres user, with trust on its socket only.
    await runCommand('mkdir', ['-p', sock]);
    await runCommand('chown', ['-R', 'postgres', dir]);
    const init = await runCommand(
      'runuser',
      ['-u', 'postgres', '--', `${bin}/initdb`, '-D', data, '-U', 'root', '--auth=trust', '-E', 'UTF8'],
      { timeoutMs: 60_000 },
    );
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const server: ManagedProc = spawnManaged('runuser', [
      '-u',
      'postgres',
      '--',
      `${bin}/postgres`,
      '-D',
      data,
      '-k',
      sock,
      '-c',
      'listen_addresses=',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ]);
    registerCleanup(() => server.stop());
    const psql = (sql: string) =>
      runCommand('psql', ['-qAt', `postgresql://root@/postgres?host=${sock}`, '-c', sql], { timeoutMs: 10_000 });
    try {
      await waitFor(async () => (await psql('select 1')).code === 0, 'postgres', 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${server.output()}`);
    }
    return {
      async createDb(name: string) {
        const r = await psql(`create database ${name}`);
        if (r.code !== 0) throw new Error(`create database ${name}: ${r.stderr}`);
        return `postgresql://root@/${name}?host=${sock}`;
      },
    };
  })();
  return pg;
}

/** A values.env as install.sh reads it: the keys set, every default left to install.sh. */
export type ValuesEnv = Record<string, string>;

/** What install.sh derives from values.env (self-host/install.sh at e5ea8d0, lines 153–210). */
export function derive(v: ValuesEnv) {
  const get = (k: string, dflt = '') => (v[k] === undefined || v[k] === '' ? dflt : v[k]);
  const napHost = get('NAP_HOST');
  const web = get('WEB_PUBLIC_URL', `http://${napHost}:${get('NAP_NODE_PORT', '30080')}`);
  return {
    sandboxEnabled: get('SANDBOX_ENABLED', 'false') === 'true',
    browserEnabled: get('BROWSER_ENABLED', 'false') === 'true',
    mode: get('INGRESS_MODE', 'nodeport'),
    web,
    files: get('FILES_PUBLIC_URL', web),
    sandbox: get('SANDBOX_PUBLIC_URL', `http://${napHost}:${get('SANDBOX_NODE_PORT', '30086')}`),
    browser: get('BROWSER_PUBLIC_URL', `http://${napHost}:${get('BROWSER_NODE_PORT', '30085')}`),
    sandboxDomain: get('SANDBOX_DOMAIN'),
    turnHost: get('TURN_HOST'),
    turnPort: get('TURN_PORT', '3478'),
    turnSecret: get('TURN_AUTH_SECRET'),
  };
}

export interface PlatformPorts {
  cp: number;
  browser: number;
  sandbox: number;
}

export interface RealPlatform {
  ports: PlatformPorts;
  /** The services that run (a module that is off has none). */
  running: Array<keyof PlatformPorts>;
  values: ValuesEnv;
  valuesFile: string;
}

let dbCounter = 0;

/**
 * Starts the services a values.env asks for inside `ns`, listening on 127.0.0.1 at `ports` (the Service ports by
 * default), each with the environment its manifest gives it. A closed loopback port stands in for the Kubernetes
 * API and for OpenSandbox (every preview then answers 502 `Endpoint not available`, as with no sandbox behind it).
 */
export async function startRealPlatform(
  ns: Netns,
  values: ValuesEnv,
  ports: PlatformPorts = { cp: 3000, browser: 3005, sandbox: 3006 },
): Promise<RealPlatform> {
  const b = platformBuild();
  const db = await (await startPostgres()).createDb(`nap_${process.pid}_${dbCounter++}`);
  const dir = await makeTempDir('nvt-platform-');
  const kubeconfig = path.join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: closed-port}}]',
      'contexts: [{name: c, context: {cluster: c, user: u, namespace: nap}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  const valuesFile = path.join(dir, 'values.env');
  writeFileSync(
    valuesFile,
    `${Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  const d = derive(values);
  const cpUrl = `http://127.0.0.1:${ports.cp}`;
  const secret = (n: string) => `nvt-${n}-${'0'.repeat(48)}`;
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: db, NODE_ENV: 'production' };
  const services: Array<{ name: keyof PlatformPorts; dir: string; env: Record<string, string> }> = [
    {
      name: 'cp',
      dir: 'control-plane',
      env: {
        PORT: String(ports.cp),
        // Its debug server's port, moved off 9090 so that two installs can share a namespace.
        PPROF_PORT: String(ports.cp + 6000),
        KUBECONFIG: kubeconfig,
        K8S_NAMESPACE: 'nap',
        JWT_SECRET: secret('jwt'),
        CREDENTIAL_ENCRYPTION_KEY: secret('cred'),
        PLATFORM_SERVICE_KEY: secret('svc'),
        CONTROL_PLANE_URL: cpUrl,
        BROWSER_SERVICE_URL: `http://127.0.0.1:${ports.browser}`,
        SANDBOX_SERVICE_URL: `http://127.0.0.1:${ports.sandbox}`,
        WEB_PUBLIC_URL: d.web,
        FILES_PUBLIC_URL: d.files,
        BROWSER_PUBLIC_URL: d.browser,
        SANDBOX_PUBLIC_URL: d.sandbox,
        WEB_DIST: path.join(b.tree, 'web', 'dist'),
      },
    },
  ];
  if (d.browserEnabled)
    services.push({
      name: 'browser',
      dir: 'browser-service',
      env: {
        PORT: String(ports.browser),
        JWT_SECRET: secret('browser-jwt'),
        NAP_OAUTH_URL: d.web,
        NAP_INTERNAL_URL: cpUrl,
        OAUTH_CLIENT_ID: 'browser-service',
        BROWSER_SERVICE_URL: d.browser,
        SANDBOX_SERVICE_URL: `http://127.0.0.1:${ports.sandbox}`,
        TURN_HOST: d.turnHost,
        TURN_PORT: d.turnPort,
        TURN_AUTH_SECRET: d.turnSecret,
      },
    });
  if (d.sandboxEnabled)
    services.push({
      name: 'sandbox',
      dir: 'sandbox-service',
      env: {
        PORT: String(ports.sandbox),
        JWT_SECRET: secret('sandbox-jwt'),
        SERVICE_KEY: secret('sandbox-svc'),
        NAP_OAUTH_URL: d.web,
        NAP_URL: cpUrl,
        OAUTH_CLIENT_ID: 'sandbox-service',
        SANDBOX_SERVICE_URL: d.sandbox,
        SANDBOX_DOMAIN: d.sandboxDomain,
        OPENSANDBOX_URL: 'http://127.0.0.1:1',
      },
    });
  // nap-cp first: it applies the migrations the other two share the database with.
  for (const s of services) {
    const proc = ns.spawn(b.node, ['dist/index.js'], { cwd: path.join(b.tree, s.dir), env: { ...base, ...s.env } });
    let exited = false;
    void proc.exited.then(() => (exited = true));
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`${s.dir} exited at start:\n${proc.output()}`);
          const r = await ns.exec('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${ports[s.name]}`], { timeoutMs: 2000 });
          return r.code === 0;
        },
        `${s.dir} on ${ports[s.name]}`,
        60_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${proc.output().slice(-4000)}`);
    }
  }
  await Promise.all(services.map((s) => waitPort(ns, ports[s.name], s.dir)));
  return { ports, running: services.map((s) => s.name), values, valuesFile };
}
