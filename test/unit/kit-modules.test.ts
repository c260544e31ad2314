// The kit follows the platform's optional modules (--modules, contract 4): routes, lint rules, responder stand-ins,
// the Job's arguments, the exporter's per-target modules and the browser page's settings. Pure functions here; the
// CLI, the Job's arguments run for real and the page in Chromium are in test/kit.test.ts and
// test/browser-check.test.ts.
import vm from 'node:vm';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { executeRun, prepareRun } from '../../src/run.js';
import { optionsFor, parseExporterConfig, parseExporterConfigShape } from '../../src/exporter/config.js';
import { browserCheckPage } from '../../src/kit/browser-check.js';
import { PAGE_SCRIPT } from '../../src/kit/browser-page.js';
import { jobCliArgs } from '../../src/kit/job.js';
import { lintManifests } from '../../src/kit/lint.js';
import { responderObjects, standIns } from '../../src/kit/responder.js';
import { CONTROLLER_KINDS, platformRoutes, routeObjects } from '../../src/kit/routes.js';
import type { ModuleChoice } from '../../src/model.js';
import { parseModules } from '../../src/modules.js';
import { UsageError } from '../../src/options.js';

const mods = (raw: string): ModuleChoice => {
  const m = parseModules(raw);
  if ('error' in m) throw new Error(m.error);
  return m;
};
const D = 'acme.com';
const HOSTS = { browser: [`browsers.${D}`], sandbox: [`sandbox.${D}`, `*.sandbox.${D}`] };
const CHOICES = ['none', 'browser', 'sandbox', 'browser,sandbox'];
const yamlOf = (objs: Array<Record<string, unknown>>) => objs.map((o) => stringify(o)).join('---\n');
const lint = (objs: Array<Record<string, any>>, modules?: ModuleChoice) =>
  lintManifests([{ name: 'r.yaml', text: yamlOf(objs) }], undefined, modules).findings;

describe('kit routes with --modules', () => {
  it("nap-cp's two routes always, a module's only when it is on", () => {
    expect(platformRoutes(D).map((r) => r.role)).toEqual(['main', 'files', 'browsers', 'sandbox', 'preview']);
    expect(platformRoutes(D, undefined, mods('none')).map((r) => r.host)).toEqual([D, `files.${D}`]);
    expect(platformRoutes(D, 'probe', mods('browser')).map((r) => `${r.host} ${r.service}`)).toEqual([
      `${D} nap-cp-probe`,
      `files.${D} nap-cp-probe`,
      `browsers.${D} nap-browser-probe`,
    ]);
    expect(platformRoutes(D, undefined, mods('sandbox')).map((r) => r.role)).toEqual([
      'main',
      'files',
      'sandbox',
      'preview',
    ]);
  });

  for (const controller of CONTROLLER_KINDS) {
    it(`${controller}: every choice gives only its hosts, and lints clean under the same choice`, () => {
      for (const raw of CHOICES) {
        const m = mods(raw);
        const objs = routeObjects(controller, D, 'nap', undefined, m);
        const text = JSON.stringify(objs);
        expect(text.includes(HOSTS.browser[0]!), `${controller} ${raw} browser`).toBe(m.browser);
        // Traefik spells the wildcard as a HostRegexp, whose JSON names sandbox\\.acme\\.com.
        const sandbox = HOSTS.sandbox.some((h) => text.includes(h)) || text.includes('sandbox\\\\.acme');
        expect(sandbox, `${controller} ${raw} sandbox`).toBe(m.sandbox);
        expect(text.includes('nap-sandbox-tls-cert'), `${controller} ${raw} wildcard secret`).toBe(m.sandbox);
        // No empty host lists (an nginx Ingress or an Istio server without hosts is refused by the API server).
        expect(text).not.toMatch(/"hosts":\[\]/);
        expect(lint(objs, m), `${controller} ${raw}`).toEqual([]);
      }
    });
  }
});

