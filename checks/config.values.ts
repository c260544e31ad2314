// config.values: the platform's values.env agrees with itself and with the names users reach it by. A wrong value
// here installs fine and then breaks one feature quietly, so each finding says what breaks.
import net from 'node:net';
import type { CheckDef, Judgement, RunContext } from '../src/model.js';
import { moduleOn } from '../src/modules.js';
import { isSecretKey } from '../src/values.js';
import { sandboxConfigOf } from './_lib/http-role.js';
import { evidenceOf } from './_lib/evidence.js';

interface Finding {
  key: string;
  /** Undefined: the key is not set at all. */
  value?: string;
  expected: string;
  breaks: string;
}

interface ValuesEvidence {
  file?: string;
  /** Every key with secrets masked. */
  values?: Record<string, string>;
  problems?: Array<{ line: number; message: string }>;
  findings: Finding[];
  /** Findings a live check shows from the installed service itself: reported there, once. */
  reportedBy?: Array<{ key: string; check: string }>;
}

/** Which host a *_PUBLIC_URL must be on, by the key's role. */
function expectedHost(key: string, d: string): string | undefined {
  if (key === 'FILES_PUBLIC_URL') return `files.${d}`;
  if (/^BROWSERS?_PUBLIC_URL$/.test(key)) return `browsers.${d}`;
  if (key === 'SANDBOX_PUBLIC_URL') return `sandbox.${d}`;
  if (/^(WEB|NAP|TOS|APP|CP)?_?PUBLIC_URL$/.test(key)) return d;
  return undefined;
}

/** The three public URLs the OAuth wiring is built from (internal/oauth-client), by the node port of each service. */
const OAUTH_KEYS = [
  ['WEB_PUBLIC_URL', 'main'],
  ['BROWSER_PUBLIC_URL', 'browsers'],
  ['SANDBOX_PUBLIC_URL', 'sandbox'],
] as const;

type ValuesCtx = Pick<RunContext, 'mode' | 'modules'> & {
  domain: string;
  httpsPort?: number;
  nodePorts?: RunContext['nodePorts'];
};

/** Keys that only a module uses: with the module off, install.sh ignores them, and so does this check. */
const MODULE_KEYS: Record<string, 'browser' | 'sandbox'> = {
  BROWSER_PUBLIC_URL: 'browser',
  BROWSERS_PUBLIC_URL: 'browser',
  TURN_HOST: 'browser',
  TURN_PORT: 'browser',
  SANDBOX_DOMAIN: 'sandbox',
  SANDBOX_PUBLIC_URL: 'sandbox',
};

/** The origin users reach a role at: what its *_PUBLIC_URL must be, whole (scheme, host, port). */
function expectedOrigin(role: 'main' | 'browsers' | 'sandbox', ctx: ValuesCtx): string | undefined {
  const d = ctx.domain;
  if (ctx.mode === 'nodeport') {
    const port = ctx.nodePorts?.[role];
    return port ? `http://${d.includes(':') ? `[${d}]` : d}:${port}` : undefined;
  }
  const host = role === 'main' ? d : `${role}.${d}`;
  return `https://${host}${ctx.httpsPort && ctx.httpsPort !== 443 ? `:${ctx.httpsPort}` : ''}`;
}

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

export function valuesFindings(all: Record<string, string>, ctx: ValuesCtx): Finding[] {
  const v = Object.fromEntries(Object.entries(all).filter(([k]) => moduleOn(ctx.modules, MODULE_KEYS[k])));
  const d = ctx.domain;
  const out: Finding[] = [];
  const mode = (v.INGRESS_MODE ?? '').toLowerCase();
  if (mode && mode !== 'nodeport' && mode !== 'external')
    out.push({
      key: 'INGRESS_MODE',
      value: v.INGRESS_MODE!,
      expected: 'nodeport or external',
      breaks: 'install.sh renders neither mode',
    });
  if (v.NAP_HOST && v.NAP_HOST.toLowerCase() !== d)
    out.push({
      key: 'NAP_HOST',
      value: v.NAP_HOST,
      expected: d,
      breaks: 'the platform builds its links for another host than the one being verified',
    });
  if (mode === 'external' && v.NAP_HOST && net.isIP(v.NAP_HOST))
    out.push({
      key: 'NAP_HOST',
      value: v.NAP_HOST,
      expected: 'a DNS name (external mode routes by host name)',
      breaks: 'ingress routes, certificates and the files./browsers./sandbox. names need a name',
    });
  if (ctx.mode === 'external' && v.SANDBOX_DOMAIN !== undefined && v.SANDBOX_DOMAIN.toLowerCase() !== `sandbox.${d}`) {
    out.push({
      key: 'SANDBOX_DOMAIN',
      value: v.SANDBOX_DOMAIN,
      expected: `sandbox.${d}`,
      breaks: 'sandbox preview links point at names the wildcard record and certificate do not cover',
    });
  }
  for (const [key, value] of Object.entries(v)) {
    // Empty is unset (install.sh's `${KEY:-default}`): said once, below, where the fallback is explained.
    if (!key.endsWith('PUBLIC_URL') || value === '') continue;
    let host: string;
    try {
      host = new URL(value).hostname.toLowerCase();
    } catch {
      out.push({ key, value, expected: 'an absolute URL', breaks: 'links built from it are broken' });
      continue;
    }
    const want = ctx.mode === 'nodeport' ? d : expectedHost(key, d);
    if (want && host !== want) {
      out.push({
        key,
        value,
        expected: `a URL on ${want}`,
        breaks:
          key === 'FILES_PUBLIC_URL'
            ? 'exported file links land on the login page instead of the anonymous export app'
            : `links for this role go to ${host}`,
      });
      continue;
    }
    const role = OAUTH_KEYS.find(([k]) => k === key)?.[1];
    const origin = role ? expectedOrigin(role, ctx) : undefined;
    if (origin && originOf(value) !== origin) {
      out.push({
        key,
        value,
        expected: origin,
        breaks:
          `the login redirect is built from it: OAuth answers invalid_redirect_uri or sends users to ` +
          `${originOf(value)}`,
      });
    }
  }
  // install.sh fills an unset public URL with the NodePort form http://<NAP_HOST>:<node port>: wrong behind an ingress.
  if (ctx.mode === 'external') {
    for (const [key, role] of OAUTH_KEYS) {
      if (!moduleOn(ctx.modules, MODULE_KEYS[key]) || (v[key] !== undefined && v[key] !== '')) continue;
      out.push({
        key,
        expected: expectedOrigin(role, ctx)!,
        breaks:
          'install.sh falls back to http://<NAP_HOST>:<node port>: OAuth answers invalid_redirect_uri and links ' +
          'point at node ports',
      });
    }
  }
  if (v.TURN_HOST !== undefined && !net.isIP(v.TURN_HOST))
    out.push({
      key: 'TURN_HOST',
      value: v.TURN_HOST,
      expected: 'an IP address',
      breaks: "the platform hands browsers turn:<TURN_HOST> and coturn binds it: it must be the node's reachable IP",
    });
  if (v.TURN_PORT !== undefined && v.TURN_PORT !== '3478')
    out.push({
      key: 'TURN_PORT',
      value: v.TURN_PORT,
      expected: '3478',
      breaks: 'coturn listens on 3478 whatever this says, so clients are sent to a closed port',
    });
  return out;
}

