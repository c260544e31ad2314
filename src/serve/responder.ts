// The probe responder (spec §7): stand-ins for nap-cp, nap-browser and nap-sandbox that answer the platform's
// own fingerprints plus /.well-known/nap-verify. It never sends anything unasked on a WebSocket, so a proxy's
// idle timer is all that can end a silent stream.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
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
  /** Per stand-in limits (default DEFAULT_LIMITS); tests shorten them to prove each one. */
  limits?: Partial<ResponderLimits>;
}

/**
 * What one stand-in (one listening port) allows a stranger: it sits behind a public ingress during the pre-flight
 * window, so every resource a request can pin is bounded. Streams stay well under the connection cap so that
 * /health and /healthz still answer the kubelet when every stream slot is taken.
 */
export interface ResponderLimits {
  /** Open TCP connections per stand-in (server.maxConnections); beyond it new connections are dropped. */
  maxConnections: number;
  /** Concurrent WebSockets per stand-in; beyond it the upgrade gets 503. */
  wsStreams: number;
  /** Concurrent SSE streams per stand-in; beyond it 503. */
  sseStreams: number;
  /** A WebSocket is closed (1001) after this long: above the longest hold (3600 s) so no hold is cut by us. */
  wsLifetimeS: number;
  /** Largest WebSocket message accepted (ws maxPayload); larger closes with 1009. */
  wsMessageBytes: number;
  /** A client that does not read: once this much echo is waiting to be sent, the socket is cut. */
  wsBufferedBytes: number;
}

export const DEFAULT_LIMITS: ResponderLimits = {
  maxConnections: 640,
  wsStreams: 256,
  sseStreams: 256,
  wsLifetimeS: 3700,
  wsMessageBytes: 4096,
  wsBufferedBytes: 256 * 1024,
};

/**
 * Test-only override, `NAP_VERIFY_RESPONDER_LIMITS="wsLifetimeS=2,wsStreams=3"`: lets a test prove a limit in
 * seconds. Unknown keys and values that are not positive numbers are ignored (the defaults stay).
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv): Partial<ResponderLimits> {
  const out: Partial<ResponderLimits> = {};
  for (const pair of (env.NAP_VERIFY_RESPONDER_LIMITS ?? '').split(',')) {
    const [k, v] = pair.split('=');
    const n = Number(v);
    if (k && k in DEFAULT_LIMITS && Number.isFinite(n) && n > 0) out[k as keyof ResponderLimits] = n;
  }
  return out;
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
/** Room for the echo's JSON envelope and a little escaping on top of the message cap. */
const ECHO_ENVELOPE_BYTES = 256;
/** How long a client has to answer our close frame before its socket is cut. */
const CLOSE_GRACE_MS = 1000;

/** The end user's browser-check page (a file:// page, origin "null") reads these across origins. */
const CORS = { 'access-control-allow-origin': '*' };
const json = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};
const text = (res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/**
 * The request target split by hand: `new URL(target, base)` throws on `//`, `//[`, `//a:99999`, and a throw here
 * used to end the process. Only origin-form targets made of RFC 3986 characters are served; anything else
 * (`/\\`, `//[`, `*`, absolute-form) is a bad target, answered 400.
 */
const ORIGIN_FORM = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*)?$/;
export function parseTarget(target: string | undefined): { path: string; query: URLSearchParams } | undefined {
  if (target === undefined || target.length > 8192 || !ORIGIN_FORM.test(target)) return undefined;
  const q = target.indexOf('?');
  // URLSearchParams never throws: a malformed %xx stays as written.
  return q < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}

