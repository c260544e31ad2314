// Drives real headless Chromium over the DevTools protocol, from inside a test network namespace (the debugging
// port is on the namespace's loopback, so the driver must live there too): opens a page, optionally shifts the
// page's clock, waits for `window.napVerifyResult` (or for the page to call itself damaged), records every request
// the page made, and takes screenshots at the asked widths with the page's horizontal overflow measured. An
// extension (an unpacked directory, cfg.extension) can be loaded into the browser, as a user would have it.
// Usage: node chromium.mjs <config.json>; prints one JSON object on stdout.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const deadline = Date.now() + (cfg.timeoutMs ?? 60_000);
const left = () => Math.max(1, deadline - Date.now());
const browser = cfg.browser ?? '/usr/bin/chromium';
const profile = mkdtempSync(path.join(tmpdir(), 'nvt-chromium-'));

const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--hide-scrollbars',
  '--mute-audio',
  `--user-data-dir=${profile}`,
  '--remote-debugging-port=0',
  '--window-size=1280,900',
  // The user's extension, in this browser's own profile only. (Branded Chrome 137+ ignores --load-extension
  // unless this feature is off; Debian's Chromium honours it either way.)
  ...(cfg.extension
    ? [`--load-extension=${cfg.extension}`, '--disable-features=DisableLoadExtensionCommandLineSwitch']
    : []),
  ...(cfg.args ?? []),
  'about:blank',
];
// Its own process group: the browser's helper processes end with it (a kill of the group this driver started).
const proc = spawn(browser, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
const exited = new Promise((r) => proc.once('exit', r));
let stderr = '';
let finishing = false;
const finish = async (code, out) => {
  if (finishing) return;
  finishing = true;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  // The profile is removed only once the browser is gone, or it may still be writing there.
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    /* a temp dir left behind */
  }
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(code));
};
setTimeout(() => void finish(1, { error: 'driver deadline', stderr: stderr.slice(-4000) }), left()).unref();

const endpoint = await new Promise((resolve, reject) => {
  proc.stderr.on('data', (b) => {
    stderr += b;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
    if (m) resolve(m[1]);
  });
  proc.on('exit', (code) => reject(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`)));
}).catch((e) => finish(1, { error: e.message }).then(() => new Promise(() => {})));

const ws = new WebSocket(endpoint, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
await new Promise((r, j) => {
  ws.once('open', r);
  ws.once('error', j);
});
let nextId = 1;
const pending = new Map();
const events = [];
ws.on('message', (data) => {
  const msg = JSON.parse(String(data));
  if (msg.id && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    msg.error ? reject(new Error(`${msg.error.message} ${msg.error.data ?? ''}`)) : resolve(msg.result);
  } else if (msg.method) events.push(msg);
});
const send = (method, params = {}, sessionId) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    setTimeout(
      () => {
        if (pending.delete(id)) reject(new Error(`${method}: no answer`));
      },
      Math.min(left(), 30_000),
    ).unref();
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  const { targetInfos } = await send('Target.getTargets');
  const page = targetInfos.find((t) => t.type === 'page');
  const { sessionId } = await send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  await s('Page.enable');
  await s('Runtime.enable');
  await s('Network.enable');
  if (cfg.clockOffsetMs) {
    // The user's clock, moved: Date and Date.now see the shifted time, as on a machine whose date is later.
    await s('Page.addScriptToEvaluateOnNewDocument', {
      source: `(() => { const off = ${Number(cfg.clockOffsetMs)}; const R = Date;
      function D(...a) {
        if (!new.target) return new R(R.now() + off).toString();
        return a.length ? new R(...a) : new R(R.now() + off);
      }
      D.prototype = R.prototype; D.now = () => R.now() + off; D.parse = R.parse; D.UTC = R.UTC; window.Date = D; })();`,
    });
  }
  await s('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
  await s('Page.navigate', { url: cfg.url });
  let result = null;
  let state = null;
  while (!result && state !== 'damaged' && Date.now() < deadline) {
    await sleep(250);
    const r = await s('Runtime.evaluate', {
      expression:
        'JSON.stringify({ result: window.napVerifyResult || null, ' +
        'state: document.documentElement.getAttribute("data-nap-verify") })',
      returnByValue: true,
    });
    ({ result, state } = JSON.parse(r.result.value));
  }
  const page2 = await s('Runtime.evaluate', {
    expression:
      'JSON.stringify({ text: document.body.innerText, copyEnabled: !document.getElementById("copy").disabled, ' +
      'rerunEnabled: !document.getElementById("rerun").disabled, ' +
      'verdict: document.getElementById("verdict").textContent, ' +
      'verdictClass: document.getElementById("verdict").className, ' +
      'badges: [...document.querySelectorAll("#rows .badge")].map((b) => b.textContent), ' +
      'expiredShown: !document.getElementById("expired").hidden, pre: document.getElementById("result").textContent })',
    returnByValue: true,
  });
  const screenshots = [];
  for (const width of cfg.screenshotWidths ?? []) {
    await s('Emulation.setDeviceMetricsOverride', { width, height: 900, deviceScaleFactor: 1, mobile: width < 600 });
    await sleep(300);
    const m = await s('Runtime.evaluate', {
      expression:
        'JSON.stringify({ scrollWidth: document.documentElement.scrollWidth, clientWidth: ' +
        'document.documentElement.clientWidth, height: document.documentElement.scrollHeight })',
      returnByValue: true,
    });
    const metrics = JSON.parse(m.result.value);
    await s('Emulation.setDeviceMetricsOverride', {
      width,
      height: Math.min(metrics.height, 8000),
      deviceScaleFactor: 1,
      mobile: width < 600,
    });
    await sleep(200);
    const shot = await s('Page.captureScreenshot', { format: 'png' });
    const file = path.join(cfg.screenshotDir, `browser-check-${width}.png`);
    writeFileSync(file, Buffer.from(shot.data, 'base64'));
    screenshots.push({ width, file, ...metrics });
  }
  const requests = events
    .filter((e) => e.method === 'Network.requestWillBeSent' || e.method === 'Network.webSocketCreated')
    .map((e) => e.params.request?.url ?? e.params.url);
  // Chromium's own reason for each failed request (net::ERR_…): what a page only sees as "Failed to fetch".
  const netErrors = events
    .filter((e) => e.method === 'Network.loadingFailed')
    .map(
      (e) => `${e.params.type} ${e.params.errorText}${e.params.blockedReason ? ` (${e.params.blockedReason})` : ''}`,
    );
  const console_ = events
    .filter((e) => e.method === 'Runtime.consoleAPICalled' || e.method === 'Runtime.exceptionThrown')
    .map((e) => JSON.stringify(e.params).slice(0, 500));
  await send('Browser.close').catch(() => {});
  finish(result || state === 'damaged' ? 0 : 1, {
    result,
    state,
    page: JSON.parse(page2.result.value),
    requests,
    netErrors,
    console: console_,
    screenshots,
    ...(result || state === 'damaged' ? {} : { stderr: stderr.slice(-4000) }),
  });
} catch (e) {
  finish(1, { error: String(e?.stack ?? e), stderr: stderr.slice(-4000) });
}
