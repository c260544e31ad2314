// The probe responder (spec §7): stand-ins for nap-cp, nap-browser and nap-sandbox that answer the platform's
// own fingerprints plus /.well-known/nap-verify. It never sends anything unasked on a WebSocket, so a proxy's
// idle timer is all that can end a silent stream.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type Service = 'nap-cp' | 'nap-browser' | 'nap-sandbox';

export interface ResponderOptions {
  domain: string;
  host: string;
  ports: Partial<Record<Service, number>>;
  /** Start only these stand-ins (a cluster runs each in its own Deployment); default all three. */
  services?: Service[];
  /** Answer only what the real platform answers (no /.well-known/nap-verify): how an install without us looks. */
  fingerprintsOnly?: boolean;
  /**
   * The public URLs the platform would have been installed with (values.env WEB_/BROWSER_/SANDBOX_PUBLIC_URL):
   * /api/config and the login redirects are built from them, as the platform builds them. Default: the https
   * names of --domain.
   */
  publicUrls?: Partial<PublicUrls>;
  log?: (line: string) => void;
}

export interface PublicUrls {
  web: string;
  browser: string;
  sandbox: string;
}

export function defaultPublicUrls(domain: string): PublicUrls {
  return { web: `https://${domain}`, browser: `https://browsers.${domain}`, sandbox: `https://sandbox.${domain}` };
}

export interface Responder {
  ports: Partial<Record<Service, number>>;
  close(): Promise<void>;
}

const WELL_KNOWN = '/.well-known/nap-verify';
/** Longest SSE hold a client may ask for: bounded so a stray request cannot pin a connection for days. */
export const MAX_HOLD_S = 3600;
/** Fastest keep-alive beat (s) and the tick spacing range (ms) of the SSE stream (§7). */
export const MIN_BEAT_S = 0.5;
export const MIN_GAP_MS = 50;
export const MAX_GAP_MS = 2000;

