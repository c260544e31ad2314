// turn.peers: the relay is no way into the cluster. Only permission requests are sent — never a packet to a peer.
import type { CheckDef, Judgement } from '../src/model.js';
import { INTERNAL_PEERS, label, probePeers, type PeerVerdict } from '../src/probes/turn.js';
import { reachableTransports, turnServer, whyUnreachable } from './_lib/turn-reach.js';

interface PeersEvidence {
  server?: string;
  verdicts: PeerVerdict[];
  error?: string;
  unavailable?: string;
}

const check: CheckDef<PeersEvidence> = {
  // coturn follows the browser module (install.sh: COTURN_ENABLED="$BROWSER_ENABLED").
  module: 'browser',
  meta: {
    id: 'turn.peers',
    area: 'turn',
    title: 'TURN refuses internal peers',
    proves:
      `The server refuses (403) permissions to loopback, RFC 1918 and link-local/metadata peers ` +
      `(${INTERNAL_PEERS.join(', ')}); the check only asks, it never sends them anything.`,
    codes: {
      TURN_OPEN_TO_INTERNAL: {
        status: 'warn',
        why:
          'The server would relay to internal addresses: anyone with TURN credentials (every user gets them) ' +
          'can reach services inside the cluster network, or the cloud metadata endpoint, through it.',
        fix:
          'Add to turnserver.conf: denied-peer-ip=10.0.0.0-10.255.255.255, ' +
          'denied-peer-ip=172.16.0.0-172.31.255.255, denied-peer-ip=192.168.0.0-192.168.255.255, ' +
          'denied-peer-ip=169.254.0.0-169.254.255.255, denied-peer-ip=127.0.0.0-127.255.255.255 (and no ' +
          'allow-loopback-peers); then allowed-peer-ip=<pod CIDR range> (allowed wins over denied): the ' +
          "platform's own TURN peers are the neko pods, ICE-lite with pod-network host candidates only " +
          '(browser-service/src/services/sandbox.ts), so denying the pod range breaks remote browsers.',
      },
    },
  },
  needs: () => ['turn.auth'],
  after: () => ['turn.udp', 'turn.tcp'],
  async gather(ctx, up, tools) {
    const creds = ctx.turn.credentials;
    if (!creds) return { verdicts: [], unavailable: 'no TURN credentials (see turn.auth)' };
    const server = await turnServer(ctx, tools);
    if ('kind' in server) return { verdicts: [], unavailable: server.error };
    const [kind] = reachableTransports(up);
    if (!kind) return { verdicts: [], unavailable: whyUnreachable(up) };
    return { server: label(server), ...(await probePeers(kind, server, ctx.timeoutMs, creds)) };
  },
  judge(ev): Judgement {
    if (ev.unavailable) return { status: 'skip', message: `skipped: ${ev.unavailable}` };
    const host = ev.server;
    if (ev.error) return { status: 'skip', host, message: `could not allocate to ask: ${ev.error}` };
    const open = ev.verdicts.filter((v) => v.result === 'accepted');
    if (open.length)
      return {
        status: 'warn',
        code: 'TURN_OPEN_TO_INTERNAL',
        host,
        message: `permissions granted for internal peers ${open.map((v) => v.peer).join(', ')}`,
      };
    const refused = ev.verdicts.filter((v) => v.result === 'refused');
    const odd = ev.verdicts.filter((v) => v.result === 'error');
    const answers = odd.map((v) => `${v.peer}: ${v.code ?? v.detail}`).join(', ');
    // Not one permission refused (every one an error or no answer): nothing about internal peers is proven.
    if (!refused.length)
      return {
        status: 'skip',
        host,
        message: `no permission request was refused or granted: ${answers || 'none was asked'}`,
      };
    const others = odd.length ? `; others answered ${answers}` : '';
    return { status: 'pass', host, message: `refused ${refused.map((v) => v.peer).join(', ')}${others}` };
  },
};

export default check;
