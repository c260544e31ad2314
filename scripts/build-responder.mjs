// Bundles the probe responder into one ESM file (dist/responder.mjs) that a stock Node image runs as is:
// `kit responder` ships it in a ConfigMap.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/serve/main.ts'],
  outfile: 'dist/responder.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  minify: true,
  legalComments: 'none',
  // ws probes for optional native speed-ups with require(); without them it falls back to plain JS.
  external: ['bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
