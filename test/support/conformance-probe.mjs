// Sends each request of test/support/platform-requests.ts to several installs (the real platform, the responder)
// inside a test namespace, over raw HTTP/1.1 sockets, and prints what a check could observe, as one JSON object:
//   node conformance-probe.mjs < {"targets":[{"name","ports":{"cp","browser","sandbox"}}],"requests":[…]}
// Every exchange is bounded (a deadline, a body cap); requests run a few at a time.
import net from 'node:net';

const DEADLINE_MS = 5000;
/** After a complete answer: how long to watch whether the server closes the connection by itself. */
const CLOSE_WATCH_MS = 1500;
/** After a 101: how long to collect the server's frames (a close frame ends it sooner). */
const WS_WATCH_MS = 2000;
const BODY_CAP = 256 * 1024;
const CONCURRENCY = 32;
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

const input = JSON.parse(
  await new Promise((resolve) => {
    let s = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (s += d));
    process.stdin.on('end', () => resolve(s));
  }),
);

function requestText(r) {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${r.host}`, 'User-Agent: nap-verify'];
  if (r.upgrade) {
    lines.push('Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${KEY}`);
  }
  for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
  const body = r.body ?? '';
  if (body.length) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Parses one response head at the start of buf: {status, headers, headerBytes} or undefined when incomplete. */
function parseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return { status: m ? Number(m[1]) : 0, statusLine: lines[0], headers, headerBytes: end + 4 };
}

/** The body of a complete answer in buf (after the head), or undefined while more is due. */
function bodyOf(head, rest, ended, method) {
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return Buffer.alloc(0);
  const te = head.headers['transfer-encoding'];
  if (te && /chunked/i.test(te)) {
    const parts = [];
    let at = 0;
    for (let i = 0; i < 10_000; i++) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return ended ? Buffer.concat(parts) : undefined;
      const size = Number.parseInt(rest.subarray(at, nl).toString('latin1'), 16);
      if (!Number.isFinite(size)) return Buffer.concat(parts);
      if (size === 0) return Buffer.concat(parts);
      if (rest.length < nl + 2 + size + 2) return ended ? Buffer.concat(parts) : undefined;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    return Buffer.concat(parts);
  }
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    return rest.length >= n ? rest.subarray(0, n) : ended ? rest : undefined;
  }
  return ended ? rest : undefined;
}

/** Server frames (unmasked) in buf: [{op, payload}] and the bytes left over. */
function frames(buf) {
  const out = [];
  let at = 0;
  for (let i = 0; i < 1000 && buf.length - at >= 2; i++) {
    const op = buf[at] & 0x0f;
    let len = buf[at + 1] & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      hdr = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      hdr = 10;
    }
    if (buf.length - at < hdr + len) break;
    out.push({ op, payload: buf.subarray(at + hdr, at + hdr + len) });
    at += hdr + len;
  }
  return out;
}

function exchange(port, r) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const interim = [];
    let head;
    let answeredAt;
    let result;
    let ended = false;
    let settled = false;
    const timers = [];
    const finish = (extra = {}) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      s.destroy();
      resolve({ ...result, ...extra });
    };
    timers.push(setTimeout(() => finish(result ? {} : { outcome: 'timeout' }), DEADLINE_MS + WS_WATCH_MS));
    const step = () => {
      // Interim answers (100 Continue) come before the final one.
      for (let i = 0; i < 5 && !head; i++) {
        const h = parseHead(buf);
        if (!h) return;
        buf = buf.subarray(h.headerBytes);
        if (h.status >= 100 && h.status < 200 && h.status !== 101) interim.push(h.status);
        else head = h;
      }
      if (!head) return;
      if (head.status === 101) {
        if (!result) {
          result = { outcome: 'upgraded', status: 101, headers: head.headers, messages: [] };
          answeredAt = Date.now();
          timers.push(setTimeout(() => finish({ ws: 'open' }), WS_WATCH_MS));
        }
        for (const f of frames(buf)) {
          if (f.op === 0x1) result.messages.push(f.payload.toString('utf8'));
          if (f.op === 0x8) {
            const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
            return finish({ ws: 'closed', closeCode: code, closeReason: f.payload.subarray(2).toString('utf8') });
          }
        }
        if (ended) finish({ ws: 'eof' });
        return;
      }
      if (result) {
        if (ended) finish({ closed: true, closedAfterMs: Date.now() - answeredAt });
        return;
      }
      const body = bodyOf(head, buf, ended, r.method);
      if (!body && buf.length < BODY_CAP) return;
      result = {
        outcome: 'answered',
        interim,
        status: head.status,
        statusLine: head.statusLine,
        headers: head.headers,
        body: (body ?? buf).subarray(0, BODY_CAP).toString('utf8'),
      };
      answeredAt = Date.now();
      if (ended) return finish({ closed: true, closedAfterMs: 0 });
      timers.push(setTimeout(() => finish({ closed: false }), CLOSE_WATCH_MS));
    };
    s.on('connect', () => s.write(requestText(r)));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      step();
    });
    s.on('end', () => {
      ended = true;
      if (!head && !buf.length) return finish({ outcome: 'closed-without-answer' });
      step();
      if (!result) finish({ outcome: 'incomplete', partial: buf.subarray(0, 200).toString('latin1') });
    });
    s.on('error', (e) => {
      if (result) return finish({ closed: true, closedAfterMs: Date.now() - answeredAt });
      finish({ outcome: e.code === 'ECONNRESET' ? 'reset' : `error ${e.code ?? e.message}` });
    });
  });
}

const jobs = [];
for (const t of input.targets) for (const r of input.requests) if (!(r.skip ?? []).includes(t.name)) jobs.push([t, r]);
const out = Object.fromEntries(input.targets.map((t) => [t.name, {}]));
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < jobs.length) {
      const [t, r] = jobs[next++];
      out[t.name][r.id] = await exchange(t.ports[r.service], r);
    }
  }),
);
process.stdout.write(JSON.stringify(out));
