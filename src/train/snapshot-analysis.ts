/**
 * The analysis of one SpectralMonitor snapshot (OMD of every watched layer, weight spectra of
 * every watched kernel), and where it runs:
 * - `inline`: on the calling thread's event loop, native solves on the libuv pool, layers and
 *   kernels concurrently (the training thread's loop runs the TypeScript part between steps);
 * - `worker`: in a worker_thread of its own, everything synchronous on that thread, one solve
 *   after another, its BLAS calls capped at `threadLimit` threads (setThreadLimit), the thread
 *   at a lower scheduling priority (Linux: the idle class by default, nice 10 otherwise). The
 *   analysis then takes a core only when training leaves it free instead of sharing the training
 *   thread's loop, and a large solve never makes a training product wait at the BLAS gate.
 * Both run the same {@link SnapshotAnalyzer} and commit through the same
 * {@link SnapshotRecorder} (the run writer lives where the analysis runs), so a snapshot's
 * figures and run files do not depend on the mode.
 *
 * Dead probe rows (see the monitor's module doc): with the angular or cosine metric, rows that a
 * layer maps to all zeros are read as orthogonal to every row.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../concurrency.js';
import { AbortError, InternalError, SpecdynError } from '../errors.js';
import type { Mat } from '../matrix.js';
import { distanceMatrix, distanceMatrixSync, gram, gramSync, type Precision } from '../linalg/index.js';
import { call, runSteps, runStepsSync, type Steps } from '../linalg/route.js';
// The modules themselves, not the omd/ and store/ index files: the worker thread loads only what
// it runs (templates, the null, array readers, … are not loaded into every monitor's worker).
import { OmdTrajectory, type TrajectoryOptions, type TrajectoryPoint } from '../omd/trajectory.js';
import type { ObservableMetric } from '../omd/types.js';
import { omdPointToRow } from '../omd/columns.js';
import { markMadeHere } from '../omd/input.js';
import { weightRowToRow } from '../rmt/columns.js';
import type { AnalyzeWeightsOptions, WeightRow } from '../rmt/weights.js';
import { createRun } from '../store/run.js';
import type { CloseOptions, CreateRunOptions, ObservableRecord, RunWriter, Snapshot } from '../store/types.js';
import { analyzeKernels, analyzeKernelsSync, type ModelKernel } from './analyze-model.js';

/** What a snapshot analysis is built from (structured-cloneable: it is posted to the worker). */
export interface AnalyzerConfig {
  /** OMD layers, in order. */
  layers: string[];
  metric: ObservableMetric;
  /** Bottom eigenvectors kept per OMD point (0: none). */
  keepVectors: number;
  /** Options of every layer's OmdTrajectory (metric, bottomK, input 'distance', labels, …). */
  trajectory: TrajectoryOptions;
  /** Weight-spectrum options. */
  weights: AnalyzeWeightsOptions;
}

/**
 * One OMD point as the monitor records it: the layer's trajectory point (bottom eigenvectors
 * trimmed to the monitor's `eigenvectors`), `zeroRows` (probe rows the layer maps to all zeros)
 * and `warning` ('' when nothing was worked around).
 */
export type MonitorPoint = TrajectoryPoint & { zeroRows: number; warning: string };

/** The figures of one snapshot. */
export interface AnalyzedSnapshot {
  omd: Record<string, MonitorPoint>;
  weights: WeightRow[];
  /** Warnings raised for the first time at this snapshot (dead probe rows, once per layer). */
  warnings: string[];
  /** Milliseconds the analysis took where it ran. */
  analysisMs: number;
}

/** Rows of X that are all zeros. */
function zeroRowsOf(x: Mat): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    let any = false;
    for (let j = i * x.cols, e = j + x.cols; j < e; j++)
      if (x.data[j] !== 0) {
        any = true;
        break;
      }
    if (!any) out.push(i);
  }
  return out;
}

/**
 * Angular or cosine distance matrix with zero rows read as orthogonal to every row (see the
 * module doc): the Gram matrix of the L2-normalised rows (zero rows stay zero), then
 * arccos(clamped cos) or 1 − cos, diagonal 0.
 */
