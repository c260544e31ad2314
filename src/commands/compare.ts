// `nap-verify compare a.json b.json …`: read result files, merge them (src/compare/merge.ts), print and write.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { compareRuns, CompareInputError } from '../compare/merge.js';
import { compareHtml, compareJson, compareMarkdown, compareText } from '../compare/render.js';
import { inert } from '../inert.js';
import { parseVantage, splitList, UsageError } from '../options.js';
import { useColor, type Io } from '../run.js';

export interface CompareOptions {
  format?: string;
  report?: string;
  inside?: string[];
  color?: boolean;
}

/** Exit status: 0 when every check works everywhere it was judged, 1 when anything failed somewhere. */
export async function runCompare(files: string[], o: CompareOptions, io: Io): Promise<number> {
  const format = o.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${format}: expected text or json`);
  if (o.report && !/\.(md|markdown|html?)$/i.test(o.report))
    throw new UsageError(`--report ${o.report}: name it .md (Markdown) or .html (self-contained page)`);
  const docs = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `compare: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      return { doc: JSON.parse(text) as unknown, source: file === '-' ? '<stdin>' : file };
    } catch (e) {
      throw new UsageError(`compare: ${file} is not JSON (${inert((e as Error).message)})`);
    }
  });
  let cmp: ReturnType<typeof compareRuns>;
  try {
    cmp = compareRuns(
      docs,
      splitList(o.inside).map((n) => parseVantage(n, '--inside')),
    );
  } catch (e) {
    // Its messages quote the files (names, domains, fields): inert before they reach the terminal.
    if (e instanceof CompareInputError) throw new UsageError(`compare: ${inert(e.message)}`);
    throw e;
  }
  const color =
    format === 'text' && useColor({ ...(o.color === false ? { color: false } : {}) }, io.env, !!io.stdout.isTTY);
  io.stdout.write(format === 'json' ? compareJson(cmp) : compareText(cmp, color));
  if (o.report) {
    try {
      await writeFile(o.report, /\.html?$/i.test(o.report) ? compareHtml(cmp) : compareMarkdown(cmp));
    } catch (e) {
      throw new UsageError(`cannot write report: ${(e as Error).message}`);
    }
  }
  return cmp.checks.some((r) => Object.values(r.cells).some((c) => c?.status === 'fail')) ? 1 : 0;
}
