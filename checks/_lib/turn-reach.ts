// turn.udp / turn.tcp: coturn answers a STUN Binding on its port over that transport.
import type { CheckDef, CheckResult, Judgement, RunContext, Upstream } from '../../src/model.js';
import { label, probeBinding, resolveTurn, type BindingEvidence, type TransportKind } from '../../src/probes/turn.js';
import type { Endpoint, Failure } from '../../src/probes/stun/transport.js';
import type { GatherTools } from '../../src/model.js';

export const TURN_FIREWALL_FIX =
  'coturn runs on the host network of TURN_HOST, not behind the HTTP ingress: open 3478/udp and 3478/tcp to it ' +
  'in the node firewall and any cloud security group or L4 load balancer, and check that coturn runs (`ss -lunpt ' +
  '| grep 3478` on the node).';

/** The TURN server's address, resolved once per run for every turn.* check. */
export function turnServer(ctx: RunContext, tools: GatherTools): Promise<Endpoint | Failure> {
  const { host, port } = ctx.target.turn;
  return tools.probe(`turn:resolve:${host}:${port}`, () => resolveTurn(host, port, ctx.timeoutMs));
}

/** The transports that answered, UDP first (what browsers try first): the rest of the TURN checks use them. */
export function reachableTransports(up: ReadonlyMap<string, { status: string }>): TransportKind[] {
  return (['udp', 'tcp'] as const).filter((k) => up.get(`turn.${k}`)?.status === 'pass');
}

/**
 * Why no transport is usable, from what turn.udp and turn.tcp found: both unreachable (with their codes), or not
 * tested at all (the TURN name does not resolve), in their own words.
 */
export function whyUnreachable(up: Upstream): string {
  const rs = (['udp', 'tcp'] as const).map((k): Pick<CheckResult, 'id' | 'status' | 'code' | 'message'> => {
    const r = up.get(`turn.${k}`);
    return r ?? { id: `turn.${k}`, status: 'skip', message: 'did not run' };
  });
  if (rs.every((r) => r.status === 'fail' || r.status === 'warn'))
    return `TURN is unreachable over UDP and TCP (${rs.map((r) => `${r.id} ${r.code ?? r.status}`).join(', ')})`;
  // One line per distinct outcome: both skipped for the same unresolved name is said once.
  const said = new Map<string, string[]>();
  for (const r of rs) {
    const verb = r.status === 'pass' ? 'passed' : r.status === 'warn' ? 'warned' : 'failed';
    const what = r.status === 'skip' ? r.message : `${verb}${r.code ? ` (${r.code})` : ''}`;
    said.set(what, [...(said.get(what) ?? []), r.id]);
  }
  return [...said.entries()].map(([what, ids]) => `${ids.join(' and ')}: ${what}`).join('; ');
}

export type ReachEvidence = (BindingEvidence | { transport: TransportKind; server: string; unresolved: string }) & {
  /** turn.udp only: whether turn.tcp got its Binding answered (the transport the platform actually hands out). */
  tcpAnswered?: boolean;
};

/** What browser-service/src/lib/turn.ts hands both WebRTC peers: a single TURN server, TCP only. */
export const PLATFORM_ICE = 'turn:<TURN_HOST>:<TURN_PORT>?transport=tcp';

export function turnReachCheck(kind: TransportKind): CheckDef<ReachEvidence> {
  const proto = kind.toUpperCase();
  return {
    // coturn follows the browser module (install.sh: COTURN_ENABLED="$BROWSER_ENABLED").
    module: 'browser',
    meta: {
      id: `turn.${kind}`,
      area: 'turn',
      title: `TURN reachable over ${proto}`,
      proves:
        `coturn answers a STUN Binding on the TURN port over ${proto}; the answer shows this machine's ` +
        `address as the server sees it.`,
      codes: {
        TURN_UNREACHABLE: {
          status: 'fail',
          why:
            `Nothing answers on the TURN port over ${proto}: the port is closed (ICMP unreachable / TCP ` +
            `refused), or coturn is not running. (A TURN name that does not resolve is skip: a DNS fault, ` +
            `reported by the DNS checks.)`,
          fix: TURN_FIREWALL_FIX,
        },
        TURN_TIMEOUT: {
          status: 'fail',
          why: `The TURN port over ${proto} swallows packets: a firewall or security group drops them.`,
          fix: TURN_FIREWALL_FIX,
        },
        ...(kind === 'udp'
          ? {
              TURN_UDP_UNUSED: {
                status: 'warn' as const,
                why:
                  `UDP to the TURN port gets no answer while TCP does. The platform hands both WebRTC peers ` +
                  `(the user's browser and neko in its pod) a single ICE server, ${PLATFORM_ICE} ` +
                  `(browser-service/src/lib/turn.ts), so nothing uses UDP today; the install guide opens ` +
                  `3478/udp anyway.`,
                fix:
                  'Nothing breaks today: the platform relays over TCP only. Open 3478/udp to TURN_HOST as the ' +
                  'install guide says (node firewall, security group) if UDP should work too, e.g. for a later ' +
                  'platform version that hands it out.',
              },
            }
          : {}),
      },
    },
    async gather(ctx, _up, tools) {
      const server = await turnServer(ctx, tools);
      const name = `${ctx.target.turn.host}:${ctx.target.turn.port}`;
      if ('kind' in server) return { transport: kind, server: name, unresolved: server.error };
      const binding = (k: TransportKind) =>
        tools.probe(`turn:binding:${k}:${label(server)}`, () => probeBinding(k, server, ctx.timeoutMs));
      if (kind === 'tcp') return binding('tcp');
      // turn.tcp's own Binding (one shared probe, side by side): whether the transport the platform uses answers.
      const [udp, tcp] = await Promise.all([binding('udp'), binding('tcp')]);
      return { ...udp, tcpAnswered: tcp.ok };
    },
    judge(ev, ctx): Judgement {
      const host = ev.server;
      // An unresolvable name is a DNS fault, reported by the DNS checks: firewall advice here would mislead.
      if ('unresolved' in ev)
        return {
          status: 'skip',
          host,
          message:
            `TURN server ${ev.server}: ${ev.unresolved}; nothing to test until DNS answers (see the dns.* ` +
            `checks), or give --turn <ip>`,
        };
      if (ev.ok)
        return {
          status: 'pass',
          host,
          message:
            `Binding answered over ${proto} in ${ev.rttMs} ms; this machine is ` +
            `${ev.mapped ? `${ev.mapped.address}:${ev.mapped.port}` : '(no mapped address)'} as the server sees it`,
        };
      const f = ev.failure!;
      const fact =
        f.kind === 'timeout'
          ? `no STUN answer from ${ev.server} over ${proto}: ${f.error} (packets dropped on the way)`
          : `${ev.server} over ${proto}: ${
              f.kind === 'malformed' || f.kind === 'flood' ? `answers, but not as a STUN server: ${f.error}` : f.error
            }`;
      if (ev.tcpAnswered) {
        const { host: turnHost, port } = ctx.target.turn;
        return {
          status: 'warn',
          code: 'TURN_UDP_UNUSED',
          host,
          message:
            `${fact}; TCP answers, and the platform hands clients only ` +
            `turn:${turnHost}:${port}?transport=tcp (browser-service/src/lib/turn.ts), so nothing uses UDP today ` +
            `(the install guide opens 3478/udp anyway)`,
        };
      }
      return { status: 'fail', code: f.kind === 'timeout' ? 'TURN_TIMEOUT' : 'TURN_UNREACHABLE', host, message: fact };
    },
  };
}