describe('kit lint with --modules', () => {
  const codes = (f: ReturnType<typeof lint>) => f.map((x) => `${x.code} ${x.host}`);

  it('a default install (nap-cp alone) lints clean with --modules none; assumed, each missing host says so', () => {
    const objs = routeObjects('contour', D, 'nap', undefined, mods('none'));
    expect(lint(objs, mods('none'))).toEqual([]);
    const assumed = lint(objs);
    expect(codes(assumed)).toEqual([
      `LINT_HOST_MISSING browsers.${D}`,
      `LINT_HOST_MISSING sandbox.${D}`,
      `LINT_WILDCARD_MISSING *.sandbox.${D}`,
    ]);
    expect(assumed[0]!.fix).toBe(
      `Add a route for browsers.${D} to nap-browser:3005 with TLS secret nap-tls-cert. No --modules was given, so ` +
        "every module was assumed: an install without the Browser module (BROWSER_ENABLED=false is install.sh's " +
        `default) has no route for browsers.${D}; if this is one, lint with --modules none.`,
    );
    for (const f of assumed.slice(1)) {
      expect(f.fix).toContain('without the Sandbox module (SANDBOX_ENABLED=false');
      expect(f.fix).toMatch(/lint with --modules none\.$/);
    }
  });

  it('the hint names the --modules that fits the routes there are', () => {
    const noBrowser = lint(routeObjects('nginx', D, 'nap', undefined, mods('sandbox')));
    expect(codes(noBrowser)).toEqual([`LINT_HOST_MISSING browsers.${D}`]);
    expect(noBrowser[0]!.fix).toMatch(/without the Browser module .* lint with --modules sandbox\.$/);
    const noSandbox = lint(routeObjects('nginx', D, 'nap', undefined, mods('browser')));
    expect(noSandbox.map((f) => f.fix.replace(/^.*lint with /, ''))).toEqual([
      '--modules browser.',
      '--modules browser.',
    ]);
  });

  it('no hint when the module shows itself by another routed host, or when --modules was given', () => {
    const objs = routeObjects('contour', D, 'nap').filter((o: any) => o.metadata.name !== 'nap-preview');
    const f = lint(objs);
    expect(codes(f)).toEqual([`LINT_WILDCARD_MISSING *.sandbox.${D}`]);
    expect(f[0]!.fix).toBe(
      `Add a route for *.sandbox.${D} to nap-sandbox:3006 with the wildcard secret nap-sandbox-tls-cert.`,
    );
    const given = lint(routeObjects('contour', D, 'nap', undefined, mods('none')), mods('browser'));
    expect(codes(given)).toEqual([`LINT_HOST_MISSING browsers.${D}`]);
    expect(given[0]!.fix).not.toContain('--modules');
  });

  it('a route of a module that is off: no TLS or wildcard-secret finding, but a wrong backend is still one', () => {
    const objs = routeObjects('contour', D, 'nap') as Array<Record<string, any>>;
    const byName = (n: string) => objs.find((o) => o.metadata.name === n)!;
    delete byName('nap-browsers').spec.virtualhost.tls;
    byName('nap-preview').spec.virtualhost.tls.secretName = 'nap-tls-cert';
    expect(codes(lint(objs))).toEqual([`LINT_TLS_UNCOVERED browsers.${D}`, `LINT_WILDCARD_MISSING *.sandbox.${D}`]);
    expect(lint(objs, mods('none'))).toEqual([]);
    byName('nap-browsers').spec.routes[0].services[0] = { name: 'nap-cp', port: 3000 };
    expect(codes(lint(objs, mods('none')))).toEqual([`LINT_WRONG_BACKEND browsers.${D}`]);
  });
});

describe('kit responder and kit job with --modules', () => {
  const opts = { namespace: 'nap', domain: D, image: 'node:22-alpine', ingressNamespace: 'ingress-nginx', bundle: '' };

  it('stand-ins only for nap-cp and the modules that are on', () => {
    expect(standIns().map((s) => s.service)).toEqual(['nap-cp', 'nap-browser', 'nap-sandbox']);
    const names = (m?: ModuleChoice) =>
      responderObjects({ ...opts, ...(m ? { modules: m } : {}) })
        .filter((o) => o.kind === 'Service')
        .map((o: any) => `${o.metadata.name}:${o.spec.ports[0].port}`);
    expect(names()).toEqual(['nap-cp:3000', 'nap-browser:3005', 'nap-sandbox:3006']);
    expect(names(mods('none'))).toEqual(['nap-cp:3000']);
    expect(names(mods('sandbox'))).toEqual(['nap-cp:3000', 'nap-sandbox:3006']);
    const kinds = responderObjects({ ...opts, modules: mods('browser') }).map(
      (o: any) => `${o.kind}/${o.metadata.name}`,
    );
    expect(kinds).toEqual([
      'ConfigMap/nap-verify-responder',
      ...['nap-cp', 'nap-browser'].flatMap((n) => [`Deployment/${n}`, `NetworkPolicy/${n}`, `Service/${n}`]),
    ]);
  });

  it("the Job's run gets --modules, normalised, beside --values", () => {
    const base = { checkArgs: ['--no-hold'] };
    expect(jobCliArgs({ ...base, domain: D })).toEqual(['--vantage', 'in-cluster', '--domain', D, '--no-hold']);
    expect(jobCliArgs({ ...base, valuesSecret: 'nap-values', modules: mods('sandbox , browsers') })).toEqual([
      '--vantage',
      'in-cluster',
      '--values',
      '/etc/nap-verify/values.env',
      '--modules',
      'browser,sandbox',
      '--no-hold',
    ]);
  });
});

