// The command line as users and CI meet it: a healthy stack end to end, bad input, env equivalents, selection,
// output files, colour, exit codes and Ctrl-C. Every run happens inside the test's own namespace.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './harness/cli.js';
import { assertResultSchema } from './harness/schema.js';
import { startSilentUdp } from './harness/dnsmasq.js';
import { runCleanups, waitFor } from './harness/proc.js';
import { fullStack, type FullStack } from './support/ingress.js';
import { runShape } from './support/spec-codes.js';

let stack: FullStack;
let out: string;
let silentDns: ReturnType<typeof startSilentUdp>;

beforeAll(async () => {
  // slow.test is forwarded to a socket that never answers: a run that waits until its deadline.
  stack = await fullStack('nap.test', ['server=/slow.test/127.0.0.1#5399']);
  silentDns = startSilentUdp(stack.ns, 5399);
  await silentDns.ready;
  out = mkdtempSync(path.join(tmpdir(), 'nvt-out-'));
}, 60_000);
afterAll(runCleanups);

const cli = (args: string[], env?: Record<string, string>) => runCli(stack.ns, args, env ? { env } : {});
/** The whole suite without the idle holds (their own tests hold streams against short proxy timeouts). */
const quick = () => [...stack.args, '--no-hold'];
let ALL_BUT_HOLD: number;
let shape: Awaited<ReturnType<typeof runShape>>;
beforeAll(async () => {
  shape = await runShape();
  ALL_BUT_HOLD = shape.allButHold;
});

