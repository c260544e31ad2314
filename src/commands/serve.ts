// `nap-verify serve`: run the probe responder until SIGINT/SIGTERM, then close every socket and exit 0.
import { parseDomain, parsePort, UsageError, type RawOptions } from '../options.js';
import { limitsFromEnv, startResponder } from '../serve/responder.js';

export async function runServeCommand(raw: RawOptions): Promise<number> {
  const str = (v: RawOptions[string]) => (typeof v === 'string' ? v : undefined);
  const domainRaw = str(raw.domain);
  if (!domainRaw) throw new UsageError('serve needs --domain (the platform domain the stand-ins answer for)');
  const host = str(raw.host) ?? '0.0.0.0';
  const url = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^https?:\/\/[^/]+/.test(v)) throw new UsageError(`${flag} must be an http(s) URL, got ${JSON.stringify(v)}`);
    return v.replace(/\/+$/, '');
  };
  const publicUrls = Object.fromEntries(
    Object.entries({
      web: url('--web-public-url', str(raw.webPublicUrl)),
      browser: url('--browser-public-url', str(raw.browserPublicUrl)),
      sandbox: url('--sandbox-public-url', str(raw.sandboxPublicUrl)),
    }).filter(([, v]) => v !== undefined),
  );
  const responder = await startResponder({
    domain: parseDomain(domainRaw),
    host,
    ports: {
      'nap-cp': parsePort('--cp-port', str(raw.cpPort) ?? '3000'),
      'nap-browser': parsePort('--browser-port', str(raw.browserPort) ?? '3005'),
      'nap-sandbox': parsePort('--sandbox-port', str(raw.sandboxPort) ?? '3006'),
    },
    fingerprintsOnly: raw.fingerprintsOnly === true,
    publicUrls,
    limits: limitsFromEnv(process.env),
    log: (line) => process.stdout.write(`nap-verify serve: ${line}\n`),
  }).catch((e: NodeJS.ErrnoException) => {
    const port = (e as NodeJS.ErrnoException & { port?: number }).port ?? '';
    throw new UsageError(`cannot listen: ${e.code === 'EADDRINUSE' ? `port ${port} is in use` : e.message}`);
  });
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stdout.write(`nap-verify serve: ${sig}, closing\n`);
  await responder.close();
  return 0;
}
