// The HTTP/2 and address pieces that need no server: the WebSocket frame reader, the address race on loopback
// addresses, and the ws.h2 / http.coalesce judgements on recorded evidence for answers no test server gives.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import coalesce, { type CoalesceEvidence } from '../../checks/http.coalesce.js';
import wsH2, { type WsH2Evidence } from '../../checks/ws.h2.js';
import type { RunContext } from '../../src/model.js';
import { readFrame } from '../../src/probes/h2.js';
import { chooseAddress, preferredOrder } from '../../src/probes/reach.js';
import { testContext } from '../support/context.js';

const ctx: RunContext = testContext();

describe('readFrame', () => {
  it('reads a text frame, a close frame with its code, and waits for the rest of a split frame', () => {
    const hello = Buffer.from('{"type":"hello"}');
    expect(readFrame(Buffer.concat([Buffer.from([0x81, hello.length]), hello]))).toEqual({ opcode: 1, payload: hello });
    expect(readFrame(Buffer.from([0x88, 2, 0x03, 0xf0]))).toEqual({ opcode: 8, payload: Buffer.from([0x03, 0xf0]) });
    expect(readFrame(Buffer.from([0x81, 10, 0x41]))).toBe('incomplete');
    const long = Buffer.alloc(300, 0x61);
    expect(readFrame(Buffer.concat([Buffer.from([0x81, 126, 1, 44]), long]))).toEqual({ opcode: 1, payload: long });
  });

  it(
    'refuses what a WebSocket server never sends: masked frames, reserved bits, unknown opcodes, ' + '64-bit lengths',
    () => {
      expect(readFrame(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x41]))).toBe('invalid');
      expect(readFrame(Buffer.from([0xc1, 1, 0x41]))).toBe('invalid');
      expect(readFrame(Buffer.from([0x83, 0]))).toBe('invalid');
      expect(readFrame(Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe('invalid');
      expect(readFrame(Buffer.from('HTTP/1.1 200 OK\r\n'))).toBe('invalid');
    },
  );
});

describe('chooseAddress', () => {
  const server = net.createServer((s) => s.destroy());
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('keeps the most preferred address that accepts TCP; orders and pins families', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    // 127.0.0.2 is loopback too, with nothing listening on the port: refused.
    const c = await chooseAddress(['127.0.0.2', '127.0.0.1'], port, 2000);
    expect(c).toMatchObject({ chosen: '127.0.0.1', how: 'race' });
    expect(c.attempts.map((a) => [a.address, a.ok])).toEqual([
      ['127.0.0.2', false],
      ['127.0.0.1', true],
    ]);
    const none = await chooseAddress(['127.0.0.2', '127.0.0.3'], port, 2000);
    expect(none).toMatchObject({ chosen: '127.0.0.2', how: 'none-answered' });
    expect(preferredOrder(['fd00::1', '192.0.2.1'], 'auto')).toEqual(['192.0.2.1', 'fd00::1']);
    expect(preferredOrder(['fd00::1', '192.0.2.1'], '6')).toEqual(['fd00::1']);
    expect(preferredOrder(['fd00::1'], '4')).toEqual([]);
  });
});

const conn = { host: 'browsers.acme.com', address: '192.0.2.1', port: 443, alpn: 'h2', enableConnectProtocol: true };

describe('ws.h2 judgement', () => {
  const ev = (attempt: Record<string, unknown>, endpoint: 'responder' | 'env-gateway' = 'responder'): WsH2Evidence => ({
    hosts: [
      {
        role: 'browsers',
        host: 'browsers.acme.com',
        endpoint,
        attempt: { connection: conn, attempted: true, path: '/p', ...attempt },
      },
    ],
  });

  it('200 and the hello passes; 200 then a close instead of the hello, or a reset stream, is WS_H2_REJECTED', () => {
    expect(wsH2.judge(ev({ status: 200, firstMessage: '{"type":"hello","service":"nap-browser"}' }), ctx).status).toBe(
      'pass',
    );
    expect(wsH2.judge(ev({ status: 200, closeCode: 1011 }), ctx)).toMatchObject({
      status: 'fail',
      code: 'WS_H2_REJECTED',
      message:
        'browsers.acme.com (192.0.2.1:443) offers WebSockets over HTTP/2, but CONNECT :protocol websocket on /p ' +
        'got 200, then no hello from the service: closed 1011',
    });
    expect(wsH2.judge(ev({ error: 'stream reset (code 1)' }), ctx)).toMatchObject({
      code: 'WS_H2_REJECTED',
      message: expect.stringContaining('failed: stream reset (code 1)'),
    });
  });

  it("without the responder the platform's close is enough; no frame at all is not", () => {
    expect(wsH2.judge(ev({ status: 200, closeCode: 1008 }, 'env-gateway'), ctx).status).toBe('pass');
    expect(
      wsH2.judge(ev({ status: 200, error: 'stream ended before any WebSocket frame' }, 'env-gateway'), ctx).code,
    ).toBe('WS_H2_REJECTED');
  });
});

describe('http.coalesce judgement', () => {
  const base: CoalesceEvidence = {
    host: 'acme.com',
    address: '192.0.2.1',
    port: 443,
    connection: { ...conn, host: 'acme.com' },
    hosts: [],
  };
  it(
    "Envoy's 404 for a host not on the connection (istio/istio#13589) differs from the host's own " +
      'answer: H2_MISROUTED',
    () => {
      const j = coalesce.judge(
        {
          ...base,
          hosts: [
            {
              role: 'files',
              host: 'files.acme.com',
              exchanges: { '/': { authority: 'files.acme.com', path: '/', status: 404, body: '' } },
              direct: { rootStatus: 200 },
            },
          ],
        },
        ctx,
      );
      expect(j).toMatchObject({
        status: 'fail',
        code: 'H2_MISROUTED',
        message:
          'over the HTTP/2 connection opened for acme.com (192.0.2.1:443), :authority files.acme.com answered GET ' +
          '/ with 404, where its own connection answers 200',
      });
    },
  );

  it('a reset coalesced stream is H2_MISROUTED too; no other host under the certificate is a pass', () => {
    expect(
      coalesce.judge(
        {
          ...base,
          hosts: [
            {
              role: 'sandbox',
              host: 'sandbox.acme.com',
              exchanges: { '/': { authority: 'sandbox.acme.com', path: '/', error: 'stream reset (code 7)' } },
            },
          ],
        },
        ctx,
      ).code,
    ).toBe('H2_MISROUTED');
    expect(
      coalesce.judge(
        {
          ...base,
          hosts: [
            { role: 'files', host: 'files.acme.com', notCoalesced: 'the certificate of acme.com does not cover it' },
          ],
        },
        ctx,
      ).status,
    ).toBe('pass');
  });
});
