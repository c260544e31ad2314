// The live line on a TTY: how many checks are done, which are running, and the hold countdown. One line,
// redrawn in place, erased before the report prints; never used off a TTY.
import pc from 'picocolors';
import type { CheckResult } from '../model.js';
import type { RunHooks } from '../runner.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface LiveView extends RunHooks {
  stop(): void;
}

export function liveView(out: NodeJS.WritableStream & { columns?: number }, total: number, holdS: number, color: boolean): LiveView {
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
    out.write(`\r\x1b[2K${line.slice(0, Math.max(20, (out.columns ?? 100) - 1) + 40)}`);
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
    stop() {
      clearInterval(timer);
      out.write('\r\x1b[2K');
    },
  };
}