describe('a healthy stack', () => {
  it('passes every check, prints one line per check that ran, exits 0', async () => {
    const r = await cli(quick());
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^nap-verify \d+\.\d+\.\d+ {2}nap\.test {2}\(addresses from DNS\)$/m);
    // 100 columns off a TTY: the host leads the message instead of taking a column.
    expect(r.stdout).toMatch(
      /^ {2}✔ tls\.preview + \d+ ms {2}nvf[0-9a-f]{10}\.sandbox\.nap\.test: TLSv1\.[23], issued by Ingress/m,
    );
    expect(r.stdout).toMatch(/^ {2}✔ http\.files + \d+ ms {2}files\.nap\.test: nap-cp \(responder\), Host preserved/m);
    // The holds --no-hold left out are said once, in the footer, not once per hold.
    expect(r.stdout).not.toMatch(/^ {2}○ hold\./m);
    expect(r.stdout).toMatch(/^stream timeouts NOT tested \(--no-hold\): hold\.sse\.main, [\s\S]*hold\.ws\.main/m);
    expect(r.stdout).toMatch(
      new RegExp(
        `^${ALL_BUT_HOLD} passed, 0 failed, 0 warnings, ${shape.holds} skipped {2}\\((\\d+ ms|\\d+\\.\\d s)\\)$`,
        'm',
      ),
    );
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });

  it('with a short --hold the streams are held too: a HOLD_SHORT warning each, still exit 0', async () => {
    const r = await cli([...stack.args, '--hold', '2', '--only', 'hold', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(r.json.checks.map((c: { id: string; code: string }) => [c.id, c.code])).toEqual(
      shape.holdIds.map((id) => [id, 'HOLD_SHORT']),
    );
  });

  it('writes JSON and JUnit files from the same results as stdout', async () => {
    const json = path.join(out, 'run.json');
    const junit = path.join(out, 'run.xml');
    const r = await cli([...quick(), '--format', 'json', '--json', json, '--junit', junit]);
    expect(r.code).toBe(0);
    const file = JSON.parse(readFileSync(json, 'utf8'));
    expect(file.checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual(
      r.json.checks.map((c: { id: string; status: string }) => [c.id, c.status]),
    );
    expect(file).toMatchObject({
      tool: 'nap-verify',
      schema: 1,
      summary: { pass: ALL_BUT_HOLD, fail: 0, warn: 0, skip: shape.holds, status: 'pass' },
    });
    expect(file.options).toMatchObject({ domain: 'nap.test', httpsPort: 8443, caFile: stack.rootPem });
    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    expect(doc.testsuites.testsuite.map((s: { name: string; tests: string }) => [s.name, s.tests])).toEqual(
      shape.suites,
    );
  });

  it('-v prints evidence as an indented tree; -q prints only the summary when nothing failed', async () => {
    const v = await cli([...stack.args, '-v', '--only', 'tls.main']);
    expect(v.stdout).toMatch(/^ {6}analysis:\n(?: {8}.*\n)*? {8}anchor: CN=Ingress Root CA$/m);
    expect(v.stdout).toMatch(
      /^ {6}chain:\n {8}- subject: CN=nap\.test\n(?: {10}.*\n)+ {8}- subject: CN=Ingress Intermediate CA$/m,
    );
    expect(v.stdout).not.toMatch(/chain\[\d\]/);
    const q = await cli([...quick(), '-q']);
    expect(q.stdout.trim().split('\n')).toHaveLength(1);
    expect(q.stdout).toMatch(new RegExp(`^${ALL_BUT_HOLD} passed`));
  });
});

describe('selection, environment and colour', () => {
  it('--only/--skip take ids and prefixes; dependencies run without being reported', async () => {
    const r = await cli([...stack.args, '--only', 'tls.preview,dns.files', '--format', 'json']);
    expect(r.json.checks.map((c: { id: string }) => c.id)).toEqual(['dns.files', 'tls.preview']);
    expect(r.json.checks[1].status).toBe('pass');
    const s = await cli([...stack.args, '--skip', 'config,tls,env,net,http,ws,sse,hold,turn', '--format', 'json']);
    expect(s.json.checks.map((c: { id: string }) => c.id)).toEqual([
      'dns.main',
      'dns.files',
      'dns.browsers',
      'dns.sandbox',
      'dns.preview',
      'dns.consistent',
    ]);
  });

  it('reads every option from NAP_VERIFY_<NAME>; a flag beats the variable', async () => {
    const env = {
      NAP_VERIFY_DOMAIN: 'nap.test',
      NAP_VERIFY_HTTPS_PORT: '8443',
      NAP_VERIFY_CA_FILE: stack.rootPem,
      NAP_VERIFY_ONLY: 'tls.main,dns.main',
      NAP_VERIFY_FORMAT: 'json',
      NAP_VERIFY_EXPECT_IP: '127.0.0.1',
      NAP_VERIFY_STRICT: 'true',
    };
    const r = await cli([], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).options).toMatchObject({
      domain: 'nap.test',
      httpsPort: 8443,
      only: ['tls.main', 'dns.main'],
      expectIp: ['127.0.0.1'],
      strict: true,
    });
    const flagWins = await cli(['--https-port', '8499'], env);
    expect(JSON.parse(flagWins.stdout).checks.find((c: { id: string }) => c.id === 'tls.main').code).toBe(
      'TLS_HANDSHAKE',
    );
    expect(flagWins.code).toBe(1);
  });

  it('colours only when asked on a pipe: FORCE_COLOR yes, NO_COLOR and --no-color win', async () => {
    const args = [...stack.args, '--only', 'dns.main'];
    expect((await cli(args, { NO_COLOR: '' })).stdout).not.toMatch(/\u001b\[/);
    expect((await cli(args, { NO_COLOR: '', FORCE_COLOR: '1' })).stdout).toMatch(/\u001b\[32m✔/);
    expect((await cli(args, { NO_COLOR: '1', FORCE_COLOR: '1' })).stdout).not.toMatch(/\u001b\[/);
    expect((await cli([...args, '--no-color'], { NO_COLOR: '', FORCE_COLOR: '1' })).stdout).not.toMatch(/\u001b\[/);
  });

  it('a proxy in the environment is ENV_PROXY (warn, exit 0) and its credentials never reach any output', async () => {
    const json = path.join(out, 'proxy.json');
    const junit = path.join(out, 'proxy.xml');
    const r = await cli([...stack.args, '--only', 'env', '--json', json, '--junit', junit, '-v'], {
      HTTPS_PROXY: 'http://alice:hunter2secret@proxy.corp:3128',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/▲ env\.proxy .*ENV_PROXY HTTPS_PROXY=http:\/\/\*\*\*:\*\*\*@proxy\.corp:3128/);
    for (const text of [r.stdout, r.stderr, readFileSync(json, 'utf8'), readFileSync(junit, 'utf8')]) {
      expect(text).not.toContain('hunter2secret');
      expect(text).not.toContain('alice');
    }
  });
});

describe('secrets', () => {
  it(
    'every output format, with a TURN secret and a password set: no byte written holds either, nor a password ' +
      'made from the secret',
    async () => {
      const { STACK_TURN_SECRET } = await import('./support/ingress.js');
      const PASSWORD = 'nvt-static-password-never-shown-77';
      const args = stack.args.filter(
        (a, i) => a !== '--turn-secret-file' && stack.args[i - 1] !== '--turn-secret-file',
      );
      const env = { NAP_VERIFY_TURN_SECRET: STACK_TURN_SECRET, NAP_VERIFY_TURN_PASSWORD: PASSWORD };
      const f = (n: string) => path.join(out, `secrets-${n}`);
      const t0 = Math.floor(Date.now() / 1000);
      const runs = await Promise.all([
        cli([...args, '--hold', '1', '-v', '--json', f('a.json'), '--junit', f('a.xml'), '--report', f('a.md')], env),
        cli([...args, '--no-hold', '--format', 'json', '--report', f('b.html')], env),
        cli([...args, '--no-hold', '-q', '--strict'], env),
        cli(['explain', 'turn.auth'], env),
      ]);
      const t1 = Math.floor(Date.now() / 1000);
      expect(runs[0]!.stdout).toMatch(/✔ turn\.relay/);
      const { createHmac } = await import('node:crypto');
      const derived = Array.from({ length: t1 - t0 + 4 }, (_, i) =>
        createHmac('sha1', STACK_TURN_SECRET)
          .update(`${t0 - 2 + i + 3600}:nap-verify`)
          .digest('base64'),
      );
      const written = [
        ...runs.flatMap((r) => [r.stdout, r.stderr]),
        ...['a.json', 'a.xml', 'a.md', 'b.html'].map((n) => readFileSync(f(n), 'utf8')),
      ];
      for (const text of written) {
        expect(text).not.toContain(STACK_TURN_SECRET);
        expect(text).not.toContain(PASSWORD);
        for (const d of derived) expect(text).not.toContain(d);
      }
    },
  );
});

describe('on a terminal', () => {
  it(
    'draws one live line with the hold countdown, erases it, then prints the report (script(1) gives ' + 'it a TTY)',
    async () => {
      const cmd = ['node', CLI_PATH, ...stack.args, '--only', 'hold.ws.main', '--hold', '2']
        .map((a) => `'${a}'`)
        .join(' ');
      const r = await stack.ns.exec('script', ['-qec', cmd, '/dev/null'], {
        env: { ...process.env, TERM: 'xterm', NO_COLOR: '1' } as NodeJS.ProcessEnv,
      });
      expect(r.stdout).toMatch(/^nap-verify \d/);
      expect(r.stdout).toMatch(/\r\u001b\[2K.*holding idle streams: \d s left of 2 s/);
      // The live line is erased at the end; the hold's result follows it, never a live line redrawn after it.
      expect(r.stdout).toMatch(
        /\r\u001b\[2K {2}▲ hold\.ws\.main[^\n]*\r?\n[^\u001b]*\r?\n0 passed, 0 failed, 1 warning/,
      );
    },
  );
});

describe('bad input: exit 2, one line on stderr, no stack trace, nothing on stdout', () => {
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ['unknown flag', ['--domain', 'nap.test', '--bogus'], /unknown option '--bogus'/],
    ['misspelt flag', ['--domain', 'nap.test', '--timout', '3'], /unknown option '--timout'.*did you mean --timeout/i],
    ['no domain', [], /--domain is required/],
    ['IP as domain', ['--domain', '10.1.2.3'], /an IP address is not a domain/],
    ['IDN without punycode', ['--domain', 'bücher.de'], /punycode \(xn--bcher-kva\.de\)/],
    ['single label', ['--domain', 'localhost'], /at least two labels/],
    ['URL as domain', ['--domain', 'https://nap.test/'], /not a URL/],
    ['bad label', ['--domain', 'nap_x.test'], /not a valid DNS label/],
    ['port 0', ['--domain', 'nap.test', '--https-port', '0'], /ports are 1-65535/],
    ['port 70000', ['--domain', 'nap.test', '--https-port', '70000'], /ports are 1-65535/],
    ['port not a number', ['--domain', 'nap.test', '--http-port', 'http'], /not a port number/],
    [
      'bad ingress ip',
      ['--domain', 'nap.test', '--ingress-ip', '300.1.1.1'],
      /--ingress-ip 300\.1\.1\.1: not an IPv4 or IPv6 address/,
    ],
    ['bad expect ip', ['--domain', 'nap.test', '--expect-ip', 'ingress'], /--expect-ip ingress/],
    [
      'resolver name',
      ['--domain', 'nap.test', '--resolver', 'dns.google'],
      /--resolver dns\.google: expected ip or ip:port/,
    ],
    ['missing CA file', ['--domain', 'nap.test', '--ca-file', '/nonexistent/ca.pem'], /cannot read it \(ENOENT\)/],
    ['CA file without PEM', ['--domain', 'nap.test', '--ca-file', '/etc/hostname'], /no PEM certificate/],
    ['unknown --only id', ['--domain', 'nap.test', '--only', 'dns,nope'], /unknown check id or prefix: nope/],
    ['partial id', ['--domain', 'nap.test', '--skip', 'tls.pre'], /unknown check id or prefix: tls\.pre/],
    [
      'everything skipped',
      ['--domain', 'nap.test', '--skip', 'config,env,dns,net,tls,http,ws,sse,hold,turn'],
      /leave no check to run/,
    ],
    [
      'bad relay range',
      ['--domain', 'nap.test', '--relay-range', '49252-49152'],
      /--relay-range 49252-49152: 49252 is above 49152/,
    ],
    ['relay samples 0', ['--domain', 'nap.test', '--relay-samples', '0'], /--relay-samples 0/],
    [
      'bad turn host',
      ['--domain', 'nap.test', '--turn', 'turn_1.nap.test:3478'],
      /--turn turn_1.nap.test: "turn_1" is not a valid DNS label/,
    ],
    [
      'missing secret file',
      ['--domain', 'nap.test', '--turn-secret-file', '/nonexistent/secret'],
      /--turn-secret-file \/nonexistent\/secret: cannot read it/,
    ],
    [
      'secret and user',
      ['--domain', 'nap.test', '--turn-user', 'u'],
      /either a TURN REST secret .* or --turn-user, not both/,
      { NAP_VERIFY_TURN_SECRET: 's', NAP_VERIFY_TURN_PASSWORD: 'p' },
    ],
    ['negative hold', ['--domain', 'nap.test', '--hold', '-1'], /--hold -1: expected a number from 1 to 3600/],
    ['hold too long', ['--domain', 'nap.test', '--hold', '7200'], /--hold 7200/],
    ['bad format', ['--domain', 'nap.test', '--format', 'xml'], /--format xml: expected text or json/],
    ['zero timeout', ['--domain', 'nap.test', '--timeout', '0'], /--timeout 0: expected a number from 0\.1 to 600/],
    ['negative warn days', ['--domain', 'nap.test', '--cert-warn-days', '-1'], /--cert-warn-days -1/],
    ['quiet and verbose', ['--domain', 'nap.test', '-q', '-v'], /contradict/],
    [
      'unwritable report',
      ['--domain', 'nap.test', '--json', '/nonexistent/dir/r.json'],
      /--json \/nonexistent\/dir\/r\.json: directory \/nonexistent\/dir is not writable/,
    ],
    ['same file twice', ['--domain', 'nap.test', '--json', '/tmp/x', '--junit', '/tmp/x'], /both write/],
    ['stray argument', ['--domain', 'nap.test', 'extra'], /too many arguments/],
    [
      'bad boolean env',
      ['--domain', 'nap.test'],
      /NAP_VERIFY_STRICT=maybe is not a boolean/,
      { NAP_VERIFY_STRICT: 'maybe' },
    ],
    ['bad env domain', [], /--domain 1\.2\.3\.4/, { NAP_VERIFY_DOMAIN: '1.2.3.4' }],
  ];
  it.each(cases)('%s', async (_name, args, message, env) => {
    const r = await cli(args, env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^nap-verify: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** Established connections from the CLI process `pid` to the stack's HTTPS port, as the kernel lists them. */
async function holdingStreams(pid: number): Promise<number> {
  const r = await stack.ns.exec('ss', ['-Htnp', 'state', 'established', `( dport = :${stack.httpsPort} )`]);
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
}

describe('interrupt', () => {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(
      `${sig} during a hold: partial JSON, JUnit and report written, unfinished checks marked, ` + `exit ${code}`,
      async () => {
        const files = {
          json: path.join(out, `${sig}.json`),
          junit: path.join(out, `${sig}.xml`),
          report: path.join(out, `${sig}.md`),
        };
        const env = { ...process.env, NO_COLOR: '1' } as NodeJS.ProcessEnv;
        const proc = stack.ns.spawn(
          'node',
          [
            CLI_PATH,
            ...stack.args,
            '--hold',
            '30',
            '--json',
            files.json,
            '--junit',
            files.junit,
            '--report',
            files.report,
          ],
          { env },
        );
        // Wait until every hold is holding: each stream hold's two streams (silent and keep-alive) and each wait's
        // request open from this process, once every check a hold needs has printed its verdict (other connections
        // of the run, the uploads beside the holds among them, also count in the socket table).
        const waits = shape.holds - shape.streamHolds;
        await waitFor(
          async () =>
            ['ws.main', 'ws.browsers', 'ws.sandbox', 'ws.preview', 'sse.main'].every((id) =>
              new RegExp(`^ {2}\\S ${id.replace('.', '\\.')} `, 'm').test(proc.output()),
            ) && (await holdingStreams(proc.pid)) >= 2 * shape.streamHolds + waits,
          "every hold's streams open",
          20_000,
        );
        const sent = Date.now();
        process.kill(proc.pid, sig);
        expect(await proc.exited).toBe(code);
        const tookMs = Date.now() - sent;
        expect(tookMs).toBeLessThan(2000); // the holds had 28 s to go: the exit came from the signal
        const doc = JSON.parse(readFileSync(files.json, 'utf8'));
        assertResultSchema(doc, `${sig} partial JSON`);
        expect(doc.interrupted).toBe(true);
        expect(doc.summary.status).toBe('interrupted');
        const holds = doc.checks.filter((c: { id: string }) => c.id.startsWith('hold.'));
        expect(holds).toHaveLength(shape.holds);
        // A hold under way is marked as interrupted; one still waiting for its prerequisite (hold.sse.main waits for
        // sse.main) as skipped by the interrupted run. Either way it is unfinished, and holds were under way.
        for (const h of holds)
          expect(h.message, h.id).toMatch(/^(interrupted before it finished|skipped: run interrupted)$/);
        for (const h of holds) expect(h.status, h.id).toBe('skip');
        expect(holds.some((h: { message: string }) => h.message === 'interrupted before it finished')).toBe(true);
        expect(doc.checks.find((c: { id: string }) => c.id === 'tls.main').status).toBe('pass');
        expect(XMLValidator.validate(readFileSync(files.junit, 'utf8'))).toBe(true);
        expect(readFileSync(files.junit, 'utf8')).toContain('<skipped message="interrupted before it finished"/>');
        expect(readFileSync(files.report, 'utf8')).toContain(
          '**Verdict: INTERRUPTED: unfinished checks are marked skip.',
        );
      },
    );
  }

  it('serve stops cleanly on SIGTERM and SIGINT, closing held connections: exit 0', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const proc = stack.ns.spawn('node', [
        CLI_PATH,
        'serve',
        '--domain',
        'nap.test',
        '--host',
        '127.0.0.1',
        '--cp-port',
        '7000',
        '--browser-port',
        '7005',
        '--sandbox-port',
        '7006',
      ]);
      await waitFor(() => /nap-sandbox listening/.test(proc.output()), 'responder up');
      // A held SSE stream must not keep the process alive.
      // It says so once the stream's first bytes arrived: the responder holds it when the signal comes.
      const held = stack.ns.spawn('node', [
        '-e',
        "require('http').get({host:'127.0.0.1',port:7000,path:'/.well-known/nap-verify/sse?hold=600'," +
          "headers:{host:'nap.test'}},r=>r.once('data',()=>console.log('stream open '+r.statusCode)).resume())",
      ]);
      await waitFor(() => /stream open 200/.test(held.output()), 'the held SSE stream open');
      process.kill(proc.pid, sig);
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain(`${sig}, closing`);
      await held.stop();
    }
  });

  it('serve refuses a port in use with one line and exit 2', async () => {
    const r = await cli(['serve', '--domain', 'nap.test', '--host', '127.0.0.1', '--cp-port', '3000']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^nap-verify: cannot listen: port 3000 is in use$/);
  });

  it('Ctrl-C mid-run exits 130 at once and still writes the partial JSON with unfinished checks marked', async () => {
    const json = path.join(out, 'partial.json');
    const env = { ...process.env, NO_COLOR: '1' } as NodeJS.ProcessEnv;
    const proc = stack.ns.spawn(
      'node',
      [CLI_PATH, '--domain', 'slow.test', '--timeout', '20', '--only', 'dns,tls.main', '--json', json],
      { env },
    );
    // Wait until its queries (which can only time out) reach the silent server: the run is under way, then interrupt.
    const before = silentDns.output().split('got a datagram').length;
    await waitFor(
      () => silentDns.output().split('got a datagram').length > before,
      "the run's first DNS query",
      15_000,
    );
    const sent = Date.now();
    process.kill(proc.pid, 'SIGINT');
    const code = await proc.exited;
    const tookMs = Date.now() - sent;
    expect(code).toBe(130);
    expect(tookMs).toBeLessThan(5000); // the deadline is 20 s: the exit came from the signal
    await waitFor(() => existsSync(json), 'partial JSON');
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    assertResultSchema(doc, 'partial JSON');
    expect(doc.interrupted).toBe(true);
    expect(doc.summary.status).toBe('interrupted');
    expect(doc.checks.find((c: { id: string }) => c.id === 'dns.main')).toMatchObject({
      status: 'skip',
      message: 'interrupted before it finished',
    });
    expect(proc.output()).toMatch(/interrupted/);
  });
});
