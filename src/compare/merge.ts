/* biome-ignore-all lint/suspicious/noExplicitAny: renders or reads documents from outside (result JSON, manifests);
   every access is guarded */
// `compare`: merge schema-1 results from several vantage points into one table, check by check, and say what
// each difference means. Pure: parsed JSON in, a comparison out; no file or network access here.
//
// The rule (README "Comparing vantage points"): a vantage point is INSIDE the cluster when it is named
// `in-cluster` (what `kit job` uses) or named with --inside; every other one, the browser page included, is
// outside. Per check, pass and warn count as "reached", fail as "failed"; skip and "not run there" are no
// evidence either way and never decide a verdict.
import type { Status } from '../model.js';

export const INSIDE_DEFAULT = 'in-cluster';

export interface VantageRun {
  name: string;
  inside: boolean;
  /** Where it was read from (a file name), for messages. */
  source: string;
  domain: string | null;
  startedAt: string | null;
  summary: { pass: number; warn: number; fail: number; skip: number; status: string } | null;
}

export interface Cell {
  status: Status;
  code?: string;
  message: string;
  host?: string;
}

export type Verdict =
  | 'same' // every vantage point with evidence agrees that it works
  | 'everywhere' // failed from every vantage point that ran it
  | 'in-front' // reached from inside, failed from outside
  | 'hairpin' // reached from outside, failed from inside
  | 'client-network' // outside vantage points disagree among themselves
  | 'one-view' // only one vantage point has evidence
  | 'no-evidence'; // skipped or not run anywhere

export interface CheckRow {
  id: string;
  title: string;
  /** By vantage name; null = not run there. */
  cells: Record<string, Cell | null>;
  verdict: Verdict;
  meaning: string;
}

export interface Comparison {
  domain: string | null;
  vantages: VantageRun[];
  checks: CheckRow[];
  /** Counts of checks per verdict, and one line per verdict that points somewhere. */
  conclusions: string[];
}

export class CompareInputError extends Error {}

interface RawCheck {
  id: string;
  title?: string;
  status: Status;
  code?: string;
  message?: string;
  host?: string;
}

const STATUSES: readonly string[] = ['pass', 'warn', 'fail', 'skip'];

