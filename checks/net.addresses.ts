// net.addresses: every A and AAAA of every name is a working way in: TCP, TLS with the same certificate as the
// name's tls.* check saw, and the same service on the health path. The other checks use the address that answers
// (dns.* races them), so a dead address is reported here, once.
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import { activeRoles } from '../src/modules.js';
import { ROLES, type CheckDef, type Judgement, type Role, type RunContext } from '../src/model.js';
import { httpGet, type HttpExchange } from '../src/probes/http.js';
import { probeTls, type TlsEvidence } from '../src/probes/tls.js';
import { originFor, responderIdentity, WELL_KNOWN } from './_lib/routing.js';
import { evidenceOf } from './_lib/evidence.js';
import { causeOf, describeBlock } from './_lib/cause.js';

/** What the platform answers without the responder, per role: the path whose answer identifies the service. */
const HEALTH_PATH: Record<Role, string> = {
  main: '/healthz',
  files: '/',
  browsers: '/health',
  sandbox: '/health',
  preview: '/',
};

export interface AddressResult {
  address: string;
  family: 4 | 6;
  /** TCP + TLS: the failure, or the leaf certificate's SHA-256 fingerprint. */
  tls: { ok: boolean; stage?: 'connect' | 'handshake'; error?: string; fingerprint?: string; alpn?: string };
  health?: { path: string; status?: number; service?: string; error?: string };
  verdict: 'same' | 'unreachable' | 'different';
  detail?: string;
}

export interface NameAddresses {
  role: Role;
  host: string;
  /** Why this name's addresses were not tried (its DNS or its chosen address already failed elsewhere). */
  notTried?: string;
  /** What the address the other checks use gave: the certificate and health answer to compare with. */
  reference?: { address: string; fingerprint: string; path: string; status?: number; service?: string };
  addresses: AddressResult[];
}

export interface NetEvidence {
  port: number;
  names: NameAddresses[];
}

const familyOf = (a: string): 4 | 6 => (net.isIPv6(a) ? 6 : 4);
const label = (a: string) => `${a} (IPv${familyOf(a)})`;

function healthOf(ex: HttpExchange | undefined, path: string): AddressResult['health'] {
  if (!ex) return { path, error: 'not asked' };
  if (ex.error) return { path, error: ex.error.message };
  const id = path === WELL_KNOWN ? responderIdentity(ex) : undefined;
  return { path, ...(ex.status !== undefined ? { status: ex.status } : {}), ...(id ? { service: id.service } : {}) };
}

function compare(
  tls: TlsEvidence,
  health: AddressResult['health'],
  ref: NonNullable<NameAddresses['reference']>,
): Pick<AddressResult, 'verdict' | 'detail'> {
  if (tls.failure || !tls.chain.length) {
    const f = tls.failure;
    return {
      verdict: 'unreachable',
      detail: !f
        ? 'no certificate presented'
        : f.stage === 'connect'
          ? f.error
          : `TCP connected, then TLS failed: ${f.error}`,
    };
  }
  const fp = tls.chain[0]!.fingerprint256;
  if (fp !== ref.fingerprint)
    return {
      verdict: 'different',
      detail:
        `another certificate ("${tls.chain[0]!.subject}", SHA-256 ${fp.slice(0, 23)}…) than ${ref.address} ` +
        `(${ref.fingerprint.slice(0, 23)}…)`,
    };
  if (!health || health.error)
    return {
      verdict: 'unreachable',
      detail: `TLS worked, then no HTTP answer on ${health?.path ?? ref.path}: ${health?.error ?? 'none'}`,
    };
  if (ref.service && health.service !== ref.service)
    return {
      verdict: 'different',
      detail:
        `${ref.path} answered by ${health.service ?? `something else (${health.status})`}, not ` +
        `${ref.service} as on ${ref.address}`,
    };
  if (health.status !== ref.status)
    return {
      verdict: 'different',
      detail: `${ref.path} answered ${health.status}, where ${ref.address} answers ${ref.status}`,
    };
  return { verdict: 'same' };
}

