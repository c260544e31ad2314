// http.upload: the ingress passes request bodies of the sizes the platform takes, on <d> and sandbox.<d>. Chat image
// attachments travel base64 inside the chat POST's JSON (several MB per phone photo), voice input up to 25 MB,
// plugin bundles 20 MB, skill packages 50 MB, workspace file uploads ~100 MB; ingress-nginx's default
// proxy-body-size (1m) refuses all of them with 413 before the service sees a byte.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { inert } from '../src/inert.js';
import { activeRoles } from '../src/modules.js';
import type { CheckDef, Controller, GatherTools, Judgement, RunContext, Upstream } from '../src/model.js';
import { httpGet } from '../src/probes/http.js';
import type { RawAnswer } from '../src/probes/http1.js';
import { expectProbe, streamBody, type BodyTransfer, type ExpectAnswer } from '../src/probes/upload.js';
import { causeOf, describeBlock } from './_lib/cause.js';
import { evidenceOf } from './_lib/evidence.js';
import { addressFor, detectController, dnsAfter, originFor, serverProduct, WELL_KNOWN } from './_lib/routing.js';

const MiB = 1024 * 1024;
/** Below this the platform's own uploads fail (skill packages are 50 MB): a failure, not a warning. */
export const FAIL_BELOW = 50 * MiB;
/** The declared sizes, stepped so that a limit is bracketed within one step; --upload-size caps them. */
export const UPLOAD_STEPS = [0.25, 1, 2, 4, 8, 16, 25, 32, 50, 64, 100].map((m) => m * MiB);
const ROLES = ['main', 'sandbox'] as const;
type UploadRole = (typeof ROLES)[number];

/** Without the responder: authenticated upload paths the platform answers with 401 before reading the body. */
const PLATFORM_PATH: Record<UploadRole, string> = {
  main: '/api/workspaces/nap-verify/chat',
  sandbox: '/api/sandboxes/nap-verify/files',
};

interface HostUpload {
  role: UploadRole;
  host: string;
  notAsked?: string;
  /** Where the bodies went: the responder's upload path, or the platform's own (401 before the body). */
  path?: string;
  responder?: boolean;
  declared?: ExpectAnswer[];
  /** One real body of --upload-size bytes, in a full run with the responder. */
  real?: BodyTransfer & { received?: number };
  /** Why no real body was sent. */
  realSkipped?: string;
}

interface UploadEvidence {
  uploadBytes: number;
  hosts: HostUpload[];
}

const mib = (n: number) => {
  const v = n / MiB;
  return `${v >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(v < 1 ? 2 : 1)} MiB`;
};

/** The service's own answer to a body it has not read: nap-cp's and nap-sandbox's 401, the responder's JSON. */
const serviceAnswer = (a: RawAnswer) =>
  a.status === 401 || (a.status < 300 && /application\/json/.test(a.headers['content-type'] ?? ''));

type Verdict = 'accepted' | 'refused' | 'unknown';
export function verdictOf(d: ExpectAnswer): Verdict {
  if (d.answer) {
    if (d.answer.status === 413) return 'refused';
    if (serviceAnswer(d.answer)) return 'accepted';
    return d.continued && d.answer.status < 400 ? 'accepted' : 'refused';
  }
  return d.continued ? 'accepted' : 'unknown';
}

interface Bracket {
  /** The largest size taken, and the smallest refused (the limit lies between). */
  accepted?: number;
  refused?: number;
  refusal?: RawAnswer;
  /** The real body: refused part-way (between what arrived and what was sent), or taken whole. */
  real?: { lo: number; hi: number; answer?: RawAnswer; ended: string };
}

