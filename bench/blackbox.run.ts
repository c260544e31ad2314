// Side by side with Debian's prometheus-blackbox-exporter, both scraped the way Prometheus would, on the same
// real stack: five hosts per install (http_2xx with TLS for each, a dns module for each name), a healthy install
// and three faults — an expired certificate, a dead wildcard DNS record, a proxy that cuts idle streams at 4 s.
// Time per scrape and what each reports. Figures go to bench/RESULTS.md.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI_PATH } from '../test/harness/cli.js';
import { startNginx } from '../test/harness/nginx.js';
import { createPki } from '../test/harness/pki.js';
import { makeTempDir, runCleanups } from '../test/harness/proc.js';
import {
  fullStack,
  nginxSite,
  publicUrlArgs,
  startResponder,
  UPGRADE_MAP,
  waitPort,
  type FullStack,
} from '../test/support/ingress.js';
import { zone } from '../test/support/zone.js';
import { median, writeSection } from './results.js';

let stack: FullStack;
const OURS = 9816;
const BLACKBOX = 9115;
const rows: string[] = [];
const note = (line: string) => {
  rows.push(line);
  console.log(line);
};

interface Install {
  domain: string;
  port: number;
  fault: string;
}
const INSTALLS: Install[] = [
  { domain: 'nap.test', port: 8443, fault: 'healthy' },
  { domain: 'old.test', port: 9443, fault: 'certificate expired 30 days ago' },
  { domain: 'dead.test', port: 9444, fault: 'no wildcard DNS record (*.sandbox)' },
  { domain: 'cut.test', port: 9445, fault: 'proxy cuts idle streams at 4 s' },
];
const hostsOf = (d: string) => [d, `files.${d}`, `browsers.${d}`, `sandbox.${d}`, `nvf0123456789.sandbox.${d}`];

beforeAll(async () => {
  stack = await fullStack('nap.test', [
    ...zone('old.test'),
    ...zone('dead.test', { wildcard: null }),
    ...zone('cut.test'),
  ]);
  const dir = await makeTempDir('nvb-blackbox-');
  const pki = await createPki(await makeTempDir('nvb-pki-'));
  const root = await pki.rootCa('Bench Root CA');
  const day = 86_400_000;
  for (const [k, i] of INSTALLS.slice(1).entries()) {
    // Each install has its own stand-ins answering for its own domain, behind its own proxy, installed with the
    // public URLs users reach it at (else every install but the first is also a config mismatch).
    const ports = { cp: 3100 + 100 * k, browser: 3105 + 100 * k, sandbox: 3106 + 100 * k };
    await startResponder(stack.ns, i.domain, ports, publicUrlArgs(i.domain, i.port));
    const expired = i.domain === 'old.test';
    const leaf = await pki.leaf(root, {
      cn: i.domain,
      sans: [i.domain, `files.${i.domain}`, `browsers.${i.domain}`, `sandbox.${i.domain}`, `*.sandbox.${i.domain}`],
      ...(expired ? { notBefore: new Date(Date.now() - 120 * day), notAfter: new Date(Date.now() - 30 * day) } : {}),
    });
    await startNginx(
      stack.ns,
      [
        UPGRADE_MAP,
        nginxSite({ ...stack, domain: i.domain, certPath: leaf.certPath, keyPath: leaf.keyPath }, ports, {
          port: i.port,
          blockMetrics: true,
          ...(i.domain === 'cut.test' ? { readTimeout: '4s' } : {}),
        }),
      ].join('\n'),
    );
    await waitPort(stack.ns, i.port);
  }
  const caFile = path.join(dir, 'cas.pem');
  writeFileSync(caFile, readFileSync(stack.rootPem, 'utf8') + root.certPem);
  // nap-verify: one target per install; quick per scrape, full (holds of 10 s) for the stream fault.
  const ours = path.join(dir, 'exporter.yaml');
  writeFileSync(
    ours,
    stringify({
      interval: '60s',
      hold: 10,
      timeout: 5,
      defaults: { caFile, httpPort: stack.httpPort, skip: ['turn'] },
      targets: Object.fromEntries(INSTALLS.map((i) => [i.domain, { httpsPort: i.port }])),
    }),
  );
  stack.ns.spawn('node', [CLI_PATH, 'exporter', '--listen', `127.0.0.1:${OURS}`, '--config', ours]);
  // blackbox_exporter: http_2xx with TLS against the responder's identity path, and one dns module per name.
  const modules: Record<string, unknown> = {
    http_2xx: {
      prober: 'http',
      timeout: '5s',
      http: { preferred_ip_protocol: 'ip4', tls_config: { ca_file: caFile } },
    },
  };
  for (const i of INSTALLS)
    for (const h of hostsOf(i.domain))
      modules[`dns_${h}`] = {
        prober: 'dns',
        timeout: '5s',
        dns: {
          query_name: h,
          query_type: 'A',
          preferred_ip_protocol: 'ip4',
          valid_rcodes: ['NOERROR'],
          validate_answer_rrs: { fail_if_not_matches_regexp: ['.*'] },
        },
      };
  const bbConfig = path.join(dir, 'blackbox.yml');
  writeFileSync(bbConfig, stringify({ modules }));
  stack.ns.spawn('prometheus-blackbox-exporter', [
    `--config.file=${bbConfig}`,
    `--web.listen-address=127.0.0.1:${BLACKBOX}`,
  ]);
  await waitPort(stack.ns, OURS, 'nap-verify exporter');
  await waitPort(stack.ns, BLACKBOX, 'blackbox_exporter');
}, 180_000);
afterAll(() => {
  writeSection('Exporter beside blackbox_exporter', rows.join('\n'));
  return runCleanups();
});

