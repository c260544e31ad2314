// One probe's result in the Prometheus text exposition format (spec §9). Pure: a run record in, text out.
// Labels stay low-cardinality: check ids, statuses, codes, and the five host names (the random preview label of
// each run is reported as the wildcard it proves, `*.sandbox.<d>`).
import { inert } from '../inert.js';
import { ROLES, type Status } from '../model.js';
import type { RunRecord } from '../report/json.js';

const STATUSES: readonly Status[] = ['pass', 'warn', 'fail', 'skip'];

/**
 * Label values: inert (src/inert.ts: no control or bidi character reaches a dashboard), then backslash, double quote
 * and newline escaped, as the format requires.
 */
export const labelValue = (v: string) =>
  v
    .split('\n')
    .map((l) => inert(l).replace(/\\/g, '\\\\').replace(/"/g, '\\"'))
    .join('\\n');

const num = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : 'NaN');

class Exposition {
  private lines: string[] = [];
  family(
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: Array<[Record<string, string>, number]>,
  ): void {
    if (!samples.length) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${labelValue(v)}"`)
        .join(',');
      this.lines.push(`${name}${l ? `{${l}}` : ''} ${num(value)}`);
    }
  }
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The host label of a result: the preview host of a run is the wildcard it stands for. */
function hostLabel(run: RunRecord, host: string): string {
  return host === run.target.hosts.preview && run.target.hosts.preview !== run.target.domain
    ? `*.sandbox.${run.target.domain}`
    : host;
}

export interface ProbeExtras {
  /** full module: seconds since the result served was finished. */
  ageS?: number;
  /** The probe ran out of its time (the scrape's timeout): unfinished checks are skip, and it is not a success. */
  timedOut?: boolean;
}

export function probeMetrics(run: RunRecord, extras: ProbeExtras = {}): string {
  const x = new Exposition();
  const failed = run.summary.status === 'fail' || !!run.interrupted || !!extras.timedOut;
  x.family(
    'nap_verify_probe_success',
    'gauge',
    'Whether the probe succeeded: no check failed (warnings allowed) and the run finished.',
    [[{}, failed ? 0 : 1]],
  );
  x.family('nap_verify_probe_duration_seconds', 'gauge', 'How long the run took, seconds.', [
    [{}, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000],
  ]);
  if (extras.ageS !== undefined)
    x.family(
      'nap_verify_probe_result_age_seconds',
      'gauge',
      'full module: seconds since the served result was finished.',
      [[{}, extras.ageS]],
    );
  x.family(
    'nap_verify_probe_timed_out',
    'gauge',
    'Whether the run was cut by its deadline (the scrape timeout) before every check finished.',
    [[{}, run.interrupted || extras.timedOut ? 1 : 0]],
  );
  x.family(
    'nap_verify_probe_checks',
    'gauge',
    'Checks per status in this run.',
    STATUSES.map((s) => [{ status: s }, run.summary[s]]),
  );
  x.family(
    'nap_verify_check_status',
    'gauge',
    'Per check, a state set: 1 for its current status, 0 for the others.',
    run.results.flatMap((r) =>
      STATUSES.map((s): [Record<string, string>, number] => [{ check: r.id, status: s }, r.status === s ? 1 : 0]),
    ),
  );
  x.family(
    'nap_verify_check_code_info',
    'gauge',
    'The code of each check that did not pass.',
    run.results.filter((r) => r.code).map((r) => [{ check: r.id, code: r.code! }, 1]),
  );
  x.family(
    'nap_verify_check_duration_seconds',
    'gauge',
    'How long each check took, seconds.',
    run.results.map((r) => [{ check: r.id }, r.durationMs / 1000]),
  );
  const certs = new Map<string, number>();
  for (const r of run.results) {
    if (!r.id.startsWith('tls.')) continue;
    const chain = (r.evidence as { chain?: Array<{ notAfter?: string }> }).chain;
    const host = (r.evidence as { host?: string }).host ?? r.host;
    const notAfter = chain?.[0]?.notAfter ? Date.parse(chain[0].notAfter) : NaN;
    if (host && Number.isFinite(notAfter)) certs.set(hostLabel(run, host), notAfter / 1000);
  }
  const order = ROLES.map((role) => hostLabel(run, run.target.hosts[role]));
  x.family(
    'nap_verify_cert_not_after_timestamp_seconds',
    'gauge',
    'notAfter of the leaf certificate each host presents, Unix seconds.',
    [...certs].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([host, t]) => [{ host }, t]),
  );
  x.family(
    'nap_verify_hold_cut_after_seconds',
    'gauge',
    "Seconds from a held stream's last byte to the proxy cutting it (only for cut streams).",
    run.results
      .filter((r) => r.id.startsWith('hold.') && typeof r.evidence.cutAfterS === 'number')
      .map((r) => [{ check: r.id }, r.evidence.cutAfterS as number]),
  );
  return x.text();
}
