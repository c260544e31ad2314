// The pre-flight kit: generated routes parse and lint clean for every controller and both domain shapes; each
// mutation yields exactly its finding; the platform's own examples lint as expected; the responder bundle shipped
// in the ConfigMap runs under plain node and speaks the §7 protocol.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH, REPO_ROOT } from './harness/cli.js';
import { assertResultSchema } from './harness/schema.js';
import { makeTempDir, runCleanups, spawnManaged, waitFor } from './harness/proc.js';

afterAll(runCleanups);

const cli = (args: string[], input?: string) =>
  spawnSync('node', [CLI_PATH, ...args], { encoding: 'utf8', input, env: { ...process.env, NO_COLOR: '1' } });
const docs = (text: string) =>
  parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Record<string, any>;
  });
const routes = (controller: string, domain: string) => {
  const r = cli(['kit', 'routes', '--controller', controller, '--domain', domain, '--namespace', 'nap']);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};
function lint(objs: Array<Record<string, any>> | string, extra: string[] = []) {
  const text = typeof objs === 'string' ? objs : objs.map((o) => stringify(o)).join('---\n');
  const r = cli(['kit', 'lint', '-', '--format', 'json', ...extra], text);
  expect(r.stdout, r.stderr).not.toBe('');
  const json = JSON.parse(r.stdout);
  assertResultSchema(json, 'kit lint --format json');
  return {
    code: r.status,
    json,
    findings: (json.checks as Array<{ status: string; code?: string; message: string; evidence: any }>).filter(
      (c) => c.status !== 'pass',
    ),
  };
}

const CONTROLLERS = ['contour', 'nginx', 'traefik', 'istio', 'gateway-api'];

describe('kit routes → kit lint', () => {
  for (const controller of CONTROLLERS) {
    for (const domain of ['acme.com', 'nap.acme.com']) {
      it(`${controller}, ${domain}: parses and has zero findings`, () => {
        const objs = docs(routes(controller, domain));
        expect(objs.length).toBeGreaterThanOrEqual(2);
        const hosts = JSON.stringify(objs);
        // Traefik spells the wildcard as a HostRegexp; the linter reads it back as *.sandbox.<d> below.
        for (const h of [domain, `files.${domain}`, `browsers.${domain}`, `sandbox.${domain}`, `*.sandbox.${domain}`])
          if (controller !== 'traefik' || !h.startsWith('*')) expect(hosts).toContain(h);
        expect(hosts).toContain('nap-sandbox-tls-cert');
        const r = lint(objs);
        expect(r.findings, JSON.stringify(r.findings)).toEqual([]);
        expect(r.code).toBe(0);
        expect(r.json.target.domain).toBe(domain);
      });
    }
  }
});

