// One cause, one finding (spec §4): the terminal text names a cause once with the hosts it touches and its fix once,
// and folds the checks that could not run because of it into one line. Pure: the JSON, JUnit and exporter keep every
// check; only the text is laid out from these items.
import type { CheckResult, Status } from '../model.js';

/** A result printed alone, with the checks that could not run because of it. */
export interface OneItem {
  kind: 'one';
  result: CheckResult;
  behind: CheckResult[];
}

/** Several checks that failed (or warned) with one code: one cause on several hosts. */
export interface CauseItem {
  kind: 'cause';
  code: string;
  status: Status;
  members: CheckResult[];
  behind: CheckResult[];
}

/** Skips that say the same thing word for word (turn.udp and turn.tcp with no address to ask). */
export interface SameSkipItem {
  kind: 'same-skip';
  message: string;
  results: CheckResult[];
  behind: CheckResult[];
}

export type TextItem = OneItem | CauseItem | SameSkipItem;

/** The checks a result read or needed, by id (the runner's needs, after and reads). */
export type UpstreamOf = (id: string) => readonly string[];

/**
 * Skips that carry their own reason, whatever their upstream did: not applicable here, a module that is off,
 * --no-hold, an interrupt.
 */
const ownReason = (r: CheckResult) =>
  !!(r.evidence.notApplicable || r.evidence.moduleOff || r.evidence.notHeld || r.evidence.interrupted);

/**
 * What a result comes down to: itself when it failed or warned, or when it is a skip with a reason of its own
 * making (no responder, nothing to resolve); for a skip behind others, the roots of the prerequisite that blocked
 * it, or of the checks it read that did not pass, when none passed or when its message names those roots. `null`
 * for a skip said for its own sake (--no-hold, a module that is off, not applicable), which nothing else explains.
 */
export function rootsOf(
  r: CheckResult,
  all: ReadonlyMap<string, CheckResult>,
  upstreamOf: UpstreamOf,
): Set<string> | null {
  const memo = new Map<string, Set<string> | null>();
  const walk = (x: CheckResult, depth: number): Set<string> | null => {
    if (x.status !== 'skip') return new Set([x.id]);
    if (ownReason(x)) return null;
    const self = new Set([x.id]);
    if (depth > 32) return self;
    if (memo.has(x.id)) return memo.get(x.id) ?? self;
    memo.set(x.id, null);
    let out: Set<string> = self;
    const blockedBy = typeof x.evidence.blockedBy === 'string' ? all.get(x.evidence.blockedBy) : undefined;
    if (blockedBy) out = walk(blockedBy, depth + 1) ?? self;
    else if (!x.evidence.blockedBy) {
      const ups = upstreamOf(x.id)
        .map((id) => all.get(id))
        .filter((u): u is CheckResult => !!u);
      const failed = ups.filter((u) => u.status !== 'pass');
      if (failed.length) {
        const union = new Set<string>();
        for (const u of failed) for (const id of walk(u, depth + 1) ?? [u.id]) union.add(id);
        // With some of what it read passing, the skip is put down to the failures only when it names them itself
        // (env.clock: "nap.test was not asked (no TLS session (tls.main TLS_HANDSHAKE))").
        const named = [...union].some((id) => new RegExp(`(^|[^\\w.])${id.replace(/\./g, '\\.')}\\b`).test(x.message));
        if (failed.length === ups.length || named) out = union;
      }
    }
    memo.set(x.id, out);
    return out;
  };
  return walk(r, 0);
}

/**
 * Lays out a batch of results (in report order) as text items. `all` holds every result of the run so far, so a
 * skip can be traced through checks printed earlier or not shown at all. --no-hold skips are left to the footer,
 * which says what was not tested.
 */
