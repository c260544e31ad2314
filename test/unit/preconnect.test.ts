// The check command's head start for sse.main (src/probes/preconnect.ts), against loopback servers: the read takes
// the connection opened for its address and protocol, or that attempt's failure as its own; nothing else.
import { mkdtempSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki } from '../harness/pki.js';
import {
  type PreconnectOptions,
  preconnect,
  preconnectedAddress,
  takePreconnected,
} from '../../src/probes/preconnect.js';

let server: tls.Server;
let port: number;
let accepted = 0;
const open = new Set<net.Socket>();

beforeAll(async () => {
  const pki = await createPki(mkdtempSync(path.join(tmpdir(), 'nvt-pre-')));
  const leaf = await pki.leaf('self', { cn: 'pre.test', sans: ['pre.test'] });
  server = tls.createServer(
    { key: readFileSync(leaf.keyPath), cert: leaf.certPem, ALPNProtocols: ['h2', 'http/1.1'] },
    (s) => s.on('error', () => {}),
  );
  // Counted at accept: a TLS 1.3 client is through its handshake before the server's side is.
  server.on('connection', (s: net.Socket) => {
    accepted++;
    open.add(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
}, 30_000);
afterAll(() => {
  for (const s of open) s.destroy();
  return new Promise<void>((r) => server.close(() => r()));
});

const opts = (o: Partial<PreconnectOptions> = {}): PreconnectOptions => ({
  domain: 'pre.test',
  mode: 'external',
  ingressIp: '127.0.0.1',
  ipFamily: 'auto',
  httpsPort: port,
  timeoutMs: 2000,
  only: [],
  skip: [],
  ...o,
});

describe('preconnect', () => {
  it('opens one connection per protocol; the read for that address, port and name takes each once', async () => {
    const before = accepted;
    preconnect(opts());
    // sse.main starts from the address the head start went to, for that name and port only.
    expect(await preconnectedAddress('PRE.test', port)).toBe('127.0.0.1');
    expect(preconnectedAddress('pre.test', port + 1)).toBeUndefined();
    expect(preconnectedAddress('files.pre.test', port)).toBeUndefined();
    const h1 = await takePreconnected('127.0.0.1', port, 'PRE.test', 'http/1.1');
    const h2 = await takePreconnected('127.0.0.1', port, 'pre.test', 'h2');
    expect(h1 && 'sock' in h1 && h1.sock.alpnProtocol).toBe('http/1.1');
    expect(h2 && 'sock' in h2 && h2.sock.alpnProtocol).toBe('h2');
    expect(await takePreconnected('127.0.0.1', port, 'pre.test', 'h2')).toBeUndefined();
    expect(accepted - before).toBe(2);
    for (const x of [h1, h2]) if (x && 'sock' in x) x.sock.destroy();
  });

  it('a read that goes elsewhere gets nothing, and the connection opened for it is closed', async () => {
    preconnect(opts());
    expect(await takePreconnected('127.0.0.2', port, 'pre.test', 'http/1.1')).toBeUndefined();
    expect(await takePreconnected('127.0.0.1', port, 'other.test', 'h2')).toBeUndefined();
  });

  it('nothing is opened when sse.main does not run or does not speak TLS', async () => {
    const before = accepted;
    for (const o of [
      opts({ only: ['dns', 'tls'] }),
      opts({ skip: ['sse'] }),
      opts({ skip: ['sse.main'] }),
      opts({ mode: 'nodeport' }),
    ]) {
      preconnect(o);
      expect(await takePreconnected('127.0.0.1', port, 'pre.test', 'http/1.1'), JSON.stringify(o)).toBeUndefined();
    }
    preconnect(opts({ only: ['sse'] }));
    const taken = await takePreconnected('127.0.0.1', port, 'pre.test', 'http/1.1');
    expect(taken && 'sock' in taken).toBe(true);
    if (taken && 'sock' in taken) taken.sock.destroy();
    await takePreconnected('127.0.0.1', port, 'pre.test', 'h2');
    expect(accepted - before).toBe(2);
  });

  it("a refused or silent ingress: the read gets the attempt's failure as its own, and no second attempt", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const refusedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    preconnect(opts({ httpsPort: refusedPort }));
    expect(await takePreconnected('127.0.0.1', refusedPort, 'pre.test', 'http/1.1')).toMatchObject({
      error: { code: 'ECONNREFUSED' },
    });
    await takePreconnected('127.0.0.1', refusedPort, 'pre.test', 'h2');

    const silent = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as AddressInfo).port;
    preconnect(opts({ httpsPort: silentPort, timeoutMs: 300 }));
    expect(await takePreconnected('127.0.0.1', silentPort, 'pre.test', 'h2')).toMatchObject({
      timeout: true,
      error: { code: 'ETIMEDOUT', message: 'no connection within 300 ms' },
    });
    await takePreconnected('127.0.0.1', silentPort, 'pre.test', 'http/1.1');
    silent.close();
  });
});
