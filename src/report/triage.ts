// The support triage report: one document model (headings, paragraphs, tables, notes) built from the run, then
// written as Markdown or as one self-contained HTML page. Built only from results and shown options, which
// carry no secrets.
import os from 'node:os';
import { areaOf, type CheckResult, type Status } from '../model.js';
import type { RunRecord } from './json.js';
import { summaryLine } from './summary.js';
import { evidenceLines } from './text.js';

export type Block =
  | { kind: 'h'; level: 1 | 2 | 3; text: string; status?: Status }
  | { kind: 'p'; text: string }
  | { kind: 'fix'; text: string }
  | { kind: 'table'; head: string[]; rows: string[][]; status?: Array<Status | undefined> }
  | { kind: 'pre'; text: string };

export const STATUS_LABEL: Record<Status, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };
const AREA: Record<string, string> = { config: 'Configuration', env: 'Environment', dns: 'DNS', net: 'Addresses', tls: 'TLS', http: 'HTTP routing', ws: 'WebSocket', sse: 'Server-sent events', hold: 'Long-lived streams', turn: 'TURN' };

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
  if (ev.os) rows.push(['this machine (getaddrinfo)', s(ev.os.outcome), '—', (ev.os.addresses ?? []).join(', ') || '—', '—', s(ev.os.error)]);
  for (const v of ev.servers ?? []) {
    rows.push([`${v.server} (${v.source})`, s(v.outcome), (v.answers ?? []).map((a: any) => `${a.qtype} ${a.rcode ?? a.outcome}`).join(', '), (v.addresses ?? []).join(', ') || '—', (v.cnames ?? []).join(' → ') || '—', (v.answers ?? []).map((a: any) => a.error).filter(Boolean).join('; ') || '—']);
  }
  return rows.length ? [{ kind: 'table', head: ['asked', 'outcome', 'rcodes', 'addresses', 'CNAME chain', 'error'], rows }] : [];
}

function tlsBlocks(ev: Record<string, any>): Block[] {
  const out: Block[] = [{ kind: 'p', text: `Connected to ${s(ev.address)}:${s(ev.port)} with SNI ${s(ev.host)}: ${ev.failure ? `${ev.failure.stage} failed (${ev.failure.kind}): ${ev.failure.error}` : `${s(ev.protocol)}, ${s(ev.cipher)}`}. Trust: ${s(ev.analysis?.trust)}${ev.analysis?.anchor ? ` (anchor ${ev.analysis.anchor}, ${ev.analysis.anchorSource})` : ''}${ev.analysis?.missingIssuer ? `; missing issuer ${ev.analysis.missingIssuer}` : ''}.` }];
  const chain = (ev.chain ?? []) as Array<Record<string, any>>;
  if (chain.length) {
    out.push({ kind: 'table', head: ['#', 'subject', 'SANs', 'issuer', 'not before', 'not after', 'SHA-256 fingerprint'], rows: chain.map((c, i) => [String(i), s(c.subject), (c.sans ?? []).join(', ') || '—', s(c.issuer), s(c.notBefore).slice(0, 10), s(c.notAfter).slice(0, 10), s(c.fingerprint256)]) });
  }
  return out;
}

function holdBlocks(ev: Record<string, any>): Block[] {
  if (!ev.silent) return [];
  const row = (name: string, t: Record<string, any>) => [name, secs(t.openedAt), secs(t.lastByteAt), secs(t.endedAt), t.end?.how === 'survived' ? 'still open after the hold' : `${s(t.end?.how)}${t.end?.code ? ` ${t.end.code}` : ''}${t.end?.status ? ` ${t.end.status}` : ''}${t.end?.detail ? `: ${t.end.detail}` : ''}`];
  const out: Block[] = [{ kind: 'table', head: ['stream', 'opened', 'last byte', 'ended', 'how'], rows: [row('silent', ev.silent), ...(ev.keepalive ? [row('keep-alive twin', ev.keepalive)] : [])] }];
  if (ev.cutAfterS !== undefined) out.push({ kind: 'p', text: `Cut ${ev.cutAfterS} s after the last byte, at age ${ev.ageS} s; limit: ${ev.limit}; likely ${ev.culprit}.` });
  return out;
}