/** The Host header without its port, lower-cased: what the platform routes on. */
export const hostOf = (req: http.IncomingMessage) =>
  (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');

/** Preview labels are `{id}-{port}`: the platform parses the text after the last hyphen as the port. */
function previewPort(label: string): number | undefined {
  const i = label.lastIndexOf('-');
  if (i < 0) return undefined;
  const port = Number.parseInt(label.slice(i + 1), 10);
  return Number.isNaN(port) ? undefined : port;
}

function identity(service: Service, req: http.IncomingMessage) {
  const proto = req.headers['x-forwarded-proto'];
  return {
    service,
    host: req.headers.host ?? null,
    forwardedProto: (Array.isArray(proto) ? proto[0] : proto) ?? null,
    protocol: 1,
  };
}

/** What one stand-in tracks to enforce its limits. */
interface StandIn {
  service: Service;
  o: ResponderOptions;
  limits: ResponderLimits;
  wss: WebSocketServer;
  ws: number;
  sse: number;
  /** Sockets carrying a stream: a further request on one is pipelined behind a response that never ends. */
  streaming: WeakSet<Duplex>;
}

function sse(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams) {
  if (st.sse >= st.limits.sseStreams) return json(res, 503, { error: 'Too many streams' }, { connection: 'close' });
  const num = (name: string, def: number) => {
    const v = query.get(name);
    const n = v === null ? def : Number(v);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, MAX_HOLD_S) : def;
  };
  const hold = num('hold', 75);
  // A keep-alive twin beats at most every 0.5 s (finer would only load the proxy); 0 or absent: no beats.
  const askedBeat = num('beat', 0);
  const beat = askedBeat > 0 ? Math.max(MIN_BEAT_S, askedBeat) : 0;
  // Tick spacing, bounded as §7 says: short enough for a fast buffering test, long enough to see a buffer.
  const gap = Math.min(MAX_GAP_MS, Math.max(MIN_GAP_MS, num('gap', 500)));
  const socket = req.socket;
  st.sse++;
  st.streaming.add(socket);
  // Nothing may follow a stream on its connection: a pipelined request would wait behind it for `hold`.
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'close',
    ...CORS,
  });
  const started = Date.now();
  // Backpressure: while the client does not read, beats and ticks are skipped rather than queued in memory.
  let congested = false;
  const send = (s: string) => {
    if (res.writableEnded || res.destroyed || congested) return;
    if (!res.write(s)) {
      congested = true;
      res.once('drain', () => (congested = false));
    }
  };
  send(`event: hello\ndata: ${JSON.stringify({ ...identity(st.service, req), hold, beat, gap })}\n\n`);
  const timers: NodeJS.Timeout[] = [];
  for (const i of [0, 1, 2]) {
    timers.push(
      setTimeout(
        () => send(`id: ${i}\nevent: tick\ndata: ${JSON.stringify({ i, t: Date.now() - started })}\n\n`),
        gap * (i + 1),
      ),
    );
  }
  if (beat > 0) timers.push(setInterval(() => send(': beat\n\n'), beat * 1000));
  timers.push(
    setTimeout(() => {
      congested = false;
      send(`event: bye\ndata: ${JSON.stringify({ t: Date.now() - started })}\n\n`);
      res.end();
    }, hold * 1000),
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearTimeout(t);
    st.sse--;
    st.streaming.delete(socket);
  };
  res.once('close', stop);
  socket.once('close', stop);
}

/** Top-level guard: whatever a request does, the process keeps serving the others. */
function guarded(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse) {
  try {
    // Pipelined behind a stream: it could only be answered after the stream ends, so refuse the connection.
    if (st.streaming.has(req.socket)) return void req.socket.destroy();
    const target = parseTarget(req.url);
    if (!target) return json(res, 400, { error: 'Bad request target' }, { connection: 'close' });
    // RFC 9112 §6.3: a request whose last transfer coding is not chunked has no knowable length (a smuggling shape).
    const te = req.headers['transfer-encoding'];
    if (te !== undefined && !/(^|,)\s*chunked\s*$/i.test(te))
      return json(res, 400, { error: 'Bad transfer-encoding' }, { connection: 'close' });
    handle(st, req, res, target.path, target.query);
  } catch (e) {
    st.o.log?.(`${st.service}: request failed: ${(e as Error).message}`);
    if (!res.headersSent) json(res, 500, { error: 'Internal error' }, { connection: 'close' });
    else res.destroy();
  }
}

