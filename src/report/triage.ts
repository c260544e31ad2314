/* biome-ignore-all lint/suspicious/noExplicitAny: renders or reads documents from outside (result JSON, manifests);
   every access is guarded */
// The support triage report: one document model (headings, paragraphs, tables, notes) built from the run, then
// written as Markdown or as one self-contained HTML page. Built only from results and shown options, which
// carry no secrets.
import os from 'node:os';
import { inertHtml, inertMarkdown } from '../inert.js';
import { areaOf, type CheckResult, type Status } from '../model.js';
import type { RunRecord } from './json.js';
import { summaryLine } from './summary.js';
import { notTestedLines } from './not-tested.js';
import { AREA_TITLE, evidenceTree } from './text.js';

export type Block =
  | { kind: 'h'; level: 1 | 2 | 3 | 4; text: string; status?: Status; id?: string }
  | { kind: 'p'; text: string; links?: boolean }
  | { kind: 'fix'; text: string }
  | {
      kind: 'table';
      head: string[];
      rows: string[][];
      status?: Array<Status | undefined>;
      links?: boolean;
      className?: string;
    }
  | { kind: 'pre'; text: string }
  /** A passing (or skipped) check, folded: its line as the summary, its details inside. */
  | { kind: 'details'; id: string; status: Status; summary: string; blocks: Block[] };

export const STATUS_LABEL: Record<Status, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

/** The anchor of a check's details: `#check-tls.main`. */
export const anchorOf = (id: string) => `check-${id}`;
/** An in-document link, written `[label](#anchor)` in blocks marked `links` (the HTML writer turns it into <a>). */
const link = (label: string, id: string) => `[${label}](#${anchorOf(id)})`;

/** Evidence beyond this many lines is left to the JSON report: the report shows what a person reads. */
const EVIDENCE_LINES = 24;
const EVIDENCE_LINE_CHARS = 200;

const s = (v: unknown) => (v === undefined || v === null || v === '' ? '—' : String(v));
const secs = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '—');

function clientAddress(results: CheckResult[]): string {
  for (const id of ['turn.udp', 'turn.tcp']) {
    const m = results.find((r) => r.id === id)?.evidence.mapped as { address?: string; port?: number } | undefined;
    if (m?.address) return `${m.address} (as the TURN server saw it over ${id.slice(5).toUpperCase()})`;
  }
  return 'unknown (TURN not reached)';
}

function dnsBlocks(ev: Record<string, any>): Block[] {
  const rows: string[][] = [];
  if (ev.os)
    rows.push([
      'this machine (getaddrinfo)',
      s(ev.os.outcome),
      '—',
      (ev.os.addresses ?? []).join(', ') || '—',
      '—',
      s(ev.os.error),
    ]);
  for (const v of ev.servers ?? []) {
    rows.push([
      `${v.server} (${v.source})`,
      s(v.outcome),
      (v.answers ?? []).map((a: any) => `${a.qtype} ${a.rcode ?? a.outcome}`).join(', '),
      (v.addresses ?? []).join(', ') || '—',
      (v.cnames ?? []).join(' → ') || '—',
      (v.answers ?? [])
        .map((a: any) => a.error)
        .filter(Boolean)
        .join('; ') || '—',
    ]);
  }
  return rows.length
    ? [{ kind: 'table', head: ['asked', 'outcome', 'rcodes', 'addresses', 'CNAME chain', 'error'], rows }]
    : [];
}

function tlsBlocks(ev: Record<string, any>): Block[] {
  const session = ev.failure
    ? `${ev.failure.stage} failed (${ev.failure.kind}): ${ev.failure.error}`
    : `${s(ev.protocol)}, ${s(ev.cipher)}`;
  const anchor = ev.analysis?.anchor ? ` (anchor ${ev.analysis.anchor}, ${ev.analysis.anchorSource})` : '';
  const missingIssuer = ev.analysis?.missingIssuer ? `; missing issuer ${ev.analysis.missingIssuer}` : '';
  const out: Block[] = [
    {
      kind: 'p',
      text:
        `Connected to ${s(ev.address)}:${s(ev.port)} with SNI ${s(ev.host)}: ` +
        `${session}. Trust: ${s(ev.analysis?.trust)}${anchor}${missingIssuer}.`,
    },
  ];
  const chain = (ev.chain ?? []) as Array<Record<string, any>>;
  if (chain.length) {
    out.push({
      kind: 'table',
      head: ['#', 'subject', 'SANs', 'issuer', 'not before', 'not after', 'SHA-256 fingerprint'],
      rows: chain.map((c, i) => [
        String(i),
        s(c.subject),
        (c.sans ?? []).join(', ') || '—',
        s(c.issuer),
        s(c.notBefore).slice(0, 10),
        s(c.notAfter).slice(0, 10),
        s(c.fingerprint256),
      ]),
    });
  }
  return out;
}

