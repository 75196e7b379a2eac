/**
 * What a report draws: one run as plain data (rows and typed arrays), independent of how it was
 * stored. {@link fromRun} in ./from-store.ts fills it from a run directory.
 */
import type { RegimeReport } from '../omd/index.js';

/** Scalar figures of one weight layer at one snapshot (column names as in weightSpectrum). */
export interface WeightRow {
  step: number;
  lambda_max: number;
  bulk_min: number;
  bulk_max: number;
  variance_mp: number;
  ratio: number;
  num_spikes: number;
  alpha: number;
  gap_ratio: number;
  /** Any other scalar columns the store holds (stable_rank, mp_softrank, ...). */
  [column: string]: number;
}

/** A weight layer's series: its rows by step, and the spectra kept (eigenvalues of W Wᵀ, ascending). */
export interface WeightLayer {
  layer: string;
  /** Shape of W (out x in) when known. */
  shape?: [number, number];
  rows: WeightRow[];
  spectra: { step: number; evals: Float64Array }[];
}

/** Scalar OMD figures of one layer at one snapshot. */
export interface OmdRow {
  step: number;
  /** λ_Perron/(N⟨d⟩). */
  perronRatio: number;
  /** Band size m̂ (0 without a clear band). */
  bandSize: number;
  /** Subspace overlap O(t) with the previous snapshot (NaN at the first). */
  overlap: number;
  participationRatio: number;
  entropyDimension: number;
  [column: string]: number;
}

/** An OMD layer's series: rows, normalised spectra λ/(N⟨d⟩) (ascending) and MDS clouds (N x ≥ 2, row-major). */
export interface OmdLayer {
  layer: string;
  rows: OmdRow[];
  spectra: { step: number; normalized: Float64Array }[];
  clouds: { step: number; coords: Float64Array; dims: number }[];
  /** Probe labels (one per probe), when the run has them. */
  labels?: ArrayLike<number>;
  regimes?: RegimeReport;
}

/** One run, as the report reads it. */
export interface ReportRun {
  /** Run directory. */
  dir: string;
  /** Short name shown in titles and legends. */
  name: string;
  /** `finished`, or anything else (`running`, `interrupted`, `failed`): the report says the run is unfinished. */
  status: string;
  backend?: string;
  startedAt?: string;
  endedAt?: string;
  /** Wall time of the run so far, seconds. */
  durationSeconds?: number;
  /** Loss and metrics per step (one row per snapshot or logged step). */
  training: { step: number; [metric: string]: number }[];
  weights: WeightLayer[];
  omd: OmdLayer[];
  /** Free-form run facts shown in the summary (config keys, seed, versions). */
  facts?: Record<string, string | number | boolean>;
}
