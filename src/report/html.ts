// The triage report as one HTML file: inline CSS, no JavaScript, readable printed, every status spelt out in
// text as well as colour.
import type { Status } from '../model.js';
import type { RunRecord } from './json.js';
import { inertHtml } from '../inert.js';
import { LINK, triageDocument, type Block } from './triage.js';

/** Text as HTML: every line inert and escaped (src/inert.ts), the lines joined by `join`. */
const esc = (t: string, join = '<br>') => t.split('\n').map(inertHtml).join(join);
/** Escaped text whose `[label](#anchor)` links (written by the report itself) become <a>. */
const withLinks = (t: string) => esc(t).replace(LINK, '<a href="#$2">$1</a>');
const idAttr = (id?: string) => (id ? ` id="${esc(id, ' ')}"` : '');

const CSS = `
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:1200px;margin:24px auto;
padding:0 20px;overflow-wrap:anywhere}
h1{font-size:22px;margin:0 0 12px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:18px 0 6px}
h3.st,h4{font-size:15px;margin:18px 0 4px;padding:4px 8px;border-left:6px solid var(--skip);background:var(--bg)}
.pass{border-color:var(--pass)}.fail{border-color:var(--fail)}.warn{border-color:var(--warn)}
p.verdict{font-size:16px;font-weight:600;padding:8px 12px;border-left:6px solid var(--skip);background:var(--bg)}
details{margin:4px 0;padding:2px 8px;border-left:6px solid var(--skip)}details>summary{cursor:pointer}
details.pass{border-color:var(--pass)}
table.summary :is(td,th):nth-child(-n+3){white-space:nowrap;overflow-wrap:normal;word-break:normal}
table.summary td:nth-child(4){min-width:9em}details[open]{background:#fff}a{color:#0969da}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere;
word-break:break-word}
td:first-child{white-space:nowrap}
th{background:var(--bg)}td.k{width:170px;font-weight:600;background:var(--bg)}
.badge{display:inline-block;min-width:44px;text-align:center;font-weight:700;font-size:12px;color:#fff;
border-radius:3px;padding:1px 4px}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.warn{background:var(--warn)}
.badge.skip{background:var(--skip)}
.fix{border:1px solid #54aeff;background:#ddf4ff;padding:6px 10px;margin:6px 0;border-radius:4px}
.fix ul{margin:4px 0;padding-left:20px}
pre{background:var(--bg);border:1px solid var(--line);padding:6px 8px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere}
@media print{body{margin:0;max-width:none}h3{break-after:avoid}table,pre,.fix{break-inside:avoid}
.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

const badge = (status: Status, label: string) => `<span class="badge ${status}">${esc(label)}</span>`;

function block(b: Block): string {
  switch (b.kind) {
    case 'h':
      if (b.status) {
        const [label, ...rest] = b.text.split(' ');
        return (
          `<h${b.level}${idAttr(b.id)} class="st ${b.status}">${badge(b.status, label!)} ` +
          `${esc(rest.join(' '))}</h${b.level}>`
        );
      }
      return `<h${b.level}${idAttr(b.id)}>${esc(b.text)}</h${b.level}>`;
    case 'p': {
      const verdict = /^Verdict: (\w+)/.exec(b.text)?.[1]?.toLowerCase();
      if (verdict) return `<p class="verdict ${verdict}">${esc(b.text)}</p>`;
      return `<p>${b.links ? withLinks(b.text) : esc(b.text)}</p>`;
    }
    case 'details': {
      const [label, ...rest] = b.summary.split(' ');
      return (
        `<details${idAttr(b.id)} class="${b.status}"><summary>${badge(b.status, label!)} ` +
        `${esc(rest.join(' '))}</summary>\n${b.blocks.map(block).join('\n')}\n</details>`
      );
    }
    case 'fix':
      return `<div class="fix"><strong>Fix</strong><ul>${b.text
        .split('\n')
        .map((l) => `<li>${esc(l)}</li>`)
        .join('')}</ul></div>`;
    case 'pre':
      return `<pre>${esc(b.text, '\n')}</pre>`;
    case 'table': {
      const keyValue = b.head.every((h) => h === '');
      const head = keyValue ? '' : `<thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
      const rows = b.rows.map((row, i) => {
        const st = b.status?.[i];
        const text = (c: string) => (b.links ? withLinks(c) : esc(c));
        const cells = row.map((c, j) =>
          j === 0 && st
            ? `<td>${badge(st, c)}</td>`
            : keyValue && j === 0
              ? `<td class="k">${esc(c)}</td>`
              : `<td>${text(c)}</td>`,
        );
        return `<tr>${cells.join('')}</tr>`;
      });
      return `<table${b.className ? ` class="${b.className}"` : ''}>${head}<tbody>${rows.join('')}</tbody></table>`;
    }
  }
}

/** One self-contained page in the report's look from any document (the triage report, `compare`). */
export function htmlPage(title: string, blocks: Block[]): string {
  const body = blocks.map(block).join('\n');
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" ` +
    `content="width=device-width, ` +
    `initial-scale=1">\n<title>${esc(title, ' ')}</title>\n<style>${CSS}</style></head>\n` +
    `<body>\n${body}\n</body></html>\n`
  );
}

export function toHtml(run: RunRecord): string {
  return htmlPage(`nap-verify: ${run.target.domain} — ${run.summary.status.toUpperCase()}`, triageDocument(run));
}
