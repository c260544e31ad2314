// A 437 Allocation Mismatch is the server still holding an allocation for the client's 5-tuple: the kernel reused a
// local port right after an allocation from it was released, and coturn frees a released allocation up to a second
// later (seen in the exporter bench: 1 probe in ~100 back to back failed turn.auth or turn.relay). RFC 8656 §7.2:
// the client retries from another local port. A scripted TURN server on loopback answers 437 to chosen ports.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { probeAuth, probeRelay } from '../../src/probes/turn.js';
import { ATTR, decode, encode, getString, METHOD } from '../../src/probes/stun/codec.js';

interface Scripted {
  port: number;
  /** Client source ports, in the order their first Allocate arrived. */
  ports: number[];
  close(): void;
}

/** Answers 437 to every Allocate from the first `mismatched` client ports it sees; otherwise a plain TURN server. */
async function scriptedTurn(mismatched: number): Promise<Scripted> {
  const sock = dgram.createSocket('udp4');
  const ports: number[] = [];
  sock.on('message', (buf, rinfo) => {
    const d = decode(buf);
    if (!d.ok || d.message.cls !== 'request') return;
    const m = d.message;
    const reply = (cls: 'success' | 'error', attributes: Parameters<typeof encode>[0]['attributes']) =>
      sock.send(
        encode({ method: m.method, cls, transactionId: m.transactionId, attributes }, { fingerprint: true }),
        rinfo.port,
        rinfo.address,
      );
    if (m.method === METHOD.allocate) {
      if (!ports.includes(rinfo.port)) ports.push(rinfo.port);
      if (ports.indexOf(rinfo.port) < mismatched)
        return reply('error', [{ type: 'ERROR-CODE', value: { code: 437, reason: 'Allocation Mismatch' } }]);
      if (getString(m, ATTR.USERNAME) === undefined)
        return reply('error', [
          { type: 'ERROR-CODE', value: { code: 401, reason: 'Unauthorized' } },
          { type: 'REALM', value: 'nap.test' },
          { type: 'NONCE', value: 'n0nce' },
        ]);
      return reply('success', [
        { type: 'XOR-RELAYED-ADDRESS', value: { family: 4, address: '127.0.0.1', port: 49999 } },
        { type: 'XOR-MAPPED-ADDRESS', value: { family: 4, address: rinfo.address, port: rinfo.port } },
        { type: 'LIFETIME', value: 600 },
      ]);
    }
    reply('success', []);
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  return { port: sock.address().port, ports, close: () => sock.close() };
}

const creds = { username: '1800000000:nap-verify', password: 'secret' };
let server: Scripted | undefined;
afterEach(() => server?.close());

describe('437 Allocation Mismatch', () => {
  it('turn.auth retries from a fresh local port and reports what the server then said', async () => {
    server = await scriptedTurn(1);
    const ev = await probeAuth('udp', { address: '127.0.0.1', port: server.port }, 1000, creds, 'rest-secret');
    expect(ev.failure).toBeUndefined();
    expect(ev.challenge).toMatchObject({ status: 401, realm: 'nap.test', hasNonce: true });
    expect(ev.authenticated).toMatchObject({ ok: true });
    expect(server.ports).toHaveLength(2);
    expect(server.ports[1]).not.toBe(server.ports[0]);
  });

  it('a relay sample retries the same way (its Allocate is the one that meets the held 5-tuple)', async () => {
    server = await scriptedTurn(1);
    const s = await probeRelay('udp', { address: '127.0.0.1', port: server.port }, 300, creds);
    // Allocated from the second port: what follows is about the relay, not a mismatch.
    expect(s.relayed).toMatchObject({ port: 49999 });
    expect(s.error ?? '').not.toMatch(/437/);
    expect(server.ports).toHaveLength(2);
  });

  it('a server that answers 437 to every port is reported as such after three ports, not as a rejection', async () => {
    server = await scriptedTurn(Number.POSITIVE_INFINITY);
    const ev = await probeAuth('udp', { address: '127.0.0.1', port: server.port }, 1000, creds, 'rest-secret');
    expect(ev.failure?.error).toBe(
      'Allocate: 437 Allocation Mismatch (the server still holds an allocation for this local port), from 3 local ' +
        'ports in a row',
    );
    expect(ev.authenticated).toBeUndefined();
    expect(server.ports).toHaveLength(3);
  });
});