const json = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};
const text = (res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/** The Host header without its port, lower-cased: what the platform routes on. */
export const hostOf = (req: http.IncomingMessage) => (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');

/** Preview labels are `{id}-{port}`: the platform parses the text after the last hyphen as the port. */
function previewPort(label: string): number | undefined {
  const i = label.lastIndexOf('-');
  if (i < 0) return undefined;
  const port = Number.parseInt(label.slice(i + 1), 10);
  return Number.isNaN(port) ? undefined : port;
}

function identity(service: Service, req: http.IncomingMessage) {
  const proto = req.headers['x-forwarded-proto'];
  return { service, host: req.headers.host ?? null, forwardedProto: (Array.isArray(proto) ? proto[0] : proto) ?? null, protocol: 1 };
}

function sse(req: http.IncomingMessage, res: http.ServerResponse, url: URL, service: Service) {
  const num = (name: string, def: number) => {
    const v = url.searchParams.get(name);
    const n = v === null ? def : Number(v);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, MAX_HOLD_S) : def;
  };
  const hold = num('hold', 75);
  // A keep-alive twin beats at most every 0.5 s (finer would only load the proxy); 0 or absent: no beats.
  const askedBeat = num('beat', 0);
  const beat = askedBeat > 0 ? Math.max(MIN_BEAT_S, askedBeat) : 0;
  // Tick spacing, bounded as §7 says: short enough for a fast buffering test, long enough to see a buffer.
  const gap = Math.min(MAX_GAP_MS, Math.max(MIN_GAP_MS, num('gap', 500)));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const started = Date.now();
  const send = (s: string) => !res.writableEnded && res.write(s);
  send(`event: hello\ndata: ${JSON.stringify({ ...identity(service, req), hold, beat, gap })}\n\n`);
  const timers: NodeJS.Timeout[] = [];
  for (const i of [0, 1, 2]) timers.push(setTimeout(() => send(`id: ${i}\nevent: tick\ndata: ${JSON.stringify({ i, t: Date.now() - started })}\n\n`), gap * (i + 1)));
  if (beat > 0) timers.push(setInterval(() => send(': beat\n\n'), beat * 1000));
  timers.push(setTimeout(() => {
    send(`event: bye\ndata: ${JSON.stringify({ t: Date.now() - started })}\n\n`);
    res.end();
  }, hold * 1000));
  const stop = () => timers.forEach((t) => clearTimeout(t));
  res.on('close', stop);
}

function handle(service: Service, o: ResponderOptions, req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://responder');
  const host = hostOf(req);
  const d = o.domain;
  const path = url.pathname;
  if (!o.fingerprintsOnly) {
    if (path === WELL_KNOWN) return json(res, 200, identity(service, req));
    if (path === `${WELL_KNOWN}/sse`) return sse(req, res, url, service);
    // A plain GET here means the proxy dropped the Upgrade headers: say so, recognisably.
    if (path === `${WELL_KNOWN}/ws`) return json(res, 426, { error: 'Upgrade required', service, upgrade: req.headers.upgrade ?? null, connection: req.headers.connection ?? null }, { upgrade: 'websocket' });
  }
  if (service === 'nap-cp') {
    if (host === `files.${d}`) return text(res, 404, 'Not found');
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/api/version') return json(res, 200, { commit: 'nap-verify-responder', builtAt: '1970-01-01T00:00:00Z' });
    if (path === '/metrics') return text(res, 200, '# HELP nap_verify_up The probe responder is up.\n# TYPE nap_verify_up gauge\nnap_verify_up 1\n', 'text/plain; version=0.0.4');
    if (path === '/') {
      res.writeHead(302, { location: '/login', 'content-length': 0 });
      return res.end();
    }
    if (path === '/login') return text(res, 200, '<!doctype html><title>NAP</title><p>nap-verify responder standing in for nap-cp</p>', 'text/html; charset=utf-8');
    return json(res, 404, { error: 'Not found' });
  }
  if (service === 'nap-sandbox' && host.endsWith(`.sandbox.${d}`)) {
    const label = host.slice(0, -`.sandbox.${d}`.length);
    if (label.includes('.') || previewPort(label) === undefined) return json(res, 400, { error: 'Invalid preview subdomain' });
    return json(res, 502, { error: 'Endpoint not available' });
  }
  if (path === '/health') return json(res, 200, { status: 'ok' });
  const urls = { ...defaultPublicUrls(d), ...o.publicUrls };
  // The shared OAuth client (internal/oauth-client): PKCE login redirect to the control plane, public.
  if (path === '/api/auth/login') return loginRedirect(res, urls.web, service === 'nap-sandbox' ? urls.sandbox : urls.browser, service);
  // nap-sandbox registers /api/config before its auth middleware; nap-browser after it (401 without a session).
  if (path === '/api/config' && service === 'nap-sandbox') return json(res, 200, { napUrl: urls.web, sandboxDomain: `sandbox.${d}` });
  if (path === '/api' || path.startsWith('/api/')) return json(res, 401, { error: 'Unauthorized' });
  // Everything else is the service's web UI.
  return text(res, 200, `<!doctype html><html><head><title>${service === 'nap-sandbox' ? 'Sandboxes' : 'Browsers'}</title></head><body><div id="root"></div></body></html>`, 'text/html; charset=utf-8');
}

/** 302 to <web>/oauth/authorize with redirect_uri <service public URL>/api/auth/callback, as the platform answers. */
function loginRedirect(res: http.ServerResponse, web: string, self: string, service: Service) {
  const params = new URLSearchParams({
    client_id: service, redirect_uri: `${self}/api/auth/callback`, response_type: 'code',
    code_challenge: 'nap-verify-responder', code_challenge_method: 'S256', state: 'nap-verify-responder', scope: 'profile',
  });
  res.writeHead(302, { location: `${web}/oauth/authorize?${params.toString()}`, 'content-length': 0 });
  res.end();
}

function wsHandlers(service: Service, o: ResponderOptions, wss: WebSocketServer) {
  return (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://responder').pathname;
    const known = (!o.fingerprintsOnly && path === `${WELL_KNOWN}/ws`) || (service === 'nap-cp' && path === '/env-gateway' && hostOf(req) === o.domain);
    if (!known) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nNot found');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => {});
      if (path === '/env-gateway') return ws.close(1008, 'missing token');
      ws.send(JSON.stringify({ type: 'hello', service, host: req.headers.host ?? null }));
      ws.on('message', (data, isBinary) => {
        if (!isBinary) ws.send(JSON.stringify({ type: 'echo', data: data.toString() }));
      });
    });
  };
}

export async function startResponder(o: ResponderOptions): Promise<Responder> {
  const servers: http.Server[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const ports: Partial<Record<Service, number>> = {};
  try {
    for (const service of o.services ?? (['nap-cp', 'nap-browser', 'nap-sandbox'] as const)) {
      // No pings, no compression: the only bytes on a socket are the ones the protocol asks for.
      const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
      const server = http.createServer((req, res) => handle(service, o, req, res));
      server.on('upgrade', wsHandlers(service, o, wss));
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      // Idle connections are the point of this server: never time them out here.
      server.requestTimeout = 0;
      server.headersTimeout = 30_000;
      server.keepAliveTimeout = 5_000;
      server.timeout = 0;
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.ports[service], o.host, () => resolve());
      });
      ports[service] = (server.address() as AddressInfo).port;
      o.log?.(`${service} listening on ${o.host}:${ports[service]}`);
    }
  } catch (e) {
    servers.forEach((s) => s.close());
    throw e;
  }
  return {
    ports,
    close: async () => {
      // Stop accepting first, then cut the held streams: close() alone would wait for them forever.
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      sockets.forEach((s) => s.destroy());
      await Promise.all(closed);
    },
  };
}