const check: CheckDef<NetEvidence> = {
  meta: {
    id: 'net.addresses',
    area: 'net',
    title: 'Every address of every name',
    proves:
      'Each address every name resolves to (each A and each AAAA) accepts TCP on the HTTPS port, completes TLS ' +
      "with the same certificate as the name's tls.* check saw, and answers the health path like the others.",
    codes: {
      NET_ADDRESS_UNREACHABLE: {
        status: 'fail',
        why:
          'A name has an address (often an AAAA nobody serves) that refuses or drops connections. Browsers ' +
          'fall back to another address after a delay (Happy Eyeballs, ~250 ms); many other clients (CLIs, SDKs, ' +
          'other services) try it first and stall or fail.',
        fix: {
          general:
            'Remove the record for the address nothing serves (`dig AAAA <host>` / `dig A <host>`), or make the ' +
            'ingress answer there: a dual-stack load balancer, the firewall open on that address and port.',
          'ingress-nginx':
            'For IPv6, give the controller Service `ipFamilyPolicy: PreferDualStack` (or RequireDualStack) with ' +
            '`ipFamilies: [IPv4, IPv6]`, and publish only the addresses `kubectl get svc -n ingress-nginx` shows.',
          contour:
            'For IPv6, make the Envoy Service dual-stack (`ipFamilyPolicy: PreferDualStack`) and publish only ' +
            'its addresses.',
          traefik:
            'For IPv6, make the Traefik Service dual-stack (`ipFamilyPolicy: PreferDualStack`) and publish only ' +
            'its addresses.',
          istio:
            'For IPv6, make the istio-ingressgateway Service dual-stack (`ipFamilyPolicy: PreferDualStack`) and ' +
            'publish only its addresses.',
          haproxy:
            'Bind the frontend on the IPv6 address too (`bind :::443 v4v6 ssl crt …`), or remove the AAAA record.',
        },
      },
      NET_ADDRESS_DIFFERENT: {
        status: 'warn',
        why:
          "Another certificate or another service answers on one of the name's addresses: an old ingress, " +
          'another load balancer or a stale record. Users reaching that address get something else than this run ' +
          'tested.',
        fix:
          'Point every record of the name at the same ingress (or remove the stale one); `dig A <host>` and ' +
          '`dig AAAA <host>` list them.',
      },
    },
  },
  appliesTo(ctx: RunContext) {
    if (ctx.mode === 'nodeport')
      return 'NodePort mode: plain HTTP on the node ports (dns.main still uses the address that answers)';
    if (ctx.target.ingressIp)
      return `--ingress-ip ${ctx.target.ingressIp}: every check connects there, not to the DNS answers`;
    return true;
  },
  // Per address, in parallel: TCP + TLS (one deadline), then the health path (httpGet's two).
  deadlineMs: (ctx) => ctx.timeoutMs * 4 + 2000,
  // Runs after the checks whose probes it reuses for the address they chose: no connection is made twice.
  after: (ctx) => activeRoles(ctx.modules, ROLES).flatMap((r) => [`dns.${r}`, `tls.${r}`, `http.${r}`]),
  async gather(ctx, up, tools) {
    const port = ctx.httpsPort;
    // A TLS and an HTTP probe per address of each of five names listen to this one signal.
    setMaxListeners(100, tools.signal);
    const names = await Promise.all(
      activeRoles(ctx.modules, ROLES).map(async (role): Promise<NameAddresses> => {
        const host = ctx.target.hosts[role];
        const dnsResult = up.get(`dns.${role}`);
        const dns = evidenceOf(up, `dns.${role}`);
        const list = dns?.connectAddresses ?? [];
        const base = { role, host, addresses: [] as AddressResult[] };
        if (!list.length) {
          // DNS answered without an address to connect to; otherwise what DNS found (or why it did not ask) says why.
          const answered = dnsResult?.status === 'pass' || dnsResult?.status === 'warn';
          const why = answered ? `dns.${role} gave no address to connect to` : causeOf(up, `dns.${role}`);
          return { ...base, notTried: why };
        }
        const tlsRef = evidenceOf(up, `tls.${role}`);
        if (!tlsRef?.chain?.length || !tlsRef.address) {
          const tls = up.get(`tls.${role}`);
          const at = tls?.status === 'fail' ? ` at ${tlsRef?.address ?? list[0]}` : '';
          return { ...base, notTried: `${causeOf(up, `tls.${role}`)}${at}` };
        }
        const refAddress = tlsRef.address;
        const httpResult = up.get(`http.${role}`);
        if (httpResult?.code === 'HTTP_AUTH_GATE') return { ...base, notTried: describeBlock(httpResult) };
        const http = evidenceOf(up, `http.${role}`);
        const path = http?.responder ? WELL_KNOWN : HEALTH_PATH[role];
        const origin = originFor(ctx, role);
        const get = (address: string) =>
          tools.probe(`http:${origin}${path}@${address}`, () =>
            httpGet({ url: origin + path, address, timeoutMs: ctx.timeoutMs, signal: tools.signal }),
          );
        const refHealth = healthOf(http?.exchanges?.[path] ?? (await get(refAddress)), path);
        const reference = {
          address: refAddress,
          fingerprint: tlsRef.chain[0]!.fingerprint256,
          path,
          ...(refHealth?.status !== undefined ? { status: refHealth.status } : {}),
          ...(refHealth?.service ? { service: refHealth.service } : {}),
        };
        const addresses = await Promise.all(
          list.map(async (address): Promise<AddressResult> => {
            const tls = await tools.probe(`tls:${host}@${address}:${port}`, () =>
              probeTls({ host, address, port, timeoutMs: ctx.timeoutMs, extraCa: ctx.extraCa, signal: tools.signal }),
            );
            const health = tls.failure || !tls.chain.length ? undefined : healthOf(await get(address), path);
            const tlsPart: AddressResult['tls'] = tls.failure
              ? { ok: false, stage: tls.failure.stage, error: tls.failure.error }
              : {
                  ok: true,
                  ...(tls.chain[0] ? { fingerprint: tls.chain[0].fingerprint256 } : {}),
                  ...(tls.alpn ? { alpn: tls.alpn } : {}),
                };
            return {
              address,
              family: familyOf(address),
              tls: tlsPart,
              ...(health ? { health } : {}),
              ...compare(tls, health, reference),
            };
          }),
        );
        return { ...base, reference, addresses };
      }),
    );
    return { port, names };
  },
  judge(ev): Judgement {
    const tried = ev.names.filter((n) => !n.notTried);
    if (!tried.length)
      return {
        status: 'skip',
        message: `no address tried: ${ev.names.map((n) => `${n.host}: ${n.notTried}`).join('; ')}`,
      };
    const worst = (verdict: AddressResult['verdict']) => {
      // One line per address, naming every host that has it: five names on one dead AAAA are one finding.
      const byAddress = new Map<string, { detail: string; hosts: string[] }>();
      for (const n of tried)
        for (const a of n.addresses.filter((x) => x.verdict === verdict)) {
          const e = byAddress.get(a.address) ?? { detail: a.detail ?? '', hosts: [] };
          e.hosts.push(n.host);
          byAddress.set(a.address, e);
        }
      return [...byAddress.entries()];
    };
    const hostsText = (hosts: string[]) =>
      hosts.length === tried.length && hosts.length > 1 ? `all ${hosts.length} names` : hosts.join(', ');
    const dead = worst('unreachable');
    if (dead.length) {
      const [address, e] = dead[0]!;
      const others =
        tried
          .find((n) => e.hosts.includes(n.host))
          ?.addresses.filter((a) => a.verdict === 'same')
          .map((a) => a.address) ?? [];
      const more =
        dead.length > 1
          ? ` (also ${dead
              .slice(1)
              .map(([a]) => label(a))
              .join(', ')})`
          : '';
      const fallback = others.length
        ? `; browsers fall back to ${others.join(', ')} after a delay, other clients stall or fail`
        : '';
      return {
        status: 'fail',
        code: 'NET_ADDRESS_UNREACHABLE',
        host: e.hosts[0]!,
        message: `${label(address)} of ${hostsText(e.hosts)}, port ${ev.port}: ${e.detail}${fallback}${more}`,
        fix:
          `Remove the ${familyOf(address) === 6 ? 'AAAA' : 'A'} record ${address} of ${e.hosts.join(', ')}, ` +
          `or make the ingress answer on it.`,
      };
    }
    const odd = worst('different');
    if (odd.length) {
      const [address, e] = odd[0]!;
      const more =
        odd.length > 1
          ? ` (also ${odd
              .slice(1)
              .map(([a]) => label(a))
              .join(', ')})`
          : '';
      return {
        status: 'warn',
        code: 'NET_ADDRESS_DIFFERENT',
        host: e.hosts[0]!,
        message: `${label(address)} of ${hostsText(e.hosts)}: ${e.detail}${more}`,
      };
    }
    const all = [...new Set(tried.flatMap((n) => n.addresses.map((a) => a.address)))];
    const skipped = ev.names.filter((n) => n.notTried).map((n) => `${n.host}: ${n.notTried}`);
    return {
      status: 'pass',
      message:
        `${tried.length} name${tried.length === 1 ? '' : 's'} on ${all.map(label).join(', ')}: same ` +
        `certificate and service at every address${skipped.length ? ` (not tried: ${skipped.join('; ')})` : ''}`,
    };
  },
};

export default check;
