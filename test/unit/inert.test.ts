// The one sanitiser (src/inert.ts) and every edge that uses it: a server's text reaches a terminal, a Markdown or
// HTML report, a JUnit file, a JSON document or a metrics label inert, and a proxy is named from a well-formed
// Server header only, never from a word inside attacker text.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { detectController, isDefaultBackend, serverProduct, viaNames } from '../../checks/_lib/routing.js';
import { compareRuns } from '../../src/compare/merge.js';
import { compareHtml, compareJson, compareMarkdown, compareText } from '../../src/compare/render.js';
import { labelValue, probeMetrics } from '../../src/exporter/metrics.js';
import { inert, inertHtml, inertJson, inertMarkdown, inertXml } from '../../src/inert.js';
import type { CheckResult } from '../../src/model.js';
import type { HttpExchange } from '../../src/probes/http.js';
import { toHtml } from '../../src/report/html.js';
import { toJson, type RunRecord } from '../../src/report/json.js';
import { toJunit } from '../../src/report/junit.js';
import { summarize } from '../../src/report/summary.js';
import { toMarkdown } from '../../src/report/triage.js';
import { buildTarget } from '../../src/target.js';

/** What a reader's terminal or viewer acts on: C0 but tab and line feed, DEL, C1, bidi controls, separators. */
const RAW = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]/;
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const HOSTILE = '\x1b]0;pwned\x07\x1b[2J\x07\rOVERWRITTEN \u202etxet desrever <script>alert(1)</script>';

/** Strings of random UTF-16 code units, weighted to the ones that matter here (controls, bidi, halves, markup). */
function fuzz(n: number, seed = 7): string[] {
  let x = seed;
  const rnd = (m: number) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % m;
  };
  const pools = [
    () => rnd(0x20),
    () => 0x7f + rnd(0x21),
    () => [0x61c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069, 0xfffe, 0xffff][rnd(11)]!,
    () => 0xd800 + rnd(0x800),
    () => '<>&"\'[]()`|\\!*_#'.charCodeAt(rnd(16)),
    () => 0x20 + rnd(0x5f),
    () => rnd(0x10000),
  ];
  return Array.from({ length: n }, () =>
    String.fromCharCode(...Array.from({ length: 1 + rnd(24) }, () => pools[rnd(pools.length)]!())),
  );
}

/** xmllint (scripts/system-deps.sh) parses the document, or throws with what it could not. */
const xmllint = (xml: string) => execFileSync('xmllint', ['--noout', '-'], { input: xml, stdio: 'pipe' });

describe('inert: the plain form', () => {
  it('shows control characters, bidi controls and separators as their escapes', () => {
    expect(inert('a\x1b[2Jb\x07c\rd\x00e\x7ff\x9bg')).toBe(String.raw`a\x1b[2Jb\x07c\x0dd\x00e\x7ff\x9bg`);
    expect(inert('\u202eevil\u2066x\u2069\u200f\u061c')).toBe(String.raw`\u202eevil\u2066x\u2069\u200f\u061c`);
    expect(inert('line\u2028sep\u2029\ufffe\uffff')).toBe(String.raw`line\u2028sep\u2029\ufffe\uffff`);
    expect(inert('tab\tnewline\n')).toBe(String.raw`tab\x09newline\x0a`);
    // Lone UTF-16 halves are no characters: shown, while a pair (an emoji) stays itself.
    expect(inert('a\ud800b\udc00c😀')).toBe(`${String.raw`a\ud800b\udc00c`}😀`);
  });

  it('leaves text a person reads as it is', () => {
    const fine = 'nginx/1.22.1 — ✔ Grüße, 東京, <b>&amp;</b> [x](y) `z` \\ "q"';
    expect(inert(fine)).toBe(fine);
  });

  it('is idempotent, and nothing unsafe survives it', () => {
    for (const s of [HOSTILE, ...fuzz(2000)]) {
      const once = inert(s);
      expect(inert(once)).toBe(once);
      expect(once).not.toMatch(RAW);
      expect(once).not.toMatch(LONE);
    }
  });
});

