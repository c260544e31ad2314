// Address classes that matter for TURN: a relay a browser on the internet cannot reach, or a peer inside the cluster.
import net from 'node:net';

const V4_PRIVATE: Array<[string, number]> = [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['0.0.0.0', 8],
];

const v4 = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** Loopback, RFC 1918, link-local, CGNAT, unspecified; for IPv6 loopback, ULA and link-local. */
export function isPrivate(ip: string): boolean {
  if (net.isIPv4(ip))
    return V4_PRIVATE.some(
      ([base, bits]) => Math.floor(v4(ip) / 2 ** (32 - bits)) === Math.floor(v4(base) / 2 ** (32 - bits)),
    );
  const l = ip.toLowerCase();
  return (
    l === '::1' ||
    l === '::' ||
    /^f[cd]/.test(l) ||
    /^fe[89ab]/.test(l) ||
    (/^::ffff:/.test(l) && isPrivate(l.slice(7)))
  );
}
