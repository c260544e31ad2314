// A NAP install's network path in a namespace: dnsmasq for the names, the probe responder as the three services,
// and real reverse proxies (nginx, haproxy) in front with the configuration under test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_PATH, REPO_ROOT } from '../harness/cli.js';
import { startDnsmasq } from '../harness/dnsmasq.js';
import { createNetns, type Netns } from '../harness/netns.js';
import { createPki } from '../harness/pki.js';
import { makeTempDir, waitFor, type ManagedProc } from '../harness/proc.js';
import { zone, type ZoneSpec } from './zone.js';

export interface Ingress {
  ns: Netns;
  domain: string;
  rootPem: string;
  /** One certificate for all five names (wildcard included), with its chain. */
  certPath: string;
  keyPath: string;
  /** cert + chain + key in one file, as haproxy wants it. */
  combinedPem: string;
}

export async function waitPort(ns: Netns, port: number, what = `port ${port}`, address = '127.0.0.1'): Promise<void> {
  await waitFor(
    async () => (await ns.exec('bash', ['-c', `exec 3<>/dev/tcp/${address}/${port}`], { timeoutMs: 2000 })).code === 0,
    what,
    10_000,
  );
}

/** `ip6`: an IPv6 address on the namespace's loopback, and an AAAA to it for all five names. */
export async function ingressBase(
  domain = 'nap.test',
  extraDnsLines: string[] = [],
  ip6?: string,
  records: ZoneSpec = {},
): Promise<Ingress> {
  const ns = await createNetns();
  if (ip6) await addAddress6(ns, ip6);
  await startDnsmasq(ns, { lines: ['local=/test/', ...zone(domain, records, '127.0.0.1', ip6), ...extraDnsLines] });
  const pki = await createPki(mkdtempSync(path.join(tmpdir(), 'nvt-pki-')));
  const root = await pki.rootCa('Ingress Root CA');
  const inter = await pki.intermediate(root, 'Ingress Intermediate CA');
  const leaf = await pki.leaf(inter, {
    cn: domain,
    sans: [domain, `files.${domain}`, `browsers.${domain}`, `sandbox.${domain}`, `*.sandbox.${domain}`],
  });
  const certPath = pki.bundle('chain', leaf.certPem, inter.certPem);
  const { readFileSync } = await import('node:fs');
  const combinedPem = pki.bundle('combined', leaf.certPem, inter.certPem, readFileSync(leaf.keyPath, 'utf8'));
  return { ns, domain, rootPem: pki.bundle('root', root.certPem), certPath, keyPath: leaf.keyPath, combinedPem };
}

