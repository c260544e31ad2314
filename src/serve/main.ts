// The responder as one file for a cluster pod (bundled by scripts/build-responder.mjs, shipped in a ConfigMap):
//   node responder.mjs --domain acme.com --service nap-cp --port 3000
// No npm install in the pod, no CLI framework: only what one stand-in needs.
import { limitsFromEnv, startResponder, type Service } from './responder.js';

const SERVICES: Service[] = ['nap-cp', 'nap-browser', 'nap-sandbox'];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const domain = arg('domain') ?? process.env.NAP_VERIFY_DOMAIN;
  const service = (arg('service') ?? process.env.NAP_VERIFY_SERVICE) as Service | undefined;
  const port = Number(arg('port') ?? process.env.PORT ?? '');
  if (!domain || !service || !SERVICES.includes(service) || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(
      'usage: responder.mjs --domain <d> --service nap-cp|nap-browser|nap-sandbox --port <n> [--host <addr>]\n',
    );
    process.exit(2);
  }
  // The public URLs the platform would be installed with (values.env); default the https names of the domain.
  const publicUrls = Object.fromEntries(
    (
      [
        ['web', 'web-public-url'],
        ['browser', 'browser-public-url'],
        ['sandbox', 'sandbox-public-url'],
      ] as const
    ).flatMap(([k, flag]) => (arg(flag) ? [[k, arg(flag)!.replace(/\/+$/, '')]] : [])),
  );
  const r = await startResponder({
    domain,
    host: arg('host') ?? '0.0.0.0',
    ports: { [service]: port },
    services: [service],
    publicUrls,
    log: (l) => process.stdout.write(`${l}\n`),
    limits: limitsFromEnv(process.env),
  });
  const stop = (sig: string) => {
    process.stdout.write(`${sig}, closing\n`);
    void r.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: Error) => {
  process.stderr.write(`responder: ${e.message}\n`);
  process.exit(1);
});