/** Reads one parsed schema-1 document; anything else is an input error naming the source. */
export function readRun(
  doc: unknown,
  source: string,
  insideNames: ReadonlySet<string>,
): { run: VantageRun; checks: RawCheck[] } {
  const d = doc as Record<string, any>;
  if (!d || typeof d !== 'object' || Array.isArray(d))
    throw new CompareInputError(`${source}: not a nap-verify JSON result (not an object)`);
  if (d.schema !== 1)
    throw new CompareInputError(
      `${source}: not a nap-verify schema-1 result (schema: ${JSON.stringify(d.schema ?? null)})`,
    );
  if (!Array.isArray(d.checks)) throw new CompareInputError(`${source}: no checks[] list`);
  const checks: RawCheck[] = d.checks.map((c: any, i: number) => {
    if (!c || typeof c.id !== 'string' || !STATUSES.includes(c.status)) {
      throw new CompareInputError(`${source}: checks[${i}] has no id or no status pass|warn|fail|skip`);
    }
    return c as RawCheck;
  });
  const name =
    typeof d.vantage === 'string' && d.vantage ? d.vantage : source.replace(/^.*\//, '').replace(/\.json$/i, '');
  return {
    run: {
      name,
      inside: insideNames.has(name),
      source,
      domain: typeof d.target?.domain === 'string' ? d.target.domain : null,
      startedAt: typeof d.startedAt === 'string' ? d.startedAt : null,
      summary: d.summary && typeof d.summary === 'object' ? d.summary : null,
    },
    checks,
  };
}

const reached = (c: Cell | null) => !!c && (c.status === 'pass' || c.status === 'warn');
const failed = (c: Cell | null) => !!c && c.status === 'fail';

/** The verdict for one check from its cells; the one place the rule lives. */
export function verdictFor(cells: Array<{ inside: boolean; cell: Cell | null }>): Verdict {
  const judged = cells.filter((x) => reached(x.cell) || failed(x.cell));
  if (!judged.length) return 'no-evidence';
  if (judged.length === 1) return 'one-view';
  if (judged.every((x) => reached(x.cell))) return 'same';
  if (judged.every((x) => failed(x.cell))) return 'everywhere';
  const inside = judged.filter((x) => x.inside);
  const outside = judged.filter((x) => !x.inside);
  if (inside.length && outside.length) {
    if (inside.every((x) => reached(x.cell)) && outside.every((x) => failed(x.cell))) return 'in-front';
    if (outside.every((x) => reached(x.cell)) && inside.every((x) => failed(x.cell))) return 'hairpin';
  }
  return 'client-network';
}

const list = (names: string[]) => names.join(', ');

function meaningOf(v: Verdict, row: Array<{ name: string; inside: boolean; cell: Cell | null }>): string {
  const where = (pred: (c: Cell | null) => boolean) => list(row.filter((x) => pred(x.cell)).map((x) => x.name));
  switch (v) {
    case 'same':
      return 'works from every vantage point that ran it';
    case 'everywhere':
      return (
        'fails from every vantage point: the ingress or the platform itself (or the DNS records ' +
        'themselves), not the path to it'
      );
    case 'in-front':
      return (
        `works inside the cluster (${where(reached)}) but fails outside (${where(failed)}): the load ` +
        `balancer, firewall or public DNS in front of the ingress`
      );
    case 'hairpin':
      return (
        `works outside (${where(reached)}) but fails inside the cluster (${where(failed)}): hairpin NAT ` +
        `through the load balancer or split-horizon DNS for pods`
      );
    case 'client-network':
      return (
        `works from ${where(reached)} but fails from ${where(failed)}: the failing vantage points' own ` +
        `network (proxy, firewall, resolver)`
      );
    case 'one-view':
      return (
        `judged from ${list(row.filter((x) => reached(x.cell) || failed(x.cell)).map((x) => x.name))} only: ` +
        `nothing to compare`
      );
    case 'no-evidence':
      return 'skipped or not run at every vantage point';
  }
}

const CONCLUSION: Record<Verdict, string> = {
  same: 'work everywhere',
  everywhere: 'fail everywhere: look at the ingress or the platform',
  'in-front': 'fail only outside: look at the load balancer, firewall or public DNS in front of the ingress',
  hairpin: 'fail only inside the cluster: look at hairpin NAT and split-horizon DNS',
  'client-network': 'fail only from some outside networks: look at those networks (proxy, firewall, resolver)',
  'one-view': 'were judged at one vantage point only',
  'no-evidence': 'were skipped or not run anywhere',
};

/** Merges documents (already parsed) read from `sources`; `inside` adds names that count as inside the cluster. */
export function compareRuns(docs: Array<{ doc: unknown; source: string }>, inside: string[] = []): Comparison {
  if (docs.length < 2) throw new CompareInputError('compare needs at least two result files (one per vantage point)');
  const insideNames = new Set([INSIDE_DEFAULT, ...inside]);
  const read = docs.map((x) => readRun(x.doc, x.source, insideNames));
  // Two files from one place get told apart by their file names, so no column hides another.
  const seen = new Map<string, number>();
  for (const r of read) seen.set(r.run.name, (seen.get(r.run.name) ?? 0) + 1);
  for (const r of read)
    if (seen.get(r.run.name)! > 1) r.run.name = `${r.run.name} (${r.run.source.replace(/^.*\//, '')})`;
  const domains = [...new Set(read.map((r) => r.run.domain).filter((d): d is string => !!d))];
  if (domains.length > 1) {
    throw new CompareInputError(
      `these results are for different domains (${domains.join(', ')}): compare runs against one install`,
    );
  }
  const unknownInside = inside.filter((n) => !read.some((r) => r.run.name === n));
  if (unknownInside.length) {
    throw new CompareInputError(
      `--inside ${unknownInside.join(', ')}: no such vantage point (have ${list(read.map((r) => r.run.name))})`,
    );
  }
  // Rows in first-seen order across the files, so the usual check order is kept and extra ids follow.
  const ids: string[] = [];
  const titles = new Map<string, string>();
  for (const r of read) {
    for (const c of r.checks) {
      if (!titles.has(c.id)) {
        ids.push(c.id);
        titles.set(c.id, c.title ?? c.id);
      }
    }
  }
  const checks: CheckRow[] = ids.map((id) => {
    const row = read.map((r) => {
      const c = r.checks.find((x) => x.id === id);
      const cell: Cell | null = c
        ? {
            status: c.status,
            message: c.message ?? '',
            ...(c.code ? { code: c.code } : {}),
            ...(c.host ? { host: c.host } : {}),
          }
        : null;
      return { name: r.run.name, inside: r.run.inside, cell };
    });
    const verdict = verdictFor(row);
    return {
      id,
      title: titles.get(id)!,
      cells: Object.fromEntries(row.map((x) => [x.name, x.cell])),
      verdict,
      meaning: meaningOf(verdict, row),
    };
  });
  const conclusions: string[] = [];
  for (const v of [
    'in-front',
    'hairpin',
    'everywhere',
    'client-network',
    'one-view',
    'no-evidence',
    'same',
  ] as Verdict[]) {
    const rows = checks.filter((c) => c.verdict === v);
    if (!rows.length) continue;
    const shown =
      rows.length > 6
        ? `${rows
            .slice(0, 6)
            .map((r) => r.id)
            .join(', ')} and ${rows.length - 6} more`
        : rows.map((r) => r.id).join(', ');
    conclusions.push(
      `${rows.length} check${rows.length === 1 ? '' : 's'} ${CONCLUSION[v]}${v === 'same' ? '' : ` (${shown})`}`,
    );
  }
  if (!read.some((r) => r.run.inside)) {
    conclusions.push(
      `no vantage point inside the cluster (name one in-cluster, or pass --inside <name>): inside/outside ` +
        `differences cannot be told`,
    );
  }
  return { domain: domains[0] ?? null, vantages: read.map((r) => r.run), checks, conclusions };
}

/** Worst status of a row, for the badge: fail > warn > pass > skip. */
export function worstStatus(row: CheckRow): Status {
  const s = Object.values(row.cells)
    .filter((c): c is Cell => !!c)
    .map((c) => c.status);
  return (['fail', 'warn', 'pass', 'skip'] as Status[]).find((x) => s.includes(x)) ?? 'skip';
}
