// The terminal report: one line per check (symbol, id, host, duration, message), the fix under each non-pass line,
// wrapped to the terminal's width with a hanging indent. `check` streams the lines as checks finish
// (TextRenderer.block per result); kit lint prints them grouped by area at the end (toText).
import pc from 'picocolors';
import { inert } from '../inert.js';
import { areaOf, type CheckResult, type Status } from '../model.js';
import { type CauseItem, causeLines, mergedFix, type TextItem, textItems, type UpstreamOf } from './group.js';
import type { RunRecord } from './json.js';
import { notTested, wrapCommand } from './not-tested.js';
import { summaryLine } from './summary.js';

export interface TextOptions {
  color: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Columns to wrap at: the terminal's width, 100 off a TTY. */
  width?: number;
  /** --strict: warnings count and show as failures. */
  strict?: boolean;
  /** One cause once (src/report/group.ts) instead of one block per result under area titles. */
  grouped?: boolean;
}

/** Plain output (a pipe, a CI log) wraps here: wide enough for a fix line, narrow enough for a log viewer. */
export const PIPE_WIDTH = 100;

const SYMBOL: Record<Status, string> = { pass: '✔', fail: '✖', warn: '▲', skip: '○' };
/** Each area's heading, shared by the terminal text and the triage report. */
export const AREA_TITLE: Record<string, string> = {
  config: 'Configuration',
  env: 'Environment',
  dns: 'DNS',
  tls: 'TLS',
  http: 'HTTP routing',
  net: 'Addresses',
  ws: 'WebSocket',
  sse: 'Server-sent events',
  hold: 'Long-lived streams',
  turn: 'TURN',
  lint: 'Ingress manifests',
};

/**
 * `12 ms` below a second, `75.1 s` above: a duration a person reads at a glance. Rounded first, so 999.6 ms is
 * `1.0 s`, never `1000 ms`.
 */
