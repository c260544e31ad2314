// turn.relay: real data through sampled allocations, over UDP and TCP to the server: the relay address is one
// browsers can reach, its port is in the opened range, and a datagram to it comes back through the allocation.
import type { CheckDef, Judgement } from '../src/model.js';
import { label, probeRelay, type RelaySample } from '../src/probes/turn.js';
import { isPrivate } from './_lib/ip.js';
import { reachableTransports, turnServer } from './_lib/turn-reach.js';

interface RelayEvidence {
  server?: string;
  range: [number, number];
  samples: RelaySample[];
  unavailable?: string;
}

const addr = (s: RelaySample) => (s.relayed ? `${s.relayed.address}:${s.relayed.port}` : '?');

const check: CheckDef<RelayEvidence> = {
  meta: {
    id: 'turn.relay',
    area: 'turn',
    title: 'TURN relays data',
    proves: 'For --relay-samples allocations over each reachable transport, the relayed address is one clients can reach, its port lies in --relay-range, and a datagram sent to it arrives back through the allocation.',
    codes: {
      TURN_RELAY_PRIVATE: { status: 'fail', why: 'coturn hands out a private relay address while clients reach it on a public one: it sits behind NAT without announcing its public address, so media never arrives.', fix: 'Set external-ip=<public IP>/<private IP> in turnserver.conf (coturn --external-ip).' },
      TURN_RELAY_OUT_OF_RANGE: { status: 'fail', why: 'A relay port lies outside the range the firewall opens (the platform opens 49152–49252/udp; coturn defaults to 49152–65535).', fix: 'Set min-port=49152 and max-port=49252 in turnserver.conf (or open the range coturn uses).' },
      TURN_RELAY_BLOCKED: { status: 'fail', why: 'Datagrams to the relay port never arrive: a firewall drops the relay range.', fix: 'Open 49152-49252/udp inbound to TURN_HOST in the node firewall and cloud security group (e.g. iptables -A INPUT -p udp --dport 49152:49252 -j ACCEPT).' },
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
    // Each sample is its own socket: coturn allows one allocation per 5-tuple.
    const samples = await Promise.all(kinds.flatMap((k) => Array.from({ length: ctx.turn.relaySamples }, () => probeRelay(k, server, ctx.timeoutMs, creds))));
    return { server: label(server), range, samples };
  },
  judge(ev): Judgement {
    if (ev.unavailable) return { status: 'skip', message: `skipped: ${ev.unavailable}` };
    const host = ev.server;
    const serverIp = (ev.server ?? '').replace(/^\[?([^\]]*)\]?:\d+$/, '$1');
    const allocated = ev.samples.filter((s) => s.relayed);
    if (!allocated.length) return { status: 'fail', code: 'TURN_RELAY_BLOCKED', host, message: `no allocation succeeded: ${ev.samples[0]?.error ?? 'no sample ran'}` };
    const priv = allocated.find((s) => isPrivate(s.relayed!.address) && s.relayed!.address !== serverIp && !isPrivate(serverIp));
    if (priv) return { status: 'fail', code: 'TURN_RELAY_PRIVATE', host, message: `relayed address ${priv.relayed!.address} is private while clients reach the server at ${serverIp}`, fix: `Set external-ip=${serverIp}/${priv.relayed!.address} in turnserver.conf.` };
    const [lo, hi] = ev.range;
    const out = allocated.filter((s) => s.relayed!.port < lo || s.relayed!.port > hi);
    if (out.length) return { status: 'fail', code: 'TURN_RELAY_OUT_OF_RANGE', host, message: `relay port${out.length > 1 ? 's' : ''} ${out.map((s) => s.relayed!.port).join(', ')} outside ${lo}-${hi}`, fix: `Set min-port=${lo} and max-port=${hi} in turnserver.conf.` };
    const worked = ev.samples.filter((s) => s.dataBack);
    const failed = ev.samples.filter((s) => !s.dataBack);
    const list = (xs: RelaySample[]) => xs.map((s) => `${addr(s)}/${s.transport}`).join(', ');
    if (failed.length) {
      return {
        status: 'fail', code: 'TURN_RELAY_BLOCKED', host,
        message: `${failed.length} of ${ev.samples.length} allocations relayed nothing back (${list(failed)}: ${failed[0]?.error ?? ''})${worked.length ? `; these worked: ${list(worked)}` : ''}`,
        fix: `Open ${lo}-${hi}/udp inbound to the TURN host (iptables -A INPUT -p udp --dport ${lo}:${hi} -j ACCEPT, or the security-group rule).`,
      };
    }
    const kinds = [...new Set(ev.samples.map((s) => s.transport.toUpperCase()))].join(' and ');
    return { status: 'pass', host, message: `${ev.samples.length} allocations over ${kinds} relayed data back; ports ${allocated.map((s) => s.relayed!.port).join(', ')} in ${lo}-${hi}` };
  },
};

export default check;
