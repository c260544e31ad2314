// Hostile servers, one mode per process: what a verifier meets exactly when things are broken.
//   node hostile.mjs <mode> <port> [cert.pem key.pem]
// Modes: tcp-silent, tls-silent-http, ws-no-answer, ws-garbage, sse-trickle, sse-endless-error, huge-header,
// dns-garbage, stun-hostile, stun-binding-only, hostile-text.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

const [mode, portArg, certPath, keyPath] = process.argv.slice(2);
const port = Number(portArg);
const tlsOpts = () => ({ cert: readFileSync(certPath), key: readFileSync(keyPath) });

/**
 * Enough of the responder's answers for http.* to pass, so the hostile part is reached. `h2`: HTTP/2 offered too
 * (ALPN), as ingress controllers do.
 */
function identityServer(onUpgrade, onRequest, { h2 = false } = {}) {
  const handler = (req, res) => {
    if (onRequest?.(req, res)) return;
    const host = (req.headers.host ?? req.headers[':authority'] ?? '').replace(/:\d+$/, '');
    const service = host.startsWith('browsers.') ? 'nap-browser' : host.includes('sandbox.') ? 'nap-sandbox' : 'nap-cp';
    if (req.url === '/.well-known/nap-verify') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ service, host: req.headers.host, forwardedProto: null, protocol: 1 }));
    }
    if (host.startsWith('files.') && req.url === '/') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('Not found');
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"Not found"}');
  };
  const server = h2
    ? http2.createSecureServer({ ...tlsOpts(), allowHTTP1: true }, handler)
    : https.createServer(tlsOpts(), handler);
  if (onUpgrade) server.on('upgrade', onUpgrade);
  server.listen(port, '127.0.0.1');
}

