// `kit browser-check`: one self-contained HTML page that an end user opens in their own browser, on their own
// network (spec §9). Everything it needs is inline; the only requests it makes are the checks themselves, and a
// Content-Security-Policy says so to the browser. TURN credentials are made here, time-limited; the secret
// itself never enters the page.
import type { ModuleChoice } from '../model.js';
import { restCredentials } from '../probes/stun/credentials.js';
import { PAGE_CSS, PAGE_GUARD, PAGE_SCRIPT } from './browser-page.js';

export interface BrowserCheckOptions {
  domain: string;
  httpsPort: number;
  turn: { host: string; port: number };
  /** coturn's REST secret; used only to compute the page's credentials. */
  turnSecret?: string;
  /** How long the page's TURN credentials stay valid. */
  validS: number;
  /** The probe responder is deployed: echo, holds and SSE are tested too. */
  responder: boolean;
  holdS: number;
  timeoutS: number;
  version: string;
  /** The optional modules (--modules): rows only for their hosts, TURN only with the browser module; absent: all. */
  modules?: ModuleChoice;
  now?: Date;
}

/** At most a week: a page forwarded around must not carry working relay credentials for longer. */
export const MAX_VALID_S = 7 * 24 * 3600;
export const DEFAULT_VALID_S = 24 * 3600;
/** The name coturn logs for allocations made with the page's credentials. */
const CREDENTIAL_NAME = 'nap-verify';

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** JSON inside <script>: no `</script>` or `<!--` can end or bend it. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** The page's connect-src: the five names (the wildcard for the fresh preview name), HTTPS and WSS, nothing else. */
function connectSources(domain: string, port: number): string {
  const p = port === 443 ? '' : `:${port}`;
  return [`https://${domain}${p}`, `https://*.${domain}${p}`, `wss://${domain}${p}`, `wss://*.${domain}${p}`].join(' ');
}

export function browserCheckPage(o: BrowserCheckOptions): string {
  const now = o.now ?? new Date();
  const validS = Math.min(Math.max(1, Math.floor(o.validS)), MAX_VALID_S);
  // coturn follows the Browser module: without it the page tests no relay and carries no credentials.
  const turnTested = o.modules?.browser ?? true;
  const creds =
    o.turnSecret && turnTested ? restCredentials(o.turnSecret, CREDENTIAL_NAME, validS, now.getTime()) : undefined;
  // The username carries coturn's idea of the expiry: the page states that very instant.
  const expiresAt = creds ? Number(creds.username.split(':')[0]) * 1000 : now.getTime() + validS * 1000;
  const config = {
    domain: o.domain,
    httpsPort: o.httpsPort,
    responder: o.responder,
    holdS: o.holdS,
    timeoutMs: o.timeoutS * 1000,
    // Browsers give up on an unreachable TURN server after their own retransmits (Chromium: about 10 s).
    turnTimeoutMs: Math.max(15_000, o.timeoutS * 1000),
    turn: {
      host: o.turn.host,
      port: o.turn.port,
      ...(creds ? { username: creds.username, credential: creds.password } : {}),
    },
    writtenAt: now.getTime(),
    expiresAt,
    version: o.version,
    // Read by the page script: it keeps only the rows of the modules that are on.
    ...(o.modules ? { modules: { browser: o.modules.browser, sandbox: o.modules.sandbox } } : {}),
  };
  const csp = [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    'img-src data:',
    `connect-src ${connectSources(o.domain, o.httpsPort)}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const d = esc(o.domain);
  const turnPhrase = turnTested ? ', and the video relay (TURN)' : '';
  // The script fills #expiry in any case; without TURN it stays out of sight.
  const expiry = ' · TURN test credentials valid until <span id="expiry"></span>';
  const expiryLine = turnTested ? expiry : `<span hidden>${expiry}</span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Connection check: ${d}</title>
<style>${PAGE_CSS}</style>
<script>${PAGE_GUARD}</script></head>
<body>
<h1>Connection check for ${d}</h1>
<p>This page tests, from this browser and this network, what the platform at <strong>${d}</strong> needs: each of its
web addresses, WebSockets${o.responder ? ', live updates and long idle connections' : ''}${turnPhrase}.
It sends nothing about you anywhere: when it is done, press <strong>Copy result</strong> and paste the result to
whoever sent you this page.</p>
<p class="muted">Browser: <span id="browser"></span> · opened <span id="opened"></span> · written by nap-verify
${esc(o.version)}${expiryLine}</p>
<div id="expired" class="banner expired" hidden></div>
<div id="verdict" class="banner">Starting…</div>
<div class="controls"><span id="holdbox"><label for="hold">Hold idle connections for</label>
<input id="hold" type="number" min="1" max="3600" step="1" value="${o.holdS}"> s</span>
<button id="rerun" type="button">Run again</button><button id="copy" class="primary" type="button"
disabled>Copy result</button><span id="copied" class="muted" aria-live="polite"></span></div>
<table><colgroup><col class="st"><col class="what"><col class="host"><col></colgroup>
<thead><tr><th>Result</th><th>What</th><th>Host</th><th>What happened</th></tr></thead><tbody id="rows"></tbody></table>
<h2>Result to copy</h2>
<pre id="result">running…</pre>
<noscript><p class="banner fail">This page needs JavaScript to run its tests.</p></noscript>
<script type="application/json" id="nv-config">${scriptJson(config)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** `--valid 90m`, `24h`, `7d`, `3600s` or plain seconds → seconds; undefined when malformed. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(raw);
  if (!m) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!.toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}