describe('mutations give exactly their finding', () => {
  const only = (r: ReturnType<typeof lint>, code: string, n = 1) => {
    expect(
      r.findings.map((f) => f.code),
      JSON.stringify(r.findings),
    ).toEqual(Array(n).fill(code));
  };
  const contour = () => docs(routes('contour', 'acme.com'));
  const nginx = () => docs(routes('nginx', 'acme.com'));

  it('wildcard route removed → LINT_WILDCARD_MISSING', () => {
    only(lint(contour().filter((o) => o.metadata.name !== 'nap-preview')), 'LINT_WILDCARD_MISSING');
    only(lint(nginx().filter((o) => o.metadata.name !== 'nap-sandbox-preview')), 'LINT_WILDCARD_MISSING');
  });

  it('wildcard served with the wrong secret → LINT_WILDCARD_MISSING', () => {
    const o = contour();
    o.find((x) => x.metadata.name === 'nap-preview')!.spec.virtualhost.tls.secretName = 'nap-tls-cert';
    only(lint(o), 'LINT_WILDCARD_MISSING');
  });

  it('a host removed → LINT_HOST_MISSING naming it', () => {
    const r = lint(contour().filter((o) => o.metadata.name !== 'nap-browsers'));
    only(r, 'LINT_HOST_MISSING');
    expect(r.findings[0]!.message).toContain('no route for browsers.acme.com');
  });

  it('nginx routes lift the body limit (proxy-body-size 0); without it → LINT_BODY_LIMIT on <d>, sandbox.<d>', () => {
    const o = nginx();
    for (const ing of o) expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('0');
    delete o[0]!.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size'];
    only(lint(o), 'LINT_BODY_LIMIT', 2);
  });

  it('a timeout annotation dropped → LINT_TIMEOUT_DEFAULT per streaming host of that Ingress', () => {
    const o = nginx();
    delete o[0]!.metadata.annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'];
    only(lint(o), 'LINT_TIMEOUT_DEFAULT', 3);
  });

  it('Contour route without timeoutPolicy → LINT_TIMEOUT_DEFAULT; without enableWebsockets → LINT_WS_DISABLED', () => {
    const a = contour();
    delete a.find((x) => x.metadata.name === 'nap-sandbox')!.spec.routes[0].timeoutPolicy;
    only(lint(a), 'LINT_TIMEOUT_DEFAULT');
    const b = contour();
    delete b.find((x) => x.metadata.name === 'nap-browsers')!.spec.routes[0].enableWebsockets;
    only(lint(b), 'LINT_WS_DISABLED');
  });

  it(
    'Contour files route: a response timeout is a download limit → LINT_TIMEOUT_DEFAULT as a warning; idle ' +
      'alone is fine',
    () => {
      const a = contour();
      a.find((x) => x.metadata.name === 'nap-files')!.spec.routes[0].timeoutPolicy = {
        response: '60s',
        idle: 'infinity',
      };
      const r = lint(a);
      only(r, 'LINT_TIMEOUT_DEFAULT');
      expect(r.findings[0]).toMatchObject({ status: 'warn' });
      expect(r.code).toBe(0);
      expect(r.findings[0]!.message).toContain('limited to 60 s, body included');
      const b = contour();
      b.find((x) => x.metadata.name === 'nap-files')!.spec.routes[0].timeoutPolicy = { response: 'infinity' };
      only(lint(b), 'LINT_TIMEOUT_DEFAULT', 0);
    },
  );

  it('wrong port, and files pointed at nap-browser → LINT_WRONG_BACKEND', () => {
    const a = nginx();
    a[0]!.spec.rules[0].http.paths[0].backend.service.port.number = 8080;
    only(lint(a), 'LINT_WRONG_BACKEND');
    const b = contour();
    b.find((x) => x.metadata.name === 'nap-files')!.spec.routes[0].services[0] = { name: 'nap-browser', port: 3005 };
    const r = lint(b);
    only(r, 'LINT_WRONG_BACKEND');
    expect(r.findings[0]!.message).toContain('files.acme.com goes to nap-browser:3005, not nap-cp:3000');
  });

  it(
    'old apiVersion → LINT_API_DEPRECATED; pathType removed → LINT_PATHTYPE_MISSING; TLS removed → ' +
      'LINT_TLS_UNCOVERED',
    () => {
      const a = nginx();
      a[0]!.apiVersion = 'networking.k8s.io/v1beta1';
      only(lint(a), 'LINT_API_DEPRECATED');
      const b = nginx();
      delete b[0]!.spec.rules[2].http.paths[0].pathType;
      only(lint(b), 'LINT_PATHTYPE_MISSING');
      const c = contour();
      delete c.find((x) => x.metadata.name === 'nap-main')!.spec.virtualhost.tls;
      only(lint(c), 'LINT_TLS_UNCOVERED');
    },
  );

  it('class annotation → LINT_CLASS_ANNOTATION, a warning: exit 0', () => {
    const a = nginx();
    for (const x of a) {
      delete x.spec.ingressClassName;
      x.metadata.annotations['kubernetes.io/ingress.class'] = 'nginx';
    }
    const r = lint(a);
    only(r, 'LINT_CLASS_ANNOTATION', 2);
    expect(r.code).toBe(0);
    expect(r.findings[0]!.evidence).toMatchObject({ file: '<stdin>', document: 0, kind: 'Ingress', name: 'nap' });
  });
});