/** One scrape: wall time (ms) and the body. */
async function scrape(port: number, query: string): Promise<{ ms: number; body: string }> {
  const r = await stack.ns.exec(
    'bash',
    [
      '-c',
      `curl -s -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' -o /tmp/nvb-bb-body -w '%{time_total}' ` +
        `'http://127.0.0.1:${port}/probe?${query}'; echo; cat /tmp/nvb-bb-body`,
    ],
    { timeoutMs: 60_000 },
  );
  const i = r.stdout.indexOf('\n');
  return { ms: Number(r.stdout.slice(0, i)) * 1000, body: r.stdout.slice(i + 1) };
}
const value = (body: string, re: RegExp) => body.split('\n').filter((l) => re.test(l));

async function blackboxInstall(i: Install): Promise<{ ms: number; found: string[] }> {
  let ms = 0;
  const found: string[] = [];
  for (const h of hostsOf(i.domain)) {
    const http = await scrape(
      BLACKBOX,
      `module=http_2xx&target=${encodeURIComponent(`https://${h}:${i.port}/.well-known/nap-verify`)}`,
    );
    const dns = await scrape(BLACKBOX, `module=${encodeURIComponent(`dns_${h}`)}&target=127.0.0.1:53`);
    ms += http.ms + dns.ms;
    if (/^probe_success 0/m.test(http.body)) found.push(`http ${h.replace(/^nvf\w+/, 'nvf…')} failed`);
    if (/^probe_success 0/m.test(dns.body)) found.push(`dns ${h.replace(/^nvf\w+/, 'nvf…')} failed`);
    const expiry = value(http.body, /^probe_ssl_earliest_cert_expiry /)[0];
    if (expiry && Number(expiry.split(' ')[1]) * 1000 < Date.now() && !found.includes('expiry in the past'))
      found.push('expiry in the past');
  }
  return { ms, found };
}

async function oursInstall(i: Install, module: 'quick' | 'full'): Promise<{ ms: number; found: string[] }> {
  const s = await scrape(OURS, `module=${module}&target=${i.domain}`);
  const codes = value(s.body, /^nap_verify_check_code_info\{/)
    .map((l) => /check="([^"]+)",code="([^"]+)"/.exec(l)!)
    .map((m) => `${m[1]} ${m[2]}`);
  return { ms: s.ms, found: codes.filter((c) => !/HOLD_SHORT/.test(c)) };
}

it('time per scrape and findings on the same faults', async () => {
  // Warm both (first probes compile code paths; the full module's first run starts in the background).
  for (const i of INSTALLS) {
    await blackboxInstall(i);
    await oursInstall(i, 'quick');
    await scrape(OURS, `module=full&target=${i.domain}`);
  }
  const bbTimes: number[] = [];
  const ourTimes: number[] = [];
  for (let n = 0; n < 5; n++) {
    bbTimes.push((await blackboxInstall(INSTALLS[0]!)).ms);
    ourTimes.push((await oursInstall(INSTALLS[0]!, 'quick')).ms);
  }
  note('Healthy install, five hosts, scrapes one after another (median of 5):');
  note('');
  note('| | scrapes | time |');
  note('|---|---|---|');
  note(`| blackbox_exporter 0.23 (http_2xx with TLS + dns, per host) | 10 | ${median(bbTimes).toFixed(0)} ms |`);
  note(
    `| nap-verify exporter \`module=quick\` (dns, tls, http, ws, sse for all five; TURN left out here) | 1 | ` +
      `${median(ourTimes).toFixed(0)} ms |`,
  );
  note('');
  // The full module's first runs (holds of 10 s) finish in the background; wait for every one to have a result.
  for (const i of INSTALLS) {
    for (let t = 0; t < 60; t++) {
      if (/nap_verify_probe_result_age_seconds/.test((await scrape(OURS, `module=full&target=${i.domain}`)).body))
        break;
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
  note('| install | blackbox_exporter finds | nap-verify quick finds | nap-verify full (hold 10 s) finds |');
  note('|---|---|---|---|');
  for (const i of INSTALLS) {
    const bb = await blackboxInstall(i);
    const quick = await oursInstall(i, 'quick');
    const full = await oursInstall(i, 'full');
    const cell = (xs: string[]) => (xs.length ? xs.join('; ') : 'nothing');
    note(`| ${i.domain}: ${i.fault} | ${cell(bb.found)} | ${cell(quick.found)} | ${cell(full.found)} |`);
  }
  note('');
}, 600_000);
