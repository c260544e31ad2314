// The probe responder's protocol (spec §7) and its platform fingerprints (spec §1), on loopback.
import { request } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  limitsFromEnv,
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
    expect(DEFAULT_LIMITS.wsStreams + DEFAULT_LIMITS.sseStreams).toBeLessThan(DEFAULT_LIMITS.maxConnections);
    expect(DEFAULT_LIMITS.wsLifetimeS).toBeGreaterThan(3600);
  });
});
