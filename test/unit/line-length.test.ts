// scripts/line-length.mjs on a throwaway git repository: it flags a tracked line of 121 characters and nothing of
// 120, counts characters (not UTF-8 bytes), reads only tracked files, skips Markdown, package-lock.json and dist,
// and keeps its allow-list honest.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLineLength, longLines, MAX_CHARS } from '../../scripts/line-length.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/line-length.mjs', import.meta.url));
const line = (n: number, fill = 'x') => `// ${fill.repeat(n - 3)}`;

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(path.join(tmpdir(), 'nv-line-length-'));
  const put = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    writeFileSync(path.join(repo, file), text);
  };
  put('src/long.ts', `${line(121)}\n${line(120)}\nconst short = 1;\n`);
  // 120 characters of which many are 3 bytes in UTF-8: within the limit.
  put('src/wide.ts', `${line(120, '—')}\n`);
  put('README.md', `${line(300)}\n`);
  put('package-lock.json', `${line(300)}\n`);
  put('dist/out.js', `${line(300)}\n`);
  put('scripts/run.sh', `echo ok\r\n${line(121)}\r\n`);
  put('allowed.ts', `${line(130)}\n`);
  execFileSync('git', ['init', '-q'], { cwd: repo });
  execFileSync('git', ['add', '-f', '.'], { cwd: repo });
  // Not tracked: never read.
  put('untracked.ts', `${line(300)}\n`);
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('line length check (scripts/line-length.mjs)', () => {
  it('flags exactly the 121-character line, not the 120 one; characters, not bytes', () => {
    expect(MAX_CHARS).toBe(120);
    expect(longLines(`${line(121)}\n${line(120)}`)).toEqual([{ line: 1, chars: 121 }]);
    const { offenders, stale } = checkLineLength(repo, { allowed: {} });
    expect(offenders).toEqual([
      { file: 'allowed.ts', line: 1, chars: 130 },
      { file: 'scripts/run.sh', line: 2, chars: 121 },
      { file: 'src/long.ts', line: 1, chars: 121 },
    ]);
    expect(stale).toEqual([]);
  });

  it('an allow-list entry covers up to its count of long lines; an entry no longer needed is reported', () => {
    const covered = checkLineLength(repo, { allowed: { 'allowed.ts': { lines: 1, why: 'test' } } });
    expect(covered.offenders.map((o) => o.file)).toEqual(['scripts/run.sh', 'src/long.ts']);
    expect(covered.allowed).toEqual([{ file: 'allowed.ts', line: 1, chars: 130 }]);
    const tooMany = checkLineLength(repo, { allowed: { 'src/long.ts': { lines: 0, why: 'test' } } });
    expect(tooMany.offenders.map((o) => o.file)).toContain('src/long.ts');
    const stale = checkLineLength(repo, {
      allowed: { 'src/wide.ts': { lines: 1, why: 'test' }, 'gone.ts': { lines: 2, why: 'test' } },
    });
    expect(stale.stale).toEqual([
      { file: 'src/wide.ts', allowed: 1, found: 0 },
      { file: 'gone.ts', allowed: 2, found: 0 },
    ]);
  });

  it('as a command: one file:line line per offender and exit 1', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('src/long.ts:1: 121 chars (max 120)\n');
    expect(r.stdout).toContain('scripts/run.sh:2: 121 chars (max 120)\n');
    expect(r.stdout).not.toMatch(/src\/long\.ts:2:|wide|README|package-lock|dist|untracked/);
  });

  it('this repository passes', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
