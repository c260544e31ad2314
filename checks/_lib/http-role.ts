// http.<role>: the host reaches its own service with Host preserved, and the service agrees on the domain.
import { inert } from '../../src/inert.js';
import { assumedModuleHint, moduleOfRole } from '../../src/modules.js';
import type { CheckDef, Judgement, Role, RunContext } from '../../src/model.js';
import { httpGet, type HttpExchange } from '../../src/probes/http.js';
import { httpRepeat } from '../../src/probes/raw-http.js';
import { frameVerdict, gateOf, judgeGate, judgeIntermittent, tally, tokenEndpointPublic } from './front.js';
import {
  addressFor,
  detectController,
  dnsAfter,
  EXPECTED,
  ingressOnly,
  fingerprint,
  isDefaultBackend,
  originFor,
  parseJson,
  responderIdentity,
  SERVICE_OF,
  transportNeeds,
  WELL_KNOWN,
  expectedPublicOrigin,
  originOf,
} from './routing.js';
import { evidenceOf, type Fingerprint, type HttpRoleEvidence } from './evidence.js';

/** Every host gets the same questions, so a host routed to the wrong service is recognised as which one. */
export const HTTP_PATHS = [WELL_KNOWN, '/', '/healthz', '/health', '/api/config'] as const;

const UNSET_SANDBOX_DOMAIN = 'unset (install.sh leaves it empty unless set, and nap-sandbox then says localhost)';

/** What nap-sandbox's public /api/config says (napUrl, sandboxDomain), from an http.<role> evidence. */
export function sandboxConfigOf(ev: Partial<HttpRoleEvidence> | undefined): {
  napUrl?: unknown;
  sandboxDomain?: unknown;
} {
  const config = ev?.exchanges?.['/api/config'];
  if (config?.status !== 200 || ev?.responder) return {};
  return parseJson(config.body) ?? {};
}

const ROUTE_FIX = {
  general:
    'Route each host to its own service: <d> and files.<d> → nap-cp:3000, browsers.<d> → ' +
    'nap-browser:3005, sandbox.<d> and *.sandbox.<d> → nap-sandbox:3006.',
  'ingress-nginx':
    'Add the host to an Ingress rule (spec.rules[].host) with the right backend service and port; `kubectl get ' +
    'ingress -A` lists what exists.',
  contour: 'Create an HTTPProxy whose virtualhost.fqdn is the host, routing to the right service and port.',
  traefik: 'Add an IngressRoute match Host(`<host>`) to the right service and port.',
  istio: 'Add the host to the Gateway servers[].hosts and a VirtualService for it routing to the right service.',
  haproxy: 'Add an Ingress rule for the host with the right backend.',
};

