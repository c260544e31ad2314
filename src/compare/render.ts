// The comparison as text (terminal), JSON, and a Markdown/HTML document in the triage report's look.
import pc from 'picocolors';
import { inert, inertJson } from '../inert.js';
import type { Status } from '../model.js';
import { htmlPage } from '../report/html.js';
import { blocksToMarkdown, STATUS_LABEL, type Block } from '../report/triage.js';
import { VERSION } from '../version.js';
import { worstStatus, type Cell, type Comparison } from './merge.js';

const SYMBOL: Record<Status, string> = { pass: '✔', fail: '✖', warn: '▲', skip: '○' };
const NOT_RUN = 'not run';

const cellText = (c: Cell | null) => (c ? `${STATUS_LABEL[c.status]}${c.code ? ` ${c.code}` : ''}` : NOT_RUN);
const where = (v: Comparison['vantages'][number]) => `${v.inside ? 'inside' : 'outside'}`;

/** The comparison for a terminal: every text read from the files (names, ids, codes, meanings) passes inert(). */
export function compareText(cmp: Comparison, color: boolean): string {
  const c = pc.createColors(color);
  const paint: Record<Status, (s: string) => string> = { pass: c.green, fail: c.red, warn: c.yellow, skip: c.dim };
  const name = (v: Comparison['vantages'][number]) => inert(v.name);
  const out: string[] = [
    `${c.bold('nap-verify compare')} ${VERSION}  ${c.bold(inert(cmp.domain ?? '(no domain)'))}`,
    '',
  ];
  const nameW = Math.max(...cmp.vantages.map((v) => name(v).length));
  for (const v of cmp.vantages) {
    const s = v.summary;
    out.push(
      `  ${name(v).padEnd(nameW)}  ${where(v).padEnd(7)}  ${inert(v.startedAt ?? 'time unknown')}  ` +
        `${s ? inert(`${s.pass} passed, ${s.fail} failed, ${s.warn} warnings, ${s.skip} skipped`) : ''}  ` +
        `${c.dim(inert(v.source))}`,
    );
  }
  out.push('');
  const idW = Math.max(5, ...cmp.checks.map((r) => inert(r.id).length));
  const colW = cmp.vantages.map((v) =>
    Math.max(name(v).length, ...cmp.checks.map((r) => inert(cellText(r.cells[v.name] ?? null)).length + 2)),
  );
  out.push(
    c.bold(`  ${'check'.padEnd(idW)}  ${cmp.vantages.map((v, i) => name(v).padEnd(colW[i]!)).join('  ')}  meaning`),
  );
  for (const row of cmp.checks) {
    const cells = cmp.vantages.map((v, i) => {
      const cell = row.cells[v.name] ?? null;
      const t = cell ? `${SYMBOL[cell.status]} ${inert(cellText(cell))}` : `– ${NOT_RUN}`;
      const padded = t.padEnd(colW[i]!);
      return cell ? paint[cell.status](padded) : c.dim(padded);
    });
    const meaning = row.verdict === 'same' ? c.dim(inert(row.meaning)) : inert(row.meaning);
    out.push(`  ${inert(row.id).padEnd(idW)}  ${cells.join('  ')}  ${meaning}`);
  }
  out.push('', c.bold('What the differences mean'), ...cmp.conclusions.map((l) => `  ${inert(l)}`), '');
  return out.join('\n');
}

export function compareJson(cmp: Comparison): string {
  const doc = {
    tool: 'nap-verify',
    version: VERSION,
    schema: 1,
    kind: 'compare',
    domain: cmp.domain,
    vantages: cmp.vantages,
    checks: cmp.checks,
    conclusions: cmp.conclusions,
  };
  return `${inertJson(JSON.stringify(doc, null, 2))}\n`;
}

function compareDocument(cmp: Comparison): Block[] {
  const blocks: Block[] = [
    { kind: 'h', level: 1, text: `nap-verify comparison: ${cmp.domain ?? '(no domain)'}` },
    {
      kind: 'table',
      head: ['vantage point', 'where', 'run', 'summary', 'file'],
      rows: cmp.vantages.map((v) => [
        v.name,
        where(v),
        v.startedAt ?? '—',
        v.summary
          ? `${v.summary.status.toUpperCase()}: ${v.summary.pass} passed, ${v.summary.fail} failed, ` +
            `${v.summary.warn} warnings, ${v.summary.skip} skipped`
          : '—',
        v.source,
      ]),
    },
    { kind: 'h', level: 2, text: 'What the differences mean' },
    ...cmp.conclusions.map((text): Block => ({ kind: 'p', text })),
    { kind: 'h', level: 2, text: 'Check by check' },
    {
      kind: 'table',
      head: ['worst', 'check', ...cmp.vantages.map((v) => `${v.name} (${where(v)})`), 'meaning'],
      rows: cmp.checks.map((r) => [
        STATUS_LABEL[worstStatus(r)],
        r.id,
        ...cmp.vantages.map((v) => cellText(r.cells[v.name] ?? null)),
        r.meaning,
      ]),
      status: cmp.checks.map(worstStatus),
    },
  ];
  const differing = cmp.checks.filter((r) => r.verdict !== 'same' && r.verdict !== 'no-evidence');
  if (differing.length) {
    blocks.push({ kind: 'h', level: 2, text: 'Messages where it did not simply work' });
    for (const r of differing) {
      blocks.push({
        kind: 'h',
        level: 3,
        text: `${STATUS_LABEL[worstStatus(r)]} ${r.id} — ${r.title}`,
        status: worstStatus(r),
      });
      blocks.push({ kind: 'p', text: r.meaning });
      blocks.push({
        kind: 'table',
        head: ['vantage point', 'status', 'message'],
        rows: cmp.vantages.map((v) => {
          const cell = r.cells[v.name] ?? null;
          return [
            v.name,
            cellText(cell),
            cell
              ? `${cell.message}${cell.host ? ` (host ${cell.host})` : ''}`
              : 'this vantage point did not run this check',
          ];
        }),
      });
    }
  }
  return blocks;
}

export const compareMarkdown = (cmp: Comparison) => blocksToMarkdown(compareDocument(cmp));
export const compareHtml = (cmp: Comparison) =>
  htmlPage(`nap-verify comparison: ${cmp.domain ?? ''}`, compareDocument(cmp));
