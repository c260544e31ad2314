// The acceptance scenario of the hold checks at full size: nginx with its default proxy_read_timeout (60 s) and
// with 3600 s, a 75 s hold on each, side by side. Reports the cut-offs, the culprit and fix, and the wall times.
// (No TURN server in this stack: turn.* is left out, and http.redirect, which has no plain-HTTP listener here.)
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../test/harness/cli.js';
import { startNginx } from '../test/harness/nginx.js';
import { runCleanups } from '../test/harness/proc.js';
import { ingressBase, nginxSite, startResponder, UPGRADE_MAP } from '../test/support/ingress.js';
import { writeSection } from './results.js';

afterAll(runCleanups);

const HOLD = 75;

it(`nginx default (60 s) vs 3600 s, --hold ${HOLD}`, async () => {
  const ing = await ingressBase('nap.test');
  const R = { cp: 3000, browser: 3005, sandbox: 3006 };
  await startResponder(ing.ns, ing.domain, R);
  await startNginx(
    ing.ns,
    [UPGRADE_MAP, nginxSite(ing, R, { port: 8443, readTimeout: null }), nginxSite(ing, R, { port: 8444 })].join('\n'),
  );
  const args = (port: number) => [
    '--domain',
    ing.domain,
    '--https-port',
    String(port),
    '--ca-file',
    ing.rootPem,
    '--skip',
    'http.redirect,turn',
    '--hold',
    String(HOLD),
    '--format',
    'json',
  ];
  const [cut, ok] = await Promise.all([
    runCli(ing.ns, args(8443), { timeoutMs: 200_000 }),
    runCli(ing.ns, args(8444), { timeoutMs: 200_000 }),
  ]);
  const holds = (r: typeof cut) =>
    (
      r.json.checks as Array<{
        id: string;
        status: string;
        code?: string;
        evidence: Record<string, any>;
        remediation?: string;
        message: string;
      }>
    ).filter((c) => c.id.startsWith('hold.'));
  const rows = holds(cut).map(
    (c) =>
      `| ${c.id} | ${c.code} | ${c.evidence.cutAfterS.toFixed(1)} s | ${c.evidence.ageS.toFixed(1)} s | ` +
      `${c.evidence.limit} | ${c.evidence.culprit} |`,
  );
  const okRows = holds(ok).map((c) => `| ${c.id} | ${c.status} | ${c.message} |`);
  const body = [
    `nginx 1.22 in front of the responder, TLS, five names; \`--hold ${HOLD}\`; both runs side by side.`,
    '',
    // Every stream is cut here, so the run ends once the keep-alive twins have outlived the cuts, before --hold.
    `**Default proxy_read_timeout (60 s)** — exit ${cut.code}, wall time ${(cut.ms / 1000).toFixed(2)} s (every ` +
      `stream cut: the hold ends before ${HOLD} s):`,
    '',
    '| check | code | cutAfterS | ageS | limit | culprit |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Fix printed: ${JSON.stringify(holds(cut)[0]?.remediation?.split('\n')[0])}`,
    '',
    `**proxy_read_timeout 3600s** — exit ${ok.code}, wall time ${(ok.ms / 1000).toFixed(2)} s (hold + ` +
      `${(ok.ms / 1000 - HOLD).toFixed(2)} s):`,
    '',
    '| check | status | message |',
    '|---|---|---|',
    ...okRows,
  ].join('\n');
  writeSection('Hold: nginx default vs 3600 s', body);
  console.log(body);
  for (const c of holds(cut)) {
    // nap-cp's SSE heartbeat (15 s) keeps its SSE alive through a 60 s idle timeout; WebSockets are cut.
    expect(c.code, c.id).toBe(c.id === 'hold.sse.main' ? 'HOLD_IDLE_HEARTBEAT' : 'HOLD_CUT');
    expect(Math.abs(c.evidence.cutAfterS - 60), c.id).toBeLessThanOrEqual(0.5);
  }
  for (const c of holds(ok)) expect(c.status, c.id).toBe('pass');
});
