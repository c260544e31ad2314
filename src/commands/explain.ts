// `nap-verify explain <check-id | CODE>`: what a check proves, why each code happens and the fix per ingress
// controller — read from the checks' own metadata, the same text the reports print.
import type { CheckDef, CodeMeta } from '../model.js';
import { UsageError } from '../options.js';
import { loadChecks } from '../registry.js';
import { CHECK_ERROR, CHECK_ERROR_META } from '../runner.js';
import { formatFix } from '../remediation.js';

/** `fail`, or `fail or warn` for a code whose milder case warns. */
const statusOf = (c: CodeMeta) => (c.alsoStatus ? `${c.status} or ${c.alsoStatus}` : c.status);

const indent = (text: string, by = '    ') =>
  text
    .split('\n')
    .map((l) => by + l)
    .join('\n');

function codeText(code: string, c: CodeMeta): string {
  const fix = indent(`fix: ${formatFix(c.fix)}`).replace(/\n {4}(?!fix)/g, '\n         ');
  return `  ${code} (${statusOf(c)})\n${indent(`why: ${c.why}`)}\n${fix}`;
}

function checkText(def: CheckDef): string {
  const m = def.meta;
  const codes = Object.entries(m.codes)
    .map(([code, c]) => codeText(code, c))
    .join('\n\n');
  return `${m.id} — ${m.title}\n\nProves: ${m.proves}\n\nCodes:\n${codes}\n`;
}

const AREA_NAMES: Record<string, string> = {
  config: 'configuration',
  env: 'this machine',
  dns: 'DNS',
  tls: 'TLS',
  http: 'HTTP routing',
  net: 'addresses',
  ws: 'WebSocket',
  sse: 'server-sent events',
  hold: 'long-lived streams',
  turn: 'TURN',
};

/** Every area, its checks and the codes each can give: where to start when you have no id yet. */
export async function explainAll(): Promise<string> {
  const defs = await loadChecks();
  const areas = [...new Set(defs.map((d) => d.meta.id.split('.')[0]!))];
  const out = [
    'Areas, their checks and codes. `nap-verify explain <id|area|CODE>` for what one means and its fix.',
    '',
  ];
  for (const area of areas) {
    const family = defs.filter((d) => d.meta.id.startsWith(`${area}.`));
    out.push(`${area} — ${AREA_NAMES[area] ?? area}`);
    // Role families share their codes: one entry per distinct code list, the ids that give it first.
    const groups = new Map<string, string[]>();
    for (const d of family) {
      const codes = Object.entries(d.meta.codes)
        .map(([c, m]) => (m.status === 'fail' && !m.alsoStatus ? c : `${c} (${statusOf(m)})`))
        .join(' ');
      groups.set(codes, [...(groups.get(codes) ?? []), d.meta.id]);
    }
    for (const [codes, ids] of groups) out.push(`  ${ids.join(' ')}`, `      ${codes || '(no codes: pass or skip)'}`);
    out.push('');
  }
  return out.join('\n');
}

export async function explain(term: string): Promise<string> {
  const defs = await loadChecks();
  const t = term.trim();
  const exact = defs.find((d) => d.meta.id === t);
  if (exact) return checkText(exact);
  const code = t.toUpperCase();
  const owners = defs.filter((d) => code in d.meta.codes);
  if (owners.length) {
    // One code may mean one thing for some checks and another for others (HOLD_CUT: a stream cut; a wait for the
    // first byte cut): each meaning once, with the checks that give it.
    const meanings = new Map<string, CheckDef[]>();
    for (const d of owners)
      meanings.set(d.meta.codes[code]!.why, [...(meanings.get(d.meta.codes[code]!.why) ?? []), d]);
    return [...meanings.values()]
      .map((group) => {
        const c = group[0]!.meta.codes[code]!;
        const ids = group.map((d) => d.meta.id);
        return (
          `${code} (${statusOf(c)}) — from ${ids.join(', ')}\n\nWhy: ` +
          `${c.why}\n\nFix:\n${indent(formatFix(c.fix), '  ')}\n\nThe check${ids.length > 1 ? 's' : ''}: ` +
          `${group[0]!.meta.proves}\n`
        );
      })
      .join('\n');
  }
  const { BROWSER_PAGE_CODES } = await import('../kit/browser-codes.js');
  const page = BROWSER_PAGE_CODES[code];
  if (code === CHECK_ERROR) {
    // The runner's code in a run, and the page's own on the browser-check page: both meanings, each with its fix.
    const run = CHECK_ERROR_META;
    const onPage = page
      ? `\n\nOn the browser-check page (${page.rows}): ${page.why}\n\nFix there:\n${indent(formatFix(page.fix), '  ')}`
      : '';
    return (
      `${code} (${run.status}) — from any check of a run\n\nWhy: ${run.why}\n\nFix:\n` +
      `${indent(formatFix(run.fix), '  ')}${onPage}\n`
    );
  }
  if (page)
    return (
      `${code} (${page.status}) — from the browser-check page (${page.rows})\n\nWhy: ` +
      `${page.why}\n\nFix:\n${indent(formatFix(page.fix), '  ')}\n`
    );
  const family = defs.filter((d) => d.meta.id.startsWith(`${t}.`));
  if (family.length)
    return (
      `${t}: ${family.length} ` +
      `checks\n\n${family.map((d) => `  ${d.meta.id.padEnd(18)} ${d.meta.title}`).join('\n')}\n\n\`nap-verify ` +
      `explain <id>\` for one of them.\n`
    );
  const ids = defs.map((d) => d.meta.id);
  throw new UsageError(`explain: no check or code "${term}" (ids: ${ids.join(', ')})`);
}
