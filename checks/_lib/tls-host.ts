// tls.<role>: the ingress answers the host's SNI with a certificate that a browser accepts.
import { moduleOfRole } from '../../src/modules.js';
import type { CheckDef, Fix, Judgement, Role, RunContext } from '../../src/model.js';
import type { CertInfo } from '../../src/probes/certs.js';
import { probeTls, type TlsEvidence } from '../../src/probes/tls.js';
import { sanCovers, wildcardsTooHigh } from './san.js';
import { evidenceOf } from './evidence.js';

/** Certificates ingress controllers serve when no secret matches the SNI. */
export const FALLBACK_CERTS: Array<{ commonName: string; controller: string }> = [
  { commonName: 'Kubernetes Ingress Controller Fake Certificate', controller: 'ingress-nginx' },
  { commonName: 'TRAEFIK DEFAULT CERT', controller: 'Traefik' },
];

const OLD_PROTOCOLS = new Set(['SSLv3', 'TLSv1', 'TLSv1.1']);
const DAY = 86_400_000;

interface Finding {
  code: string;
  message: string;
  fix?: string;
}

/**
 * The ingress expects PROXY protocol and the load balancer in front does not send it: both sides named, the load
 * balancer first (what the ingress was set up for), then how each controller turns it off.
 */
export const PROXY_PROTOCOL_FIX = {
  general:
    'Make the two sides agree. Either the load balancer in front sends PROXY protocol (AWS NLB: the target group ' +
    "attribute proxy_protocol_v2.enabled=true; a Service of type LoadBalancer: the cloud's annotation, e.g. " +
    'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*"), or the ingress stops expecting it.',
  'ingress-nginx':
    'Set use-proxy-protocol: "false" in the controller ConfigMap, or keep it and make the load balancer send ' +
    'PROXY protocol (on AWS the controller Service annotation ' +
    'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*").',
  nginx: 'Drop proxy_protocol from the listen directives, or make the load balancer in front send PROXY protocol.',
  haproxy:
    'Drop accept-proxy from the bind lines (HAProxy Kubernetes Ingress: the proxy-protocol ConfigMap key), or ' +
    'make the load balancer in front send PROXY protocol.',
  traefik:
    'Remove proxyProtocol from the entryPoint (entryPoints.<name>.proxyProtocol), or make the load balancer in ' +
    'front send PROXY protocol.',
  contour:
    'Turn off use-proxy-protocol in the Contour configuration (ContourConfiguration ' +
    'envoy.listener.useProxyProtocol), or make the load balancer in front send PROXY protocol.',
  istio:
    "Remove gatewayTopology.proxyProtocol from the ingress gateway's proxy config, or make the load balancer in " +
    'front send PROXY protocol.',
} satisfies Fix;

export const secretFor = (role: Role) => (role === 'preview' ? 'nap-sandbox-tls-cert' : 'nap-tls-cert');

function sansNeeded(ctx: RunContext, role: Role): string {
  const d = ctx.target.domain;
  return role === 'preview' ? `*.sandbox.${d}` : `${d}, files.${d}, browsers.${d}, sandbox.${d}`;
}

