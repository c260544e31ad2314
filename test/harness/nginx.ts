// A real nginx (1.22) inside a test namespace, standing in for an ingress controller.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Netns } from './netns.js';
import { makeTempDir, waitFor } from './proc.js';

export interface Nginx {
  conf: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
  errorLog(): string;
}

export async function startNginx(ns: Netns, httpBody: string): Promise<Nginx> {
  // Registered before the process, so (cleanups run newest first) it is removed after the stop.
  const dir = await makeTempDir('nvt-nginx-');
  const pidFile = path.join(dir, 'nginx.pid');
  const errorLogPath = path.join(dir, 'error.log');
  const conf = `${[
    // Workers would run as "nobody" and could not enter the 0700 temp dir (temp paths, logs);
    // certificates are read by the master, but root workers keep every test file readable.
    'user root;',
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${pidFile};`,
    `error_log ${errorLogPath} info;`,
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (t) => `  ${t}_temp_path ${path.join(dir, `${t}_temp`)};`,
    ),
    '  default_type text/plain;',
    // As ingress-nginx does (server-tokens: false): `Server: nginx` without a version. A site that stands for a
    // plain nginx turns it back on (server_tokens on;), which is how the two are told apart.
    '  server_tokens off;',
    indent(httpBody),
    '}',
  ].join('\n')}\n`;
  const confPath = path.join(dir, 'nginx.conf');
  await writeFile(confPath, conf);

  // -p: relative paths resolve inside dir, and nginx never touches /var/lib/nginx or /run.
  const args = ['-p', dir, '-c', confPath];
  const t = await ns.exec('nginx', ['-t', ...args], { timeoutMs: 10_000 });
  if (t.code !== 0) throw new Error(`nginx -t failed:\n${t.stderr}${t.stdout}\n--- ${confPath} ---\n${conf}`);

  const proc = ns.spawn('nginx', args);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  try {
    // The master binds every listen socket while reading the config (ngx_init_cycle), before it
    // writes the pid file, so an existing pid file means connections will be accepted.
    await waitFor(() => exited || readPid(pidFile) === proc.pid, 'nginx pid file', 5000);
    if (exited) throw new Error('exited early');
  } catch (err) {
    await proc.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`nginx did not start: ${msg}\n${proc.output()}\n${safeRead(errorLogPath)}`);
  }
  return { conf, dir, pid: proc.pid, stop: () => proc.stop(), errorLog: () => safeRead(errorLogPath) };
}

export interface TlsServerOpts {
  port: number;
  serverNames: string[];
  certPath: string;
  keyPath: string;
  defaultServer?: boolean;
  /** Default "TLSv1.2 TLSv1.3". */
  protocols?: string;
  ciphers?: string;
  /** ssl_reject_handshake on: abort the handshake (alert unrecognized_name) for names routed here. */
  rejectHandshake?: boolean;
  /** Directives inside server {}; default answers 200 "ok\n". */
  body?: string;
}

/**
 * One `server {}` block. Caveat: nginx picks the protocol versions and ciphers from the DEFAULT
 * server of a listen socket (the handshake starts before SNI selects a server), so give a server
 * with special protocols its own port. Protocols below TLS 1.2 need `ciphers:
 * "DEFAULT:@SECLEVEL=0"` with OpenSSL 3 (SHA-1 signatures are refused at level ≥ 1); this is
 * added automatically when only old protocols are listed and no ciphers are given.
 */
export function tlsServer(o: TlsServerOpts): string {
  const protocols = o.protocols ?? 'TLSv1.2 TLSv1.3';
  const onlyOld = !/TLSv1\.[23]/.test(protocols);
  const ciphers = o.ciphers ?? (onlyOld ? 'DEFAULT:@SECLEVEL=0' : undefined);
  const names = o.serverNames.length > 0 ? o.serverNames.join(' ') : '""';
  return [
    'server {',
    `  listen 127.0.0.1:${o.port} ssl${o.defaultServer ? ' default_server' : ''};`,
    `  server_name ${names};`,
    `  ssl_certificate ${o.certPath};`,
    `  ssl_certificate_key ${o.keyPath};`,
    `  ssl_protocols ${protocols};`,
    ciphers !== undefined ? `  ssl_ciphers ${quote(ciphers)};` : '',
    o.rejectHandshake ? '  ssl_reject_handshake on;' : '',
    indent(o.body ?? 'return 200 "ok\\n";'),
    '}',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

function readPid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
