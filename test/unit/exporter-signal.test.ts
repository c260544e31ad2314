// A run's own signal in the exporter: shutdown and the budget abort it, and once the run is done the long-lived
// shutdown signal keeps nothing of it (it is not derived with AbortSignal.any, which on Node 20 leaves a WeakRef
// per derived signal on the source for ever: the leak bench/exporter.run.ts measures as heap after a full GC).
import { describe, expect, it } from 'vitest';
import { runSignal } from '../../src/exporter/run-signal.js';

describe('exporter runSignal', () => {
  it('shutdown aborts a running run, with its reason', () => {
    const shutdown = new AbortController();
    const own = runSignal(shutdown.signal, 10);
    shutdown.abort(new Error('SIGTERM'));
    expect(own.signal.aborted).toBe(true);
    expect((own.signal.reason as Error).message).toBe('SIGTERM');
    own.done();
  });

  it('the budget aborts it as a TimeoutError; after done() neither the budget nor shutdown reach it', async () => {
    const shutdown = new AbortController();
    const timed = runSignal(shutdown.signal, 0.05);
    await new Promise((res) => timed.signal.addEventListener('abort', res, { once: true }));
    expect((timed.signal.reason as DOMException).name).toBe('TimeoutError');
    timed.done();
    const finished = runSignal(shutdown.signal, 0.05);
    finished.done();
    shutdown.abort();
    await new Promise((res) => setTimeout(res, 100));
    expect(finished.signal.aborted).toBe(false);
  });

  it('a run started after shutdown is aborted from the start', () => {
    const shutdown = new AbortController();
    shutdown.abort();
    expect(runSignal(shutdown.signal).signal.aborted).toBe(true);
  });
});