function holdBlocks(ev: Record<string, any>): Block[] {
  if (!ev.silent) return [];
  const howEnded = (end: Record<string, any> | undefined) => {
    const code = end?.code ? ` ${end.code}` : '';
    const status = end?.status ? ` ${end.status}` : '';
    const detail = end?.detail ? `: ${end.detail}` : '';
    return `${s(end?.how)}${code}${status}${detail}`;
  };
  const row = (name: string, t: Record<string, any>) => [
    name,
    secs(t.openedAt),
    secs(t.lastByteAt),
    secs(t.endedAt),
    t.end?.how === 'survived' ? 'still open after the hold' : howEnded(t.end),
  ];
  const out: Block[] = [
    {
      kind: 'table',
      head: ['stream', 'opened', 'last byte', 'ended', 'how'],
      rows: [row('silent', ev.silent), ...(ev.keepalive ? [row('keep-alive twin', ev.keepalive)] : [])],
    },
  ];
  if (ev.cutAfterS !== undefined)
    out.push({
      kind: 'p',
      text: `Cut ${ev.cutAfterS} s after the last byte, at age ${ev.ageS} s; limit: ${ev.limit}; likely ${ev.culprit}.`,
    });
  return out;
}

function genericBlocks(ev: Record<string, unknown>): Block[] {
  const all = evidenceTree(ev).map((l) => (l.length > EVIDENCE_LINE_CHARS ? `${l.slice(0, EVIDENCE_LINE_CHARS)}…` : l));
  if (!all.length) return [];
  const lines =
    all.length > EVIDENCE_LINES
      ? [...all.slice(0, EVIDENCE_LINES), `… ${all.length - EVIDENCE_LINES} more lines in the JSON report (--json)`]
      : all;
  return [{ kind: 'pre', text: lines.join('\n') }];
}

/** The ingress controller the checks recognised most often, or a plain statement that none was. */
function detectedController(results: CheckResult[]): string {
  const seen = new Map<string, number>();
  for (const r of results) {
    const c = r.evidence.controller;
    if (typeof c === 'string') seen.set(c, (seen.get(c) ?? 0) + 1);
  }
  const best = [...seen].sort((a, b) => b[1] - a[1])[0];
  return best
    ? `${best[0]} (from its Server header, error pages or fallback certificate)`
    : 'not recognised (fixes are given for every controller)';
}

function evidenceBlocks(r: CheckResult): Block[] {
  const ev = r.evidence as Record<string, any>;
  const area = areaOf(r.id);
  if (area === 'dns' && r.id !== 'dns.consistent' && (ev.os || ev.servers)) return dnsBlocks(ev);
  if (area === 'tls' && ev.chain) return tlsBlocks(ev);
  if (area === 'hold' && ev.silent) return holdBlocks(ev);
  return genericBlocks(ev);
}

/** Tool and machine: this process's for a fresh run; the recorded ones for a result read back (a browser's page). */
function recordedOn(run: RunRecord): string[][] {
  const env = run.environment;
  if (!env)
    return [
      ['Tool', `nap-verify ${run.version}, Node ${process.version}`],
      ['Machine', `${os.type()} ${os.release()} ${os.arch()}`],
    ];
  const str = (k: string) => (typeof env[k] === 'string' ? (env[k] as string) : undefined);
  const runtime = str('browser') ? `, in ${str('browser')}` : str('node') ? `, Node ${str('node')}` : '';
  return [
    ['Tool', `nap-verify ${run.version}${runtime}`],
    [
      'Machine',
      [str('platform'), str('userAgent'), str('timeZone') && `time zone ${str('timeZone')}`]
        .filter(Boolean)
        .join(', ') || 'unknown',
    ],
  ];
}