describe('the markup forms', () => {
  it('inertHtml: inert, then & < > " \' as entities', () => {
    expect(inertHtml(HOSTILE)).toBe(
      String.raw`\x1b]0;pwned\x07\x1b[2J\x07\x0dOVERWRITTEN \u202etxet desrever ` +
        '&lt;script&gt;alert(1)&lt;/script&gt;',
    );
    expect(inertHtml(`"a" & 'b'`)).toBe('&quot;a&quot; &amp; &#39;b&#39;');
  });

  it('inertXml: every string, fuzzed, in text and in attributes, parses as XML 1.0', () => {
    const strings = [HOSTILE, ']]>', ...fuzz(500, 11)];
    const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<r>${strings
      .map((s) => `<s v="${inertXml(s)}">${inertXml(s)}</s>`)
      .join('\n')}</r>\n`;
    expect(doc).not.toMatch(RAW);
    xmllint(doc);
    // Without it, the same strings are no XML: the test can tell.
    expect(() => xmllint(`<r>${HOSTILE.replace(/[<>&]/g, '')}</r>`)).toThrow();
  });

  it('inertMarkdown: no raw HTML, link, image, code span or cell break from the text', () => {
    expect(inertMarkdown(HOSTILE)).toBe(
      String.raw`\x1b\]0;pwned\x07\x1b\[2J\x07\x0dOVERWRITTEN \u202etxet desrever ` +
        '&lt;script&gt;alert(1)&lt;/script&gt;',
    );
    expect(inertMarkdown('[click](https://evil) ![](https://evil/t.png)')).toBe(
      String.raw`\[click\](https://evil) !\[\](https://evil/t.png)`,
    );
    expect(inertMarkdown('a|b `c` <https://evil> &lt;')).toBe(String.raw`a\|b \`c\` &lt;https://evil&gt; &amp;lt;`);
    // A backslash before punctuation cannot undo an escape; before a letter (inert's own escapes) it stays one.
    expect(inertMarkdown('\\](x) \\x1b')).toBe(String.raw`\\\](x) \x1b`);
    for (const s of fuzz(500, 13)) {
      const md = inertMarkdown(s);
      expect(md).not.toMatch(RAW);
      expect(md).not.toMatch(/<|(?<!\\)(?:\\\\)*[[\]`|]/);
    }
  });

  it('inertJson: the same values parsed back, none of the characters raw in the text', () => {
    for (const s of [HOSTILE, ...fuzz(500, 17)]) {
      const value = { s, list: [s], [s]: 1 };
      const json = inertJson(JSON.stringify(value, null, 2));
      expect(json).not.toMatch(RAW);
      expect(JSON.parse(json)).toEqual(value);
    }
  });
});

describe('proxies are named from a whole, well-formed Server or Via header', () => {
  const ex = (server?: string, body = '', status = 404): HttpExchange => ({
    url: 'https://acme.test/',
    address: '127.0.0.1',
    status,
    headers: server === undefined ? ({} as Record<string, string>) : { server },
    body,
    ms: 1,
  });

  it('serverProduct: the first product and its version, or nothing', () => {
    expect(serverProduct('nginx/1.22.1 (Ubuntu)')).toEqual({ name: 'nginx', version: '1.22.1' });
    expect(serverProduct('Caddy')).toEqual({ name: 'caddy' });
    expect(serverProduct('istio-envoy')).toEqual({ name: 'istio-envoy' });
    for (const bad of ['nginx<script>', 'nginx\x1b[2J', 'nginx\u202e', 'nginx (<b>)', '', 'a'.repeat(300)])
      expect(serverProduct(bad), JSON.stringify(bad)).toBeUndefined();
  });

  it('detectController: nginx, with and without its version; not from attacker text around the word', () => {
    expect(detectController([ex('nginx')])).toBe('ingress-nginx');
    expect(detectController([ex('nginx/1.22.1')])).toBe('nginx');
    expect(detectController([ex('envoy')])).toBe('contour');
    expect(detectController([ex('istio-envoy')])).toBe('istio');
    expect(detectController([ex('HAProxy')])).toBe('haproxy');
    for (const s of ['nginx<script>', 'nginx\x1b]0;pwned\x07', 'not-nginx', 'xenvoy', 'my traefik'])
      expect(detectController([ex(s)]), JSON.stringify(s)).toBeUndefined();
    // Error pages: the proxies' own, line by line, not a phrase anywhere in a body.
    const haproxy = '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n';
    expect(detectController([ex(undefined, haproxy)])).toBe('haproxy');
    expect(detectController([ex(undefined, 'see: No server is available to handle this request. ok')])).toBe(undefined);
  });

  it('isDefaultBackend: the proxies own 404 pages, whole', () => {
    expect(isDefaultBackend(ex('nginx', '<hr><center>nginx</center>'))).toBe(true);
    expect(isDefaultBackend(ex(undefined, 'default backend - 404'))).toBe(true);
    expect(isDefaultBackend(ex('envoy', ''))).toBe(true);
    expect(isDefaultBackend(ex('envoy<script>', ''))).toBe(false);
    expect(isDefaultBackend(ex(undefined, '<center>nginx<script>'))).toBe(false);
  });

  it('viaNames: a hop or its software, entry by entry', () => {
    expect(viaNames('1.1 varnish (Varnish/6.6)', 'varnish')).toBe(true);
    expect(viaNames('1.1 cache-1 (Varnish/7.4), 1.1 google', 'varnish')).toBe(true);
    expect(viaNames('1.1 evil (not varnish)', 'varnish')).toBe(false);
    expect(viaNames('1.1 varnish\x1b[2J', 'varnish')).toBe(false);
    expect(viaNames(undefined, 'varnish')).toBe(false);
  });
});

// ---------------------------------------------------------------- every edge, on one hostile run

const hostileResults: CheckResult[] = [
  {
    id: 'http.main',
    title: `Routing for acme.test ${HOSTILE}`,
    status: 'fail',
    code: 'HTTP_UNEXPECTED',
    message: `acme.test: GET / gave 200 ${HOSTILE} [click](https://evil.invalid/)`,
    host: `acme.test${HOSTILE}`,
    durationMs: 12,
    evidence: {
      exchanges: { '/': { status: 200, headers: { server: 'nginx<script>', 'x-e': HOSTILE }, body: HOSTILE } },
      host: HOSTILE,
      cutAfterS: 1,
    },
    remediation: `Look at ${HOSTILE}\nsecond line ${HOSTILE}`,
  },
  {
    id: 'tls.main',
    title: 'TLS',
    status: 'pass',
    message: `subject CN=${HOSTILE}`,
    host: 'acme.test',
    durationMs: 3,
    evidence: {
      host: HOSTILE,
      chain: [{ subject: `CN=${HOSTILE}`, sans: [HOSTILE], notAfter: '2030-01-01T00:00:00Z' }],
    },
  },
  {
    id: 'dns.main',
    title: 'DNS',
    status: 'warn',
    code: 'DNS_SLOW',
    message: `answer ${HOSTILE}`,
    durationMs: 3,
    evidence: { servers: [{ server: HOSTILE, source: 'system', outcome: 'answer', addresses: [HOSTILE] }] },
  },
];
const hostileRun = (): RunRecord => ({
  tool: 'nap-verify',
  version: '0.1.0',
  vantage: `laptop${HOSTILE}`,
  startedAt: new Date('2026-11-24T10:00:00Z'),
  finishedAt: new Date('2026-11-24T10:00:01.5Z'),
  target: buildTarget('acme.test'),
  options: { domain: 'acme.test', vantage: HOSTILE },
  resolvers: [HOSTILE],
  summary: summarize(hostileResults, false),
  results: hostileResults,
});

describe('every edge renders the hostile run inert', () => {
  it('Markdown: no raw control or HTML; the text shown escaped; the report’s own links kept', () => {
    const md = toMarkdown(hostileRun());
    expect(md).not.toMatch(RAW);
    expect(md).not.toMatch(/<script/i);
    expect(md).not.toMatch(/(?<!\\)\]\(https:\/\/evil/);
    expect(md).toContain(String.raw`\x1b\]0;pwned\x07\x1b\[2J`);
    // Evidence is a <pre> of entities: readable rendered, and the server's markup stays text.
    expect(md).toContain(`<pre>\nexchanges:\n  /:\n    status: 200\n    headers:\n      server: nginx&lt;script&gt;`);
    expect(md).toContain('([details](#check-http.main))');
    expect(md).toContain('| FAIL | [http.main](#check-http.main) |');
  });

  it('HTML: no raw control or HTML; the report’s own links kept', () => {
    const html = toHtml(hostileRun());
    expect(html).not.toMatch(RAW);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('(<a href="#check-http.main">details</a>)');
  });

  it('JUnit: parses as XML, no raw control, in text and attributes', () => {
    const xml = toJunit(hostileRun(), true);
    expect(xml).not.toMatch(RAW);
    xmllint(xml);
    expect(xml).toMatch(/<failure type="HTTP_UNEXPECTED" message="HTTP_UNEXPECTED: acme\.test: GET \/ gave 200 \\x1b/);
  });

  it('JSON: the raw values, whole; no raw character in its text', () => {
    const json = toJson(hostileRun());
    expect(json).not.toMatch(RAW);
    const doc = JSON.parse(json);
    expect(doc.checks[0].evidence.exchanges['/'].body).toBe(HOSTILE);
    expect(doc.checks[0].message).toBe(hostileResults[0]!.message);
  });

  it('compare: terminal text, Markdown and HTML inert; its JSON raw but escaped', () => {
    const doc = JSON.parse(toJson(hostileRun()));
    const cmp = compareRuns([
      { doc, source: `a${HOSTILE}.json` },
      { doc: { ...doc, vantage: `in-cluster${HOSTILE}` }, source: 'b.json' },
    ]);
    for (const [what, text] of [
      ['text', compareText(cmp, false)],
      ['text, colour', compareText(cmp, true).replace(/\x1b\[\d+m/g, '')],
      ['markdown', compareMarkdown(cmp)],
      ['html', compareHtml(cmp)],
      ['json', compareJson(cmp)],
    ] as const) {
      expect(text, what).not.toMatch(RAW);
      // Markup matters in the documents only: a terminal shows `<script>` as the text it is.
      if (what === 'markdown' || what === 'html') expect(text, what).not.toMatch(/<script/i);
    }
    expect(JSON.parse(compareJson(cmp)).vantages[0].name).toBe(`laptop${HOSTILE}`);
  });

  it('metrics: label values inert and escaped as the exposition format requires', () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(labelValue(`x\x1b[2J\u202e"`)).toBe(String.raw`x\\x1b[2J\\u202e\"`);
    const text = probeMetrics(hostileRun());
    expect(text).not.toMatch(RAW);
    expect(text).toContain(String.raw`nap_verify_cert_not_after_timestamp_seconds{host="\\x1b]0;pwned\\x07`);
    // Every sample line stays one line with balanced quotes: a dashboard reads the label it was given.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line, line).toMatch(/^[a-z_]+(\{([a-z]+="([^"\\]|\\.)*",?)+\})? [\d.e+-]+$|^[a-z_]+ NaN$/);
  });
});
