// env.clock: this machine's clock agrees with the servers' — certificate validity and TURN credentials depend on it.
import type { CheckDef } from '../src/model.js';
import { evidenceOf } from './_lib/evidence.js';

interface ClockEvidence {
  serverDate?: string;
  /** This machine's time when that answer arrived (approximately). */
  localDate?: string;
  skewS?: number;
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
  after: () => ['http.main'],
  async gather(ctx, up) {
    const http = evidenceOf(up, 'http.main');
    const dated = Object.values(http?.exchanges ?? {}).find((e) => e.headers?.date);
    if (!dated?.headers?.date) return {};
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
          : 'no Date header from the main host to compare with',
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

export default check;