export function httpRoleCheck(role: Role): CheckDef<HttpRoleEvidence> {
  return {
    ...moduleOfRole(role),
    meta: {
      id: `http.${role}`,
      area: 'http',
      title: `Routing for ${role === 'main' ? '<d>' : role === 'preview' ? '*.sandbox.<d>' : `${role}.<d>`}`,
      proves:
        `The ${role} host reaches ` +
        `${role === 'files' ? "nap-cp's anonymous export app" : SERVICE_OF[EXPECTED[role]]} (recognised by the ` +
        `responder's identity or the platform's own answers), with the Host header ` +
        `unchanged${role === 'sandbox' ? ', and /api/config names the public origin of <d>' : ''}.`,
      codes: {
        HTTP_DEFAULT_BACKEND: {
          status: 'fail',
          why: 'The ingress answered with its own 404: it has no rule for this host.',
          fix: ROUTE_FIX,
        },
        HTTP_BAD_GATEWAY: {
          status: 'fail',
          why:
            'The proxy could not reach the service (502): wrong service port, the pod is crashing, or a ' +
            'NetworkPolicy blocks the ingress.',
          fix:
            "Check the route's service name and port, `kubectl get pods` for the service, and NetworkPolicies " +
            'between the ingress and the namespace.',
        },
        HTTP_NO_ENDPOINTS: {
          status: 'fail',
          why:
            'The proxy has no ready endpoint for the service (503): no pod ready, or the Service selector ' +
            'matches nothing.',
          fix:
            '`kubectl get endpoints <service>` must list pods; check readiness of nap-cp / nap-browser / ' +
            'nap-sandbox.',
        },
        HTTP_GATEWAY_TIMEOUT: {
          status: 'fail',
          why: 'The service accepted the connection but did not answer in time (504).',
          fix: "Check the service's logs and load; check that the proxy targets the HTTP port, not another protocol.",
        },
        HTTP_WRONG_SERVICE: {
          status: 'fail',
          why: 'The host answers, but from another NAP service: the route points at the wrong Service or port.',
          fix: ROUTE_FIX,
        },
        HTTP_HOST_REWRITTEN: {
          status: 'fail',
          why:
            'The service saw a different Host header than the one sent: the proxy rewrites it, and ' +
            'nap-cp/nap-sandbox route by Host (files.<d> lands on the login page, previews fail).',
          fix: {
            general: 'Pass the Host header through unchanged.',
            'ingress-nginx':
              'Remove the nginx.ingress.kubernetes.io/upstream-vhost annotation (and any proxy_set_header Host ' +
              'in snippets).',
            contour: 'Remove requestHeadersPolicy that sets Host, and pathRewritePolicy host rewrites.',
            traefik: 'Remove middlewares that set the Host header; keep passHostHeader: true on the service.',
            istio: 'Remove the VirtualService headers.request.set Host / authority rewrite.',
            haproxy: 'Remove set-host / http-request set-header Host.',
          },
        },
        HTTP_CONFIG_MISMATCH: {
          status: 'fail',
          why:
            "nap-sandbox's public /api/config names another origin (scheme, host, port) or sandbox domain " +
            'than the ones users reach: the platform was installed with other values (install.sh falls back to ' +
            'http://<NAP_HOST>:<node port> when WEB_PUBLIC_URL is unset), so its links and OAuth point elsewhere.',
          fix:
            'Set WEB_PUBLIC_URL (https://<d> behind an ingress; http://<NAP_HOST>:<NAP_NODE_PORT> in NodePort ' +
            'mode) and SANDBOX_DOMAIN = sandbox.<d> in values.env, then re-run install.sh.',
        },
        HTTP_AUTH_GATE: {
          status: 'fail',
          alsoStatus: 'warn',
          blocksDependents: true,
          why:
            'An authentication gate (oauth2-proxy behind ingress-nginx auth-url/auth-signin, Authelia, forward-auth, ' +
            'Cloudflare Access, IAP) answers instead of the service, for every request, POSTs and WebSocket ' +
            'upgrades included. files.<d> and the previews are public by design, and <d> has paths the ' +
            "platform's own pods and anonymous clients call without a session (POST /api/oauth/token during every " +
            'login of nap-browser and nap-sandbox, /env-gateway, /mcp, /s/): a gate there fails; on browsers.<d> ' +
            'or sandbox.<d>, or on a <d> whose public paths pass, it warns. The checks behind it skip.',
          fix:
            'Exempt files.<d>, *.sandbox.<d> and the public paths of <d> (/s/, /sk/, /.well-known/agent-skills, ' +
            '/api/shares/public/, /api/oauth/token, /api/oauth/userinfo, /env-gateway, /env/v1/, /mcp) from the ' +
            'gate: with ingress-nginx, an Ingress of their own without the auth-url/auth-signin annotations.',
        },
        HTTP_INTERMITTENT: {
          status: 'fail',
          why:
            'The same request, sent six times on separate connections, got different answers: one endpoint behind ' +
            'the route is broken, or two routes or ingress controllers claim the host. Users meet the failure ' +
            'now and then, and a one-shot check passes or fails at random.',
          fix:
            "Find the endpoint that answers otherwise (the Service's endpoints, their logs and readiness probes) " +
            'or the second route or controller for the host, and remove it.',
        },
        ...(role === 'browsers'
          ? {
              HTTP_FRAME_BLOCKED: {
                status: 'fail' as const,
                why:
                  'The web UI on <d> embeds the remote browser from browsers.<d> in an iframe; an X-Frame-Options ' +
                  '(DENY, SAMEORIGIN) or a CSP frame-ancestors on browsers.<d> that does not allow https://<d> ' +
                  '(often added by a global security-headers policy) leaves it blank.',
                fix: {
                  general:
                    'Let https://<d> frame browsers.<d>: drop X-Frame-Options there and send ' +
                    'Content-Security-Policy: frame-ancestors https://<d> (browsers honour frame-ancestors over ' +
                    'X-Frame-Options).',
                  'ingress-nginx':
                    'Exclude browsers.<d> from the add-headers ConfigMap (or the server-snippet) that sets ' +
                    'X-Frame-Options, and add more_set_headers "Content-Security-Policy: frame-ancestors https://<d>".',
                  traefik:
                    'In the headers middleware on browsers.<d>: frameDeny: false, and contentSecurityPolicy: ' +
                    '"frame-ancestors https://<d>".',
                },
              },
            }
          : {}),
        HTTP_UNEXPECTED: {
          status: 'fail',
          why: 'The host answered something that is neither a NAP service nor a known proxy error.',
          fix:
            'Look at the status and body in the evidence: another application or an authentication layer may ' +
            'be in front of NAP.',
        },
      },
    },
    ...(role === 'files' || role === 'preview'
      ? {
          appliesTo: (ctx: RunContext) =>
            ingressOnly(ctx, `no ${role} host (only nap-cp, nap-browser and nap-sandbox node ports)`),
        }
      : {}),
    needs: (ctx) => transportNeeds(ctx, role),
    // A preview is told apart by nap-sandbox's SANDBOX_DOMAIN, which http.sandbox reads from its /api/config.
    after: (ctx) => [...dnsAfter(ctx, role), ...(role === 'preview' ? ['http.sandbox'] : [])],
    async gather(ctx, up, tools) {
      const address = addressFor(ctx, role, up);
      const host = ctx.target.hosts[role];
      const origin = originFor(ctx, role);
      const asked = HTTP_PATHS.map((p) =>
        tools.probe(`http:${origin}${p}@${address}`, () =>
          httpGet({ url: origin + p, address, timeoutMs: ctx.timeoutMs, signal: tools.signal }),
        ),
      );
      const repeated = httpRepeat({ url: `${origin}/`, address, timeoutMs: ctx.timeoutMs, signal: tools.signal }, 6);
      const results = await Promise.all(asked);
      const gate = gateOf(results[HTTP_PATHS.indexOf('/')], host);
      // Behind a gate, <d>'s public paths tell a gate that spares them from one that blocks the platform itself.
      const token =
        gate && role === 'main'
          ? await httpGet({
              url: `${origin}/api/oauth/token`,
              address,
              timeoutMs: ctx.timeoutMs,
              signal: tools.signal,
              method: 'POST',
              body: '{}',
              headers: { 'content-type': 'application/json' },
            })
          : undefined;
      const repeats = tally(await repeated);
      const exchanges = Object.fromEntries(HTTP_PATHS.map((p, i) => [p, results[i]!]));
      const responder = responderIdentity(exchanges[WELL_KNOWN]);
      const fp = fingerprint(exchanges);
      const controller = detectController(results);
      const port = new URL(origin).port || (origin.startsWith('https') ? '443' : '80');
      const connectedTo = `${address.includes(':') ? `[${address}]` : address}:${port}`;
      const alpn = evidenceOf(up, `tls.${role}`)?.alpn;
      const { sandboxDomain } = role === 'preview' ? sandboxConfigOf(evidenceOf(up, 'http.sandbox')) : {};
      return {
        ...(typeof sandboxDomain === 'string' ? { sandboxDomain } : {}),
        ...(gate ? { gate } : {}),
        ...(token ? { token } : {}),
        repeats,
        host,
        address,
        connectedTo,
        ...(alpn ? { alpn } : {}),
        exchanges,
        ...(responder ? { responder } : {}),
        ...(fp ? { fingerprint: fp } : {}),
        ...(controller ? { controller } : {}),
      };
    },
    judge: (ev, ctx) => judgeHttp(ev, ctx, role),
  };
}