describe("the platform's own examples", () => {
  it("the Contour example of the ingress guide: one warning, the files route on Envoy's 15 s response timeout", () => {
    const r = cli(['kit', 'lint', path.join(REPO_ROOT, 'fixtures/contour-guide.yaml'), '--format', 'json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.target.domain).toBe('nap.example.com');
    const findings = (
      json.checks as Array<{ status: string; code?: string; host?: string; message: string; remediation?: string }>
    ).filter((c) => c.status !== 'pass');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ status: 'warn', code: 'LINT_TIMEOUT_DEFAULT', host: 'files.nap.example.com' });
    expect(findings[0]!.message).toContain(
      'HTTPProxy nap-files: the response to files.nap.example.com is limited to 15 s, body included',
    );
    expect(findings[0]!.message).toContain('large downloads, not streams');
    expect(findings[0]!.remediation).toBe('timeoutPolicy: {response: infinity} on the files route.');
    // --strict-free text output says the same, as a warning.
    const text = cli(['kit', 'lint', path.join(REPO_ROOT, 'fixtures/contour-guide.yaml')]);
    expect(text.stdout).toContain('files.nap.example.com is limited to 15 s');
  });

  it('an ingress-nginx Ingress as people write it: the wildcard, timeouts, pathType, class annotation', () => {
    const r = cli(['kit', 'lint', path.join(REPO_ROOT, 'fixtures/ingress-nginx-typical.yaml'), '--format', 'json']);
    expect(r.status).toBe(1);
    const codes = (JSON.parse(r.stdout).checks as Array<{ status: string; code?: string }>)
      .filter((c) => c.status !== 'pass')
      .map((c) => c.code);
    expect(codes).toEqual([
      'LINT_WILDCARD_MISSING',
      'LINT_TIMEOUT_DEFAULT',
      'LINT_TIMEOUT_DEFAULT',
      'LINT_TIMEOUT_DEFAULT',
      'LINT_PATHTYPE_MISSING',
      'LINT_CLASS_ANNOTATION',
      // No proxy-body-size (the platform's guide never mentions it): ingress-nginx's 1m on <d> and sandbox.<d>.
      'LINT_BODY_LIMIT',
      'LINT_BODY_LIMIT',
    ]);
  });

  it('LINT_BODY_LIMIT: a cap below 50 MiB warns (Ingress or ConfigMap); 100m, 0 or a raising ConfigMap do not', () => {
    const ingress = (ann: string) =>
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: Ingress',
        'metadata:',
        '  name: nap',
        ...(ann ? ['  annotations:', `    ${ann}`] : []),
        'spec:',
        '  ingressClassName: nginx',
        '  tls: [{hosts: [nap.test, sandbox.nap.test], secretName: nap-tls-cert}]',
        '  rules:',
        '  - host: nap.test',
        '    http:',
        '      paths: [{path: /, pathType: Prefix, backend: {service: {name: nap-cp, port: {number: 3000}}}}]',
        '  - host: sandbox.nap.test',
        '    http:',
        '      paths: [{path: /, pathType: Prefix, backend: {service: {name: nap-sandbox, port: {number: 3006}}}}]',
        '',
      ].join('\n');
    const configMap = (v: string) =>
      '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ingress-nginx-controller}\n' +
      `data: {proxy-body-size: "${v}"}\n`;
    const lint = (yaml: string) => {
      const r = cli(['kit', 'lint', '-', '--domain', 'nap.test', '--modules', 'sandbox', '--format', 'json'], yaml);
      return (JSON.parse(r.stdout).checks as Array<{ code?: string; status: string; message: string }>).filter(
        (c) => c.code === 'LINT_BODY_LIMIT',
      );
    };
    const capped = lint(ingress('nginx.ingress.kubernetes.io/proxy-body-size: "8m"'));
    expect(capped).toHaveLength(2);
    expect(capped[0]).toMatchObject({ status: 'warn' });
    expect(capped[0]!.message).toContain('capped below 50 MiB (proxy-body-size 8m)');
    expect(lint(ingress(''))[0]!.message).toContain("proxy-body-size unset (ingress-nginx's default 1m)");
    expect(lint(ingress('nginx.ingress.kubernetes.io/proxy-body-size: "100m"'))).toEqual([]);
    expect(lint(ingress('nginx.ingress.kubernetes.io/proxy-body-size: "0"'))).toEqual([]);
    expect(lint(ingress("nginx.ingress.kubernetes.io/server-snippet: 'client_max_body_size 2m;'"))).toHaveLength(2);
    // The controller ConfigMap: raising it clears the unset Ingress; lowering it is one finding of its own.
    expect(lint(ingress('') + configMap('200m'))).toEqual([]);
    const low = lint(ingress('') + configMap('10m'));
    expect(low.map((c) => c.message).join('\n')).toContain(
      'ConfigMap ingress-nginx-controller sets proxy-body-size 10m',
    );
  });

  it('not YAML, or no domain to be found: exit 2 with one line', () => {
    const bad = cli(['kit', 'lint', '-'], 'a: [unclosed\n');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^nap-verify: kit lint: not YAML: <stdin>: document 0/);
    const none = cli(['kit', 'lint', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/pass --domain/);
  });
});