export function tlsHostCheck(role: Role): CheckDef<TlsEvidence> {
  const secret = secretFor(role);
  return {
    ...moduleOfRole(role),
    meta: {
      id: `tls.${role}`,
      area: 'tls',
      title: `TLS certificate for ${role === 'main' ? '<d>' : role === 'preview' ? '*.sandbox.<d>' : `${role}.<d>`}`,
      proves:
        `A TLS handshake with SNI = the ${role} host gets a certificate chain that is complete, trusted, ` +
        `covers the host${role === 'preview' ? ' through the *.sandbox.<d> wildcard' : ''}, is valid now and not ` +
        `about to expire, over TLS 1.2 or newer.`,
      codes: {
        TLS_HANDSHAKE: {
          status: 'fail',
          why:
            'No TLS session: nothing listens on the HTTPS port, a firewall drops it, or the ingress refuses ' +
            'this SNI (Contour/Envoy reject names without a route).',
          fix: {
            general:
              'Check the ingress listens on the HTTPS port at that address and has a route with TLS for this host.',
            contour: 'Contour only answers an SNI that has an HTTPProxy with virtualhost.tls: create it for this fqdn.',
            'ingress-nginx': 'Check the controller Service exposes 443 and the Ingress lists the host under spec.tls.',
          },
        },
        TLS_PROXY_PROTOCOL: {
          status: 'fail',
          why:
            'The ingress expects PROXY protocol (ingress-nginx use-proxy-protocol: "true", nginx listen … ' +
            'proxy_protocol, HAProxy accept-proxy) and the load balancer in front does not send it: the ingress ' +
            'closes every connection as soon as the TLS ClientHello arrives, and the handshake completes only when ' +
            'a PROXY protocol header comes first.',
          fix: PROXY_PROTOCOL_FIX,
        },
        TLS_UNTRUSTED: {
          status: 'fail',
          why: 'The chain ends at a root this machine does not trust (a private or unknown CA).',
          fix:
            'Use a certificate from a public CA, or, for a private CA, pass it with --ca-file and install it ' +
            "in every user's browser and OS trust store.",
        },
        TLS_SELF_SIGNED: {
          status: 'fail',
          why: 'The server presents a self-signed certificate: no browser will trust it.',
          fix:
            `Replace the certificate in the ${secret} secret with one issued by a trusted CA (cert-manager ` +
            `with an ACME issuer does this).`,
        },
        TLS_INCOMPLETE_CHAIN: {
          status: 'fail',
          why:
            'The server sends its certificate without the intermediate(s) that link it to a root; browsers ' +
            'may patch this, Node/curl/mobile clients fail.',
          fix:
            `Put the full chain in the secret's tls.crt: the leaf first, then every intermediate (Let's ` +
            `Encrypt: fullchain.pem; cert-manager does this itself): kubectl create secret tls ${secret} ` +
            `--cert=fullchain.pem --key=privkey.pem.`,
        },
        TLS_NAME_MISMATCH: {
          status: 'fail',
          why:
            'No SAN of the certificate covers the host name. A wildcard covers exactly one label: *.<d> does ' +
            'not cover x.sandbox.<d>.',
          fix:
            role === 'preview'
              ? 'nap-sandbox-tls-cert must be a wildcard certificate for *.sandbox.<d> (ACME needs a DNS-01 ' +
                'challenge for wildcards).'
              : 'nap-tls-cert must list <d>, files.<d>, browsers.<d> and sandbox.<d> as SANs (cert-manager: ' +
                'spec.dnsNames).',
        },
        TLS_DEFAULT_CERT: {
          status: 'fail',
          why:
            'The ingress served its built-in fallback certificate: it has no usable TLS secret for this host ' +
            "(secret missing, in another namespace, invalid, or the host is not listed in the route's TLS section).",
          fix: {
            general: `Create the ${secret} secret in the route's namespace and reference it for this host.`,
            'ingress-nginx':
              `List the host under the Ingress spec.tls[].hosts with secretName ${secret}; the ` +
              `controller log shows "Error getting SSL certificate" when the secret is missing or invalid.`,
            traefik: `Reference ${secret} in the IngressRoute tls.secretName (same namespace).`,
            contour: `Set virtualhost.tls.secretName: ${secret} on the HTTPProxy.`,
            istio:
              `The Gateway's credentialName ${secret} must exist in the namespace of the ingress gateway ` +
              `(usually istio-system).`,
            haproxy: `Reference ${secret} in the Ingress spec.tls.`,
          },
        },
        TLS_EXPIRED: {
          status: 'fail',
          why: 'A certificate in the chain is past its notAfter date.',
          fix:
            `Renew the certificate and update ${secret}; if cert-manager manages it, \`kubectl describe ` +
            `certificate\` shows why renewal failed.`,
        },
        TLS_NOT_YET_VALID: {
          status: 'fail',
          why:
            "The certificate's notBefore is in the future: freshly issued with a skewed clock, or this " +
            "machine's clock is behind.",
          fix: "Check this machine's clock (env.clock) and the issuing system's clock; wait or reissue.",
        },
        TLS_EXPIRES_SOON: {
          status: 'warn',
          why: 'The certificate expires within --cert-warn-days.',
          fix: `Renew ${secret} now; check that automatic renewal (cert-manager) is working.`,
        },
        TLS_OLD_PROTOCOL: {
          status: 'fail',
          why: 'The server only speaks TLS 1.0/1.1, which current browsers and Node refuse.',
          fix: {
            general: 'Enable TLS 1.2 and 1.3 on the ingress.',
            'ingress-nginx': 'ConfigMap ssl-protocols: "TLSv1.2 TLSv1.3".',
            contour: 'Contour config tls.minimum-protocol-version: "1.2".',
            traefik: 'TLSOption minVersion: VersionTLS12.',
            istio: 'Gateway tls.minProtocolVersion: TLSV1_2.',
            haproxy: 'ssl-default-bind-options ssl-min-ver TLSv1.2.',
          },
        },
      },
    },
    appliesTo: (ctx) => (ctx.mode === 'nodeport' ? 'NodePort mode is plain HTTP: no certificates to check' : true),
    needs: (ctx) => (ctx.target.ingressIp ? [] : [`dns.${role}`]),
    after: (ctx) => (ctx.target.ingressIp ? [] : [`dns.${role}`]),
    async gather(ctx, up, tools) {
      const dns = evidenceOf(up, `dns.${role}`);
      const addresses = ctx.target.ingressIp ? [ctx.target.ingressIp] : (dns?.connectAddresses ?? []);
      // The address that answered a TCP race (dns.*), else IPv4 first like most clients on dual-stack ingresses.
      const address =
        (ctx.target.ingressIp ? undefined : dns?.connectAddress) ??
        addresses.find((a) => !a.includes(':')) ??
        addresses[0];
      if (!address) throw new Error(`no address for ${ctx.target.hosts[role]}`);
      const host = ctx.target.hosts[role];
      return tools.probe(`tls:${host}@${address}:${ctx.httpsPort}`, () =>
        probeTls({
          host,
          address,
          port: ctx.httpsPort,
          timeoutMs: ctx.timeoutMs,
          extraCa: ctx.extraCa,
          signal: tools.signal,
        }),
      );
    },
    judge(ev, ctx): Judgement {
      const host = ev.host;
      const where = `${ev.address}:${ev.port}`;
      const proxied = ev.proxyProtocol;
      if (ev.failure && proxied && !proxied.failure && proxied.chain.length)
        return proxyProtocolJudgement(ev, { ...ev, ...proxied, failure: undefined }, ctx, role);
      if (ev.failure || !ev.chain.length) {
        const f = ev.failure;
        const why = !f
          ? 'the server presented no certificate'
          : f.stage === 'connect'
            ? f.error
            : `TCP connected, then the TLS handshake failed: ${f.error}`;
        // The PROXY protocol question was asked and did not help: say so, it rules that cause out.
        const alsoProxied = proxied?.failure ? `; after a PROXY protocol header too: ${proxied.failure.error}` : '';
        return {
          status: 'fail',
          code: 'TLS_HANDSHAKE',
          host,
          message: `no TLS session with ${where} for ${host}: ${why}${alsoProxied}`,
        };
      }
      const findings = tlsFindings(ev, ctx, role);
      if (!findings.length) {
        const leaf = ev.chain[0]!;
        const days = Math.floor((Date.parse(leaf.notAfter) - ctx.now().getTime()) / DAY);
        return {
          status: 'pass',
          host,
          message:
            `${ev.protocol ?? 'TLS'}, issued by ${shortName(leaf.issuer)}, valid ${days} more ` +
            `days${ev.analysis?.anchor ? `, chain to ${shortName(ev.analysis.anchor)}` : ''}`,
        };
      }
      const [top, ...rest] = findings;
      const more = rest.length ? ` (also: ${rest.map((f) => f.code).join(', ')})` : '';
      const status = top!.code === 'TLS_EXPIRES_SOON' ? 'warn' : 'fail';
      return {
        status,
        code: top!.code,
        host,
        message: `${top!.message}${more}`,
        ...(top!.fix ? { fix: top!.fix } : {}),
      };
    },
  };
}

