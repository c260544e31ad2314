// The CLI as esbuild bundles, two shapes of the same code:
// - dist/nap-verify.mjs: one ESM file that plain `node` ≥ 20 runs with no node_modules, for jump hosts without
//   registry access and for the pods of `kit job` / `kit exporter` (a ConfigMap holds one file);
// - dist/bin/: the installed command (package.json `bin`), split at the CLI's lazy imports so `--version` loads only
//   the option parser and a check run only the checks. Loading one bundle instead of ~115 modules and three packages
//   file by file took a `--no-hold` run from 420 to 320 ms and its peak RSS from 79 to 71 MB (bench/RESULTS.md).
// What the tsc build reads from disk at run time goes inside: every checks/<id>.ts (a generated module in place of
// src/bundled.ts, so adding a check stays adding a file), the version, and the responder bundle `kit responder`
// ships.
import { chmodSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// `--outfile <f>` writes elsewhere (tests build their own copy, so no test reads a file another one is rewriting).
const at = process.argv.indexOf('--outfile');
const outfile = at > 0 ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist', 'nap-verify.mjs');
// The same rule as src/registry.ts: ids like ws.h2 have digits after the first letter of a part.
const ID_FILE = /^([a-z]+(?:\.[a-z][a-z0-9]*)+)\.ts$/;
const checkFiles = readdirSync(path.join(root, 'checks'))
  .filter((f) => ID_FILE.test(f))
  .sort();
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const responder = readFileSync(path.join(root, 'dist', 'responder.mjs'), 'utf8');

const entry = (f, i) => `{ file: ${JSON.stringify(f.replace(/\.ts$/, '.js'))}, def: c${i} }`;
const bundledChecks = {
  name: 'bundled-checks',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]bundled\.ts$/ }, () => ({
      loader: 'ts',
      resolveDir: path.join(root, 'src'),
      contents: [
        ...checkFiles.map((f, i) => `import c${i} from '../checks/${f}';`),
        `export const BUNDLED_CHECKS = [${checkFiles.map(entry).join(', ')}];`,
      ].join('\n'),
    }));
  },
};

const common = {
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  define: { __NAP_VERIFY_VERSION__: JSON.stringify(version), __NAP_VERIFY_RESPONDER__: JSON.stringify(responder) },
  // ws probes for optional native speed-ups with require(); without them it falls back to plain JS.
  external: ['bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [bundledChecks],
  logLevel: 'warning',
};
const shape = (name) => ({ ...common.define, __NAP_VERIFY_BUNDLE__: JSON.stringify(name) });

await build({ ...common, outfile, define: shape('one-file') });
const size = statSync(outfile).size;
process.stdout.write(`${path.relative(root, outfile)}: ${(size / 1024).toFixed(0)} KiB, ${checkFiles.length} checks\n`);

if (at < 0) {
  const outdir = path.join(root, 'dist', 'bin');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    ...common,
    outdir,
    splitting: true,
    entryNames: 'nap-verify',
    outExtension: { '.js': '.mjs' },
    define: shape('split'),
  });
  chmodSync(path.join(outdir, 'nap-verify.mjs'), 0o755);
  process.stdout.write(`dist/bin/nap-verify.mjs: the installed command, ${readdirSync(outdir).length} files\n`);
}
