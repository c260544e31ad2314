// What the codes of the end user's browser-check page mean and how to fix them: read by `explain`, and by
// `report` to add the fix to a pasted browser result (the page itself carries no remediation text).
import type { CodeMeta } from '../model.js';

export const BROWSER_PAGE_CODES: Record<string, CodeMeta & { rows: string }> = {
  BROWSER_UNREACHABLE: {
    rows: 'tls.<role>',
    status: 'fail',
    why:
      "The user's browser could not fetch the host at all: its name does not resolve on the user's network, " +
      'its certificate is not trusted there (a TLS-inspecting proxy, a private CA the machine lacks), or a proxy ' +
      'or firewall blocks it. Browsers do not say which.',
    fix:
      "Compare with your own run's dns.*/tls.* for that host. If yours pass: check the user's DNS (split " +
      'horizon, a VPN), whether their proxy inspects TLS (the certificate they see is issued by the proxy: add ' +
      'the host to its bypass list), and their firewall or proxy allow list for the five names and the wildcard.',
  },
  WS_BLOCKED: {
    rows: 'ws.<role>',
    status: 'fail',
    why:
      "HTTPS to the host works from the user's browser but a WebSocket upgrade never completed: a forward " +
      'proxy, a firewall or a security product on their network (or the ingress) does not pass upgrades.',
    fix:
      "If your own ws.* checks pass, the user's network blocks WebSockets: ask their IT to allow WebSocket " +
      '(HTTP Upgrade) to the five names, or to bypass the proxy for them. If yours fail too, fix the ingress ' +
      '(nap-verify explain WS_REJECTED).',
  },
  WS_NO_ECHO: {
    rows: 'ws.<role>',
    status: 'fail',
    why:
      'A WebSocket opened but the probe responder did not answer on it: the path is routed to something else, ' +
      'or a proxy rewrites the stream.',
    fix:
      'Check the route of /.well-known/nap-verify/ws on that host reaches the responder (kit routes), and ' +
      "whether a proxy on the user's network inspects WebSocket traffic.",
  },
  HTTP_WRONG_SERVICE: {
    rows: 'ws.<role>',
    status: 'fail',
    why: 'The host is answered by another NAP service than its own: the ingress routes it wrong.',
    fix: 'Route each host to its service (nap-verify explain HTTP_WRONG_SERVICE; kit routes prints correct routes).',
  },
  HOLD_CUT: {
    rows: 'hold.ws.<role>',
    status: 'fail',
    why:
      "A silent WebSocket was closed before the hold ended: something between the user's browser and the " +
      'service ends idle connections (a proxy or firewall on their network, or the ingress).',
    fix:
      'Compare cutAfterS with your own hold.ws.* run: the same figure → the ingress or load balancer ' +
      "(nap-verify explain HOLD_CUT); only the user's → their proxy or firewall idle timeout: ask their IT to " +
      "raise it for the platform's names.",
  },
  HOLD_SHORT: {
    rows: 'hold.ws.<role>',
    status: 'warn',
    why: 'The hold was 60 s or shorter, which proves nothing about the 60 s idle timeout most proxies have.',
    fix: 'Run the page again with the default 75 s hold (or longer).',
  },
  SSE_BUFFERED: {
    rows: 'sse.main',
    status: 'fail',
    why:
      "Server-sent events reached the user's browser together instead of as sent: a proxy or antivirus on the " +
      'way buffers the stream, so live updates arrive late or all at once.',
    fix:
      "If your own sse.main passes, the buffering is on the user's side: ask their IT to exempt the " +
      "platform's names from content scanning/buffering. Otherwise: nap-verify explain SSE_BUFFERED.",
  },
  SSE_BLOCKED: {
    rows: 'sse.main',
    status: 'fail',
    why:
      "The user's browser could not read the event stream at all: an error status, a content type that is not " +
      'text/event-stream, or a blocked request.',
    fix:
      'Check the SSE path reaches the responder (or nap-cp) with text/event-stream, and that nothing on the ' +
      'way answers it.',
  },
  TURN_UNREACHABLE: {
    rows: 'turn.udp, turn.tcp',
    status: 'fail',
    why:
      "The user's browser got no relay over that transport: the TURN port is blocked on their network or on " +
      'the way (the browser reported an error).',
    fix:
      'UDP only: the platform hands clients ?transport=tcp, so this alone is not fatal. TCP: ask their IT to ' +
      'allow TCP to TURN_HOST:3478 (and the server must be reachable from the internet on it).',
  },
  TURN_UDP_UNUSED: {
    rows: 'turn.udp',
    status: 'warn',
    why:
      "The user's browser got no relay over UDP but did over TCP. The platform hands browsers only " +
      'turn:<TURN_HOST>:3478?transport=tcp (browser-service/src/lib/turn.ts), so remote browsers work from this ' +
      'network.',
    fix:
      'Nothing to do for the platform as it is; open 3478/udp on their network only if UDP relaying is ' +
      'wanted later.',
  },
  TURN_TIMEOUT: {
    rows: 'turn.udp, turn.tcp',
    status: 'fail',
    why:
      "The user's browser got no relay over that transport and no answer within the deadline: packets to the " +
      'TURN port are dropped on their network or on the way.',
    fix:
      'UDP only: the platform hands clients ?transport=tcp, so this alone is not fatal. TCP: ask their IT to ' +
      'allow TCP to TURN_HOST:3478; if your own turn.tcp also fails, open 3478/tcp to coturn (security group, ' +
      'host firewall).',
  },
  TURN_AUTH_REJECTED: {
    rows: 'turn.udp, turn.tcp',
    status: 'fail',
    why:
      "The TURN server answered but refused the page's credentials: the page was written with another secret " +
      "than coturn's static-auth-secret.",
    fix: 'Write the page again with the secret coturn uses (TURN_AUTH_SECRET in values.env).',
  },
  TURN_NO_CREDENTIALS: {
    rows: 'turn.udp, turn.tcp',
    status: 'skip',
    why: 'The page was written without the TURN secret, so it could not ask for a relay.',
    fix: 'Write the page with --turn-secret-file (or NAP_VERIFY_TURN_SECRET).',
  },
  PAGE_EXPIRED: {
    rows: 'turn.udp, turn.tcp',
    status: 'skip',
    why:
      "The page's TURN credentials expired (--valid, at most 7 days), so it did not test relaying. The user's " +
      'clock decides: a clock far ahead expires it early.',
    fix: "Send a new page (kit browser-check), and check the clock of the user's machine if it was new.",
  },
  BROWSER_NO_WEBRTC: {
    rows: 'turn.udp, turn.tcp',
    status: 'skip',
    why:
      "The user's browser has no RTCPeerConnection (WebRTC disabled by policy or an extension): remote " +
      'browsers cannot show video in it.',
    fix: 'Use a browser with WebRTC enabled, or ask their IT to allow it for the platform.',
  },
  CHECK_ERROR: {
    rows: 'any row',
    status: 'fail',
    why:
      "The page's own script failed in that part of the test, so that row measured nothing (the other rows are " +
      "unaffected). The message names the step and quotes the browser's error: an API the page uses is missing " +
      "or was replaced in that browser (a content blocker's nowebrtc filter leaves an RTCPeerConnection without " +
      'setLocalDescription), or the page has a bug.',
    fix:
      'Ask the user to open the page again in a private window (extensions off) or in another browser. If it ' +
      'fails the same way there, report it as a nap-verify bug with the pasted result.',
  },
};
