// The platform's optional modules. install.sh turns the Browser and Sandbox modules off unless values.env says
// BROWSER_ENABLED=true / SANDBOX_ENABLED=true, and coturn follows the browser module: a default install is nap-cp
// alone, on <d> and files.<d>. A check of a module that is off has nothing to prove; it says so, naming the key.
import { MODULES, type Module, type ModuleChoice, type Role } from './model.js';

/** The values.env key that turns each module on. */
export const MODULE_KEY: Record<Module, string> = { browser: 'BROWSER_ENABLED', sandbox: 'SANDBOX_ENABLED' };

/** What each module brings, in the words of a finding (`<d>`: the domain). */
export const MODULE_PARTS: Record<Module, string> = {
  browser: 'nap-browser (browsers.<d>) and coturn are not installed',
  sandbox: 'nap-sandbox (sandbox.<d> and its previews) is not installed',
};

export const ALL_MODULES: ModuleChoice = { browser: true, sandbox: true, source: 'assumed' };

/** The module a host role belongs to; nap-cp's roles belong to none (always installed). */
export function roleModule(role: Role): Module | undefined {
  if (role === 'browsers') return 'browser';
  if (role === 'sandbox' || role === 'preview') return 'sandbox';
  return undefined;
}

export const moduleOn = (choice: ModuleChoice | undefined, m: Module | undefined): boolean =>
  m === undefined || (choice ?? ALL_MODULES)[m];

export const roleOn = (choice: ModuleChoice | undefined, role: Role): boolean => moduleOn(choice, roleModule(role));

/** Why a module's checks do not run, naming where the choice came from; undefined when the module is on. */
export function moduleOffReason(choice: ModuleChoice | undefined, m: Module, domain = '<d>'): string | undefined {
  if (moduleOn(choice, m)) return undefined;
  const name = m === 'browser' ? 'Browser' : 'Sandbox';
  const parts = MODULE_PARTS[m].replace('<d>', domain);
  return choice?.source === 'values'
    ? `the ${name} module is off: ${MODULE_KEY[m]} is not true in values.env (install.sh's default: false), so ${parts}`
    : `the ${name} module is off (--modules ${modulesLabel(choice!)}): ${parts}`;
}

export function modulesLabel(choice: ModuleChoice): string {
  const on = MODULES.filter((m) => choice[m]);
  return on.length ? on.join(',') : 'none';
}

/** install.sh: `${SANDBOX_ENABLED:-false}` and `${BROWSER_ENABLED:-false}`, on only when exactly "true". */
export function modulesFromValues(v: Record<string, string>): ModuleChoice {
  return { browser: v.BROWSER_ENABLED === 'true', sandbox: v.SANDBOX_ENABLED === 'true', source: 'values' };
}

/**
 * `--modules browser,sandbox`, `none` or `all`; unknown names are an error (returned, so each caller words it).
 * nap-cp is always there, so `cp` (or `main`) is accepted and means nothing more.
 */
export function parseModules(raw: string): ModuleChoice | { error: string } {
  const words = raw
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!words.length) return { error: 'is empty: give browser, sandbox, both (browser,sandbox), all or none' };
  const choice: ModuleChoice = { browser: false, sandbox: false, source: 'flag' };
  for (const w of words) {
    if (w === 'none' || w === 'cp' || w === 'main' || w === 'nap-cp') continue;
    if (w === 'all') {
      choice.browser = true;
      choice.sandbox = true;
    } else if (w === 'browser' || w === 'browsers' || w === 'nap-browser') choice.browser = true;
    else if (w === 'sandbox' || w === 'nap-sandbox') choice.sandbox = true;
    else return { error: `"${w}" is not a module: give browser, sandbox, all or none (nap-cp is always checked)` };
  }
  if (words.includes('none') && (choice.browser || choice.sandbox))
    return { error: 'says none and names a module: choose one' };
  return choice;
}

/** `module` for a check of one host role, when the role belongs to one. */
export function moduleOfRole(role: Role): { module?: Module } {
  const m = roleModule(role);
  return m ? { module: m } : {};
}

/** The given roles whose module is on in this run (all of them when no choice was made). */
export function activeRoles<R extends Role>(choice: ModuleChoice | undefined, roles: readonly R[]): R[] {
  return roles.filter((r) => roleOn(choice, r));
}

/** "all five names", or the names there are when modules are off. */
export function namesPhrase(count: number): string {
  const words = ['no', 'one', 'both', 'all three', 'all four', 'all five'];
  return count === 1 ? 'the one name' : count === 2 ? 'both names' : `${words[count] ?? `all ${count}`} names`;
}

/**
 * With no --modules and no --values every module is assumed; a host of an optional module that has no record or
 * no route may simply not be installed (install.sh's default). Said in the fix, as a possibility, never as the cause;
 * a paragraph of its own, so that the text says it once for a module whatever the number of its hosts.
 */
export function assumedModuleHint(choice: ModuleChoice | undefined, role: Role): string {
  const m = roleModule(role);
  if (!m || choice) return '';
  const name = m === 'browser' ? 'Browser' : 'Sandbox';
  return (
    `\nIf this install runs without the ${name} module (${MODULE_KEY[m]}=false is install.sh's default), say so ` +
    `with --modules (e.g. --modules ${m === 'browser' ? 'sandbox' : 'browser'}, or none) or --values values.env: ` +
    'its checks are then skipped.'
  );
}
