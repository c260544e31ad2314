// A healthy NAP ingress in a namespace of its own: dnsmasq with the five names, nginx terminating TLS with a
// root → intermediate → leaf chain for <d> and a wildcard for *.sandbox.<d>.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDnsmasq } from '../harness/dnsmasq.js';
import { createNetns, type Netns } from '../harness/netns.js';
import { startNginx, tlsServer } from '../harness/nginx.js';
import { createPki } from '../harness/pki.js';
import { zone } from './zone.js';

export interface Stack {
  ns: Netns;
  domain: string;
  rootPem: string;
  httpsPort: number;
  /** The usual flags to point the CLI at this stack. */
  args: string[];
}

export async function healthyStack(domain = 'nap.test', extraDnsLines: string[] = []): Promise<Stack> {
  const ns = await createNetns();
  await startDnsmasq(ns, { lines: ['local=/test/', ...zone(domain), ...extraDnsLines] });
  const pki = await createPki(mkdtempSync(path.join(tmpdir(), 'nvt-pki-')));
  const root = await pki.rootCa('Stack Root CA');
  const inter = await pki.intermediate(root, 'Stack Intermediate CA');
  const names = [domain, `files.${domain}`, `browsers.${domain}`, `sandbox.${domain}`];
  const [main, wild] = await Promise.all([pki.leaf(inter, { cn: domain, sans: names }), pki.leaf(inter, { cn: `*.sandbox.${domain}`, sans: [`*.sandbox.${domain}`] })]);
  const httpsPort = 8443;
  await startNginx(ns, [
    tlsServer({ port: httpsPort, serverNames: names, certPath: pki.bundle('main', main.certPem, inter.certPem), keyPath: main.keyPath, defaultServer: true }),
    tlsServer({ port: httpsPort, serverNames: [`*.sandbox.${domain}`], certPath: pki.bundle('wild', wild.certPem, inter.certPem), keyPath: wild.keyPath }),
  ].join('\n'));
  const rootPem = pki.bundle('root', root.certPem);
  return { ns, domain, rootPem, httpsPort, args: ['--domain', domain, '--https-port', String(httpsPort), '--ca-file', rootPem] };
}
