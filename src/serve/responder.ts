// The probe responder (spec §7): stand-ins for nap-cp, nap-browser and nap-sandbox that answer as the platform does
// (./platform.ts; test/conformance.test.ts compares them with the real services) plus /.well-known/nap-verify. It
// never sends anything unasked on a WebSocket, so a proxy's idle timer is all that can end a silent stream.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  browserAnswer,
  cpAnswer,
  sandboxAnswer,
  tokenAnswer,
  type Answer,
  type Asked,
  type PublicUrls,
} from './platform.js';

export type { PublicUrls } from './platform.js';

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
  /** Concurrent /wait requests per stand-in (each holds its connection silent for up to 3600 s); beyond it 503. */
  waits: number;
  /** Concurrent /upload bodies being read per stand-in; beyond it 503 (before any byte of the body is read). */
  uploads: number;
  /** An upload body that brings no byte for this long ends (`"ended":"stalled"`). */
  uploadStallS: number;
  /** An upload body still arriving this long after its request began ends (`"ended":"too long"`). */
  uploadMaxS: number;
  /** Largest upload body read: a larger declared Content-Length is 413 at once, a chunked body is cut there. */
  uploadMaxBytes: number;
  /** A WebSocket is closed (1001) after this long: above the longest hold (3600 s) so no hold is cut by us. */
  wsLifetimeS: number;
  /** Largest WebSocket message accepted (ws maxPayload); larger closes with 1009. */
  wsMessageBytes: number;
  /** A client that does not read: once this much echo is waiting to be sent, the socket is cut. */
  wsBufferedBytes: number;
}

export const DEFAULT_LIMITS: ResponderLimits = {
  // Above every stream cap together (256 + 256 + 256 + 64): /health still answers with every slot taken.
  maxConnections: 1024,
  wsStreams: 256,
  sseStreams: 256,
  waits: 256,
  uploads: 64,
  uploadStallS: 30,
  uploadMaxS: 600,
  uploadMaxBytes: 1024 ** 3,
  wsLifetimeS: 3700,
  wsMessageBytes: 4096,
  wsBufferedBytes: 256 * 1024,
};

/**
 * Test-only override, `NAP_VERIFY_RESPONDER_LIMITS="wsLifetimeS=2,wsStreams=3"`: lets a test prove a limit in
 * seconds. Every key of ResponderLimits is accepted (`waits=2`, `uploadStallS=0.5`, `uploadMaxS=3`,
 * `uploadMaxBytes=1048576`, ...). Unknown keys and values that are not positive numbers are ignored (the defaults
 * stay).
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
/** Longest /wait a client may ask for (§7: 0–3600 s). */
export const MAX_WAIT_S = 3600;
/** Upload ids (`?id=`, nap-verify's own addition to §7) remembered per stand-in, and how long after their end. */
export const MAX_UPLOAD_IDS = 256;
export const UPLOAD_ID_TTL_S = 600;
const UPLOAD_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SECONDS = /^\d+(?:\.\d+)?$/;
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
  waits: number;
  uploads: number;
  /** Uploads that named an `?id=`, oldest first (a Map keeps insertion order); at most MAX_UPLOAD_IDS. */
  uploadIds: Map<string, UploadRecord>;
  /** Sockets carrying a stream: a further request on one is pipelined behind a response that never ends. */
  streaming: WeakSet<Duplex>;
}

/** What an upload brought so far, for `GET …/upload?id=` (asked when a proxy cut the transfer and its answer). */
interface UploadRecord {
  received: number;
  done: boolean;
  ended?: UploadEnd;
  /** Date.now() of its last byte or its end: the record is forgotten UPLOAD_ID_TTL_S after it. */
  at: number;
}

/**
 * Why an upload ended before its whole body was read: it stalled (uploadStallS without a byte), ran past uploadMaxS,
 * went past uploadMaxBytes (chunked; a declared length that large is refused at once), or its connection closed.
 */
type UploadEnd = 'stalled' | 'too long' | 'too large' | 'aborted';

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

const methodNotAllowed = (st: StandIn, res: http.ServerResponse, allow: string) =>
  json(res, 405, { error: 'Method not allowed', service: st.service }, { allow, connection: 'close', ...CORS });

/** Holds the socket for this response: a request pipelined behind it is cut (see `guarded`), then released. */
function hold(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse, release: () => void) {
  const socket = req.socket;
  st.streaming.add(socket);
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    st.streaming.delete(socket);
    release();
  };
  res.once('close', once);
  socket.once('close', once);
}

/**
 * `GET …/wait?after=<s>` (§7): nothing at all on the connection (no status line, no headers) for `s` seconds, then
 * 200 JSON. A proxy's first-byte / response-header timeout shorter than `s` shows as its own error instead.
 */
