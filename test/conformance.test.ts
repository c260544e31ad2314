// The probe responder answers as the platform does: every request of test/support/platform-requests.ts (each
// request a check sends to identify or judge a service, the spec §1 rows, the answers the platform README measured)
// goes to the REAL platform (neutree-ai/agent-platform at e5ea8d0, test/support/real-platform.ts) and to
// `nap-verify serve` in the same namespace, and what a check could observe must be the same: status, interim
// answers, content type, Location, Connection: close, whether the server closes the connection soon after, the Date
// header's presence, the headers the checks read, the body; for upgrades 101 / HTTP status / socket destroyed and
// the close frame after the open. `nap-verify serve` runs from dist/ (`npm run build` first).
//
// Normalised, and only these: per-request randomness (OAuth `state` and `code_challenge` in a Location), values the
// install's build sets (/api/version's commit and builtAt), HTML bodies to their <title> (a real install serves a
// vite build whose asset names change per build; the checks read only the title), /metrics to "Prometheus text or
// not" (the values change every scrape; http.exposure reads only that), and OpenAPI documents to their `openapi`
// version and `info.title` (the platform's API description is its code, not ours to copy).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness/cli.js';
import { runCleanups } from './harness/proc.js';
import { createNetns, type Netns } from './harness/netns.js';
import { startResponder, type ResponderPorts } from './support/ingress.js';
import { NOT_REQUESTS, platformRequests, type PlatformRequest } from './support/platform-requests.js';
import { startRealPlatform } from './support/real-platform.js';

const D = 'nap.test';
const REAL: ResponderPorts = { cp: 3000, browser: 3005, sandbox: 3006 };
const RESPONDER: ResponderPorts = { cp: 4000, browser: 4005, sandbox: 4006 };
const FINGERPRINTS_ONLY: ResponderPorts = { cp: 5000, browser: 5005, sandbox: 5006 };
const PROBE = path.join(REPO_ROOT, 'test', 'support', 'conformance-probe.mjs');

/** values.env of an install on nap.test in external mode with both modules (self-host/values.env.example keys). */
const VALUES = {
  NAP_HOST: D,
  INGRESS_MODE: 'external',
  WEB_PUBLIC_URL: `https://${D}`,
  FILES_PUBLIC_URL: `https://files.${D}`,
  BROWSER_PUBLIC_URL: `https://browsers.${D}`,
  SANDBOX_PUBLIC_URL: `https://sandbox.${D}`,
  SANDBOX_DOMAIN: `sandbox.${D}`,
  SANDBOX_ENABLED: 'true',
  BROWSER_ENABLED: 'true',
  TURN_HOST: '203.0.113.40',
  TURN_AUTH_SECRET: 'x',
};
const SERVE_URLS = [
  '--web-public-url',
  VALUES.WEB_PUBLIC_URL,
  '--browser-public-url',
  VALUES.BROWSER_PUBLIC_URL,
  '--sandbox-public-url',
  VALUES.SANDBOX_PUBLIC_URL,
];

interface Raw {
  outcome: string;
  interim?: number[];
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  closed?: boolean;
  ws?: string;
  closeCode?: number;
  closeReason?: string;
  messages?: string[];
}

/** Headers a check reads besides the ones normalised on their own (proxy detection, gates, framing, upgrades). */
const READ_HEADERS = [
  'server',
  'www-authenticate',
  'x-frame-options',
  'content-security-policy',
  'upgrade',
  'access-control-allow-origin',
];
const RANDOM_PARAMS = ['state', 'code_challenge'];

function location(loc: string, host: string): string {
  const u = new URL(loc, `http://${host}`);
  for (const p of RANDOM_PARAMS) if (u.searchParams.has(p)) u.searchParams.set(p, '<random>');
  // Relative stays relative: what the header said, not what a client would resolve it to.
  return /^[a-z][a-z0-9+.-]*:/i.test(loc) ? u.href : `${u.pathname}${u.search}${u.hash}`;
}

function body(r: PlatformRequest, raw: Raw): unknown {
  const text = raw.body ?? '';
  const type = raw.headers?.['content-type'] ?? '';
  if (/^text\/html/i.test(type)) return { title: /<title>([^<]*)<\/title>/i.exec(text)?.[1] ?? null };
  if (r.path === '/metrics' && raw.status === 200)
    return { prometheusText: /^# (HELP|TYPE) /m.test(text.slice(0, 2048)) };
  if (/json/i.test(type)) {
    let j: any;
    try {
      j = JSON.parse(text);
    } catch {
      return { unparsableJson: text };
    }
    if (r.path === '/api/version' && j && typeof j === 'object')
      return Object.fromEntries(Object.keys(j).map((k) => [k, '<set by the build>']));
    if (r.path.endsWith('/openapi.json') && j && typeof j === 'object')
      return { openapi: j.openapi, title: j.info?.title };
    return j;
  }
  return text;
}

/** What a check could observe of one answer. */
function observe(r: PlatformRequest, raw: Raw | undefined): Record<string, unknown> {
  if (!raw) return { outcome: 'not sent' };
  // A socket the server ends or resets without a byte: the same to every client.
  if (raw.outcome === 'closed-without-answer' || raw.outcome === 'reset') return { outcome: 'socket destroyed' };
  if (raw.outcome !== 'answered' && raw.outcome !== 'upgraded') return { outcome: raw.outcome };
  const h = raw.headers ?? {};
  const o: Record<string, unknown> = { outcome: raw.outcome, status: raw.status };
  if (raw.interim?.length) o.interim = raw.interim;
  if (h['content-type'] !== undefined) o.contentType = h['content-type'];
  if (h.location !== undefined) o.location = location(h.location, r.host);
  if (/(^|,)\s*close\s*(,|$)/i.test(h.connection ?? '')) o.connectionClose = true;
  o.date = h.date !== undefined;
  for (const k of READ_HEADERS) if (h[k] !== undefined) o[k] = h[k];
  if (raw.outcome === 'upgraded') {
    o.ws = raw.ws;
    if (raw.closeCode !== undefined) o.close = `${raw.closeCode} ${raw.closeReason ?? ''}`.trim();
    if (raw.messages?.length) o.messages = raw.messages;
    return o;
  }
  o.closedSoonAfter = raw.closed === true;
  o.body = body(r, raw);
  return o;
}

const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

/** One line per request that differs, naming each field: platform's value, then the responder's. */
function differences(
  reqs: PlatformRequest[],
  real: Record<string, Raw>,
  other: Record<string, Raw>,
  otherName: string,
): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    const a = observe(r, real[r.id]);
    const b = observe(r, other[r.id]);
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
      (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
    );
    if (!fields.length) continue;
    out.push(
      `${r.id}  [${r.by}]\n${fields
        .map((k) => `    ${k}: platform ${show(a[k])} | ${otherName} ${show(b[k])}`)
        .join('\n')}`,
    );
  }
  return out;
}

