// http.oauth: the OAuth wiring the install was given, read without credentials. nap-browser and nap-sandbox answer
// GET /api/auth/login with a 302 to <WEB_PUBLIC_URL>/oauth/authorize?…&redirect_uri=<own public URL>/api/auth/callback
// (internal/oauth-client); following neither redirect, both Locations show the three public URLs as installed.
import { activeRoles } from '../src/modules.js';
import type { CheckDef, Judgement, Role, Upstream } from '../src/model.js';
import { httpGet, type HttpExchange } from '../src/probes/http.js';
import { causeOf, describeBlock } from './_lib/cause.js';
import { addressFor, dnsAfter, expectedPublicOrigin, originFor, originOf, PUBLIC_URL_KEY } from './_lib/routing.js';

const ROLES = ['browsers', 'sandbox'] as const;
type LoginRole = (typeof ROLES)[number];

/** http.<role> results that still leave the role's own service answering: its login redirect means something. */
const USABLE_HTTP_CODES = ['HTTP_CONFIG_MISMATCH', 'HTTP_HOST_REWRITTEN'];

interface LoginEvidence {
  role: LoginRole;
  host: string;
  /** Why this role was not asked (its http check failed or skipped). */
  notAsked?: string;
  exchange?: HttpExchange;
}

interface OAuthEvidence {
  logins: LoginEvidence[];
  /** The origins the install should have been given, by values.env key. */
  expected: Record<string, string>;
}

interface Finding {
  host: string;
  key: string;
  /** The value the key should have: the origin users reach. */
  value: string;
  what: string;
  found: string;
  expected: string;
  /** The origin the redirect shows for the key, when the answer was a readable redirect. */
  foundOrigin?: string;
}

function usable(up: Upstream, role: Role): string | undefined {
  const r = up.get(`http.${role}`);
  // Skipped (or not run): what blocked it, traced back (no address in DNS, no TLS session).
  if (!r || r.status === 'skip') return causeOf(up, `http.${role}`);
  // A gate answers its login instead: its redirect would be read as a wrong public URL.
  if (r.code === 'HTTP_AUTH_GATE') return describeBlock(r);
  if (
    r.status === 'pass' ||
    r.status === 'warn' ||
    (r.status === 'fail' && r.code && USABLE_HTTP_CODES.includes(r.code))
  )
    return undefined;
  return describeBlock(r);
}

const check: CheckDef<OAuthEvidence> = {
  meta: {
    id: 'http.oauth',
    area: 'http',
    title: 'OAuth login redirects',
    proves:
      'GET /api/auth/login on browsers.<d> and sandbox.<d> redirects to https://<d>/oauth/authorize with ' +
      'redirect_uri = https://<role>.<d>/api/auth/callback (NodePort mode: the node-port origins): the install ' +
      'was given the public URLs users reach it by, so login works.',
    codes: {
      HTTP_OAUTH_MISMATCH: {
        status: 'fail',
        why:
          'The login redirect names another origin (scheme, host, port) than the one users reach: the ' +
          'platform was installed with WEB_PUBLIC_URL, BROWSER_PUBLIC_URL or SANDBOX_PUBLIC_URL unset ' +
          '(install.sh then falls back to http://<NAP_HOST>:<node port>) or wrong, so nap-cp answers ' +
          'invalid_redirect_uri or sends users to a node port.',
        fix:
          'Set the named key in values.env (external mode: WEB_PUBLIC_URL=https://<d>, ' +
          'BROWSER_PUBLIC_URL=https://browsers.<d>, SANDBOX_PUBLIC_URL=https://sandbox.<d>), then re-run install.sh.',
      },
    },
  },
  // The DNS answers give the address to connect to (as for http.<role>); the http checks say whether to ask.
  // Only nap-browser and nap-sandbox log in through nap-cp: with both modules off there is no login to follow.
  appliesTo: (ctx) => {
    if (activeRoles(ctx.modules, ROLES).length) return true;
    return 'no login to follow: neither nap-browser nor nap-sandbox is installed (both modules are off)';
  },
  after: (ctx) => {
    const roles = activeRoles(ctx.modules, ROLES);
    return [...new Set(roles.flatMap((r) => dnsAfter(ctx, r))), ...roles.map((r) => `http.${r}`)];
  },
  async gather(ctx, up, tools) {
    const expected = {
      WEB_PUBLIC_URL: expectedPublicOrigin(ctx, 'main'),
      BROWSER_PUBLIC_URL: expectedPublicOrigin(ctx, 'browsers'),
      SANDBOX_PUBLIC_URL: expectedPublicOrigin(ctx, 'sandbox'),
    };
    const logins = await Promise.all(
      activeRoles(ctx.modules, ROLES).map(async (role): Promise<LoginEvidence> => {
        // NodePort mode: every role is on NAP_HOST, told apart by port; name the host:port then.
        const host = ctx.mode === 'nodeport' ? new URL(originFor(ctx, role)).host : ctx.target.hosts[role];
        const notAsked = usable(up, role);
        if (notAsked) return { role, host, notAsked };
        const url = `${originFor(ctx, role)}/api/auth/login`;
        const address = addressFor(ctx, role, up);
        // httpGet follows no redirect: the Location is the evidence. Each call creates only a short-lived PKCE state.
        const exchange = await tools.probe(`http:${url}@${address}`, () =>
          httpGet({ url, address, timeoutMs: ctx.timeoutMs, signal: tools.signal }),
        );
        return { role, host, exchange };
      }),
    );
    return { logins, expected };
  },
  judge(ev, ctx): Judgement {
    const asked = ev.logins.filter((l) => l.exchange);
    if (!asked.length)
      return {
        status: 'skip',
        message: `no login asked: ${ev.logins.map((l) => `${l.host} (${l.notAsked})`).join('; ')}`,
      };
    const findings: Finding[] = [];
    const web = ev.expected.WEB_PUBLIC_URL!;
    for (const l of asked) findings.push(...judgeLogin(l, web, ev.expected[PUBLIC_URL_KEY[l.role]!]!));
    const host = asked.length === 1 ? asked[0]!.host : undefined;
    const skipped = ev.logins
      .filter((l) => l.notAsked)
      .map((l) => `; ${l.host} not asked: ${l.notAsked}`)
      .join('');
    if (findings.length) {
      const keys = [...new Map(findings.map((f) => [f.key, f.value])).entries()];
      return {
        status: 'fail',
        code: 'HTTP_OAUTH_MISMATCH',
        ...(host ? { host } : {}),
        message: describeFindings(findings) + skipped,
        fix:
          `In values.env set ${keys.map(([k, v]) => `${k}=${v}`).join(', ')}, then re-run ` +
          `install.sh${
            ctx.mode === 'external'
              ? ' (external mode needs the https names; install.sh otherwise ' + 'falls back to the NodePort form)'
              : ''
          }.`,
        // The line above names every key and its value; the code's general fix would repeat it with placeholders.
        replacesFix: true,
      };
    }
    return {
      status: 'pass',
      ...(host ? { host } : {}),
      message:
        `${asked.map((l) => l.host).join(' and ')} send logins to ${web}/oauth/authorize with their own ` +
        `callback${skipped}`,
    };
  },
};

