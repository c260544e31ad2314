// dns.<role>: the name resolves, through this machine and through every DNS server asked, to the same addresses.
import { inert } from '../../src/inert.js';
import { activeRoles, assumedModuleHint, moduleOfRole, namesPhrase } from '../../src/modules.js';
import net from 'node:net';
import { ROLES, type CheckDef, type Judgement, type Role, type RunContext } from '../../src/model.js';
import { resolveName, type ServerView } from '../../src/probes/dns.js';
import { chooseAddress, preferredOrder } from '../../src/probes/reach.js';
import type { DnsEvidence } from './evidence.js';

const RECORD_HINT: Record<Role, string> = {
  main: 'the main domain',
  files: 'the public file export host',
  browsers: 'the remote-browser host',
  sandbox: 'the sandbox API host',
  preview: 'a sandbox preview host (wildcard)',
};

function recordFix(ctx: RunContext, role: Role): string {
  const host = ctx.target.hosts[role];
  const to = ctx.expectIps.length
    ? ctx.expectIps.join(', ')
    : 'your ingress address (the EXTERNAL-IP of the ingress controller Service, or the VIP in front of it)';
  if (role === 'preview') {
    const wild = `*.sandbox.${ctx.target.domain}`;
    return (
      `Add a wildcard record ${wild} A/AAAA → ${to}, or ${wild} CNAME sandbox.${ctx.target.domain}. It must ` +
      `be a wildcard: every sandbox preview is a new name like {id}-{port}.sandbox.${ctx.target.domain}.` +
      assumedModuleHint(ctx.modules, role)
    );
  }
  const names = namesPhrase(activeRoles(ctx.modules, ROLES).length);
  return (
    `Add an A/AAAA record ${host} → ${to}; ${names} must point at the same ingress address.` +
    assumedModuleHint(ctx.modules, role)
  );
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const list = (a: string[]) => (a.length ? a.join(', ') : 'nothing');

export function dnsNameCheck(role: Role): CheckDef<DnsEvidence> {
  return {
    ...moduleOfRole(role),
    meta: {
      id: `dns.${role}`,
      area: 'dns',
      title: `DNS for ${RECORD_HINT[role]}`,
      proves:
        role === 'preview'
          ? 'A fresh random name under sandbox.<d> resolves (the wildcard record exists), via this machine and ' +
            'every DNS server asked, with its CNAME chain kept.'
          : `The ${role === 'main' ? '<d>' : `${role}.<d>`} name resolves to an address via this machine and ` +
            `every DNS server asked, and they agree.`,
      codes: {
        DNS_NXDOMAIN: {
          status: 'fail',
          why:
            'A DNS server says the name does not exist: the record (or, for previews, the wildcard) was never ' +
            'created, or was created in another zone.',
          fix:
            'Create it in the zone that is authoritative for the domain (`dig NS <d>` names its servers); ' +
            "resolvers cache the NXDOMAIN for the zone's SOA negative TTL, so a new record can take that long to " +
            'appear.',
        },
        DNS_SERVFAIL: {
          status: 'fail',
          why:
            'A DNS server failed to resolve the name (SERVFAIL, REFUSED or an unreadable answer): broken ' +
            'delegation, DNSSEC failure, or a resolver that will not recurse for this client.',
          fix:
            'Check the delegation and DNSSEC of the zone (`dig +trace <host>`), and that the resolver allows ' +
            'recursion for this client.',
        },
        DNS_TIMEOUT: {
          status: 'fail',
          why:
            'A DNS server did not answer within --timeout: it is unreachable (firewall on UDP/TCP 53) or the ' +
            'authoritative servers do not answer it.',
          fix:
            'Check that the resolver is reachable on UDP and TCP port 53 from this machine and that the ' +
            "zone's authoritative servers answer.",
        },
        DNS_UNREACHABLE: {
          status: 'fail',
          why:
            'Nothing listens for DNS at the server asked: the query was refused outright (ICMP port ' +
            'unreachable, TCP reset). It is not a slow server but no server: a wrong resolver address, or the ' +
            'DNS service is down.',
          fix:
            'Point /etc/resolv.conf (or --resolver) at a DNS server that runs, and check that it listens on ' +
            'UDP and TCP port 53 (`ss -lunpt | grep :53` on it).',
        },
        DNS_NO_ADDRESS: {
          status: 'fail',
          why:
            'The name exists but has no A or AAAA record (only other types, or a CNAME whose target has no ' +
            'address).',
          fix:
            'Give the name (or the end of its CNAME chain) an A/AAAA record pointing at the ingress; a CNAME ' +
            'must end at a name that has one.',
        },
        DNS_LOCAL_OVERRIDE: {
          status: 'warn',
          why:
            'This machine resolves the name differently from DNS (an /etc/hosts entry or a local resolver), ' +
            'or DNS servers disagree (split horizon): what you test here is not what users get.',
          fix:
            'Remove the /etc/hosts entry (or local override) once DNS is in place, or test the ingress before ' +
            'DNS with --ingress-ip; for split horizon make sure every view points at a reachable ingress address.',
        },
      },
    },
    appliesTo(ctx) {
      if (ctx.mode !== 'nodeport') return true;
      if (role !== 'main') return 'NodePort mode: every service is on NAP_HOST, told apart by port';
      return net.isIP(ctx.target.domain) ? 'NodePort mode on an IP address: no name to resolve' : true;
    },
    async gather(ctx, _up, tools) {
      const host = ctx.target.hosts[role];
      const ev = await tools.probe(`dns:${host}`, () => resolveName(host, ctx.resolvers, ctx.timeoutMs, tools.signal));
      const dnsAddresses = ev.servers.length ? [...new Set(ev.servers.flatMap((s) => s.addresses))] : ev.os.addresses;
      const connectAddresses = preferredOrder(ev.os.addresses.length ? ev.os.addresses : dnsAddresses, ctx.ipFamily);
      const port = ctx.mode === 'nodeport' ? (ctx.nodePorts?.main ?? ctx.httpPort) : ctx.httpsPort;
      // Names sharing an address set share one race.
      const choice =
        connectAddresses.length > 1
          ? await tools.probe(`reach:${[...connectAddresses].sort().join(',')}:${port}`, () =>
              chooseAddress(connectAddresses, port, ctx.timeoutMs, tools.signal),
            )
          : undefined;
      const connectAddress = choice?.chosen ?? connectAddresses[0];
      return {
        ...ev,
        role,
        dnsAddresses,
        connectAddresses,
        ...(connectAddress ? { connectAddress } : {}),
        ...(choice ? { choice } : {}),
      };
    },
    judge(ev, ctx): Judgement {
      const host = ev.host;
      const fix = recordFix(ctx, role);
      const worst = firstFailing(ev.servers);
      if (worst) {
        const also =
          ev.os.outcome === 'answer'
            ? ` (this machine still resolves it to ${list(ev.os.addresses)}, from /etc/hosts or a local cache)`
            : '';
        // Names a DNS server answered are its text: inert (src/inert.ts).
        const chain = worst.cnames.length ? ` via CNAME ${inert(worst.cnames.join(' → '))}` : '';
        const noWildcard = role === 'preview' ? `: no wildcard record for *.sandbox.${ctx.target.domain}` : '';
        switch (worst.outcome) {
          case 'nxdomain':
            return {
              status: 'fail',
              code: 'DNS_NXDOMAIN',
              host,
              fix,
              message: `${host}${chain} does not exist (NXDOMAIN from ${worst.server})${noWildcard}${also}`,
            };
          case 'nodata':
            return {
              status: 'fail',
              code: 'DNS_NO_ADDRESS',
              host,
              fix,
              message: `${host}${chain} exists but has no A/AAAA record (answer from ${worst.server})${also}`,
            };
          case 'timeout':
            return {
              status: 'fail',
              code: 'DNS_TIMEOUT',
              host,
              message:
                `${worst.server} did not answer for ${host}: ` +
                `${worst.answers.find((a) => a.error)?.error ?? 'no answer'}${also}`,
            };
          case 'error': {
            // Refused at once is a different fault from silence: no server there, not a slow or filtered one.
            const error = worst.answers.find((a) => a.error)?.error ?? 'refused';
            // No route: nothing was sent, so nothing is known about the server, only about this machine's network.
            if (error.startsWith('no route to it'))
              return {
                status: 'fail',
                code: 'DNS_UNREACHABLE',
                host,
                message: `cannot ask ${worst.server} for ${host}: ${error}${also}`,
                fix:
                  `This machine has no route to ${worst.server}: join the network (or VPN) that reaches it, or ` +
                  'point /etc/resolv.conf (or --resolver) at a DNS server this machine reaches.',
                replacesFix: true,
              };
            return {
              status: 'fail',
              code: 'DNS_UNREACHABLE',
              host,
              message: `no DNS server at ${worst.server} to ask for ${host}: ${error}${also}`,
            };
          }
          default:
            return {
              status: 'fail',
              code: 'DNS_SERVFAIL',
              host,
              message: `${worst.server} failed to resolve ${host}: ${describe(worst)}${also}`,
            };
        }
      }
      if (!ev.servers.length) return judgeOsOnly(ev, fix);
      const views = ev.servers.map((s) => ({ label: s.server, addresses: s.addresses }));
      const first = views[0]!;
      const odd = views.find((v) => !sameSet(v.addresses, first.addresses));
      if (odd) {
        return {
          status: 'warn',
          code: 'DNS_LOCAL_OVERRIDE',
          host,
          message:
            `DNS servers disagree on ${host}: ${first.label} says ${list(first.addresses)}, ${odd.label} ` +
            `says ${list(odd.addresses)} (split horizon)`,
        };
      }
      if (ev.os.outcome === 'answer' && !sameSet(ev.os.addresses, ev.dnsAddresses)) {
        return {
          status: 'warn',
          code: 'DNS_LOCAL_OVERRIDE',
          host,
          message:
            `this machine resolves ${host} to ${list(ev.os.addresses)} but DNS (${first.label}) says ` +
            `${list(ev.dnsAddresses)}: an /etc/hosts entry or local resolver overrides DNS`,
        };
      }
      if (ev.os.outcome !== 'answer') {
        return {
          status: 'warn',
          code: 'DNS_LOCAL_OVERRIDE',
          host,
          message:
            `DNS (${first.label}) resolves ${host} to ${list(ev.dnsAddresses)} but this machine's ` +
            `resolver does not (${ev.os.error ?? ev.os.outcome})`,
        };
      }
      if (ctx.ipFamily && ctx.ipFamily !== 'auto' && !ev.connectAddresses.length) {
        return {
          status: 'fail',
          code: 'DNS_NO_ADDRESS',
          host,
          fix,
          message:
            `${host} has no ${ctx.ipFamily === '6' ? 'AAAA' : 'A'} record (only ` +
            `${list(ev.dnsAddresses)}), and --ip-family ${ctx.ipFamily} allows only IPv${ctx.ipFamily}`,
        };
      }
      const via = ev.servers.find((s) => s.cnames.length)?.cnames;
      const agree = ev.servers.length > 1 ? `; ${ev.servers.length} DNS servers agree` : '';
      return {
        status: 'pass',
        host,
        message: `${list(ev.dnsAddresses)}${via ? ` via CNAME ${inert(via.join(' → '))}` : ''}${agree}`,
      };
    },
  };
}

const SEVERITY = ['nxdomain', 'servfail', 'refused', 'malformed', 'error', 'timeout', 'nodata'] as const;

function firstFailing(servers: ServerView[]): ServerView | undefined {
  for (const o of SEVERITY) {
    const s = servers.find((v) => v.outcome === o);
    if (s) return s;
  }
  return undefined;
}

function describe(s: ServerView): string {
  const a = s.answers.find((x) => x.outcome === s.outcome);
  if (s.outcome === 'malformed') return a?.error ?? 'unreadable answer';
  return a?.rcode ?? s.outcome.toUpperCase();
}

function judgeOsOnly(ev: DnsEvidence, fix: string): Judgement {
  const host = ev.host;
  switch (ev.os.outcome) {
    case 'answer':
      return {
        status: 'pass',
        host,
        message: `${list(ev.os.addresses)} (this machine's resolver; no DNS server to ask directly)`,
      };
    case 'notfound':
      return {
        status: 'fail',
        code: 'DNS_NXDOMAIN',
        host,
        fix,
        message: `${host} does not resolve on this machine (${ev.os.error})`,
      };
    case 'tempfail':
      return {
        status: 'fail',
        code: 'DNS_SERVFAIL',
        host,
        message: `temporary failure resolving ${host} (${ev.os.error})`,
      };
    default:
      return { status: 'fail', code: 'DNS_TIMEOUT', host, message: `${host}: ${ev.os.error ?? 'no answer'}` };
  }
}