/**
 * A preview host reached nap-sandbox, which did not treat it as a preview. nap-sandbox takes hosts ending in
 * `.${SANDBOX_DOMAIN}` as previews (SANDBOX_DOMAIN defaults to localhost when unset, as install.sh leaves it), so
 * only when its own sandboxDomain is sandbox.<d> does this show a changed Host.
 */
function previewNotSeen(ev: HttpRoleEvidence, ctx: RunContext, base: { host: string }): Judgement {
  const want = `sandbox.${ctx.target.domain}`;
  const sd = ev.sandboxDomain;
  if (sd !== undefined && sd.toLowerCase() !== want)
    return {
      status: 'skip',
      message:
        `preview routing not tested: nap-sandbox runs with SANDBOX_DOMAIN ${inert(sd) || '(empty)'} ` +
        '(its /api/config), ' +
        `not ${want}, so it treats no *.${want} host as a preview; http.sandbox reports it`,
    };
  if (sd === undefined)
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_UNEXPECTED',
      message:
        `${base.host} reached nap-sandbox, which did not treat it as a preview: either nap-sandbox's ` +
        `SANDBOX_DOMAIN is not ${want} or the Host header was changed on the way (nap-sandbox's /api/config ` +
        'could not be read to tell which)',
      fix:
        `Check SANDBOX_DOMAIN=${want} in values.env (then re-run install.sh), and that the route for ` +
        `*.${want} passes the Host header unchanged.`,
      replacesFix: true,
    };
  return {
    ...base,
    status: 'fail',
    code: 'HTTP_HOST_REWRITTEN',
    message:
      `${base.host} reached nap-sandbox, which did not see it as a preview host although it runs with ` +
      `SANDBOX_DOMAIN ${inert(sd)}: the Host header was changed on the way`,
  };
}