export function textItems(
  batch: readonly CheckResult[],
  all: ReadonlyMap<string, CheckResult>,
  upstreamOf: UpstreamOf,
): TextItem[] {
  const shown = batch.filter((r) => !r.evidence.notHeld);
  const items: Array<{ at: number; item: TextItem }> = [];
  const itemOf = new Map<string, TextItem>();
  const byCode = new Map<string, CheckResult[]>();
  for (const r of shown) {
    if ((r.status === 'fail' || r.status === 'warn') && r.code) {
      const key = `${r.status} ${r.code}`;
      byCode.set(key, [...(byCode.get(key) ?? []), r]);
    }
  }
  const place = (r: CheckResult, item: TextItem) => {
    items.push({ at: shown.indexOf(r), item });
    itemOf.set(r.id, item);
  };
  const skipsByMessage = new Map<string, SameSkipItem>();
  const skipItem = (r: CheckResult) => {
    const same = skipsByMessage.get(r.message);
    if (same) {
      same.results.push(r);
      itemOf.set(r.id, same);
      return;
    }
    const item: SameSkipItem = { kind: 'same-skip', message: r.message, results: [r], behind: [] };
    skipsByMessage.set(r.message, item);
    place(r, item);
  };
  const roots = new Map(shown.map((r) => [r.id, rootsOf(r, all, upstreamOf)]));
  const isRoot = (r: CheckResult) => {
    const own = roots.get(r.id);
    return !own || (own.size === 1 && own.has(r.id));
  };
  // Roots first (failures, warnings and skips of their own making), then what could not run because of them.
  for (const r of shown) {
    if (!isRoot(r)) continue;
    if (r.status === 'skip') {
      skipItem(r);
      continue;
    }
    const same = r.code ? byCode.get(`${r.status} ${r.code}`) : undefined;
    if (same && same.length > 1) {
      if (same[0] !== r) itemOf.set(r.id, itemOf.get(same[0]!.id)!);
      else place(r, { kind: 'cause', code: r.code!, status: r.status, members: same, behind: [] });
      continue;
    }
    place(r, { kind: 'one', result: r, behind: [] });
  }
  for (const r of shown) {
    if (isRoot(r)) continue;
    const owners = new Set([...roots.get(r.id)!].map((id) => itemOf.get(id)));
    const owner = owners.size === 1 ? [...owners][0] : undefined;
    if (owner) owner.behind.push(r);
    else skipItem(r);
  }
  return items
    .sort((a, b) => a.at - b.at)
    .map(({ item }) =>
      item.kind === 'same-skip' && item.results.length === 1
        ? { kind: 'one', result: item.results[0]!, behind: item.behind }
        : item,
    );
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `host` as a whole name in `text` (not the tail of files.<host>, nor the head of <host>-x). */
const hostRe = (host: string) => new RegExp(`(?<![\\w.-])${escapeRe(host)}(?![\\w-])`, 'g');

/** A text with its result's host taken out, so that the same sentence about two hosts compares equal. */
export function withoutHost(text: string, host: string | undefined): string {
  return host ? text.replace(hostRe(host), '\u0000') : text;
}

/**
 * The members' messages, one line per distinct sentence: "a, b: does not exist (…)" when several hosts got the
 * same one, the member's own message otherwise.
 */
export function causeLines(members: readonly CheckResult[]): string[] {
  const bySentence = new Map<string, CheckResult[]>();
  for (const m of members) {
    const key = withoutHost(m.message, m.host);
    bySentence.set(key, [...(bySentence.get(key) ?? []), m]);
  }
  const out: string[] = [];
  for (const [sentence, rs] of bySentence) {
    const hosts = rs.map((r) => r.host ?? r.id);
    const holes = sentence.split('\u0000').length - 1;
    if (rs.length === 1 && holes) out.push(rs[0]!.message);
    else if (holes === 0) out.push(`${hosts.join(', ')}: ${sentence}`);
    else if (sentence.startsWith('\u0000 ') || sentence.startsWith('\u0000: '))
      out.push(`${hosts.join(', ')}: ${sentence.slice(1).replace(/^:? /, '')}`.replaceAll('\u0000', 'each'));
    else out.push(sentence.replaceAll('\u0000', andList(hosts)));
  }
  return out;
}

const andList = (xs: readonly string[]) =>
  xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

/**
 * One fix for several results: each paragraph once, a paragraph that differs only by the host said once for all
 * the hosts it names ("Add an A/AAAA record a, b → …").
 */
export function mergedFix(members: readonly CheckResult[]): string | undefined {
  const paragraphs = new Map<string, string[]>();
  for (const m of members) {
    for (const p of (m.remediation ?? '').split('\n').filter(Boolean)) {
      const key = withoutHost(p, m.host);
      const hosts = paragraphs.get(key) ?? [];
      if (m.host && !hosts.includes(m.host)) hosts.push(m.host);
      paragraphs.set(key, hosts);
    }
  }
  const rendered = [...paragraphs].map(([p, hosts]) => p.replaceAll('\u0000', hosts.join(', ')));
  const out = [...new Set(rendered)];
  return out.length ? out.join('\n') : undefined;
}
