// turn.auth: the server challenges an anonymous Allocate (401 with its realm) and accepts ours.
import type { CheckDef, Judgement } from '../src/model.js';
import { probeAuth, type AuthEvidence } from '../src/probes/turn.js';
import { reachableTransports, turnServer, whyUnreachable } from './_lib/turn-reach.js';

export type TurnAuthEvidence = AuthEvidence | { unavailable: string };

const check: CheckDef<TurnAuthEvidence> = {
  // coturn follows the browser module (install.sh: COTURN_ENABLED="$BROWSER_ENABLED").
  module: 'browser',
  meta: {
    id: 'turn.auth',
    area: 'turn',
    title: 'TURN credentials',
    proves:
      'An Allocate without credentials is challenged (401 with a realm and nonce), and with the REST secret (or ' +
      'static user) it is accepted; the realm is the platform domain.',
    codes: {
      TURN_AUTH_REJECTED: {
        status: 'fail',
        why:
          "The server refused our credentials (or answered the challenge wrongly): the secret is not coturn's " +
          'static-auth-secret, or clocks differ (REST usernames carry an expiry time).',
        fix:
          "Use the platform's TURN_AUTH_SECRET from values.env (coturn: use-auth-secret + " +
          'static-auth-secret=<same>); check clocks (env.clock).',
      },
      TURN_NO_CHALLENGE: {
        status: 'fail',
        why:
          'The server allocated a relay without asking for credentials: anyone on the internet can relay ' +
          'through it.',
        fix:
          'Enable authentication in coturn: use-auth-secret with static-auth-secret (as the platform installs ' +
          'it), and remove no-auth.',
      },
      TURN_NO_CREDENTIALS: {
        status: 'warn',
        why: 'No TURN credentials were given, so relaying could not be tested.',
        fix:
          'Pass the REST secret with --turn-secret-file <file> or NAP_VERIFY_TURN_SECRET (or --turn-user with ' +
          'NAP_VERIFY_TURN_PASSWORD).',
      },
      TURN_REALM_MISMATCH: {
        status: 'warn',
        why: "coturn's realm is not the platform domain (NAP_HOST), which the platform configures it with.",
        fix: 'Set realm=<d> in turnserver.conf (the platform passes NAP_HOST as the realm).',
      },
      TURN_TIMEOUT: {
        status: 'fail',
        why: 'The server answered a Binding but not an Allocate in time: it is overloaded or only partly reachable.',
        fix: "Check coturn's log and load.",
      },
    },
  },
  after: () => ['turn.udp', 'turn.tcp'],
  async gather(ctx, up, tools) {
    const [kind] = reachableTransports(up);
    if (!kind) return { unavailable: whyUnreachable(up) };
    const server = await turnServer(ctx, tools);
    if ('kind' in server) return { unavailable: server.error };
    const c = ctx.turn.credentials;
    return probeAuth(
      kind,
      server,
      ctx.timeoutMs,
      c ? { username: c.username, password: c.password } : undefined,
      c?.source ?? 'none',
    );
  },
  judge(ev, ctx): Judgement {
    if ('unavailable' in ev) return { status: 'skip', message: `skipped: ${ev.unavailable}` };
    const host = ev.server;
    if (ev.failure || !ev.challenge)
      return {
        status: 'fail',
        code: 'TURN_TIMEOUT',
        host,
        message: `Allocate over ${ev.transport.toUpperCase()}: ${ev.failure?.error ?? 'no answer'}`,
      };
    const c = ev.challenge;
    if (c.status === 'success')
      return {
        status: 'fail',
        code: 'TURN_NO_CHALLENGE',
        host,
        message: `${ev.server} allocated a relay for an anonymous request: it is an open relay`,
      };
    if (c.status !== 401 || c.realm === undefined || !c.hasNonce) {
      return {
        status: 'fail',
        code: 'TURN_AUTH_REJECTED',
        host,
        message:
          `anonymous Allocate answered ` +
          `${c.status}${c.realm === undefined ? ' without a REALM' : ''}${c.hasNonce ? '' : ' without a NONCE'} ` +
          `instead of 401 with realm and nonce`,
      };
    }
    const realmNote = c.realm !== ctx.target.domain ? `; realm "${c.realm}" is not ${ctx.target.domain}` : '';
    if (ev.credentials === 'none')
      return {
        status: 'warn',
        code: 'TURN_NO_CREDENTIALS',
        host,
        message: `challenged with 401, realm "${c.realm}"${realmNote}; no credentials given, so relaying is untested`,
      };
    const a = ev.authenticated;
    const what = ev.credentials === 'rest-secret' ? 'REST credentials from the secret' : 'the static user';
    if (!a?.ok)
      return {
        status: 'fail',
        code: 'TURN_AUTH_REJECTED',
        host,
        message: `Allocate with ${what} refused: ${a?.code ?? ''} ${a?.reason ?? ''}`.trim() + realmNote,
      };
    if (realmNote)
      return {
        status: 'warn',
        code: 'TURN_REALM_MISMATCH',
        host,
        message: `authenticated with ${what}, but the realm is "${c.realm}", not ${ctx.target.domain}`,
      };
    return { status: 'pass', host, message: `401 challenge with realm "${c.realm}", then allocated with ${what}` };
  },
};

export default check;