function handle(
  st: StandIn,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  query: URLSearchParams,
) {
  const { service, o } = st;
  const host = hostOf(req);
  const d = o.domain;
  if (!o.fingerprintsOnly) {
    if (path === WELL_KNOWN) return json(res, 200, identity(service, req), CORS);
    if (path === `${WELL_KNOWN}/sse`) return sse(st, req, res, query);
    // A plain GET here means the proxy dropped the Upgrade headers: say so, recognisably.
    if (path === `${WELL_KNOWN}/ws`)
      return json(
        res,
        426,
        {
          error: 'Upgrade required',
          service,
          upgrade: req.headers.upgrade ?? null,
          connection: req.headers.connection ?? null,
        },
        { upgrade: 'websocket' },
      );
  }
  if (service === 'nap-cp') {
    if (host === `files.${d}`) return text(res, 404, 'Not found');
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/api/version')
      return json(res, 200, { commit: 'nap-verify-responder', builtAt: '1970-01-01T00:00:00Z' });
    if (path === '/metrics')
      return text(
        res,
        200,
        '# HELP nap_verify_up The probe responder is up.\n# TYPE nap_verify_up gauge\nnap_verify_up 1\n',
        'text/plain; version=0.0.4',
      );
    if (path === '/') {
      res.writeHead(302, { location: '/login', 'content-length': 0 });
      return res.end();
    }
    if (path === '/login')
      return text(
        res,
        200,
        '<!doctype html><title>NAP</title><p>nap-verify responder standing in for nap-cp</p>',
        'text/html; charset=utf-8',
      );
    return json(res, 404, { error: 'Not found' });
  }
  if (service === 'nap-sandbox' && host.endsWith(`.sandbox.${d}`)) {
    const label = host.slice(0, -`.sandbox.${d}`.length);
    if (label.includes('.') || previewPort(label) === undefined)
      return json(res, 400, { error: 'Invalid preview subdomain' });
    return json(res, 502, { error: 'Endpoint not available' });
  }
  if (path === '/health') return json(res, 200, { status: 'ok' });
  const urls = { ...defaultPublicUrls(d), ...o.publicUrls };
  // The shared OAuth client (internal/oauth-client): PKCE login redirect to the control plane, public.
  if (path === '/api/auth/login')
    return loginRedirect(res, urls.web, service === 'nap-sandbox' ? urls.sandbox : urls.browser, service);
  // nap-sandbox registers /api/config before its auth middleware; nap-browser after it (401 without a session).
  if (path === '/api/config' && service === 'nap-sandbox')
    return json(res, 200, { napUrl: urls.web, sandboxDomain: `sandbox.${d}` });
  if (path === '/api' || path.startsWith('/api/')) return json(res, 401, { error: 'Unauthorized' });
  // Everything else is the service's web UI.
  const title = service === 'nap-sandbox' ? 'Sandboxes' : 'Browsers';
  return text(
    res,
    200,
    `<!doctype html><html><head><title>${title}</title></head><body><div id="root"></div></body></html>`,
    'text/html; charset=utf-8',
  );
}

/** 302 to <web>/oauth/authorize with redirect_uri <service public URL>/api/auth/callback, as the platform answers. */
function loginRedirect(res: http.ServerResponse, web: string, self: string, service: Service) {
  const params = new URLSearchParams({
    client_id: service,
    redirect_uri: `${self}/api/auth/callback`,
    response_type: 'code',
    code_challenge: 'nap-verify-responder',
    code_challenge_method: 'S256',
    state: 'nap-verify-responder',
    scope: 'profile',
  });
  res.writeHead(302, { location: `${web}/oauth/authorize?${params.toString()}`, 'content-length': 0 });
  res.end();
}

