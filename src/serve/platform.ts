// What nap-cp, nap-browser and nap-sandbox answer a client without credentials, as measured against the real
// services (neutree-ai/agent-platform at e5ea8d0; test/conformance.test.ts compares every request the checks send,
// the spec §1 rows and the platform README's measurements). Pure functions: the responder writes the answers.
// An install has no workspace, share, export token or sandbox the stand-ins know of, so every lookup misses.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';

export interface PublicUrls {
  web: string;
  browser: string;
  sandbox: string;
}

/** A request as the services route it: the Host header as sent, the path, the query as written (`?…` or ''). */
export interface Asked {
  method: string;
  path: string;
  search: string;
  host: string;
}

export interface Answer {
  status: number;
  type: string;
  body: string;
  headers?: http.OutgoingHttpHeaders;
}

/** The content types as the platform's frameworks write them (Hono c.json/c.text/c.html, serveStatic, prom-client). */
export const TYPE = {
  json: 'application/json',
  text: 'text/plain; charset=UTF-8',
  html: 'text/html; charset=UTF-8',
  staticHtml: 'text/html; charset=utf-8',
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
} as const;

const json = (status: number, value: unknown): Answer => ({ status, type: TYPE.json, body: JSON.stringify(value) });
const text = (status: number, body: string): Answer => ({ status, type: TYPE.text, body });
/** Hono's answer when no route takes the request. */
const notFound = () => text(404, '404 Not Found');
const redirect = (location: string): Answer => ({ status: 302, type: TYPE.text, body: '', headers: { location } });
const unauthorized = () => json(401, { error: 'Unauthorized' });
const isRead = (a: Asked) => a.method === 'GET' || a.method === 'HEAD';
/** Each service takes the host name before the first colon of the Host header, as sent (no lower-casing). */
const hostName = (a: Asked) => a.host.split(':')[0] ?? '';

/** A web UI's index.html as far as a check reads it: its <title>. */
function webUi(title: string, type: string, stands: string, headers?: http.OutgoingHttpHeaders): Answer {
  return {
    status: 200,
    type,
    body:
      `<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <title>${title}</title>\n` +
      `  </head>\n  <body>\n    <div id="root"></div>\n    <!-- nap-verify responder standing in for ${stands} -->\n` +
      '  </body>\n</html>\n',
    ...(headers ? { headers } : {}),
  };
}

/** The public API reference each service serves (a Scalar page and its OpenAPI document), reduced to its titles. */
function apiDocs(a: Asked, title: string, specTitle: string): Answer | undefined {
  if (a.method !== 'GET' && a.method !== 'HEAD') return undefined;
  if (a.path === '/api/docs')
    return {
      status: 200,
      type: TYPE.html,
      body: `<!doctype html>\n<html>\n  <head>\n    <title>${title}</title>\n  </head>\n  <body></body>\n</html>`,
    };
  if (a.path === '/api/docs/openapi.json')
    return json(200, { openapi: '3.1.0', info: { title: specTitle, version: '0.1.0' }, paths: {} });
  return undefined;
}

// ---- nap-cp: <d> and files.<d> ----

const CP_TITLE = 'NAP — Neutree Agent Platform';
const cpUi = () => webUi(CP_TITLE, TYPE.html, 'nap-cp', { 'cache-control': 'no-cache, no-store, must-revalidate' });

/** The paths nap-cp's auth middleware lets through without a session. */
const CP_PUBLIC_EXACT = new Set([
  '/favicon.svg',
  '/metrics',
  '/api/version',
  '/login',
  '/api/auth/login',
  '/api/auth/wecom/enabled',
  '/api/auth/wecom/authorize',
  '/api/auth/wecom/callback',
  '/healthz',
  '/env-gateway',
  '/__webpack_hmr',
  '/api/oauth/token',
  '/api/oauth/userinfo',
  '/mcp',
]);
const CP_PUBLIC_PREFIX = [
  '/api/shares/public/',
  '/s/',
  '/sk/',
  '/.well-known/agent-skills',
  '/api/docs',
  '/_cg/',
  '/env/v1/',
  '/workspace/v1/',
  '/svc/v1/',
  '/static/',
  '/assets/',
  '/badges/',
  '/excalidraw-assets/',
  '/empty/',
];
/** Prefixes nap-cp's SPA fallback leaves to a 404 instead of the web UI. */
const CP_NO_UI = ['/api/', '/workspace/', '/svc/', '/_proxy/', '/_saas/', '/_cg/'];

