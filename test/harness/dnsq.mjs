// Minimal one-shot DNS client, run as `node dnsq.mjs <server> <port> <name> [type] [timeoutMs]`
// inside a test namespace (dig is not installed). Prints one JSON line:
//   {"rcode":0,"rcodeName":"NOERROR","aa":true,"answers":[{"name","type","ttl","data"}],"ms":3}
// or {"timeout":true,"ms":…} when no reply arrives in time. Plain JS so it needs no build step.
import dgram from 'node:dgram';

const [server = '127.0.0.1', portS = '53', name = '', typeS = 'A', timeoutS = '2000'] = process.argv.slice(2);
const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, ANY: 255 };
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const qtype = TYPES[typeS.toUpperCase()] ?? Number(typeS);

function encodeName(n) {
  const parts = n.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs = parts.map((p) => Buffer.concat([Buffer.from([Buffer.byteLength(p)]), Buffer.from(p)]));
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

// Reads a possibly compressed name; bounded so a malicious pointer loop cannot spin forever.
function readName(buf, off) {
  const labels = [];
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1];
      continue;
    }
    if (len === 0) return { name: labels.join('.'), next: end < 0 ? off + 1 : end };
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new Error('name pointer loop');
}

const id = Math.floor(Math.random() * 0xffff);
const header = Buffer.alloc(12);
header.writeUInt16BE(id, 0);
header.writeUInt16BE(0x0100, 2); // RD
header.writeUInt16BE(1, 4); // QDCOUNT
const tail = Buffer.alloc(4);
tail.writeUInt16BE(qtype, 0);
tail.writeUInt16BE(1, 2); // IN
const query = Buffer.concat([header, encodeName(name), tail]);

const started = Date.now();
const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, ms: Date.now() - started }));
  sock.close();
}, Number(timeoutS));

sock.on('message', (msg) => {
  if (msg.readUInt16BE(0) !== id) return; // not ours
  clearTimeout(timer);
  const flags = msg.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = readName(msg, off).next + 4;
  const answers = [];
  for (let i = 0; i < an; i++) {
    const rn = readName(msg, off);
    off = rn.next;
    const type = msg.readUInt16BE(off);
    const ttl = msg.readUInt32BE(off + 4);
    const rdlen = msg.readUInt16BE(off + 8);
    const rd = off + 10;
    let data;
    if (type === 1) data = [...msg.subarray(rd, rd + 4)].join('.');
    else if (type === 28)
      data = msg
        .subarray(rd, rd + 16)
        .toString('hex')
        .match(/.{4}/g)
        .join(':');
    else if (type === 5 || type === 2 || type === 12) data = readName(msg, rd).name;
    else if (type === 16) data = msg.toString('latin1', rd + 1, rd + 1 + msg[rd]);
    else data = msg.subarray(rd, rd + rdlen).toString('hex');
    answers.push({ name: rn.name, type: TYPE_NAMES[type] ?? type, ttl, data });
    off = rd + rdlen;
  }
  console.log(
    JSON.stringify({
      rcode,
      rcodeName: RCODES[rcode] ?? String(rcode),
      aa: (flags & 0x0400) !== 0,
      answers,
      ms: Date.now() - started,
    }),
  );
  sock.close();
});
sock.send(query, Number(portS), server);
