// The >60 s problem in miniature: real nginx and haproxy with a 3 s stream timeout cut the silent streams, and
// nap-verify must time the cut to within 0.5 s, tell idle from lifetime, and name the proxy; a long timeout passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { ingressBase, nginxSite, startHaproxy, startResponder, UPGRADE_MAP, type Ingress } from './support/ingress.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const P = { nginxCut: 8443, nginxOk: 8444, haproxyCut: 9443 };
const HOLD_IDS = ['hold.ws.main', 'hold.ws.browsers', 'hold.ws.sandbox', 'hold.ws.preview', 'hold.sse.main'];

interface JsonCheck { id: string; status: string; code?: string; message: string; evidence: Record<string, any>; remediation?: string }

let ing: Ingress;
const runs: Record<string, CliResult & { byId: Record<string, JsonCheck> }> = {};

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  await startResponder(ing.ns, ing.domain, R);
  await startNginx(ing.ns, [UPGRADE_MAP, nginxSite(ing, R, { port: P.nginxCut, readTimeout: '3s' }), nginxSite(ing, R, { port: P.nginxOk })].join('\n'));
  await startHaproxy(ing, R, P.haproxyCut, '3s');
  // All three runs side by side: each holds its streams for 5 s.
  await Promise.all(Object.entries(P).map(async ([name, port]) => {
    const r = await runCli(ing.ns, ['--domain', ing.domain, '--https-port', String(port), '--ca-file', ing.rootPem, '--only', 'hold', '--hold', '5', '--timeout', '2', '--format', 'json']);
    if (!r.json) throw new Error(`${name}: ${r.stderr}${r.stdout}`);
    runs[name] = { ...r, byId: Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c])) };
  }));
}, 60_000);
afterAll(runCleanups);

describe('hold.* against real proxies with a 3 s stream timeout', () => {
  for (const [name, culprit] of [['nginxCut', /nginx proxy_read_timeout \(ingress-nginx proxy-read-timeout\), set to about 3 s/], ['haproxyCut', /with a limit of about 3 s/]] as const) {
    it(`${name}: every silent stream is HOLD_CUT at 3.0 ± 0.5 s after its last byte, an idle timeout, culprit as far as it shows itself`, () => {
      const r = runs[name]!;
      expect(r.code).toBe(1);
      for (const id of HOLD_IDS) {
        const c = r.byId[id]!;
        expect(c, id).toMatchObject({ status: 'fail', code: 'HOLD_CUT' });
        expect(Math.abs(c.evidence.cutAfterS - 3), `${id} cutAfterS ${c.evidence.cutAfterS}`).toBeLessThanOrEqual(0.5);
        expect(c.evidence.limit, id).toBe('idle');
        expect(c.evidence.culprit, id).toMatch(culprit);
        expect(c.evidence.keepalive.end.how, id).toBe('survived');
      }
      // The WebSocket cut looks like a FIN then 1006; the SSE cut like the connection closing mid-response.
      expect(r.byId['hold.ws.main']!.evidence.ended).toBe('close 1006 after FIN');
      expect(r.byId['hold.sse.main']!.evidence.ended).toMatch(/^(eof|reset): /);
      // The SSE stream's last byte is its third tick at 1.5 s: cut at about 4.5 s of age.
      expect(r.byId['hold.sse.main']!.evidence.ageS).toBeGreaterThan(4);
    });
  }

  it('nginx: the fix printed is the ingress-nginx annotation', () => {
    const c = runs.nginxCut!.byId['hold.ws.browsers']!;
    expect(c.remediation).toContain('nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"');
    expect(c.message).toMatch(/^silent WebSocket to browsers\.nap\.test cut 3\.\d s after its last byte \(open 3\.\d s; close 1006 after FIN\); its keep-alive twin survived: an idle timeout; likely nginx/);
  });

  it('a 3600 s proxy keeps every stream; a 5 s hold is only a HOLD_SHORT warning', () => {
    const r = runs.nginxOk!;
    expect(r.code).toBe(0);
    for (const id of HOLD_IDS) {
      expect(r.byId[id], id).toMatchObject({ status: 'warn', code: 'HOLD_SHORT' });
      expect(r.byId[id]!.evidence.silent.end.how, id).toBe('survived');
    }
  });
});
