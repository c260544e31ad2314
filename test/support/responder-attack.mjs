// A stranger attacking the probe responder, run inside a test namespace:
//   node responder-attack.mjs <mode> <port> <host> [args…]
// Every mode is bounded (a count and a deadline) and prints one JSON line with what it saw; the test judges it.
import net from 'node:net';
import { randomBytes } from 'node:crypto';

const [mode, portText, host, ...args] = process.argv.slice(2);
const port = Number(portText);
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** One raw request on its own connection: the status line and the whole answer (until close or the deadline). */
function raw(text, deadlineMs = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (how) => {
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve({ status: m ? Number(m[1]) : null, how, head: got.split('\r\n\r\n')[0] });
    };
    const timer = setTimeout(() => done('deadline'), deadlineMs);
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.length > 1 << 20) return done('too much');
      // A whole answer with a length is enough: a proxy may keep the connection open after it.
      const end = got.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, end));
      if (end >= 0 && len && got.length - end - 4 >= Number(len[1])) done('complete');
    });
    s.on('end', () => done('end'));
    s.on('error', (e) => done(e.code ?? 'error'));
  });
}
const get = (target, extra = '') => raw(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
const upgradeHead = (target) =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`;

/** A masked client text frame. */
function frame(payload) {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x81, 0x80 | len])
      : len < 65536
        ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 255])
        : Buffer.concat([
            Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0]),
            (() => {
              const b = Buffer.alloc(4);
              b.writeUInt32BE(len);
              return b;
            })(),
          ]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Reads server frames after the 101: the text messages and the close code. */
function readFrames(s, deadlineMs, want = Infinity) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let headDone = false;
    const texts = [];
    let status = null;
    const done = (how, close = null) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ status, texts, close, how });
    };
    const timer = setTimeout(() => done('deadline'), deadlineMs);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!headDone) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.toString('latin1'))?.[1] ?? 0);
        headDone = true;
        buf = buf.subarray(i + 4);
        if (status !== 101) return done('refused');
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 127;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const op = buf[0] & 15;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (op === 1) texts.push(payload.toString());
        if (texts.length >= want) return done('enough');
        if (op === 8) return done('close frame', payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
      }
    });
    s.on('end', () => done('end'));
    s.on('error', (e) => done(e.code ?? 'error'));
  });
}

/** Opens a WebSocket and sends `messages` after the hello; resolves with what came back. */
function wsSession(target, messages, deadlineMs = 5000, want = Infinity) {
  const s = net.connect(port, '127.0.0.1', () => {
    s.write(upgradeHead(target));
    for (const m of messages) s.write(frame(m));
  });
  return readFrames(s, deadlineMs, want);
}

const modes = {
  // Targets that made `new URL(req.url, base)` throw, then /health.
  async targets() {
    const results = {};
    for (const t of ['//', '///', '/\\', '//[', '//a:99999', '//a:99999/x?y=%zz', '*', 'http://[/']) {
      const r = await get(t);
      results[t] = r.status;
    }
    const up = await raw(upgradeHead('//'));
    const upBracket = await raw(upgradeHead('//['));
    const health = (await get('/health')).status;
    const healthz = (await get('/healthz')).status;
    return { results, upgrade: up.status, upgradeBracket: upBracket.status, health, healthz };
  },

  // A client that sends `size`-byte text messages as fast as the socket takes them and never reads.
  async wsFlood() {
    const [sizeText, secondsText, fill = 'a'] = args;
    const payload = Buffer.alloc(Number(sizeText), fill).toString();
    const f = frame(payload);
    const deadline = Date.now() + Number(secondsText) * 1000;
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let cut = null;
    s.on('error', (e) => (cut = e.code ?? 'error'));
    s.on('close', () => (cut ??= 'closed'));
    await new Promise((r) => s.once('connect', r));
    s.write(upgradeHead('/.well-known/nap-verify/ws'));
    // Never read: no 'data' listener, the socket stays paused and the kernel buffers fill.
    while (!cut && Date.now() < deadline) {
      sent += f.length;
      if (!s.write(f)) await Promise.race([new Promise((r) => s.once('drain', r)), wait(200)]);
    }
    s.destroy();
    return { cut, sentBytes: sent };
  },

  // One message of `size` bytes of `fill`: what comes back.
  async wsMessage() {
    const [sizeText, fill = 'a', want = 'Infinity'] = args;
    return wsSession(
      '/.well-known/nap-verify/ws',
      [Buffer.alloc(Number(sizeText), fill).toString()],
      5000,
      Number(want),
    );
  },

  // `n` SSE requests pipelined on one connection; reads for up to 3 s.
  async ssePipeline() {
    const n = Number(args[0]);
    const req = `GET /.well-known/nap-verify/sse?hold=3600&beat=1e-9 HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const r = await raw(req.repeat(n), 3000);
    return { how: r.how, status: r.status, connectionClose: /\r\nconnection: close/i.test(r.head) };
  },

  // `n` streams of a kind held open at once, then /health and /healthz while they are held; then all closed.
  async hold() {
    const [kinds, nText, query = 'hold=60&beat=1e-9'] = args;
    const n = Number(nText);
    const socks = [];
    const statuses = {};
    for (const kind of kinds.split(','))
      for (let i = 0; i < n; i++) {
        const s = net.connect(port, '127.0.0.1');
        socks.push(s);
        s.on('error', () => {});
        const status = await new Promise((resolve) => {
          let got = '';
          const timer = setTimeout(() => resolve('deadline'), 3000);
          s.on('connect', () =>
            s.write(
              kind === 'ws'
                ? upgradeHead('/.well-known/nap-verify/ws')
                : `GET /.well-known/nap-verify/sse?${query} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
            ),
          );
          const onData = (d) => {
            got += d.toString('latin1');
            const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
            if (m) {
              clearTimeout(timer);
              s.off('data', onData);
              // Keep the stream flowing (beats, hello) so nothing backs up: only the count matters here.
              s.on('data', () => {});
              resolve(Number(m[1]));
            }
          };
          s.on('data', onData);
          s.on('close', () => resolve('closed'));
        });
        statuses[`${kind} ${status}`] = (statuses[`${kind} ${status}`] ?? 0) + 1;
      }
    const health = (await get('/health')).status;
    const healthz = (await get('/healthz')).status;
    for (const s of socks) s.destroy();
    return { statuses, health, healthz };
  },

  // Idle connections up to and past the connection cap: how many the server kept open.
  async idle() {
    const n = Number(args[0]);
    const socks = [];
    for (let i = 0; i < n; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    // A dropped connection is closed by the server at once; give it a bounded moment to do so.
    const open = async () => {
      const probes = await Promise.all(
        socks.map(
          (s) =>
            new Promise((resolve) => {
              if (s.destroyed) return resolve(false);
              const timer = setTimeout(() => resolve(true), 1000);
              s.once('close', () => {
                clearTimeout(timer);
                resolve(false);
              });
            }),
        ),
      );
      return probes.filter(Boolean).length;
    };
    const kept = await open();
    for (const s of socks) s.destroy();
    // The server frees the slots when it sees the closes: ask again until it answers (bounded).
    let healthAfter = null;
    for (let i = 0; i < 50 && healthAfter !== 200; i++) {
      healthAfter = (await get('/health')).status;
      if (healthAfter !== 200) await wait(100);
    }
    return { kept, healthAfter };
  },

  // A WebSocket held until the server ends it: the close code.
  async wsLifetime() {
    return wsSession('/.well-known/nap-verify/ws', [], Number(args[0]) * 1000);
  },

  // SSE streams that ask for a beat every nanosecond, read for `seconds`: beats per stream.
  async sseBeat() {
    const [nText, secondsText] = args;
    const counts = await Promise.all(
      Array.from(
        { length: Number(nText) },
        () =>
          new Promise((resolve) => {
            const s = net.connect(port, '127.0.0.1', () =>
              s.write(`GET /.well-known/nap-verify/sse?hold=60&beat=1e-9 HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
            );
            let got = '';
            s.on('data', (d) => (got += d.toString('latin1')));
            s.on('error', () => {});
            setTimeout(() => {
              s.destroy();
              resolve({ beats: got.split(': beat\n').length - 1, hello: /"beat":0\.5,/.test(got) });
            }, Number(secondsText) * 1000);
          }),
      ),
    );
    return { counts };
  },

  // What Node's parser already refuses: a header block over 16 KiB, and request-smuggling shapes.
  async parser() {
    const huge = await raw(`GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    const clte = await raw(
      `POST /health HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    const twoCl = await raw(
      `POST /health HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`,
    );
    const teObf = await raw(`POST /health HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`);
    const ok = await get('/health');
    return {
      huge: huge.status,
      clte: clte.status,
      twoCl: twoCl.status,
      teObf: teObf.status,
      health: ok.status,
      healthHead: ok.head,
    };
  },
};

const fn = modes[mode];
if (!fn) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await fn())}\n`);
process.exit(0);
