// A real Caddy (Debian's 2.6.2) terminating TLS in front of the responder, as a customer's edge proxy would: each
// host to its service as spec §1 routes them, `flush_interval -1` (streams pass as they come), the Host header
// passed as received (reverse_proxy's default). Options add what is under test: a request body limit (enforced
// only while the body is read: field-facts, "The platform's own traffic through the ingress") and a response
// header timeout (a first-byte limit like Traefik's responseHeaderTimeout).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, type ManagedProc } from '../harness/proc.js';
import { waitPort, type Ingress, type ResponderPorts } from './ingress.js';

export interface CaddyOptions {
  /** `request_body { max_size … }` on every site, e.g. `10MB`; absent: no limit (Caddy's default). */
  maxBodySize?: string;
  /** reverse_proxy's `transport http { response_header_timeout … }`, e.g. `1s`; absent: none (Caddy's default). */
  responseHeaderTimeout?: string;
  /** Raw Caddyfile text appended after the generated sites (another site block, a named matcher, ...). */
  extraSite?: string;
  /** The address to bind; default 127.0.0.1 (any 127.x is the namespace's loopback). */
  address?: string;
}

/** The Caddyfile: global options (no admin endpoint, no automatic HTTPS, HTTP/1.1 and h2), then one site per role. */
export function caddyfile(ing: Ingress, ports: ResponderPorts, port: number, opts: CaddyOptions = {}): string {
  const d = ing.domain;
  const sites: Array<[string[], number]> = [
    [[d, `files.${d}`], ports.cp],
    [[`browsers.${d}`], ports.browser],
    [[`sandbox.${d}`, `*.sandbox.${d}`], ports.sandbox],
  ];
  const lines = [
    '{',
    '  admin off',
    '  auto_https off',
    // No HTTP/3: it would listen on UDP too, and the ingresses the checks judge speak h2 and HTTP/1.1.
    '  servers {',
    '    protocols h1 h2',
    '  }',
    '}',
  ];
  for (const [hosts, backend] of sites) {
    lines.push(
      `${hosts.map((h) => `${h}:${port}`).join(', ')} {`,
      `  bind ${opts.address ?? '127.0.0.1'}`,
      `  tls ${ing.certPath} ${ing.keyPath}`,
      ...(opts.maxBodySize ? ['  request_body {', `    max_size ${opts.maxBodySize}`, '  }'] : []),
      `  reverse_proxy 127.0.0.1:${backend} {`,
      '    flush_interval -1',
      ...(opts.responseHeaderTimeout
        ? ['    transport http {', `      response_header_timeout ${opts.responseHeaderTimeout}`, '    }']
        : []),
      '  }',
      '}',
    );
  }
  if (opts.extraSite) lines.push(opts.extraSite);
  return `${lines.join('\n')}\n`;
}

/** caddy in the namespace on 127.0.0.1:`port`; its data and config dirs (certificates, autosave) in a temp dir. */
export async function startCaddy(
  ing: Ingress,
  ports: ResponderPorts,
  port: number,
  opts: CaddyOptions = {},
): Promise<ManagedProc> {
  const dir = await makeTempDir('nvt-caddy-');
  const file = path.join(dir, 'Caddyfile');
  const text = caddyfile(ing, ports, port, opts);
  writeFileSync(file, text);
  // Caddy keeps its storage under XDG_DATA_HOME and its autosaved config under XDG_CONFIG_HOME (else $HOME).
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
  };
  const args = ['--config', file, '--adapter', 'caddyfile'];
  const check = await ing.ns.exec('caddy', ['validate', ...args], { env, timeoutMs: 20_000 });
  if (check.code !== 0) throw new Error(`caddy validate failed:\n${check.stdout}${check.stderr}\n${text}`);
  const proc = ing.ns.spawn('caddy', ['run', ...args], { env });
  try {
    await waitPort(ing.ns, port, `caddy ${port}`, opts.address);
  } catch (e) {
    await proc.stop();
    throw new Error(`caddy did not start: ${(e as Error).message}\n${proc.output()}\n${text}`);
  }
  return proc;
}
