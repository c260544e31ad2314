// A stand-in that answers EXACTLY as the platform's own code does (neutree-ai/agent-platform at e5ea8d0, spec §1),
// not as our responder: no /.well-known/nap-verify, nap-browser's /api/config behind its auth middleware, the
// shared OAuth client's login redirect built from the public URLs it is given (as install.sh passes values.env).
// The post-install tests put it behind the real test nginx, healthy or misconfigured as installs are in the field.
//
//   node platform.mjs --domain nap.test --host 127.0.0.1 --cp-port 3000 --browser-port 3005 --sandbox-port 3006 \
//     [--web-public-url U] [--browser-public-url U] [--sandbox-public-url U] [--files-public-url U] \
//     [--sandbox-domain D]
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { WebSocketServer } from 'ws';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const domain = arg('domain');
if (!domain) {
  process.stderr.write('platform.mjs: --domain is required\n');
  process.exit(2);
}
const host = arg('host', '127.0.0.1');
// install.sh's values.env keys, with the https names as defaults.
const WEB_PUBLIC_URL = arg('web-public-url', `https://${domain}`);
const BROWSER_PUBLIC_URL = arg('browser-public-url', `https://browsers.${domain}`);
const SANDBOX_PUBLIC_URL = arg('sandbox-public-url', `https://sandbox.${domain}`);
const FILES_HOST = new URL(arg('files-public-url', `https://files.${domain}`)).hostname;
const SANDBOX_DOMAIN = arg('sandbox-domain', `sandbox.${domain}`);

const hostOf = (req) => (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
function text(res, status, body, type = 'text/plain; charset=UTF-8') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const spa = (title) =>
  `<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <title>${title}</title>\n    ` +
  `<script type="module" crossorigin src="/assets/index.js"></script>\n  </head>\n  <body>\n    <div ` +
  `id="root"></div>\n  </body>\n</html>\n`;

/** internal/oauth-client: GET /api/auth/login → 302 <tosUrl>/oauth/authorize?… with PKCE and a fresh state. */
function login(res, clientId, serviceUrl) {
  const b64 = (n) => randomBytes(n).toString('base64url');
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: `${serviceUrl}/api/auth/callback`,
    response_type: 'code',
    code_challenge: b64(32),
    code_challenge_method: 'S256',
    state: b64(16),
    scope: 'profile',
  });
  res.writeHead(302, { location: `${WEB_PUBLIC_URL}/oauth/authorize?${params}`, 'content-length': 0 });
  res.end();
}

const isApi = (path) => path === '/api' || path.startsWith('/api/');

const services = {
  // nap-cp (control-plane): files.<d> is the anonymous export app, by Host; the rest is the UI and API.
  'nap-cp': (req, res, path) => {
    if (hostOf(req) === FILES_HOST)
      return path === '/' ? text(res, 404, 'Not found') : text(res, 404, 'Not found or expired');
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/api/version') return json(res, 200, { commit: 'e5ea8d0', builtAt: '2026-11-01T00:00:00Z' });
    if (path === '/metrics')
      return text(
        res,
        200,
        '# HELP process_cpu_seconds_total CPU time.\n# TYPE process_cpu_seconds_total ' +
          'counter\nprocess_cpu_seconds_total 1.5\n',
        'text/plain; version=0.0.4; charset=utf-8',
      );
    if (path === '/') {
      res.writeHead(302, { location: '/login', 'content-length': 0 });
      return res.end();
    }
    if (isApi(path)) return json(res, 401, { error: 'Unauthorized' });
    return text(res, 200, spa('NAP'), 'text/html; charset=UTF-8');
  },
  // nap-browser (browser-service/src/index.ts): /health, the auth routes, then the /api/* auth middleware (which
  // /api/config sits behind), then the web UI for everything else.
  'nap-browser': (_req, res, path) => {
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (path === '/api/auth/login') return login(res, 'nap-browser', BROWSER_PUBLIC_URL);
    if (isApi(path)) return json(res, 401, { error: 'Unauthorized' });
    return text(res, 200, spa('Browsers'), 'text/html; charset=UTF-8');
  },
  // nap-sandbox (sandbox-service): preview hosts by Host; /health and /api/config before the auth middleware.
  'nap-sandbox': (req, res, path) => {
    const h = hostOf(req);
    if (h.endsWith(`.${SANDBOX_DOMAIN}`)) {
      const label = h.slice(0, -(SANDBOX_DOMAIN.length + 1));
      const i = label.lastIndexOf('-');
      const port = i < 0 ? NaN : Number.parseInt(label.slice(i + 1), 10);
      if (label.includes('.') || Number.isNaN(port)) return json(res, 400, { error: 'Invalid preview subdomain' });
      return json(res, 502, { error: 'Endpoint not available' });
    }
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (path === '/api/config') return json(res, 200, { napUrl: WEB_PUBLIC_URL, sandboxDomain: SANDBOX_DOMAIN });
    if (path === '/api/auth/login') return login(res, 'nap-sandbox', SANDBOX_PUBLIC_URL);
    if (isApi(path)) return json(res, 401, { error: 'Unauthorized' });
    return text(res, 200, spa('Sandboxes'), 'text/html; charset=UTF-8');
  },
};

const ports = { 'nap-cp': arg('cp-port'), 'nap-browser': arg('browser-port'), 'nap-sandbox': arg('sandbox-port') };
for (const [name, port] of Object.entries(ports)) {
  if (!port) continue;
  const server = http.createServer((req, res) =>
    services[name](req, res, new URL(req.url ?? '/', 'http://x').pathname),
  );
  if (name === 'nap-cp') {
    // /env-gateway: the upgrade is accepted, then closed 1008 for want of a token.
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/env-gateway')
        return socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => {});
        ws.close(1008, 'Missing token');
      });
    });
  }
  server.listen(Number(port), host, () => process.stdout.write(`${name} on ${host}:${port}\n`));
}
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
