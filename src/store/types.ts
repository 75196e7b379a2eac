/**
 * The public types of the run store. A run directory holds `run.json` ({@link RunMeta}),
 * `steps.jsonl` (one line of scalar figures per snapshot and observable) and
 * `spectra-<session>.arrow` (the arrays: spectra, eigenvectors, MDS coordinates); see
 * docs/formats.md for the byte-level schema.
 */
import type { Mat } from '../matrix.js';

/** A scalar figure value: a number (NaN and ±Infinity survive the round trip), a string, a boolean or null. */
export type Scalar = number | string | boolean | null;

/** A flat record of scalar figures (one family's columns for one observable at one step). */
export type Row = Record<string, Scalar>;

/** A stored array: 1-D spectrum (Float64Array/Float32Array) or a row-major matrix. */
export type StoredArrayValue = Float64Array | Float32Array | Mat;

/**
 * Figure family of an observable: `omd` (a layer's representations: OMD snapshot and trajectory
 * figures), `weights` (a weight matrix's spectrum figures). Lines of the `logs` family (loss and
 * metrics of a snapshot) are written by the store itself from {@link Snapshot.logs}.
 */
export type Family = 'omd' | 'weights';

/** Metadata of one column of a family's rows (from the family's column registry). */
export interface ColumnMeta {
  name: string;
  /** Unit of the value ('' for dimensionless or not applicable). */
  unit?: string;
  dtype: 'float64' | 'int' | 'string' | 'bool';
  doc?: string;
}

/** One observable's figures at one snapshot. */
export interface ObservableRecord {
  /** The observable's name (a layer name for `omd`, a weight tensor's name for `weights`). */
  observable: string;
  family: Family;
  /** Scalar figures (keys must not be `step`, `family`, `observable`, `session`, `flush` or `_nonfinite`). */
  row: Row;
  /**
   * Arrays to keep (e.g. `values` = spectrum, `bandVectors`, `mds`/`cloud`): copied at append,
   * stored as float64 (a Float32Array is stored exactly and read back as a Float32Array).
   */
  arrays?: Record<string, StoredArrayValue>;
}

/** One snapshot: a training step, its loss/metrics and every observable's figures. */
export interface Snapshot {
  /** Training step (a finite number, greater than the previous snapshot's within a writer session). */
  step: number;
  /** Loss and metrics at this step (written as one `logs` line). */
  logs?: Record<string, number>;
  observables: ObservableRecord[];
}

/**
 * Status of a run: `running` (a live writer holds it), `finished`, `failed` (closed with an
 * error), `interrupted` (closed as interrupted, or its writer died without closing: run.json
 * still says `running` but the writer's pid is gone).
 */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

/** Options of {@link createRun}. */
export interface CreateRunOptions {
  /** The run's configuration (JSON-serialisable); a restarted run must pass the same config or none. */
  config?: unknown;
  /** Seed of the run, if any. */
  seed?: number;
  /** Name of the tfjs backend in use (e.g. 'specdyn-openblas', 'cpu'). */
  tfBackend?: string;
  /** tfjs version (the store does not load tfjs); default: read from an installed @tensorflow/tfjs-core, else null. */
  tfjsVersion?: string;
  /** Free-form metadata kept in run.json (JSON-serialisable). */
  meta?: Record<string, unknown>;
  /** Column metadata per family, kept in run.json (merged over an earlier session's). */
  columns?: Partial<Record<Family, ColumnMeta[]>>;
  /** fsync each flush (default true: a flushed snapshot survives a power cut, not only a crash). */
  durable?: boolean;
}

/** One writer session of a run (one createRun … close). */
export interface SessionInfo {
  /** Session number (0, 1, …); the shard is `spectra-<session, 3 digits>.arrow`. */
  id: number;
  shard: string;
  pid: number;
  hostname: string;
  startedAt: string;
  /** ISO time of close; null while writing or after a crash. */
  endedAt: string | null;
  /** Status the session closed with; `running` while writing or after a crash. */
  status: RunStatus;
  /** Flushes and snapshots committed so far (as last recorded in run.json). */
  flushes: number;
  snapshots: number;
}

/** Contents of run.json (written atomically: temp file + rename). */
export interface RunMeta {
  format: 'specdyn-run';
  formatVersion: 1;
  /** Status as last written; see {@link Run.status} for the status that accounts for a dead writer. */
  status: RunStatus;
  /** Message of the error a failed run closed with; null otherwise. */
  error: string | null;
  config: unknown;
  seed: number | null;
  meta: Record<string, unknown>;
  versions: { specdyn: string; node: string; tfjs: string | null; arrow: string };
  tfBackend: string | null;
  /** nativeInfo() of the writing process (BLAS, threads, build type), or { error } if the addon did not load. */
  native: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  /** ISO time of the last close with status finished/failed/interrupted; null while running. */
  finishedAt: string | null;
  /** Seconds spent writing (sum over sessions of open → last flush/close) and in flushes. */
  timings: { writeSeconds: number; flushSeconds: number };
  columns: Partial<Record<Family, ColumnMeta[]>>;
  sessions: SessionInfo[];
}

/** Options of {@link RunWriter.close}. */
export interface CloseOptions {
  /** Default `finished`. */
  status?: 'finished' | 'failed' | 'interrupted';
  /** The error of a failed run (its message is kept). */
  error?: unknown;
}

/**
 * Writes one session of a run. `append` buffers a snapshot (validated and copied, synchronous);
 * `flush` commits every buffered snapshot (JSONL lines, then one Arrow batch, then run.json);
 * `close` flushes, seals the shard and releases the lock. Only one writer per directory.
 */
export interface RunWriter {
  readonly dir: string;
  /** This session's number. */
  readonly session: number;
  /** Snapshots appended but not yet flushed. */
  readonly pending: number;
  /** Snapshots committed by this session. */
  readonly committed: number;
  /** Buffers one snapshot. TypeError/RangeError for a malformed snapshot (nothing is buffered then). */
  append(snapshot: Snapshot): void;
  /**
   * Merges `patch` into run.json's `meta` (JSON-serialisable), written with the next flush or
   * close: notes found while writing (skipped tensors, dead probes).
   */
  setMeta(patch: Record<string, unknown>): void;
  /** Commits the buffered snapshots; after it resolves they survive a crash. */
  flush(): Promise<void>;
  /** Flushes, seals the shard as an Arrow IPC file, records the status and releases the lock. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

/** A committed figure line as read back: the row plus its keys. */
export type StepRow = Row & { step: number; family: Family | 'logs'; observable: string | null; session: number };

/** A committed array as read back. */
export interface StoredArray {
  step: number;
  family: Family;
  observable: string;
  name: string;
  session: number;
  /** Float64Array/Float32Array for 1-D arrays (the dtype appended), a Mat for 2-D ones. */
  value: StoredArrayValue;
}

/** Filter of {@link Run.rows} and {@link Run.arrays} (all given fields must match). */
export interface RowFilter {
  family?: Family | 'logs';
  observable?: string;
  step?: number;
}

/** Filter of {@link Run.arrays}. */
export interface ArrayFilter {
  family?: Family;
  observable?: string;
  step?: number;
  name?: string;
}
