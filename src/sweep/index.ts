/**
 * Sweeps: many cells of one experiment, run the same way on one machine (worker processes), as
 * Slurm or Kubernetes array-job shards, or through a BullMQ/Redis queue, all writing complete-or-
 * absent cell directories under one shared root, collected into one table and one report.
 * docs/scale-out.md describes the file format, the runners and their settings.
 */
export {
  SweepSpecError,
  parseSweepSpec,
  expandSweep,
  shardCells,
  parseShard,
  shardFromEnv,
  type SweepSpec,
  type Cell,
  type ExpandedSweep,
  type Shard,
} from './spec.js';
export { prepareSweep, readSweepFile, loadResolver, type ExperimentResolver } from './load.js';
export {
  MANIFEST_FILE,
  CELL_FILE,
  cellDir,
  readManifest,
  readCell,
  readFailure,
  runCell,
  writeManifest,
  type SweepManifest,
  type CellRecord,
  type FailureRecord,
} from './cells.js';
export { CellPool, CellProcessError, type CellPoolOptions } from './pool.js';
export { allowedCpus, parseCpuList, planPinning, type PinPlan, type PinEnvironment } from './affinity.js';
export { runSweep, type RunSweepOptions, type RunSweepResult, type SweepEvent } from './local.js';
export {
  checkRedis,
  enqueueSweep,
  runWorker,
  queueStatus,
  cellJobId,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  type QueueSettings,
  type EnqueueOptions,
  type EnqueueResult,
  type WorkerOptions,
  type WorkerEvent,
  type WorkerResult,
  type QueueStatus,
  type JobSummary,
} from './queue.js';
export {
  collectSweep,
  sweepTable,
  tableCsv,
  tableArrow,
  IncompleteSweepError,
  type CollectOptions,
  type CollectResult,
  type SweepTable,
  type TableColumn,
  type MissingCell,
} from './collect.js';
