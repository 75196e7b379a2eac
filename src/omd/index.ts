/**
 * Observable Matrix Dynamics (OMD): spectra of probe distance matrices over training
 * (Halperin 2026, "Learning as Observable Matrix Dynamics", arXiv 2606.29679). Pure TypeScript over the native core; no tfjs, no file system.
 * Eigenvalues ascending, index N−1 Perron, "bottom-three" = indices 0..2.
 */
export {
  observableMatrix,
  observableMatrixSync,
  analyzeObservable,
  analyzeObservableSync,
} from './observable.js';
export type {
  ObservableMetric,
  ObservableOptions,
  AnalyzeOptions,
  Fingerprint,
  BandFigures,
  AmbientFit,
  ObservableSnapshot,
  LabelFigures,
  BandDecision,
} from './types.js';
export * from './trajectory.js';
export * from './null.js';
export * from './templates.js';
export { OMD_SNAPSHOT_COLUMNS, OMD_POINT_COLUMNS, omdSnapshotToRow, omdPointToRow } from './columns.js';
