// The hand-written HTTP/1.1 client (src/probes/http1.ts): its parser on recorded bytes fed in every split, and its
// kept-alive exchanges against loopback servers that answer as real and broken servers do.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { http1Exchange, parseHead, ResponseParser, ResponseReader } from '../../src/probes/http1.js';
import { readSse } from '../../src/probes/sse.js';

/** Feeds `raw` in pieces cut at `cuts`, as a socket might deliver it. */
function feedSplit(p: ResponseParser, raw: Buffer, cuts: number[]): void {
  let at = 0;
  for (const c of [...cuts, raw.length]) {
    p.feed(raw.subarray(at, c));
    at = c;
  }
}

const CHUNKED = Buffer.from(
  'HTTP/1.1 100 Continue\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n' +
    '5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n',
  'latin1',
);

describe('ResponseParser', () => {
  it('reads a chunked answer after an interim one, whatever the read boundaries', () => {
    for (let a = 1; a < CHUNKED.length; a++) {
      for (const b of [a, Math.min(CHUNKED.length - 1, a + 7)]) {
        const p = new ResponseParser('GET', 8192);
        feedSplit(
          p,
          CHUNKED,
          [...new Set([a, b])].sort((x, y) => x - y),
        );
        expect(p.error, `cut at ${a},${b}`).toBeUndefined();
        expect(p.done, `cut at ${a},${b}`).toBe(true);
        expect(p.body.toString(), `cut at ${a},${b}`).toBe('hello, world');
        expect(p.head).toMatchObject({ status: 200, headers: { 'set-cookie': 'a=1, b=2' }, keepAlive: true });
      }
    }
  });

  it('keeps the body up to the limit and says it was cut; a close-framed body ends with the connection', () => {
    const p = new ResponseParser('GET', 4);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789'));
    expect(p.truncated).toBe(true);
    expect(p.body.toString()).toBe('0123');
    const c = new ResponseParser('GET', 100);
    c.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    expect(c.done).toBe(false);
    c.end();
    expect(c.done).toBe(true);
    expect(c.head?.keepAlive).toBe(false);
    expect(c.body.toString()).toBe('until the end');
  });

  it('answers without a body: HEAD, 204, 304; Content-Length 0', () => {
    for (const [method, raw] of [
      ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'],
      ['GET', 'HTTP/1.1 204 No Content\r\n\r\n'],
      ['GET', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'],
      ['GET', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ] as const) {
      const p = new ResponseParser(method, 100);
      p.feed(Buffer.from(raw));
      expect(p.done, raw).toBe(true);
      expect(p.bodyBytes, raw).toBe(0);
    }
  });

  it('what is not HTTP is an error, never a throw: garbage, bad lengths, bad chunks, a head over 64 KiB', () => {
    const bad = [
      'SSH-2.0-OpenSSH_9.6\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n',
    ];
    for (const raw of bad) {
      const p = new ResponseParser('GET', 100);
      expect(() => p.feed(Buffer.from(raw)), raw).not.toThrow();
      expect(p.error?.code, raw).toBe('HPE_INVALID_CONSTANT');
    }
    const big = new ResponseParser('GET', 100);
    big.feed(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`));
    expect(big.error?.code).toBe('UND_ERR_HEADERS_OVERFLOW');
  });

  it('as the one-connection probes read: 100 Continue is interim, 101 final, 2 KiB of body kept', () => {
    const r = new ResponseReader();
    r.feed(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload Too Large\r\nContent-Length: 3000\r\n\r\n'));
    expect(r.interim).toEqual([100]);
    expect(r.final).toMatchObject({ status: 413, body: '' });
    expect(r.bodyDone).toBe(false);
    r.feed(Buffer.alloc(2500, 'a'));
    expect(r.bodyDone).toBe(true);
    expect(r.final?.body).toHaveLength(2048);
    const up = new ResponseReader();
    up.feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi'));
    expect(up.final).toMatchObject({ status: 101 });
    expect(up.interim).toEqual([]);
    expect(up.bodyDone).toBe(true);
    const junk = new ResponseReader();
    junk.feed(Buffer.from('220 smtp.example ESMTP\r\n\r\n'));
    expect(junk.garbled).toMatch(/does not match the HTTP\/1\.1 protocol/);
  });

  it('a status line it cannot read names what came', () => {
    const h = parseHead(Buffer.from('HTTP/2 200'), 'GET');
    expect(h).toMatchObject({ code: 'HPE_INVALID_CONSTANT' });
    expect('message' in h && h.message).toContain('"HTTP/2 200"');
  });
});

const servers: net.Server[] = [];
const accepted = new Set<net.Socket>();
afterEach(async () => {
  for (const sock of accepted) sock.destroy();
  accepted.clear();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A loopback server that hands each connection to `onConnection`; its port. */
async function serve(onConnection: (sock: net.Socket, n: number) => void): Promise<number> {
  let n = 0;
  const s = net.createServer((sock) => {
    accepted.add(sock);
    sock.on('error', () => {});
    onConnection(sock, n++);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

const get = (port: number, path: string, timeoutMs = 2000, maxBody = 8192) =>
  http1Exchange({
    url: new URL(`http://kept.test:${port}${path}`),
    address: '127.0.0.1',
    timeoutMs,
    method: 'GET',
    headers: {},
    maxBody,
    tlsOptions: {},
  });

describe('http1Exchange', () => {
  it('one connection per origin, kept alive, one request at a time, Host and the path as asked', async () => {
    const seen: string[] = [];
    let conns = 0;
    const port = await serve((sock) => {
      conns++;
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          seen.push(head.split('\r\n').slice(0, 2).join(' | '));
          sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        }
      });
    });
    const rs = await Promise.all(['/a', '/b', '/c'].map((p) => get(port, p)));
    for (const r of rs) expect(r).toMatchObject({ status: 200, bodyBytes: 2 });
    expect(conns).toBe(1);
    expect(seen).toEqual([
      `GET /a HTTP/1.1 | Host: kept.test:${port}`,
      `GET /b HTTP/1.1 | Host: kept.test:${port}`,
      `GET /c HTTP/1.1 | Host: kept.test:${port}`,
    ]);
    expect(rs.map((r) => !!r.marks.reused)).toEqual([false, true, true]);
  });

  it('a kept-alive connection the server closed meanwhile: the request goes again on a new one', async () => {
    let conns = 0;
    const port = await serve((sock) => {
      conns++;
      sock.once('data', () => {
        // Answers once, then closes its side of the idle connection, as a short keep-alive timeout does.
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
        setTimeout(() => sock.end(), 20);
      });
    });
    expect(await get(port, '/one')).toMatchObject({ status: 200 });
    await new Promise((r) => setTimeout(r, 80));
    expect(await get(port, '/two')).toMatchObject({ status: 200 });
    expect(conns).toBe(2);
  });

  it('silence, a close and a reset mid-answer are findings with codes', async () => {
    const silent = await serve(() => {});
    expect(await get(silent, '/', 300)).toMatchObject({ error: { code: 'UND_ERR_HEADERS_TIMEOUT' } });
    const closes = await serve((sock) => sock.once('data', () => sock.end()));
    expect(await get(closes, '/')).toMatchObject({ error: { code: 'UND_ERR_SOCKET', message: 'other side closed' } });
    const resets = await serve((sock) =>
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
        setTimeout(() => sock.resetAndDestroy(), 20);
      }),
    );
    expect(await get(resets, '/')).toMatchObject({ error: { code: 'ECONNRESET' } });
    const drips = await serve((sock) =>
      sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart')),
    );
    expect(await get(drips, '/', 300)).toMatchObject({ error: { code: 'UND_ERR_BODY_TIMEOUT' } });
    const refused = await serve(() => {});
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await get(refused, '/')).toMatchObject({ error: { code: 'ECONNREFUSED' } });
  });

  it('a body past the limit is cut and its connection not reused', async () => {
    let conns = 0;
    const port = await serve((sock) => {
      conns++;
      sock.on('data', () => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'z'.repeat(5000)}`));
    });
    const r = await get(port, '/big', 2000, 100);
    expect(r).toMatchObject({ status: 200, truncated: true });
    expect('body' in r && r.body.length).toBe(100);
    await get(port, '/again', 2000, 100);
    expect(conns).toBe(2);
  });
});

describe('readSse on the hand-written client', () => {
  it('a chunked event stream: hello, then the tick, read as they come; a FIN before bye is an eof', async () => {
    const port = await serve((sock) =>
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
        sock.write('16\r\nevent: hello\ndata: 1\n\n\r\n');
        setTimeout(() => {
          sock.write('15\r\nevent: tick\ndata: 2\n\n\r\n');
          setTimeout(() => sock.end(), 30);
        }, 60);
      }),
    );
    const url = `http://sse.test:${port}/stream`;
    const stopped = await readSse({ url, address: '127.0.0.1', timeoutMs: 2000, expectMs: 1000, stopAfter: 'tick' });
    expect(stopped).toMatchObject({ status: 200, contentType: 'text/event-stream', end: { how: 'survived' } });
    const [hello, tick] = stopped.events;
    expect(hello?.[2]).toBe('hello');
    expect(tick?.[2]).toBe('tick');
    expect(tick![0] - hello![0]).toBeGreaterThanOrEqual(40);
    const whole = await readSse({ url, address: '127.0.0.1', timeoutMs: 2000, expectMs: 1000 });
    expect(whole.end).toEqual({ how: 'eof', detail: 'connection closed mid-stream (FIN)' });
  });

  it('a non-200 answer keeps the start of its body', async () => {
    const port = await serve((sock) =>
      sock.once('data', () => sock.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way')),
    );
    const tl = await readSse({
      url: `http://sse.test:${port}/`,
      address: '127.0.0.1',
      timeoutMs: 2000,
      expectMs: 500,
    });
    expect(tl).toMatchObject({ status: 403, body: 'no way', end: { how: 'http', status: 403 } });
  });
});
