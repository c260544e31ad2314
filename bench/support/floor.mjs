// The floor under a `--no-hold` run (contract §5): Node alone, as one process, resolving the five names of an
// install with the resolver the CLI uses (getaddrinfo, so /etc/resolv.conf: dnsmasq in the test namespace), then,
// in parallel, completing a TLS handshake with SNI (verified against the same CA) and one HTTPS GET answer per name.
// What no tool can go under: the same Node start, the same names, the same handshakes, one request each.
//   node bench/support/floor.mjs <domain> <https-port> <ca-file> [path]
// Prints one JSON line (per-name status and ms); exits 1 when any name fails, so a broken stack is not a fast floor.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';

const [domain = 'nap.test', port = '443', caFile, path = '/.well-known/nap-verify'] = process.argv.slice(2);
const t0 = performance.now();
const names = [domain, `files.${domain}`, `browsers.${domain}`, `sandbox.${domain}`, `nvf0123456789.sandbox.${domain}`];
const secureContext = tls.createSecureContext(caFile ? { ca: readFileSync(caFile) } : {});

const one = async (name) => {
  const { address } = await lookup(name);
  const resolvedAt = performance.now() - t0;
  const status = await new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: address,
        port: Number(port),
        path,
        servername: name,
        headers: { host: `${name}:${port}` },
        secureContext,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
  return { name, address, status, resolvedMs: Math.round(resolvedAt), ms: Math.round(performance.now() - t0) };
};

const out = await Promise.allSettled(names.map(one));
const failed = out.filter((r) => r.status === 'rejected' || r.value.status >= 500);
process.stdout.write(
  `${JSON.stringify(out.map((r) => (r.status === 'fulfilled' ? r.value : { error: String(r.reason) })))}\n`,
);
process.exitCode = failed.length ? 1 : 0;
