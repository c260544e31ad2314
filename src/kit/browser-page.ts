// What runs inside the end user's browser (`kit browser-check`): plain ES2020 for any current browser, kept as
// text because it never runs in Node. It reads its settings from the page's JSON config block, talks only to
// the platform's own hosts and the TURN server, and builds a schema-1 result (spec §4) with `vantage: "browser"`.
// No template literals inside: the text itself is a template-free String.raw.

export const PAGE_CSS = String.raw`
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--run:#0969da;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:1100px;margin:0 auto;
padding:16px}
h1{font-size:21px;margin:0 0 6px}h2{font-size:17px;margin:22px 0 6px}
p{margin:6px 0}.muted{color:#57606a;font-size:13px}
.banner{padding:10px 12px;border-radius:6px;margin:10px 0;border:1px solid var(--line);background:var(--bg)}
.banner.pass{border-color:var(--pass);background:#dafbe1}.banner.fail{border-color:var(--fail);background:#ffebe9}
.banner.warn,.banner.expired{border-color:var(--warn);background:#fff8c5}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:10px 0}
.controls input{width:6em;font:inherit;padding:2px 4px}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer}
button.primary{background:#1f883d;color:#fff;border-color:#1f883d}button:disabled{opacity:.5;cursor:default}
table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--bg)}col.st{width:92px}col.what{width:30%}
.badge{display:inline-block;min-width:70px;text-align:center;font-weight:700;font-size:12px;color:#fff;
border-radius:3px;padding:1px 4px}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.warn{background:var(--warn)}
.badge.skip,.badge.waiting{background:var(--skip)}.badge.running{background:var(--run)}
.id{display:block;color:#57606a;font-size:12px;font-family:ui-monospace,monospace}
.code{font-family:ui-monospace,monospace;font-weight:600}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:24em;overflow-y:auto}
@media (max-width:640px){
  thead{display:none}table,tbody,tr,td{display:block;width:100%}
  tr{border-bottom:1px solid var(--line);padding:6px 0}td{border:0;padding:2px 0}
}
`;

