#!/usr/bin/env node
// Entry point. Kept light so `--version` and `--help` start fast: the check machinery loads only when used.
import { Command, CommanderError, Option } from 'commander';
import { envBoolean, envName, UsageError, type RawOptions } from './options.js';
import { preconnect } from './probes/preconnect.js';
import { VERSION } from './version.js';

interface OptionSpec {
  flags: string;
  description: string;
  list?: boolean;
  /** Read NAP_VERIFY_<NAME> too (colour follows NO_COLOR/FORCE_COLOR instead). */
  env?: boolean;
}

const CHECK_OPTIONS: OptionSpec[] = [
  { flags: '-d, --domain <d>', description: 'main domain of the platform (files., browsers., sandbox. grow under it)' },
  {
    flags: '--values <file>',
    description: "the platform's values.env: domain, mode, ports, TURN host/secret, public URLs (checked too)",
  },
  {
    flags: '--mode <mode>',
    description: 'external (behind your ingress, default) or nodeport (plain HTTP on the node ports)',
  },
  {
    flags: '--modules <list>',
    description:
      'the optional modules installed: browser, sandbox, both (browser,sandbox) or none; nap-cp is always ' +
      'checked (default: BROWSER_ENABLED/SANDBOX_ENABLED from --values, else all)',
  },
  { flags: '--nap-node-port <n>', description: 'NodePort mode: nap-cp node port (NAP_NODE_PORT)' },
  { flags: '--browser-node-port <n>', description: 'NodePort mode: nap-browser node port (BROWSER_NODE_PORT)' },
  { flags: '--sandbox-node-port <n>', description: 'NodePort mode: nap-sandbox node port (SANDBOX_NODE_PORT)' },
  {
    flags: '--ingress-ip <ip>',
    description: 'connect here instead of to DNS answers (test before DNS exists); DNS is still checked',
  },
  {
    flags: '--ip-family <f>',
    description: 'auto (default: whichever address answers), 4 or 6: connect only over that IP family',
  },
  { flags: '--expect-ip <ip>', description: 'repeatable: the address(es) every name must resolve to', list: true },
  {
    flags: '--resolver <ip[:port]>',
    description: 'repeatable: also ask this DNS server directly, and compare',
    list: true,
  },
  { flags: '--https-port <n>', description: 'ingress HTTPS port (default 443)' },
  { flags: '--http-port <n>', description: 'ingress HTTP port (default 80)' },
  { flags: '--ca-file <pem>', description: 'extra trust anchors, e.g. a private CA (added to the system roots)' },
  { flags: '--cert-warn-days <n>', description: 'warn when a certificate expires sooner (default 14)' },
  {
    flags: '--only <ids>',
    description: 'comma list of check ids or prefixes to run (dns, tls.preview, ...)',
    list: true,
  },
  { flags: '--skip <ids>', description: 'comma list of check ids or prefixes to leave out', list: true },
  { flags: '--timeout <s>', description: 'deadline of each network step, seconds (default 10)' },
  {
    flags: '--upload-size <size>',
    description: 'the largest request body http.upload asks the ingress to take (100MiB, 25MB, 1g; default 100MiB)',
  },
  { flags: '--hold <s>', description: 'how long the idle WebSocket/SSE streams are held, seconds (default 75)' },
  { flags: '--no-hold', description: 'skip the hold checks (fast smoke test; also NAP_VERIFY_NO_HOLD=1)', env: false },
  { flags: '--turn <host[:port]>', description: 'TURN server (default <d>:3478)' },
  {
    flags: '--turn-secret-file <f>',
    description: 'file holding the TURN REST secret (or NAP_VERIFY_TURN_SECRET); never a flag value',
  },
  { flags: '--turn-user <u>', description: 'static TURN user; its password only from NAP_VERIFY_TURN_PASSWORD' },
  { flags: '--relay-range <lo-hi>', description: 'expected TURN relay ports (default 49152-49252)' },
  { flags: '--relay-samples <n>', description: 'TURN allocations to try per transport (default 3)' },
  { flags: '--format <fmt>', description: 'what goes to stdout: text or json (default text)' },
  { flags: '--json <file>', description: 'also write the JSON report here' },
  { flags: '--report <file>', description: 'also write a self-contained triage report (.md or .html)' },
  { flags: '--junit <file>', description: 'also write a JUnit XML report here' },
  { flags: '--strict', description: 'warnings fail the run' },
  {
    flags: '--vantage <name>',
    description: 'where this run looks from, in JSON/JUnit/report (default: the host name); see compare',
  },
  { flags: '--no-color', description: 'no colour (also NO_COLOR; FORCE_COLOR forces it)', env: false },
  { flags: '-q, --quiet', description: 'print only failures and the summary' },
  { flags: '-v, --verbose', description: 'print every evidence line' },
];

