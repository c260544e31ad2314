// The typed wiring between checks (checks/_lib/evidence.ts) agrees with what each check actually gathers: checked
// by the compiler (`npm run typecheck` runs over the tests), so a check whose evidence type drifts from the map, or
// an id the map names that no check file has, breaks the build.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type dnsMain from '../../checks/dns.main.js';
import type dnsPreview from '../../checks/dns.preview.js';
import type httpFiles from '../../checks/http.files.js';
import type tlsSandbox from '../../checks/tls.sandbox.js';
import type wsPreview from '../../checks/ws.preview.js';
import { evidenceOf, type EvidenceById, type WiredId } from '../../checks/_lib/evidence.js';
import type { CheckDef, CheckResult } from '../../src/model.js';
import { loadChecks } from '../../src/registry.js';

type EvidenceOf<C> = C extends CheckDef<infer E> ? E : never;

describe('typed wiring between checks', () => {
  it("each family's evidence type is the one its check gathers", () => {
    expectTypeOf<EvidenceById['dns.main']>().toEqualTypeOf<EvidenceOf<typeof dnsMain>>();
    expectTypeOf<EvidenceById['dns.preview']>().toEqualTypeOf<EvidenceOf<typeof dnsPreview>>();
    expectTypeOf<EvidenceById['tls.sandbox']>().toEqualTypeOf<EvidenceOf<typeof tlsSandbox>>();
    expectTypeOf<EvidenceById['http.files']>().toEqualTypeOf<EvidenceOf<typeof httpFiles>>();
    expectTypeOf<EvidenceById['ws.preview']>().toEqualTypeOf<EvidenceOf<typeof wsPreview>>();
    // Ids no check has are not in the map: reading them does not compile.
    expectTypeOf<'ws.files'>().not.toMatchTypeOf<WiredId>();
    expectTypeOf<'dns.mian'>().not.toMatchTypeOf<WiredId>();
  });

  it('every id in the map is a check the registry loads', async () => {
    const ids = new Set((await loadChecks()).map((d) => d.meta.id));
    const roles = ['main', 'files', 'browsers', 'sandbox', 'preview'] as const;
    const wired: WiredId[] = [
      ...roles.flatMap((r) => [`dns.${r}`, `tls.${r}`, `http.${r}`] as const),
      'ws.main',
      'ws.browsers',
      'ws.sandbox',
      'ws.preview',
    ];
    for (const id of wired) expect(ids.has(id), id).toBe(true);
  });

  it('evidenceOf reads the evidence a result carries, and nothing for a check that did not run', () => {
    const result: CheckResult = {
      id: 'tls.main',
      title: 't',
      status: 'pass',
      message: 'm',
      durationMs: 1,
      evidence: { alpn: 'h2', chain: [] },
    };
    const up = new Map([['tls.main', result]]);
    expect(evidenceOf(up, 'tls.main')?.alpn).toBe('h2');
    expect(evidenceOf(up, 'tls.files')).toBeUndefined();
    // @ts-expect-error: a misspelt id is a build error
    evidenceOf(up, 'tls.mian');
  });
});