// First in the page, before the settings and the script: a page damaged on its way to the user (cut short, or its
// settings changed by a mail program, a chat or an editor) says so and what to do, instead of "Starting…" for ever.
// PAGE_SCRIPT marks the page `data-nap-verify` once its checks start; a page not marked when the document is parsed
// (every inline script has run by then) never started. A script cut short is not run at all (HTML: end of file
// inside a script), so no error tells that case: only the missing mark.
export const PAGE_GUARD = String.raw`
(function () {
  'use strict';
  var why = '';
  addEventListener('error', function (e) {
    if (why) return;
    var x = e.error;
    why = x && x.name === 'PageDamaged'
      ? x.message
      : 'its script stopped before any test began (the browser says "' + String(x && x.message || e.message) + '")';
  });
  document.addEventListener('DOMContentLoaded', function () {
    var root = document.documentElement;
    if (root.hasAttribute('data-nap-verify')) return;
    root.setAttribute('data-nap-verify', 'damaged');
    var text = 'This page is damaged and tested nothing: ' +
      (why || 'its script did not run (it is missing or cut short)') + '. It was changed or cut short on its ' +
      'way here: ask the person who sent it for a new page, sent as a file attachment.';
    var v = document.getElementById('verdict');
    if (!v) { v = document.createElement('div'); document.body.insertBefore(v, document.body.firstChild); }
    v.className = 'banner fail';
    v.textContent = text;
    var result = document.getElementById('result'), rerun = document.getElementById('rerun');
    if (result) result.textContent = 'No result: ' + text;
    if (rerun) rerun.disabled = true;
  });
})();
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  // Settings changed on the way to the user (a mail program, a chat, an editor): PAGE_GUARD tells the user.
  var damaged = function (why) { var e = new Error(why); e.name = 'PageDamaged'; return e; };
  var C;
  try { C = JSON.parse(document.getElementById('nv-config').textContent); } catch (e) {
    throw damaged('its settings cannot be read (' + String(e && e.message || e) + ')');
  }
  var SETTINGS = { domain: 'string', httpsPort: 'number', responder: 'boolean', holdS: 'number',
    timeoutMs: 'number', turnTimeoutMs: 'number', turn: 'object', writtenAt: 'number', expiresAt: 'number',
    version: 'string' };
  Object.keys(SETTINGS).forEach(function (k) {
    if (!C || typeof C[k] !== SETTINGS[k] || C[k] === null) throw damaged('its settings have no valid "' + k + '"');
  });
  if (typeof C.turn.host !== 'string' || typeof C.turn.port !== 'number')
    throw damaged('its settings have no valid "turn"');
  // The optional modules (kit browser-check --modules; absent: all): rows only for the hosts of those that are on,
  // TURN only with the Browser module (coturn follows it). nap-cp's main and files always.
  if (C.modules !== undefined && !(C.modules && typeof C.modules.browser === 'boolean' &&
    typeof C.modules.sandbox === 'boolean')) throw damaged('its settings have no valid "modules"');
  var MODULES = C.modules || { browser: true, sandbox: true };
  var MODULE_OF = { browsers: 'browser', sandbox: 'sandbox', preview: 'sandbox' };
  var roleOn = function (r) { return !MODULE_OF[r] || MODULES[MODULE_OF[r]]; };
  var $ = function (id) { return document.getElementById(id); };
  var ROLES = ['main', 'files', 'browsers', 'sandbox', 'preview'].filter(roleOn);
  var WS_ROLES = ['main', 'browsers', 'sandbox', 'preview'].filter(roleOn);
  var SERVICE = { main: 'nap-cp', browsers: 'nap-browser', sandbox: 'nap-sandbox', preview: 'nap-sandbox' };
  var WHAT = { main: 'the web app', files: 'shared file links', browsers: 'remote browsers', sandbox: 'sandboxes',
    preview: 'sandbox previews' };
  var WORD = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP', running: 'RUNNING', waiting: 'WAITING' };
  // An idle stream shorter than this proves nothing about the 60 s most proxies allow (the CLI's HOLD_SHORT).
  var SHORT_HOLD_S = 60;

  function hex(n) {
    var b = new Uint8Array(n); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }
  var d = C.domain;
  var portPart = C.httpsPort === 443 ? '' : ':' + C.httpsPort;
  var httpsUrl = function (h) { return 'https://' + h + portPart; };
  var wssUrl = function (h) { return 'wss://' + h + portPart; };
  var secs = function (ms) { return (ms / 1000).toFixed(1) + ' s'; };
  var now = function () { return performance.now(); };
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  function browserName() {
    var ua = navigator.userAgent, m;
    var known = [[/Edg\/([\d.]+)/, 'Edge'], [/OPR\/([\d.]+)/, 'Opera'], [/Firefox\/([\d.]+)/, 'Firefox'],
      [/HeadlessChrome\/([\d.]+)/, 'Headless Chrome'], [/Chrome\/([\d.]+)/, 'Chrome'],
      [/Version\/([\d.]+).*Safari/, 'Safari']];
    for (var i = 0; i < known.length; i++) if ((m = known[i][0].exec(ua))) return known[i][1] + ' ' + m[1];
    return ua;
  }

  function holdFromPage() {
    var p = new URLSearchParams((location.hash || '').replace(/^#/, '') || location.search.replace(/^\?/, ''));
    var h = Number(p.get('hold'));
    return Number.isFinite(h) && h >= 1 ? Math.min(Math.round(h), 3600) : C.holdS;
  }

  // A condition to wait on, woken by events: resolves true when it holds, false at the deadline.
  function Waiter() { this.checks = new Set(); }
  Waiter.prototype.wake = function () { this.checks.forEach(function (f) { f(); }); };
  Waiter.prototype.until = function (pred, ms) {
    var self = this;
    return new Promise(function (resolve) {
      if (pred()) return resolve(true);
      var finish = function (v) { clearTimeout(timer); self.checks.delete(check); resolve(v); };
      var check = function () { if (pred()) finish(true); };
      var timer = setTimeout(function () { finish(false); }, ms);
      self.checks.add(check);
    });
  };

  // ---- the result table ----
  var rows = {}, order = [], results = {}, settled = {};
  function row(id, title, host) {
    order.push(id);
    var tr = document.createElement('tr');
    tr.innerHTML = '<td><span class="badge waiting">WAITING</span></td><td></td><td></td><td></td>';
    tr.children[1].textContent = title;
    var small = document.createElement('span'); small.className = 'id'; small.textContent = id;
    tr.children[1].appendChild(small);
    tr.children[2].textContent = host || '';
    $('rows').appendChild(tr);
    rows[id] = { tr: tr, title: title, host: host, started: 0 };
    settled[id] = new Promise(function (r) { rows[id].settle = r; });
  }
  function show(id, status, text, code) {
    var cells = rows[id].tr.children;
    cells[0].innerHTML = '<span class="badge ' + status + '">' + WORD[status] + '</span>';
    cells[3].textContent = '';
    if (code) {
      var c = document.createElement('span'); c.className = 'code'; c.textContent = code + ' ';
      cells[3].appendChild(c);
    }
    cells[3].appendChild(document.createTextNode(text));
  }
  function start(id, text) { rows[id].started = now(); show(id, 'running', text || 'running…'); }
  function done(id, r) {
    // A row keeps its first result: the table and the copied result never disagree.
    if (results[id]) return results[id];
    var x = rows[id];
    var res = { id: id, title: x.title, status: r.status };
    if (r.code) res.code = r.code;
    res.message = r.message;
    if (x.host) res.host = x.host;
    res.durationMs = x.started ? Math.round(now() - x.started) : 0;
    res.evidence = r.evidence || {};
    results[id] = res;
    show(id, r.status, r.message, r.code);
    x.settle(res);
    return res;
  }
  var skip = function (id, message, code) { return done(id, { status: 'skip', code: code, message: message }); };
  var errorText = function (e) {
    return e && e.name && e.message ? e.name + ': ' + e.message : String(e && e.message || e);
  };
  // One part of the test that throws (a browser API missing or replaced by an extension, a bug here) fails its
  // own rows that have no result yet with CHECK_ERROR and the browser's words; the other parts carry on, so the
  // table and the result agree and nothing stays "running".
  function broke(ids, what, e) {
    ids.forEach(function (id) {
      if (!results[id]) done(id, { status: 'fail', code: 'CHECK_ERROR', evidence: { step: what, error: errorText(e) },
        message: 'the page itself failed' + (what ? ' while ' + what : '') + ': ' + errorText(e) });
    });
  }
  function part(ids, what, f) {
    return Promise.resolve().then(f).catch(function (e) { broke(ids, what, e); });
  }

  // ---- checks ----
  var hosts, expired;

  async function reach(role) {
    var id = 'tls.' + role, host = hosts[role], url = httpsUrl(host) + '/?nap-verify=' + hex(4);
    start(id, 'fetching https://' + host + portPart + '/ …');
    var ac = new AbortController(), t0 = now();
    var timer = setTimeout(function () { ac.abort(); }, C.timeoutMs);
    try {
      var r = await fetch(url, {
        mode: 'no-cors', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal: ac.signal
      });
      var ms = Math.round(now() - t0);
      return done(id, { status: 'pass',
        message: host + ' answered over HTTPS with a certificate this browser accepts, in ' + ms + ' ms' +
          (role === 'preview' ? ' (a fresh name under the wildcard)' : ''),
        evidence: { url: url, ms: ms, responseType: r.type } });
    } catch (e) {
      var msT = Math.round(now() - t0), timedOut = ac.signal.aborted;
      var why = timedOut
        ? 'no answer within ' + secs(C.timeoutMs)
        : 'the browser says "' + String(e && e.message || e) + '"';
      return done(id, { status: 'fail', code: 'BROWSER_UNREACHABLE',
        message: 'this browser cannot reach https://' + host + portPart + '/ (' + why + '): the name does not ' +
          'resolve here, its certificate is not trusted here, or a proxy or firewall on this network blocks it',
        evidence: { url: url, ms: msT, error: String(e && e.message || e), timedOut: timedOut } });
    } finally { clearTimeout(timer); }
  }

  // One WebSocket with its events kept: opened, messages, close, the time of the last byte.
  function socket(url) {
    var s = { url: url, w: new Waiter(), opened: false, openedAt: 0, lastByteAt: 0, messages: [], closed: null };
    s.t0 = now();
    try { s.ws = new WebSocket(url); } catch (e) {
      s.closed = { code: 0, reason: String(e && e.message || e), at: now() };
      return s;
    }
    s.ws.onopen = function () { s.opened = true; s.openedAt = s.lastByteAt = now(); s.w.wake(); };
    s.ws.onmessage = function (e) { s.lastByteAt = now(); s.messages.push(String(e.data)); s.w.wake(); };
    s.ws.onclose = function (e) { s.closed = { code: e.code, reason: e.reason, at: now() }; s.w.wake(); };
    return s;
  }
  var closeText = function (c) {
    return c ? 'close code ' + c.code + (c.reason ? ' "' + c.reason + '"' : '') : 'still open';
  };

  async function envGateway() {
    var id = 'ws.main', url = wssUrl(d) + '/env-gateway';
    var prior = await settled['tls.main'];
    if (prior.status !== 'pass') return skip(id, 'https://' + d + ' is not reachable from this browser (tls.main)');
    start(id, 'opening ' + url + ' …');
    var s = socket(url);
    await s.w.until(function () { return s.closed; }, C.timeoutMs);
    var ev = { url: url, opened: s.opened, close: s.closed };
    if (s.ws && !s.closed) s.ws.close();
    if (s.opened) return done(id, { status: 'pass', evidence: ev,
      message: 'a WebSocket to ' + d + ' opened and the platform answered (' + closeText(s.closed) +
        (s.closed && s.closed.code === 1008 ? ': no token, as expected' : '') + '): WebSockets pass this network' });
    return done(id, { status: 'fail', code: 'WS_BLOCKED', evidence: ev,
      message: 'a WebSocket to ' + url + ' never opened (' +
        (s.closed ? closeText(s.closed) : 'no answer within ' + secs(C.timeoutMs)) + ') although HTTPS to ' + d +
        ' works: a proxy or firewall here, or the ingress, does not pass WebSocket upgrades' });
  }

  async function wsEcho(role, holdS) {
    var id = 'ws.' + role, holdId = 'hold.ws.' + role, host = hosts[role];
    var url = wssUrl(host) + '/.well-known/nap-verify/ws';
    var prior = await settled['tls.' + role];
    if (prior.status !== 'pass') {
      skip(id, 'https://' + host + ' is not reachable from this browser (tls.' + role + ')');
      return skip(holdId, 'no WebSocket to hold (ws.' + role + ')');
    }
    start(id, 'opening ' + url + ' …');
    var s = socket(url);
    var got = function (type, n) {
      return function () {
        return s.closed || s.messages.filter(function (m) {
          try { return JSON.parse(m).type === type; } catch (e) { return false; }
        }).length >= n;
      };
    };
    await s.w.until(got('hello', 1), C.timeoutMs);
    var hello = null;
    s.messages.forEach(function (m) {
      try { var j = JSON.parse(m); if (j.type === 'hello' && !hello) hello = j; } catch (e) { /* not ours */ }
    });
    var ev = { url: url, opened: s.opened, hello: hello, close: s.closed };
    var fail = function (code, message) {
      if (s.ws && !s.closed) s.ws.close();
      done(id, { status: 'fail', code: code, message: message, evidence: ev });
      return skip(holdId, 'no WebSocket to hold (ws.' + role + ')');
    };
    if (!s.opened) return fail('WS_BLOCKED', 'a WebSocket to ' + url + ' never opened (' +
      (s.closed ? closeText(s.closed) : 'no answer within ' + secs(C.timeoutMs)) + ') although HTTPS to ' + host +
      ' works: a proxy or firewall here, or the ingress, does not pass WebSocket upgrades');
    if (!hello) return fail('WS_NO_ECHO',
      'a WebSocket to ' + host + ' opened but the probe responder never said hello (' + closeText(s.closed) + ')');
    if (hello.service !== SERVICE[role]) return fail('HTTP_WRONG_SERVICE', 'a WebSocket to ' + host +
      ' was answered by ' + hello.service + ', not ' + SERVICE[role] +
      ': the ingress routes this host to the wrong service');
    s.ws.send('nap-verify echo 1');
    await s.w.until(got('echo', 1), C.timeoutMs);
    if (!got('echo', 1)() || s.closed) return fail('WS_NO_ECHO',
      'a WebSocket to ' + host + ' opened but the echo did not come back (' + closeText(s.closed) + ')');
    done(id, { status: 'pass', evidence: ev,
      message: 'a WebSocket to ' + host + ' opened and echoed through to ' + hello.service });
    if (holdS === 0) return skip(holdId, 'this page was written without the hold');
    // The hold: silent both ways, so only an idle timer between here and the service can end it.
    start(holdId, 'holding silent for ' + holdS + ' s …');
    var silentFrom = s.lastByteAt, t0 = s.openedAt, deadline = now() + holdS * 1000;
    var tick = setInterval(function () {
      if (!s.closed) show(holdId, 'running',
        'holding silent: ' + Math.max(0, Math.ceil((deadline - now()) / 1000)) + ' s left of ' + holdS + ' s');
    }, 1000);
    await s.w.until(function () { return s.closed; }, holdS * 1000);
    clearInterval(tick);
    var hev = { url: url, holdS: holdS };
    if (s.closed) {
      hev.cutAfterS = Math.round((s.closed.at - silentFrom) / 100) / 10;
      hev.ageS = Math.round((s.closed.at - t0) / 100) / 10;
      hev.ended = closeText(s.closed);
      return done(holdId, { status: 'fail', code: 'HOLD_CUT', evidence: hev,
        message: 'the silent WebSocket to ' + host + ' was cut ' + hev.cutAfterS + ' s after its last byte (' +
          hev.ended + '): a proxy or firewall on the way ends idle connections; ' +
          'remote browsers and sandboxes will drop' });
    }
    s.ws.send('nap-verify echo 2');
    await s.w.until(got('echo', 2), C.timeoutMs);
    var alive = got('echo', 2)() && !s.closed;
    s.ws.close();
    if (!alive) {
      hev.ended = s.closed ? closeText(s.closed) : 'no echo after the hold';
      return done(holdId, { status: 'fail', code: 'HOLD_CUT', evidence: hev,
        message: 'the WebSocket to ' + host + ' looked open after ' + holdS + ' s of silence but carried nothing (' +
          hev.ended + '): something on the way dropped it silently' });
    }
    hev.survived = true;
    if (holdS <= SHORT_HOLD_S) return done(holdId, { status: 'warn', code: 'HOLD_SHORT', evidence: hev,
      message: 'the WebSocket to ' + host + ' stayed open through ' + holdS + ' s of silence, which proves nothing ' +
        'about the 60 s most proxies allow: run with the default 75 s' });
    return done(holdId, { status: 'pass', evidence: hev,
      message: 'the WebSocket to ' + host + ' stayed open through ' + holdS + ' s of silence and still carried data' });
  }

  // One read of the responder's stream (spec §7): hello at once, the first tick SSE_GAP_MS later, the end at
  // SSE_HOLD_S. A buffer on the way shows as the two arriving together, or the tick arriving only with the end.
  function readSse(url) {
    return new Promise(function (resolve) {
      var w = new Waiter(), t0 = now(), m = { error: false };
      var es = new EventSource(url);
      es.addEventListener('hello', function () { if (m.helloAt === undefined) m.helloAt = now() - t0; w.wake(); });
      es.addEventListener('tick', function () { if (m.tickAt === undefined) m.tickAt = now() - t0; w.wake(); });
      es.onerror = function () { m.error = true; w.wake(); };
      w.until(function () {
        return m.tickAt !== undefined || (m.error && m.helloAt === undefined);
      }, C.timeoutMs).then(function () {
        es.close();
        resolve({ firstEventMs: m.helloAt === undefined ? null : Math.round(m.helloAt), error: m.error,
          helloToTickMs: m.tickAt === undefined || m.helloAt === undefined
            ? null
            : Math.round(m.tickAt - m.helloAt) });
      });
    });
  }
  var SSE_GAP_MS = 250, SSE_HOLD_S = 2;
  var heldBack = function (r) {
    return r.helloToTickMs === null || r.helloToTickMs < SSE_GAP_MS * 0.6 || r.helloToTickMs > SSE_GAP_MS + 1000;
  };

  async function sse() {
    var id = 'sse.main',
      url = httpsUrl(d) + '/.well-known/nap-verify/sse?hold=' + SSE_HOLD_S + '&gap=' + SSE_GAP_MS;
    var prior = await settled['tls.main'];
    if (prior.status !== 'pass') return skip(id, 'https://' + d + ' is not reachable from this browser (tls.main)');
    start(id, 'reading ' + url + ' …');
    var first = await readSse(url), ev = first;
    // A busy machine can delay one event: a stream that looked held back is read once more, and judged on that.
    if (first.firstEventMs !== null && heldBack(first)) { ev = await readSse(url); ev.firstAttempt = first; }
    ev.url = url; ev.gapMs = SSE_GAP_MS;
    if (ev.firstEventMs === null) return done(id, { status: 'fail', code: 'SSE_BLOCKED', evidence: ev,
      message: 'this browser could not read the event stream on ' + d + ' (' + (ev.error
        ? 'the browser refused it: an error status, not text/event-stream, or blocked'
        : 'nothing within ' + secs(C.timeoutMs)) + ')' });
    var twice = ev.firstAttempt ? ' (twice)' : '';
    if (ev.helloToTickMs === null) return done(id, { status: 'fail', code: 'SSE_BUFFERED', evidence: ev,
      message: 'the first event on ' + d + ' came after ' + ev.firstEventMs + ' ms but the next, sent ' + SSE_GAP_MS +
        ' ms later, not within ' + secs(C.timeoutMs) + twice + ': something on the way holds events back' });
    if (heldBack(ev)) return done(id, { status: 'fail', code: 'SSE_BUFFERED', evidence: ev,
      message: 'two events sent ' + SSE_GAP_MS + ' ms apart reached this browser ' + ev.helloToTickMs + ' ms apart' +
        twice + ': a proxy or antivirus on the way buffers the stream, so live updates arrive late' });
    return done(id, { status: 'pass', evidence: ev,
      message: 'events arrive as sent: the first after ' + ev.firstEventMs + ' ms, the next ' + ev.helloToTickMs +
        ' ms later (sent ' + SSE_GAP_MS + ' ms apart)' });
  }

  async function turnRelay(transport) {
    var id = 'turn.' + transport, T = C.turn;
    if (!T.username) return skip(id, 'this page was written without the TURN secret, so it cannot test relaying',
      'TURN_NO_CREDENTIALS');
    if (expired) return skip(id, 'this page expired on ' + new Date(C.expiresAt).toString() +
      ': its TURN test credentials are no longer valid; ask for a new page', 'PAGE_EXPIRED');
    if (typeof RTCPeerConnection !== 'function') return skip(id,
      'this browser has no WebRTC (RTCPeerConnection), so remote browsers cannot work in it', 'BROWSER_NO_WEBRTC');
    var hostPart = T.host.indexOf(':') >= 0 ? '[' + T.host + ']' : T.host;
    var url = 'turn:' + hostPart + ':' + T.port + '?transport=' + transport;
    start(id, 'asking ' + url + ' for a relay …');
    var w = new Waiter(), relay = null, complete = false, errors = [], pc;
    try {
      pc = new RTCPeerConnection({
        iceServers: [{ urls: url, username: T.username, credential: T.credential }], iceTransportPolicy: 'relay'
      });
    } catch (e) {
      return done(id, { status: 'fail', code: 'TURN_UNREACHABLE',
        evidence: { url: url, error: String(e && e.message || e) },
        message: 'this browser refused the TURN settings ' + url + ': ' + String(e && e.message || e) });
    }
    pc.onicecandidate = function (e) {
      if (!e.candidate) { complete = true; } else if (/ typ relay( |$)/.test(e.candidate.candidate) && !relay) {
        relay = { address: e.candidate.address, port: e.candidate.port, protocol: e.candidate.protocol,
          relayProtocol: e.candidate.relayProtocol || null, candidate: e.candidate.candidate };
      }
      w.wake();
    };
    pc.onicegatheringstatechange = function () { if (pc.iceGatheringState === 'complete') complete = true; w.wake(); };
    pc.onicecandidateerror = function (e) {
      errors.push({ errorCode: e.errorCode, errorText: e.errorText, url: e.url }); w.wake();
    };
    pc.createDataChannel('nap-verify');
    await pc.setLocalDescription(await pc.createOffer());
    await w.until(function () { return relay || complete; }, C.turnTimeoutMs);
    pc.close();
    var ev = { url: url, username: T.username, relay: relay, errors: errors, gatheringComplete: complete };
    if (relay) return done(id, { status: 'pass', evidence: ev,
      message: 'this browser got a TURN relay over ' + transport.toUpperCase() + ' from ' + T.host + ':' + T.port +
        ': relay address ' + relay.address + ':' + relay.port });
    if (errors.some(function (x) { return x.errorCode === 401; })) return done(id, { status: 'fail',
      code: 'TURN_AUTH_REJECTED', evidence: ev,
      message: 'the TURN server ' + T.host + ':' + T.port + ' answered over ' + transport.toUpperCase() +
        ' but refused this page\'s credentials: its secret is not the one the page was written with' });
    var said = errors.length
      ? ' (the browser says: ' + errors.map(function (x) { return x.errorCode + ' ' + x.errorText; }).join('; ') + ')'
      : '';
    // The platform hands browsers only ?transport=tcp (browser-service lib/turn.ts): with TCP relaying, a blocked
    // UDP path breaks nothing here, as the CLI's turn.udp says (TURN_UDP_UNUSED). TCP is tried first for that
    // reason.
    var tcp = results['turn.tcp'];
    if (transport === 'udp' && tcp && tcp.status === 'pass') return done(id, { status: 'warn',
      code: 'TURN_UDP_UNUSED', evidence: ev,
      message: 'no TURN relay over UDP from this browser to ' + T.host + ':' + T.port +
        (complete ? '' : ' within ' + secs(C.turnTimeoutMs)) + said +
        ', but TCP relays: the platform hands browsers only turn:' + hostPart + ':' + T.port +
        '?transport=tcp, so remote browsers work from here' });
    return done(id, { status: 'fail', code: complete ? 'TURN_UNREACHABLE' : 'TURN_TIMEOUT', evidence: ev,
      message: 'no TURN relay over ' + transport.toUpperCase() + ' from this browser to ' + T.host + ':' + T.port +
        (complete ? '' : ' within ' + secs(C.turnTimeoutMs)) + said +
        (transport === 'udp'
          ? ': UDP to port ' + T.port + ' is blocked on this network or on the way'
          : ': TCP to port ' + T.port + ' is blocked on this network or on the way; the platform uses TCP, ' +
            'so remote browsers will not show video here') });
  }

  // ---- the run ----
  var running = false;
  async function run() {
    if (running) return;
    running = true;
    // Started: PAGE_GUARD leaves the page alone from here.
    document.documentElement.setAttribute('data-nap-verify', 'running');
    $('rerun').disabled = true; $('copy').disabled = true;
    var holdS = C.responder ? Math.max(1, Math.min(3600, Math.round(Number($('hold').value)) || C.holdS)) : 0;
    var startedAt = new Date();
    hosts = { main: d, files: 'files.' + d, browsers: 'browsers.' + d, sandbox: 'sandbox.' + d,
      preview: 'nvf' + hex(5) + '.sandbox.' + d };
    expired = Date.now() > C.expiresAt;
    $('rows').textContent = ''; rows = {}; order = []; results = {}; settled = {};
    $('result').textContent = 'running…'; window.napVerifyResult = undefined;
    $('verdict').className = 'banner';
    $('verdict').textContent = 'Running: leave this page open until it says it is done' +
      (holdS ? ' (about ' + (holdS + 5) + ' s).' : '.');
    try {
      ROLES.forEach(function (r) { row('tls.' + r, 'Reach ' + WHAT[r] + ' over HTTPS', hosts[r]); });
      WS_ROLES.forEach(function (r) { row('ws.' + r, 'WebSocket to ' + WHAT[r], hosts[r]); });
      row('sse.main', 'Live updates (server-sent events) on the web app', d);
      WS_ROLES.forEach(function (r) { row('hold.ws.' + r, 'Idle WebSocket kept open (' + r + ')', hosts[r]); });
      if (MODULES.browser) {
        row('turn.udp', 'Video relay (TURN) over UDP', C.turn.host + ':' + C.turn.port);
        row('turn.tcp', 'Video relay (TURN) over TCP', C.turn.host + ':' + C.turn.port);
      }
      await Promise.all(checks(holdS));
    } catch (e) {
      // Outside every part (each part catches its own): whatever has no result yet.
      broke(order, '', e);
    }
    finish(startedAt, holdS);
    running = false;
    $('rerun').disabled = false; $('copy').disabled = false;
  }

  // Every part of the run, each one guarded (part): its promise never rejects.
  function checks(holdS) {
    var tasks = ROLES.map(function (r) {
      return part(['tls.' + r], 'fetching https://' + hosts[r] + portPart + '/', function () { return reach(r); });
    });
    if (C.responder) {
      WS_ROLES.forEach(function (r) {
        tasks.push(part(['ws.' + r, 'hold.ws.' + r], 'testing the WebSocket to ' + hosts[r],
          function () { return wsEcho(r, holdS); }));
      });
      tasks.push(part(['sse.main'], 'reading the event stream on ' + d, sse));
    } else {
      tasks.push(part(['ws.main'], 'opening the WebSocket to ' + d, envGateway));
      WS_ROLES.slice(1).forEach(function (r) {
        tasks.push(Promise.resolve(skip('ws.' + r,
          'needs the probe responder (the page was written without --responder)', 'WS_NO_ENDPOINT')));
      });
      tasks.push(Promise.resolve(skip('sse.main',
        'needs the probe responder (the page was written without --responder)')));
      WS_ROLES.forEach(function (r) {
        tasks.push(Promise.resolve(skip('hold.ws.' + r,
          'needs the probe responder (the page was written without --responder)')));
      });
    }
    // One relay attempt at a time; TCP first, the platform's own path, so that UDP is judged knowing whether it
    // matters.
    var relay = function (t) {
      return part(['turn.' + t], 'asking ' + C.turn.host + ':' + C.turn.port + ' for a TURN relay over ' +
        t.toUpperCase(), function () { return turnRelay(t); });
    };
    if (MODULES.browser) tasks.push(relay('tcp').then(function () { return relay('udp'); }));
    return tasks;
  }

  function finish(startedAt, holdS) {
    var checks = order.map(function (id) { return results[id]; });
    var n = function (s) { return checks.filter(function (c) { return c.status === s; }).length; };
    var summary = { pass: n('pass'), warn: n('warn'), fail: n('fail'), skip: n('skip') };
    summary.status = summary.fail ? 'fail' : summary.warn ? 'warn' : 'pass';
    var finishedAt = new Date();
    var doc = {
      tool: 'nap-verify', version: C.version, schema: 1, vantage: 'browser',
      startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt - startedAt,
      target: { domain: d, hosts: hosts, ingressIp: null, turn: { host: C.turn.host, port: C.turn.port } },
      options: { httpsPort: C.httpsPort, responder: C.responder, hold: holdS || false, timeout: C.timeoutMs / 1000,
        pageWrittenAt: new Date(C.writtenAt).toISOString(), pageExpiresAt: new Date(C.expiresAt).toISOString(),
        pageExpired: expired },
      environment: { browser: browserName(), userAgent: navigator.userAgent, platform: navigator.platform || null,
        language: navigator.language || null,
        timeZone: (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone || null,
        screen: window.innerWidth + 'x' + window.innerHeight, resolvers: [] },
      summary: summary, checks: checks
    };
    if (C.modules) {
      doc.options.modules = ['browser', 'sandbox'].filter(function (m) { return MODULES[m]; }).join(',') || 'none';
    }
    var text = JSON.stringify(doc, null, 2);
    $('result').textContent = text;
    var named = function (broken) {
      return checks.filter(function (c) { return c.status === 'fail' && (c.code === 'CHECK_ERROR') === broken; })
        .map(function (c) { return c.title.toLowerCase() + ' (' + c.host + ')'; });
    };
    var failing = named(false), broken = named(true);
    var v = $('verdict');
    v.className = 'banner ' + summary.status;
    v.textContent = (summary.status === 'fail'
      ? 'Done.' + (failing.length ? ' Not everything works from this browser: ' + failing.join('; ') + '.' : '') +
        (broken.length ? ' This page itself failed in this browser on: ' + broken.join('; ') + ' (the row says ' +
          'why; an extension that changes what pages may do, or an old browser, can cause this: try again in a ' +
          'private window or another browser).' : '')
      : 'Done. Everything this page tests works from this browser' +
        (summary.warn ? ', with ' + summary.warn + ' warning(s)' : '') + '.') +
      ' Press “Copy result” and paste it to your support contact.';
    window.napVerifyResult = doc;
    document.documentElement.setAttribute('data-nap-verify', 'done');
    document.dispatchEvent(new CustomEvent('nap-verify-done', { detail: doc }));
  }

  async function copy() {
    var text = $('result').textContent;
    try {
      await navigator.clipboard.writeText(text); $('copied').textContent = 'Copied. Paste it into your reply.'; return;
    } catch (e) { /* fall back below */ }
    var range = document.createRange(); range.selectNodeContents($('result'));
    var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
    var ok = false; try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    $('copied').textContent = ok ? 'Copied. Paste it into your reply.' : 'Selected: press Ctrl+C (or ⌘C) to copy it.';
  }

  $('browser').textContent = browserName();
  $('opened').textContent = new Date().toString();
  $('expiry').textContent = new Date(C.expiresAt).toString();
  if (Date.now() > C.expiresAt && MODULES.browser) {
    var b = $('expired'); b.hidden = false;
    b.textContent = 'This page expired on ' + new Date(C.expiresAt).toString() + '. Its TURN (video relay) test ' +
      'credentials no longer work, so that part is skipped: ask the person who sent it for a new page. ' +
      'The other tests still run.';
  }
  if (C.responder) $('hold').value = String(holdFromPage()); else $('holdbox').hidden = true;
  $('rerun').onclick = run;
  $('copy').onclick = copy;
  run();
})();
`;
