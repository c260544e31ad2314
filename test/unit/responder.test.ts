// The probe responder's protocol (spec §7) and its platform fingerprints (spec §1), on loopback.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { request } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  limitsFromEnv,
  MAX_UPLOAD_IDS,
  parseTarget,
  startResponder,
  type Responder,
} from '../../src/serve/responder.js';

let r: Responder;
let bare: Responder;
const D = 'acme.test';

beforeAll(async () => {
  r = await startResponder({
    domain: D,
    host: '127.0.0.1',
    ports: { 'nap-cp': 0, 'nap-browser': 0, 'nap-sandbox': 0 },
  });
  bare = await startResponder({
    domain: D,
    host: '127.0.0.1',
    ports: { 'nap-cp': 0, 'nap-browser': 0, 'nap-sandbox': 0 },
    fingerprintsOnly: true,
  });
});
afterAll(async () => {
  await r.close();
  await bare.close();
});

async function get(port: number, path: string, host: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host, ...headers } });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function ws(port: number, path: string, host: string) {
  return new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host }, perMessageDeflate: false });
}

describe('responder: /.well-known/nap-verify', () => {
  it('names the service, the Host as received and X-Forwarded-Proto', async () => {
    const a = await get(r.ports['nap-cp']!, '/.well-known/nap-verify', 'files.acme.test', {
      'x-forwarded-proto': 'https',
    });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({
      service: 'nap-cp',
      host: 'files.acme.test',
      forwardedProto: 'https',
      protocol: 1,
    });
    const b = await get(r.ports['nap-browser']!, '/.well-known/nap-verify', 'browsers.acme.test:8443');
    expect(JSON.parse(b.body)).toEqual({
      service: 'nap-browser',
      host: 'browsers.acme.test:8443',
      forwardedProto: null,
      protocol: 1,
    });
    expect(
      JSON.parse((await get(r.ports['nap-sandbox']!, '/.well-known/nap-verify', 'x-1.sandbox.acme.test')).body).service,
    ).toBe('nap-sandbox');
  });

  it('WebSocket: hello on open, echoes text, and sends nothing unasked (no pings)', async () => {
    const sock = ws(r.ports['nap-browser']!, '/.well-known/nap-verify/ws', 'browsers.acme.test');
    const got: string[] = [];
    let pings = 0;
    sock.on('ping', () => pings++);
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise((res) => sock.once('open', res));
    await new Promise((res) => setTimeout(res, 100));
    sock.send('hi there');
    await new Promise((res) => setTimeout(res, 1200));
    sock.close();
    expect(got.map((m) => JSON.parse(m))).toEqual([
      { type: 'hello', service: 'nap-browser', host: 'browsers.acme.test' },
      { type: 'echo', data: 'hi there' },
    ]);
    expect(pings).toBe(0);
  });

  it('a plain GET on the WebSocket path says 426 and that no Upgrade header arrived', async () => {
    const a = await get(r.ports['nap-cp']!, '/.well-known/nap-verify/ws', D);
    expect(a.status).toBe(426);
    expect(JSON.parse(a.body)).toMatchObject({ error: 'Upgrade required', upgrade: null });
  });

  it('SSE: hello at once, ticks 0,1,2 at 0.5 s steps, beats when asked, bye at hold and the end', async () => {
    const t0 = Date.now();
    const res = await request(`http://127.0.0.1:${r.ports['nap-cp']!}/.well-known/nap-verify/sse?hold=2&beat=0.7`, {
      headers: { host: D },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const seen: Array<[number, string]> = [];
    for await (const chunk of res.body) seen.push([Date.now() - t0, chunk.toString()]);
    const text = seen.map(([, c]) => c).join('');
    expect(text).toMatch(
      new RegExp(
        /^event: hello\ndata: \{"service":"nap-cp","host":"acme\.test","forwardedProto":null,/.source +
          /"protocol":1,"hold":2,"beat":0\.7,"gap":500\}\n\n/.source,
      ),
    );
    for (const i of [0, 1, 2])
      expect(text).toMatch(new RegExp(`id: ${i}\\nevent: tick\\ndata: \\{"i":${i},"t":\\d+\\}\\n\\n`));
    expect(text.match(/^: beat$/gm)).toHaveLength(2);
    expect(text).toMatch(/event: bye\ndata: \{"t":\d+\}\n\n$/);
    const ticks = [...text.matchAll(/"i":\d,"t":(\d+)/g)].map((m) => Number(m[1]));
    expect(ticks.map((t) => Math.round(t / 500))).toEqual([1, 2, 3]);
    expect(seen[seen.length - 1]![0]).toBeGreaterThanOrEqual(1900);
  });

  it('SSE: &gap= spaces the ticks (bounded to 50–2000 ms); a beat finer than 0.5 s is raised to 0.5 s', async () => {
    const res = await request(
      `http://127.0.0.1:${r.ports['nap-cp']!}/.well-known/nap-verify/sse?hold=1.2&gap=100&beat=0.01`,
      { headers: { host: D } },
    );
    const text = await res.body.text();
    expect(text).toMatch(/"hold":1\.2,"beat":0\.5,"gap":100\}/);
    const ticks = [...text.matchAll(/"i":\d,"t":(\d+)/g)].map((m) => Number(m[1]));
    // `t` is the responder's Date.now() difference; a timer may fire a millisecond early by that clock (seen once:
    // 299 for the third tick), so not earlier than the gap, to the millisecond.
    for (const [i, t] of ticks.entries()) expect(t).toBeGreaterThanOrEqual(100 * (i + 1) - 1);
    expect(ticks[0]).toBeLessThan(450); // not the default 500 ms spacing
    expect(text.match(/^: beat$/gm)).toHaveLength(2);
    const bounded = await request(`http://127.0.0.1:${r.ports['nap-cp']!}/.well-known/nap-verify/sse?hold=0&gap=1`, {
      headers: { host: D },
    });
    expect(await bounded.body.text()).toMatch(/"gap":50\}/);
  });
});

