// dns.consistent: every name lands on one ingress address set (and the expected one, when --expect-ip says so).
import { ROLES, type CheckDef, type Role } from '../src/model.js';
import { activeRoles, namesPhrase } from '../src/modules.js';
import { evidenceOf } from './_lib/evidence.js';

interface ConsistencyEvidence {
  /** Addresses DNS gives each name that resolved. */
  sets: Partial<Record<Role, string[]>>;
  /** Names whose own DNS check failed or skipped, with that check's code. */
  unresolved: Partial<Record<Role, string>>;
  expect: string[];
}

const key = (a: string[]) => [...a].sort().join(', ');

const check: CheckDef<ConsistencyEvidence> = {
  meta: {
    id: 'dns.consistent',
    area: 'dns',
    title: 'All names on one ingress address',
    proves:
      'The five names resolve to one and the same address set (the ingress VIP), equal to --expect-ip when given.',
    codes: {
      DNS_DIVERGENT: {
        status: 'fail',
        why:
          'Some names point at a different address than the others: an old record, a typo, or a record ' +
          'pointing at a node instead of the ingress VIP.',
        fix:
          'Point every name at the same ingress address; `kubectl get svc -A | grep -i ingress` shows the ' +
          "controller's EXTERNAL-IP.",
      },
      DNS_UNEXPECTED_IP: {
        status: 'fail',
        why: 'A name resolves, but not to the address you said the ingress has (--expect-ip).',
        fix: 'Update the records to the ingress address, or correct --expect-ip.',
      },
    },
  },
  appliesTo: (ctx) => (ctx.mode === 'nodeport' ? 'NodePort mode: one host for every service' : true),
  after: (ctx) => activeRoles(ctx.modules, ROLES).map((r) => `dns.${r}`),
  async gather(ctx, up) {
    const sets: ConsistencyEvidence['sets'] = {};
    const unresolved: ConsistencyEvidence['unresolved'] = {};
    for (const role of activeRoles(ctx.modules, ROLES)) {
      const r = up.get(`dns.${role}`);
      const ev = evidenceOf(up, `dns.${role}`);
      if (!r || r.status === 'fail' || r.status === 'skip' || !ev?.dnsAddresses?.length)
        unresolved[role] = r?.code ?? r?.status ?? 'not run';
      else sets[role] = ev.dnsAddresses;
    }
    return { sets, unresolved, expect: ctx.expectIps };
  },
  judge(ev, ctx) {
    const roles = Object.keys(ev.sets) as Role[];
    const host = (r: Role) => ctx.target.hosts[r];
    if (ev.expect.length) {
      const wrong = roles.filter((r) => key(ev.sets[r]!) !== key(ev.expect));
      if (wrong.length) {
        return {
          status: 'fail',
          code: 'DNS_UNEXPECTED_IP',
          message: `${wrong.map((r) => `${host(r)} → ${key(ev.sets[r]!)}`).join('; ')} (expected ${key(ev.expect)})`,
          fix: `Point ${wrong.map(host).join(', ')} at ${key(ev.expect)}.`,
        };
      }
    }
    const groups = new Map<string, Role[]>();
    for (const r of roles) groups.set(key(ev.sets[r]!), [...(groups.get(key(ev.sets[r]!)) ?? []), r]);
    if (groups.size > 1) {
      const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
      const [majority] = sorted[0]!;
      return {
        status: 'fail',
        code: 'DNS_DIVERGENT',
        message: sorted.map(([addrs, rs]) => `${rs.map(host).join(', ')} → ${addrs}`).join('; '),
        fix: `Point ${sorted
          .slice(1)
          .flatMap(([, rs]) => rs.map(host))
          .join(', ')} at ${majority} like the others (if that is the ingress).`,
      };
    }
    const missing = Object.entries(ev.unresolved);
    if (missing.length) {
      const othersAgree = roles.length > 1 ? ` (the other ${roles.length} agree)` : '';
      return {
        status: 'skip',
        message: `cannot compare: ${missing.map(([r, c]) => `dns.${r} ${c}`).join(', ')}${othersAgree}`,
      };
    }
    return {
      status: 'pass',
      message: `${namesPhrase(roles.length)} → ${[...groups.keys()][0]}${ev.expect.length ? ' as expected' : ''}`,
    };
  },
};

export default check;
