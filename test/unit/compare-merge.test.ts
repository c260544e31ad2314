// The comparison rule on its own: pure verdicts from cells, as README "Comparing vantage points" states it.
import { describe, expect, it } from 'vitest';
import { compareRuns, verdictFor, type Cell } from '../../src/compare/merge.js';

const c = (status: Cell['status'], code?: string): Cell => ({ status, message: '', ...(code ? { code } : {}) });
const inside = (cell: Cell | null) => ({ inside: true, cell });
const outside = (cell: Cell | null) => ({ inside: false, cell });

describe('verdictFor', () => {
  it.each([
    ['same', [inside(c('pass')), outside(c('warn'))]],
    ['everywhere', [inside(c('fail')), outside(c('fail')), outside(c('fail'))]],
    ['in-front', [inside(c('pass')), outside(c('fail')), outside(c('fail'))]],
    ['hairpin', [inside(c('fail')), outside(c('pass')), outside(c('warn'))]],
    ['client-network', [inside(c('pass')), outside(c('pass')), outside(c('fail'))]],
    ['client-network', [outside(c('pass')), outside(c('fail'))]],
    ['one-view', [inside(c('fail')), outside(c('skip')), outside(null)]],
    ['no-evidence', [inside(c('skip')), outside(null)]],
  ] as const)('%s', (verdict, cells) => {
    expect(verdictFor([...cells])).toBe(verdict);
  });
});

describe('compareRuns', () => {
  const doc = (vantage: string | undefined, checks: Array<[string, Cell['status']]>) => ({
    schema: 1,
    ...(vantage ? { vantage } : {}),
    target: { domain: 'acme.com' },
    checks: checks.map(([id, status]) => ({ id, status, message: '' })),
  });
  it('names a vantage point from its file when the result carries none, and tells two of one name apart', () => {
    const r = compareRuns([
      { doc: doc(undefined, [['tls.main', 'pass']]), source: '/tmp/office.json' },
      { doc: doc('laptop', [['tls.main', 'pass']]), source: 'a/one.json' },
      { doc: doc('laptop', [['tls.main', 'fail']]), source: 'b/two.json' },
    ]);
    expect(r.vantages.map((v) => v.name)).toEqual(['office', 'laptop (one.json)', 'laptop (two.json)']);
    expect(r.checks[0]!.verdict).toBe('client-network');
    expect(r.conclusions.at(-1)).toMatch(/^no vantage point inside the cluster/);
  });
  it('rejects what is not a schema-1 result, naming the file', () => {
    expect(() =>
      compareRuns([
        { doc: { schema: 2, checks: [] }, source: 'x.json' },
        { doc: doc('a', []), source: 'y.json' },
      ]),
    ).toThrow('x.json: not a nap-verify schema-1 result (schema: 2)');
    expect(() =>
      compareRuns([
        { doc: { schema: 1, checks: [{ id: 'a', status: 'ok' }] }, source: 'x.json' },
        { doc: doc('a', []), source: 'y.json' },
      ]),
    ).toThrow('x.json: checks[0] has no id or no status pass|warn|fail|skip');
  });
});
