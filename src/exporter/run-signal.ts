// The signal each exporter run gets: the exporter's shutdown or the run's budget aborts it.
/**
 * A run's own signal, aborted by the exporter's shutdown or by the run's budget. Not the shutdown signal itself, nor
 * AbortSignal.any([shutdown, …]): on Node 20 every signal AbortSignal.any() derives from a long-lived signal stays
 * referenced from it (a WeakRef each, never pruned), and a run derives one per check: ~60 per probe, 5 KB of heap
 * that survived full collections, 1,000 probes after 1,000 probes (heap snapshots; bench/exporter.run.ts).
 */
export function runSignal(shutdown: AbortSignal, budgetS?: number): { signal: AbortSignal; done(): void } {
  const ctl = new AbortController();
  const onShutdown = () => ctl.abort(shutdown.reason);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  const timer =
    budgetS === undefined
      ? undefined
      : setTimeout(
          () => ctl.abort(new DOMException(`the run passed its ${budgetS} s budget`, 'TimeoutError')),
          budgetS * 1000,
        );
  return {
    signal: ctl.signal,
    done: () => {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    },
  };
}