function wait(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams) {
  const { service } = st;
  if (req.method !== 'GET') return methodNotAllowed(st, res, 'GET');
  const v = query.get('after') ?? '';
  const after = SECONDS.test(v) ? Number(v) : Number.NaN;
  if (!(after >= 0 && after <= MAX_WAIT_S))
    return json(
      res,
      400,
      { error: `after must be a number of seconds from 0 to ${MAX_WAIT_S}`, service },
      { connection: 'close', ...CORS },
    );
  if (st.waits >= st.limits.waits)
    return json(res, 503, { error: 'Too many waits', service }, { connection: 'close', ...CORS });
  st.waits++;
  const timer = setTimeout(() => {
    if (res.writableEnded || res.destroyed) return;
    json(res, 200, { service, waitedS: after }, { connection: 'close', ...CORS });
  }, after * 1000);
  // The client (or the proxy) going away frees the slot and the timer at once.
  hold(st, req, res, () => {
    clearTimeout(timer);
    st.waits--;
  });
}

/** `…/upload`: POST reads and counts a body (§7); GET `?id=` says what an earlier POST with that id brought. */
function upload(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams) {
  const { service } = st;
  const id = query.get('id');
  if (req.method !== 'POST' && req.method !== 'GET') return methodNotAllowed(st, res, 'GET, POST');
  if (id !== null && !UPLOAD_ID.test(id))
    return json(
      res,
      400,
      { error: 'id must be 1 to 64 characters of A-Z a-z 0-9 _ -', service },
      { connection: 'close', ...CORS },
    );
  if (req.method === 'GET') {
    if (id === null) return json(res, 400, { error: 'GET needs ?id=', service }, CORS);
    const r = uploadRecord(st, id);
    if (!r) return json(res, 404, { error: 'Unknown upload id', service, id }, CORS);
    return json(
      res,
      200,
      { service, id, received: r.received, done: r.done, ...(r.ended ? { ended: r.ended } : {}) },
      { 'cache-control': 'no-store', ...CORS },
    );
  }
  const cl = req.headers['content-length'];
  const declared = cl === undefined ? null : Number(cl);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const refuse = (status: number, body: Record<string, unknown>) =>
    json(res, status, { ...body, service, declared }, { connection: 'close', ...CORS });
  if (declared === null && !chunked) return refuse(411, { error: 'Length required' });
  // Refused on the declared length alone, before a byte of the body is read.
  if (declared !== null && declared > st.limits.uploadMaxBytes)
    return refuse(413, { error: 'Body too large', maxBytes: st.limits.uploadMaxBytes });
  if (st.uploads >= st.limits.uploads) return refuse(503, { error: 'Too many uploads' });
  readUpload(st, req, res, id, declared);
}

/** The record of `id` if it is still being read, or it ended less than UPLOAD_ID_TTL_S ago. */
function uploadRecord(st: StandIn, id: string): UploadRecord | undefined {
  const r = st.uploadIds.get(id);
  if (!r || r.done === false || Date.now() - r.at <= UPLOAD_ID_TTL_S * 1000) return r;
  st.uploadIds.delete(id);
  return undefined;
}

function remember(st: StandIn, id: string, r: UploadRecord) {
  // A reused id starts over, as the newest.
  st.uploadIds.delete(id);
  st.uploadIds.set(id, r);
  for (const k of st.uploadIds.keys()) {
    if (st.uploadIds.size <= MAX_UPLOAD_IDS) break;
    st.uploadIds.delete(k);
  }
}

function readUpload(
  st: StandIn,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  id: string | null,
  declared: number | null,
) {
  const { service, limits } = st;
  const rec: UploadRecord = { received: 0, done: false, at: Date.now() };
  if (id !== null) remember(st, id, rec);
  st.uploads++;
  const answer = (status: number, ended?: UploadEnd) => {
    if (rec.done) return;
    rec.done = true;
    rec.ended = ended;
    rec.at = Date.now();
    cleanup();
    if (ended === 'aborted') return;
    // Ended early: the rest of the body is not read; the answer goes out if the socket can still take it.
    if (ended) req.pause();
    if (res.headersSent || res.writableEnded || res.destroyed || !req.socket.writable) return void req.socket.destroy();
    const body = { service, declared, received: rec.received, ...(ended ? { ended } : {}) };
    json(res, status, body, { connection: 'close', 'cache-control': 'no-store', ...CORS });
    // Whatever is still coming is not read: the connection goes once the answer is out.
    if (ended) res.once('finish', () => req.socket.destroySoon?.());
  };
  const stall = setTimeout(() => answer(200, 'stalled'), limits.uploadStallS * 1000);
  const total = setTimeout(() => answer(200, 'too long'), limits.uploadMaxS * 1000);
  const onData = (c: Buffer) => {
    rec.received += c.length;
    rec.at = Date.now();
    if (rec.received > limits.uploadMaxBytes) return answer(413, 'too large');
    stall.refresh();
  };
  const onEnd = () => answer(200);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    clearTimeout(stall);
    clearTimeout(total);
    req.off('data', onData);
    req.off('end', onEnd);
    st.uploads--;
  };
  hold(st, req, res, () => {
    // The connection closed before the body ended (a proxy cut it, the client left): what arrived is on record.
    if (!rec.done) answer(0, 'aborted');
    cleanup();
  });
  req.on('data', onData);
  req.once('end', onEnd);
  // A reset mid-body: the 'close' above records it; the error itself needs a listener, or it would be thrown.
  req.on('error', () => answer(0, 'aborted'));
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
  if (!o.fingerprintsOnly) {
    if (path === WELL_KNOWN) return json(res, 200, identity(service, req), CORS);
    if (path === `${WELL_KNOWN}/sse`) return sse(st, req, res, query);
    if (path === `${WELL_KNOWN}/wait`) return wait(st, req, res, query);
    if (path === `${WELL_KNOWN}/upload`) return upload(st, req, res, query);
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
  platform(st, req, res, path, rawSearch(req.url));
}

