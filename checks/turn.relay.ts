// turn.relay: real data through sampled allocations, over UDP and TCP to the server: the relay address is one
// browsers can reach, its port is in the opened range, and a datagram to it comes back through the allocation.
import type { CheckDef, Judgement } from '../src/model.js';
import { label, probeRelay, type RelaySample } from '../src/probes/turn.js';
import { isPrivate } from './_lib/ip.js';
import { reachableTransports, turnServer, whyUnreachable } from './_lib/turn-reach.js';

interface RelayEvidence {
  server?: string;
  range: [number, number];
  samples: RelaySample[];
  unavailable?: string;
}

/**
 * What the platform needs of the relay range. browser-service/src/services/sandbox.ts starts neko with
 * NEKO_WEBRTC_ICELITE=true: an ICE-lite agent offers only host candidates (the pod's own address) and neko then
 * drops its backend ICE servers. The user's browser, given only turn:<TURN_HOST>:<TURN_PORT>?transport=tcp
 * (browser-service/src/lib/turn.ts), relays through coturn; so media flows between coturn's relay ports and the
 * pod, inside the cluster. A datagram from this machine to a relay port proves more than that path needs.
 */
const PLATFORM_PATH =
  "the platform's media flows between coturn's relay ports and the neko pod inside the cluster (neko is ICE-lite " +
  'with host candidates only; browsers relay over TCP)';
const IN_CLUSTER = 'run nap-verify from inside the cluster (`nap-verify kit job`) to test that path';

const addr = (s: RelaySample) => (s.relayed ? `${s.relayed.address}:${s.relayed.port}` : '?');