/** The check options for the top-level help: the default command's options are what most people need. */
function checkOptionsHelp(): string {
  const width = Math.max(...CHECK_OPTIONS.map((s) => s.flags.length));
  return CHECK_OPTIONS.map((s) => `  ${s.flags.padEnd(width)}  ${s.description}`).join('\n');
}

function addCheckOptions(cmd: Command): Command {
  for (const spec of CHECK_OPTIONS) {
    const opt = new Option(spec.flags, spec.description);
    if (spec.list) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

/** Flags win; otherwise NAP_VERIFY_<NAME> fills the option in. */
function withEnv(cmd: Command, env: NodeJS.ProcessEnv): RawOptions {
  const raw: RawOptions = { ...cmd.opts() };
  for (const spec of CHECK_OPTIONS) {
    if (spec.env === false) continue;
    const opt = cmd.options.find((o) => o.flags === spec.flags)!;
    const name = opt.attributeName();
    if (cmd.getOptionValueSource(name) === 'cli') continue;
    const value = env[envName(name)];
    if (value === undefined) continue;
    raw[name] = opt.isBoolean() ? envBoolean(envName(name), value) : value;
  }
  // --no-hold shares the `hold` value with --hold; its variable is spelt the way the flag is.
  const noHold = env.NAP_VERIFY_NO_HOLD;
  if (cmd.getOptionValueSource('hold') !== 'cli' && noHold !== undefined && envBoolean('NAP_VERIFY_NO_HOLD', noHold))
    raw.hold = false;
  return raw;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('nap-verify')
    .description('Verify that a Neutree Agent Platform install is reachable the way its users reach it.')
    .version(VERSION, '--version')
    // Inherited by every subcommand created below (commander copies both): errors go through main's one-line
    // handler, never commander's own output or process.exit.
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      () =>
        `\nThe default command is check: \`nap-verify --domain acme.com [options]\`. Its ` +
        `options:\n${checkOptionsHelp()}\n\nWhat a check or code means: \`nap-verify explain [id|CODE]\` (no ` +
        `argument: every area and code).`,
    );
  let exitCode = 0;
  addCheckOptions(program.command('check', { isDefault: true }).description('run the checks (default command)')).action(
    async (_opts, cmd: Command) => {
      const { validate } = await import('./options.js');
      const secrets = {
        turnSecret: process.env.NAP_VERIFY_TURN_SECRET,
        turnPassword: process.env.NAP_VERIFY_TURN_PASSWORD,
      };
      const o = validate(withEnv(cmd, process.env), secrets);
      // sse.main's connections open while the checks load (src/probes/preconnect.ts).
      preconnect(o);
      const { runCheckCommand } = await import('./commands/check.js');
      exitCode = await runCheckCommand(o, {
        stdout: process.stdout,
        env: process.env,
      });
    },
  );
  program
    .command('explain')
    .argument('[check-id|CODE]', 'a check id (dns.preview), an area (tls), or a code (HOLD_CUT); none: list them all')
    .description('what a check proves, why each code happens, and the fix per ingress controller')
    .action(async (term: string | undefined) => {
      const { explain, explainAll } = await import('./commands/explain.js');
      process.stdout.write(term === undefined ? await explainAll() : await explain(term));
    });
  const kit = program
    .command('kit')
    .description(
      'pre-flight kit: responder manifests, routes per controller, lint your ingress manifests, a check page for ' +
        'end-user browsers',
    );
  kit
    .command('responder')
    .description("print Kubernetes YAML that runs the probe responder behind the platform's Service names")
    .option('--namespace <ns>', 'namespace to deploy into')
    .option('-d, --domain <d>', 'the platform domain')
    .option(
      '--pre-install',
      "use the platform's own Service names (nap-cp, nap-browser, nap-sandbox): before NAP is installed",
    )
    .option('--suffix <s>', 'name everything <name>-<s>, to run beside an install')
    .option(
      '--modules <list>',
      'stand-ins only for the optional modules installed: browser, sandbox, both (browser,sandbox) or none; ' +
        'nap-cp always (default: all)',
    )
    .option('--image <img>', 'Node image to run the bundle (default node:22-alpine); pin it with @sha256:<digest>')
    .option(
      '--ingress-namespace <ns>',
      'namespace of the ingress controller, the only one the NetworkPolicy admits (default ingress-nginx)',
    )
    .option(
      '--no-network-policy',
      'leave out the NetworkPolicy (a cluster without a policy-enforcing CNI, or a route from elsewhere)',
    )
    .option('--delete', 'print what to delete (pipe to kubectl delete -f -)')
    .action(async (o: Record<string, unknown>) => {
      const { kitResponder } = await import('./commands/kit.js');
      process.stdout.write(kitResponder(o));
    });
  kit
    .command('job')
    .argument('[check-options...]', 'after --: more check options for the run (e.g. -- --no-hold --turn 203.0.113.20)')
    .description(
      'print a Job (or CronJob) that runs the checks inside the cluster against the public names ' +
        '(--vantage in-cluster)',
    )
    .option('--namespace <ns>', 'namespace to run in')
    .option('-d, --domain <d>', 'the platform domain (or NAP_HOST from --values-secret)')
    .option(
      '--values-secret <name>',
      "a Secret whose key values.env is the platform's values.env (domain, ports, TURN host and secret)",
    )
    .option(
      '--turn-secret-from <secret[:key]>',
      'a Secret key holding the TURN REST secret, given to the run as NAP_VERIFY_TURN_SECRET (key default turn-secret)',
    )
    .option(
      '--ca-configmap <name[:key]>',
      'a ConfigMap key holding a private CA (PEM) for --ca-file (key default ca.crt)',
    )
    .option(
      '--modules <list>',
      'the optional modules installed (browser, sandbox, both or none), passed to the run as --modules ' +
        '(default: BROWSER_ENABLED/SANDBOX_ENABLED from --values-secret, else all)',
    )
    .option('--cron <schedule>', 'a CronJob on this schedule instead of a Job')
    .option('--helm-test', 'add the helm.sh/hook: test annotations, so `helm test` runs it')
    .option('--name <name>', 'name of the Job/CronJob (default nap-verify)')
    .option('--image <img>', 'Node image to run the bundle (default node:22-alpine)')
    .option(
      '--bundle <file>',
      'the one-file CLI to ship (default: dist/nap-verify.mjs of this install, from npm run bundle)',
    )
    .action(async (checkArgs: string[], o: Record<string, unknown>) => {
      const { kitJob } = await import('./commands/kit.js');
      process.stdout.write(kitJob(o, checkArgs));
    });
  kit
    .command('exporter')
    .description(
      "print the exporter's Deployment and Service (and a ServiceMonitor with alert rules), or only the alert rules",
    )
    .option('--namespace <ns>', 'namespace to deploy into')
    .option('--config <file>', 'exporter.yaml to ship in a ConfigMap (its targets are probed, each with its modules)')
    .option(
      '--target <d>',
      'repeatable: a domain the ServiceMonitor probes',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--module <m>', 'quick (default) or full, for the ServiceMonitor')
    .option('--service-monitor', 'also a ServiceMonitor and a PrometheusRule (Prometheus Operator)')
    .option('--rules', 'print only the alert rules, as a Prometheus rules file')
    .option('--turn-secret-from <secret[:key]>', 'a Secret key holding the TURN REST secret (NAP_VERIFY_TURN_SECRET)')
    .option(
      '--ca-configmap <name[:key]>',
      'a ConfigMap with a private CA, mounted at /etc/nap-verify-ca (set defaults.caFile in exporter.yaml)',
    )
    .option('--name <name>', 'name of the Deployment and Service (default nap-verify-exporter)')
    .option('--image <img>', 'Node image to run the bundle (default node:22-alpine)')
    .option(
      '--bundle <file>',
      'the one-file CLI to ship (default: dist/nap-verify.mjs of this install, from npm run bundle)',
    )
    .action(async (o: Record<string, unknown>) => {
      const { kitExporter } = await import('./commands/kit.js');
      process.stdout.write(kitExporter(o));
    });
  kit
    .command('routes')
    .description(
      'print the NAP routes (all five, or those of --modules) for an ingress controller, TLS secrets, WebSockets ' +
        'and stream timeouts set',
    )
    .option('--controller <c>', 'contour, nginx (or ingress-nginx), traefik, istio or gateway-api')
    .option('-d, --domain <d>', 'the platform domain (apex or subdomain)')
    .option('--namespace <ns>', 'namespace of the routes and services (default nap)')
    .option('--suffix <s>', 'services named <name>-<s> (a responder deployed with --suffix)')
    .option(
      '--modules <list>',
      'routes only for the optional modules installed: browser, sandbox, both (browser,sandbox) or none; ' +
        "nap-cp's <d> and files.<d> always (default: all)",
    )
    .action(async (o: Record<string, unknown>) => {
      const { kitRoutes } = await import('./commands/kit.js');
      process.stdout.write(kitRoutes(o));
    });
  kit
    .command('lint')
    .argument('<files...>', 'manifest files (multi-document YAML), or - for standard input')
    .description('find the ingress mistakes that break NAP, before applying anything')
    .option('-d, --domain <d>', 'the platform domain (default: read from the hosts)')
    .option(
      '--modules <list>',
      'the optional modules installed (browser, sandbox, both or none): hosts of a module that is off need no ' +
        'route (default: all)',
    )
    .option('--format <fmt>', 'text or json (default text)')
    .option('-q, --quiet', 'print only failures and the summary')
    .option('-v, --verbose', 'also list the rules that found nothing')
    .action(async (files: string[], o: Record<string, unknown>) => {
      const { kitLint } = await import('./commands/kit.js');
      exitCode = await kitLint(files, o, { stdout: process.stdout, env: process.env });
    });
  kit
    .command('browser-check')
    .description("print one self-contained HTML page that tests the platform from an end user's browser (> check.html)")
    .option('-d, --domain <d>', 'the platform domain')
    .option('--turn <host[:port]>', 'TURN server the page tests (default <d>:3478)')
    .option(
      '--turn-secret-file <f>',
      'TURN REST secret (or NAP_VERIFY_TURN_SECRET): the page gets time-limited credentials, never the secret',
    )
    .option('--valid <duration>', "how long the page's TURN credentials work: 90m, 24h, at most 7d (default 24h)")
    .option('--responder', 'the probe responder is deployed: test echo, idle holds and SSE too')
    .option(
      '--modules <list>',
      'rows only for the optional modules installed: browser (with TURN), sandbox, both or none; nap-cp ' +
        'always (default: all)',
    )
    .option('--hold <s>', 'idle hold the page proposes, seconds (default 75; the user can shorten it)')
    .option('--https-port <n>', 'ingress HTTPS port (default 443)')
    .option('--timeout <s>', 'deadline of each step in the page, seconds (default 10)')
    .action(async (o: Record<string, unknown>) => {
      const { kitBrowserCheck } = await import('./commands/kit.js');
      process.stdout.write(await kitBrowserCheck(o, process.env));
    });
  program
    .command('report')
    .argument('<result.json>', 'a schema-1 JSON result: --json of a run, or what a browser-check page copied')
    .description('render a saved result: text on stdout, and a triage report with --report (.md or .html)')
    .option('--report <file>', 'write the triage report here (.md or .html)')
    .option('--format <fmt>', 'what goes to stdout: text or json (default text)')
    .action(async (file: string, o: Record<string, unknown>) => {
      const { runReportCommand } = await import('./commands/report.js');
      exitCode = await runReportCommand(file, o, { stdout: process.stdout, env: process.env });
    });
  program
    .command('compare')
    .argument(
      '<files...>',
      "JSON results (--json / --format json, or the browser page's copied result), one per vantage point",
    )
    .description('merge runs from several vantage points into one table and say what the differences mean')
    .option(
      '--inside <name>',
      'repeatable: a vantage point inside the cluster (in-cluster always is)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--format <fmt>', 'what goes to stdout: text or json (default text)')
    .option('--report <file>', 'also write the comparison as Markdown (.md) or a self-contained page (.html)')
    .option('--no-color', 'no colour (also NO_COLOR; FORCE_COLOR forces it)')
    .action(async (files: string[], o: Record<string, unknown>) => {
      const { runCompare } = await import('./commands/compare.js');
      exitCode = await runCompare(files, o, { stdout: process.stdout, env: process.env });
    });
  program
    .command('exporter')
    .description(
      'Prometheus exporter (blackbox style): GET /probe?target=<d>&module=quick|full runs the checks as metrics',
    )
    .option('--listen <addr:port>', 'where to listen (default 0.0.0.0:9816)')
    .option(
      '--config <file>',
      'exporter.yaml: full-module interval and hold, per-target options (TURN, CA, resolver, ingress IP, modules)',
    )
    .option('--vantage <name>', 'the vantage label of its runs (default: the host name)')
    .action(async (o: Record<string, unknown>) => {
      const { runExporterCommand } = await import('./commands/exporter.js');
      exitCode = await runExporterCommand(o, process.env);
    });
  program
    .command('serve')
    .description('run the probe responder: stand-ins for nap-cp (3000), nap-browser (3005), nap-sandbox (3006)')
    .option('-d, --domain <d>', 'the platform domain the stand-ins answer for')
    .option('--host <addr>', 'address to listen on (default 0.0.0.0)')
    .option('--cp-port <n>', 'nap-cp stand-in port (default 3000)')
    .option('--browser-port <n>', 'nap-browser stand-in port (default 3005)')
    .option('--sandbox-port <n>', 'nap-sandbox stand-in port (default 3006)')
    .option('--fingerprints-only', 'answer only what the platform itself answers (no /.well-known/nap-verify)')
    .option(
      '--web-public-url <url>',
      'WEB_PUBLIC_URL the stand-ins answer with (napUrl, login redirect; default https://<d>)',
    )
    .option(
      '--browser-public-url <url>',
      "BROWSER_PUBLIC_URL for nap-browser's login redirect (default https://browsers.<d>)",
    )
    .option(
      '--sandbox-public-url <url>',
      "SANDBOX_PUBLIC_URL for nap-sandbox's login redirect (default https://sandbox.<d>)",
    )
    .action(async (opts: RawOptions) => {
      const { runServeCommand } = await import('./commands/serve.js');
      const raw = { ...opts };
      raw.domain ??= process.env.NAP_VERIFY_DOMAIN;
      exitCode = await runServeCommand(raw);
    });
  await program.parseAsync(argv, { from: 'user' });
  return exitCode;
}

function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/, '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
}

// A closed stdout (`| head`, a pager that quit) ends the output quietly: no stack trace, the exit status unchanged.
// Node ignores SIGPIPE, so a write to a pipe nobody reads fails with EPIPE and, with no listener, the 'error' event
// would crash the run with a stack trace before it wrote its --json/--junit/--report files. Handled, the stream is
// destroyed: every later write is dropped (its callback gets an error, nothing is emitted) and the command goes on
// to its own exit status. Any other stdout error (a full disk) is said once on stderr, also when the exit below
// comes before the event; stderr's own errors have nowhere to go. Before main(): a command may write at once.
const READER_GONE = new Set(['EPIPE', 'ECONNRESET']);
let stdoutFailureTold = false;
function stdoutFailed(e: NodeJS.ErrnoException | null | undefined): void {
  if (!e || stdoutFailureTold || READER_GONE.has(e.code ?? '')) return;
  stdoutFailureTold = true;
  process.stderr.write(`nap-verify: cannot write to stdout: ${e.message}\n`);
}
process.stdout.on('error', stdoutFailed);
process.stderr.on('error', () => {});

// Exit explicitly once output is flushed: a getaddrinfo that outlived its deadline must not keep us alive.
const exit = (code: number) =>
  process.stdout.write('', () => {
    stdoutFailed(process.stdout.errored);
    process.stderr.write('', () => process.exit(code));
  });

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (e: unknown) => {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return exit(0);
      }
      process.stderr.write(`nap-verify: ${oneLine(e.message)} (see nap-verify --help)\n`);
      return exit(2);
    }
    if (e instanceof UsageError) {
      process.stderr.write(`nap-verify: ${e.message}\n`);
      return exit(2);
    }
    // A bug: still one line, and exit 2 is wrong here, so use 70 (EX_SOFTWARE) with the stack only on request.
    process.stderr.write(
      `nap-verify: internal error: ` +
        `${(e as Error)?.message ?? String(e)}${process.env.NAP_VERIFY_DEBUG ? `\n${(e as Error)?.stack}` : ''}\n`,
    );
    exit(70);
  },
);