/**
 * One clause per values.env key, however many redirects showed it: "WEB_PUBLIC_URL is http://acme.com:30080 (in the
 * login redirects of browsers.acme.com and sandbox.acme.com), expected https://acme.com". Answers that are no
 * redirect at all keep their own clause per host.
 */
function describeFindings(findings: Finding[]): string {
  const clauses: string[] = [];
  const byKey = new Map<string, Finding[]>();
  for (const f of findings) {
    if (!f.foundOrigin) {
      clauses.push(`${f.host}/api/auth/login ${f.what} ${f.found}, expected ${f.expected}`);
      continue;
    }
    byKey.set(`${f.key} ${f.foundOrigin}`, [...(byKey.get(`${f.key} ${f.foundOrigin}`) ?? []), f]);
  }
  for (const group of byKey.values()) {
    const f = group[0]!;
    const where = group
      .map((g) => `${g.what === 'redirect_uri' ? 'redirect_uri' : 'authorize URL'} of ${g.host}`)
      .join(', ');
    clauses.push(`${f.key} is ${f.foundOrigin} (${where}), expected ${f.value}`);
  }
  return `login redirects: ${clauses.join('; ')}`;
}

function judgeLogin(l: LoginEvidence, web: string, self: string): Finding[] {
  const ex = l.exchange!;
  const base = { host: l.host };
  const location = ex.headers?.location;
  if (ex.error || !ex.status || ex.status < 300 || ex.status > 399 || !location) {
    const got = ex.error ? ex.error.message : `${ex.status}${location ? '' : ' without a Location'}`;
    return [
      {
        ...base,
        key: 'WEB_PUBLIC_URL',
        value: web,
        what: 'answered',
        found: got,
        expected: `a redirect to ${web}/oauth/authorize`,
      },
    ];
  }
  let target: URL;
  try {
    target = new URL(location, ex.url);
  } catch {
    return [
      {
        ...base,
        key: 'WEB_PUBLIC_URL',
        value: web,
        what: 'redirects to',
        found: JSON.stringify(location),
        expected: `${web}/oauth/authorize`,
      },
    ];
  }
  const out: Finding[] = [];
  if (target.origin !== web || target.pathname !== '/oauth/authorize') {
    out.push({
      ...base,
      key: 'WEB_PUBLIC_URL',
      value: web,
      what: 'redirects to',
      found: `${target.origin}${target.pathname}`,
      expected: `${web}/oauth/authorize`,
      ...(target.origin !== web ? { foundOrigin: target.origin } : {}),
    });
  }
  const redirectUri = target.searchParams.get('redirect_uri');
  const callbackOrigin = redirectUri ? originOf(redirectUri) : undefined;
  const key = l.role === 'browsers' ? 'BROWSER_PUBLIC_URL' : 'SANDBOX_PUBLIC_URL';
  if (!redirectUri || callbackOrigin !== self || new URL(redirectUri).pathname !== '/api/auth/callback') {
    out.push({
      ...base,
      key,
      value: self,
      what: 'redirect_uri',
      found: redirectUri ?? '(none)',
      expected: `${self}/api/auth/callback`,
      ...(callbackOrigin && callbackOrigin !== self ? { foundOrigin: callbackOrigin } : {}),
    });
  }
  return out;
}

export default check;