function bracket(h: HostUpload): Bracket {
  const out: Bracket = {};
  for (const d of h.declared ?? []) {
    const v = verdictOf(d);
    if (v === 'accepted' && d.size > (out.accepted ?? 0)) out.accepted = d.size;
    if (v === 'refused' && d.size < (out.refused ?? Number.POSITIVE_INFINITY)) {
      out.refused = d.size;
      if (d.answer) out.refusal = d.answer;
    }
  }
  const r = h.real;
  if (r) {
    const whole = r.ended === 'answered' && r.answer?.status === 200 && r.received === r.size;
    if (whole) out.accepted = Math.max(out.accepted ?? 0, r.size);
    else if (r.answer && !r.received) {
      // Answered before any byte reached the service: refused on the declared length, as a declared size is.
      if (r.size < (out.refused ?? Number.POSITIVE_INFINITY)) {
        out.refused = r.size;
        out.refusal = r.answer;
      }
    } else if (r.ended !== 'deadline' && r.ended !== 'error')
      out.real = { lo: r.received ?? 0, hi: r.sent, ...(r.answer ? { answer: r.answer } : {}), ended: r.ended };
  }
  return out;
}

/** The proxy that refused, by its answer, and how to raise its limit to `size`. */
function refuser(
  a: RawAnswer | undefined,
  controller: Controller | undefined,
  size: number,
): { name: string; fix: string } {
  const m = Math.ceil(size / MiB);
  const server = a?.headers.server ?? '';
  // Named from the whole Server header read inert, never from a word inside it.
  const product = serverProduct(server)?.name;
  if (product === 'cloudflare')
    return {
      name: 'Cloudflare',
      fix:
        "Cloudflare's plan limits request bodies (100 MB on Free and Pro, 200 MB Business, 500 MB Enterprise): " +
        "don't proxy the NAP hosts through it (DNS only), or move to a plan whose limit is above the " +
        "platform's uploads.",
    };
  if (product === 'caddy')
    return {
      name: 'Caddy (request_body max_size)',
      fix: `Raise or remove request_body { max_size … } on the NAP sites: max_size ${m}MB at least.`,
    };
  const who = controller ?? detectController([a]);
  if (who === 'ingress-nginx')
    return {
      name: 'ingress-nginx (proxy-body-size, 1m by default)',
      fix:
        `Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-body-size: "${m}m" (or set proxy-body-size: ` +
        `"${m}m" in the controller's ConfigMap; "0" lifts the limit).`,
    };
  if (who === 'nginx')
    return {
      name: 'nginx (client_max_body_size, 1m by default)',
      fix: `client_max_body_size ${m}m; in the NAP server blocks.`,
    };
  if (who === 'traefik')
    return {
      name: 'Traefik (a buffering middleware)',
      fix:
        `Raise the buffering middleware's maxRequestBodyBytes to ${m * MiB} or more, or drop it from the NAP ` +
        'routes.',
    };
  if (who === 'haproxy')
    return {
      name: 'HAProxy',
      fix:
        'Remove or raise the rule that denies large bodies (an http-request deny on req.body_size or ' +
        'Content-Length).',
    };
  return {
    name: a
      ? `the proxy that answered ${a.status}${server ? ` (Server: ${inert(server)})` : ''}`
      : 'a proxy on the path',
    fix:
      `Raise the request body limit on every layer in front of NAP to ${m} MiB or more: ingress-nginx ` +
      'proxy-body-size, nginx client_max_body_size, Caddy request_body max_size, Traefik buffering ' +
      "maxRequestBodyBytes, Cloudflare's plan limit.",
  };
}

