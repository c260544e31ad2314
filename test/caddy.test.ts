// Real edge proxies in front of the responder, for the upload and long-wait checks: Caddy 2.6.2 (Debian bookworm)
// routing the five names as an ingress does (the checks pass through it), its `request_body { max_size }` enforced
// only while a body is read (a header-only probe with `Expect: 100-continue` gets `100 Continue` at any declared
// size; real bytes past the limit end in 502), its response_header_timeout, and Varnish's first_byte_timeout
// cutting a response whose first byte is late (503 "Backend fetch failed") behind the nginx TLS front.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './harness/cli.js';
import { startNginx } from './harness/nginx.js';
import { runCleanups } from './harness/proc.js';
import { startCaddy } from './support/caddy.js';
import { ingressBase, nginxSite, publicUrlArgs, startResponder, UPGRADE_MAP, type Ingress } from './support/ingress.js';
import { startVarnish } from './support/varnish.js';

const R = { cp: 3000, browser: 3005, sandbox: 3006 };
const P = { caddy: 8443, caddyLimited: 8444, caddyHeaderTimeout: 8445, varnish: 8446 };
const VARNISH = 6081;
const RAW = path.join(REPO_ROOT, 'test/support/tls-raw.mjs');
const UPLOAD = '/.well-known/nap-verify/upload';
const MiB = 1024 * 1024;

let ing: Ingress;

beforeAll(async () => {
  ing = await ingressBase('nap.test');
  await startResponder(ing.ns, ing.domain, R, publicUrlArgs(ing.domain, P.caddy));
  await startCaddy(ing, R, P.caddy);
  await startCaddy(ing, R, P.caddyLimited, { maxBodySize: '10MB' });
  await startCaddy(ing, R, P.caddyHeaderTimeout, { responseHeaderTimeout: '1s' });
  await startVarnish(ing, R, VARNISH, 3600, { firstByteTimeoutS: 1 });
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, R, { port: P.varnish, backends: { cp: VARNISH, browser: VARNISH, sandbox: VARNISH } }),
    ].join('\n'),
  );
});
afterAll(runCleanups);

interface Exchange {
  chunks: Array<{ t: number; text: string }>;
  closedAt: number | null;
  error: string | null;
  sent: number;
}

/** One raw HTTP/1.1 exchange over TLS from inside the namespace (test/support/tls-raw.mjs). */
async function exchange(o: {
  port: number;
  host?: string;
  head: string;
  bodyBytes?: number;
  readMs: number;
  stopAtFinal?: boolean;
}): Promise<Exchange & { text: string; status: number | null; firstFinalAt: number | null }> {
  const arg = JSON.stringify({ host: ing.domain, ca: ing.rootPem, ...o });
  const r = await ing.ns.exec('node', [RAW, arg], { timeoutMs: o.readMs + 20_000 });
  if (r.code !== 0) throw new Error(`tls-raw: ${r.stderr}${r.stdout}`);
  const x = JSON.parse(r.stdout) as Exchange;
  const text = x.chunks.map((c) => c.text).join('');
  const finals = [...text.matchAll(/HTTP\/1\.1 ([2-5]\d\d) /g)];
  // When the final status line arrived: the first chunk whose running text contains it.
  let acc = '';
  let firstFinalAt: number | null = null;
  for (const c of x.chunks) {
    acc += c.text;
    if (/HTTP\/1\.1 [2-5]\d\d /.test(acc)) {
      firstFinalAt = c.t;
      break;
    }
  }
  return { ...x, text, status: finals[0] ? Number(finals[0][1]) : null, firstFinalAt };
}

const postHead = (host: string, length: number, expect100: boolean, id?: string) =>
  `POST ${UPLOAD}${id ? `?id=${id}` : ''} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\n` +
  `Content-Length: ${length}\r\n${expect100 ? 'Expect: 100-continue\r\n' : ''}\r\n`;
const bodyOf = (text: string) => {
  const final = text.slice(text.search(/HTTP\/1\.1 [2-5]\d\d /));
  return final.slice(final.indexOf('\r\n\r\n') + 4);
};

