// Loaded into the exporter by bench/exporter.run.ts only (`node --expose-gc --import …`): on SIGUSR2, a full
// garbage collection, then the heap still in use. RSS alone cannot tell a leak from a heap V8 grew for a fast
// allocation rate and has not given back; what survives a full collection can.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  console.log(`gc-on-signal heapUsed=${m.heapUsed} external=${m.external} rss=${m.rss}`);
});
