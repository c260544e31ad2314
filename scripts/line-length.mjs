#!/usr/bin/env node
// Every line of every tracked text file stays within 120 characters. Biome formats code to 120 columns but
// cannot break string literals, template literals or comments; this catches what it leaves. Run by `npm run
// lint`. Dependency-free: Node and git only.
//
//   node scripts/line-length.mjs   (in the repository; prints file:line: N chars (max 120), exits 1 if any)
//
// Out of scope: Markdown (prose and tables: README.md, bench/RESULTS.md), package-lock.json (npm writes it) and
// build output. Length is counted in characters (Unicode code points), as an editor shows columns.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAX_CHARS = 120;

const SKIPPED = [/(^|\/)node_modules\//, /(^|\/)dist\//, /(^|\/)package-lock\.json$/, /\.md$/i];

/**
 * Files allowed to keep some long lines: path → { lines: how many may stay over the limit, why }. A file with more
 * long lines than allowed fails with all of them listed; an entry no longer needed (fewer long lines than allowed)
 * fails too, so the list can only shrink. Keep it empty where possible.
 */
export const ALLOWED = {};

/** Tracked files of the repository at `root` that this check reads. */
export function trackedFiles(root) {
  return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((f) => f && !SKIPPED.some((re) => re.test(f)));
}

/** Lines over `max` characters in one file's text: [{ line (1-based), chars }]. */
export function longLines(text, max = MAX_CHARS) {
  const out = [];
  text.split('\n').forEach((raw, i) => {
    const chars = [...raw.replace(/\r$/, '')].length;
    if (chars > max) out.push({ line: i + 1, chars });
  });
  return out;
}

/**
 * Checks the repository at `root`. `offenders`: every long line that fails the check ({ file, line, chars });
 * `allowed`: long lines an allow-list entry covers; `stale`: entries to drop ({ file, allowed, found }).
 */
export function checkLineLength(root, { max = MAX_CHARS, allowed = ALLOWED } = {}) {
  const offenders = [];
  const tolerated = [];
  const found = new Map();
  for (const file of trackedFiles(root)) {
    let text;
    try {
      text = readFileSync(path.join(root, file), 'utf8');
    } catch {
      continue; // deleted in the work tree but still in the index, or not a regular file (a submodule)
    }
    if (text.includes('\0')) continue; // binary
    const long = longLines(text, max).map((l) => ({ file, ...l }));
    found.set(file, long.length);
    const entry = allowed[file];
    if (entry && long.length <= entry.lines) tolerated.push(...long);
    else offenders.push(...long);
  }
  const stale = Object.entries(allowed)
    .filter(([file, entry]) => (found.get(file) ?? 0) < entry.lines)
    .map(([file, entry]) => ({ file, allowed: entry.lines, found: found.get(file) ?? 0 }));
  return { offenders, allowed: tolerated, stale };
}

function main() {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
  const { offenders, stale } = checkLineLength(root);
  for (const o of offenders) console.log(`${o.file}:${o.line}: ${o.chars} chars (max ${MAX_CHARS})`);
  for (const s of stale) {
    const fix = 'lower or drop its entry in scripts/line-length.mjs';
    console.log(`${s.file}: allowed ${s.allowed} long line(s), has ${s.found}: ${fix}`);
  }
  if (offenders.length || stale.length) {
    console.log(`line-length: ${offenders.length} line(s) over ${MAX_CHARS} characters`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
