// The installed command's `check` (dist/bin/, scripts/build-bundle.mjs): what `import('./commands/check.js')` in
// src/cli.ts loads there. The check command and everything it runs is one CommonJS file, check-world.cjs, compiled
// through node:vm with a V8 code cache of itself, so a run does not compile again what the last one did: compiling
// (module top levels, then each function at its first call) cost a `--no-hold` run ~40 ms of CPU, ~30 ms of wall.
// Node 22 has module.enableCompileCache(); Node 20, the oldest supported, has only vm's cachedData.
//
// The cache is per user ($XDG_CACHE_HOME or ~/.cache, nap-verify/), one file per build of the world, Node version,
// architecture and Node options, and V8 refuses one made by another V8 or other flags anyway. It is written when a
// run that got through its checks found none it could use, and again by a run that checked more than the one that
// wrote it: written to a temporary name and renamed, so runs side by side never read half a file. Anything that
// fails here (no home, a read-only disk) only means compiling as before. options.js, version.js and
// probes/preconnect.js are the entry's own modules (shared, not copies):
// `instanceof UsageError` in src/cli.ts holds for what the check command throws, and sse.main takes the connections
// the entry opened.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import * as options from '../options.js';
import * as preconnect from '../probes/preconnect.js';
import * as version from '../version.js';

/** Filled in by scripts/build-bundle.mjs: the world's file name beside this chunk, and a hash of its content. */
const WORLD = __NAP_VERIFY_WORLD__;

const file = fileURLToPath(new URL(`./${WORLD.file}`, import.meta.url));
const shared = { 'nap-verify:options': options, 'nap-verify:preconnect': preconnect, 'nap-verify:version': version };
const nodeRequire = createRequire(file);

/** Where this world's cache lives for this Node, or undefined when there is no per-user cache directory. */
function cacheFile() {
  // NAP_VERIFY_CODE_CACHE=0: write nothing (a shared account, a home that must stay untouched).
  if (process.env.NAP_VERIFY_CODE_CACHE === '0') return undefined;
  try {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    if (!path.isAbsolute(base)) return undefined;
    const runtime = [process.version, process.arch, ...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\0');
    const key = createHash('sha256').update(runtime).digest('hex').slice(0, 12);
    return path.join(base, 'nap-verify', `check-${WORLD.hash}-${key}.v8`);
  } catch {
    return undefined;
  }
}

/** Keeps the newest few cache files: each build of the command, and each set of Node options, writes its own. */
function prune(dir, keep) {
  const files = readdirSync(dir)
    .filter((f) => /^check-.*\.v8$/.test(f))
    .map((f) => ({ f, at: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const { f } of files.slice(keep)) rmSync(path.join(dir, f), { force: true });
}

const cache = cacheFile();
// A cache file is a header (MAGIC, then how many checks ran in the run that wrote it) and V8's data. V8 caches the
// functions a run had compiled, so a run that checked little (--only, an install with no DNS yet) leaves a cache
// that makes a whole run compile the rest again: a run that checked more writes it again, once.
const MAGIC = 0x4e564331; // "NVC1"
const HEADER = 8;
/** The compiled world, and the score of the cache V8 took (-1: none; its buffer is not kept: ~1 MB of RSS). */
const { script, cachedScore } = (() => {
  let cachedData;
  let cachedScore = -1;
  try {
    const raw = cache ? readFileSync(cache) : undefined;
    if (raw && raw.length > HEADER && raw.readUInt32BE(0) === MAGIC) {
      cachedScore = raw.readUInt32BE(4);
      cachedData = raw.subarray(HEADER);
    }
  } catch {
    // None yet: this run compiles, and leaves one.
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __nap_verify_url) {${readFileSync(file, 'utf8')}\n})`,
    { filename: file, ...(cachedData ? { cachedData } : {}) },
  );
  return { script, cachedScore: cachedData && !script.cachedDataRejected ? cachedScore : -1 };
})();
if (cache) {
  // At exit the functions this run called are compiled (those from the cache too), so the cache holds them. Not
  // after a usage error (exit 2) or a crash: those ran little of the checks.
  process.once('exit', (code) => {
    const score = world.exports.checksRun?.() ?? 0;
    if (code > 1 || score <= cachedScore) return;
    try {
      const dir = path.dirname(cache);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cache}.${process.pid}.tmp`;
      const header = Buffer.alloc(HEADER);
      header.writeUInt32BE(MAGIC, 0);
      header.writeUInt32BE(score, 4);
      writeFileSync(tmp, Buffer.concat([header, script.createCachedData()]), { mode: 0o600 });
      renameSync(tmp, cache);
      prune(dir, 8);
    } catch {
      // No cache this time; the next run tries again.
    }
  });
}
const world = { exports: {} };
script.runInThisContext()(
  world.exports,
  (id) => shared[id] ?? nodeRequire(id),
  world,
  file,
  path.dirname(file),
  pathToFileURL(file).href,
);

// What src/commands/check.ts exports (the names are written in by scripts/build-bundle.mjs: ESM exports are static).
export const { runCheckCommand } = world.exports;
