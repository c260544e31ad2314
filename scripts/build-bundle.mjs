// `npm run bundle`: the whole CLI as one ESM file (dist/nap-verify.mjs) that plain `node` ≥ 20 runs with no
// node_modules, for jump hosts without registry access. What the normal build reads from disk at run time goes
// inside: every checks/<id>.ts (a generated module in place of src/bundled.ts, so adding a check stays adding a
// file), the version, and the responder bundle that `kit responder` ships.
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

const bundledChecks = {
  name: 'bundled-checks',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]bundled\.ts$/ }, () => ({
      loader: 'ts',
      resolveDir: path.join(root, 'src'),
      contents: [
        ...checkFiles.map((f, i) => `import c${i} from '../checks/${f}';`),
        `export const BUNDLED_CHECKS = ` +
          `[${checkFiles.map((f, i) => `{ file: ${JSON.stringify(f.replace(/\.ts$/, '.js'))}, def: c${i} }`).join(', ')}];`,
      ].join('\n'),
    }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outfile,
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
});
const size = statSync(outfile).size;
process.stdout.write(`${path.relative(root, outfile)}: ${(size / 1024).toFixed(0)} KiB, ${checkFiles.length} checks\n`);