/**
 * The handshake completes only behind a PROXY protocol header: that is the finding. What the certificate behind it
 * would give is named in the message (fix the PROXY protocol and it is next), not as a second code.
 */
function proxyProtocolJudgement(ev: TlsEvidence, behind: TlsEvidence, ctx: RunContext, role: Role): Judgement {
  const where = `${ev.address}:${ev.port}`;
  const how = /closed/.test(ev.failure?.error ?? '') ? 'closes' : 'resets';
  const findings = tlsFindings(behind, ctx, role);
  const leaf = behind.chain[0]!;
  const days = Math.floor((Date.parse(leaf.notAfter) - ctx.now().getTime()) / DAY);
  const [top, ...rest] = findings;
  const after = top
    ? `behind the header: ${top.message}${rest.length ? ` (also: ${rest.map((f) => f.code).join(', ')})` : ''}`
    : `behind the header: ${behind.protocol ?? 'TLS'}, certificate from ${shortName(leaf.issuer)} valid ${days} ` +
      `more days`;
  return {
    status: 'fail',
    code: 'TLS_PROXY_PROTOCOL',
    host: ev.host,
    message:
      `${where} ${how} the connection for ${ev.host} as soon as the TLS ClientHello arrives, and the handshake ` +
      `completes only after a PROXY protocol v1 header: the ingress expects PROXY protocol and the load balancer in ` +
      `front does not send it (${after})`,
  };
}

const shortName = (dn: string) => /CN=([^,]*)/.exec(dn)?.[1] ?? dn;

