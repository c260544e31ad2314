// Every file in checks/ named like a check id (`dns.main.js`) is a check: adding one is adding a file. The one-file
// bundle gets the same list from src/bundled.ts, generated from checks/ when it is built.
import { readdir } from 'node:fs/promises';
import { BUNDLED_CHECKS } from './bundled.js';
import type { CheckDef } from './model.js';

const CHECKS_DIR = new URL('../checks/', import.meta.url);
// .ts too: tests import the sources directly. scripts/build-bundle.mjs lists checks/ with this same pattern.
export const ID_FILE = /^([a-z]+(?:\.[a-z][a-z0-9]*)+)\.(?:js|ts)$/;

let loaded: Promise<CheckDef[]> | undefined;

export function loadChecks(): Promise<CheckDef[]> {
  loaded ??= (async () => {
    const modules =
      BUNDLED_CHECKS ??
      (await Promise.all(
        (
          await readdir(CHECKS_DIR)
        )
          .filter((f) => ID_FILE.test(f))
          .sort()
          .map(async (file) => {
            const mod = (await import(new URL(file, CHECKS_DIR).href)) as { default?: CheckDef };
            return { file, def: mod.default };
          }),
      ));
    const defs = modules.map(({ file: f, def }) => {
      const id = ID_FILE.exec(f)![1];
      if (!def?.meta || def.meta.id !== id)
        throw new Error(`checks/${f} must default-export the check whose meta.id is "${id}"`);
      return def;
    });
    return defs.sort((a, b) => order(a.meta.id) - order(b.meta.id) || byCodePoint(a.meta.id, b.meta.id));
  })();
  return loaded;
}

// Not localeCompare: ids are ASCII, and the collator pages in ~2 MB of ICU data on every run (bench/RESULTS.md).
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Report order follows the path a user's request takes, then the roles in spec order.
const AREAS = ['config', 'env', 'dns', 'net', 'tls', 'http', 'ws', 'sse', 'hold', 'turn'];
const ROLE_ORDER = ['main', 'files', 'browsers', 'sandbox', 'preview', 'udp', 'tcp', 'auth', 'relay', 'peers'];
function order(id: string): number {
  const [area, ...rest] = id.split('.');
  const role = ROLE_ORDER.indexOf(rest[rest.length - 1] ?? '');
  return AREAS.indexOf(area ?? '') * 100 + (role < 0 ? 50 : role);
}

/** Resolve --only/--skip entries (ids or prefixes such as `dns`, `tls.preview`) against the known ids. */
export function selectIds(all: string[], only: string[], skip: string[]): { selected: string[]; unknown: string[] } {
  const matches = (entry: string) => all.filter((id) => id === entry || id.startsWith(`${entry}.`));
  const unknown = [...only, ...skip].filter((e) => matches(e).length === 0);
  const base = only.length ? all.filter((id) => only.some((e) => matches(e).includes(id))) : all;
  const selected = base.filter((id) => !skip.some((e) => matches(e).includes(id)));
  return { selected, unknown };
}