switch (mode) {
  case 'tcp-silent':
    // Accepts, reads, never says a word: no TLS ServerHello ever comes.
    net.createServer((s) => s.on('data', () => {}).on('error', () => {})).listen(port, '127.0.0.1');
    break;
  case 'tls-silent-http':
    https.createServer(tlsOpts(), () => {}).listen(port, '127.0.0.1');
    break;
  case 'ws-no-answer':
    identityServer(() => {});
    break;
  case 'ws-garbage':
    identityServer((req, socket) => {
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept(req.headers['sec-websocket-key'])}\r\n\r\n`,
      );
      socket.write(Buffer.from([0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01]));
    });
    break;
  case 'sse-trickle':
    identityServer(undefined, (req, res) => {
      if (!req.url.startsWith('/.well-known/nap-verify/sse')) return false;
      // The head goes at once, as an event stream's does; then one byte a second.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      const t = setInterval(() => res.write(':'), 1000);
      res.on('close', () => clearInterval(t));
      return true;
    });
    break;
  case 'sse-endless-error':
    // An error page in place of the event stream that never ends: 64 KiB at a time, as fast as the client reads.
    // On close it prints how much the client took, so the test can see it read only the start.
    identityServer(
      undefined,
      (req, res) => {
        if (!req.url.startsWith('/.well-known/nap-verify/sse')) return false;
        res.writeHead(404, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, '<p>Not Found</p>');
        let sent = 0;
        let open = true;
        const pump = () => {
          while (open && sent < 4 * 1024 ** 3) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        res.on('close', () => {
          open = false;
          console.log(`sse-endless-error: sent ${sent} bytes over HTTP/${req.httpVersion}`);
        });
        pump();
        return true;
      },
      { h2: true },
    );
    break;
  case 'huge-header':
    https
      .createServer(tlsOpts(), (_req, res) => {
        res.writeHead(200, { 'x-huge': 'a'.repeat(1024 * 1024) });
        res.end('ok');
      })
      .listen(port, '127.0.0.1');
    break;
  case 'dns-garbage': {
    // Per query: garbage, a reply with the wrong id, then a truncated reply that sends us to TCP — where more
    // garbage waits.
    const sock = dgram.createSocket('udp4');
    sock.on('message', (q, r) => {
      const id = q.readUInt16BE(0);
      const wrong = Buffer.from(q);
      wrong.writeUInt16BE((id + 1) & 0xffff, 0);
      wrong[2] |= 0x80;
      const tc = Buffer.from(q);
      tc[2] |= 0x82;
      for (const b of [Buffer.from('\x00\x01garbage!!!!'), wrong, tc]) sock.send(b, r.port, r.address);
    });
    sock.on('error', () => {});
    sock.bind(port, '127.0.0.1');
    net
      .createServer((s) => s.on('data', () => s.end(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5]))).on('error', () => {}))
      .listen(port, '127.0.0.1');
    break;
  }
  case 'stun-hostile': {
    // Per request: a wrong transaction id, a length that lies, a malformed attribute, then a flood.
    const sock = dgram.createSocket('udp4');
    sock.on('message', (q, r) => {
      const tid = q.subarray(8, 20);
      const head = (len, id) => {
        const h = Buffer.alloc(20);
        h.writeUInt16BE(0x0101, 0);
        h.writeUInt16BE(len, 2);
        h.writeUInt32BE(0x2112a442, 4);
        id.copy(h, 8);
        return h;
      };
      const out = [
        head(0, Buffer.alloc(12, 7)),
        head(0xfffc, tid),
        Buffer.concat([head(8, tid), Buffer.from([0x00, 0x20, 0xff, 0xf0, 1, 2, 3, 4])]),
      ];
      // Well past the client's 2,000-packet flood limit, and paced in bursts of 50 so the client's socket buffer
      // (~200 KiB, a few hundred small datagrams) does not drop most of it: the flood must arrive to be seen.
      for (let i = 0; i < 2600; i++) out.push(head(0, Buffer.alloc(12, i & 0xff)));
      // Sends to a client that has hung up fail: a flood server does not care.
      const burst = (from) => {
        for (const b of out.slice(from, from + 50)) sock.send(b, r.port, r.address, () => {});
        if (from + 50 < out.length) setTimeout(burst, 2, from + 50);
      };
      burst(0);
    });
    sock.on('error', () => {});
    sock.bind(port, '127.0.0.1');
    // Clients hang up on this stream (as they should): a reset is no reason for the server to die.
    net
      .createServer((s) => s.on('data', () => s.write(Buffer.alloc(70_000, 0x5a))).on('error', () => {}))
      .listen(port, '127.0.0.1');
    break;
  }
  case 'stun-binding-only': {
    // Answers Binding (with a correct XOR-MAPPED-ADDRESS) and nothing else: a half-working TURN server.
    const sock = dgram.createSocket('udp4');
    sock.on('message', (q, r) => {
      if (q.length < 20 || q.readUInt16BE(0) !== 0x0001) return;
      const res = Buffer.alloc(32);
      res.writeUInt16BE(0x0101, 0);
      res.writeUInt16BE(12, 2);
      q.copy(res, 4, 4, 20);
      res.writeUInt16BE(0x0020, 20);
      res.writeUInt16BE(8, 22);
      res.writeUInt16BE(0x0001, 24);
      res.writeUInt16BE(r.port ^ 0x2112, 26);
      const ip = r.address.split('.').reduce((n, o) => n * 256 + Number(o), 0);
      res.writeUInt32BE((ip ^ 0x2112a442) >>> 0, 28);
      sock.send(res, r.port, r.address, () => {});
    });
    sock.on('error', () => {});
    sock.bind(port, '127.0.0.1');
    net.createServer((s) => s.on('data', () => {}).on('error', () => {})).listen(port, '127.0.0.1');
    break;
  }
  case 'hostile-text': {
    // Text meant for the reader, not the verifier: an OSC window title, a clear screen, BEL, CR, a bidi override
    // and a script, in the body, the page title and the headers. A raw TLS socket writes the bytes as they are
    // (Node's own server refuses control characters in a header). <d>: 502 with `Server: nginx<script>`;
    // files.<d>: a 200 page, no NAP service, with the same Server header; every other host: a 418 page whose
    // Server header carries an escape sequence, which the client reads as it came.
    const text = '\x1b]0;pwned\x07\x1b[2J\x07\rOVERWRITTEN \u202etxet desrever <script>alert(1)</script>';
    const page = `<html><head><title>${text}</title></head><body>${text}</body></html>`;
    const answer = (host) => {
      const [status, server] = host.startsWith('files.')
        ? ['200 OK', 'nginx<script>']
        : host.split('.').length > 2
          ? ["418 I'm a teapot", 'nginx\x1b[2J\x1b]0;pwned\x07']
          : ['502 Bad Gateway', 'nginx<script>'];
      const body = Buffer.from(page, 'utf8');
      const head =
        `HTTP/1.1 ${status}\r\nServer: ${server}\r\nContent-Type: text/html\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      return Buffer.concat([Buffer.from(head, 'utf8'), body]);
    };
    tls
      .createServer({ ...tlsOpts(), ALPNProtocols: ['http/1.1'] }, (s) => {
        let head = '';
        s.on('data', (d) => {
          head += d.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const host = /^host:\s*([^\r:]+)/im.exec(head.slice(0, end))?.[1]?.trim().toLowerCase() ?? '';
          head = '';
          s.end(answer(host));
        });
        s.on('error', () => {});
      })
      .listen(port, '127.0.0.1');
    break;
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}

function accept(key) {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}
console.log(`hostile ${mode} on ${port}`);
