import { readFileSync } from 'node:fs';

// The one-file bundle has no package.json beside it: scripts/build-bundle.mjs defines the version at build time.
declare const __NAP_VERIFY_VERSION__: string | undefined;

export const VERSION: string =
  typeof __NAP_VERIFY_VERSION__ === 'string'
    ? __NAP_VERIFY_VERSION__
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