async function probe(ns: Netns, reqs: PlatformRequest[]) {
  const targets = [
    { name: 'platform', ports: REAL },
    { name: 'responder', ports: RESPONDER },
    { name: 'fingerprintsOnly', ports: FINGERPRINTS_ONLY },
  ];
  // The §7 paths are the responder's own protocol: sent to it only as --fingerprints-only.
  const requests = reqs.map((r) => (r.responderProtocol ? { ...r, skip: ['responder'] } : r));
  const res = await ns.exec('node', [PROBE], { input: JSON.stringify({ targets, requests }), timeoutMs: 120_000 });
  if (res.code !== 0) throw new Error(`conformance-probe failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as Record<string, Record<string, Raw>>;
}

describe('the request list covers every request the checks send', () => {
  it('every path literal in the checks (and the browser page) is a request of the list, or named as no request', () => {
    const dirs = [path.join(REPO_ROOT, 'checks'), path.join(REPO_ROOT, 'checks', '_lib')];
    const files = [
      ...dirs.flatMap((dir) =>
        readdirSync(dir)
          .filter((f) => f.endsWith('.ts'))
          .map((f) => path.join(dir, f)),
      ),
      path.join(REPO_ROOT, 'src', 'kit', 'browser-page.ts'),
    ];
    const paths = platformRequests(D).map((r) => r.path);
    const missing: string[] = [];
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      // A quoted path, or the path part of a template after a ${…} (`${origin}/metrics`, `${WELL_KNOWN}/ws`).
      for (const m of src.matchAll(/(?:['"`]|\})(\/[A-Za-z0-9_.~/?=&%-]*)/g)) {
        const lit = m[1]!;
        if (lit === '/' || lit in NOT_REQUESTS) continue;
        if (!paths.some((p) => p.includes(lit))) missing.push(`${path.relative(REPO_ROOT, f)}: ${lit}`);
      }
    }
    expect(
      missing,
      `paths in the checks that test/support/platform-requests.ts does not send:\n${missing.join('\n')}`,
    ).toEqual([]);
  });

  it('the list has no duplicate and names who sends each request', () => {
    const reqs = platformRequests(D);
    expect(new Set(reqs.map((r) => r.id)).size).toBe(reqs.length);
    for (const r of reqs) expect(r.by, r.id).toMatch(/\S/);
  });
});

describe('the responder answers as the real platform does', () => {
  const reqs = platformRequests(D);
  let seen: Record<string, Record<string, Raw>>;

  beforeAll(async () => {
    const ns = await createNetns();
    await startRealPlatform(ns, VALUES, REAL);
    await startResponder(ns, D, RESPONDER, SERVE_URLS);
    await startResponder(ns, D, FINGERPRINTS_ONLY, [...SERVE_URLS, '--fingerprints-only']);
    seen = await probe(ns, reqs);
    // For a person reading a failure: every raw answer, as the probe saw it.
    if (process.env.NAP_VERIFY_CONFORMANCE_DUMP)
      writeFileSync(process.env.NAP_VERIFY_CONFORMANCE_DUMP, JSON.stringify(seen));
  }, 300_000);
  afterAll(runCleanups);

  it('sanity: the platform answered (a dead platform would make every comparison meaningless)', () => {
    const p = seen.platform!;
    expect(observe(reqs[0]!, p[`${D} GET /healthz`]).status).toBe(200);
    expect(Object.keys(p).length).toBe(reqs.length);
  });

  it('nap-verify serve: every request but its own §7 paths', () => {
    const diff = differences(
      reqs.filter((r) => !r.responderProtocol),
      seen.platform!,
      seen.responder!,
      'responder',
    );
    expect(diff.length, `${diff.length} answers differ from the platform's:\n${diff.join('\n')}`).toBe(0);
  });

  it('nap-verify serve --fingerprints-only: every request, its §7 paths included', () => {
    const diff = differences(reqs, seen.platform!, seen.fingerprintsOnly!, 'fingerprints-only');
    expect(diff.length, `${diff.length} answers differ from the platform's:\n${diff.join('\n')}`).toBe(0);
  });
});
