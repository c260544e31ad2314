// The whole CLI as one file (dist/nap-verify.mjs, `npm run bundle`) shipped to a pod in a ConfigMap, as
// `kit responder` ships the responder: a stock node image, no npm in the pod. The bundle is over a megabyte and a
// ConfigMap holds at most 1 MiB, so it travels gzipped in binaryData, and a few lines of loader (plain text beside
// it) unpack it to /tmp (an emptyDir: the root filesystem stays read-only) and run it with the pod's arguments.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../options.js';

// Which build this code runs in (scripts/build-bundle.mjs defines it; undefined in the tsc build, dist/src/kit/):
// inside the one-file bundle this very file is the bundle; the installed command's chunks sit in dist/bin/.
declare const __NAP_VERIFY_BUNDLE__: 'one-file' | 'split' | undefined;

export function cliBundlePath(): string {
  const shape = typeof __NAP_VERIFY_BUNDLE__ === 'string' ? __NAP_VERIFY_BUNDLE__ : undefined;
  if (shape === 'one-file') return fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(shape === 'split' ? '../nap-verify.mjs' : '../../nap-verify.mjs', import.meta.url));
}

export const BUNDLE_KEY = 'nap-verify.mjs.gz';
export const LOADER_KEY = 'run.mjs';
/** Where the ConfigMap is mounted, and where the loader unpacks to (an emptyDir). */
export const APP_DIR = '/app';
export const TMP_DIR = '/tmp';

/** `node /app/run.mjs <args>` behaves as `nap-verify <args>`. */
export const LOADER = [
  "import { readFileSync, writeFileSync } from 'node:fs';",
  "import { gunzipSync } from 'node:zlib';",
  `const file = '${TMP_DIR}/nap-verify.mjs';`,
  `writeFileSync(file, gunzipSync(readFileSync('${APP_DIR}/${BUNDLE_KEY}')));`,
  'process.argv.splice(1, 1, file);',
  'await import(file);',
  '',
].join('\n');

/** The bundle, gzipped and base64-encoded for a ConfigMap's binaryData. */
export function cliBundleBase64(file = cliBundlePath()): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new UsageError(
      `the one-file bundle ${file} cannot be read: run \`npm run bundle\` first, or give --bundle <file> (it is ` +
        `what the pod runs)`,
    );
  }
  return gzipSync(bytes, { level: 9 }).toString('base64');
}

/** ConfigMap data for the pod: the loader as text, the bundle as binary. */
export function bundleConfigMapData(bundleBase64: string): {
  data: Record<string, string>;
  binaryData: Record<string, string>;
} {
  return { data: { [LOADER_KEY]: LOADER }, binaryData: { [BUNDLE_KEY]: bundleBase64 } };
}