const bodyHint = (ex: HttpExchange) => (ex.body ? `: ${inert(JSON.stringify(ex.body.slice(0, 80)))}` : '');

export function judgeHttp(ev: HttpRoleEvidence, ctx: RunContext, role: Role): Judgement {
  const host = ev.host;
  const controller = ev.controller as Judgement['controller'];
  const base = { host, ...(controller ? { controller } : {}) };
  const root = ev.exchanges['/']!;
  const expected = EXPECTED[role];
  if (root.error && !ev.responder)
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_UNEXPECTED',
      message: `no HTTP answer from ${host} at ${ev.address}: ${inert(root.error.message)}`,
    };
  // Answers that differ from one connection to the next first: any single one of them would mislead.
  if (ev.repeats) {
    const good = ev.repeats.answers.find((a) => !/^(5\d\d|no answer)/.test(a.answer))?.answer;
    const intermittent = judgeIntermittent(ev.repeats, host, good);
    if (intermittent) return { ...intermittent, ...(controller ? { controller } : {}) };
  }
  if (ev.gate && !ev.responder && !ev.fingerprint)
    return judgeGate(ev.gate, role, host, ctx.target.domain, tokenEndpointPublic(ev.token));

  if (ev.responder) {
    const r = ev.responder;
    const want = SERVICE_OF[expected];
    if (r.service !== want)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_WRONG_SERVICE',
        message: `${host} reached ${inert(r.service)}, not ${want}`,
        fix: `Point the route for ${host} at ${want}.`,
      };
    const seen = (r.host ?? '').toLowerCase().replace(/:\d+$/, '');
    if (seen !== host)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_HOST_REWRITTEN',
        message: `${host} reached ${inert(r.service)}, but with Host: ${inert(r.host ?? '(none)')}`,
      };
  } else {
    const fp = ev.fingerprint;
    if (!fp) return proxyAnswer(ev, base, host, ctx, role);
    if (fp !== expected) {
      if (role === 'preview' && fp === 'nap-sandbox') return previewNotSeen(ev, ctx, base);
      if (role === 'files' && fp === 'nap-cp') {
        return {
          ...base,
          status: 'fail',
          code: 'HTTP_HOST_REWRITTEN',
          message:
            `${host} landed on nap-cp's web UI (${root.status} to ${inert(root.headers?.location ?? '?')}) instead ` +
            `of the export app: nap-cp did not see Host ${host}`,
        };
      }
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_WRONG_SERVICE',
        message: `${host} reached ${describe(fp)}, not ${describe(expected)}`,
        fix: `Point the route for ${host} at ${SERVICE_OF[expected]}.`,
      };
    }
  }
  if (role === 'files') {
    if (!(root.status === 404 && root.body?.trim() === 'Not found')) {
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_HOST_REWRITTEN',
        message:
          `${host} reached nap-cp but not its export app: GET / gave ` +
          `${root.status ?? root.error?.code}${bodyHint(root)} instead of 404 "Not found"`,
      };
    }
  }
  const config = ev.exchanges['/api/config'];
  if ((role === 'browsers' || role === 'sandbox') && config?.status === 200) {
    const c = parseJson(config.body) ?? {};
    // napUrl is WEB_PUBLIC_URL as installed: its whole origin matters (install.sh falls back to
    // http://<d>:<node port>).
    const want = expectedPublicOrigin(ctx, 'main');
    const found = typeof c.napUrl === 'string' ? originOf(c.napUrl) : undefined;
    const wrong: Array<{ said: string; set: string }> = [];
    if (found !== want)
      wrong.push({
        said:
          `napUrl ${inert(String(c.napUrl))}, expected origin ${want}: the platform was installed with ` +
          `WEB_PUBLIC_URL=${inert(String(c.napUrl))}`,
        set: `WEB_PUBLIC_URL=${want}`,
      });
    const sandboxHost = `sandbox.${ctx.target.domain}`;
    if (role === 'sandbox' && ctx.mode === 'external' && String(c.sandboxDomain).toLowerCase() !== sandboxHost)
      wrong.push({
        said:
          `sandboxDomain ${inert(String(c.sandboxDomain))}, not ${sandboxHost}: nap-sandbox runs with SANDBOX_DOMAIN ` +
          `${c.sandboxDomain === 'localhost' ? UNSET_SANDBOX_DOMAIN : inert(String(c.sandboxDomain))}, ` +
          `so it treats no *.${sandboxHost} host as a preview and every sandbox preview link fails`,
        set: `SANDBOX_DOMAIN=${sandboxHost}`,
      });
    if (wrong.length)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_CONFIG_MISMATCH',
        message: `${host}/api/config says ${wrong.map((w) => w.said).join('; and ')}`,
        fix: `In values.env set ${wrong.map((w) => w.set).join(' and ')}, then re-run install.sh.`,
        // The value to set, named: the general fix with its placeholders would only repeat it less precisely.
        replacesFix: true,
      };
  }
  const who = ev.responder ? `${ev.responder.service} (responder)` : describe(expected);
  const proto = ev.responder?.forwardedProto ? `, X-Forwarded-Proto ${ev.responder.forwardedProto}` : '';
  if (role === 'browsers') {
    // The web UI on <d> shows the remote browser from browsers.<d> in an iframe.
    const parent = expectedPublicOrigin(ctx, 'main');
    const frame = frameVerdict(root.headers, expectedPublicOrigin(ctx, 'browsers'), parent);
    if (frame.blocked)
      return {
        ...base,
        status: 'fail',
        code: 'HTTP_FRAME_BLOCKED',
        message:
          `${host} answers with ${frame.header}, which does not let ${parent} frame it: the web UI shows the ` +
          `remote browser in an iframe from ${host}, which stays blank; ${who} does not send it, so a ` +
          'security-headers policy in front added it (an ingress-wide add-headers or server-snippet, a headers ' +
          'middleware, a CDN rule)',
      };
  }
  return { ...base, status: 'pass', message: `${who}, Host preserved${proto}` };
}

