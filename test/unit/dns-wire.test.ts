// The DNS transport against small hostile servers on loopback: every outcome within its deadline, nothing thrown.
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Packet } from 'dns2';
import { queryServer } from '../../src/probes/dns-wire.js';

type Reply = (query: Buffer, parsed: ReturnType<typeof Packet.parse>) => Buffer[];
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

function answer(
  q: ReturnType<typeof Packet.parse>,
  opts: { id?: number; tc?: boolean; rcode?: number; address?: string } = {},
): Buffer {
  const r = Packet.createResponseFromRequest(q);
  r.header.id = opts.id ?? q.header.id;
  r.header.tc = opts.tc ? 1 : 0;
  r.header.rcode = opts.rcode ?? 0;
  if (opts.address)
    r.answers.push({
      name: q.questions[0]!.name,
      type: Packet.TYPE.A,
      class: Packet.CLASS.IN,
      ttl: 60,
      address: opts.address,
    } as never);
  return Buffer.from(r.toBuffer());
}

async function udpServer(reply: Reply): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    for (const b of reply(msg, Packet.parse(msg))) s.send(b, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  closers.push(() => s.close());
  return s.address().port;
}

async function tcpServer(
  port: number,
  onQuery: (sock: net.Socket, q: ReturnType<typeof Packet.parse>) => void,
): Promise<void> {
  const srv = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', (d) => onQuery(sock, Packet.parse(d.subarray(2))));
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  closers.push(() => srv.close());
}

const server = (port: number) => ({ address: '127.0.0.1', port, source: 'flag' as const });

describe('DNS transport against hostile servers', () => {
  it('skips garbage and a mismatched id, then takes the real answer', async () => {
    const port = await udpServer((_raw, q) => [
      Buffer.from('garbage!'),
      answer(q, { id: (q.header.id + 1) % 65536, address: '6.6.6.6' }),
      answer(q, { address: '127.0.0.7' }),
    ]);
    const a = await queryServer(server(port), 'x.test', 'A', 2000);
    expect(a).toMatchObject({ outcome: 'answer', addresses: ['127.0.0.7'], ignored: 1, via: 'udp' });
  });

  it('reports only-garbage answers as malformed, within the deadline', async () => {
    const port = await udpServer(() => [
      Buffer.alloc(3),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0]),
    ]);
    const started = Date.now();
    const a = await queryServer(server(port), 'x.test', 'A', 600);
    expect(a.outcome).toBe('malformed');
    expect(Date.now() - started).toBeLessThan(1500); // deadline 600 ms: a packet must not cost CPU seconds
  });

  it('times out on a server that never answers, and says refused when nothing listens', async () => {
    const silent = await udpServer(() => []);
    expect(await queryServer(server(silent), 'x.test', 'A', 300)).toMatchObject({ outcome: 'timeout' });
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const free = s.address().port;
    s.close();
    const refused = await queryServer(server(free), 'x.test', 'A', 1000);
    expect(refused.outcome).toBe('error');
    expect(refused.error).toMatch(/refused/);
  });

  it('maps rcodes to outcomes', async () => {
    for (const [rcode, outcome] of [
      [2, 'servfail'],
      [3, 'nxdomain'],
      [5, 'refused'],
      [0, 'nodata'],
    ] as const) {
      const port = await udpServer((_r, q) => [answer(q, { rcode })]);
      expect((await queryServer(server(port), 'x.test', 'A', 1000)).outcome).toBe(outcome);
    }
  });

  it('falls back to TCP on truncation, and bounds a TCP server that accepts but never answers', async () => {
    const port = await udpServer((_r, q) => [answer(q, { tc: true })]);
    await tcpServer(port, (sock, q) => {
      const b = answer(q, { address: '127.0.0.9' });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(b.length);
      sock.end(Buffer.concat([len, b]));
    });
    expect(await queryServer(server(port), 'x.test', 'A', 2000)).toMatchObject({
      outcome: 'answer',
      via: 'tcp',
      addresses: ['127.0.0.9'],
    });

    const port2 = await udpServer((_r, q) => [answer(q, { tc: true })]);
    await tcpServer(port2, () => {});
    expect(await queryServer(server(port2), 'x.test', 'A', 500)).toMatchObject({ outcome: 'timeout', via: 'tcp' });
  });
});
