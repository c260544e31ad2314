// Network namespaces as sandboxes: each has only its own `lo`, so servers bound to 127.0.0.1 in it
// cannot collide with the host or other tests, and nothing in it can reach another address.
// `ip netns exec` bind-mounts /etc/netns/<name>/* over /etc/*, which gives every process in the
// namespace its own resolv.conf and hosts — so the real OS resolver path (getaddrinfo) is tested.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import {
  registerCleanup,
  registerExitHook,
  runCommand,
  runOk,
  spawnManaged,
  type ManagedProc,
  type RunOpts,
  type RunResult,
} from './proc.js';

export interface NetnsOpts {
  /** Extra lines appended to the namespace's /etc/hosts. */
  hosts?: string;
  /** Whole /etc/resolv.conf; default points at a dnsmasq on 127.0.0.1 with 1 s timeout, 1 attempt. */
  resolvConf?: string;
}

export interface NetnsExecOpts {
  /** Complete environment for the command (not merged); default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string | Buffer;
}

export interface Netns {
  name: string;
  exec(cmd: string, args: string[], opts?: NetnsExecOpts): Promise<RunResult>;
  spawn(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): ManagedProc;
  destroy(): Promise<void>;
}

export const DEFAULT_RESOLV_CONF = 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n';
const BASE_HOSTS = '127.0.0.1 localhost\n::1 localhost\n';

let counter = 0;

export async function createNetns(opts: NetnsOpts = {}): Promise<Netns> {
  // Short and unique per worker process; netns names are file names under /run/netns.
  const name = `nvt${process.pid}${counter++}`;
  const etcDir = `/etc/netns/${name}`;
  const procs = new Set<ManagedProc>();
  let destroyed: Promise<void> | undefined;

  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      unregister();
      await Promise.allSettled([...procs].map((p) => p.stop()));
      // Anything else still inside (a command that outlived exec's timeout, a stray child):
      // all of it was started by this harness in a namespace it created, so it is ours to kill.
      const pids = await runCommand('ip', ['netns', 'pids', name], { timeoutMs: 5000 });
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await runCommand('ip', ['netns', 'del', name], { timeoutMs: 5000 });
      await rm(etcDir, { recursive: true, force: true });
    })();
    return destroyed;
  };
  const unregisterCleanup = registerCleanup(destroy);
  const unregisterExit = registerExitHook(() => {
    spawnSync('ip', ['netns', 'del', name], { timeout: 5000, stdio: 'ignore' });
    rmSync(etcDir, { recursive: true, force: true });
  });
  const unregister = (): void => {
    unregisterCleanup();
    unregisterExit();
  };

  try {
    await mkdir(etcDir, { recursive: true });
    await writeFile(`${etcDir}/resolv.conf`, opts.resolvConf ?? DEFAULT_RESOLV_CONF);
    const extra = opts.hosts ? (opts.hosts.endsWith('\n') ? opts.hosts : `${opts.hosts}\n`) : '';
    await writeFile(`${etcDir}/hosts`, BASE_HOSTS + extra);
    await runOk('ip', ['netns', 'add', name], { timeoutMs: 5000 });
    await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: 5000 });
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    name,
    exec: (cmd, args, o: RunOpts = {}) => runCommand('ip', ['netns', 'exec', name, cmd, ...args], o),
    spawn: (cmd, args, o = {}) => {
      // `ip netns exec` setns()es and then execvp()s the command, so the pid we get is the command's
      // own and signals reach it directly (checked in harness.test.ts).
      const p = spawnManaged('ip', ['netns', 'exec', name, cmd, ...args], o);
      procs.add(p);
      void p.exited.then(() => procs.delete(p));
      return p;
    },
    destroy,
  };
}