const check: CheckDef<UploadEvidence> = {
  meta: {
    id: 'http.upload',
    area: 'http',
    title: 'Request bodies of the platform’s sizes pass the ingress',
    proves:
      'The ingress passes the request bodies the platform takes (chat image attachments of several MB inside ' +
      'JSON, voice up to 25 MB, skill packages 50 MB, file uploads ~100 MB) on <d> and sandbox.<d>: POSTs that ' +
      'declare each size up to --upload-size with Expect: 100-continue, sending no body; in a full run with the ' +
      'responder also one real body of --upload-size bytes, beside the holds.',
    codes: {
      HTTP_BODY_LIMIT: {
        status: 'fail',
        alsoStatus: 'warn',
        why:
          'A proxy in front of NAP refuses request bodies above a limit (ingress-nginx proxy-body-size is 1m by ' +
          'default): the first photo in a chat, a voice message, a skill package or a file upload fails with 413 ' +
          'before the service sees a byte. Below 50 MiB it is a failure (skill packages are 50 MB); above that, ' +
          'below --upload-size, a warning (file uploads of ~100 MB fail).',
        fix: {
          general:
            'Raise the request body limit of the proxy that refused to --upload-size or more: ingress-nginx ' +
            'proxy-body-size, nginx client_max_body_size, Caddy request_body max_size, Traefik buffering ' +
            "maxRequestBodyBytes, HAProxy deny rules; Cloudflare's plan limit (100 MB Free/Pro).",
          'ingress-nginx':
            'Annotate every NAP Ingress: nginx.ingress.kubernetes.io/proxy-body-size: "100m" (or proxy-body-size ' +
            'in the controller\'s ConfigMap; "0" lifts the limit).',
          nginx: 'client_max_body_size 100m; in the NAP server blocks.',
          traefik: "Raise the buffering middleware's maxRequestBodyBytes, or drop it from the NAP routes.",
          haproxy: 'Remove or raise the rule that denies large bodies.',
        },
      },
    },
  },
  appliesTo: (ctx) =>
    ctx.mode === 'nodeport' ? 'NodePort mode: no proxy between the users and the services to limit bodies' : true,
  after: (ctx) => activeRoles(ctx.modules, ROLES).flatMap((r) => [...dnsAfter(ctx, r), `http.${r}`]),
  // The largest size to the responder's path as soon as the address is known, beside the http checks, not after
  // them: on a healthy install that one question is all, and the fast run's tail stays where it was.
  early: {
    // After tls.* too: the question then resumes its TLS session instead of a full handshake of its own.
    after: (ctx) =>
      activeRoles(ctx.modules, ROLES).flatMap((r) => [
        ...dnsAfter(ctx, r),
        ...(ctx.mode === 'nodeport' ? [] : [`tls.${r}`]),
      ]),
    start(ctx, up, tools) {
      setMaxListeners(100, tools.signal);
      for (const role of activeRoles(ctx.modules, ROLES))
        void tools.probe(largestKey(ctx, role), () =>
          largestAsk(ctx, role, `${originFor(ctx, role)}${WELL_KNOWN}/upload`, addressFor(ctx, role, up), tools.signal),
        );
    },
  },
  // The real body runs beside the holds, in the time they take anyway.
  deadlineMs: (ctx) => (ctx.noHold ? 0 : ctx.holdS * 1000) + 6 * ctx.timeoutMs + 2000,
  async gather(ctx, up, tools) {
    // A probe per declared size and host, each listening to this one signal.
    setMaxListeners(100, tools.signal);
    const size = ctx.uploadBytes ?? 100 * MiB;
    const steps = [...new Set([...UPLOAD_STEPS.filter((s) => s < size), size])];
    const hosts = await Promise.all(
      activeRoles(ctx.modules, ROLES).map((role) => uploadHost(ctx, role, up, steps, size, tools)),
    );
    return { uploadBytes: size, hosts };
  },
  judge: judgeUpload,
};

const largestKey = (ctx: RunContext, role: UploadRole) => `http.upload:${role}:${ctx.uploadBytes}:responder`;
function largestAsk(ctx: RunContext, role: UploadRole, url: string, address: string, signal: AbortSignal) {
  const size = ctx.uploadBytes ?? 100 * MiB;
  return expectProbe({ url, address, size, timeoutMs: ctx.timeoutMs, waitMs: Math.min(ctx.timeoutMs, 3000), signal });
}