describe('kit lint ergonomics', () => {
  const FIXTURES = ['fixtures/contour-guide.yaml', 'fixtures/ingress-nginx-typical.yaml'].map((f) =>
    path.join(REPO_ROOT, f),
  );

  it('files of different domains are judged apart: together they find what each finds alone', () => {
    const alone = FIXTURES.map(
      (f) =>
        JSON.parse(cli(['kit', 'lint', f, '--format', 'json']).stdout).checks.filter(
          (c: { status: string }) => c.status !== 'pass',
        ).length,
    );
    const both = JSON.parse(cli(['kit', 'lint', ...FIXTURES, '--format', 'json']).stdout);
    assertResultSchema(both, 'kit lint of two domains');
    expect(both.checks.filter((c: { status: string }) => c.status !== 'pass')).toHaveLength(alone[0]! + alone[1]!);
    expect(both.options.domains).toEqual(['nap.example.com', 'nap.acme.com']);
    // --domain judges everything against that one domain instead.
    const forced = JSON.parse(
      cli(['kit', 'lint', ...FIXTURES, '--format', 'json', '--domain', 'nap.example.com']).stdout,
    );
    expect(forced.options.domains).toEqual(['nap.example.com']);
  });

  it(
    'findings carry file:line; no pass rows unless -v; -q; plurals; JSON without TURN or a random ' + 'preview name',
    () => {
      const file = FIXTURES[1]!;
      const text = cli(['kit', 'lint', file]);
      expect(text.status).toBe(1);
      // Wrapped lines continue deep under their message column: joined back, each finding reads as one line.
      expect(text.stdout.replace(/\n {15,}/g, ' ')).toMatch(
        new RegExp(
          `LINT_PATHTYPE_MISSING ${file.replace(/[.]/g, '\\.')}:\\d+ Ingress nap: path / of ` +
            `browsers\\.nap\\.acme\\.com has no pathType`,
        ),
      );
      expect(text.stdout).not.toMatch(/#\d/);
      expect(text.stdout).not.toContain('no finding');
      expect(text.stdout).toMatch(/^nap-verify \S+ {2}nap\.acme\.com {2}\(kit lint: 1 object in /m);
      const verbose = cli(['kit', 'lint', file, '-v']);
      expect(verbose.stdout).toMatch(/✔ lint\.hosts +no finding/);
      const quiet = cli(['kit', 'lint', file, '-q']);
      expect(quiet.stdout).not.toContain('nap-verify 0');
      expect(quiet.stdout).not.toContain('LINT_CLASS_ANNOTATION');
      expect(quiet.stdout).toContain('LINT_WILDCARD_MISSING');
      const json = JSON.parse(cli(['kit', 'lint', file, '--format', 'json']).stdout);
      assertResultSchema(json, 'kit lint --format json');
      expect(json.target).toEqual({
        domain: 'nap.acme.com',
        hosts: {
          main: 'nap.acme.com',
          files: 'files.nap.acme.com',
          browsers: 'browsers.nap.acme.com',
          sandbox: 'sandbox.nap.acme.com',
          preview: '*.sandbox.nap.acme.com',
        },
        ingressIp: null,
      });
      const pathType = json.checks.find((c: { code?: string }) => c.code === 'LINT_PATHTYPE_MISSING');
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines[pathType.evidence.line - 1]).toMatch(/^apiVersion: /);
      expect(pathType.message).toBe(
        `${file}:${pathType.evidence.line} Ingress nap: path / of browsers.nap.acme.com has no pathType`,
      );
    },
  );

  it(
    'an empty stdin says so; kit routes defaults --namespace to nap and takes ingress-nginx as a ' + 'controller name',
    () => {
      const empty = cli(['kit', 'lint', '-'], '');
      expect(empty.status).toBe(2);
      expect(empty.stderr.trim()).toBe(
        'nap-verify: kit lint: no manifests on stdin (did the command before the pipe fail?)',
      );
      const contour = cli(['kit', 'routes', '--controller', 'contour', '--domain', 'acme.com']);
      expect(contour.status, contour.stderr).toBe(0);
      for (const o of docs(contour.stdout)) expect(o.metadata.namespace).toBe('nap');
      const alias = cli(['kit', 'routes', '--controller', 'ingress-nginx', '--domain', 'acme.com']);
      expect(alias.stdout.replace(/^#.*\n/, '')).toBe(
        cli(['kit', 'routes', '--controller', 'nginx', '--domain', 'acme.com']).stdout.replace(/^#.*\n/, ''),
      );
    },
  );
});

describe('kit responder', () => {
  it("refuses the platform's Service names without --pre-install, offers --suffix", () => {
    const r = cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const s = docs(cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--suffix', 'probe']).stdout);
    expect(s.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([
      'nap-cp-probe',
      'nap-browser-probe',
      'nap-sandbox-probe',
    ]);
  });

  it('--pre-install: ConfigMap + Deployments + Services as the platform names them, hardened, labelled, probed', () => {
    const objs = docs(cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install']).stdout);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/nap-verify-responder',
      ...['nap-cp', 'nap-browser', 'nap-sandbox'].flatMap((n) => [
        `Deployment/${n}`,
        `NetworkPolicy/${n}`,
        `Service/${n}`,
      ]),
    ]);
    for (const o of objs)
      expect(o.metadata).toMatchObject({
        namespace: 'nap',
        labels: { 'app.kubernetes.io/managed-by': 'nap-verify', 'app.kubernetes.io/instance': 'nap-verify-responder' },
      });
    const ports = Object.fromEntries(
      objs.filter((o) => o.kind === 'Service').map((o) => [o.metadata.name, o.spec.ports[0].port]),
    );
    expect(ports).toEqual({ 'nap-cp': 3000, 'nap-browser': 3005, 'nap-sandbox': 3006 });
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      const c = d.spec.template.spec.containers[0];
      expect(c.image).toMatch(/^node:\d+-alpine$/);
      expect(c.readinessProbe.httpGet.path).toBe(d.metadata.name === 'nap-cp' ? '/healthz' : '/health');
      expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(d.spec.selector.matchLabels).toEqual(
        Object.fromEntries(
          Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels),
        ),
      );
    }
    const del = docs(
      cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install', '--delete']).stdout,
    );
    expect(del.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`));
  });

  it("a NetworkPolicy per stand-in admits only the ingress controller's namespace, on the stand-in's port", () => {
    const at = (extra: string[]) =>
      docs(cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install', ...extra]).stdout);
    for (const [extra, ingressNs] of [
      [[], 'ingress-nginx'],
      [['--ingress-namespace', 'projectcontour'], 'projectcontour'],
    ] as const) {
      const objs = at([...extra]);
      const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
      expect(policies).toHaveLength(3);
      for (const p of policies) {
        expect(p.apiVersion).toBe('networking.k8s.io/v1');
        const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === p.metadata.name)!;
        // Selects exactly its Deployment's pods: every selector label is on the pod template.
        expect(Object.keys(p.spec.podSelector.matchLabels).length).toBeGreaterThan(0);
        expect(dep.spec.template.metadata.labels).toMatchObject(p.spec.podSelector.matchLabels);
        expect(p.spec.policyTypes).toEqual(['Ingress']);
        const port = dep.spec.template.spec.containers[0].ports[0].containerPort;
        expect(p.spec.ingress).toEqual([
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ingressNs } } }],
            ports: [{ protocol: 'TCP', port }],
          },
        ]);
      }
    }
    expect(at(['--no-network-policy']).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    const bad = cli([
      'kit',
      'responder',
      '--namespace',
      'nap',
      '--domain',
      'acme.com',
      '--pre-install',
      '--ingress-namespace',
      'Ingress_NGINX',
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^nap-verify: --ingress-namespace Ingress_NGINX: a Kubernetes namespace name is required/,
    );
  });

  it('--image pins by digest; a malformed reference is refused with one line', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    for (const image of [
      `node:22-alpine@${digest}`,
      `registry.example.com:5000/mirror/node@${digest}`,
      'node:20.18.1-bookworm-slim',
    ]) {
      const objs = docs(
        cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install', '--image', image])
          .stdout,
      );
      const images = objs.filter((o) => o.kind === 'Deployment').map((d) => d.spec.template.spec.containers[0].image);
      expect(images).toEqual([image, image, image]);
    }
    for (const image of [
      'node:22-alpine@sha256:0123',
      `node@md5:${'0'.repeat(32)}`,
      'Node:22',
      'node:22 --privileged',
      '',
    ]) {
      const r = cli([
        'kit',
        'responder',
        '--namespace',
        'nap',
        '--domain',
        'acme.com',
        '--pre-install',
        '--image',
        image,
      ]);
      expect(r.status, image).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--image .*: an image reference is required/);
    }
  });

  it('the bundle in the ConfigMap, run with plain node, answers the §7 protocol', async () => {
    const objs = docs(cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install']).stdout);
    const dir = await makeTempDir('nvt-bundle-');
    const file = path.join(dir, 'responder.mjs');
    writeFileSync(file, objs[0]!.data['responder.mjs']);
    // Outside the repo, with no node_modules: the bundle must stand alone.
    const proc = spawnManaged(
      'node',
      [file, '--domain', 'acme.com', '--service', 'nap-browser', '--port', '17305', '--host', '127.0.0.1'],
      { cwd: dir },
    );
    await waitFor(() => /listening/.test(proc.output()), 'bundle up');
    const probe = `
      const WebSocket = (await import(${JSON.stringify(path.join(REPO_ROOT, 'node_modules/ws/wrapper.mjs'))})).default;
      const idAnswer = await fetch('http://127.0.0.1:17305/.well-known/nap-verify', {
        headers: { 'x-forwarded-proto': 'https' },
      });
      const id = await idAnswer.json();
      const health = await (await fetch('http://127.0.0.1:17305/health')).json();
      const ws = new WebSocket('ws://127.0.0.1:17305/.well-known/nap-verify/ws', {
        headers: { host: 'browsers.acme.com' },
      });
      const msgs = [];
      await new Promise((ok) => {
        ws.on('message', (m) => {
          msgs.push(JSON.parse(String(m)));
          if (msgs.length === 1) ws.send('x');
          else { ws.close(); ok(); }
        });
      });
      console.log(JSON.stringify({ id, health, msgs }));`;
    const out = execFileSync('node', ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 10_000 });
    const r = JSON.parse(out);
    expect(r.id).toEqual({ service: 'nap-browser', host: '127.0.0.1:17305', forwardedProto: 'https', protocol: 1 });
    expect(r.health).toEqual({ status: 'ok' });
    expect(r.msgs).toEqual([
      { type: 'hello', service: 'nap-browser', host: 'browsers.acme.com' },
      { type: 'echo', data: 'x' },
    ]);
    await proc.stop();
  });
});

describe('--modules: the kit follows the optional modules', () => {
  const hostsOf = (objs: Array<Record<string, any>>) =>
    [
      ...new Set(
        objs.flatMap((o) => [
          ...(o.spec?.virtualhost?.fqdn ? [o.spec.virtualhost.fqdn] : []),
          ...(o.spec?.rules ?? []).map((r: any) => r.host).filter(Boolean),
        ]),
      ),
    ].sort();

  it('kit routes: routes and TLS only for the hosts of the modules that are on; without --modules unchanged', () => {
    const none = cli(['kit', 'routes', '--controller', 'contour', '--domain', 'acme.com', '--modules', 'none']);
    expect(none.status, none.stderr).toBe(0);
    expect(none.stdout.split('\n')[0]).toMatch(
      /^# nap-verify \S+: the two NAP routes for contour, acme\.com, namespace nap \(--modules none: nap-cp only\)$/,
    );
    expect(hostsOf(docs(none.stdout))).toEqual(['acme.com', 'files.acme.com']);
    expect(none.stdout).not.toContain('nap-sandbox-tls-cert');
    const nginx = docs(
      cli(['kit', 'routes', '--controller', 'nginx', '--domain', 'acme.com', '--modules', 'browser']).stdout,
    );
    // One Ingress: no wildcard, so no second one with an empty TLS section.
    expect(nginx.map((o) => o.metadata.name)).toEqual(['nap']);
    expect(nginx[0]!.spec.tls).toEqual([
      { hosts: ['acme.com', 'files.acme.com', 'browsers.acme.com'], secretName: 'nap-tls-cert' },
    ]);
    const sandbox = docs(
      cli(['kit', 'routes', '--controller', 'contour', '--domain', 'acme.com', '--modules', 'sandbox']).stdout,
    );
    expect(sandbox.map((o) => `${o.metadata.name} ${o.spec.virtualhost.tls.secretName}`)).toEqual([
      'nap-main nap-tls-cert',
      'nap-files nap-tls-cert',
      'nap-sandbox nap-tls-cert',
      'nap-preview nap-sandbox-tls-cert',
    ]);
    // No --modules: all five as before; --modules all prints the same objects.
    const before = routes('contour', 'acme.com');
    expect(before.split('\n')[0]).toMatch(/: the five NAP routes for contour, acme\.com, namespace nap$/);
    const all = cli(['kit', 'routes', '--controller', 'contour', '--domain', 'acme.com', '--modules', 'all']);
    expect(all.stdout.replace(/^#.*\n/, '')).toBe(before.replace(/^#.*\n/, ''));
  });

  it('kit lint: a default install lints clean with --modules none; assumed, findings say which --modules fits', () => {
    const text = cli(['kit', 'routes', '--controller', 'nginx', '--domain', 'acme.com', '--modules', 'none']).stdout;
    const given = lint(text, ['--modules', 'none']);
    expect(given.findings).toEqual([]);
    expect(given.code).toBe(0);
    expect(given.json.options.modules).toBe('none');
    const plain = cli(['kit', 'lint', '-', '--modules', 'none'], text);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/\(kit lint: 1 object in <stdin>; --modules none: nap-cp only\)/);
    const assumed = lint(text);
    expect(assumed.code).toBe(1);
    expect(assumed.json.options.modules).toBeUndefined();
    expect(assumed.findings.map((f) => `${f.code} ${f.evidence.host}`)).toEqual([
      'LINT_HOST_MISSING browsers.acme.com',
      'LINT_HOST_MISSING sandbox.acme.com',
      'LINT_WILDCARD_MISSING *.sandbox.acme.com',
    ]);
    for (const f of assumed.findings as Array<{ remediation?: string }>)
      expect(f.remediation).toMatch(/No --modules was given, so every module was assumed: .* --modules none\.$/);
    // Routes of the sandbox module only, linted with every module assumed: the browsers host says --modules sandbox.
    const sandboxOnly = lint(
      cli(['kit', 'routes', '--controller', 'traefik', '--domain', 'acme.com', '--modules', 'sandbox']).stdout,
    );
    expect(sandboxOnly.findings.map((f) => f.code)).toEqual(['LINT_HOST_MISSING']);
    expect((sandboxOnly.findings[0] as { remediation?: string }).remediation).toMatch(
      /install without the Browser module \(BROWSER_ENABLED=false is install\.sh's default\).* --modules sandbox\.$/,
    );
    // A host of a module that is on is still required.
    expect(lint(text, ['--modules', 'browser']).findings.map((f) => f.message)).toEqual([
      '<stdin>:2 no route for browsers.acme.com',
    ]);
  });

  it('kit responder: Deployments, Services and policies only for nap-cp and the modules that are on', () => {
    const args = ['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install'];
    const r = cli([...args, '--modules', 'sandbox']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(
      'probe responder for acme.com in nap (--modules sandbox: nap-cp, nap-sandbox)',
    );
    const objs = docs(r.stdout);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/nap-verify-responder',
      ...['nap-cp', 'nap-sandbox'].flatMap((n) => [`Deployment/${n}`, `NetworkPolicy/${n}`, `Service/${n}`]),
    ]);
    const ports = objs
      .filter((o) => o.kind === 'Deployment')
      .map((d) => d.spec.template.spec.containers[0].args.join(' '));
    expect(ports).toEqual([
      '--domain acme.com --service nap-cp --port 3000',
      '--domain acme.com --service nap-sandbox --port 3006',
    ]);
    const del = docs(cli([...args, '--modules', 'sandbox', '--delete']).stdout);
    expect(del.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`));
    const refused = cli(['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--modules', 'none']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^nap-verify: kit responder would create Services named nap-cp, which the platform/);
  });

  it('kit job: --modules reaches the run, and the run it starts skips the module that is off', async () => {
    const dir = await makeTempDir('nvt-job-modules-');
    const bundle = path.join(dir, 'nap-verify.mjs');
    writeFileSync(bundle, readFileSync(path.join(REPO_ROOT, 'dist', 'nap-verify.mjs')));
    const job = (extra: string[], after: string[] = []) =>
      cli(['kit', 'job', '--namespace', 'nap', '--bundle', bundle, ...extra, '--', ...after]);
    const r = job(['--domain', 'acme.invalid', '--modules', 'sandbox'], ['--only', 'turn,dns.browsers']);
    expect(r.status, r.stderr).toBe(0);
    const args: string[] = docs(r.stdout).find((o) => o.kind === 'Job')!.spec.template.spec.containers[0].args;
    expect(args).toEqual([
      '--vantage',
      'in-cluster',
      '--domain',
      'acme.invalid',
      '--modules',
      'sandbox',
      '--only',
      'turn,dns.browsers',
    ]);
    // The pod's command line, run here: every check of the Browser module skips, naming --modules.
    const run = cli([...args, '--format', 'json']);
    expect(run.status, run.stderr).toBe(0);
    const checks = JSON.parse(run.stdout).checks as Array<{ id: string; status: string; message: string }>;
    expect(checks.map((c) => c.id)).toEqual([
      'dns.browsers',
      'turn.udp',
      'turn.tcp',
      'turn.auth',
      'turn.relay',
      'turn.peers',
    ]);
    for (const c of checks) {
      expect(c.status).toBe('skip');
      expect(c.message).toMatch(/^the Browser module is off \(--modules sandbox\): nap-browser/);
    }
    // Beside --values-secret the flag is passed too (and wins in the run); given twice it is refused.
    const values = docs(job(['--values-secret', 'nap-values', '--modules', 'none']).stdout);
    expect(values.find((o) => o.kind === 'Job')!.spec.template.spec.containers[0].args).toEqual([
      '--vantage',
      'in-cluster',
      '--values',
      '/etc/nap-verify/values.env',
      '--modules',
      'none',
    ]);
    const plain = docs(job(['--values-secret', 'nap-values']).stdout);
    expect(plain.find((o) => o.kind === 'Job')!.spec.template.spec.containers[0].args).not.toContain('--modules');
    const twice = job(['--domain', 'acme.com', '--modules', 'none'], ['--modules', 'browser']);
    expect(twice.status).toBe(2);
    expect(twice.stderr.trim()).toBe('nap-verify: --modules is given twice (before and after --): give it once');
  });

  it('kit browser-check: the settings name the modules; no TURN credentials without the Browser module', async () => {
    const dir = await makeTempDir('nvt-page-modules-');
    const secret = path.join(dir, 'turn.secret');
    writeFileSync(secret, 'kit-modules-page-secret\n');
    const config = (args: string[]) => {
      const r = cli(['kit', 'browser-check', '--domain', 'acme.com', '--turn-secret-file', secret, ...args]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('kit-modules-page-secret');
      return JSON.parse(/id="nv-config">(.*?)<\/script>/s.exec(r.stdout)![1]!);
    };
    const none = config(['--modules', 'none']);
    expect(none.modules).toEqual({ browser: false, sandbox: false });
    expect(none.turn).toEqual({ host: 'acme.com', port: 3478 });
    expect(config(['--modules', 'browser']).turn.username).toMatch(/^\d+:nap-verify$/);
    const all = config([]);
    expect(all.modules).toBeUndefined();
    expect(all.turn.username).toMatch(/^\d+:nap-verify$/);
  });

  it('a bad --modules is a usage error: exit 2, one line naming --modules, nothing on stdout', () => {
    const cases = [
      ['kit', 'routes', '--controller', 'contour', '--domain', 'acme.com', '--modules', 'bogus'],
      ['kit', 'lint', path.join(REPO_ROOT, 'fixtures/contour-guide.yaml'), '--modules', 'bogus'],
      ['kit', 'responder', '--namespace', 'nap', '--domain', 'acme.com', '--pre-install', '--modules', 'bogus'],
      ['kit', 'job', '--namespace', 'nap', '--domain', 'acme.com', '--modules', 'bogus'],
      ['kit', 'browser-check', '--domain', 'acme.com', '--modules', 'bogus'],
    ];
    for (const args of cases) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        'nap-verify: --modules bogus: "bogus" is not a module: give browser, sandbox, all or none (nap-cp is always ' +
          'checked)\n',
      );
    }
    const both = cli(['kit', 'routes', '--controller', 'nginx', '--domain', 'acme.com', '--modules', 'none,sandbox']);
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('nap-verify: --modules none,sandbox: says none and names a module: choose one\n');
  });
});
