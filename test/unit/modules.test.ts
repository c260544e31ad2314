// The platform's optional modules as the options read them: --modules, values.env's BROWSER_ENABLED/SANDBOX_ENABLED
// (on only when exactly "true", as install.sh reads them), and what a check of a module that is off says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckDef } from '../../src/model.js';
import { activeRoles, modulesFromValues, moduleOffReason, parseModules } from '../../src/modules.js';
import { UsageError, validate } from '../../src/options.js';
import { applicability, runChecks } from '../../src/runner.js';
import { testContext } from '../support/context.js';

function valuesFile(lines: string[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'nvt-modules-')), 'values.env');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('--modules and values.env', () => {
  it('parses lists, all and none; anything else is a usage error naming the option', () => {
    expect(parseModules('browser,sandbox')).toEqual({ browser: true, sandbox: true, source: 'flag' });
    expect(parseModules('sandbox')).toEqual({ browser: false, sandbox: true, source: 'flag' });
    expect(parseModules('none')).toEqual({ browser: false, sandbox: false, source: 'flag' });
    expect(parseModules('all')).toEqual({ browser: true, sandbox: true, source: 'flag' });
    expect(validate({ domain: 'acme.com', modules: 'browser' }).modules).toMatchObject({
      browser: true,
      sandbox: false,
    });
    for (const bad of ['bogus', 'none,browser', '', 'browser,turn']) {
      expect(() => validate({ domain: 'acme.com', modules: bad }), bad).toThrow(UsageError);
      expect(() => validate({ domain: 'acme.com', modules: bad }), bad).toThrow(/^--modules /);
    }
  });

  it('values.env decides when --modules is absent: on only for "true" (install.sh), the flag wins', () => {
    expect(modulesFromValues({ BROWSER_ENABLED: 'true', SANDBOX_ENABLED: 'TRUE' })).toEqual({
      browser: true,
      sandbox: false,
      source: 'values',
    });
    const file = valuesFile(['NAP_HOST=acme.com', 'INGRESS_MODE=external', 'SANDBOX_ENABLED=true']);
    expect(validate({ values: file }).modules).toEqual({ browser: false, sandbox: true, source: 'values' });
    expect(validate({ values: file, modules: 'none' }).modules).toMatchObject({ sandbox: false, source: 'flag' });
    // Neither: nothing chosen, every module assumed.
    expect(validate({ domain: 'acme.com' }).modules).toBeUndefined();
  });

  it('values.env without INGRESS_MODE is NodePort, as install.sh reads it; a module that is off needs no port', () => {
    const file = valuesFile(['NAP_HOST=10.0.0.5', 'NAP_NODE_PORT=30080']);
    const o = validate({ values: file });
    expect(o.mode).toBe('nodeport');
    expect(o.nodePorts).toEqual({ main: 30080, browsers: 30085, sandbox: 30086 });
    // Without values.env the tool's own default stays external.
    expect(validate({ domain: 'acme.com' }).mode).toBe('external');
    // With the Browser module on, its node port must be known.
    const on = valuesFile(['NAP_HOST=10.0.0.5', 'NAP_NODE_PORT=30080', 'BROWSER_ENABLED=true']);
    expect(() => validate({ values: on })).toThrow(/--browser-node-port/);
  });
});

describe('a check of a module that is off', () => {
  const check = (module?: 'browser' | 'sandbox'): CheckDef<unknown> => ({
    ...(module ? { module } : {}),
    meta: { id: `x.${module ?? 'cp'}`, area: 'http', title: 't', proves: 'p', codes: {} },
    gather: async () => {
      throw new Error('a module that is off must not be probed');
    },
    judge: () => ({ status: 'pass', message: 'ran' }),
  });

  it('is skipped with the reason naming the key (values) or the flag, its evidence naming the module', async () => {
    const fromValues = testContext({ modules: { browser: false, sandbox: true, source: 'values' } });
    expect(applicability(check('browser'), fromValues)).toBe(
      "the Browser module is off: BROWSER_ENABLED is not true in values.env (install.sh's default: false), so " +
        'nap-browser (browsers.acme.com) and coturn are not installed',
    );
    expect(applicability(check('sandbox'), fromValues)).toBe(true);
    const [r] = await runChecks([check('browser')], ['x.browser'], fromValues, new AbortController().signal);
    expect(r).toMatchObject({ status: 'skip', evidence: { notApplicable: true, moduleOff: 'browser' } });
    const flag = { browser: false, sandbox: false, source: 'flag' as const };
    expect(moduleOffReason(flag, 'sandbox', 'acme.com')).toBe(
      'the Sandbox module is off (--modules none): nap-sandbox (sandbox.acme.com and its previews) is not installed',
    );
  });

  it('nap-cp is always there; with no choice made every module is assumed', () => {
    expect(applicability(check(), testContext({ modules: { browser: false, sandbox: false, source: 'flag' } }))).toBe(
      true,
    );
    expect(applicability(check('browser'), testContext())).toBe(true);
    expect(
      activeRoles({ browser: false, sandbox: true, source: 'flag' }, ['main', 'files', 'browsers', 'preview']),
    ).toEqual(['main', 'files', 'preview']);
  });
});