function* zeroSafeDistance(x: Mat, metric: 'angular' | 'cosine', out?: Float64Array): Steps<Mat<Float64Array>> {
  const { rows, cols } = x;
  const u = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x.data[i * cols + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < cols; j++) u[i * cols + j] = x.data[i * cols + j]! * inv;
  }
  const g = yield* call(gram, gramSync, { data: u, rows, cols }, out ? { out } : undefined);
  const d = g.data;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      const c = Math.min(1, Math.max(-1, d[i * rows + j]!));
      d[i * rows + j] = i === j ? 0 : metric === 'angular' ? Math.acos(c) : 1 - c;
    }
  }
  // symmetrise exactly (the Gram product is symmetric up to rounding in its two triangles)
  for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) d[j * rows + i] = d[i * rows + j]!;
  return g;
}

/**
 * One layer's distance matrix and the dead-row bookkeeping, as steps (one body for the
 * asynchronous and the synchronous analysis). `out`: an N x N buffer to write the matrix into
 * (the previous snapshot's, so that no fresh pages are faulted in per snapshot). `precision`:
 * the trajectory's, for the distance kernel's products (which recomputes nearly coincident pairs
 * in float64); the zero-row path's Gram stays float64, as its arccos has no such recomputation.
 */
function* layerDistance(
  x: Mat,
  metric: ObservableMetric,
  precision: Precision,
  out?: Float64Array,
): Steps<{ d: Mat<Float64Array>; zeros: number[] }> {
  const zeros = metric === 'angular' || metric === 'cosine' ? zeroRowsOf(x) : [];
  const buf = out && out.length === x.rows * x.rows ? out : undefined;
  const d =
    zeros.length > 0
      ? yield* zeroSafeDistance(x, metric as 'angular' | 'cosine', buf)
      : yield* call(
          distanceMatrix,
          distanceMatrixSync,
          x,
          buf ? { metric, precision, out: buf } : { metric, precision },
        );
  // Straight from the distance kernel into the trajectory's push: its check computes only ⟨d⟩.
  if (zeros.length === 0) markMadeHere(d.data);
  return { d, zeros };
}

/** Analyses snapshot after snapshot, keeping each layer's OMD trajectory (see the module doc). */
export class SnapshotAnalyzer {
  /** What it was built from. */
  readonly config: AnalyzerConfig;
  private readonly trajectories = new Map<string, OmdTrajectory>();
  /** Layers already warned about for zero probe rows (once per layer). */
  private readonly zeroRowLayers = new Set<string>();
  /**
   * Each layer's distance matrix of the last snapshot, the next one's output buffer: the
   * analysis copies M (the trajectory keeps its own), so the buffer is free once push returns.
   */
  private readonly distanceBuffers = new Map<string, Float64Array>();

  /** The trajectories' precision, which the layers' distance matrices are computed in too. */
  readonly precision: Precision;

  constructor(config: AnalyzerConfig) {
    this.config = config;
    this.precision = config.trajectory.precision ?? 'float64';
    for (const n of config.layers) this.trajectories.set(n, new OmdTrajectory(config.trajectory));
  }

  /** Analyses one snapshot on the event loop (layers and kernels concurrently). */
  async analyse(step: number, reps: Mat[], kernels: ModelKernel[]): Promise<AnalyzedSnapshot> {
    const t0 = performance.now();
    const warnings: string[] = [];
    const omdEntries = this.config.layers.map(async (name, i) => {
      const x = reps[i]!;
      const { d, zeros } = await runSteps(
        layerDistance(x, this.config.metric, this.precision, this.distanceBuffers.get(name)),
      );
      const point = await this.trajectories.get(name)!.push(step, d, { reps: x });
      this.distanceBuffers.set(name, d.data);
      return this.point(name, step, x, zeros, point, warnings);
    });
    const weightsP = kernels.length > 0 ? analyzeKernels(kernels, this.config.weights) : Promise.resolve([]);
    const [omd, weights] = await Promise.all([Promise.all(omdEntries), weightsP]);
    return { omd: Object.fromEntries(omd), weights, warnings, analysisMs: performance.now() - t0 };
  }

