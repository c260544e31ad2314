// The documentation stays true to the tool: docs/checks.md's reference part is what scripts/docs-checks.mjs renders
// from the checks' metadata (the text `nap-verify explain` prints), every check id and code is documented, every
// relative link in README.md and docs/*.md leads to a file (and a heading) that exists, and the README stays a short
// guide with its two set-up commands as they are.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_PAGE_CODES } from '../src/kit/browser-codes.js';
import { LINT_RULES } from '../src/kit/lint.js';
import type { CheckDef } from '../src/model.js';
import { loadChecks } from '../src/registry.js';
import { formatFix } from '../src/remediation.js';
import { CHECK_ERROR_META } from '../src/runner.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');
const DOCS = ['README.md', ...readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })]
  .map((f) => (f === 'README.md' ? f : path.join('docs', f)))
  .filter((f) => f.endsWith('.md'))
  .sort();

const RUN = 'npm ci && npx nap-verify --domain acme.com';
const TEST = 'npm ci && NAP_PLATFORM_SRC=/path/to/agent-platform npm test';
const REGENERATE = 'node scripts/docs-checks.mjs';

/** The generator, plain JavaScript so that it runs without a build (a variable path: no types to resolve). */
interface DocsChecks {
  BEGIN: string;
  END: string;
  render(src: {
    defs: CheckDef[];
    formatFix: typeof formatFix;
    checkError: typeof CHECK_ERROR_META;
    pageCodes: typeof BROWSER_PAGE_CODES;
    lintRules: typeof LINT_RULES;
  }): string;
  generatedPart(doc: string): string | undefined;
}
const GENERATOR = new URL('../scripts/docs-checks.mjs', import.meta.url).href;

/** Markdown with its fenced code blocks blanked (a `# comment` there is no heading, `[x](y)` no link), lines kept. */
const prose = (text: string) =>
  text.replace(/^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ''));

