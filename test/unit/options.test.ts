import { describe, expect, it } from 'vitest';
import { envName, parseDomain, parseResolver, UsageError, validate } from '../../src/options.js';

describe('option parsing', () => {
  it('normalizes domains and rejects what is not one', () => {
    expect(parseDomain('NAP.Acme.com.')).toBe('nap.acme.com');
    for (const bad of ['10.0.0.1', '::1', 'acme', 'https://acme.com', 'acme..com', '-acme.com', 'a_b.com', 'ünï.com']) {
      expect(() => parseDomain(bad), bad).toThrow(UsageError);
    }
    expect(() => parseDomain('bücher.de')).toThrow(/punycode \(xn--bcher-kva\.de\)/);
  });

  it('reads resolvers as ip, ip:port, [v6]:port', () => {
    expect(parseResolver('127.0.0.1')).toEqual({ address: '127.0.0.1', port: 53, source: 'flag' });
    expect(parseResolver('127.0.0.1:5353')).toMatchObject({ address: '127.0.0.1', port: 5353 });
    expect(parseResolver('[::1]:5353')).toMatchObject({ address: '::1', port: 5353 });
    expect(parseResolver('::1')).toMatchObject({ address: '::1', port: 53 });
    expect(() => parseResolver('dns.google')).toThrow(UsageError);
    expect(() => parseResolver('1.1.1.1:0')).toThrow(UsageError);
  });

  it('maps option names to NAP_VERIFY_ variables', () => {
    expect(envName('domain')).toBe('NAP_VERIFY_DOMAIN');
    expect(envName('certWarnDays')).toBe('NAP_VERIFY_CERT_WARN_DAYS');
  });

  it('validates into defaults the spec names', () => {
    const o = validate({ domain: 'acme.com' });
    expect(o).toMatchObject({
      httpsPort: 443,
      httpPort: 80,
      certWarnDays: 14,
      timeoutMs: 10_000,
      format: 'text',
      strict: false,
      expectIps: [],
      resolvers: [],
    });
    expect(validate({ domain: 'acme.com', expectIp: ['1.2.3.4', '5.6.7.8,9.9.9.9'] }).expectIps).toEqual([
      '1.2.3.4',
      '5.6.7.8',
      '9.9.9.9',
    ]);
  });

  it(
    '--ip-family: auto by default, 4 or 6 (ipv6 spelt out too), nothing else; --ingress-ip must be ' + 'of that family',
    () => {
      expect(validate({ domain: 'acme.com' }).ipFamily).toBe('auto');
      expect(validate({ domain: 'acme.com', ipFamily: '6' }).ipFamily).toBe('6');
      expect(validate({ domain: 'acme.com', ipFamily: 'ipv4' }).ipFamily).toBe('4');
      expect(() => validate({ domain: 'acme.com', ipFamily: '5' })).toThrow(/--ip-family 5: expected auto, 4 or 6/);
      expect(() => validate({ domain: 'acme.com', ipFamily: '6', ingressIp: '192.0.2.1' })).toThrow(
        /--ingress-ip 192\.0\.2\.1 is not an IPv6 address/,
      );
    },
  );
});