  /** Analyses one snapshot on the calling thread, one solve after another (for the worker). */
  analyseSync(step: number, reps: Mat[], kernels: ModelKernel[]): AnalyzedSnapshot {
    const t0 = performance.now();
    const warnings: string[] = [];
    const omd = this.config.layers.map((name, i) => {
      const x = reps[i]!;
      const { d, zeros } = runStepsSync(
        layerDistance(x, this.config.metric, this.precision, this.distanceBuffers.get(name)),
      );
      const point = this.trajectories.get(name)!.pushSync(step, d, { reps: x });
      this.distanceBuffers.set(name, d.data);
      return this.point(name, step, x, zeros, point, warnings);
    });
    const weights = kernels.length > 0 ? analyzeKernelsSync(kernels, this.config.weights) : [];
    return { omd: Object.fromEntries(omd), weights, warnings, analysisMs: performance.now() - t0 };
  }

  /** The recorded point: vectors trimmed to keepVectors, dead rows counted and warned about once. */
  private point(
    name: string,
    step: number,
    x: Mat,
    zeros: number[],
    full: TrajectoryPoint,
    warnings: string[],
  ): readonly [string, MonitorPoint] {
    let warning = '';
    if (zeros.length > 0) {
      const shown = zeros.slice(0, 10).join(', ') + (zeros.length > 10 ? ', …' : '');
      warning = `${zeros.length} of ${x.rows} probe rows are all zeros at layer '${name}' (rows ${shown}): read as orthogonal to every row`;
      if (!this.zeroRowLayers.has(name)) {
        this.zeroRowLayers.add(name);
        warnings.push(
          `probe rows mapped to all zeros at layer '${name}' (first at step ${step}): read as orthogonal to every row for the ${this.config.metric} distance`,
        );
      }
    }
    const { bandVectors: _b, bottomVectors, ...point } = full;
    const keep = this.config.keepVectors;
    const kept =
      bottomVectors && keep > 0
        ? {
            bottomVectors: {
              data: bottomVectors.data.slice(0, keep * bottomVectors.cols),
              rows: keep,
              cols: bottomVectors.cols,
            },
          }
        : {};
    return [name, { ...point, ...kept, zeroRows: zeros.length, warning }] as const;
  }
}

/** One captured snapshot, as the analysis receives it. */
export interface SnapshotJob {
  step: number;
  /** Loss and metrics recorded with the snapshot (numbers only). */
  logs: Record<string, number>;
  /** One N x D representation per OMD layer, in the analyzer's layer order. */
  reps: Mat<Float32Array>[];
  kernels: ModelKernel[];
}

/**
 * A monitor snapshot as a store snapshot: OMD point rows (+ spectrum `values`, aligned `cloud`
 * and `bottom_vectors`), weight rows (+ `evals`).
 */
export function storeSnapshot(step: number, logs: Record<string, number>, r: AnalyzedSnapshot): Snapshot {
  const observables: ObservableRecord[] = [];
  for (const [name, p] of Object.entries(r.omd)) {
    const { step: _s, ...row } = omdPointToRow(p);
    observables.push({
      observable: name,
      family: 'omd',
      row: { ...row, zero_rows: p.zeroRows, warning: p.warning },
      arrays: {
        values: p.figures.values,
        cloud: p.cloud,
        ...(p.bottomVectors ? { bottom_vectors: p.bottomVectors } : {}),
      },
    });
  }
  for (const w of r.weights) {
    observables.push({ observable: w.name, family: 'weights', row: weightRowToRow(w), arrays: { evals: w.evals } });
  }
  return { step, logs, observables };
}

/**
 * The analyzer and the run writer of one monitor, on the thread where the analysis runs: each
 * snapshot is analysed, then appended and flushed to the run (committed) before its result is
 * returned, so a snapshot reported analysed is on disk.
 */
export class SnapshotRecorder {
  private readonly analyzer: SnapshotAnalyzer;
  private run: RunWriter | undefined;

  constructor(analyzer: SnapshotAnalyzer) {
    this.analyzer = analyzer;
  }

  /** Opens the run writer (createRun). @throws createRun's errors. */
  async openRun(dir: string, options: CreateRunOptions): Promise<void> {
    this.run = await createRun(dir, options);
  }