const check: CheckDef<ValuesEvidence> = {
  meta: {
    id: 'config.values',
    area: 'config',
    title: 'values.env is consistent',
    proves:
      "The platform's values.env names the domain being verified: SANDBOX_DOMAIN = sandbox.<d>, each " +
      "*_PUBLIC_URL on its role's host (FILES_PUBLIC_URL on files.<d>), WEB_/BROWSER_/SANDBOX_PUBLIC_URL set to " +
      'the whole origin users reach (https://<role>.<d> behind an ingress, the node-port origin in NodePort ' +
      'mode), TURN_HOST an IP, TURN_PORT 3478, and a name (not an IP) in external mode.',
    codes: {
      CONFIG_MISMATCH: {
        status: 'fail',
        why:
          'A value in values.env contradicts the names or ports the platform is reached by: the install ' +
          'succeeds and one feature breaks quietly.',
        fix: 'Correct the key in values.env as the message says, then re-run install.sh so the platform picks it up.',
      },
    },
  },
  appliesTo: (ctx) => (ctx.values ? true : 'no --values file given'),
  // nap-sandbox's /api/config shows the SANDBOX_DOMAIN it runs with: one cause, one finding, where it is proven.
  reads: () => ['http.sandbox'],
  async gather(ctx, up) {
    const v = ctx.values!;
    const masked = Object.fromEntries(
      Object.entries(v.values).map(([k, val]) => [k, isSecretKey(k) ? (val ? '(set, redacted)' : '') : val]),
    );
    const findings = valuesFindings(v.values, {
      mode: ctx.mode,
      domain: ctx.target.domain,
      httpsPort: ctx.httpsPort,
      ...(ctx.nodePorts ? { nodePorts: ctx.nodePorts } : {}),
      ...(ctx.modules ? { modules: ctx.modules } : {}),
    });
    const live = sandboxConfigOf(evidenceOf(up, 'http.sandbox'));
    const shown = (f: Finding) =>
      f.key === 'SANDBOX_DOMAIN' &&
      up.get('http.sandbox')?.code === 'HTTP_CONFIG_MISMATCH' &&
      typeof live.sandboxDomain === 'string' &&
      live.sandboxDomain.toLowerCase() !== `sandbox.${ctx.target.domain}`;
    const reportedBy = findings.filter(shown).map((f) => ({ key: f.key, check: 'http.sandbox' }));
    return {
      file: v.file,
      values: masked,
      problems: v.problems,
      findings: findings.filter((f) => !shown(f)),
      ...(reportedBy.length ? { reportedBy } : {}),
    };
  },
  judge(ev): Judgement {
    if (ev.findings.length) {
      return {
        status: 'fail',
        code: 'CONFIG_MISMATCH',
        message: ev.findings
          .map(
            (f) =>
              `${f.value === undefined ? `${f.key} is unset,` : `${f.key}=${f.value}`} should be ${f.expected} ` +
              `(${f.breaks})`,
          )
          .join('; '),
        fix: ev.findings.map((f) => `In ${ev.file}: set ${f.key} to ${f.expected}.`).join('\n'),
      };
    }
    const notes = ev.problems?.length
      ? `; ${ev.problems.length} line(s) not understood: ` +
        `${ev.problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`
      : '';
    const shownLive = (r: { key: string; check: string }) =>
      `${r.key} is reported by ${r.check}, where the installed service shows it`;
    const elsewhere = ev.reportedBy?.length ? `; ${ev.reportedBy.map(shownLive).join('; ')}` : '';
    const agree = Object.keys(ev.values ?? {}).length - (ev.reportedBy?.length ?? 0);
    // No key left to hold against the domain (an empty file, or every key shown by a live check): nothing tested.
    if (agree <= 0)
      return {
        status: 'skip',
        message: `nothing to compare: ${ev.file ?? 'the values file'} sets no key this check reads${elsewhere}${notes}`,
      };
    return { status: 'pass', message: `${agree} keys agree with the domain${elsewhere}${notes}` };
  },
};

export default check;