/** GitHub's anchor for a heading: the rendered text, lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\\(.)/g, '$1')
    .replace(/[`*]/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown file offers: its headings' slugs, repeats numbered as GitHub numbers them. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(text).matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

const anchorCache = new Map<string, Set<string>>();
const anchorsOf = (file: string) => {
  const known = anchorCache.get(file) ?? anchors(read(file));
  anchorCache.set(file, known);
  return known;
};

/** Inline links and images outside code: [text](target) and ![alt](target). */
function links(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  const lines = prose(text).split('\n');
  lines.forEach((l, i) => {
    const outsideCode = l.replace(/`[^`]*`/g, '');
    for (const m of outsideCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ line: i + 1, target: m[1]! });
  });
  return out;
}

/** What is wrong with one relative link from `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:: not ours to check here
  const [rawPath, hash] = target.split('#') as [string, string | undefined];
  const targetFile = rawPath ? path.join(path.dirname(file), decodeURIComponent(rawPath)) : file;
  if (path.relative(root, path.join(root, targetFile)).startsWith('..')) return 'points outside the repository';
  if (!existsSync(path.join(root, targetFile))) return `no such file: ${targetFile}`;
  if (hash === undefined) return undefined;
  if (!targetFile.endsWith('.md') || statSync(path.join(root, targetFile)).isDirectory())
    return `an anchor into ${targetFile}, which is not Markdown`;
  if (!anchorsOf(targetFile).has(decodeURIComponent(hash)))
    return `no heading #${hash} in ${targetFile} (GitHub's slug of the heading text)`;
  return undefined;
}

describe('documentation', () => {
  let defs: CheckDef[];
  let gen: DocsChecks;
  beforeAll(async () => {
    defs = await loadChecks();
    gen = (await import(GENERATOR)) as DocsChecks;
  });

  it('docs/checks.md holds exactly what scripts/docs-checks.mjs renders from the checks', () => {
    const doc = read('docs/checks.md');
    const part = gen.generatedPart(doc);
    expect(part, `docs/checks.md lacks the markers of its generated part; run ${REGENERATE}`).toBeDefined();
    const want = gen.render({
      defs,
      formatFix,
      checkError: CHECK_ERROR_META,
      pageCodes: BROWSER_PAGE_CODES,
      lintRules: LINT_RULES,
    });
    expect(part, `docs/checks.md is out of date with the checks' metadata: run ${REGENERATE}`).toBe(want);
  });

  it('the script agrees when a developer runs it (--check, from the TypeScript sources)', () => {
    const out = execFileSync(process.execPath, ['scripts/docs-checks.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/up to date/);
  });

  it('names every check id and every code, each under its own heading in docs/checks.md', () => {
    const checks = anchors(read('docs/checks.md'));
    const all = DOCS.map(read).join('\n');
    const missing: string[] = [];
    for (const d of defs) {
      if (!checks.has(slug(d.meta.id))) missing.push(`check ${d.meta.id}: no heading in docs/checks.md`);
      for (const code of Object.keys(d.meta.codes))
        if (!checks.has(slug(code))) missing.push(`code ${code} (${d.meta.id}): no heading in docs/checks.md`);
    }
    if (!checks.has(slug('CHECK_ERROR'))) missing.push('code CHECK_ERROR: no heading in docs/checks.md');
    for (const code of [...Object.keys(BROWSER_PAGE_CODES), ...Object.keys(LINT_RULES)])
      if (!all.includes(code)) missing.push(`code ${code}: named nowhere in README.md or docs/`);
    expect(missing, `run ${REGENERATE}, or document these`).toEqual([]);
  });

  it('every relative link in README.md and docs/*.md resolves, anchors included', () => {
    expect(DOCS).toContain('docs/checks.md');
    const broken: string[] = [];
    let count = 0;
    for (const file of DOCS)
      for (const { line, target } of links(read(file))) {
        count++;
        const why = brokenLink(file, target);
        if (why) broken.push(`${file}:${line}: (${target}) ${why}`);
      }
    expect(broken).toEqual([]);
    expect(count).toBeGreaterThan(50); // the links were found at all
  });

  it('finds a broken link and a missing anchor (the checker itself)', () => {
    expect(brokenLink('README.md', 'docs/nope.md')).toMatch(/no such file: docs\/nope\.md/);
    expect(brokenLink('README.md', 'docs/checks.md#no-such-heading')).toMatch(/no heading #no-such-heading/);
    expect(brokenLink('docs/checks.md', '#tlsmain')).toBeUndefined();
    expect(brokenLink('docs/checks.md', '../schema/result-1.json')).toBeUndefined();
    expect(slug('`kit lint`: the *rules* — [all](x.md) of them')).toBe('kit-lint-the-rules--all-of-them');
    expect([...anchors('# A\n```sh\n# not a heading\n```\n## A\n')]).toEqual(['a', 'a-1']);
  });

  it('README.md is a guide of at most 250 lines with the two set-up commands, exactly', () => {
    const readme = read('README.md');
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    expect(lines, 'README.md is a user guide: move reference material to docs/').toBeLessThanOrEqual(250);
    const setUp = /^## Set up\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
    expect(setUp, 'README.md has a "## Set up" section').toBeDefined();
    for (const cmd of [RUN, TEST]) expect(setUp!.split('\n'), `"${cmd}" as a line of "## Set up"`).toContain(cmd);
    expect(setUp).toMatch(/Node ≥ 20\.18\.1/);
    expect(setUp).toMatch(/engines/);
    expect(setUp).toMatch(/NAP_PLATFORM_SRC/);
    expect(readme, 'the product docs stand alone').not.toMatch(/\.\.\/shared/);
  });

  it('the product docs name no folder outside the product', () => {
    const outside = DOCS.filter((f) => /\.\.\/shared\b/.test(read(f)));
    expect(outside).toEqual([]);
  });
});
