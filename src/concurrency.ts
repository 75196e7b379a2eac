/**
 * Bounded concurrency for async work on the native pool: the one implementation used by the
 * analysis layers (OMD trajectories, simulators, sweeps).
 *
 * - {@link Limiter}: at most `concurrency` tasks in flight, the rest wait in FIFO order (for
 *   work that arrives one call at a time, e.g. trajectory pushes).
 * - {@link mapConcurrent}: maps a fixed list with bounded concurrency, results in input order,
 *   cancellable with an AbortSignal; the first failure cancels the rest.
 * - {@link defaultConcurrency}: the hardware thread count the native core sees.
 * - {@link startWorker}: a worker_thread of specdyn's own (the monitor's analysis, the server's
 *   pool) started with its parent's options, less those a worker refuses.
 *
 * No thread setting is changed here: the native BLAS gate runs small problems side by side
 * single-threaded and large ones alone with all threads.
 */
import { Worker } from 'node:worker_threads';
import { AbortError, expected } from './errors.js';
import { native } from './native.js';
import { checkInteger } from './validate.js';

/**
 * The default number of tasks in flight: the hardware threads reported by the native core
 * (`nativeInfo().hardwareThreads`, at least 1); 1 when the native core cannot be loaded.
 */
export function defaultConcurrency(): number {
  try {
    return Math.max(1, native().nativeInfo().hardwareThreads);
  } catch {
    return 1;
  }
}

/**
 * Admits at most `concurrency` tasks at once; further tasks wait and start in the order they
 * were submitted (a freed slot passes straight to the oldest waiter).
 */
export class Limiter {
  /** The bound on tasks in flight. */
  readonly concurrency: number;
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];

  /** @throws {TypeError|RangeError} when concurrency is not an integer ≥ 1 (named `name`). */
  constructor(concurrency: number, name = 'concurrency') {
    this.concurrency = checkInteger(concurrency, name, { min: 1 });
  }

  /** Tasks currently running (≤ concurrency). */
  get active(): number {
    return this.inFlight;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Runs `task` once a slot is free and resolves or rejects as it does. The slot is released
   * when the task settles (a synchronous throw from `task` counts as a rejection).
   */
  async run<R>(task: () => Promise<R> | R): Promise<R> {
    if (this.inFlight < this.concurrency) this.inFlight++;
    else await new Promise<void>((resolve) => this.waiters.push(resolve)); // the slot is handed over
    try {
      return await task();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.inFlight--;
    }
  }
}

/** Options of {@link mapConcurrent}. */
export interface MapConcurrentOptions {
  /** Tasks in flight at once, an integer ≥ 1; default {@link defaultConcurrency}(). */
  concurrency?: number;
  /** Cancels the map: no further item starts, the running ones see an aborted signal. */
  signal?: AbortSignal;
}

/**
 * Maps `fn` over `items` with at most `concurrency` calls in flight and resolves to the results
 * in input order. `fn(item, index, signal)` receives a signal that aborts when the map is
 * cancelled or another call fails; pass it on to cancellable calls (e.g. `eigsh`).
 *
 * On the first failure (a rejection or throw of `fn`, or `options.signal` aborting) no further
 * item starts, the signal given to running calls aborts, and once those have settled the map
 * rejects with that first failure: the error of `fn`, or an {@link AbortError} whose cause is the
 * signal's reason. No call is left running after the returned Promise settles.
 *
 * @throws {TypeError} (synchronously, before any call) when items is not an array, fn not a
 *   function, or signal not an AbortSignal; {@link RangeError} when concurrency is not an integer ≥ 1.
 */
export function mapConcurrent<T, R>(
  items: readonly T[],
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R> | R,
  options: MapConcurrentOptions = {},
): Promise<R[]> {
  if (!Array.isArray(items)) throw new TypeError(expected('an array', 'items', items));
  if (typeof fn !== 'function') throw new TypeError(expected('a function', 'fn', fn));
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(expected('an options object', 'options', options));
  }
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(expected('an AbortSignal', "mapConcurrent option 'signal'", signal));
  }
  const concurrency = checkInteger(options.concurrency ?? defaultConcurrency(), "mapConcurrent option 'concurrency'", {
    min: 1,
  });
  return run(items, fn, concurrency, signal);
}

async function run<T, R>(
  items: readonly T[],
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R> | R,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<R[]> {
  const abortError = () => new AbortError('mapConcurrent was aborted', { cause: signal?.reason });
  if (signal?.aborted) throw abortError();
  const count = items.length;
  const results = new Array<R>(count);
  const inner = new AbortController();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    inner.abort(error);
  };
  const onAbort = () => fail(abortError());
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failure && next < count) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i, inner.signal);
      } catch (err) {
        fail(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  return results;
}

/**
 * The parent's `process.execArgv` minus what a worker_thread refuses or must not repeat: the
 * entry-point options (`--input-type`, `-e`/`--eval`, `-p`/`--print` and their code). For
 * `new Worker(url, { execArgv: workerExecArgv() })`: a worker of specdyn's own starts the same
 * way whether its process was started from a file or from `node --input-type=module -e`.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--input-type')) continue;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '-pe') {
      i++; // the code that follows
      continue;
    }
    if (a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}

/**
 * The options named in Node's ERR_WORKER_INVALID_EXEC_ARGV message ("… invalid execArgv flags:
 * a, b"): V8's and the other process-wide options, which a worker refuses because they already
 * apply to the whole process (its isolate included).
 */
export function refusedExecArgv(message: string): string[] {
  const at = message.lastIndexOf(': ');
  if (at < 0) return [];
  return message
    .slice(at + 2)
    .split(', ')
    .map((f) => f.trim())
    .filter((f) => f.startsWith('-'));
}

/**
 * A worker of specdyn's own started like its parent: `execArgv` is {@link workerExecArgv}, less the
 * process-wide options the worker refuses (a server started with `node --max-old-space-size=4096`
 * or a V8 garbage-collector flag), which already apply to the worker's isolate since they are the
 * process's.
 * @throws what `new Worker` throws for anything else (a missing script, a refused option that
 * its message does not name).
 */
export function startWorker(url: URL, execArgv: readonly string[] = workerExecArgv()): Worker {
  try {
    return new Worker(url, { execArgv: [...execArgv] });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    const refused = new Set(refusedExecArgv((err as Error).message));
    const kept = execArgv.filter((a) => !refused.has(a));
    if (kept.length === execArgv.length) throw err;
    return new Worker(url, { execArgv: kept });
  }
}