function proxyAnswer(
  ev: HttpRoleEvidence,
  base: { host: string; controller?: Judgement['controller'] },
  host: string,
  ctx: RunContext,
  role: Role,
): Judgement {
  const root = ev.exchanges['/']!;
  const s = root.status;
  const via = ev.controller ? ` (${ev.controller})` : '';
  if (isDefaultBackend(root))
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_DEFAULT_BACKEND',
      message: `${host}: the ingress${via} answered 404 itself — no rule for this host`,
      fix: `Create the route for ${host}.${assumedModuleHint(ctx.modules, role)}`,
    };
  if (s === 502)
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_BAD_GATEWAY',
      message: `${host}: 502 Bad Gateway from the proxy${via}: it cannot reach the service`,
    };
  if (s === 503)
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_NO_ENDPOINTS',
      message: `${host}: 503 from the proxy${via}: no ready endpoint behind the route`,
    };
  if (s === 504)
    return {
      ...base,
      status: 'fail',
      code: 'HTTP_GATEWAY_TIMEOUT',
      message: `${host}: 504 from the proxy${via}: the service did not answer in time`,
    };
  return {
    ...base,
    status: 'fail',
    code: 'HTTP_UNEXPECTED',
    message: `${host}: GET / gave ${s}${bodyHint(root)}, which is no NAP service`,
  };
}

const describe = (fp: Fingerprint) =>
  fp === 'files' ? "nap-cp's export app" : fp === 'preview' ? "nap-sandbox's preview router" : fp;