/** The query as the platform's URL parser gives it: `?…`, or '' when there is none or it is empty. */
function rawSearch(url: string | undefined): string {
  const q = (url ?? '').indexOf('?');
  return q < 0 || q === (url ?? '').length - 1 ? '' : (url ?? '').slice(q);
}

function asked(req: http.IncomingMessage, method: string, path: string, search: string): Asked {
  return { method, path, search, host: req.headers.host ?? '' };
}

/** The answer of the stand-in's service, as the platform's own code gives it (./platform.ts). */
function answerOf(st: StandIn, a: Asked): Answer | undefined {
  const urls = { ...defaultPublicUrls(st.o.domain), ...st.o.publicUrls };
  if (st.service === 'nap-cp') return cpAnswer(a);
  if (st.service === 'nap-browser') return browserAnswer(a, urls);
  return sandboxAnswer(a, urls, `sandbox.${st.o.domain}`);
}

function send(res: http.ServerResponse, method: string, a: Answer) {
  res.writeHead(a.status, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body), ...a.headers });
  res.end(method === 'HEAD' ? undefined : a.body);
}

/** The most of a request body the stand-in reads (POST /api/oauth/token): a stranger's body is bounded. */
const MAX_READ_BYTES = 64 * 1024;
/** @hono/node-server, which the three services run on: an unread body is drained this long and this far, then cut. */
const DRAIN_MS = 500;
const DRAIN_BYTES = 64 * 1024 * 1024;

function platform(st: StandIn, req: http.IncomingMessage, res: http.ServerResponse, path: string, search: string) {
  const method = req.method ?? 'GET';
  const a = asked(req, method, path, search);
  const answer = answerOf(st, a);
  if (method !== 'GET' && method !== 'HEAD') drainAfter(req, res);
  if (answer) return send(res, method, answer);
  // POST /api/oauth/token: the platform reads the body (nap-browser's and nap-sandbox's pods call it at every login).
  readBody(req, MAX_READ_BYTES).then(
    (body) => {
      if (res.writableEnded || res.destroyed) return;
      if (body === undefined)
        return json(res, 413, { error: 'Request body too large for the probe responder' }, { connection: 'close' });
      send(res, method, tokenAnswer(String(req.headers['content-type'] ?? ''), body));
    },
    () => res.destroy(),
  );
}

/** The body as text, or undefined past `limit` bytes (then the request stops being read). */
function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        return resolve(undefined);
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
    req.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * As @hono/node-server: a request answered before its body was read (401 on an upload path: http.upload's probe)
 * has the rest of its body read and thrown away for at most DRAIN_MS / DRAIN_BYTES, then the connection is cut; a
 * body that arrives in time leaves the connection open for the next request.
 */
function drainAfter(req: http.IncomingMessage, res: http.ServerResponse) {
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    let bytes = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
    };
    const cut = () => {
      done();
      const socket = req.socket as Duplex & { destroySoon?: () => void };
      if (!socket.destroyed) (socket.destroySoon ?? socket.destroy).call(socket);
    };
    const onData = (c: Buffer) => {
      bytes += c.length;
      if (bytes > DRAIN_BYTES) cut();
    };
    const timer = setTimeout(cut, DRAIN_MS);
    timer.unref();
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.resume();
  });
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
    if (o.fingerprintsOnly || path !== `${WELL_KNOWN}/ws`) {
      // nap-browser and nap-sandbox take only upgrades they proxy (to a remote browser, to a preview's sandbox), and
      // no browser or sandbox exists behind the stand-ins: they destroy the socket without a word.
      if (service !== 'nap-cp') return void socket.destroy();
      // nap-cp answers an upgrade as the same GET, and only /env-gateway (not on files.*) upgrades; any other answer
      // is written as a bare status line and the connection closed (@hono/node-ws).
      const a = asked(req, 'GET', path, rawSearch(req.url));
      const envGateway =
        path === '/env-gateway' &&
        !(a.host.split(':')[0] ?? '').startsWith('files.') &&
        String(req.headers.upgrade).toLowerCase() === 'websocket';
      if (!envGateway) {
        const status = answerOf(st, a)?.status ?? 404;
        return void socket.end(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
      }
    }
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
  // The platform upgrades first and then checks the environment token: 1008 without one.
  if (path === '/env-gateway') return closeNow(1008, 'unauthorized');
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
      const st: StandIn = {
        service,
        o,
        limits,
        wss,
        ws: 0,
        sse: 0,
        waits: 0,
        uploads: 0,
        uploadIds: new Map(),
        streaming: new WeakSet(),
      };
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