  /** Analyses one snapshot (`sync`: on this thread, one solve after another) and commits it to the open run. */
  async record(job: SnapshotJob, sync: boolean): Promise<AnalyzedSnapshot> {
    const r = sync
      ? this.analyzer.analyseSync(job.step, job.reps, job.kernels)
      : await this.analyzer.analyse(job.step, job.reps, job.kernels);
    const run = this.run;
    if (run) {
      run.append(storeSnapshot(job.step, job.logs, r));
      await run.flush();
    }
    return r;
  }

  /** Closes the run, if one is open (RunWriter.close; the error as its message). */
  async closeRun(options: CloseOptions): Promise<void> {
    const run = this.run;
    this.run = undefined;
    if (run) await run.close(options);
  }
}

/** How a monitor's run ends (RunWriter.close), the error already reduced to its message. */
export interface RunEnd {
  status: 'finished' | 'interrupted' | 'failed';
  error?: string;
}

/** Where a monitor's snapshots are analysed and committed (see the module doc). */
export interface SnapshotAnalysis {
  readonly mode: 'inline' | 'worker';
  /** Opens the run writer where the analysis runs (createRun there). @throws createRun's errors, of their class. */
  openRun(dir: string, options: CreateRunOptions): Promise<void>;
  /**
   * Analyses one snapshot and, with a run open, commits it (appended and flushed) before
   * resolving. In a worker the kernels' and representations' buffers are transferred (detached
   * here): pass buffers the caller does not use again. `figures: false`: only the warnings and
   * the timing come back (`omd` and `weights` empty), for a monitor that keeps no snapshots.
   */
  analyse(job: SnapshotJob, figures: boolean): Promise<AnalyzedSnapshot>;
  /** Closes the run, if one was opened, after every snapshot in flight. */
  closeRun(end: RunEnd): Promise<void>;
  /**
   * A buffer of `length` float32 elements that an analysed snapshot's inputs left free (worker
   * mode: the worker hands its job's buffers back), for the next capture's copies; undefined
   * when there is none (inline: the caller allocates).
   */
  takeSpare(length: number): Float32Array | undefined;
  /** Ends the worker (after the analyses in flight); idempotent. */
  close(): Promise<void>;
}

/** An error as it crosses the thread boundary (class name, message, stack, and its cause's). @internal */
export interface PostedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: PostedError;
}

/**
 * A message from the analysis worker; `recycled`: the analysed job's input buffers, handed back
 * for the next capture's copies. @internal
 */
export type WorkerReply =
  | { id: number; result: AnalyzedSnapshot | null; recycled?: ArrayBuffer[] }
  | { id: number; error: PostedError };

/** The distinct buffers of a job's representations and kernels (what moves to the worker and back). @internal */
export function jobBuffers(job: SnapshotJob): ArrayBuffer[] {
  const moved = new Set<ArrayBuffer>();
  for (const k of job.kernels) for (const m of k.slices) moved.add(m.data.buffer as ArrayBuffer);
  for (const r of job.reps) moved.add(r.data.buffer as ArrayBuffer);
  return [...moved];
}

/** A message to the analysis worker. @internal */
export type WorkerRequest =
  | { type: 'init'; config: AnalyzerConfig; threadLimit: number; priority: AnalysisPriority }
  | { type: 'open'; id: number; dir: string; options: CreateRunOptions }
  | { type: 'analyse'; id: number; job: SnapshotJob; figures: boolean }
  | { type: 'closeRun'; id: number; end: RunEnd };

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SpecdynError,
  AbortError,
  InternalError,
};

/** An error as posted from a worker (see {@link revive}). @internal */
export function postError(err: unknown, depth = 0): PostedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  return {
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(typeof code === 'string' ? { code } : {}),
    ...(e.cause !== undefined && depth < 3 ? { cause: postError(e.cause, depth + 1) } : {}),
  };
}

/**
 * The worker's error again as an instance of its class where the class takes a message alone;
 * any other name (LapackError, NoConvergenceError, …) comes back as a SpecdynError of that name.
 * The cause (e.g. the file-system error under a failed commit) comes back the same way, with its `code`.
 */