async function uploadHost(
  ctx: RunContext,
  role: UploadRole,
  up: Upstream,
  steps: number[],
  size: number,
  tools: GatherTools,
): Promise<HostUpload> {
  const { signal } = tools;
  const host = ctx.target.hosts[role];
  const http = up.get(`http.${role}`);
  if (
    !http ||
    http.status === 'skip' ||
    http.code === 'HTTP_AUTH_GATE' ||
    (http.status === 'fail' && http.code !== 'HTTP_CONFIG_MISMATCH')
  )
    return {
      role,
      host,
      // Skipped: what blocked http.<role> (no address, no TLS session); else how http.<role> itself ended.
      notAsked: !http || http.status === 'skip' ? causeOf(up, `http.${role}`) : describeBlock(http),
    };
  const responder = !!evidenceOf(up, `http.${role}`)?.responder;
  const path = responder ? `${WELL_KNOWN}/upload` : PLATFORM_PATH[role];
  const url = `${originFor(ctx, role)}${path}`;
  const address = addressFor(ctx, role, up);
  const waitMs = Math.min(ctx.timeoutMs, 3000);
  const ask = (s: number) => expectProbe({ url, address, size: s, timeoutMs: ctx.timeoutMs, waitMs, signal });
  // The largest size first: a proxy that lets it on needs no other question (one connection on a healthy install,
  // so the fast run stays fast); otherwise every step at once brackets the limit.
  // With the responder the largest size was asked early (the same question, picked up here).
  const first = responder
    ? tools.probe(largestKey(ctx, role), () => largestAsk(ctx, role, url, address, signal))
    : ask(size);
  const declaredP = first.then(async (largest) =>
    verdictOf(largest) === 'accepted' ? [largest] : [...(await Promise.all(steps.slice(0, -1).map(ask))), largest],
  );
  const realSkipped = !responder
    ? 'no responder behind the host: no real body sent'
    : ctx.noHold
      ? '--no-hold: no real body sent'
      : undefined;
  const realP = realSkipped ? undefined : realBody(ctx, url, address, size, signal);
  const [declared, real] = await Promise.all([declaredP, realP]);
  return {
    role,
    host,
    path,
    responder,
    declared,
    ...(real ? { real } : {}),
    ...(realSkipped ? { realSkipped } : {}),
  };
}

/**
 * Spread over half the holds (as a person's upload is), at least 1 MB/s and at most 25 MB/s: the holds it runs
 * beside measure cut-offs to 0.1 s, and a body pushed at full speed through TLS would take the CPU they time with.
 */
export function pace(size: number, holdS: number): number {
  return Math.min(25e6, Math.max(1e6, size / Math.max(1, holdS * 0.5)));
}

async function realBody(ctx: RunContext, url: string, address: string, size: number, signal: AbortSignal) {
  const id = `nv${randomBytes(8).toString('hex')}`;
  const t = await streamBody({
    url: `${url}?id=${id}`,
    address,
    size,
    timeoutMs: ctx.timeoutMs,
    budgetMs: ctx.holdS * 1000,
    bytesPerS: pace(size, ctx.holdS),
    signal,
  });
  const said = t.answer?.status === 200 ? parseReceived(t.answer.body) : undefined;
  if (said !== undefined) return { ...t, received: said };
  // Cut on the way (or still running): ask the responder what reached it.
  const q = await httpGet({ url: `${url}?id=${id}`, address, timeoutMs: ctx.timeoutMs, signal });
  const received = q.status === 200 ? parseReceived(q.body) : undefined;
  return { ...t, ...(received !== undefined ? { received } : {}) };
}

function parseReceived(body: string | undefined): number | undefined {
  try {
    const v = JSON.parse(body ?? '') as { received?: unknown };
    return typeof v.received === 'number' ? v.received : undefined;
  } catch {
    return undefined;
  }
}

/** How a limit showed: a declared size refused, or a real body cut part-way (found only by sending it). */
function howRefused(l: { h: HostUpload; b: Bracket; hi: number; lo: number; answer?: RawAnswer }, size: number) {
  const real = l.b.real;
  if (!real || l.hi !== real.hi) {
    const accepted = l.lo ? `${mib(l.lo)} accepted, ` : '';
    return `${accepted}${mib(l.hi)} refused${l.answer ? ` with ${l.answer.status}` : ''}`;
  }
  const reached = real.lo ? `${mib(real.lo)} of it reached the responder` : 'none of it reached the responder';
  const end = real.answer ? `HTTP ${real.answer.status}` : real.ended;
  const declared = (l.h.declared ?? []).every((d) => verdictOf(d) === 'accepted')
    ? ', while every declared size up to it was let on'
    : '';
  return `a real ${mib(size)} body was cut after ${mib(real.hi)} sent, ${reached} (${end})${declared}`;
}