/** Every problem with the certificate, most fundamental first: the first one is the result's code. */
export function tlsFindings(ev: TlsEvidence, ctx: RunContext, role: Role): Finding[] {
  const host = ev.host;
  const leaf = ev.chain[0]!;
  const out: Finding[] = [];
  const secret = secretFor(role);
  const fallback = FALLBACK_CERTS.find((f) => leaf.commonName === f.commonName);
  if (fallback) {
    out.push({
      code: 'TLS_DEFAULT_CERT',
      message:
        `${host}: the ingress served ${fallback.controller}'s fallback certificate ` +
        `"${fallback.commonName}": no TLS secret matched this host`,
    });
    return out;
  }
  if (!leaf.sans.some((s) => sanCovers(s, host))) {
    const high = wildcardsTooHigh(leaf.sans, host);
    const hint = high.length ? `; ${high.join(', ')} covers one label only, not ${host}` : '';
    const cnOnly =
      leaf.commonName && sanCovers(leaf.commonName, host) && !leaf.sans.length
        ? '; only the subject CN names it, and browsers ignore the CN'
        : '';
    out.push({
      code: 'TLS_NAME_MISMATCH',
      message:
        `certificate for ${host} does not cover it: SANs ` +
        `${leaf.sans.length ? leaf.sans.join(', ') : 'none'}${hint}${cnOnly}`,
      fix: `Reissue ${secret} with SAN${role === 'preview' ? '' : 's'} ${sansNeeded(ctx, role)}.`,
    });
  }
  const now = ctx.now().getTime();
  const expired = ev.chain.find((c) => Date.parse(c.notAfter) < now);
  if (expired)
    out.push({
      code: 'TLS_EXPIRED',
      message:
        `${expired === leaf ? 'certificate' : `chain certificate "${shortName(expired.subject)}"`} for ` +
        `${host} expired ${iso(expired.notAfter)} (${Math.floor((now - Date.parse(expired.notAfter)) / DAY)} days ago)`,
    });
  const early = ev.chain.find((c) => Date.parse(c.notBefore) > now);
  if (early)
    out.push({
      code: 'TLS_NOT_YET_VALID',
      message:
        `certificate for ${host} is not valid before ${iso(early.notBefore)} (this machine's clock says ` +
        `${new Date(now).toISOString()})`,
    });
  out.push(...trustFindings(ev, host, secret));
  if (ev.protocol && OLD_PROTOCOLS.has(ev.protocol))
    out.push({
      code: 'TLS_OLD_PROTOCOL',
      message: `${host} only negotiates ${ev.protocol}; TLS 1.2 or newer is required`,
    });
  const daysLeft = (Date.parse(leaf.notAfter) - now) / DAY;
  if (!expired && daysLeft < ctx.certWarnDays)
    out.push({
      code: 'TLS_EXPIRES_SOON',
      message:
        `certificate for ${host} expires ${iso(leaf.notAfter)}, ` +
        `in ${plural(Math.max(0, Math.floor(daysLeft)), 'day')} (warn below ${ctx.certWarnDays})`,
    });
  return out;
}

function trustFindings(ev: TlsEvidence, host: string, secret: string): Finding[] {
  const a = ev.analysis;
  const leaf: CertInfo = ev.chain[0]!;
  if (!a || a.trust === 'trusted') return [];
  switch (a.trust) {
    case 'self-signed':
      return [
        { code: 'TLS_SELF_SIGNED', message: `${host} presents a self-signed certificate (${shortName(leaf.subject)})` },
      ];
    case 'untrusted-root':
      return [
        {
          code: 'TLS_UNTRUSTED',
          message:
            `chain for ${host} ends at ` +
            `"${shortName(a.missingIssuer ?? a.path[a.path.length - 1] ?? leaf.issuer)}", which this machine ` +
            `does not trust`,
        },
      ];
    case 'incomplete': {
      const missing = shortName(a.unsentIntermediate ?? a.missingIssuer ?? leaf.issuer);
      return [
        {
          code: 'TLS_INCOMPLETE_CHAIN',
          message:
            `${host} sent ${ev.chain.length} certificate${ev.chain.length === 1 ? '' : 's'} but not the ` +
            `intermediate "${missing}" that issued ${ev.chain.length === 1 ? 'it' : 'the last one'}`,
          fix:
            `Append the "${missing}" certificate after the leaf in ${secret}'s ` +
            `tls.crt${
              a.unsentIntermediate
                ? ''
                : ` (if "${missing}" is your own private root CA instead, pass it with --ca-file)`
            }.`,
        },
      ];
    }
    case 'bad-signature':
      return [
        {
          code: 'TLS_UNTRUSTED',
          message:
            `chain for ${host} is broken: "${shortName(a.missingIssuer ?? '')}" was sent but did not sign ` +
            `the certificate below it`,
        },
      ];
  }
}

const iso = (s: string) => s.slice(0, 10);

/** "1 day", "3 days". */
const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
