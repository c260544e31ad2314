// Process management for the real-server harness: every child is tracked so that a failing test
// cannot leave a dnsmasq/nginx holding ports, and every wait has a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ManagedProc {
  pid: number;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Last 64 KiB of stdout+stderr, interleaved, for diagnostics. */
  output(): string;
  /** Exit code, or null when killed by a signal (or when it could not be spawned). */
  exited: Promise<number | null>;
}

export interface SpawnOpts {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const TAIL_BYTES = 64 * 1024;
const TERM_GRACE_MS = 2000;
// After SIGKILL a process is gone unless stuck in the kernel; do not hang the suite on that.
const KILL_WAIT_MS = 3000;

// ---------------------------------------------------------------- cleanup registry

type Cleanup = () => unknown;
const cleanups = new Set<Cleanup>();
const liveGroups = new Set<number>();

/** Registers fn to run in runCleanups() (LIFO). Returns a function that unregisters it. */
export function registerCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/** Runs (and forgets) every registered cleanup, newest first; throws once at the end if any failed. */
export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  // Bounded: each round empties the set; cleanups registered during cleanup get one more round.
  for (let round = 0; round < 5 && cleanups.size > 0; round++) {
    const fns = [...cleanups].reverse();
    cleanups.clear();
    for (const fn of fns) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} harness cleanups failed`);
}

const exitHooks = new Set<() => void>();

/** Registers a synchronous last-resort hook for process exit (see below). Returns an unregister function. */
export function registerExitHook(fn: () => void): () => void {
  exitHooks.add(fn);
  return () => {
    exitHooks.delete(fn);
  };
}

// Last resort when the worker exits without afterAll having run (crash, bail-out): no async work is
// possible in 'exit', so SIGKILL every process group we started and is still alive, then run the
// synchronous hooks (e.g. deleting namespaces).
function lastResort(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
  for (const fn of exitHooks) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  exitHooks.clear();
}
process.on('exit', lastResort);
// Vitest ends its fork workers with SIGTERM (and Ctrl-C sends SIGINT), which kill node without an
// 'exit' event; our children live in their own sessions and would survive. Clean up, then re-raise
// the signal with the default action so the worker still dies the way its parent expects.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    lastResort();
    process.kill(process.pid, sig);
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    // Children run in their own process group (detached), so -pgid also reaches nginx workers,
    // which would otherwise survive a SIGKILLed master and keep the port bound.
    process.kill(-pgid, signal);
  } catch {
    try {
      process.kill(pgid, signal);
    } catch {
      /* already gone */
    }
  }
}

// ---------------------------------------------------------------- spawning

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    // Bounded: each iteration removes one chunk.
    while (this.size > TAIL_BYTES && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('utf8');
  }
}

export function spawnManaged(cmd: string, args: string[], opts: SpawnOpts = {}): ManagedProc {
  const child: ChildProcess = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: see killGroup
  });
  const tail = new Tail();
  child.stdout?.on('data', (b: Buffer) => tail.push(b));
  child.stderr?.on('data', (b: Buffer) => tail.push(b));

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      tail.push(Buffer.from(`\n[spawn error] ${err.message}\n`));
      if (child.pid === undefined) {
        exitCode = null;
        resolve(null);
      }
    });
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });

  const pid = child.pid;
  if (pid === undefined) {
    // spawn failed synchronously-ish (ENOENT...): the 'error' listener above keeps it from crashing.
    throw new Error(`cannot spawn ${cmd}: executable not found or not runnable`);
  }
  liveGroups.add(pid);
  void exited.then(() => liveGroups.delete(pid));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      if (exitCode !== undefined) return; // exited on its own: its pid may already be reused
      killGroup(pid, 'SIGTERM');
      if (await settlesWithin(exited, TERM_GRACE_MS)) return;
      killGroup(pid, 'SIGKILL');
      if (!(await settlesWithin(exited, KILL_WAIT_MS))) {
        throw new Error(`${cmd} (pid ${pid}) did not exit after SIGKILL`);
      }
    })();
    return stopping;
  };
  const unregister = registerCleanup(stop);

  return { pid, stop, output: () => tail.text(), exited };
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

// ---------------------------------------------------------------- one-shot commands

export interface RunOpts extends SpawnOpts {
  timeoutMs?: number;
  input?: string | Buffer;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const MAX_CAPTURE = 16 * 1024 * 1024;

/** Runs a command to completion, capturing output; SIGKILLs its process group at timeoutMs (default 20 s). */
export function runCommand(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      outLen += b.length;
      if (outLen <= MAX_CAPTURE) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errLen += b.length;
      if (errLen <= MAX_CAPTURE) err.push(b);
    });
    let spawnError = '';
    child.once('error', (e) => {
      spawnError = `[spawn error] ${e.message}\n`;
      if (child.pid === undefined) finish(null, null);
    });
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: spawnError + Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
      });
    };
    // 'close' (not 'exit') so that all output has been read.
    child.once('close', (code, signal) => finish(code, signal));
    child.stdin.on('error', () => {
      /* child may exit before reading its input */
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** runCommand that throws (with the output) unless the exit code is 0. */
export async function runOk(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}):\n${r.stderr}${r.stdout}`);
  }
  return r;
}

// ---------------------------------------------------------------- waiting

const POLL_MS = 20;

/** Polls pred every 20 ms until it returns true; throws naming `what` after timeoutMs. */
export async function waitFor(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await pred()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ---------------------------------------------------------------- temp dirs

/** mkdtemp under os.tmpdir(), removed by runCleanups() or, failing that, at process exit. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const unregisterExit = registerExitHook(() => rmSync(dir, { recursive: true, force: true }));
  registerCleanup(async () => {
    await rm(dir, { recursive: true, force: true });
    unregisterExit();
  });
  return dir;
}