describe('exporter.yaml: modules per target', () => {
  const text = [
    'defaults: { modules: sandbox }',
    'targets:',
    '  a.test: { modules: none, only: [turn, dns.browsers] }',
    '  b.test: { modules: [browser, sandbox] }',
    '  c.test: {}',
    '  d.test: { httpsPort: 443 }',
    '',
  ].join('\n');

  it('parsed with the check grammar: a string or a list; defaults apply to targets that say nothing', () => {
    const cfg = parseExporterConfig(text, 'x.yaml');
    const of = (t: string) => optionsFor(cfg, t, 'quick', {}).modules;
    expect(of('a.test')).toEqual({ browser: false, sandbox: false, source: 'flag' });
    expect(of('b.test')).toEqual({ browser: true, sandbox: true, source: 'flag' });
    expect(of('c.test')).toEqual({ browser: false, sandbox: true, source: 'flag' });
    const none = parseExporterConfig('targets:\n  e.test: {}\n', 'y.yaml');
    expect(optionsFor(none, 'e.test', 'quick', {}).modules).toBeUndefined();
  });

  it('a bad value is one UsageError naming the file, the target and the value (kit exporter too)', () => {
    for (const [value, said] of [
      ['bogus', 'modules bogus: "bogus" is not a module: give browser, sandbox, all or none'],
      ['[]', 'modules : is empty'],
      ['[none, browser]', 'modules none,browser: says none and names a module'],
    ]) {
      const bad = `targets:\n  acme.com: { modules: ${value} }\n`;
      for (const parse of [parseExporterConfigShape, parseExporterConfig]) {
        const run = () => parse(bad, 'bad.yaml');
        expect(run).toThrow(UsageError);
        expect(run).toThrow(`--config bad.yaml: targets.acme.com: ${said}`);
      }
    }
    expect(() => parseExporterConfigShape('defaults:\n  modules: cp,turn\n', 'z.yaml')).toThrow(
      '--config z.yaml: defaults: modules cp,turn: "turn" is not a module',
    );
  });

  it("the run the exporter prepares carries the target's modules: a module that is off skips, naming it", async () => {
    const cfg = parseExporterConfig(text, 'x.yaml');
    const o = optionsFor(cfg, 'a.test', 'quick', {});
    const prepared = await prepareRun(o, {});
    expect(prepared.ctx.modules).toEqual({ browser: false, sandbox: false, source: 'flag' });
    const run = await executeRun(prepared, o, new AbortController().signal);
    expect(run.results.map((r) => r.id)).toEqual([
      'dns.browsers',
      'turn.udp',
      'turn.tcp',
      'turn.auth',
      'turn.relay',
      'turn.peers',
    ]);
    for (const r of run.results) {
      expect(r.status, r.id).toBe('skip');
      expect(r.message).toMatch(/^the Browser module is off \(--modules none\): nap-browser \(browsers\.a\.test\)/);
      expect(r.evidence).toMatchObject({ moduleOff: 'browser' });
    }
    expect((await prepareRun(optionsFor(cfg, 'd.test', 'quick', {}), {})).ctx.modules).toEqual({
      browser: false,
      sandbox: true,
      source: 'flag',
    });
  });
});

describe('kit browser-check page with --modules', () => {
  const base = {
    domain: D,
    httpsPort: 443,
    turn: { host: '203.0.113.7', port: 3478 },
    turnSecret: 'page-secret',
    validS: 3600,
    responder: false,
    holdS: 75,
    timeoutS: 10,
    version: '9.9.9',
    now: new Date('2026-12-04T12:00:00Z'),
  };
  const configOf = (html: string) => JSON.parse(/id="nv-config">(.*?)<\/script>/s.exec(html)![1]!);

  it('the settings carry the modules when chosen; without the Browser module no credentials and no TURN words', () => {
    const all = browserCheckPage(base);
    expect(configOf(all).modules).toBeUndefined();
    expect(configOf(all).turn.username).toMatch(/:nap-verify$/);
    expect(all).toContain(', and the video relay (TURN).');
    const sandbox = browserCheckPage({ ...base, modules: mods('sandbox') });
    const cfg = configOf(sandbox);
    expect(cfg.modules).toEqual({ browser: false, sandbox: true });
    expect(cfg.turn).toEqual({ host: '203.0.113.7', port: 3478 });
    expect(sandbox).not.toContain('video relay (TURN).');
    expect(sandbox).toContain('<span hidden> · TURN test credentials valid until <span id="expiry"></span></span>');
    expect(configOf(browserCheckPage({ ...base, modules: mods('browser') })).turn.username).toMatch(/:nap-verify$/);
  });

  it('the page script still compiles, reads the modules and filters its row lists and TURN by them', () => {
    // Compiled, not run: running it needs a browser (test/browser-check.test.ts).
    expect(() => new vm.Script(PAGE_SCRIPT)).not.toThrow();
    expect(PAGE_SCRIPT).toContain("var ROLES = ['main', 'files', 'browsers', 'sandbox', 'preview'].filter(roleOn);");
    expect(PAGE_SCRIPT).toContain("var WS_ROLES = ['main', 'browsers', 'sandbox', 'preview'].filter(roleOn);");
    expect(PAGE_SCRIPT).toContain("if (MODULES.browser) tasks.push(relay('tcp')");
    for (const line of PAGE_SCRIPT.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });
});
