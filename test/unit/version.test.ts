// The version read from the sources (as unit tests import them) and from the tsc build is package.json's: a
// module importing it must not fail to load (src/commands/check.ts did, from the sources).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

it("VERSION is package.json's, read from the sources", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(VERSION).toBe(pkg.version);
});
