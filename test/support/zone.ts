import { wildcardCnameLines } from '../harness/dnsmasq.js';

// dnsmasq lines for one NAP domain: each of the five names on an address, missing (null), or the wildcard as
// a CNAME to sandbox.<d>. Everything else under .test stays NXDOMAIN through `local=/test/`.

export interface ZoneSpec {
  main?: string | null;
  files?: string | null;
  browsers?: string | null;
  sandbox?: string | null;
  /** The *.sandbox.<d> wildcard: an address, 'cname' (to sandbox.<d>), or null for none. */
  wildcard?: string | 'cname' | null;
}

/** `ip6`: also an AAAA, on every name that gets the default address (the wildcard included). */
export function zone(domain: string, spec: ZoneSpec = {}, ip = '127.0.0.1', ip6?: string): string[] {
  const at = (v: string | null | undefined) => (v === undefined ? ip : v);
  const lines: string[] = [];
  const rec = (name: string, v: string | null | undefined) => {
    const a = at(v);
    if (a) lines.push(`host-record=${name},${a}${ip6 && v === undefined ? `,${ip6}` : ''}`);
  };
  rec(domain, spec.main);
  rec(`files.${domain}`, spec.files);
  rec(`browsers.${domain}`, spec.browsers);
  rec(`sandbox.${domain}`, spec.sandbox);
  const w = at(spec.wildcard);
  // dnsmasq serves a wildcard CNAME only from an auth zone (where address=/…/ data is not served).
  if (w === 'cname') lines.push(...wildcardCnameLines(domain, `sandbox.${domain}`, `sandbox.${domain}`));
  // address=/x/ answers x and every name below it; the exact host-record above still wins for x itself.
  else if (w)
    lines.push(
      `address=/sandbox.${domain}/${w}`,
      ...(ip6 && spec.wildcard === undefined ? [`address=/sandbox.${domain}/${ip6}`] : []),
    );
  return lines;
}
