// values.env reading and the config.values judgement, on realistic files.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { valuesFindings } from '../../checks/config.values.js';
import { validate } from '../../src/options.js';
import { isSecretKey, parseValues } from '../../src/values.js';

const FIXTURE = new URL('../../fixtures/values.env', import.meta.url);

describe('values.env parser', () => {
  it('reads the platform example: export, quotes, ${VAR} references, comments', () => {
    const { values, problems } = parseValues(readFileSync(FIXTURE, 'utf8'));
    expect(problems).toEqual([]);
    expect(values).toMatchObject({
      NAP_HOST: 'nap.test',
      INGRESS_MODE: 'external',
      TOS_NODE_PORT: '30080',
      SANDBOX_DOMAIN: 'sandbox.nap.test',
      NAP_PUBLIC_URL: 'https://nap.test',
      FILES_PUBLIC_URL: 'https://files.nap.test',
      BROWSER_PUBLIC_URL: 'https://browsers.nap.test:8443',
      WEB_PUBLIC_URL: 'https://nap.test:8443',
      SANDBOX_PUBLIC_URL: 'https://sandbox.nap.test:8443',
      TURN_HOST: '203.0.113.20',
      TURN_AUTH_SECRET: 'nvt-stack-turn-secret-5e2a',
    });
  });

  it('CRLF, single quotes literal, escaped dollars, defaults, and problems named by line', () => {
    const text =
      'A=one\r\nB=\'${A} stays\'\r\nC="${A}-\\$A-${MISSING:-dflt}"\r\nD=${UNDEFINED}\r\nnot a line\r\nE="open\r\n';
    const { values, problems } = parseValues(text);
    expect(values).toMatchObject({ A: 'one', B: '${A} stays', C: 'one-$A-dflt', D: '' });
    expect(problems.map((p) => p.line)).toEqual([4, 5, 6]);
    expect(problems[0]!.message).toContain('${UNDEFINED} is not defined above');
    expect(problems[2]!.message).toContain('unterminated double quote');
  });

  it('treats secret-looking keys as secrets', () => {
    expect(['TURN_AUTH_SECRET', 'DB_PASSWORD', 'API_TOKEN', 'SIGNING_KEY'].every(isSecretKey)).toBe(true);
    expect(['TURN_HOST', 'NAP_HOST', 'KEYCLOAK_URL'].some(isSecretKey)).toBe(false);
  });
});

describe('config.values findings', () => {
  const ok = parseValues(readFileSync(FIXTURE, 'utf8')).values;
  const find = (patch: Record<string, string>, mode: 'external' | 'nodeport' = 'external') =>
    valuesFindings({ ...ok, ...patch }, { mode, domain: 'nap.test', httpsPort: 8443 });

  it('the example file is consistent', () => {
    expect(find({})).toEqual([]);
  });

  it.each([
    [{ FILES_PUBLIC_URL: 'https://nap.test/files' }, 'FILES_PUBLIC_URL', 'a URL on files.nap.test', /login page/],
    [{ SANDBOX_DOMAIN: 'sandbox.other.test' }, 'SANDBOX_DOMAIN', 'sandbox.nap.test', /preview/],
    [{ TURN_HOST: 'turn.nap.test' }, 'TURN_HOST', 'an IP address', /reachable IP/],
    [{ TURN_PORT: '3479' }, 'TURN_PORT', '3478', /closed port/],
    [{ NAP_HOST: '10.0.0.5' }, 'NAP_HOST', 'nap.test', /another host/],
    [{ INGRESS_MODE: 'loadbalancer' }, 'INGRESS_MODE', 'nodeport or external', /neither/],
    [{ BROWSER_PUBLIC_URL: 'not a url' }, 'BROWSER_PUBLIC_URL', 'an absolute URL', /broken/],
  ])('%o → %s', (patch, key, expected, breaks) => {
    const f = find(patch);
    expect(f.map((x) => x.key)).toContain(key);
    const hit = f.find((x) => x.key === key)!;
    expect(hit.expected).toBe(expected);
    expect(hit.breaks).toMatch(breaks);
  });

  it(
    'the OAuth public URLs: whole origins, and each one set in external mode (install.sh falls back ' +
      'to node ports)',
    () => {
      const nodePortForm = find({ WEB_PUBLIC_URL: 'http://nap.test:30080' });
      expect(nodePortForm).toEqual([
        expect.objectContaining({
          key: 'WEB_PUBLIC_URL',
          value: 'http://nap.test:30080',
          expected: 'https://nap.test:8443',
        }),
      ]);
      expect(nodePortForm[0]!.breaks).toMatch(/invalid_redirect_uri/);
      const { SANDBOX_PUBLIC_URL: _s, ...unset } = ok;
      const missing = valuesFindings(unset, { mode: 'external', domain: 'nap.test', httpsPort: 8443 });
      expect(missing).toEqual([
        expect.objectContaining({ key: 'SANDBOX_PUBLIC_URL', expected: 'https://sandbox.nap.test:8443' }),
      ]);
      expect(missing[0]!.value).toBeUndefined();
      expect(missing[0]!.breaks).toMatch(/falls back to http:\/\/<NAP_HOST>:<node port>/);
      // NodePort mode: the node-port origins are right, and unset keys are what install.sh fills in.
      const np = {
        NAP_HOST: 'nap.test',
        INGRESS_MODE: 'nodeport',
        WEB_PUBLIC_URL: 'http://nap.test:30080',
        BROWSER_PUBLIC_URL: 'http://nap.test:30085',
      };
      const nodePorts = { main: 30080, browsers: 30085, sandbox: 30086 };
      expect(valuesFindings(np, { mode: 'nodeport', domain: 'nap.test', nodePorts })).toEqual([]);
      expect(
        valuesFindings(
          { ...np, BROWSER_PUBLIC_URL: 'http://nap.test:30086' },
          { mode: 'nodeport', domain: 'nap.test', nodePorts },
        ).map((f) => f.expected),
      ).toEqual(['http://nap.test:30085']);
    },
  );

  it('external mode needs a name, not an IP', () => {
    expect(
      valuesFindings({ ...ok, NAP_HOST: '10.0.0.5' }, { mode: 'external', domain: '10.0.0.5' }).map((f) => f.expected),
    ).toContain('a DNS name (external mode routes by host name)');
  });
});

describe('--values feeds the options; flags win', () => {
  const file = new URL('../../fixtures/values.env', import.meta.url).pathname;
  it('domain, mode, TURN and its secret come from the file', () => {
    const o = validate({ values: file });
    expect(o).toMatchObject({
      domain: 'nap.test',
      mode: 'external',
      turn: { host: '203.0.113.20', port: 3478 },
      turnSecret: 'nvt-stack-turn-secret-5e2a',
    });
  });
  it('flags override, and NodePort mode takes the node ports (TOS_NODE_PORT as NAP_NODE_PORT)', () => {
    const o = validate({ values: file, domain: 'other.test', mode: 'nodeport', sandboxNodePort: '31000' });
    expect(o).toMatchObject({
      domain: 'other.test',
      mode: 'nodeport',
      nodePorts: { main: 30080, browsers: 30085, sandbox: 31000 },
    });
  });
});
