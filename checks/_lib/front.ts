// Faults that sit in front of the platform, between the user and the services, read from what a host answered:
// an authentication gate answering instead of the service, one answer in several differing (a broken replica or a
// second claimant of the host), and a framing policy that blanks the remote browser inside the web UI.
import { inert } from '../../src/inert.js';
import type { Judgement, Role } from '../../src/model.js';
import type { HttpExchange } from '../../src/probes/http.js';
import type { Gate, Tally } from './evidence.js';
import { htmlTitle, parseJson } from './routing.js';

// ---------------------------------------------------------------- authentication gates

/** Login paths of SSO proxies on the host's own origin (oauth2-proxy under /oauth2/, authentik's outpost, …). */
const SAME_ORIGIN_LOGIN = /^\/(oauth2\/|outpost\.goauthentik\.io\/|cdn-cgi\/access\/|_oauth|authelia|sso\/|saml\/)/i;

function gateKind(location: string | undefined, challenge: string | undefined): string {
  const l = location ?? '';
  if (/cloudflareaccess\.com|\/cdn-cgi\/access\//i.test(l)) return 'Cloudflare Access';
  if (/accounts\.google\.com|\/_gcp_iap\//i.test(l)) return 'Identity-Aware Proxy (Google)';
  if (/\/oauth2\/(start|sign_in)/i.test(l)) return 'oauth2-proxy';
  if (/authelia/i.test(l)) return 'Authelia';
  if (/goauthentik/i.test(l)) return 'authentik';
  if (/\/realms\/[^/]+\/protocol\/openid-connect/i.test(l)) return 'Keycloak';
  if (challenge) return `a proxy asking for ${challenge.split(/\s/)[0]} credentials`;
  return 'an SSO gate';
}

/**
 * A gate answered instead of the service: a redirect to another origin's login (or to an SSO proxy's own path on
 * this host), or a 401/407 carrying a proxy's challenge. The platform's own answers are never these: nap-cp sends
 * `/` to its own `/login`, and its 401s are JSON without WWW-Authenticate.
 */
export function gateOf(root: HttpExchange | undefined, host: string): Gate | undefined {
  if (!root?.status) return undefined;
  const h = root.headers ?? {};
  const challenge = h['www-authenticate'] ?? h['proxy-authenticate'];
  if ((root.status === 401 || root.status === 407) && challenge)
    return { status: root.status, challenge: inert(challenge), kind: gateKind(undefined, inert(challenge)) };
  const location = h.location;
  if (root.status < 300 || root.status >= 400 || !location) return undefined;
  let to: URL;
  try {
    to = new URL(location, `https://${host}`);
  } catch {
    return undefined;
  }
  const sameHost = to.hostname.toLowerCase() === host.toLowerCase();
  if (sameHost && !SAME_ORIGIN_LOGIN.test(to.pathname)) return undefined;
  return {
    status: root.status,
    location: inert(location),
    origin: inert(to.origin),
    kind: gateKind(inert(location), undefined),
  };
}

/** nap-cp's public token endpoint answered as the platform does: the gate lets <d>'s public paths through. */
export function tokenEndpointPublic(ex: HttpExchange | undefined): boolean {
  return ex?.status === 400 && parseJson(ex.body)?.error_description === 'client_id is required';
}

/** Paths of <d> the platform's own pods and anonymous clients call without a session (control-plane/src/index.ts). */
export const PUBLIC_PATHS = [
  '/s/',
  '/sk/',
  '/.well-known/agent-skills',
  '/api/shares/public/',
  '/api/oauth/token',
  '/api/oauth/userinfo',
  '/env-gateway',
  '/env/v1/',
  '/mcp',
];

const GATE_BREAKS: Record<Role, string> = {
  main:
    "nap-browser's and nap-sandbox's logins (their pods call POST /api/oauth/token on <d>), the workspace " +
    'runners (/env-gateway), MCP clients (/mcp) and shared links (/s/) meet a login page they cannot pass',
  files: 'anonymous export links open a login page instead of the file',
  preview: 'sandbox preview URLs, which are public by design, ask for a login',
  browsers: 'users log in twice, and the remote browser works only where the gate has set its cookie',
  sandbox: 'users log in twice, and sandbox pages work only where the gate has set its cookie',
};

export function judgeGate(gate: Gate, role: Role, host: string, domain: string, publicOk: boolean): Judgement {
  const what =
    gate.location !== undefined
      ? `${gate.status} to ${gate.origin}${inert(new URL(gate.location, `https://${host}`).pathname)}`
      : `${gate.status} with ${gate.challenge}`;
  const failing = role === 'files' || role === 'preview' || (role === 'main' && !publicOk);
  const breaks =
    role === 'main' && publicOk
      ? "its public paths pass (POST /api/oauth/token answers the platform's 400), so users only log in twice"
      : GATE_BREAKS[role];
  const exempt = `files.${domain} and *.sandbox.${domain} whole, and on ${domain} the paths ${PUBLIC_PATHS.join(', ')}`;
  return {
    host,
    status: failing ? 'fail' : 'warn',
    code: 'HTTP_AUTH_GATE',
    message:
      `an authentication gate answers for ${host} instead of the service: GET / gave ${what} (${gate.kind}); ` +
      `${breaks}; the checks behind it cannot see the service`,
    fix:
      `Exempt from the gate what the platform serves without a login: ${exempt}. ingress-nginx: move them to an ` +
      'Ingress of their own without the nginx.ingress.kubernetes.io/auth-url and auth-signin annotations (the ' +
      'annotations apply per Ingress); other controllers: leave them out of the forward-auth middleware, Access ' +
      'application or IAP backend.',
    replacesFix: true,
  };
}

// ---------------------------------------------------------------- one answer in several

/** What a check tells answers apart by: status, the redirect's path, the page title or the start of the body. */
export function answerKey(ex: HttpExchange): string {
  if (ex.error) return `no answer (${inert(ex.error.code)})`;
  const loc = ex.headers?.location;
  if (loc) return `${ex.status} to ${inert(loc.replace(/\?.*$/, ''))}`;
  const title = htmlTitle(ex);
  if (title !== undefined) return `${ex.status} "${inert(title)}"`;
  const body = (ex.body ?? '').replace(/\s+/g, ' ').trim().slice(0, 60);
  return `${ex.status}${body ? ` ${inert(JSON.stringify(body))}` : ''}`;
}

export function tally(exchanges: HttpExchange[]): Tally {
  const by = new Map<string, { count: number; server?: string }>();
  for (const ex of exchanges) {
    const k = answerKey(ex);
    const cur = by.get(k) ?? { count: 0, ...(ex.headers?.server ? { server: inert(ex.headers.server) } : {}) };
    cur.count++;
    by.set(k, cur);
  }
  const answers = [...by.entries()].map(([answer, v]) => ({ answer, ...v })).sort((a, b) => b.count - a.count);
  return { answers, total: exchanges.length };
}

/** The tally shows more than one answer: judged before anything a single answer would say. */
export function judgeIntermittent(t: Tally, host: string, good: string | undefined): Judgement | undefined {
  if (t.answers.length < 2) return undefined;
  const ok = good ?? t.answers[0]!.answer;
  const bad = t.answers.filter((a) => a.answer !== ok);
  const failed = bad.reduce((n, a) => n + a.count, 0);
  const list = (as: Tally['answers']) =>
    as.map((a) => `${a.answer}${a.server ? ` (Server: ${a.server})` : ''} ×${a.count}`).join(', ');
  return {
    host,
    status: 'fail',
    code: 'HTTP_INTERMITTENT',
    message:
      `${failed} of ${t.total} requests to ${host}, each on a connection of its own, got ${list(bad)}; the ` +
      `others ${list(t.answers.filter((a) => a.answer === ok))}. One endpoint behind the route is broken (a ` +
      'replica that fails while its readiness probe passes), or two routes or ingress controllers claim this ' +
      'host; a one-shot check would pass or fail at random',
    fix:
      `List what serves ${host}: \`kubectl get endpoints\` of its Service (a replica that answers otherwise: its ` +
      'logs, its readiness probe), and `kubectl get ingress,httpproxy,ingressroute,virtualservice,httproute -A` ' +
      'for a second route or a second controller (two IngressClasses, or a leftover route from an earlier install).',
    replacesFix: true,
  };
}

// ---------------------------------------------------------------- framing

/** Whether a page may be framed by `origin`, by its X-Frame-Options and CSP frame-ancestors (the CSP wins). */
export function frameVerdict(
  headers: Record<string, string> | undefined,
  selfOrigin: string,
  parentOrigin: string,
): { blocked: false } | { blocked: true; header: string } {
  const csp = headers?.['content-security-policy'];
  const fa = csp
    ?.split(',')
    .flatMap((p) => p.split(';'))
    .map((d) => d.trim())
    .find((d) => /^frame-ancestors\b/i.test(d));
  if (fa) {
    const sources = fa.split(/\s+/).slice(1);
    const parent = new URL(parentOrigin);
    const allowed = sources.some((s) => {
      const src = s.replace(/^'|'$/g, '').toLowerCase();
      if (src === '*') return true;
      if (src === 'self') return parentOrigin === selfOrigin;
      if (src === 'none') return false;
      if (/^[a-z][a-z0-9+.-]*:$/.test(src)) return src === parent.protocol;
      const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*\.)?([^:/]+)(?::(\d+|\*))?/.exec(src);
      if (!m) return false;
      if (m[1] && `${m[1]}:` !== parent.protocol) return false;
      const hostOk = m[2] ? parent.hostname.endsWith(`.${m[3]}`) : parent.hostname === m[3];
      const port = parent.port || (parent.protocol === 'https:' ? '443' : '80');
      // No port in the source: the scheme's default, so only a parent on its default port matches.
      const portOk = !m[4] ? parent.port === '' : m[4] === '*' || m[4] === port;
      return hostOk && portOk;
    });
    return allowed ? { blocked: false } : { blocked: true, header: `Content-Security-Policy: ${inert(fa)}` };
  }
  const xfo = headers?.['x-frame-options']?.trim();
  if (xfo && /^(deny|sameorigin)$/i.test(xfo) && !(xfo.toLowerCase() === 'sameorigin' && selfOrigin === parentOrigin))
    return { blocked: true, header: `X-Frame-Options: ${inert(xfo)}` };
  return { blocked: false };
}
