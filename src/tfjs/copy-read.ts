/**
 * Copying a tensor's values without taking its buffer from specdyn's backend.
 *
 * `dataSync()` hands out the buffer a backend stores, and specdyn's backend (SpecdynNativeBackend)
 * then never returns that buffer to its pool: the caller may keep it. A reader that copies at once
 * (a SpectralMonitor's capture: the kernels and the probe pass's outputs, every snapshot) would
 * so make the backend allocate fresh buffers in place of pooled ones that had long since been
 * promoted; the escaped old ones are freed only by a mark-compact, and V8 counts the fresh ones
 * against the old generation's limit, so on the monitor benchmark they started a mark-compact of
 * the training thread every few snapshots (docs/performance.md, "Buffers the capture took from the
 * backend's pool"). Read through {@link copyValues} instead: on specdyn's backend the copy is
 * made there and the buffer stays pooled; elsewhere it is a copy of what `dataSync()` returns.
 * No tfjs import: the monitor uses it without loading a backend.
 */

let reading = false;
let copied = false;
let target: Float32Array | undefined;

/** Whether a {@link copyValues} read is asking the backend for a private copy. @internal */
export function copyRequested(): boolean {
  return reading;
}

/**
 * Where a backend answering a {@link copyValues} read puts its copy: the reader's buffer, when it
 * gave one of `length` elements, else a fresh one. @internal
 */
export function copyTarget(values: Float32Array): Float32Array {
  return copyInto(values, target);
}

/** values copied into `into` when it has their length, else into a fresh Float32Array. */
function copyInto(values: ArrayLike<number>, into: Float32Array | undefined): Float32Array {
  if (into && into.length === values.length) {
    into.set(values);
    return into;
  }
  // slice: one memcpy (Float32Array.from walks the source element by element)
  return values instanceof Float32Array ? values.slice() : Float32Array.from(values);
}

/** Called by a backend that answered a {@link copyValues} read with a copy of its own. @internal */
export function noteCopied(): void {
  copied = true;
}

/**
 * A Float32Array copy of a tensor's values, owned by the caller (see the module doc), written into
 * `into` when it has the tensor's size (a buffer of the caller's that nothing else holds, e.g.
 * one the analysis worker gave back), else fresh. @internal
 */
export function copyValues(t: { dataSync(): ArrayLike<number> }, into?: Float32Array): Float32Array {
  reading = true;
  copied = false;
  target = into;
  try {
    const d = t.dataSync();
    if (copied && d instanceof Float32Array) return d;
    return copyInto(d, into);
  } finally {
    reading = false;
    copied = false;
    target = undefined;
  }
}