const METRICS =
  '# HELP nap_verify_responder_up The nap-verify probe responder is standing in for nap-cp.\n' +
  '# TYPE nap_verify_responder_up gauge\nnap_verify_responder_up 1\n';

/** files.<anything>: nap-cp's export app. Every GET of a path is a token lookup, and no token exists here. */
function filesAnswer(a: Asked): Answer {
  return isRead(a) && a.path !== '/' ? text(404, 'Not found or expired') : text(404, 'Not found');
}

/**
 * nap-cp. `undefined` means the request's body decides (POST /api/oauth/token): see tokenAnswer. An upgrade that no
 * route takes is answered with the status of the same request as a GET (see the responder).
 */
export function cpAnswer(a: Asked): Answer | undefined {
  if (hostName(a).startsWith('files.')) return filesAnswer(a);
  const p = a.path;
  if (!CP_PUBLIC_EXACT.has(p) && !CP_PUBLIC_PREFIX.some((x) => p.startsWith(x))) {
    if (p.startsWith('/api/')) return unauthorized();
    const next = p + a.search;
    return redirect(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
  }
  if (p === '/api/oauth/token' && a.method === 'POST') return undefined;
  // /mcp takes every method; without X-Workspace-ID it goes no further.
  if (p === '/mcp') return json(400, { error: 'X-Workspace-ID header required' });
  const docs = apiDocs(a, 'NAP Control Plane API', 'NAP Control Plane API');
  if (docs) return docs;
  if (!isRead(a)) return notFound();
  if (p === '/healthz') return json(200, { status: 'ok' });
  if (p === '/api/version') return json(200, { commit: 'nap-verify-responder', builtAt: null });
  if (p === '/metrics') return { status: 200, type: TYPE.prometheus, body: METRICS };
  if (p === '/api/oauth/userinfo') return json(401, { error: 'invalid_token' });
  if (/^\/api\/shares\/public\/[^/]+$/.test(p)) return json(404, { error: 'Share not found' });
  if (p.startsWith('/assets/') || CP_NO_UI.some((x) => p.startsWith(x))) return notFound();
  return cpUi();
}

/** POST /api/oauth/token, once its body is read: no client, code or refresh token exists here. */
export function tokenAnswer(contentType: string, body: string): Answer {
  let params: Record<string, unknown>;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    params = Object.fromEntries(new URLSearchParams(body));
  } else {
    try {
      const v: unknown = JSON.parse(body);
      params = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    } catch (e) {
      // The platform's error handler: 500 with the parser's message.
      return json(500, { error: (e as Error).message });
    }
  }
  if (!params.client_id) return json(400, { error: 'invalid_request', error_description: 'client_id is required' });
  if (params.grant_type === 'authorization_code') {
    if (!params.code || !params.redirect_uri) return json(400, { error: 'invalid_request' });
    return json(400, { error: 'invalid_grant', error_description: 'code is invalid or expired' });
  }
  if (params.grant_type === 'refresh_token') {
    if (!params.refresh_token)
      return json(400, { error: 'invalid_request', error_description: 'refresh_token is required' });
    return json(400, { error: 'invalid_grant', error_description: 'refresh_token is invalid or expired' });
  }
  return json(400, { error: 'unsupported_grant_type' });
}

// ---- nap-browser and nap-sandbox: the shared OAuth client and the /api/* auth middleware ----

/** The /api/* paths both services let through without a session. */
const OAUTH_PUBLIC = new Set([
  '/api/auth/login',
  '/api/auth/callback',
  '/api/auth/logout',
  '/api/docs',
  '/api/docs/openapi.json',
]);