/** A ULA on the namespace's loopback; nodad: usable at once, without duplicate address detection. */
export async function addAddress6(ns: Netns, address: string): Promise<void> {
  const r = await ns.exec('ip', ['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'], { timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`ip -6 addr add ${address}: ${r.stderr}`);
}

export interface ResponderPorts {
  cp: number;
  browser: number;
  sandbox: number;
}

/** The serve flags for the public URLs an install reached at https://<d>:<port> would have in values.env. */
export function publicUrlArgs(domain: string, httpsPort: number): string[] {
  const p = httpsPort === 443 ? '' : `:${httpsPort}`;
  return [
    '--web-public-url',
    `https://${domain}${p}`,
    '--browser-public-url',
    `https://browsers.${domain}${p}`,
    '--sandbox-public-url',
    `https://sandbox.${domain}${p}`,
  ];
}

/** `nap-verify serve` itself, inside the namespace. */
export async function startResponder(
  ns: Netns,
  domain: string,
  ports: ResponderPorts,
  extra: string[] = [],
): Promise<ManagedProc> {
  const proc = ns.spawn('node', [
    CLI_PATH,
    'serve',
    '--domain',
    domain,
    '--host',
    '127.0.0.1',
    '--cp-port',
    String(ports.cp),
    '--browser-port',
    String(ports.browser),
    '--sandbox-port',
    String(ports.sandbox),
    ...extra,
  ]);
  for (const p of [ports.cp, ports.browser, ports.sandbox]) await waitPort(ns, p, `responder port ${p}`);
  return proc;
}

export interface SiteOptions {
  port: number;
  /** Idle timeout between reads from the service, nginx proxy_read_timeout; null leaves nginx's 60 s default. */
  readTimeout?: string | null;
  /** Pass Upgrade/Connection (and HTTP/1.1) upstream; false drops them as a misconfigured proxy does. */
  upgrade?: boolean;
  /** The Host header sent upstream; default $host (unchanged). */
  hostHeader?: string;
  buffering?: boolean;
  /** Hosts to leave without a rule (they fall to the default server's 404). */
  unrouted?: string[];
  /** Backend port per service; override to point a host at the wrong or a dead port. */
  backends?: Partial<Record<'cp' | 'browser' | 'sandbox', number>>;
  /** Per host backend override (host → port). */
  hostBackends?: Record<string, number>;
  blockMetrics?: boolean;
  /** Raw nginx directives added to every routed server block (extra locations, gzip, ...). */
  extra?: string;
  /** Raw nginx directives added to the server block of these hosts only (host → directives). */
  hostExtra?: Record<string, string>;
  /** proxy_pass target per host, instead of 127.0.0.1:<port> (an upstream block's name). */
  hostProxyPass?: Record<string, string>;
  /** Offer HTTP/2 (ALPN h2), as ingress controllers do; default true. */
  http2?: boolean;
  /** Addresses to listen on (IPv6 without brackets); default 127.0.0.1 only. */
  listen?: string[];
  /**
   * client_max_body_size of the routed hosts. Default '0' (no limit), as a healthy install is told to set it:
   * nginx's own default (1m, ingress-nginx's proxy-body-size too) refuses the platform's uploads.
   */
  maxBody?: string;
}

/** nginx server blocks proxying the five names to the responder the way an ingress controller would. */
export function nginxSite(ing: Ingress, ports: ResponderPorts, o: SiteOptions): string {
  const d = ing.domain;
  const backend = { cp: ports.cp, browser: ports.browser, sandbox: ports.sandbox, ...o.backends };
  const routes: Array<[string, number]> = [
    [d, backend.cp],
    [`files.${d}`, backend.cp],
    [`browsers.${d}`, backend.browser],
    [`sandbox.${d}`, backend.sandbox],
    [`*.sandbox.${d}`, backend.sandbox],
  ];
  const location = (port: number, target = `127.0.0.1:${port}`) => [
    ...(o.blockMetrics ? ['  location = /metrics { return 404; }'] : []),
    '  location / {',
    `    proxy_pass http://${target};`,
    ...(o.upgrade === false
      ? []
      : [
          '    proxy_http_version 1.1;',
          '    proxy_set_header Upgrade $http_upgrade;',
          '    proxy_set_header Connection $connection_upgrade;',
        ]),
    `    proxy_set_header Host ${o.hostHeader ?? '$host'};`,
    '    proxy_set_header X-Forwarded-Proto https;',
    ...(o.readTimeout === null
      ? []
      : [`    proxy_read_timeout ${o.readTimeout ?? '3600s'};`, `    proxy_send_timeout ${o.readTimeout ?? '3600s'};`]),
    `    proxy_buffering ${o.buffering ? 'on' : 'off'};`,
    '  }',
  ];
  const listen = (dflt: string) =>
    (o.listen ?? ['127.0.0.1'])
      .map(
        (a) => `  listen ${a.includes(':') ? `[${a}]` : a}:${o.port} ssl${o.http2 === false ? '' : ' http2'}${dflt};`,
      )
      .join('\n');
  const blocks = [
    // What an ingress does with a host it has no rule for: its own 404.
    `server {\n${listen(' default_server')}\n  server_name _;\n  ssl_certificate ${ing.certPath};\n  ` +
      `ssl_certificate_key ${ing.keyPath};\n  return 404;\n}`,
  ];
  for (const [host, port] of routes) {
    if (o.unrouted?.includes(host)) continue;
    blocks.push(
      [
        `server {`,
        listen(''),
        `  server_name ${host};`,
        `  ssl_certificate ${ing.certPath};`,
        `  ssl_certificate_key ${ing.keyPath};`,
        `  client_max_body_size ${o.maxBody ?? '0'};`,
        ...(o.extra ? [`  ${o.extra}`] : []),
        ...(o.hostExtra?.[host] ? [`  ${o.hostExtra[host]}`] : []),
        ...location(o.hostBackends?.[host] ?? port, o.hostProxyPass?.[host]),
        '}',
      ].join('\n'),
    );
  }
  return blocks.join('\n');
}

/** Needed once per nginx http block for the Connection header of upgrades. */
export const UPGRADE_MAP = 'map $http_upgrade $connection_upgrade { default upgrade; "" close; }';

export interface HaproxyOptions {
  noServers?: boolean;
  /** Pick the backend from the TLS SNI instead of the Host header (`:authority` in h2): wrong once h2 coalesces. */
  routeBySni?: boolean;
  /** ALPN offered on the bind line; default h2,http/1.1 as ingresses do. */
  alpn?: string;
  /** Raw lines added to the frontend (before the routing rules). */
  frontend?: string[];
  /** The address to bind; default 127.0.0.1 (any 127.x is the namespace's loopback). */
  address?: string;
  /** Raw words appended to the bind line (`accept-proxy`: expect a PROXY protocol header first). */
  bindExtra?: string;
}

/** A real haproxy terminating TLS in front of the responder; one timeout for idle client, server and tunnel. */
export async function startHaproxy(
  ing: Ingress,
  ports: ResponderPorts,
  port: number,
  timeout: string,
  opts: HaproxyOptions = {},
): Promise<ManagedProc> {
  const d = ing.domain;
  const dir = await makeTempDir('nvt-haproxy-');
  const by = opts.routeBySni ? 'ssl_fc_sni' : 'req.hdr(host),field(1,:)';
  const cfg = `${[
    'global',
    '  maxconn 200',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    `  timeout client ${timeout}`,
    `  timeout server ${timeout}`,
    `  timeout tunnel ${timeout}`,
    'frontend fe',
    `  bind ${opts.address ?? '127.0.0.1'}:${port} ssl crt ${ing.combinedPem} alpn ${opts.alpn ?? 'h2,http/1.1'}` +
      (opts.bindExtra ? ` ${opts.bindExtra}` : ''),
    '  http-request set-header X-Forwarded-Proto https',
    ...(opts.frontend ?? []).map((l) => `  ${l}`),
    `  acl cp ${by} -i ${d} files.${d}`,
    `  acl browser ${by} -i browsers.${d}`,
    `  acl sandbox ${by} -i sandbox.${d}`,
    `  acl preview ${by} -i -m end .sandbox.${d}`,
    '  use_backend cp if cp',
    '  use_backend browser if browser',
    '  use_backend sandbox if sandbox || preview',
    ...(['cp', 'browser', 'sandbox'] as const).flatMap((b) => [
      `backend ${b}`,
      ...(opts.noServers ? [] : [`  server s1 127.0.0.1:${ports[b]}`]),
    ]),
  ].join('\n')}\n`;
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  const check = await ing.ns.exec('haproxy', ['-c', '-f', file], { timeoutMs: 10_000 });
  if (check.code !== 0) throw new Error(`haproxy -c failed:\n${check.stdout}${check.stderr}\n${cfg}`);
  const proc = ing.ns.spawn('haproxy', ['-db', '-f', file]);
  await waitPort(ing.ns, port, `haproxy ${port}`, opts.address);
  return proc;
}

export const STACK_TURN_IP = '203.0.113.20';
export const STACK_TURN_SECRET = 'nvt-stack-turn-secret-5e2a';

export interface FullStack extends Ingress {
  httpsPort: number;
  httpPort: number;
  /** The flags that point the CLI at this stack. */
  args: string[];
}

export interface StackOptions {
  /** Dual stack: every name also gets an AAAA to this address; `serve` false leaves nothing listening there. */
  ipv6?: { address: string; serve: boolean };
}

/** A healthy install end to end: names, certificates, nginx with long stream timeouts, the responder behind it. */
export async function fullStack(
  domain = 'nap.test',
  extraDnsLines: string[] = [],
  opts: StackOptions = {},
): Promise<FullStack> {
  const ing = await ingressBase(domain, extraDnsLines, opts.ipv6?.address);
  const ports = { cp: 3000, browser: 3005, sandbox: 3006 };
  const httpsPort = 8443;
  await startResponder(ing.ns, domain, ports, publicUrlArgs(domain, httpsPort));
  const httpPort = 8080;
  const { startNginx } = await import('../harness/nginx.js');
  await startNginx(
    ing.ns,
    [
      UPGRADE_MAP,
      nginxSite(ing, ports, {
        port: httpsPort,
        blockMetrics: true,
        listen: ['127.0.0.1', ...(opts.ipv6?.serve ? [opts.ipv6.address] : [])],
      }),
      `server { listen 127.0.0.1:${httpPort} default_server; ` +
        `${opts.ipv6?.serve ? `listen [${opts.ipv6.address}]:${httpPort} default_server; ` : ''}return 301 ` +
        `https://$host:${httpsPort}$request_uri; }`,
    ].join('\n'),
  );
  // coturn on a "public" address of the namespace, as TURN_HOST is an IP outside the HTTP ingress.
  const { addAddress, startCoturn } = await import('./turn.js');
  await addAddress(ing.ns, STACK_TURN_IP);
  await startCoturn(ing, { listenIp: STACK_TURN_IP, secret: STACK_TURN_SECRET, realm: domain, denyInternal: true });
  const secretFile = path.join(await makeTempDir('nvt-secret-'), 'turn-secret');
  writeFileSync(secretFile, STACK_TURN_SECRET, { mode: 0o600 });
  return {
    ...ing,
    httpsPort,
    httpPort,
    // fixtures/values.env describes this very install (nap.test, TURN on STACK_TURN_IP with its secret).
    args: [
      '--values',
      path.join(REPO_ROOT, 'fixtures', 'values.env'),
      '--domain',
      domain,
      '--https-port',
      String(httpsPort),
      '--http-port',
      String(httpPort),
      '--ca-file',
      ing.rootPem,
      '--turn',
      STACK_TURN_IP,
      '--turn-secret-file',
      secretFile,
    ],
  };
}
