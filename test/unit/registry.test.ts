import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadChecks, selectIds } from '../../src/registry.js';
import { CONTRACT } from '../support/spec-codes.js';

describe('check registry', () => {
  it('finds every check file by its id, and each declares the spec codes with a fix', async () => {
    const defs = await loadChecks();
    const ids = defs.map((d) => d.meta.id);
    const files = readdirSync(new URL('../../checks/', import.meta.url))
      .filter((f) => /^[a-z]+\..*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''));
    expect(ids.sort()).toEqual(files.sort());
    // Every check is in the contract, and every contract id is a check: none left out of the table.
    expect(Object.keys(CONTRACT).sort()).toEqual(ids);
    for (const [id, codes] of Object.entries(CONTRACT)) {
      const def = defs.find((d) => d.meta.id === id);
      expect(def, id).toBeDefined();
      expect(Object.keys(def!.meta.codes).sort(), id).toEqual([...codes].sort());
      for (const c of codes) expect(def!.meta.codes[c]!.fix, `${id} ${c}`).toBeTruthy();
    }
  });

  it('selects by id or prefix and reports unknown entries', () => {
    const all = ['dns.main', 'dns.preview', 'dns.consistent', 'tls.main', 'tls.preview'];
    expect(selectIds(all, ['dns'], []).selected).toEqual(['dns.main', 'dns.preview', 'dns.consistent']);
    expect(selectIds(all, [], ['tls.preview', 'dns']).selected).toEqual(['tls.main']);
    expect(selectIds(all, ['tls.pre'], []).unknown).toEqual(['tls.pre']);
  });
});
