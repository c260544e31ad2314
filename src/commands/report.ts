// `nap-verify report <result.json>`: render a saved schema-1 result (a run's --json, or the JSON an end user's
// browser-check page copied) as text, JSON, and the triage report, without running anything.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { inert } from '../inert.js';
import { UsageError } from '../options.js';
import { type RunRecord, toJson } from '../report/json.js';
import { ResultFormatError, readResult } from '../report/read-json.js';
import { toText } from '../report/text.js';
import { formatFix } from '../remediation.js';
import { useColor, type Io } from '../run.js';

export async function runReportCommand(file: string, o: Record<string, unknown>, io: Io): Promise<number> {
  const format = String(o.format ?? 'text');
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${format}: expected text or json`);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`report: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let run: RunRecord;
  try {
    run = readResult(text);
  } catch (e) {
    if (e instanceof ResultFormatError)
      throw new UsageError(`report: ${inert(file)} is not a schema-1 nap-verify result: ${inert(e.message)}`);
    throw e;
  }
  if (run.vantage === 'browser') {
    // The page carries no fix text: add what `explain` says for its codes.
    const { BROWSER_PAGE_CODES } = await import('../kit/browser-codes.js');
    for (const r of run.results) {
      const meta = r.code && r.status !== 'pass' && r.status !== 'skip' ? BROWSER_PAGE_CODES[r.code] : undefined;
      if (meta && !r.remediation) r.remediation = formatFix(meta.fix);
    }
  }
  if (!run.headline && run.vantage) {
    const browser = typeof run.environment?.browser === 'string' ? ` (${run.environment.browser})` : '';
    // Read from the file: inert, as everything the file says is by the time it is printed.
    run.headline = inert(`seen from ${run.vantage}${browser}`);
  }
  io.stdout.write(
    format === 'json'
      ? toJson(run)
      : toText(run, { color: useColor({}, io.env, !!io.stdout.isTTY), quiet: false, verbose: false, grouped: true }),
  );
  if (typeof o.report === 'string') {
    const html = /\.html?$/i.test(o.report);
    const render = html ? (await import('../report/html.js')).toHtml : (await import('../report/triage.js')).toMarkdown;
    await writeFile(o.report, render(run)).catch((e: Error) => {
      throw new UsageError(`cannot write report: ${e.message}`);
    });
  }
  // Rendering is the job here: the verdict is in the output, not the exit status.
  return 0;
}
