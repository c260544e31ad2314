// The live line on a TTY: how many checks are done, which are running, and the hold countdown. One line,
// redrawn in place; finished checks are printed above it (print), and it is erased at the end. Never used off a TTY.
import pc from 'picocolors';
import type { CheckResult } from '../model.js';
import type { RunHooks } from '../runner.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface LiveView extends RunHooks {
  /** Write finished lines above the live line, which is then redrawn under them. */
  print(text: string): void;
  stop(): void;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matches the ANSI colour escapes we print
const ANSI = /\x1b\[[0-9;]*m/g;

/** Cut a coloured line to `cols` visible columns, so it never wraps (a wrapped line cannot be redrawn in place). */
export function fitColumns(line: string, cols: number): string {
  let visible = 0;
  let out = '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: splits at the ANSI colour escapes we print
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (ANSI.test(part)) {
      ANSI.lastIndex = 0;
      out += part;
      continue;
    }
    for (const ch of part) {
      if (visible >= cols) return line.includes('\x1b[') ? `${out}\x1b[0m` : out;
      out += ch;
      visible++;
    }
  }
  return out;
}

export function liveView(
  out: NodeJS.WritableStream & { columns?: number },
  total: number,
  holdS: number,
  color: boolean,
): LiveView {
  const c = pc.createColors(color);
  const running = new Set<string>();
  let done = 0;
  let failed = 0;
  let holdStarted: number | undefined;
  let frame = 0;
  const draw = () => {
    const parts = [`${c.cyan(FRAMES[frame++ % FRAMES.length]!)} ${done}/${total} checks`];
    if (failed) parts.push(c.red(`${failed} failed`));
    if (holdStarted !== undefined && [...running].some((id) => id.startsWith('hold.'))) {
      const left = Math.max(0, holdS - (Date.now() - holdStarted) / 1000);
      parts.push(`holding idle streams: ${left.toFixed(0)} s left of ${holdS} s`);
    } else if (running.size) {
      parts.push(`running ${[...running].slice(0, 3).join(', ')}${running.size > 3 ? ` +${running.size - 3}` : ''}`);
    }
    const line = parts.join(c.dim(' · '));
    out.write(`\r\x1b[2K${fitColumns(line, Math.max(20, (out.columns || 100) - 1))}`);
  };
  const timer = setInterval(draw, 200);
  return {
    onStart(id: string) {
      running.add(id);
      if (id.startsWith('hold.')) holdStarted ??= Date.now();
    },
    onResult(r: CheckResult) {
      running.delete(r.id);
      done++;
      if (r.status === 'fail') failed++;
    },
    print(text: string) {
      out.write(`\r\x1b[2K${text}`);
      draw();
    },
    stop() {
      clearInterval(timer);
      out.write('\r\x1b[2K');
    },
  };
}