export function triageDocument(run: RunRecord): Block[] {
  const o = run.options as Record<string, unknown>;
  const r = run.results;
  const strict = o.strict === true;
  const fails = r.filter((x) => x.status === 'fail' || (strict && x.status === 'warn'));
  const warns = strict ? [] : r.filter((x) => x.status === 'warn');
  const problems = [...fails, ...warns];
  const failed = fails.length ? `${fails.length} failed` : '';
  const warned = warns.length ? `${warns.length} warning${warns.length === 1 ? '' : 's'}` : '';
  const verdict =
    run.summary.status === 'interrupted'
      ? 'INTERRUPTED: unfinished checks are marked skip'
      : problems.length
        ? `${run.summary.status.toUpperCase()}: ${failed}${failed && warned ? ', ' : ''}${warned} — see Problems below`
        : 'PASS: every check that ran passed';
  const blocks: Block[] = [
    { kind: 'h', level: 1, text: `nap-verify triage report: ${run.target.domain}` },
    { kind: 'p', text: `Verdict: ${verdict}. ${summaryLine(run.summary)}.` },
    {
      kind: 'table',
      head: ['', ''],
      rows: [
        ['Domain', run.target.domain],
        ['Ingress controller', detectedController(r)],
        // --vantage defaults to the host name: only a name given on purpose is called a vantage label.
        [
          'Vantage',
          run.vantage === 'browser'
            ? "browser (the end user's browser-check page: what their browser saw from their network)"
            : `${run.vantage ?? os.hostname()} ` +
              `(${run.vantage && run.vantage !== os.hostname() ? '--vantage' : "this run's machine"}; a check ` +
              `that passes here may still fail elsewhere: \`nap-verify compare\` merges runs from several places)`,
        ],
        [
          'Mode',
          o.mode === 'nodeport' ? 'NodePort (plain HTTP on the node ports)' : 'external ingress (TLS, five names)',
        ],
        [
          'Hosts',
          Object.entries(run.target.hosts)
            .map(([role, h]) => `${role}: ${h}`)
            .join(', '),
        ],
        [
          'Connected to',
          run.target.ingressIp
            ? `${run.target.ingressIp} (--ingress-ip)`
            : `the addresses DNS gave ${run.vantage === 'browser' ? 'the browser' : 'this machine'}`,
        ],
        ['TURN server', run.target.turn ? `${run.target.turn.host}:${run.target.turn.port}` : '—'],
        [
          'Run',
          `${run.startedAt.toISOString()} → ${run.finishedAt.toISOString()} ` +
            `(${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1)} s)`,
        ],
        ...recordedOn(run),
        ['Resolvers', run.resolvers.join(', ') || 'none found'],
        ['Client public address', clientAddress(r)],
        [
          'Options',
          Object.entries(o)
            .filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && !v.length))
            .map(
              ([k, v]) =>
                `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
            )
            .join(' '),
        ],
      ],
    },
  ];

  blocks.push({ kind: 'h', level: 2, text: 'Problems', id: 'problems' });
  if (!problems.length) blocks.push({ kind: 'p', text: 'None: no check failed or warned.' });
  // One fix for five hosts is printed once; the others point back to it.
  const firstWithFix = new Map<string, CheckResult>();
  problems.forEach((x, i) => {
    const status: Status = fails.includes(x) ? 'fail' : 'warn';
    blocks.push({
      kind: 'h',
      level: 3,
      text: `${STATUS_LABEL[status]} ${i + 1}. ${x.id}${x.host ? ` — ${x.host}` : ''}`,
      status,
      id: `problem-${x.id}`,
    });
    blocks.push({
      kind: 'p',
      text: `${x.code ? `${x.code}: ` : ''}${x.message} (${link('details', x.id)})`,
      links: true,
    });
    if (x.remediation) {
      const first = firstWithFix.get(x.remediation);
      if (first)
        blocks.push({ kind: 'p', text: `Fix: the same as for ${link(first.id, first.id)} above.`, links: true });
      else {
        firstWithFix.set(x.remediation, x);
        blocks.push({ kind: 'fix', text: x.remediation });
      }
    }
  });
  const notTested = notTestedLines(r, run.target.domain);
  if (notTested.length) {
    blocks.push({ kind: 'h', level: 2, text: 'Not tested', id: 'not-tested' });
    blocks.push({ kind: 'p', text: notTested[0]! });
    if (notTested.length > 1) blocks.push({ kind: 'fix', text: notTested.slice(1).join('\n') });
  }

  blocks.push({ kind: 'h', level: 2, text: 'Summary', id: 'summary' });
  blocks.push({
    kind: 'table',
    head: ['status', 'check', 'code', 'host', 'message'],
    rows: r.map((x) => [STATUS_LABEL[x.status], link(x.id, x.id), x.code ?? '', x.host ?? '', x.message]),
    status: r.map((x) => x.status),
    links: true,
    className: 'summary',
  });

  blocks.push({ kind: 'h', level: 2, text: 'Details', id: 'details' });
  for (const area of [...new Set(r.map((x) => areaOf(x.id)))]) {
    blocks.push({ kind: 'h', level: 3, text: AREA_TITLE[area] ?? area });
    for (const x of r.filter((y) => areaOf(y.id) === area)) {
      const timing = x.host ? ` (host ${x.host}, ${x.durationMs} ms)` : ` (${x.durationMs} ms)`;
      const inner: Block[] = [{ kind: 'p', text: `${x.code ? `${x.code}: ` : ''}${x.message}${timing}` }];
      if (x.remediation) {
        // Problems carry their fix at the top already; details point there instead of repeating it.
        const first = firstWithFix.get(x.remediation);
        if (problems.includes(x))
          inner.push({ kind: 'p', text: `Fix: under [Problems](#problem-${x.id}).`, links: true });
        else
          inner.push(
            first
              ? { kind: 'p', text: `Fix: the same as for ${link(first.id, first.id)}.`, links: true }
              : { kind: 'fix', text: x.remediation },
          );
      }
      inner.push(...evidenceBlocks(x));
      if (problems.includes(x)) {
        const status: Status = fails.includes(x) ? 'fail' : 'warn';
        blocks.push(
          { kind: 'h', level: 4, text: `${STATUS_LABEL[status]} ${x.id} — ${x.title}`, status, id: anchorOf(x.id) },
          ...inner,
        );
      } else {
        // Passing and skipped checks fold away: their one line says enough unless someone opens them.
        blocks.push({
          kind: 'details',
          id: anchorOf(x.id),
          status: x.status,
          summary: `${STATUS_LABEL[x.status]} ${x.id} — ${x.title}: ${x.message}`,
          blocks: inner.slice(1),
        });
      }
    }
  }
  return blocks;
}

/** The report's own in-document links, `[label](#anchor)`, in blocks marked `links`. */
export const LINK = /\[([^\]]+)\]\(#([\w.-]+)\)/g;

/** One line as Markdown: inert and escaped, the report's own links (where the block has them) kept as links. */
function mdLine(line: string, links: boolean): string {
  if (!links) return inertMarkdown(line);
  let out = '';
  let at = 0;
  for (const m of line.matchAll(LINK)) {
    out += `${inertMarkdown(line.slice(at, m.index))}[${inertMarkdown(m[1]!)}](#${m[2]})`;
    at = m.index + m[0].length;
  }
  return out + inertMarkdown(line.slice(at));
}
/** Text as Markdown inline content: its lines joined by `<br>` (a table cell, a paragraph) or by `join`. */
const mdText = (t: string, links = false, join = '<br>') =>
  t
    .split('\n')
    .map((l) => mdLine(l, links))
    .join(join);
/** Text inside HTML written into the Markdown (a summary, an id, evidence in <pre>): entities, no Markdown. */
const mdHtml = (t: string, join = ' ') => t.split('\n').map(inertHtml).join(join);

function mdBlock(b: Block): string {
  switch (b.kind) {
    case 'h':
      return `${b.id ? `<a id="${mdHtml(b.id)}"></a>\n\n` : ''}${'#'.repeat(b.level)} ${mdText(b.text, false, ' ')}\n`;
    case 'p': {
      const text = mdText(b.text, !!b.links);
      return /^Verdict: /.test(b.text) ? `**${text}**\n` : `${text}\n`;
    }
    case 'fix':
      return `**Fix:**\n\n${b.text
        .split('\n')
        .map((l) => `- ${mdLine(l, false)}`)
        .join('\n')}\n`;
    case 'pre':
      // Evidence is the server's own text: HTML's <pre> with entities, where a code fence would keep its markup raw.
      return `<pre>\n${mdHtml(b.text, '\n')}\n</pre>\n`;
    case 'table': {
      const head = `| ${b.head.map((c) => mdText(c)).join(' | ')} |`;
      const rule = `|${b.head.map(() => '---').join('|')}|`;
      const rows = b.rows.map((row) => `| ${row.map((c) => mdText(c, !!b.links)).join(' | ')} |`);
      return `${[head, rule, ...rows].join('\n')}\n`;
    }
    case 'details': {
      // GitHub and most viewers render <details>; the blank lines let the Markdown inside render too.
      const inside = b.blocks.map(mdBlock).join('\n');
      const summary = `<details><summary>${mdHtml(b.summary)}</summary>`;
      return `<a id="${mdHtml(b.id)}"></a>\n${summary}\n\n${inside}\n</details>\n`;
    }
  }
}

export function toMarkdown(run: RunRecord): string {
  return blocksToMarkdown(triageDocument(run));
}

/** Any document in the report's Markdown form (the triage report, `compare`). */
export function blocksToMarkdown(blocks: Block[]): string {
  return blocks.map(mdBlock).join('\n');
}
