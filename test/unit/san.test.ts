import { describe, expect, it } from 'vitest';
import { sanCovers, wildcardsTooHigh } from '../../checks/_lib/san.js';

describe('SAN coverage (RFC 6125 as browsers apply it)', () => {
  it.each([
    ['acme.com', 'acme.com', true],
    ['ACME.com.', 'acme.COM', true],
    ['acme.com', 'files.acme.com', false],
    ['*.acme.com', 'files.acme.com', true],
    ['*.acme.com', 'acme.com', false],
    ['*.acme.com', 'x.sandbox.acme.com', false],
    ['*.sandbox.acme.com', 'nvf0123456789.sandbox.acme.com', true],
    ['*.sandbox.acme.com', 'sandbox.acme.com', false],
    ['*.sandbox.acme.com', 'a.b.sandbox.acme.com', false],
    ['*.sandbox.acme.com', 'xsandbox.acme.com', false],
  ])('%s covers %s: %s', (san, host, want) => {
    expect(sanCovers(san, host)).toBe(want);
  });

  it('names the wildcard that sits one level too high', () => {
    expect(wildcardsTooHigh(['acme.com', '*.acme.com'], 'nvf1.sandbox.acme.com')).toEqual(['*.acme.com']);
    expect(wildcardsTooHigh(['*.sandbox.acme.com'], 'nvf1.sandbox.acme.com')).toEqual([]);
    expect(wildcardsTooHigh(['*.other.com'], 'nvf1.sandbox.acme.com')).toEqual([]);
  });
});