const check: CheckDef<RelayEvidence> = {
  // coturn follows the browser module (install.sh: COTURN_ENABLED="$BROWSER_ENABLED").
  module: 'browser',
  meta: {
    id: 'turn.relay',
    area: 'turn',
    title: 'TURN relays data',
    proves:
      'For --relay-samples allocations over each reachable transport, the relayed address is one clients can ' +
      'reach, its port lies in --relay-range, and a datagram sent to it from this machine arrives back through ' +
      'the allocation. From outside the cluster that is stricter than the platform needs: its media flows ' +
      'between the relay ports and the neko pod inside the cluster.',
    codes: {
      TURN_RELAY_PRIVATE: {
        status: 'fail',
        why:
          'coturn hands out a private relay address while clients reach it on a public one: it sits behind ' +
          'NAT without announcing its public address, so media never arrives.',
        fix: 'Set external-ip=<public IP>/<private IP> in turnserver.conf (coturn --external-ip).',
      },
      TURN_RELAY_OUT_OF_RANGE: {
        status: 'fail',
        why:
          'A relay port lies outside the range the firewall opens (the platform opens 49152–49252/udp; coturn ' +
          'defaults to 49152–65535).',
        fix: 'Set min-port=49152 and max-port=49252 in turnserver.conf (or open the range coturn uses).',
      },
      TURN_RELAY_BLOCKED: {
        status: 'fail',
        why:
          'Datagrams from this machine to the relay port never arrive: a firewall drops the relay range on ' +
          "the way from here. The platform's own media reaches the relay ports from the neko pod inside the " +
          'cluster, so from outside this is stricter than the platform needs; from inside the cluster it is the ' +
          'path the platform uses.',
        fix:
          'Open 49152-49252/udp inbound to TURN_HOST in the node firewall and cloud security group as the ' +
          'install guide says (e.g. iptables -A INPUT -p udp --dport 49152:49252 -j ACCEPT); at the least from ' +
          'the pod network. Run `nap-verify kit job` to test from inside the cluster.',
      },
    },
  },
  needs: () => ['turn.auth'],
  after: () => ['turn.udp', 'turn.tcp'],
  deadlineMs: (ctx) => ctx.timeoutMs * 6 + 2000,
  async gather(ctx, up, tools) {
    const range = ctx.turn.relayRange;
    const creds = ctx.turn.credentials;
    if (!creds) return { range, samples: [], unavailable: 'no TURN credentials (see turn.auth)' };
    const server = await turnServer(ctx, tools);
    if ('kind' in server) return { range, samples: [], unavailable: server.error };
    const kinds = reachableTransports(up);
    if (!kinds.length) return { server: label(server), range, samples: [], unavailable: whyUnreachable(up) };
    // Each sample is its own socket: coturn allows one allocation per 5-tuple.
    const samples = await Promise.all(
      kinds.flatMap((k) =>
        Array.from({ length: ctx.turn.relaySamples }, () => probeRelay(k, server, ctx.timeoutMs, creds)),
      ),
    );
    return { server: label(server), range, samples };
  },
  judge(ev): Judgement {
    if (ev.unavailable) return { status: 'skip', message: `skipped: ${ev.unavailable}` };
    const host = ev.server;
    const serverIp = (ev.server ?? '').replace(/^\[?([^\]]*)\]?:\d+$/, '$1');
    const allocated = ev.samples.filter((s) => s.relayed);
    if (!allocated.length)
      return {
        status: 'fail',
        code: 'TURN_RELAY_BLOCKED',
        host,
        message: `no allocation succeeded: ${ev.samples[0]?.error ?? 'no sample ran'}`,
      };
    const priv = allocated.find(
      (s) => isPrivate(s.relayed!.address) && s.relayed!.address !== serverIp && !isPrivate(serverIp),
    );
    if (priv)
      return {
        status: 'fail',
        code: 'TURN_RELAY_PRIVATE',
        host,
        message: `relayed address ${priv.relayed!.address} is private while clients reach the server at ${serverIp}`,
        fix: `Set external-ip=${serverIp}/${priv.relayed!.address} in turnserver.conf.`,
      };
    const [lo, hi] = ev.range;
    const out = allocated.filter((s) => s.relayed!.port < lo || s.relayed!.port > hi);
    if (out.length)
      return {
        status: 'fail',
        code: 'TURN_RELAY_OUT_OF_RANGE',
        host,
        message:
          `relay port${out.length > 1 ? 's' : ''} ${out.map((s) => s.relayed!.port).join(', ')} outside ` +
          `${lo}-${hi}`,
        fix: `Set min-port=${lo} and max-port=${hi} in turnserver.conf.`,
      };
    const worked = ev.samples.filter((s) => s.dataBack);
    const failed = ev.samples.filter((s) => !s.dataBack);
    const list = (xs: RelaySample[]) => xs.map((s) => `${addr(s)}/${s.transport}`).join(', ');
    if (failed.length) {
      const alsoWorked = worked.length ? `; these worked: ${list(worked)}` : '';
      return {
        status: 'fail',
        code: 'TURN_RELAY_BLOCKED',
        host,
        message:
          `${failed.length} of ${ev.samples.length} allocations relayed nothing back to this machine ` +
          `(${list(failed)}: ${failed[0]?.error ?? ''})${alsoWorked}; proven from here (outside the cluster), ` +
          `which is stricter than the platform needs: ${PLATFORM_PATH}; ${IN_CLUSTER}`,
        fix:
          `Open ${lo}-${hi}/udp inbound to the TURN host as the install guide says (iptables -A INPUT -p udp ` +
          `--dport ${lo}:${hi} -j ACCEPT, or the security-group rule); the platform itself needs it open at ` +
          `least from the pod network.`,
      };
    }
    const kinds = [...new Set(ev.samples.map((s) => s.transport.toUpperCase()))].join(' and ');
    return {
      status: 'pass',
      host,
      message:
        `from here (outside the cluster), ${ev.samples.length} allocations over ${kinds} relayed data ` +
        `back; ports ${allocated.map((s) => s.relayed!.port).join(', ')} in ${lo}-${hi} (more than the platform ` +
        `needs: its media reaches the relay from the neko pod inside the cluster)`,
    };
  },
};

export default check;