export function judgeUpload(ev: UploadEvidence, _ctx: RunContext): Judgement {
  const size = ev.uploadBytes;
  const asked = ev.hosts.filter((h) => h.declared);
  if (!asked.length)
    return { status: 'skip', message: `no host asked: ${ev.hosts.map((h) => `${h.host} (${h.notAsked})`).join('; ')}` };
  const limits: Array<{ h: HostUpload; b: Bracket; hi: number; lo: number; answer?: RawAnswer }> = [];
  const fine: string[] = [];
  const unknown: string[] = [];
  for (const h of asked) {
    const b = bracket(h);
    const hiDeclared = b.refused;
    const hi = Math.min(hiDeclared ?? Number.POSITIVE_INFINITY, b.real?.hi ?? Number.POSITIVE_INFINITY);
    if (Number.isFinite(hi)) {
      const fromReal = b.real && b.real.hi <= (hiDeclared ?? Number.POSITIVE_INFINITY);
      const lo = fromReal ? b.real!.lo : (b.accepted ?? 0);
      const answer = fromReal ? b.real!.answer : b.refusal;
      limits.push({ h, b, hi, lo, ...(answer ? { answer } : {}) });
    } else if (b.accepted === undefined) unknown.push(h.host);
    else fine.push(h.host);
  }
  if (limits.length) {
    const worst = limits.reduce((a, b) => (b.hi < a.hi ? b : a));
    const status = worst.hi <= FAIL_BELOW ? 'fail' : 'warn';
    const controller = detectController(limits.map((l) => l.answer));
    const proxy = refuser(worst.answer, controller, size);
    const what = limits.map((l) => `${l.h.host} takes request bodies only below ${mib(l.hi)} (${howRefused(l, size)})`);
    const breaks =
      worst.hi <= 25 * MiB
        ? 'chat photos, voice input (25 MB), skill packages (50 MB) and file uploads (~100 MB) fail'
        : worst.hi <= FAIL_BELOW
          ? 'skill packages (50 MB) and file uploads (~100 MB) fail'
          : `file uploads up to ${mib(size)} fail`;
    return {
      ...(limits.length === 1 ? { host: limits[0]!.h.host } : {}),
      status,
      code: 'HTTP_BODY_LIMIT',
      message: `${what.join('; ')}: likely ${proxy.name}; ${breaks}`,
      fix: proxy.fix,
      replacesFix: true,
      ...(controller ? { controller } : {}),
    };
  }
  if (!fine.length)
    return { status: 'skip', message: `no size got an answer without its body from ${unknown.join(', ')}` };
  const notes: string[] = [];
  // Whole real bodies in one clause for every host: the same fact is said once.
  const whole = asked.filter((h) => h.real?.ended === 'answered' && h.real.received === h.real.size);
  if (whole.length)
    notes.push(
      `a real ${mib(size)} body reached the responder whole on ${whole.map((h) => h.host).join(' and ')} ` +
        `(in at most ${(Math.max(...whole.map((h) => h.real!.ms)) / 1000).toFixed(1)} s, paced beside the holds)`,
    );
  for (const h of asked) {
    const r = h.real;
    if (r && !whole.includes(h))
      notes.push(
        `${h.host}: ${mib(r.received ?? r.sent)} of a real body proven in ${(r.ms / 1000).toFixed(1)} s ` +
          `(${r.mbps} MB/s) before the holds ended`,
      );
  }
  const notMeasured = asked.filter((h) => h.realSkipped);
  if (notMeasured.length)
    notes.push(
      `limits enforced only while reading a body (Caddy request_body) not measured: ${[
        ...new Set(notMeasured.map((h) => h.realSkipped!.replace(/: no real body sent$/, ''))),
      ].join('; ')}`,
    );
  const unasked = ev.hosts.filter((h) => h.notAsked).map((h) => `${h.host} not asked (${h.notAsked})`);
  return {
    status: 'pass',
    message:
      `${fine.join(' and ')} take${fine.length === 1 ? 's' : ''} request bodies up to ${mib(size)} (every ` +
      `declared size let on before its body)${[...notes, ...unasked].map((n) => `; ${n}`).join('')}` +
      (unknown.length ? `; ${unknown.join(', ')} gave no answer without the body` : ''),
  };
}

export default check;