function revive(e: PostedError): Error {
  const Ctor = ERROR_CLASSES[e.name] ?? (e.name === 'Error' ? Error : SpecdynError);
  const err = new Ctor(e.message);
  if (err.name !== e.name) Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  if (e.stack) err.stack = e.stack;
  if (e.code !== undefined) (err as NodeJS.ErrnoException).code = e.code;
  if (e.cause) Object.defineProperty(err, 'cause', { value: revive(e.cause), configurable: true, writable: true });
  return err;
}

/** The worker script: analysis-worker.js beside this module (from src/*.ts under a test runner: the built dist/ copy). */
function workerUrl(): URL {
  const here = new URL('./analysis-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/train/analysis-worker.js', import.meta.url);
}

class InlineAnalysis implements SnapshotAnalysis {
  readonly mode = 'inline' as const;
  private readonly recorder: SnapshotRecorder;
  constructor(analyzer: SnapshotAnalyzer) {
    this.recorder = new SnapshotRecorder(analyzer);
  }
  openRun(dir: string, options: CreateRunOptions): Promise<void> {
    return this.recorder.openRun(dir, options);
  }
  analyse(job: SnapshotJob): Promise<AnalyzedSnapshot> {
    return this.recorder.record(job, false);
  }
  closeRun(end: RunEnd): Promise<void> {
    return this.recorder.closeRun(end);
  }
  takeSpare(): undefined {
    return undefined;
  }
  async close(): Promise<void> {}
}

/**
 * Default nice value of the analysis worker's thread (Linux): when it and the training thread
 * want the same core, training gets about ten times the share.
 */
export const ANALYSIS_NICE = 10;

/**
 * The analysis worker thread's priority (Linux): its nice value, and whether it moves to the
 * idle scheduling class (SCHED_IDLE: it runs only on a core nothing else wants).
 */
export interface AnalysisPriority {
  nice: number;
  idle: boolean;
}

/**
 * Analysis workers kept after their monitor closed, for the next monitor of the same thread limit
 * and priority (at most {@link KEPT_WORKERS}; unreferenced, so they never keep the process alive).
 * A kept worker has loaded and compiled the analysis already: the next monitor neither waits
 * for a worker to start (training was held for it at the first snapshots) nor pays V8 for
 * compiling the analysis again (about 1 s of compiler time per fresh worker, on V8's threads at
 * normal priority, beside training).
 */
const keptWorkers: { key: string; worker: Worker; drop: () => void }[] = [];

/** Buffers handed back by the worker that a monitor keeps for its next captures (a few snapshots' worth). */
const MAX_SPARES = 16;

/** How many idle analysis workers a process keeps (one per monitor that may run at once on 2 cores). */
export const KEPT_WORKERS = 2;

/** Kept workers (test hook). @internal */
export function keptAnalysisWorkers(): number {
  return keptWorkers.length;
}

/** Ends every kept worker (test hook). @internal */
export async function dropKeptAnalysisWorkers(): Promise<void> {
  const all = keptWorkers.splice(0);
  await Promise.all(all.map((w) => w.worker.terminate()));
}

/** A kept worker of this key, or a fresh one. */
function takeWorker(key: string): Worker {
  const i = keptWorkers.findIndex((w) => w.key === key);
  if (i < 0) return startWorker(workerUrl());
  const { worker, drop } = keptWorkers.splice(i, 1)[0]!;
  worker.off('error', drop).off('exit', drop);
  return worker;
}

/**
 * Keeps an idle worker for the next monitor of this key, or ends it when enough are kept. A kept
 * worker that errors or exits leaves the list.
 */
async function keepWorker(key: string, worker: Worker): Promise<void> {
  if (keptWorkers.length >= KEPT_WORKERS) {
    await worker.terminate();
    return;
  }
  worker.unref();
  const drop = () => {
    const i = keptWorkers.indexOf(entry);
    if (i >= 0) keptWorkers.splice(i, 1);
  };
  const entry = { key, worker, drop };
  worker.on('error', drop).on('exit', drop);
  keptWorkers.push(entry);
}

