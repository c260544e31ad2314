// What a run did not test, said where a person cannot miss it: a run that ends "0 failed" with every stream
// timeout untested must not read as a clean bill of health. Steps named here work on an installed platform.
import type { CheckResult } from '../model.js';

/** The live routes of every supported controller, linted offline: what shows stream timeouts without a responder. */
export const LINT_LIVE_ROUTES =
  'kubectl get ingress,httpproxy,ingressroute,virtualservice,httproute -A -o yaml | nap-verify kit lint -';

/** Skip reasons for streams that could not be held (no responder), read by the reporters and written by checks. */
export const NO_RESPONDER = 'no responder';
/** The reason a hold check carries under --no-hold. */
export const NO_HOLD_REASON = 'not held: --no-hold (fast smoke test); run without it to hold idle streams for 75 s';

/**
 * Stream checks skipped for want of something to hold: --no-hold, or no responder behind the host (directly, or
 * behind a check skipped for that). A stream that could not run because a check failed (no DNS answer, no TLS, a
 * gate in front) is not here: that failure is its reason, and it is reported already.
 */
export function untestedStreams(results: CheckResult[]): CheckResult[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const rootSkip = (r: CheckResult): CheckResult | undefined => {
    let x = r;
    for (let i = 0; i < 32; i++) {
      const by = x.evidence.blockedBy;
      if (typeof by !== 'string') return x;
      const b = byId.get(by);
      if (b?.status !== 'skip') return undefined;
      x = b;
    }
    return undefined;
  };
  return results.filter((r) => {
    if (r.status !== 'skip' || !/^(hold\.|sse\.)/.test(r.id)) return false;
    const root = rootSkip(r);
    return !!root && (!!root.evidence.notHeld || root.message.startsWith(`${NO_RESPONDER} behind `));
  });
}

export interface NotTested {
  /** The prominent line first, then the steps. */
  lines: string[];
  /** Per step, the command to copy (printed whole, broken only with shell continuations). */
  commands: Array<string | undefined>;
}

/** One prominent line and the steps that would test what was not, for the end of the text and the reports. */
export function notTestedLines(results: CheckResult[], domain: string): string[] {
  return notTested(results, domain).lines;
}

export function notTested(results: CheckResult[], domain: string): NotTested {
  const skipped = untestedStreams(results);
  if (!skipped.length) return { lines: [], commands: [] };
  const holds = skipped.filter((r) => r.id.startsWith('hold.'));
  const noHold = holds.length > 0 && holds.every((r) => r.message.startsWith('not held: --no-hold'));
  const ids = skipped.map((r) => r.id).join(', ');
  if (noHold && skipped.length === holds.length) {
    return {
      lines: [`stream timeouts NOT tested (--no-hold): ${ids}; run without --no-hold to hold idle streams.`],
      commands: [undefined],
    };
  }
  return {
    lines: [
      `stream timeouts NOT tested: ${ids} (${NO_RESPONDER} behind ${domain}; the platform has no stream that ` +
        `stays open without credentials). To test them after install:`,
      '1. lint the stream timeouts of the live routes:',
      `2. or, in a maintenance window, run the responder behind the platform's Services, rerun, then remove it ` +
        `(--delete | kubectl delete -f -):`,
    ],
    commands: [
      undefined,
      LINT_LIVE_ROUTES,
      `nap-verify kit responder --pre-install --namespace nap --domain ${domain} | kubectl apply -f - && ` +
        `nap-verify --domain ${domain}`,
    ],
  };
}

/**
 * A command laid out to `width` columns with shell continuations, so it still pastes as one command: broken
 * before a pipe or `&&` first, between words only when a part is still too long.
 */
export function wrapCommand(cmd: string, width: number): string[] {
  if (cmd.length <= width) return [cmd];
  const lines: string[] = [];
  for (const [n, part] of cmd.split(/ (?=\| |&& )/).entries()) {
    let line = n ? '  ' : '';
    for (const word of part.split(' ')) {
      const bare = line.trim() === '';
      if (!bare && line.length + 1 + word.length + 2 > width) {
        lines.push(`${line} \\`);
        line = `    ${word}`;
      } else line += (bare ? '' : ' ') + word;
    }
    lines.push(line);
  }
  return lines.map((l, i) => (i < lines.length - 1 && !l.endsWith(' \\') ? `${l} \\` : l));
}
