// The CLI as esbuild bundles, two shapes of the same code:
// - dist/nap-verify.mjs: one ESM file that plain `node` ≥ 20 runs with no node_modules, for jump hosts without
//   registry access and for the pods of `kit job` / `kit exporter` (a ConfigMap holds one file);
// - dist/bin/: the installed command (package.json `bin`), split at the CLI's lazy imports so `--version` loads only
//   the option parser and a check run only the checks. Loading one bundle instead of ~115 modules and three packages
//   file by file took a `--no-hold` run from 420 to 320 ms and its peak RSS from 79 to 71 MB (bench/RESULTS.md).
// What the tsc build reads from disk at run time goes inside: every checks/<id>.ts (a generated module in place of
// src/bundled.ts, so adding a check stays adding a file), the version, and the responder bundle `kit responder`
// ships. dns2 is its packet codec alone (src/probes/dns-wire.ts), as the tsc build loads it.
// In dist/bin/ the check command itself is check-world.cjs, compiled through node:vm with a per-user V8 code cache
// (scripts/check-world.mjs loads it in place of src/commands/check.ts): a `--no-hold` run no longer compiles what
// the last one did (bench/RESULTS.md, "Fast run vs the floor").
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundledChecks as bundledChecksPlugin, checkFilesOf } from './bundled-checks.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// `--outfile <f>` writes elsewhere (tests build their own copy, so no test reads a file another one is rewriting).
const at = process.argv.indexOf('--outfile');
const outfile = at > 0 ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist', 'nap-verify.mjs');
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const responder = readFileSync(path.join(root, 'dist', 'responder.mjs'), 'utf8');

const checkFiles = checkFilesOf(root);
const bundledChecks = bundledChecksPlugin(root, checkFiles);

// src/probes/dns-wire.ts imports `dns2` for its packet codec only; the index would bring dns2's servers and DoH and
// TCP clients (and node:http2) along. packet.js is not in the package's exports, hence the path.
const dns2Packet = {
  name: 'dns2-packet',
  setup(b) {
    b.onResolve({ filter: /^dns2$/ }, (a) =>
      /[\\/]src[\\/]probes[\\/]dns-wire\.ts$/.test(a.importer) ? { path: 'dns2', namespace: 'dns2-packet' } : undefined,
    );
    const packet = path.join(root, 'node_modules', 'dns2', 'packet.js');
    b.onLoad({ filter: /.*/, namespace: 'dns2-packet' }, () => ({
      contents: `export { default as Packet } from ${JSON.stringify(packet)};`,
      loader: 'js',
      resolveDir: root,
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
  plugins: [bundledChecks, dns2Packet],
  logLevel: 'warning',
};
const shape = (name) => ({ ...common.define, __NAP_VERIFY_BUNDLE__: JSON.stringify(name) });

await build({ ...common, outfile, define: shape('one-file') });
const size = statSync(outfile).size;
process.stdout.write(`${path.relative(root, outfile)}: ${(size / 1024).toFixed(0)} KiB, ${checkFiles.length} checks\n`);

if (at < 0) {
  const outdir = path.join(root, 'dist', 'bin');
  // The check command's world: CommonJS, for node:vm and its code cache. options.js, version.js and preconnect.js
  // stay the entry's (required by these names from scripts/check-world.mjs), so there is one UsageError class, not
  // two, and the world takes the connections the entry opened.
  const sharedModule = {
    name: 'shared-with-entry',
    setup(b) {
      b.onResolve({ filter: /[\\/](options|version|preconnect)\.js$/ }, (a) => {
        const f = path.resolve(a.resolveDir, a.path).replace(/\.js$/, '.ts');
        const name = {
          [path.join(root, 'src', 'options.ts')]: 'options',
          [path.join(root, 'src', 'version.ts')]: 'version',
          [path.join(root, 'src', 'probes', 'preconnect.ts')]: 'preconnect',
        }[f];
        return name ? { path: `nap-verify:${name}`, external: true } : undefined;
      });
    },
  };
  const world = await build({
    ...common,
    entryPoints: ['src/commands/check.ts'],
    format: 'cjs',
    write: false,
    outfile: path.join(outdir, 'check-world.cjs'),
    define: { ...shape('split'), 'import.meta.url': '__nap_verify_url' },
    banner: {},
    plugins: [bundledChecks, dns2Packet, sharedModule],
  });
  const worldCode = world.outputFiles[0].contents;
  // The names the loader re-exports: those of src/commands/check.ts (a CommonJS build's metafile lists none).
  const worldExports = Object.values(
    (await build({ absWorkingDir: root, entryPoints: ['src/commands/check.ts'], write: false, metafile: true }))
      .metafile.outputs,
  )[0].exports;
  const worldFile = {
    file: 'check-world.cjs',
    hash: createHash('sha256').update(worldCode).digest('hex').slice(0, 16),
  };
  // src/cli.ts's `import('./commands/check.js')` loads the world through scripts/check-world.mjs instead.
  const checkLoader = {
    name: 'check-world-loader',
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/check\.js$/ }, (a) =>
        /[\\/]src[\\/]cli\.ts$/.test(a.importer) ? { path: 'check-world', namespace: 'check-world' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'check-world' }, () => ({
        contents: readFileSync(path.join(root, 'scripts', 'check-world.mjs'), 'utf8').replace(
          /^export const \{ runCheckCommand \} = world\.exports;$/m,
          `export const { ${worldExports.join(', ')} } = world.exports;`,
        ),
        loader: 'js',
        resolveDir: path.join(root, 'src', 'commands'),
      }));
    },
  };
  rmSync(outdir, { recursive: true, force: true });
  await build({
    ...common,
    outdir,
    splitting: true,
    entryNames: 'nap-verify',
    outExtension: { '.js': '.mjs' },
    define: { ...shape('split'), __NAP_VERIFY_WORLD__: JSON.stringify(worldFile) },
    plugins: [bundledChecks, dns2Packet, checkLoader],
  });
  writeFileSync(path.join(outdir, worldFile.file), worldCode);
  chmodSync(path.join(outdir, 'nap-verify.mjs'), 0o755);
  process.stdout.write(`dist/bin/nap-verify.mjs: the installed command, ${readdirSync(outdir).length} files\n`);
}
