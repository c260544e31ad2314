// `nap-verify exporter --listen <addr:port> [--config exporter.yaml]`: serve /probe, /metrics and /-/healthy until
// SIGINT/SIGTERM. Bad flags or config are exit 2 before anything listens.
import net from 'node:net';
import os from 'node:os';
import {
  DEFAULT_INTERVAL_S,
  parseExporterConfig,
  readExporterConfig,
  type ExporterConfig,
} from '../exporter/config.js';
import { createExporter } from '../exporter/server.js';
import { parsePort, parseVantage, UsageError } from '../options.js';

export const DEFAULT_LISTEN = '0.0.0.0:9816';

export function parseListen(raw: string): { host: string; port: number } {
  const s = raw.trim();
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) {
    if (!net.isIPv6(v6[1]!)) throw new UsageError(`--listen ${raw}: not an IPv6 address`);
    return { host: v6[1]!, port: parsePort('--listen', v6[2]!) };
  }
  const m = /^([^:]*):(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--listen ${raw}: expected addr:port, like 127.0.0.1:9816 or :9816`);
  const host = m[1] || '0.0.0.0';
  if (!net.isIP(host) && host !== 'localhost')
    throw new UsageError(`--listen ${raw}: the address must be an IP (or empty for all)`);
  return { host, port: parsePort('--listen', m[2]!) };
}

export async function runExporterCommand(
  o: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Promise<number> {
  const listen = parseListen(typeof o.listen === 'string' ? o.listen : DEFAULT_LISTEN);
  const config: ExporterConfig =
    typeof o.config === 'string' ? readExporterConfig(o.config) : parseExporterConfig('', '(none)');
  config.vantage = parseVantage(typeof o.vantage === 'string' ? o.vantage : (env.NAP_VERIFY_VANTAGE ?? os.hostname()));
  const log = (line: string) => process.stderr.write(`nap-verify exporter: ${line}\n`);
  const exporter = createExporter({
    config,
    env,
    secrets: env.NAP_VERIFY_TURN_SECRET ? { turnSecret: env.NAP_VERIFY_TURN_SECRET } : {},
    log,
  });
  await new Promise<void>((resolve, reject) => {
    exporter.server.once('error', reject);
    exporter.server.listen(listen.port, listen.host, () => resolve());
  }).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot listen on ${listen.host}:${listen.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`,
    );
  });
  const addr = exporter.server.address() as net.AddressInfo;
  log(
    `listening on http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port} (targets in ` +
      `config: ${config.targets.size}, full every ` +
      `${config.intervalS === DEFAULT_INTERVAL_S ? '10 min' : `${config.intervalS} s`}, vantage ${config.vantage})`,
  );
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`${sig}, closing`);
  await exporter.close();
  return 0;
}
