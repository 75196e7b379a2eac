/**
 * The run store: the one writer of run directories (besides the CLI and report), and readers
 * for arrays other frameworks write.
 *
 * Writing: `const w = await createRun(dir, { config, seed })`, then per snapshot
 * `w.append({ step, logs, observables: [{ observable, family, row, arrays }] })`, `await w.flush()`
 * when the snapshot should survive a crash, and `await w.close({ status })`.
 * Reading: `const run = await openRun(dir)`; `run.rows({ family, observable })`,
 * `run.arrays({ observable, name })`, `run.trajectory(layer).regimes({ minOverlap })`.
 * File layout: docs/formats.md.
 */
export type {
  ArrayFilter,
  CloseOptions,
  ColumnMeta,
  CreateRunOptions,
  Family,
  ObservableRecord,
  Row,
  RowFilter,
  RunMeta,
  RunStatus,
  RunWriter,
  Scalar,
  SessionInfo,
  Snapshot,
  StepRow,
  StoredArray,
  StoredArrayValue,
} from './types.js';
export { createRun, openRun, repairRun, Run, RUN_FILE, STEPS_FILE, shardName } from './run.js';
export { StoredTrajectory, REGIME_COLUMNS, type StoredTrajectoryPoint } from './trajectory.js';
export { spectraSchema, ARROW_INSTALL, type SpectraSchema, type SpectraField } from './arrow.js';
export { NONFINITE_KEY } from './jsonl.js';
export { LOCK_FILE } from './lock.js';
export { toMat, halfToNumber, bfloat16ToNumber, type NdArray } from './ndarray.js';
export { parseNpy, readNpy, parseNpz, readNpz } from './npy.js';
export {
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type ReadSafetensorsOptions,
} from './safetensors.js';
export { SpecdynError } from '../errors.js';
export {
  importSnapshots,
  importCheckpoints,
  omdRecord,
  weightRecord,
  columnMetaOf,
  type ImportSnapshotsOptions,
  type ImportCheckpointsOptions,
  type ImportResult,
} from './import.js';