describe('Caddy 2.6.2 in front of the responder', () => {
  it('the checks pass through it: http.main, http.browsers, http.sandbox, ws.main', async () => {
    const r = await runCli(
      ing.ns,
      [
        '--domain',
        ing.domain,
        '--https-port',
        String(P.caddy),
        '--ca-file',
        ing.rootPem,
        '--only',
        'http,ws',
        '--no-hold',
        '--format',
        'json',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.json, r.stderr + r.stdout).toBeDefined();
    const byId = Object.fromEntries((r.json.checks as Array<{ id: string; status: string }>).map((c) => [c.id, c]));
    for (const id of ['http.main', 'http.browsers', 'http.sandbox', 'ws.main'])
      expect(byId[id], `${id}: ${JSON.stringify(byId[id])}`).toMatchObject({ status: 'pass' });
  });

  it('routes each host to its service with the Host as received and X-Forwarded-Proto https', async () => {
    const d = ing.domain;
    for (const [host, service] of [
      [d, 'nap-cp'],
      [`files.${d}`, 'nap-cp'],
      [`browsers.${d}`, 'nap-browser'],
      [`sandbox.${d}`, 'nap-sandbox'],
      [`abc-8080.sandbox.${d}`, 'nap-sandbox'],
    ]) {
      const x = await exchange({
        port: P.caddy,
        host,
        head: `GET /.well-known/nap-verify HTTP/1.1\r\nHost: ${host}:${P.caddy}\r\n\r\n`,
        readMs: 5000,
        stopAtFinal: true,
      });
      expect(x.status, host).toBe(200);
      expect(JSON.parse(bodyOf(x.text)), host).toEqual({
        service,
        host: `${host}:${P.caddy}`,
        forwardedProto: 'https',
        protocol: 1,
      });
    }
  });

  it('without a body limit: a real 20 MB body arrives whole (200, received = declared)', async () => {
    const size = 20 * 1000 * 1000;
    const x = await exchange({
      port: P.caddy,
      head: postHead(ing.domain, size, false),
      bodyBytes: size,
      readMs: 20_000,
      stopAtFinal: true,
    });
    expect(x.status, x.text).toBe(200);
    expect(JSON.parse(bodyOf(x.text))).toEqual({ service: 'nap-cp', declared: size, received: size });
  });

  it(
    'request_body max_size 10MB: the header-only probe gets 100 Continue at every declared size up to 100 MiB ' +
      'and no final answer; real bytes find the limit (5 MB passes, 20 MB ends in 502)',
    async () => {
      for (const size of [1 * MiB, 20 * MiB, 100 * MiB]) {
        const x = await exchange({ port: P.caddyLimited, head: postHead(ing.domain, size, true), readMs: 1500 });
        // One or two of them (measured): Go's own, written as Caddy starts reading the body to send it on, and the
        // responder's (Node's), relayed with Caddy's Server header; which comes first, or whether Go's is written at
        // all before the read, varies from run to run (a CI run saw the relayed one alone). Only interim answers.
        expect(x.text, `declared ${size}`).toMatch(/^(HTTP\/1\.1 100 Continue\r\n(Server: Caddy\r\n)?\r\n){1,2}$/);
        expect(x.chunks[0]!.t, `declared ${size}`).toBeLessThan(1000);
        expect(x.status, `declared ${size}: ${x.text}`).toBeNull();
      }
      const upload = (bytes: number, id: string) =>
        exchange({
          port: P.caddyLimited,
          head: postHead(ing.domain, bytes, false, id),
          bodyBytes: bytes,
          readMs: 20_000,
          stopAtFinal: true,
        });
      // What the responder saw, asked through Caddy (a GET has no body to limit).
      const seen = async (id: string) =>
        JSON.parse(
          bodyOf(
            (
              await exchange({
                port: P.caddyLimited,
                head: `GET ${UPLOAD}?id=${id} HTTP/1.1\r\nHost: ${ing.domain}\r\n\r\n`,
                readMs: 5000,
                stopAtFinal: true,
              })
            ).text,
          ),
        );
      // 10MB is 10,000,000 bytes: exactly that passes.
      for (const bytes of [5_000_000, 10_000_000]) {
        const ok = await upload(bytes, `fine-${bytes}`);
        expect(ok.status, ok.text).toBe(200);
        expect(JSON.parse(bodyOf(ok.text))).toEqual({ service: 'nap-cp', declared: bytes, received: bytes });
      }
      for (const bytes of [10_000_001, 20_000_000]) {
        const cut = await upload(bytes, `cut-${bytes}`);
        // Not a 413: Caddy fails reading the body it is sending on, and answers 502 with no body, closing.
        expect(cut.status, cut.text).toBe(502);
        expect(cut.text).toMatch(/\r\nConnection: close\r\n/i);
        expect(bodyOf(cut.text)).toBe('');
        // The responder got exactly the limit, then Caddy dropped the upstream connection: only ?id= shows it.
        expect(await seen(`cut-${bytes}`)).toEqual({
          service: 'nap-cp',
          id: `cut-${bytes}`,
          received: 10_000_000,
          done: true,
          ended: 'aborted',
        });
      }
    },
  );

  it('response_header_timeout 1s: a wait of 3 s ends in 504 from Caddy (no body) at about 1 s', async () => {
    const x = await exchange({
      port: P.caddyHeaderTimeout,
      head: `GET /.well-known/nap-verify/wait?after=3 HTTP/1.1\r\nHost: ${ing.domain}\r\n\r\n`,
      readMs: 8000,
      stopAtFinal: true,
    });
    expect(x.status, x.text).toBe(504);
    expect(bodyOf(x.text)).toBe('');
    expect(x.firstFinalAt!).toBeGreaterThanOrEqual(900);
    expect(x.firstFinalAt!).toBeLessThan(2500);
  });
});

describe('Varnish first_byte_timeout (behind the nginx TLS front)', () => {
  it('first_byte_timeout=1: a wait of 3 s ends in 503 "Backend fetch failed" at about 1 s', async () => {
    const x = await exchange({
      port: P.varnish,
      head: `GET /.well-known/nap-verify/wait?after=3 HTTP/1.1\r\nHost: ${ing.domain}\r\n\r\n`,
      readMs: 8000,
      stopAtFinal: true,
    });
    expect(x.status, x.text).toBe(503);
    expect(x.text).toContain('Backend fetch failed');
    expect(x.firstFinalAt!).toBeGreaterThanOrEqual(900);
    expect(x.firstFinalAt!).toBeLessThan(2500);
    // A wait shorter than the limit passes: the limit is on the first byte, not the request.
    const ok = await exchange({
      port: P.varnish,
      head: `GET /.well-known/nap-verify/wait?after=0.5 HTTP/1.1\r\nHost: ${ing.domain}\r\n\r\n`,
      readMs: 8000,
      stopAtFinal: true,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(bodyOf(ok.text))).toEqual({ service: 'nap-cp', waitedS: 0.5 });
  });
});
