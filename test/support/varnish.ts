// A real lifetime cap: Varnish between the test nginx (TLS) and the responder, with send_timeout as its only
// limit. send_timeout is the total time Varnish may spend delivering one response, checked when it writes: a
// streamed response that still sends after that many seconds is cut, a quiet one when it next sends. WebSocket
// upgrades are piped (pipe_timeout, an idle limit, raised out of the way), so they are not capped.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, type ManagedProc } from '../harness/proc.js';
import { waitPort, type Ingress, type ResponderPorts } from './ingress.js';

const escapeRe = (s: string) => s.replace(/[.]/g, '\\.');

export function varnishVcl(domain: string, ports: ResponderPorts): string {
  const d = escapeRe(domain);
  return `vcl 4.1;
backend cp { .host = "127.0.0.1"; .port = "${ports.cp}"; }
backend browser { .host = "127.0.0.1"; .port = "${ports.browser}"; }
backend sandbox { .host = "127.0.0.1"; .port = "${ports.sandbox}"; }

sub vcl_recv {
  if (req.http.host ~ "^(files\\.)?${d}(:[0-9]+)?$") { set req.backend_hint = cp; }
  elsif (req.http.host ~ "^browsers\\.${d}(:[0-9]+)?$") { set req.backend_hint = browser; }
  elsif (req.http.host ~ "(^|\\.)sandbox\\.${d}(:[0-9]+)?$") { set req.backend_hint = sandbox; }
  else { return (synth(404)); }
  if (req.http.upgrade ~ "(?i)websocket") { return (pipe); }
  # Nothing here is cacheable: every request goes to the service, its answer streamed as it comes.
  return (pass);
}

sub vcl_pipe {
  if (req.http.upgrade) {
    set bereq.http.upgrade = req.http.upgrade;
    set bereq.http.connection = req.http.connection;
  }
}

sub vcl_backend_response {
  set beresp.do_stream = true;
}
`;
}

export interface VarnishOptions {
  /**
   * first_byte_timeout: how long Varnish waits for the service's response headers before it answers 503 "Backend
   * fetch failed" itself (default 60 s in Varnish; 3600 here unless set, so send_timeout stays the only limit).
   */
  firstByteTimeoutS?: number;
}

/** varnishd in the namespace on `port`, capping delivered responses at sendTimeoutS seconds. */
export async function startVarnish(
  ing: Ingress,
  ports: ResponderPorts,
  port: number,
  sendTimeoutS: number,
  opts: VarnishOptions = {},
): Promise<ManagedProc> {
  const dir = await makeTempDir('nvt-varnish-');
  const vcl = path.join(dir, 'nap.vcl');
  writeFileSync(vcl, varnishVcl(ing.domain, ports));
  // -j none: no privilege separation (tests run as root in a throwaway namespace); -n: a private working dir.
  const proc = ing.ns.spawn('varnishd', [
    '-F',
    '-j',
    'none',
    '-n',
    path.join(dir, 'work'),
    '-a',
    `127.0.0.1:${port}`,
    '-f',
    vcl,
    '-s',
    'malloc,32m',
    '-p',
    `send_timeout=${sendTimeoutS}`,
    // Raised so send_timeout is the only limit on the path.
    '-p',
    'between_bytes_timeout=3600',
    '-p',
    'pipe_timeout=3600',
    '-p',
    `first_byte_timeout=${opts.firstByteTimeoutS ?? 3600}`,
    '-p',
    'idle_send_timeout=3600',
    '-p',
    'timeout_idle=3600',
  ]);
  await waitPort(ing.ns, port, `varnish ${port}`);
  return proc;
}