function genericBlocks(ev: Record<string, unknown>): Block[] {
  const lines = evidenceLines(ev).slice(0, 60);
  return lines.length ? [{ kind: 'pre', text: lines.join('\n') }] : [];
}

function evidenceBlocks(r: CheckResult): Block[] {
  const ev = r.evidence as Record<string, any>;
  const area = areaOf(r.id);
  if (area === 'dns' && r.id !== 'dns.consistent' && (ev.os || ev.servers)) return dnsBlocks(ev);
  if (area === 'tls' && ev.chain) return tlsBlocks(ev);
  if (area === 'hold' && ev.silent) return holdBlocks(ev);
  return genericBlocks(ev);
}

export function triageDocument(run: RunRecord): Block[] {
  const o = run.options as Record<string, unknown>;
  const r = run.results;
  const blocks: Block[] = [
    { kind: 'h', level: 1, text: `nap-verify triage report: ${run.target.domain}` },
    {
      kind: 'table', head: ['', ''], rows: [
        ['Verdict', `${run.summary.status.toUpperCase()}: ${summaryLine(run.summary)}${run.interrupted ? ' (interrupted: unfinished checks are marked skip)' : ''}`],
        ['Domain', run.target.domain],
        ['Mode', o.mode === 'nodeport' ? 'NodePort (plain HTTP on the node ports)' : 'external ingress (TLS, five names)'],
        ['Hosts', Object.entries(run.target.hosts).map(([role, h]) => `${role}: ${h}`).join(', ')],
        ['Connected to', run.target.ingressIp ? `${run.target.ingressIp} (--ingress-ip)` : 'the addresses DNS gave this machine'],
        ['TURN server', `${run.target.turn.host}:${run.target.turn.port}`],
        ['Run', `${run.startedAt.toISOString()} → ${run.finishedAt.toISOString()} (${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1)} s)`],
        ['Tool', `nap-verify ${run.version}, Node ${process.version}`],
        ['Machine', `${os.type()} ${os.release()} ${os.arch()}, host ${os.hostname()}`],
        ['Resolvers', run.resolvers.join(', ') || 'none found'],
        ['Client public address', clientAddress(r)],
        ['Options', Object.entries(o).filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && !v.length)).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')],
      ],
    },
    { kind: 'h', level: 2, text: 'Summary' },
    { kind: 'table', head: ['status', 'check', 'code', 'host', 'message'], rows: r.map((x) => [STATUS_LABEL[x.status], x.id, x.code ?? '', x.host ?? '', x.message]), status: r.map((x) => x.status) },
  ];
  for (const area of [...new Set(r.map((x) => areaOf(x.id)))]) {
    blocks.push({ kind: 'h', level: 2, text: AREA[area] ?? area });
    for (const x of r.filter((y) => areaOf(y.id) === area)) {
      blocks.push({ kind: 'h', level: 3, text: `${STATUS_LABEL[x.status]} ${x.id} — ${x.title}`, status: x.status });
      blocks.push({ kind: 'p', text: `${x.code ? `${x.code}: ` : ''}${x.message}${x.host ? ` (host ${x.host}, ${x.durationMs} ms)` : ` (${x.durationMs} ms)`}` });
      if (x.remediation) blocks.push({ kind: 'fix', text: x.remediation });
      blocks.push(...evidenceBlocks(x));
    }
  }
  return blocks;
}

const mdCell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, '<br>');

export function toMarkdown(run: RunRecord): string {
  return triageDocument(run).map((b) => {
    switch (b.kind) {
      case 'h':
        return `${'#'.repeat(b.level)} ${b.text}\n`;
      case 'p':
        return `${b.text}\n`;
      case 'fix':
        return `**Fix:**\n\n${b.text.split('\n').map((l) => `- ${l}`).join('\n')}\n`;
      case 'pre':
        return '```\n' + b.text.replace(/```/g, "'''") + '\n```\n';
      case 'table':
        return [`| ${b.head.map(mdCell).join(' | ')} |`, `|${b.head.map(() => '---').join('|')}|`, ...b.rows.map((row) => `| ${row.map(mdCell).join(' | ')} |`)].join('\n') + '\n';
    }
  }).join('\n');
}
