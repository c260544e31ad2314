import { describe, expect, it } from 'vitest';
import check, { noProxyCovers } from '../../checks/env.proxy.js';
import type { RunContext } from '../../src/model.js';
import { testContext } from '../support/context.js';

const ctx = (env: Record<string, string>): RunContext => testContext({ env });

async function judge(env: Record<string, string>) {
  const c = ctx(env);
  const ev = await check.gather(c, new Map(), { signal: new AbortController().signal, probe: (_k, run) => run() });
  return { ev, j: check.judge(ev, c) };
}

describe('env.proxy', () => {
  it('reads NO_PROXY the way curl does', () => {
    expect(noProxyCovers(['acme.com'], 'files.acme.com')).toBe(true);
    expect(noProxyCovers(['.acme.com'], 'acme.com')).toBe(true);
    expect(noProxyCovers(['*.acme.com'], 'sandbox.acme.com')).toBe(true);
    expect(noProxyCovers(['*'], 'anything.example')).toBe(true);
    expect(noProxyCovers(['cme.com'], 'acme.com')).toBe(false);
    expect(noProxyCovers(['acme.com:443'], 'acme.com')).toBe(true);
    expect(noProxyCovers([], 'acme.com')).toBe(false);
  });

  it('passes with no proxy, and with a proxy that NO_PROXY bypasses for every host', async () => {
    expect((await judge({})).j.status).toBe('pass');
    expect((await judge({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost,.acme.com' })).j.status).toBe('pass');
  });

  it('warns ENV_PROXY naming the variable, with proxy credentials masked', async () => {
    const { ev, j } = await judge({ https_proxy: 'http://alice:s3cret@proxy.corp:3128', NO_PROXY: 'files.acme.com' });
    expect(j).toMatchObject({ status: 'warn', code: 'ENV_PROXY' });
    expect(j.message).toContain('https_proxy=http://***:***@proxy.corp:3128');
    expect(j.message).not.toContain('files.acme.com,');
    expect(JSON.stringify([ev, j])).not.toContain('s3cret');
    expect(JSON.stringify([ev, j])).not.toContain('alice');
  });
});
