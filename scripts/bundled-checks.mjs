// The esbuild plugin both bundlers use (scripts/build-bundle.mjs, scripts/docs-checks.mjs): src/bundled.ts becomes a
// module importing every checks/<id>.ts, found by src/registry.ts's rule, so adding a check stays adding a file.
import { readdirSync } from 'node:fs';
import path from 'node:path';

// The same rule as src/registry.ts: ids like ws.h2 have digits after the first letter of a part.
const ID_FILE = /^([a-z]+(?:\.[a-z][a-z0-9]*)+)\.ts$/;

/** The check files of the repository at `root`, in id order. */
export const checkFilesOf = (root) =>
  readdirSync(path.join(root, 'checks'))
    .filter((f) => ID_FILE.test(f))
    .sort();

/** The plugin for the repository at `root`. */
export function bundledChecks(root, checkFiles = checkFilesOf(root)) {
  const entry = (f, i) => `{ file: ${JSON.stringify(f.replace(/\.ts$/, '.js'))}, def: c${i} }`;
  return {
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
}
