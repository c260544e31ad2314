import { existsSync, readFileSync } from 'node:fs';

// The one-file bundle has no package.json beside it: scripts/build-bundle.mjs defines the version at build time.
declare const __NAP_VERIFY_VERSION__: string | undefined;

/** package.json: one level up from the sources (src/, as tests import them), two from the tsc build (dist/src/). */
function packageVersion(): string {
  const file = ['../package.json', '../../package.json']
    .map((p) => new URL(p, import.meta.url))
    .find((u) => existsSync(u));
  if (!file) throw new Error('nap-verify: package.json not found beside the code');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export const VERSION: string = typeof __NAP_VERIFY_VERSION__ === 'string' ? __NAP_VERIFY_VERSION__ : packageVersion();