class WorkerAnalysis implements SnapshotAnalysis {
  readonly mode = 'worker' as const;
  private readonly worker: Worker;
  private readonly key: string;
  private readonly pending = new Map<
    number,
    { resolve: (r: AnalyzedSnapshot | null) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;
  /** Buffers the worker handed back, for takeSpare. */
  private readonly spares: Float32Array[] = [];
  /** A run opened in the worker and not closed yet (such a worker is not kept: its writer holds the run's lock). */
  private runOpen = false;
  private readonly onMessage: (m: WorkerReply) => void;
  private readonly onError: (err: Error) => void;
  private readonly onExit: (code: number) => void;

  constructor(config: AnalyzerConfig, threadLimit: number, priority: AnalysisPriority) {
    this.key = JSON.stringify({ threadLimit, nice: priority.nice, idle: priority.idle });
    this.worker = takeWorker(this.key);
    // Referenced only while requests are in flight: an idle monitor never keeps the process alive.
    this.worker.unref();
    this.onMessage = (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in m) p.reject(revive(m.error));
      else {
        for (const b of m.recycled ?? [])
          if (this.spares.length < MAX_SPARES && b.byteLength % 4 === 0) this.spares.push(new Float32Array(b));
        p.resolve(m.result);
      }
    };
    this.onError = (err: Error) => {
      this.failure ??= new SpecdynError(`The monitor's analysis worker failed: ${err.message}`, { cause: err });
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    this.onExit = (code: number) => {
      if (!this.closed) this.onError(new Error(`it exited with code ${code}`));
    };
    this.worker.on('message', this.onMessage).on('error', this.onError).on('exit', this.onExit);
    // A DataCloneError here (an option that cannot be posted) is the caller's to handle. A kept
    // worker takes it as a new session: a fresh analyzer (trajectories) and no open run.
    this.worker.postMessage({ type: 'init', config, threadLimit, priority } satisfies WorkerRequest);
  }

  /** Posts one request (answered in order by the worker) and waits for its reply. */
  private request(
    message: WorkerRequest & { id: number },
    transfer: ArrayBuffer[] = [],
  ): Promise<AnalyzedSnapshot | null> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.ref();
      try {
        this.worker.postMessage(message, transfer);
      } catch (err) {
        this.pending.delete(message.id);
        if (this.pending.size === 0) this.worker.unref();
        reject(err as Error);
      }
    });
  }

  async openRun(dir: string, options: CreateRunOptions): Promise<void> {
    await this.request({ type: 'open', id: this.nextId++, dir, options });
    this.runOpen = true;
  }

  takeSpare(length: number): Float32Array | undefined {
    const i = this.spares.findIndex((b) => b.length === length);
    return i < 0 ? undefined : this.spares.splice(i, 1)[0];
  }

  async analyse(job: SnapshotJob, figures: boolean): Promise<AnalyzedSnapshot> {
    // The kernels and representations are the monitor's own copies: their buffers move to the
    // worker, and come back (WorkerReply.recycled) for the copies of a later capture.
    const r = await this.request({ type: 'analyse', id: this.nextId++, job, figures }, jobBuffers(job));
    return r!;
  }

  async closeRun(end: RunEnd): Promise<void> {
    await this.request({ type: 'closeRun', id: this.nextId++, end });
    this.runOpen = false;
  }

  /**
   * Ends this monitor's use of the worker: kept for the next monitor when nothing is in flight,
   * it never failed and no run is left open in it (a closeRun that failed), else terminated.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failure || this.pending.size > 0 || this.runOpen) {
      await this.worker.terminate();
      return;
    }
    this.worker.off('message', this.onMessage).off('error', this.onError).off('exit', this.onExit);
    await keepWorker(this.key, this.worker);
  }
}

/**
 * The analysis of a monitor's snapshots, inline (with `analyzer` itself) or in a worker (a
 * worker-side analyzer built from `analyzer.config`, whose trajectories `analyzer` must not have
 * started). A config that cannot be posted to a worker (structured clone) is analysed inline.
 */
export function createSnapshotAnalysis(
  analyzer: SnapshotAnalyzer,
  mode: 'inline' | 'worker',
  threadLimit: number,
  priority: AnalysisPriority = { nice: ANALYSIS_NICE, idle: true },
): SnapshotAnalysis {
  if (mode === 'worker') {
    try {
      structuredClone(analyzer.config);
      return new WorkerAnalysis(analyzer.config, threadLimit, priority);
    } catch {
      // not cloneable: inline below
    }
  }
  return new InlineAnalysis(analyzer);
}
