import { randomBytes } from 'node:crypto';
import type { Role, Target } from './model.js';

/**
 * A fresh preview label every run, so no cache or hand-made record can fake the wildcard. No hyphen: the
 * platform parses the text after a preview label's last hyphen as a port (`nvf-1a2b` would be port 1).
 */
export const previewLabel = () => `nvf${randomBytes(5).toString('hex')}`;

export function buildTarget(
  domain: string,
  ingressIp?: string,
  turn?: { host: string; port: number },
  mode: 'external' | 'nodeport' = 'external',
): Target {
  // NodePort installs answer every service on NAP_HOST itself, on different ports.
  const hosts: Record<Role, string> =
    mode === 'nodeport'
      ? { main: domain, files: domain, browsers: domain, sandbox: domain, preview: domain }
      : {
          main: domain,
          files: `files.${domain}`,
          browsers: `browsers.${domain}`,
          sandbox: `sandbox.${domain}`,
          preview: `${previewLabel()}.sandbox.${domain}`,
        };
  return { domain, hosts, ...(ingressIp ? { ingressIp } : {}), turn: turn ?? { host: domain, port: 3478 } };
}
