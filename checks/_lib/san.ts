// Host-name coverage by certificate SANs, RFC 6125 style as browsers apply it: a `*` is the whole left-most
// label and stands for exactly one label; the subject CN is not consulted.

const norm = (s: string) => s.toLowerCase().replace(/\.$/, '');

export function sanCovers(san: string, host: string): boolean {
  const s = norm(san);
  const h = norm(host);
  if (!s.startsWith('*.')) return s === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === s.slice(2);
}

/** Wildcard SANs that end the host's name but sit too high to cover it (`*.acme.com` for `x.sandbox.acme.com`). */
export function wildcardsTooHigh(sans: string[], host: string): string[] {
  const h = norm(host);
  return sans.filter((s) => {
    const n = norm(s);
    return n.startsWith('*.') && !sanCovers(n, h) && h.endsWith(`.${n.slice(2)}`);
  });
}