const refuse = (socket: Duplex, status: string, body: string) => {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: ` +
      `close\r\n\r\n${body}`,
  );
};

function upgrade(st: StandIn, req: http.IncomingMessage, socket: Duplex, head: Buffer) {
  try {
    if (st.streaming.has(socket)) return void socket.destroy();
    const target = parseTarget(req.url);
    if (!target) return refuse(socket, '400 Bad Request', 'Bad request target');
    const { service, o } = st;
    const path = target.path;
    const known =
      (!o.fingerprintsOnly && path === `${WELL_KNOWN}/ws`) ||
      (service === 'nap-cp' && path === '/env-gateway' && hostOf(req) === o.domain);
    if (!known) return refuse(socket, '404 Not Found', 'Not found');
    if (st.ws >= st.limits.wsStreams) return refuse(socket, '503 Service Unavailable', 'Too many streams');
    st.ws++;
    let counted = true;
    const release = () => {
      if (counted) st.ws--;
      counted = false;
    };
    // handleUpgrade may drop a bad handshake without calling back: the slot follows the socket.
    socket.once('close', release);
    st.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => echo(st, req, ws, path));
  } catch (e) {
    st.o.log?.(`${st.service}: upgrade failed: ${(e as Error).message}`);
    socket.destroy();
  }
}

function echo(st: StandIn, req: http.IncomingMessage, ws: WebSocket, path: string) {
  const { limits } = st;
  // A closing handshake waits for the client's close frame, reading and discarding for 30 s (ws's own timer): a
  // client that never reads would keep us busy that long. Once we close, the client gets a moment, then the cut.
  let grace: NodeJS.Timeout | undefined;
  const closeNow = (code: number, reason: string) => {
    if (ws.readyState === ws.OPEN) ws.close(code, reason);
    grace ??= setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  };
  // A protocol error (a message over maxPayload: ws has already sent 1009 by now) ends the same way.
  ws.on('error', () => closeNow(1002, 'protocol error'));
  if (path === '/env-gateway') return closeNow(1008, 'missing token');
  // Above the longest hold (3600 s): no hold is ever cut by us, and no socket lives for ever.
  const lifetime = setTimeout(() => closeNow(1001, 'lifetime'), limits.wsLifetimeS * 1000);
  ws.once('close', () => {
    clearTimeout(lifetime);
    clearTimeout(grace);
  });
  ws.send(JSON.stringify({ type: 'hello', service: st.service, host: req.headers.host ?? null }));
  // Pongs are answered by hand so that a ping flood from a client that never reads is cut like an echo flood.
  ws.on('ping', (data) => (ws.bufferedAmount > limits.wsBufferedBytes ? ws.terminate() : ws.pong(data)));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    // A client that sends without reading: cut it rather than hold its echoes in memory.
    if (ws.bufferedAmount > limits.wsBufferedBytes) return ws.terminate();
    const reply = JSON.stringify({ type: 'echo', data: data.toString() });
    // JSON escaping can make a reply 6x its message (\x01 → \u0001): the reply is held to the message cap too.
    if (Buffer.byteLength(reply) > limits.wsMessageBytes + ECHO_ENVELOPE_BYTES) return closeNow(1009, 'echo too big');
    ws.send(reply);
  });
}

export async function startResponder(o: ResponderOptions): Promise<Responder> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const servers: http.Server[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const ports: Partial<Record<Service, number>> = {};
  try {
    for (const service of o.services ?? (['nap-cp', 'nap-browser', 'nap-sandbox'] as const)) {
      // No pings, no compression: the only bytes on a socket are the ones the protocol asks for.
      const wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        maxPayload: limits.wsMessageBytes,
        autoPong: false,
      });
      const st: StandIn = { service, o, limits, wss, ws: 0, sse: 0, streaming: new WeakSet() };
      const server = http.createServer((req, res) => guarded(st, req, res));
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => upgrade(st, req, socket, head));
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.maxConnections = limits.maxConnections;
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
    for (const s of servers) s.close();
    throw e;
  }
  return {
    ports,
    close: async () => {
      // Stop accepting first, then cut the held streams: close() alone would wait for them forever.
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
    },
  };
}