describe('responder: the platform fingerprints (spec §1)', () => {
  it('main: /healthz, /api/version, / → /login, public /metrics; files: 404 text/plain "Not found"', async () => {
    const cp = r.ports['nap-cp']!;
    expect(await get(cp, '/healthz', D)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect(JSON.parse((await get(cp, '/api/version', D)).body)).toHaveProperty('commit');
    const root = await get(cp, '/', D);
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/login');
    expect((await get(cp, '/metrics', D)).body).toMatch(/^# HELP /);
    const files = await get(cp, '/', `files.${D}`);
    expect(files).toMatchObject({ status: 404, body: 'Not found' });
    expect(files.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('browsers: /health public, /api/* 401 (its /api/config sits behind auth), the web UI elsewhere', async () => {
    const b = r.ports['nap-browser']!;
    expect(await get(b, '/health', `browsers.${D}`)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect(await get(b, '/api/config', `browsers.${D}`)).toMatchObject({
      status: 401,
      body: '{"error":"Unauthorized"}',
    });
    expect(await get(b, '/api/browsers', `browsers.${D}`)).toMatchObject({ status: 401 });
    const ui = await get(b, '/', `browsers.${D}`);
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
    expect(ui.body).toContain('<title>Browsers</title>');
  });

  it(
    'sandbox: /health and a public /api/config from the domain, 401 on other /api/*, the web UI ' + 'elsewhere',
    async () => {
      const s = r.ports['nap-sandbox']!;
      expect(JSON.parse((await get(s, '/api/config', `sandbox.${D}`)).body)).toEqual({
        napUrl: 'https://acme.test',
        sandboxDomain: 'sandbox.acme.test',
      });
      expect((await get(s, '/api/sandboxes', `sandbox.${D}`)).status).toBe(401);
      expect((await get(s, '/', `sandbox.${D}`)).body).toContain('<title>Sandboxes</title>');
    },
  );

  it(
    "/api/auth/login on browsers and sandbox: 302 to <d>/oauth/authorize with the service's own " + 'callback',
    async () => {
      for (const [svc, role] of [
        ['nap-browser', 'browsers'],
        ['nap-sandbox', 'sandbox'],
      ] as const) {
        const a = await get(r.ports[svc]!, '/api/auth/login', `${role}.${D}`);
        expect(a.status).toBe(302);
        const loc = new URL(String(a.headers.location));
        expect(`${loc.origin}${loc.pathname}`).toBe('https://acme.test/oauth/authorize');
        expect(loc.searchParams.get('redirect_uri')).toBe(`https://${role}.acme.test/api/auth/callback`);
      }
      // Built from the public URLs it is given, as the platform builds them from values.env.
      const np = await startResponder({
        domain: D,
        host: '127.0.0.1',
        ports: { 'nap-browser': 0 },
        services: ['nap-browser'],
        publicUrls: { web: 'http://acme.test:30080', browser: 'http://acme.test:30085' },
      });
      try {
        const loc = String((await get(np.ports['nap-browser']!, '/api/auth/login', `browsers.${D}`)).headers.location);
        expect(loc).toMatch(/^http:\/\/acme\.test:30080\/oauth\/authorize\?/);
        expect(new URL(loc).searchParams.get('redirect_uri')).toBe('http://acme.test:30085/api/auth/callback');
      } finally {
        await np.close();
      }
    },
  );

  it('preview: a label without a numeric -port is 400, an unknown id-port is 502', async () => {
    expect(await get(r.ports['nap-sandbox']!, '/', `nvf0123456789.sandbox.${D}`)).toMatchObject({
      status: 400,
      body: '{"error":"Invalid preview subdomain"}',
    });
    expect(await get(r.ports['nap-sandbox']!, '/', `abc-8080.sandbox.${D}`)).toMatchObject({
      status: 502,
      body: '{"error":"Endpoint not available"}',
    });
  });

  it('/env-gateway upgrades, then closes 1008 without a token', async () => {
    const sock = ws(r.ports['nap-cp']!, '/env-gateway', D);
    const code = await new Promise<number>((res) => sock.on('close', (c) => res(c)));
    expect(code).toBe(1008);
  });

  it('--fingerprints-only hides /.well-known/nap-verify, as the real platform would', async () => {
    // nap-cp sends every path it has no public route for to its login, with the path to come back to (measured on
    // the real nap-cp; this used to be a 404, which nap-cp never answers there).
    const cp = await get(bare.ports['nap-cp']!, '/.well-known/nap-verify', D);
    expect(cp.status).toBe(302);
    expect(cp.headers.location).toBe('/login?next=%2F.well-known%2Fnap-verify');
    expect((await get(bare.ports['nap-browser']!, '/.well-known/nap-verify', `browsers.${D}`)).body).toContain(
      '<title>Browsers</title>',
    );
    expect((await get(bare.ports['nap-cp']!, '/healthz', D)).status).toBe(200);
    // nap-browser destroys the socket of every upgrade it does not proxy to a remote browser (it used to be a 404
    // here, which the real nap-browser never writes): no HTTP answer at all.
    const sock = ws(bare.ports['nap-browser']!, '/.well-known/nap-verify/ws', `browsers.${D}`);
    const seen = await new Promise<string>((res) => {
      sock.on('unexpected-response', (_q, rs) => res(`status ${rs.statusCode}`));
      sock.on('open', () => res('open'));
      sock.on('error', (e) => res(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    sock.terminate();
    expect(seen).toMatch(/^error (ECONNRESET|socket hang up)/);
  });

  it('answers as the platform does where the old stand-ins did not (all of it: test/conformance.test.ts)', async () => {
    const cp = r.ports['nap-cp']!;
    // Every path but / goes to the login with the path (and query) to come back to.
    expect((await get(cp, '/x/y?z=1', D)).headers.location).toBe('/login?next=%2Fx%2Fy%3Fz%3D1');
    expect(await get(cp, '/api/workspaces', D)).toMatchObject({ status: 401, body: '{"error":"Unauthorized"}' });
    // files.<d>: a path is an export token lookup.
    expect(await get(cp, '/exp_AAAAAAAAAAAAAAAAAAAAAA/x.txt', `files.${D}`)).toMatchObject({
      status: 404,
      body: 'Not found or expired',
    });
    const token = await request(`http://127.0.0.1:${cp}/api/oauth/token`, {
      method: 'POST',
      headers: { host: D, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(token.statusCode).toBe(400);
    expect(await token.body.json()).toEqual({ error: 'invalid_request', error_description: 'client_id is required' });
    // A WebSocket upgrade no route takes: nap-cp's status line for the same GET, then the connection closes.
    const up = ws(cp, '/', D);
    const status = await new Promise<number>((res) => {
      up.on('unexpected-response', (_q, rs) => res(rs.statusCode ?? 0));
      up.on('error', () => res(0));
    });
    up.terminate();
    expect(status).toBe(302);
    // The login redirect of nap-browser and nap-sandbox names their OAuth client as the manifests register it.
    const login = new URL(
      String((await get(r.ports['nap-sandbox']!, '/api/auth/login', `sandbox.${D}`)).headers.location),
    );
    expect(login.searchParams.get('client_id')).toBe('sandbox-service');
    expect(login.searchParams.get('scope')).toBe('profile');
    // A preview label whose port is out of range or has no id before it is no preview.
    for (const label of ['abc-0', 'abc-65536', '-8080'])
      expect((await get(r.ports['nap-sandbox']!, '/', `${label}.sandbox.${D}`)).status, label).toBe(400);
  });
});

describe('responder: request targets and limits, parsed without throwing', () => {
  it('parseTarget splits origin-form targets by hand and refuses the rest', () => {
    expect(parseTarget('/.well-known/nap-verify/sse?hold=75&beat=0.5')).toMatchObject({
      path: '/.well-known/nap-verify/sse',
    });
    expect(parseTarget('/.well-known/nap-verify/sse?hold=75&beat=0.5')!.query.get('beat')).toBe('0.5');
    for (const t of ['//', '///', '//a:99999', '/x?y=%zz', '/a%2Fb']) expect(parseTarget(t), t).toBeDefined();
    expect(parseTarget('/x?y=%zz')!.query.get('y')).toBe('%zz');
    for (const t of [
      undefined,
      '',
      '*',
      '/\\',
      '//[',
      'http://[/',
      'http://a/',
      '/a b',
      '/<script>',
      `/${'a'.repeat(9000)}`,
    ]) {
      expect(parseTarget(t), String(t)).toBeUndefined();
    }
  });

  it('limitsFromEnv takes known positive numbers only; the defaults keep every stream under the connection cap', () => {
    expect(
      limitsFromEnv({
        NAP_VERIFY_RESPONDER_LIMITS: 'wsLifetimeS=2,sseStreams=3,bogus=1,wsStreams=-1,maxConnections=x',
      }),
    ).toEqual({ wsLifetimeS: 2, sseStreams: 3 });
    expect(limitsFromEnv({})).toEqual({});
    expect(
      limitsFromEnv({
        NAP_VERIFY_RESPONDER_LIMITS: 'waits=2,uploads=3,uploadStallS=0.5,uploadMaxS=4,uploadMaxBytes=1000,uploadX=1',
      }),
    ).toEqual({ waits: 2, uploads: 3, uploadStallS: 0.5, uploadMaxS: 4, uploadMaxBytes: 1000 });
    const { wsStreams, sseStreams, waits, uploads } = DEFAULT_LIMITS;
    expect(wsStreams + sseStreams + waits + uploads).toBeLessThan(DEFAULT_LIMITS.maxConnections);
    expect(DEFAULT_LIMITS.wsLifetimeS).toBeGreaterThan(3600);
    expect(DEFAULT_LIMITS).toMatchObject({
      waits: 256,
      uploadStallS: 30,
      uploadMaxS: 600,
      uploadMaxBytes: 1024 ** 3,
    });
  });
});

/** A raw connection: every byte the responder sends, with when it arrived (ms after the request was written). */
interface Raw {
  sock: net.Socket;
  t0: number;
  chunks: Array<{ t: number; data: Buffer }>;
  closedAt: number | null;
  text(): string;
}

function raw(port: number, head: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const r: Raw = {
      sock,
      t0: 0,
      chunks: [],
      closedAt: null,
      text: () => Buffer.concat(r.chunks.map((c) => c.data)).toString('latin1'),
    };
    sock.on('data', (data) => r.chunks.push({ t: Date.now() - r.t0, data }));
    sock.on('close', () => (r.closedAt = Date.now() - r.t0));
    // A reset after the answer (a body we were still sending) is part of what is judged, not a failure.
    sock.on('error', () => {});
    sock.once('connect', () => {
      r.t0 = Date.now();
      sock.write(head);
      resolve(r);
    });
    sock.once('error', reject);
  });
}

/** Polls `cond` every 20 ms for at most `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  for (let i = 0; i < 10_000 && Date.now() < end; i++) {
    if (await cond()) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

/** The pod bundle `kit responder` ships (scripts/build-responder.mjs, from src/serve: `npm run build`). */
const BUNDLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/responder.mjs');
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
const UPLOAD = '/.well-known/nap-verify/upload';
const WAIT = '/.well-known/nap-verify/wait';
const postHead = (path: string, length: number | null, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: ${D}\r\n${length === null ? '' : `Content-Length: ${length}\r\n`}${extra}\r\n`;

describe('responder: /wait and /upload (spec §7)', () => {
  let short: Responder;
  beforeAll(async () => {
    short = await startResponder({
      domain: D,
      host: '127.0.0.1',
      ports: { 'nap-cp': 0 },
      services: ['nap-cp'],
      limits: limitsFromEnv({
        NAP_VERIFY_RESPONDER_LIMITS: 'uploadStallS=0.5,uploadMaxS=1.5,uploadMaxBytes=100000,waits=2,uploads=2',
      }),
    });
  });
  afterAll(() => short.close());

  it('wait: not a byte (no status line, no headers) before `after`, then 200 {service, waitedS}', async () => {
    for (const [svc, host] of [
      ['nap-cp', D],
      ['nap-browser', `browsers.${D}`],
      ['nap-sandbox', `sandbox.${D}`],
    ] as const) {
      const c = await raw(r.ports[svc]!, `GET ${WAIT}?after=0.3 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      await until(() => c.closedAt !== null, 3000, 'the wait answered and closed');
      expect(c.chunks.length, svc).toBeGreaterThan(0);
      // The first byte of anything at all: the status line, no earlier than the wait.
      expect(c.chunks[0]!.t, svc).toBeGreaterThanOrEqual(250);
      expect(c.chunks[0]!.t, svc).toBeLessThan(1500);
      const text = c.text();
      expect(text, svc).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text, svc).toMatch(/\r\nconnection: close\r\n/i);
      expect(bodyOf(text), svc).toEqual({ service: svc, waitedS: 0.3 });
    }
  });

  it('wait: after outside 0–3600 or not a number is 400 JSON; another method 405', async () => {
    const cp = r.ports['nap-cp']!;
    for (const q of ['', '?after=', '?after=abc', '?after=-1', '?after=3600.5', '?after=1e2', '?after=0x10']) {
      const a = await get(cp, `${WAIT}${q}`, D);
      expect(a.status, q).toBe(400);
      expect(JSON.parse(a.body), q).toMatchObject({ service: 'nap-cp', error: expect.stringContaining('3600') });
    }
    expect((await get(cp, `${WAIT}?after=0`, D)).body).toBe('{"service":"nap-cp","waitedS":0}');
    const post = await request(`http://127.0.0.1:${cp}${WAIT}?after=1`, { method: 'POST', headers: { host: D } });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET');
    await post.body.dump();
  });

  it('wait: the cap (waits=2 here) answers 503; a client that leaves frees its slot at once', async () => {
    const port = short.ports['nap-cp']!;
    const held = await Promise.all([1, 2].map(() => raw(port, `GET ${WAIT}?after=30 HTTP/1.1\r\nHost: ${D}\r\n\r\n`)));
    await sleep(100);
    const third = await get(port, `${WAIT}?after=1`, D);
    expect(third.status).toBe(503);
    expect(JSON.parse(third.body)).toMatchObject({ error: 'Too many waits' });
    for (const h of held) h.sock.destroy();
    await until(async () => (await get(port, `${WAIT}?after=0`, D)).status === 200, 2000, 'a slot free again');
    for (const h of held) expect(h.chunks).toHaveLength(0);
  });

  it('upload: a real 5 MB body is read and counted; the answer says connection: close', async () => {
    const size = 5 * 1024 * 1024;
    for (const svc of ['nap-cp', 'nap-browser', 'nap-sandbox'] as const) {
      const res = await request(`http://127.0.0.1:${r.ports[svc]!}${UPLOAD}`, {
        method: 'POST',
        headers: { host: D, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(size, 7),
      });
      expect(res.statusCode, svc).toBe(200);
      expect(res.headers.connection, svc).toBe('close');
      expect(await res.body.json(), svc).toEqual({ service: svc, declared: size, received: size });
    }
  });

  it('upload: a chunked body (no Content-Length) is counted, declared null; past uploadMaxBytes 413', async () => {
    // A stream of unknown length: undici sends it chunked.
    const ok = await request(`http://127.0.0.1:${r.ports['nap-cp']!}${UPLOAD}`, {
      method: 'POST',
      headers: { host: D },
      body: Readable.from(Array.from({ length: 30 }, () => Buffer.alloc(10_000, 1))),
    });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toEqual({ service: 'nap-cp', declared: null, received: 300_000 });
    // uploadMaxBytes=100000 here: a chunked body is cut past it (a declared one would be refused at once).
    const big = await raw(
      short.ports['nap-cp']!,
      `POST ${UPLOAD}?id=chunked-big HTTP/1.1\r\nHost: ${D}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    for (let i = 0; i < 15 && big.closedAt === null; i++) big.sock.write(`2710\r\n${'x'.repeat(10_000)}\r\n`);
    await until(() => big.closedAt !== null, 3000, 'the too-large chunked upload ended');
    expect(big.text()).toMatch(/^HTTP\/1\.1 413 /);
    expect(bodyOf(big.text())).toMatchObject({ service: 'nap-cp', declared: null, ended: 'too large' });
    const rec = JSON.parse((await get(short.ports['nap-cp']!, `${UPLOAD}?id=chunked-big`, D)).body);
    expect(rec).toMatchObject({ id: 'chunked-big', done: true, ended: 'too large' });
    expect(rec.received).toBeGreaterThan(100_000);
  });

  it('upload: Expect: 100-continue with headers only gets 100 Continue promptly and no final answer', async () => {
    const c = await raw(r.ports['nap-cp']!, postHead(UPLOAD, 100 * 1024 * 1024, 'Expect: 100-continue\r\n'));
    await until(() => c.chunks.length > 0, 2000, '100 Continue');
    expect(c.chunks[0]!.t).toBeLessThan(1000);
    await sleep(500);
    expect(c.text()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    expect(c.closedAt).toBeNull();
    c.sock.destroy();
  });

  it('upload: a declared length above 1 GiB is 413 at once, before a byte of the body is sent', async () => {
    const c = await raw(r.ports['nap-cp']!, postHead(UPLOAD, 1024 ** 3 + 1));
    await until(() => c.closedAt !== null, 2000, 'the 413 and the close');
    expect(c.text()).toMatch(/^HTTP\/1\.1 413 /);
    expect(bodyOf(c.text())).toEqual({
      error: 'Body too large',
      maxBytes: 1024 ** 3,
      service: 'nap-cp',
      declared: 1024 ** 3 + 1,
    });
    // Exactly 1 GiB is accepted: the request waits for its body.
    const ok = await raw(r.ports['nap-cp']!, postHead(UPLOAD, 1024 ** 3));
    await sleep(300);
    expect(ok.chunks).toHaveLength(0);
    ok.sock.destroy();
  });

  it('upload: no Content-Length and not chunked is 411; other methods 405; a bad id 400', async () => {
    const cp = r.ports['nap-cp']!;
    const c = await raw(cp, postHead(UPLOAD, null));
    await until(() => c.closedAt !== null, 2000, 'the 411');
    expect(c.text()).toMatch(/^HTTP\/1\.1 411 /);
    expect(bodyOf(c.text())).toMatchObject({ error: 'Length required', declared: null });
    for (const method of ['PUT', 'DELETE', 'HEAD'] as const) {
      const res = await request(`http://127.0.0.1:${cp}${UPLOAD}`, { method, headers: { host: D } });
      expect(res.statusCode, method).toBe(405);
      expect(res.headers.allow).toBe('GET, POST');
      await res.body.dump();
    }
    for (const id of ['', 'a b', 'x'.repeat(65), 'é', 'a.b']) {
      const res = await request(`http://127.0.0.1:${cp}${UPLOAD}?id=${encodeURIComponent(id)}`, {
        method: 'POST',
        headers: { host: D },
        body: 'x',
      });
      expect(res.statusCode, id).toBe(400);
      await res.body.dump();
    }
    expect((await get(cp, UPLOAD, D)).status).toBe(400);
    expect(await get(cp, `${UPLOAD}?id=never-seen`, D)).toMatchObject({
      status: 404,
      body: '{"error":"Unknown upload id","service":"nap-cp","id":"never-seen"}',
    });
  });

  it('upload ?id=: what arrived so far during the upload, and the outcome after it', async () => {
    const cp = r.ports['nap-cp']!;
    const id = `during-${Date.now()}`;
    const size = 1024 * 1024;
    const c = await raw(cp, postHead(`${UPLOAD}?id=${id}`, size));
    c.sock.write(Buffer.alloc(300_000, 1));
    const status = async () => JSON.parse((await get(cp, `${UPLOAD}?id=${id}`, D)).body);
    await until(async () => (await status()).received === 300_000, 3000, '300000 bytes seen');
    expect(await status()).toEqual({ service: 'nap-cp', id, received: 300_000, done: false });
    c.sock.write(Buffer.alloc(size - 300_000, 2));
    await until(() => c.closedAt !== null, 3000, 'the answer');
    expect(bodyOf(c.text())).toEqual({ service: 'nap-cp', declared: size, received: size });
    expect(await status()).toEqual({ service: 'nap-cp', id, received: size, done: true });
    // A transfer cut on the way (the client, or a proxy in between, goes away): what arrived is on record.
    const cut = await raw(cp, postHead(`${UPLOAD}?id=${id}-cut`, size));
    cut.sock.write(Buffer.alloc(1000, 3));
    await until(
      async () => (await get(cp, `${UPLOAD}?id=${id}-cut`, D)).body.includes('"received":1000'),
      3000,
      '1000',
    );
    cut.sock.destroy();
    await until(
      async () => JSON.parse((await get(cp, `${UPLOAD}?id=${id}-cut`, D)).body).done === true,
      3000,
      'the cut upload done',
    );
    expect(JSON.parse((await get(cp, `${UPLOAD}?id=${id}-cut`, D)).body)).toEqual({
      service: 'nap-cp',
      id: `${id}-cut`,
      received: 1000,
      done: true,
      ended: 'aborted',
    });
  });

  it('upload: a stalled body ends after uploadStallS (0.5 s here) and says what was counted', async () => {
    const c = await raw(short.ports['nap-cp']!, postHead(`${UPLOAD}?id=stalled`, 10_000));
    c.sock.write('x'.repeat(1234));
    await until(() => c.closedAt !== null, 3000, 'the stalled upload answered');
    expect(c.chunks[0]!.t).toBeGreaterThanOrEqual(450);
    expect(c.chunks[0]!.t).toBeLessThan(1400);
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect(bodyOf(c.text())).toEqual({ service: 'nap-cp', declared: 10_000, received: 1234, ended: 'stalled' });
    expect(JSON.parse((await get(short.ports['nap-cp']!, `${UPLOAD}?id=stalled`, D)).body)).toEqual({
      service: 'nap-cp',
      id: 'stalled',
      received: 1234,
      done: true,
      ended: 'stalled',
    });
  });

  it('upload: a body still trickling in after uploadMaxS (1.5 s here) ends "too long"', async () => {
    const c = await raw(short.ports['nap-cp']!, postHead(UPLOAD, 10_000));
    for (let i = 0; i < 40 && c.closedAt === null && c.chunks.length === 0; i++) {
      c.sock.write('x');
      await sleep(100);
    }
    await until(() => c.closedAt !== null, 3000, 'the too-long upload ended');
    expect(c.chunks[0]!.t).toBeGreaterThanOrEqual(1400);
    expect(c.chunks[0]!.t).toBeLessThan(2500);
    expect(bodyOf(c.text())).toMatchObject({ service: 'nap-cp', declared: 10_000, ended: 'too long' });
  });

  it(`upload ids are bounded: after ${MAX_UPLOAD_IDS + 1} uploads the first id is forgotten (404)`, async () => {
    const port = short.ports['nap-cp']!;
    for (let i = 0; i <= MAX_UPLOAD_IDS; i++) {
      const res = await request(`http://127.0.0.1:${port}${UPLOAD}?id=bound-${i}`, {
        method: 'POST',
        headers: { host: D },
        body: 'ab',
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    expect((await get(port, `${UPLOAD}?id=bound-0`, D)).status).toBe(404);
    expect(JSON.parse((await get(port, `${UPLOAD}?id=bound-1`, D)).body)).toMatchObject({ received: 2, done: true });
    expect((await get(port, `${UPLOAD}?id=bound-${MAX_UPLOAD_IDS}`, D)).status).toBe(200);
  });

  it('uploads beyond the cap (uploads=2 here) are 503 before their body is read', async () => {
    const port = short.ports['nap-cp']!;
    const held = await Promise.all([1, 2].map(() => raw(port, postHead(UPLOAD, 1000))));
    await sleep(100);
    const c = await raw(port, postHead(UPLOAD, 1000));
    await until(() => c.closedAt !== null, 2000, 'the 503');
    expect(c.text()).toMatch(/^HTTP\/1\.1 503 /);
    expect(bodyOf(c.text())).toMatchObject({ error: 'Too many uploads' });
    for (const h of held) h.sock.destroy();
  });

  it('the pod bundle (dist/responder.mjs) serves both, its limits from NAP_VERIFY_RESPONDER_LIMITS', async () => {
    // A free port for the bundle (it takes no port 0): the kernel's pick, released just before.
    const port = await new Promise<number>((res) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => res(p));
      });
    });
    const child = spawn(
      process.execPath,
      [BUNDLE, '--domain', D, '--service', 'nap-sandbox', '--port', String(port), '--host', '127.0.0.1'],
      { env: { ...process.env, NAP_VERIFY_RESPONDER_LIMITS: 'uploadStallS=0.5' }, stdio: 'ignore' },
    );
    try {
      await until(
        () =>
          new Promise<boolean>((res) => {
            const c = net.connect(port, '127.0.0.1', () => {
              c.destroy();
              res(true);
            });
            c.on('error', () => res(false));
          }),
        10_000,
        'the bundle listening',
      );
      const w = await raw(port, `GET ${WAIT}?after=0.3 HTTP/1.1\r\nHost: sandbox.${D}\r\n\r\n`);
      await until(() => w.closedAt !== null, 3000, 'the wait answered');
      expect(w.chunks[0]!.t).toBeGreaterThanOrEqual(250);
      expect(bodyOf(w.text())).toEqual({ service: 'nap-sandbox', waitedS: 0.3 });
      const u = await raw(port, postHead(`${UPLOAD}?id=b1`, 100));
      u.sock.write('x'.repeat(40));
      await until(() => u.closedAt !== null, 3000, 'the stalled upload answered');
      expect(u.chunks[0]!.t).toBeLessThan(1400);
      expect(bodyOf(u.text())).toEqual({ service: 'nap-sandbox', declared: 100, received: 40, ended: 'stalled' });
      expect(JSON.parse((await get(port, `${UPLOAD}?id=b1`, D)).body)).toMatchObject({ received: 40, done: true });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('--fingerprints-only has neither path: the platform answers them', async () => {
    const cp = await get(bare.ports['nap-cp']!, `${WAIT}?after=0`, D);
    expect(cp.status).toBe(302);
    const up = await request(`http://127.0.0.1:${bare.ports['nap-cp']!}${UPLOAD}`, {
      method: 'POST',
      headers: { host: D },
      body: 'x',
    });
    // nap-cp sends a path outside /api it has no route for to its login, POST included.
    expect(up.statusCode).toBe(302);
    await up.body.dump();
  });
});