/** The OAuth client ids install.sh gives the two services (OAUTH_CLIENT_ID in self-host/manifests). */
export const OAUTH_CLIENT_ID = { 'nap-browser': 'browser-service', 'nap-sandbox': 'sandbox-service' } as const;

/** 302 to <web>/oauth/authorize, PKCE with a fresh state and challenge each time (none is kept here). */
function loginRedirect(web: string, self: string, clientId: string): Answer {
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: `${self}/api/auth/callback`,
    response_type: 'code',
    code_challenge: randomBytes(32).toString('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
    scope: 'profile',
  });
  return redirect(`${web}/oauth/authorize?${params.toString()}`);
}

/** /api/* of nap-browser and nap-sandbox (their own public routes before the middleware aside). */
function oauthServiceApi(a: Asked, web: string, self: string, clientId: string, docs: [string, string]): Answer {
  if (!OAUTH_PUBLIC.has(a.path)) return unauthorized();
  const reference = apiDocs(a, ...docs);
  if (reference) return reference;
  if (a.method !== 'GET' && a.method !== 'HEAD') return notFound();
  if (a.path === '/api/auth/login') return loginRedirect(web, self, clientId);
  if (a.path === '/api/auth/callback') {
    const q = new URLSearchParams(a.search);
    const error = q.get('error');
    if (error) return redirect(`/?error=${error}`);
    if (!q.get('code') || !q.get('state')) return redirect('/?error=invalid_callback');
    return redirect('/?error=invalid_state');
  }
  return notFound();
}

const isApi = (p: string) => p === '/api' || p.startsWith('/api/');

export function browserAnswer(a: Asked, urls: PublicUrls): Answer {
  if (a.path === '/health' && isRead(a)) return json(200, { status: 'ok' });
  // nap-browser registers /api/config after its /api/* auth middleware: 401 without a session.
  if (isApi(a.path))
    return oauthServiceApi(a, urls.web, urls.browser, OAUTH_CLIENT_ID['nap-browser'], [
      'NAP Browser Service API',
      'NAP Browser Service',
    ]);
  return isRead(a) ? webUi('Browsers', TYPE.staticHtml, 'nap-browser') : notFound();
}

/** A preview host `{id}-{port}.<SANDBOX_DOMAIN>`: the port is the text after the last hyphen, read by parseInt. */
function previewAnswer(host: string, sandboxDomain: string): Answer {
  const label = host.replace(`.${sandboxDomain}`, '');
  const dash = label.lastIndexOf('-');
  const port = dash < 1 ? Number.NaN : Number.parseInt(label.slice(dash + 1), 10);
  if (!Number.isFinite(port) || port < 1 || port > 65535) return json(400, { error: 'Invalid preview subdomain' });
  // No sandbox exists behind the stand-in: what a preview of an unknown or stopped sandbox answers.
  return json(502, { error: 'Endpoint not available' });
}

/** Whether nap-sandbox takes a Host for a preview (every method and path then goes to the preview router). */
export const isPreviewHost = (host: string, sandboxDomain: string) => {
  const name = host.split(':')[0] ?? '';
  return name !== sandboxDomain && name.endsWith(`.${sandboxDomain}`);
};

export function sandboxAnswer(a: Asked, urls: PublicUrls, sandboxDomain: string): Answer {
  if (isPreviewHost(a.host, sandboxDomain)) return previewAnswer(hostName(a), sandboxDomain);
  if (a.path === '/health' && isRead(a)) return json(200, { status: 'ok' });
  // Registered before the auth middleware: public.
  if (a.path === '/api/config' && isRead(a)) return json(200, { napUrl: urls.web, sandboxDomain });
  if (isApi(a.path))
    return oauthServiceApi(a, urls.web, urls.sandbox, OAUTH_CLIENT_ID['nap-sandbox'], [
      'NAP Sandbox Service API',
      'NAP Sandbox Service',
    ]);
  // The web UI is a GET-only fallback that leaves /api/ and /health to a 404.
  return isRead(a) && a.path !== '/health' ? webUi('Sandboxes', TYPE.staticHtml, 'nap-sandbox') : notFound();
}
