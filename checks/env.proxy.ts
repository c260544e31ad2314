// env.proxy: a proxy in the environment would send browsers and CLIs on this machine somewhere other than the
// ingress this tool connects to directly, so a pass here would not be what those clients get.
import type { CheckDef } from '../src/model.js';
import { redactUrl } from '../src/redact.js';

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

interface ProxyEvidence {
  proxies: Record<string, string>;
  noProxy: string[];
  uncovered: string[];
}

/** curl's reading of NO_PROXY: `*` is everything; an entry (leading dot ignored) covers itself and its subdomains. */
export function noProxyCovers(entries: string[], host: string): boolean {
  const h = host.toLowerCase();
  return entries.some((raw) => {
    const e = raw
      .trim()
      .toLowerCase()
      .replace(/:\d+$/, '')
      .replace(/^\*?\./, '');
    if (!e) return false;
    if (e === '*') return true;
    return h === e || h.endsWith(`.${e}`);
  });
}

const check: CheckDef<ProxyEvidence> = {
  meta: {
    id: 'env.proxy',
    area: 'env',
    title: 'No proxy in the way',
    proves:
      'No HTTP(S)_PROXY / ALL_PROXY would send clients on this machine elsewhere, or NO_PROXY covers every NAP host.',
    codes: {
      ENV_PROXY: {
        status: 'warn',
        why:
          'A proxy variable is set and NO_PROXY does not cover the NAP hosts: browsers and tools on this ' +
          'machine go through the proxy, which may cut WebSockets or block the hosts, while this tool connects ' +
          'directly.',
        fix: 'Add the domain to NO_PROXY (e.g. NO_PROXY=.<d>,<d>) or unset the proxy variables for this shell.',
      },
    },
  },
  async gather(ctx) {
    const proxies: Record<string, string> = {};
    for (const v of PROXY_VARS) {
      const val = ctx.env[v];
      if (val) proxies[v] = redactUrl(val);
    }
    const noProxy = (ctx.env.NO_PROXY ?? ctx.env.no_proxy ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const uncovered = Object.values(ctx.target.hosts).filter((h) => !noProxyCovers(noProxy, h));
    return { proxies, noProxy, uncovered };
  },
  judge(ev, ctx) {
    const names = Object.keys(ev.proxies);
    if (!names.length) return { status: 'pass', message: 'no proxy variables set' };
    if (!ev.uncovered.length)
      return { status: 'pass', message: `${names.join(', ')} set, but NO_PROXY covers every NAP host` };
    const shown = names.map((n) => `${n}=${ev.proxies[n]}`).join(', ');
    return {
      status: 'warn',
      code: 'ENV_PROXY',
      message:
        `${shown} and NO_PROXY does not cover ` +
        `${ev.uncovered.length === 5 ? 'any NAP host' : ev.uncovered.join(', ')}`,
      fix: `export NO_PROXY="$NO_PROXY,.${ctx.target.domain},${ctx.target.domain}"`,
    };
  },
};

export default check;