export function formatDuration(ms: number): string {
  return Math.round(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Words of `text` laid into lines: the first `first` columns wide, the others `rest` wide (the caller indents them).
 * A word longer than a line (a URL, a fingerprint) is cut where the line ends rather than overflowing it.
 */
export function wrapWords(text: string, first: number, rest: number): string[] {
  const lines: string[] = [];
  let line = '';
  let room = Math.max(10, first);
  const flush = () => {
    lines.push(line);
    line = '';
    room = Math.max(10, rest);
  };
  for (const word of text.split(/ +/)) {
    let w = word;
    if (line && line.length + 1 + w.length > room) flush();
    while (w.length > room) {
      const cut = room - line.length - (line ? 1 : 0);
      if (cut < 8 && line) {
        flush();
        continue;
      }
      line += (line ? ' ' : '') + w.slice(0, cut);
      w = w.slice(cut);
      flush();
    }
    if (w) line += (line ? ' ' : '') + w;
  }
  lines.push(line);
  return lines;
}

/** Renders results one at a time, remembering which fixes it already printed (five hosts, one fix). */
export class TextRenderer {
  private readonly c;
  private readonly paint: Record<Status, (s: string) => string>;
  private readonly printedFixes = new Map<string, string>();
  private readonly width: number;
  private readonly idW: number;
  private readonly hostW: number;
  /** Wide enough for a host column; narrower terminals put the host at the start of the message. */
  private readonly hostColumn: boolean;

  constructor(
    private readonly o: TextOptions,
    ids: string[],
    hosts: string[],
  ) {
    this.c = pc.createColors(o.color);
    this.paint = { pass: this.c.green, fail: this.c.red, warn: this.c.yellow, skip: this.c.dim };
    this.width = Math.max(40, o.width ?? PIPE_WIDTH);
    this.idW = Math.min(24, Math.max(0, ...ids.map((id) => id.length)));
    this.hostW = Math.min(40, Math.max(0, ...hosts.map((h) => h.length)));
    this.hostColumn = this.width >= 4 + this.idW + 2 + this.hostW + 2 + 7 + 2 + 50;
  }

  /** Whether a result is printed at all: -q shows only what fails the run. */
  shows(r: CheckResult): boolean {
    return !this.o.quiet || this.failsRun(r);
  }

  private failsRun(r: CheckResult) {
    return r.status === 'fail' || (!!this.o.strict && r.status === 'warn');
  }

  header(run: Pick<RunRecord, 'version' | 'target' | 'headline'>): string[] {
    if (this.o.quiet) return [];
    const c = this.c;
    const via = run.headline ?? (run.target.ingressIp ? `ingress ${run.target.ingressIp}` : 'addresses from DNS');
    return [`${c.bold('nap-verify')} ${run.version}  ${c.bold(run.target.domain)}  ${c.dim(`(${via})`)}`, ''];
  }

  areaTitle(area: string): string {
    return this.c.bold(AREA_TITLE[area] ?? area);
  }

  /** The lines of one result: the check line, its fix, and with -v its evidence. */
  block(raw: CheckResult, showDuration = true): string[] {
    const { c } = this;
    const r = inertResult(raw);
    const status: Status = this.o.strict && r.status === 'warn' ? 'fail' : r.status;
    const paint = this.paint[status];
    const dur = r.status === 'skip' || !showDuration ? '' : formatDuration(r.durationMs);
    const host = r.host ?? '';
    // No duration column where durations mean nothing (kit lint reads files).
    const durCol = showDuration ? `${dur.padStart(7)}  ` : '';
    const headPlain =
      `  ${SYMBOL[status]} ${r.id.padEnd(this.idW)}  ` +
      `${this.hostColumn ? `${host.padEnd(this.hostW)}  ` : ''}${durCol}`;
    const head =
      `  ${paint(SYMBOL[status])} ${r.id.padEnd(this.idW)}  ` +
      `${this.hostColumn ? `${host.padEnd(this.hostW)}  ` : ''}${c.dim(durCol)}`;
    const prefix = !this.hostColumn && host && !r.message.includes(host) ? `${host}: ` : '';
    const text = `${r.code ? `${r.code} ` : ''}${prefix}${r.message}`;
    const indent = headPlain.length <= this.width / 2 ? headPlain.length : 6;
    const lines =
      indent === headPlain.length
        ? wrapWords(text, this.width - headPlain.length, this.width - indent)
        : ['', ...wrapWords(text, this.width - indent, this.width - indent)];
    const out = lines.map((l, i) => {
      let shown = l;
      if (i === 0 || (indent !== headPlain.length && i === 1)) {
        shown = r.code && l.startsWith(r.code) ? paint(r.code) + l.slice(r.code.length) : l;
      }
      if (r.status === 'skip') shown = c.dim(l);
      return i === 0
        ? head.trimEnd() + (l ? ' '.repeat(head.length - head.trimEnd().length) + shown : '')
        : ' '.repeat(indent) + shown;
    });
    if (r.remediation && r.status !== 'skip') out.push(...this.fixLines(r));
    if (this.o.verbose) out.push(...evidenceTree(raw.evidence).map((l) => c.dim(`      ${inert(l)}`)));
    return out;
  }

  /**
   * A batch of results laid out one cause once (src/report/group.ts): several checks failing with one code print
   * as one finding naming each host, with one fix; the checks that could not run because of a finding fold into
   * one line under it. `all` is every result so far, `upstreamOf` what each check read.
   */
  items(batch: readonly CheckResult[], all: ReadonlyMap<string, CheckResult>, upstreamOf: UpstreamOf): string[] {
    // Sanitised first: grouping compares and splices the text a server may have shaped.
    const clean = batch.filter((r) => this.shows(r)).map(inertResult);
    const cleanAll = new Map([...all].map(([id, r]) => [id, inertResult(r)]));
    for (const r of clean) cleanAll.set(r.id, r);
    return textItems(clean, cleanAll, upstreamOf).flatMap((item) => this.item(item));
  }

  private item(item: TextItem): string[] {
    const { c } = this;
    if (item.kind === 'one') return [...this.block(item.result), ...this.behindLines(item.behind)];
    if (item.kind === 'same-skip') {
      const head = `  ${SYMBOL.skip} `;
      const text = `${item.results.map((r) => r.id).join(', ')} — ${item.message}`;
      return [
        ...wrapWords(text, this.width - head.length, this.width - 6).map((l, i) =>
          i === 0 ? `  ${c.dim(`${SYMBOL.skip} ${l}`)}` : `      ${c.dim(l)}`,
        ),
        ...this.behindLines(item.behind),
      ];
    }
    return this.causeBlock(item);
  }

  private causeBlock(item: CauseItem): string[] {
    const status: Status = this.o.strict && item.status === 'warn' ? 'fail' : item.status;
    const paint = this.paint[status];
    const head = `  ${SYMBOL[status]} ${item.code}  `;
    const out = wrapWords(item.members.map((r) => r.id).join(', '), this.width - head.length, this.width - 6).map(
      (l, i) => (i === 0 ? `  ${paint(SYMBOL[status])} ${paint(item.code)}  ${l}` : `      ${l}`),
    );
    for (const line of causeLines(item.members))
      out.push(...wrapWords(line, this.width - 6, this.width - 8).map((l, i) => (i ? '        ' : '      ') + l));
    const fix = mergedFix(item.members);
    if (fix) out.push(...this.fixLines({ ...item.members[0]!, remediation: fix }));
    out.push(...this.behindLines(item.behind));
    return out;
  }

  private behindLines(behind: readonly CheckResult[]): string[] {
    if (!behind.length || this.o.quiet) return [];
    const { c } = this;
    const text = `${SYMBOL.skip} not run because of it: ${behind.map((r) => r.id).join(', ')}`;
    return wrapWords(text, this.width - 6, this.width - 8).map((l, i) => c.dim(`${i ? '        ' : '      '}${l}`));
  }

  private fixLines(r: CheckResult): string[] {
    const { c } = this;
    const label = '      ↳ fix: ';
    const first = this.printedFixes.get(r.remediation!);
    if (!first) this.printedFixes.set(r.remediation!, r.id);
    if (first) return [`      ${c.cyan('↳ fix:')} ${c.dim(`as for ${first}`)}`];
    const out: string[] = [];
    r.remediation!.split('\n').forEach((para, p) => {
      wrapWords(para, this.width - label.length, this.width - label.length).forEach((l, i) => {
        out.push(p === 0 && i === 0 ? `      ${c.cyan('↳ fix:')} ${l}` : `${' '.repeat(label.length)}${l}`);
      });
    });
    return out;
  }

  /**
   * The checks of a module that is off, one line for the module instead of one per check: a default install
   * (install.sh turns the Browser and Sandbox modules off) would otherwise print twenty lines of one reason.
   */
  modulesOff(results: CheckResult[]): string[] {
    if (this.o.quiet || !results.length) return [];
    const { c } = this;
    const byReason = new Map<string, string[]>();
    for (const r of results) byReason.set(r.message, [...(byReason.get(r.message) ?? []), r.id]);
    const out: string[] = [];
    for (const [reason, ids] of byReason) {
      const head = `  ${SYMBOL.skip} `;
      const text = `${reason}; not checked: ${ids.join(', ')}`;
      wrapWords(text, this.width - head.length, this.width - 6).forEach((l, i) => {
        out.push(i === 0 ? `  ${c.dim(`${SYMBOL.skip} ${l}`)}` : `      ${c.dim(l)}`);
      });
    }
    return out;
  }

  /** What was not tested (prominent, even with -q) and the closing summary line. */
  footer(
    run: Pick<RunRecord, 'summary' | 'startedAt' | 'finishedAt' | 'interrupted' | 'results' | 'target'>,
  ): string[] {
    const { c } = this;
    const out: string[] = [];
    const nt = notTested(run.results, run.target.domain);
    // An asked-for --no-hold is no surprise to a -q reader; a missing responder is.
    const quietNoHold = this.o.quiet && nt.lines[0]?.includes('(--no-hold)');
    if (!quietNoHold) {
      nt.lines.forEach((l, n) => {
        const paint = n === 0 ? (s: string) => c.yellow(c.bold(s)) : (s: string) => s;
        for (const [i, w] of wrapWords(l, this.width, this.width - 4).entries())
          out.push(i === 0 ? paint(w) : `    ${paint(w)}`);
        const cmd = nt.commands[n];
        if (cmd) out.push(...wrapCommand(cmd, this.width - 6).map((w) => `      ${c.cyan(w)}`));
      });
    }
    if (out.length) out.push('');
    const s = run.summary;
    const secs = formatDuration(run.finishedAt.getTime() - run.startedAt.getTime());
    const line = summaryLine(s)
      .replace(/(\d+) failed/, (m, n) => (Number(n) ? c.red(m) : m))
      .replace(/(\d+) warnings?/, (m, n) => (Number(n) ? c.yellow(m) : m));
    out.push(`${line}  ${c.dim(`(${secs})`)}${run.interrupted ? c.yellow('  interrupted') : ''}`);
    return out;
  }
}

/** The whole report at once, grouped by area (kit lint; `check` streams instead). */
export function toText(run: RunRecord, o: TextOptions): string {
  const shownIds = run.results.map((r) => r.id);
  const t = new TextRenderer(
    o,
    shownIds,
    run.results.map((r) => r.host ?? ''),
  );
  const shown = run.results.filter((r) => t.shows(r));
  const out = t.header(run);
  if (o.grouped) {
    // A saved run re-rendered as `check` printed it: one cause once (what each check read is not saved: blockedBy
    // chains only).
    const items = t.items(run.results, new Map(run.results.map((r) => [r.id, r])), () => []);
    out.push(...items, ...(items.length && !o.quiet ? [''] : []), ...t.footer(run));
    return `${out.join('\n')}\n`;
  }
  for (const area of [...new Set(shown.map((r) => areaOf(r.id)))]) {
    if (!o.quiet) out.push(t.areaTitle(area));
    for (const r of shown.filter((x) => areaOf(x.id) === area)) out.push(...t.block(r, !run.headline));
    if (!o.quiet) out.push('');
  }
  out.push(...t.footer(run));
  return `${out.join('\n')}\n`;
}

/** What a person reads of a result: server text with its control and bidi characters made visible. */
function inertResult(r: CheckResult): CheckResult {
  return {
    ...r,
    id: inert(r.id),
    title: inert(r.title),
    message: inert(r.message),
    ...(r.code !== undefined ? { code: inert(r.code) } : {}),
    ...(r.host !== undefined ? { host: inert(r.host) } : {}),
    // Paragraphs stay paragraphs: each is made inert on its own.
    ...(r.remediation !== undefined ? { remediation: r.remediation.split('\n').map(inert).join('\n') } : {}),
  };
}

const isScalar = (v: unknown) => v === null || typeof v !== 'object';
const scalar = (v: unknown) => (typeof v === 'string' ? v : String(v));

/**
 * Evidence as an indented tree, YAML-like: `key: value` for scalars, a nested block for objects, `- ` items for
 * lists of objects, and multi-line strings (bodies) indented under their key. Certificate PEMs are left to the JSON
 * and report files.
 */
export function evidenceTree(ev: unknown, depth = 0): string[] {
  if (depth > 8) return ['…'];
  const nest = (lines: string[]) => lines.map((l) => `  ${l}`);
  const entry = (label: string, v: unknown): string[] => {
    if (isScalar(v)) {
      const s = scalar(v);
      if (!s.includes('\n')) return [`${label} ${s}`];
      return [
        `${label} |`,
        ...s
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `    ${l}`),
      ];
    }
    if (Array.isArray(v) && v.every(isScalar)) return [`${label} ${v.length ? v.map(scalar).join(', ') : '[]'}`];
    if (!Array.isArray(v) && !Object.keys(v as object).length) return [`${label} {}`];
    return [label, ...nest(evidenceTree(v, depth + 1))];
  };
  if (Array.isArray(ev)) {
    return ev.flatMap((x) => {
      if (isScalar(x) || Array.isArray(x)) return entry('-', x);
      const inner = evidenceTree(x, depth + 1);
      return inner.map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`));
    });
  }
  if (ev && typeof ev === 'object')
    return Object.entries(ev)
      .filter(([k]) => k !== 'pem')
      .flatMap(([k, v]) => entry(`${k}:`, v));
  return [scalar(ev)];
}

/** Evidence flattened to `path: value` lines (the report files' compact form). */
export function evidenceLines(ev: unknown, prefix = '', depth = 0): string[] {
  if (depth > 8) return [`${prefix}: …`];
  if (Array.isArray(ev)) {
    if (ev.every((x) => x === null || typeof x !== 'object')) return [`${prefix}: ${ev.join(', ') || '[]'}`];
    return ev.flatMap((x, i) => evidenceLines(x, `${prefix}[${i}]`, depth + 1));
  }
  if (ev && typeof ev === 'object') {
    return Object.entries(ev).flatMap(([k, v]) =>
      k === 'pem' ? [] : evidenceLines(v, prefix ? `${prefix}.${k}` : k, depth + 1),
    );
  }
  return [`${prefix}: ${String(ev)}`];
}
