// Page measurements in real headless Chromium: whether a page scrolls sideways at a given window width. The page
// is a copy with a measuring script appended (the product's report has no JavaScript); the result comes back
// through --dump-dom. Offline: a local file, background networking off.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Overflow {
  innerWidth: number;
  scrollWidth: number;
  /** Elements whose right edge passes the window (tag#id.class and their width), for the failure message. */
  wide: string[];
}

const MEASURE = `<script>
addEventListener('load', () => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const w = innerWidth;
  const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 0.5)
    .slice(0, 10)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));
  const pre = document.createElement('pre');
  pre.id = 'nv-measure';
  pre.textContent = JSON.stringify({ innerWidth: w, scrollWidth: document.documentElement.scrollWidth, wide });
  document.body.append(pre);
});
</script>`;

/** Every <details> opened (folded content must fit too), then the page measured at `width` px. */
export function measureOverflow(htmlFile: string, width: number): Overflow {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvt-measure-'));
  try {
    const page = path.join(dir, 'page.html');
    writeFileSync(page, readFileSync(htmlFile, 'utf8').replace('</body>', `${MEASURE}</body>`));
    const dom = execFileSync(
      'chromium',
      [
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
        `--user-data-dir=${path.join(dir, 'profile')}`,
        `--window-size=${width},1000`,
        '--dump-dom',
        `file://${page}`,
      ],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const m = /<pre id="nv-measure">([^<]*)<\/pre>/.exec(dom);
    if (!m) throw new Error('no measurement in the dumped DOM');
    return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Overflow;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
