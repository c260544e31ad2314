// env.clock: this machine's clock agrees with the servers' — certificate validity and TURN credentials depend on it.
import { needId, type CheckDef, type Upstream } from '../src/model.js';
import type { HttpExchange } from '../src/probes/http.js';
import { causeOf } from './_lib/cause.js';
import { evidenceOf } from './_lib/evidence.js';
import { transportNeeds } from './_lib/routing.js';

interface ClockEvidence {
  serverDate?: string;
  /** This machine's time when that answer arrived (approximately). */
  localDate?: string;
  skewS?: number;
  /** Why there is no Date to compare with, from what http.main found (no address, no TLS, no answer, no header). */
  missing?: string;
}

const LIMIT_S = 60;

const check: CheckDef<ClockEvidence> = {
  meta: {
    id: 'env.clock',
    area: 'env',
    title: 'Clock in step with the servers',
    proves: "This machine's clock is within 60 s of the Date the platform's hosts answer with.",
    codes: {
      CLOCK_SKEW: {
        status: 'warn',
        why:
          "This machine's clock differs from the servers' by more than a minute: certificate dates and " +
          "time-limited TURN credentials are judged wrongly here (and on users' machines with the same drift).",
        fix:
          'Synchronise the clock (chrony/systemd-timesyncd with NTP) on this machine, or on the servers if ' +
          'they are the ones off.',
      },
    },
  },
  // http.main's own prerequisites too: when it was skipped, the reason names the one that failed.
  after: (ctx) => [...transportNeeds(ctx, 'main').map(needId), 'http.main'],
  async gather(ctx, up) {
    const http = evidenceOf(up, 'http.main');
    const answers = Object.values(http?.exchanges ?? {});
    const dated = answers.find((e) => e.headers?.date);
    if (!dated?.headers?.date) return { missing: missingDate(ctx.target.domain, up, answers) };
    const server = Date.parse(dated.headers.date);
    if (Number.isNaN(server)) return { serverDate: dated.headers.date };
    const local = ctx.now().getTime();
    return {
      serverDate: new Date(server).toISOString(),
      localDate: new Date(local).toISOString(),
      skewS: Math.round((local - server) / 1000),
    };
  },
  judge(ev) {
    if (ev.skewS === undefined)
      return {
        status: 'skip',
        message: ev.serverDate
          ? `unreadable Date header "${ev.serverDate}"`
          : `no Date to compare with: ${ev.missing ?? "none in the main host's answers"}`,
      };
    const off = Math.abs(ev.skewS);
    if (off > LIMIT_S)
      return {
        status: 'warn',
        code: 'CLOCK_SKEW',
        message:
          `this machine's clock is ${off} s ${ev.skewS > 0 ? 'ahead of' : 'behind'} the servers' ` +
          `(${ev.serverDate})`,
      };
    return { status: 'pass', message: `within ${Math.max(1, off)} s of the servers' Date` };
  },
};

/** Why no Date came back from the main host: it was never asked, nothing answered, or no answer had the header. */
function missingDate(host: string, up: Upstream, answers: HttpExchange[]): string {
  if (!answers.length) return `${host} was not asked (${causeOf(up, 'http.main')})`;
  const answered = answers.filter((e) => e.status !== undefined);
  // The failure itself is http.main's to say (once, with its fix): named here, not repeated.
  if (!answered.length) return `no HTTP answer from ${host} (${causeOf(up, 'http.main')})`;
  return `${host} answered without a Date header`;
}

export default check;
