// A JSON run against one install of a test namespace that serves each install on port 443 of its own loopback
// address (127.0.0.x): `--ingress-ip` picks the install, the public URLs keep no port. No coturn and no plain-HTTP
// listener stand beside such installs, so TURN and the HTTP redirect are left out: what is tested is the HTTPS path.
import { runCli, withChecks, type JsonCheck } from '../harness/cli.js';
import type { Ingress } from './ingress.js';

export async function runAt(ing: Ingress, address: string, extra: string[] = []) {
  const r = await runCli(
    ing.ns,
    [
      '--domain',
      ing.domain,
      '--ingress-ip',
      address,
      '--ca-file',
      ing.rootPem,
      '--format',
      'json',
      '--skip',
      'turn,http.redirect',
      ...extra,
    ],
    { timeoutMs: 150_000 },
  );
  return withChecks(r);
}

type Run = { json?: { checks: JsonCheck[] } };
const listed = (r: Run, status: string, except: string[]) =>
  (r.json?.checks ?? []).filter((c) => c.status === status && !except.includes(c.id)).map((c) => `${c.id} ${c.code}`);

/** The failures of a run, as `id CODE`, but those of the checks a test expects to fail. */
export const failuresOf = (r: Run, except: string[] = []) => listed(r, 'fail', except);
export const warningsOf = (r: Run, except: string[] = []) => listed(r, 'warn', except);
