// What the one-file bundle (`npm run bundle`, scripts/build-bundle.mjs) carries inside itself instead of reading it
// from disk next to the code. In the normal build these are all undefined and nothing changes: the registry reads
// checks/ from disk, the version comes from package.json, the responder bundle from dist/responder.mjs.
import type { CheckDef } from './model.js';

/** Replaced in the bundle by a generated module importing every checks/<id>.ts: adding a check stays adding a file. */
export const BUNDLED_CHECKS: ReadonlyArray<{ file: string; def: CheckDef }> | undefined = undefined;
