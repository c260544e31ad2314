// Cut-off precision at the default --hold 75 (issue 10): real nginx and haproxy idle timeouts and a real lifetime
// cap (Varnish send_timeout behind nginx), three rounds side by side. Reports the figure that matches the limit
// (cutAfterS for idle, capS for lifetime), the limit told, and the wall time (a hold ends once every stream's fate
// is shown). Targets are reported, not asserted.
import { afterAll, beforeAll, it } from 'vitest';
import { runCli } from '../test/harness/cli.js';
import { startNginx } from '../test/harness/nginx.js';
import { runCleanups } from '../test/harness/proc.js';
import {
  ingressBase,
  nginxSite,
  startHaproxy,
  startResponder,
  UPGRADE_MAP,
  type Ingress,
} from '../test/support/ingress.js';
import { startVarnish } from '../test/support/varnish.js';
import { writeSection } from './results.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
interface Case {
  proxy: string;
  setting: string;
  port: number;
  seconds: number;
  limit: 'idle' | 'lifetime';
}
const CASES: Case[] = [
  { proxy: 'nginx', setting: 'proxy_read_timeout 4s', port: 8461, seconds: 4, limit: 'idle' },
  { proxy: 'nginx', setting: 'proxy_read_timeout 20s', port: 8462, seconds: 20, limit: 'idle' },
  { proxy: 'haproxy', setting: 'timeout tunnel/server 5s', port: 9461, seconds: 5, limit: 'idle' },
  { proxy: 'haproxy', setting: 'timeout tunnel/server 20s', port: 9462, seconds: 20, limit: 'idle' },
  { proxy: 'Varnish (behind nginx)', setting: 'send_timeout 8', port: 8463, seconds: 8, limit: 'lifetime' },
  { proxy: 'Varnish (behind nginx)', setting: 'send_timeout 12', port: 8464, seconds: 12, limit: 'lifetime' },
];
const ROUNDS = 3;
let ing: Ingress;

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  await startResponder(ing.ns, ing.domain, R);
  await startVarnish(ing, R, 6091, 8);
  await startVarnish(ing, R, 6092, 12);
  const via = (p: number) => ({ cp: p, browser: p, sandbox: p });
  // One nginx per pair of sites: each has 256 worker connections, and every held stream costs two.
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: 8461, readTimeout: '4s' }),
      nginxSite(ing, R, { port: 8462, readTimeout: '20s' }),
    ].join('\n'),
  );
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: 8463, backends: via(6091) }),
      nginxSite(ing, R, { port: 8464, backends: via(6092) }),
    ].join('\n'),
  );
  await startHaproxy(ing, R, 9461, '5s');
  await startHaproxy(ing, R, 9462, '20s');
}, 120_000);
afterAll(runCleanups);

interface Check {
  id: string;
  status: string;
  code?: string;
  message: string;
  evidence: { cutAfterS?: number; capS?: number; limit?: string };
}

it('cut-off precision at the default --hold 75', async () => {
  const runs = await Promise.all(
    CASES.flatMap((c) =>
      Array.from({ length: ROUNDS }, async () => {
        const r = await runCli(
          ing.ns,
          [
            '--domain',
            ing.domain,
            '--https-port',
            String(c.port),
            '--ca-file',
            ing.rootPem,
            '--only',
            'hold',
            '--format',
            'json',
          ],
          { timeoutMs: 150_000 },
        );
        return { c, ms: r.ms, checks: r.json.checks as Check[] };
      }),
    ),
  );
  const lines = [
    'Default options (`--hold 75`), five holds per run (4 WebSocket + 1 SSE), three runs of every proxy side by ' +
      'side (18 at once on 2 cores). ' +
      'Figure: `cutAfterS` (quiet time before the cut) for an idle limit, `capS` (age of the stream carrying ' +
      'data) for a lifetime cap.\n',
    '| proxy | setting | limit told | figures (all runs) | worst error | codes | wall time per run |',
    '|---|---|---|---|---|---|---|',
  ];
  let worstAll = 0;
  for (const c of CASES) {
    const mine = runs.filter((r) => r.c === c);
    const cut = mine.flatMap((r) => r.checks.filter((k) => k.evidence.limit));
    const figures = cut
      .map((k) => (c.limit === 'lifetime' ? k.evidence.capS : k.evidence.cutAfterS))
      .filter((x): x is number => x !== undefined);
    const limits = [...new Set(cut.map((k) => k.evidence.limit))].join(', ');
    const worst = figures.length ? Math.max(...figures.map((f) => Math.abs(f - c.seconds))) : NaN;
    if (!Number.isNaN(worst)) worstAll = Math.max(worstAll, worst);
    const codes = [
      ...new Set(mine.flatMap((r) => r.checks.map((k) => `${k.id.replace('hold.', '')}: ${k.code ?? k.status}`))),
    ].join('; ');
    const walls = mine.map((r) => (r.ms / 1000).toFixed(1)).join(', ');
    lines.push(
      `| ${c.proxy} | ${c.setting} | ${limits || 'none'} (expected ${c.limit}) | ${figures.join(', ')} | ` +
        `${worst.toFixed(2)} s | ${codes} | ${walls} s |`,
    );
  }
  const skips = [
    ...new Set(
      runs.flatMap((r) =>
        r.checks.filter((k) => k.status === 'skip').map((k) => `${r.c.proxy} ${r.c.setting}, ${k.id}: ${k.message}`),
      ),
    ),
  ];
  if (skips.length) lines.push(`\nSkipped: ${skips.join('; ')}`);
  lines.push(
    `\nWorst error overall: **${worstAll.toFixed(2)} s** (target ≤ 0.5 s). Varnish pipes WebSocket upgrades, ` +
      `which send_timeout does not cap: those holds last the full 75 s and pass, so the Varnish runs take the ` +
      `whole hold; every other run's streams end 2 s after the last cut (the wall times include 18 CLIs starting ` +
      `at once on 2 cores).\n`,
  );
  console.log(lines.join('\n'));
  writeSection('Cut-off precision at the default hold', lines.join('\n'));
});
