// Runs the installed command (package.json `bin`: the bundle in dist/bin/) inside a test namespace, where its
// DNS/TLS traffic can only reach the servers the test started there.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Netns } from './netns.js';
import { assertResultSchema } from './schema.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Parsed stdout when args ask for `--format json` and stdout is valid JSON. */
  json?: any;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What `nap-verify` runs once installed (harness.test.ts holds it to package.json `bin`). */
export const CLI_PATH = path.join(REPO_ROOT, 'dist', 'bin', 'nap-verify.mjs');

// Proxy variables would change what the CLI reports (env.proxy) and where it connects.
const PROXY_VARS = /^(https?_proxy|all_proxy|no_proxy)$/i;
// Colour and TTY hints from the developer's terminal must not leak into output assertions.
const COLOR_VARS = /^(FORCE_COLOR|NO_COLOR|CLICOLOR|CLICOLOR_FORCE)$/;

export async function runCli(
  ns: Netns,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // NAP_VERIFY_* would silently set options (spec §2); tests pass them explicitly via opts.env.
    if (v !== undefined && !PROXY_VARS.test(k) && !COLOR_VARS.test(k) && !k.startsWith('NAP_VERIFY_')) env[k] = v;
  }
  env.NO_COLOR = '1';
  Object.assign(env, opts.env ?? {});

  const r = await ns.exec('node', [CLI_PATH, ...args], { env, timeoutMs: opts.timeoutMs ?? 30_000 });
  const result: CliResult = { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: r.ms };
  if (wantsJson(args)) {
    try {
      result.json = JSON.parse(r.stdout);
    } catch {
      /* leave undefined: the test asserts on it */
    }
    // compare prints its own document (kind: compare, spec §9), not a run result.
    if (result.json !== undefined && args[0] !== 'compare')
      assertResultSchema(result.json, `stdout of nap-verify ${args.join(' ')}`);
  }
  // A --json file is the same contract as stdout.
  const jsonFile = args[args.indexOf('--json') + 1];
  if (args.includes('--json') && jsonFile && existsSync(jsonFile))
    assertResultSchema(JSON.parse(readFileSync(jsonFile, 'utf8')), `--json ${jsonFile}`);
  return result;
}

function wantsJson(args: string[]): boolean {
  return args.some((a, i) => (a === '--format' && args[i + 1] === 'json') || a === '--format=json');
}

/** One check of a JSON run, as the tests read it. */
export interface JsonCheck {
  id: string;
  status: string;
  code?: string;
  message: string;
  host?: string;
  evidence: Record<string, any>;
  remediation?: string;
}

/** A `--format json` run with its checks by id; fails the test with what the CLI said when it printed no JSON. */
export function withChecks<T extends CliResult>(r: T): T & { byId: Record<string, JsonCheck> } {
  expect(r.json, r.stderr || r.stdout).toBeDefined();
  return { ...r, byId: Object.fromEntries((r.json.checks as JsonCheck[]).map((c) => [c.id, c])) };
}
