// Per-phase timings of HTTP exchanges (spec §3: dnsMs, connectMs, tlsMs, firstByteMs), against a loopback TLS server.
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki } from '../harness/pki.js';
import { httpGet } from '../../src/probes/http.js';

const SERVER_WAIT_MS = 60;
let server: https.Server;
let port: number;

beforeAll(async () => {
  const pki = await createPki(mkdtempSync(path.join(tmpdir(), 'nvt-timing-')));
  const leaf = await pki.leaf('self', { cn: 'timing.test', sans: ['timing.test'] });
  // Answers after a fixed wait, so the wait from request to first byte has a known lower bound.
  server = https.createServer({ key: readFileSync(leaf.keyPath), cert: leaf.certPem }, (_req, res) => {
    setTimeout(() => res.end('ok'), SERVER_WAIT_MS);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
}, 30_000);
afterAll(
  () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
);

describe('httpGet phase timings', () => {
  it(
    'a fresh connection records lookup, connect and TLS; a kept-alive one says it skipped them; first byte ' +
      "after the server's wait",
    async () => {
      const url = `https://timing.test:${port}/`;
      const first = await httpGet({ url, address: '127.0.0.1', timeoutMs: 5000 });
      expect(first.status).toBe(200);
      for (const k of ['dnsMs', 'connectMs', 'tlsMs', 'firstByteMs'] as const) expect(first[k], k).toBeTypeOf('number');
      expect(first.reusedConnection).toBeUndefined();
      expect(first.firstByteMs).toBeGreaterThanOrEqual(SERVER_WAIT_MS - 5);
      const second = await httpGet({ url: `${url}again`, address: '127.0.0.1', timeoutMs: 5000 });
      expect(second).toMatchObject({ status: 200, reusedConnection: true, dnsMs: 0, connectMs: 0, tlsMs: 0 });
      expect(second.firstByteMs).toBeGreaterThanOrEqual(SERVER_WAIT_MS - 5);
    },
  );

  it('an exchange that fails before any answer carries no timings', async () => {
    const r = await httpGet({ url: 'https://timing.test:1/', address: '127.0.0.1', timeoutMs: 2000 });
    expect(r.error).toBeDefined();
    expect(r.firstByteMs).toBeUndefined();
  });
});
