// NodePort mode (the platform's default install): plain HTTP straight to the node ports, real responder behind
// them, configuration from a real values.env. Checks that only exist behind an ingress skip with the reason.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness/cli.js';
import { startDnsmasq } from './harness/dnsmasq.js';
import { createNetns, type Netns } from './harness/netns.js';
import { makeTempDir, runCleanups } from './harness/proc.js';
import { startResponder } from './support/ingress.js';

interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
  evidence: Record<string, any>;
}

let ns: Netns;
let values: string;

beforeAll(async () => {
  ns = await createNetns();
  await startDnsmasq(ns, { lines: ['local=/test/', 'host-record=nap.test,127.0.0.1'] });
  // Installed in NodePort mode: install.sh's public URLs are the node-port origins.
  await startResponder(ns, 'nap.test', { cp: 30080, browser: 30085, sandbox: 30086 }, [
    '--web-public-url',
    'http://nap.test:30080',
    '--browser-public-url',
    'http://nap.test:30085',
    '--sandbox-public-url',
    'http://nap.test:30086',
  ]);
  values = path.join(await makeTempDir('nvt-values-'), 'values.env');
  writeFileSync(
    values,
    [
      'NAP_HOST=nap.test',
      'INGRESS_MODE=nodeport',
      'BROWSER_ENABLED=true',
      'SANDBOX_ENABLED=true',
      'NAP_NODE_PORT=30080',
      'BROWSER_NODE_PORT=30085',
      'SANDBOX_NODE_PORT=30086',
      'NAP_PUBLIC_URL=http://${NAP_HOST}:${NAP_NODE_PORT}',
      'TURN_HOST=127.0.0.1',
      'TURN_AUTH_SECRET=nodeport-secret-x1',
    ].join('\n'),
  );
}, 60_000);
afterAll(runCleanups);

const byId = (json: { checks: JsonCheck[] }) =>
  Object.fromEntries(json.checks.map((c) => [c.id, c])) as Record<string, JsonCheck>;

describe('NodePort mode', () => {
  it(
    'from values.env: http/ws/sse/holds over plain HTTP on the node ports; ingress-only checks skip ' +
      'with the reason',
    async () => {
      const r = await runCli(ns, [
        '--values',
        values,
        '--hold',
        '2',
        '--skip',
        'turn',
        '--format',
        'json',
        '--timeout',
        '3',
      ]);
      expect(r.json, r.stderr).toBeDefined();
      const c = byId(r.json);
      expect(r.json.options).toMatchObject({
        mode: 'nodeport',
        nodePorts: { main: 30080, browsers: 30085, sandbox: 30086 },
      });
      for (const id of [
        'config.values',
        'dns.main',
        'http.main',
        'http.browsers',
        'http.sandbox',
        'http.oauth',
        'ws.main',
        'ws.browsers',
        'ws.sandbox',
        'sse.main',
        'env.clock',
      ])
        expect(c[id], id).toMatchObject({ status: 'pass' });
      for (const id of ['hold.ws.main', 'hold.ws.browsers', 'hold.ws.sandbox', 'hold.sse.main'])
        expect(c[id], id).toMatchObject({ status: 'warn', code: 'HOLD_SHORT' });
      expect(c['http.browsers']!.evidence.exchanges['/.well-known/nap-verify'].url).toBe(
        'http://nap.test:30085/.well-known/nap-verify',
      );
      for (const id of ['tls.main', 'tls.preview'])
        expect(c[id]!.message, id).toBe('NodePort mode is plain HTTP: no certificates to check');
      expect(c['dns.files']).toMatchObject({
        status: 'skip',
        message: 'NodePort mode: every service is on NAP_HOST, told apart by port',
      });
      for (const id of [
        'http.files',
        'http.preview',
        'ws.preview',
        'hold.ws.preview',
        'http.redirect',
        'dns.consistent',
      ])
        expect(c[id]!.status, id).toBe('skip');
      expect(c['http.exposure']).toMatchObject({ status: 'warn', code: 'HTTP_METRICS_PUBLIC' });
      expect(r.stdout).not.toContain('nodeport-secret-x1');
    },
  );

  it('on a bare node IP: no DNS to check; the services (set up for nap.test) say so in /api/config', async () => {
    const r = await runCli(ns, [
      '--mode',
      'nodeport',
      '--domain',
      '127.0.0.1',
      '--nap-node-port',
      '30080',
      '--browser-node-port',
      '30085',
      '--sandbox-node-port',
      '30086',
      '--only',
      'dns.main,http,ws',
      '--format',
      'json',
    ]);
    const c = byId(r.json);
    expect(c['dns.main']).toMatchObject({
      status: 'skip',
      message: 'NodePort mode on an IP address: no name to resolve',
    });
    for (const id of ['http.main', 'http.browsers', 'ws.main', 'ws.browsers', 'ws.sandbox'])
      expect(c[id], JSON.stringify(c[id])).toMatchObject({ status: 'pass' });
    expect(c['http.sandbox']).toMatchObject({
      status: 'fail',
      code: 'HTTP_CONFIG_MISMATCH',
      message:
        '127.0.0.1/api/config says napUrl http://nap.test:30080, expected origin http://127.0.0.1:30080: the ' +
        'platform was installed with WEB_PUBLIC_URL=http://nap.test:30080',
    });
    expect(c['http.oauth']).toMatchObject({ status: 'fail', code: 'HTTP_OAUTH_MISMATCH' });
    expect(c['http.oauth']!.message).toContain(
      'WEB_PUBLIC_URL is http://nap.test:30080 (authorize URL of 127.0.0.1:30085',
    );
    expect(c['http.oauth']!.message).toContain('expected http://127.0.0.1:30080');
  });

  it('a node port pointing at the wrong service: HTTP_WRONG_SERVICE', async () => {
    const r = await runCli(ns, [
      '--values',
      values,
      '--browser-node-port',
      '30086',
      '--only',
      'http.browsers',
      '--format',
      'json',
    ]);
    expect(byId(r.json)['http.browsers']).toMatchObject({ status: 'fail', code: 'HTTP_WRONG_SERVICE' });
  });

  it('NodePort mode without its ports is a usage error naming the missing one', async () => {
    const r = await runCli(ns, ['--mode', 'nodeport', '--domain', 'nap.test']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('nap-verify: NodePort mode needs --nap-node-port (or NAP_NODE_PORT in --values)');
  });
});
