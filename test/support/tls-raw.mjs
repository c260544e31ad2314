// One raw HTTP/1.1 exchange over TLS, run inside a test namespace (`node tls-raw.mjs '<json>'`): writes the head as
// given, then optionally `bodyBytes` of body, and reports every byte that came back with when it came (ms after the
// head was written), how the connection ended, and how much of the body went out. Bounded by `readMs`.
//   { port, host, ca, head, bodyBytes?, readMs, stopAtFinal? }
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const o = JSON.parse(process.argv[2]);
const out = { chunks: [], closedAt: null, error: null, sent: 0 };
const sock = tls.connect({
  host: '127.0.0.1',
  port: o.port,
  servername: o.host,
  ca: readFileSync(o.ca),
  ALPNProtocols: ['http/1.1'],
});
let t0 = Date.now();
const text = () => out.chunks.map((c) => c.text).join('');
// A final answer: a status line that is not 1xx, with its whole body (Content-Length) or the close.
const finalDone = () => {
  const s = text().replace(/^HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/g, '');
  const m = /^HTTP\/1\.1 [2-5]\d\d[\s\S]*?\r\n\r\n/.exec(s);
  if (!m) return false;
  const len = /\r\ncontent-length: *(\d+)/i.exec(m[0]);
  return len ? s.length - m[0].length >= Number(len[1]) : false;
};
const finish = () => {
  clearTimeout(deadline);
  sock.destroy();
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
};
const deadline = setTimeout(finish, o.readMs);
sock.on('data', (d) => {
  out.chunks.push({ t: Date.now() - t0, text: d.toString('latin1') });
  if (o.stopAtFinal && finalDone()) finish();
});
sock.on('error', (e) => (out.error = e.code ?? e.message));
sock.on('close', () => {
  out.closedAt = Date.now() - t0;
  finish();
});
sock.once('secureConnect', async () => {
  t0 = Date.now();
  sock.write(o.head);
  const block = Buffer.alloc(64 * 1024, 0x61);
  // Bounded: at most bodyBytes / 64 KiB writes, each waiting for drain when the socket is full.
  while (out.sent < (o.bodyBytes ?? 0) && !sock.destroyed && out.closedAt === null) {
    const n = Math.min(block.length, o.bodyBytes - out.sent);
    const more = sock.write(n === block.length ? block : block.subarray(0, n));
    out.sent += n;
    if (!more) {
      await new Promise((r) => {
        sock.once('drain', r);
        sock.once('close', r);
      });
    }
  }
});
