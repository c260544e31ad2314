// The terminal report: grouped by area, one line per check, the fix under each non-pass line.
import pc from 'picocolors';
import { areaOf, type CheckResult, type Status } from '../model.js';
import type { RunRecord } from './json.js';
import { summaryLine } from './summary.js';

export interface TextOptions {
  color: boolean;
  quiet: boolean;
  verbose: boolean;
}

const SYMBOL: Record<Status, string> = { pass: '✔', fail: '✖', warn: '▲', skip: '○' };
const AREA_TITLE: Record<string, string> = {
  config: 'Configuration', env: 'Environment', dns: 'DNS', net: 'Addresses', tls: 'TLS', http: 'HTTP routing',
  ws: 'WebSocket', sse: 'Server-sent events', hold: 'Long-lived streams', turn: 'TURN', lint: 'Ingress manifests',
};

export function toText(run: RunRecord, o: TextOptions): string {
  const c = pc.createColors(o.color);
  const paint: Record<Status, (s: string) => string> = { pass: c.green, fail: c.red, warn: c.yellow, skip: c.dim };
  const shown = o.quiet ? run.results.filter((r) => r.status === 'fail') : run.results;
  const idW = Math.max(0, ...shown.map((r) => r.id.length));
  const hostW = Math.min(44, Math.max(0, ...shown.map((r) => (r.host ?? '').length)));
  const out: string[] = [];
  if (!o.quiet) {
    const via = run.headline ?? (run.target.ingressIp ? `ingress ${run.target.ingressIp}` : 'addresses from DNS');
    out.push(`${c.bold('nap-verify')} ${run.version}  ${c.bold(run.target.domain)}  ${c.dim(`(${via})`)}`, '');
  }
  const printedFixes = new Map<string, string>();
  for (const area of [...new Set(shown.map((r) => areaOf(r.id)))]) {
    if (!o.quiet) out.push(c.bold(AREA_TITLE[area] ?? area));
    for (const r of shown.filter((x) => areaOf(x.id) === area)) {
      const dur = r.status === 'skip' || run.headline ? '' : `${r.durationMs} ms`;
      const head = `  ${paint[r.status](SYMBOL[r.status])} ${r.id.padEnd(idW)}  ${(r.host ?? '').padEnd(hostW)}  ${c.dim(dur.padStart(7))}  `;
      const msg = r.code ? `${paint[r.status](r.code)} ${r.message}` : r.message;
      out.push(head + (r.status === 'skip' ? c.dim(msg) : msg));
      if (r.remediation && r.status !== 'skip') {
        // The same fix for five hosts is noise: print it once and point back to it.
        const first = printedFixes.get(r.remediation);
        if (first) out.push(`      ${c.cyan('↳ fix:')} ${c.dim(`as for ${first}`)}`);
        else r.remediation.split('\n').forEach((line, i) => out.push(`      ${c.cyan(i === 0 ? '↳ fix:' : '      ')} ${line}`));
        printedFixes.set(r.remediation, first ?? r.id);
      }
      if (o.verbose) for (const line of evidenceLines(r.evidence)) out.push(c.dim(`      · ${line}`));
    }
    if (!o.quiet) out.push('');
  }
  const s = run.summary;
  const secs = ((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(2);
  const line = summaryLine(s).replace(/(\d+) failed/, (m, n) => (Number(n) ? c.red(m) : m)).replace(/(\d+) warnings?/, (m, n) => (Number(n) ? c.yellow(m) : m));
  out.push(`${line}  ${c.dim(`(${secs} s)`)}${run.interrupted ? c.yellow('  interrupted') : ''}`);
  return out.join('\n') + '\n';
}

/** Evidence flattened to `path: value` lines; certificate PEMs are left to the JSON and report files. */
export function evidenceLines(ev: unknown, prefix = '', depth = 0): string[] {
  if (depth > 8) return [`${prefix}: …`];
  if (Array.isArray(ev)) {
    if (ev.every((x) => x === null || typeof x !== 'object')) return [`${prefix}: ${ev.join(', ') || '[]'}`];
    return ev.flatMap((x, i) => evidenceLines(x, `${prefix}[${i}]`, depth + 1));
  }
  if (ev && typeof ev === 'object') {
    return Object.entries(ev).flatMap(([k, v]) => (k === 'pem' ? [] : evidenceLines(v, prefix ? `${prefix}.${k}` : k, depth + 1)));
  }
  return [`${prefix}: ${String(ev)}`];
}
