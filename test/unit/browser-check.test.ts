// The page generator's arithmetic and escaping, and reading schema-1 results back (the browser behaviour itself is
// tested in real Chromium: test/browser-check.test.ts).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { browserCheckPage, MAX_VALID_S, parseDuration } from '../../src/kit/browser-check.js';
import { toJson } from '../../src/report/json.js';
import { readResult, ResultFormatError } from '../../src/report/read-json.js';

const SECRET = 'unit-secret-that-must-not-appear';
const NOW = new Date('2026-11-25T12:00:00Z');
const configOf = (html: string) => JSON.parse(/id="nv-config">(.*?)<\/script>/s.exec(html)![1]!);

describe('kit browser-check page', () => {
  const base = {
    domain: 'acme.com',
    httpsPort: 443,
    turn: { host: '203.0.113.7', port: 3478 },
    validS: 3600,
    responder: false,
    holdS: 75,
    timeoutS: 10,
    version: '9.9.9',
    now: NOW,
  };

  it('carries REST credentials for <expiry>:nap-verify, never the secret', () => {
    const html = browserCheckPage({ ...base, turnSecret: SECRET });
    expect(html).not.toContain(SECRET);
    const cfg = configOf(html);
    const expiry = NOW.getTime() / 1000 + 3600;
    expect(cfg.turn).toEqual({
      host: '203.0.113.7',
      port: 3478,
      username: `${expiry}:nap-verify`,
      credential: createHmac('sha1', SECRET).update(`${expiry}:nap-verify`).digest('base64'),
    });
    expect(cfg.expiresAt).toBe(expiry * 1000);
  });

  it('caps validity at 7 days and leaves credentials out without a secret', () => {
    const cfg = configOf(browserCheckPage({ ...base, validS: 30 * 86400, turnSecret: SECRET }));
    expect(cfg.expiresAt - NOW.getTime()).toBe(MAX_VALID_S * 1000);
    expect(configOf(browserCheckPage(base)).turn).toEqual({ host: '203.0.113.7', port: 3478 });
  });

  it('allows connections only to the platform names on the ingress port', () => {
    const html = browserCheckPage({ ...base, httpsPort: 8443 });
    expect(html).toContain(
      'connect-src https://acme.com:8443 https://*.acme.com:8443 wss://acme.com:8443 wss://*.acme.com:8443;',
    );
    expect(html).not.toMatch(/src="http|href="http/);
  });

  it('parses --valid durations', () => {
    expect([
      parseDuration('90m'),
      parseDuration('24h'),
      parseDuration('7d'),
      parseDuration('3600'),
      parseDuration('1.5h'),
      parseDuration('x'),
    ]).toEqual([5400, 86400, 604800, 3600, 5400, undefined]);
  });
});

describe('reading a schema-1 result back', () => {
  const doc = {
    tool: 'nap-verify',
    version: '0.1.0',
    schema: 1,
    vantage: 'browser',
    startedAt: '2026-11-25T12:00:00.000Z',
    finishedAt: '2026-11-25T12:01:00.000Z',
    durationMs: 60000,
    target: {
      domain: 'acme.com',
      hosts: { main: 'acme.com' },
      ingressIp: null,
      turn: { host: '203.0.113.7', port: 3478 },
    },
    options: { hold: 75 },
    environment: { browser: 'Firefox 140.0', resolvers: [] },
    summary: { pass: 1, warn: 0, fail: 0, skip: 0, status: 'pass' },
    checks: [
      { id: 'tls.main', title: 't', status: 'pass', message: 'ok', host: 'acme.com', durationMs: 5, evidence: {} },
      {
        id: 'turn.tcp',
        title: 'u',
        status: 'fail',
        code: 'TURN_TIMEOUT',
        message: 'no relay',
        durationMs: 15000,
        evidence: { relay: null },
      },
    ],
  };

  it('recounts the summary from the checks and keeps vantage and the recorded environment', () => {
    const run = readResult(JSON.stringify(doc));
    expect(run.summary).toEqual({ pass: 1, warn: 0, fail: 1, skip: 0, status: 'fail' });
    expect(run.vantage).toBe('browser');
    const back = JSON.parse(toJson(run));
    expect(back.environment).toEqual(doc.environment);
    expect(back.checks).toEqual(doc.checks);
    expect(back.vantage).toBe('browser');
  });

  it('refuses what is not a result, saying why', () => {
    const bad = (v: unknown) => () => readResult(typeof v === 'string' ? v : JSON.stringify(v));
    expect(bad('{')).toThrow(ResultFormatError);
    expect(bad({ ...doc, schema: 2 })).toThrow('schema 2 is not 1');
    expect(bad({ ...doc, checks: [{ id: 'x', status: 'pass' }] })).toThrow('checks[0].id is not a check id');
    expect(bad({ ...doc, checks: [{ id: 'tls.main', status: 'great' }] })).toThrow('status must be one of');
    expect(bad({ ...doc, startedAt: 'yesterday' })).toThrow('startedAt is not a date');
  });
});
