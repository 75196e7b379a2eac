/**
 * A scope in which specdyn's tfjs backend runs every product of at least
 * `SpecdynNativeBackend.threadedMinFlops` split in two single-threaded halves (the calling
 * thread's and specdyn's helper thread's; single-threaded where products are not split), large
 * ones included: none then takes OpenBLAS's threads at the BLAS gate, where it would wait for
 * other BLAS work to end. A SpectralMonitor evaluates its probes in one, beside its analysis
 * worker's solves. No tfjs import: the monitor uses it without loading a backend.
 */

let depth = 0;

/** Whether a {@link withSplitProducts} scope is open on this thread. @internal */
export function inSplitScope(): boolean {
  return depth > 0;
}

/** Runs `f` in a split-products scope (see the module doc); scopes nest. @internal */
export function withSplitProducts<T>(f: () => T): T {
  depth++;
  try {
    return f();
  } finally {
    depth--;
  }
}
