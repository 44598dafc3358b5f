/* global process */
// Preloaded into the service by bench/live.ts (with --expose-gc): SIGUSR2 runs a full garbage collection,
// so memory read from the service's metrics right after is live memory, not garbage not yet collected.
// Twice: what a first collection only marks (weak references, finalizers' targets) goes in the second.
process.on("SIGUSR2", () => {
  globalThis.gc?.();
  globalThis.gc?.();
});
