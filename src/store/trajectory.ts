/**
 * An OMD trajectory read back from a run: the per-snapshot figures regimes() reads, rebuilt from
 * the stored rows, so the regime reading can be re-run with other thresholds without the
 * matrices. The labelling itself is OmdTrajectory's (one implementation): the stored points are
 * handed to its regimes()/msd() as the points they read.
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import {
  OmdTrajectory,
  type Fingerprint,
  type MsdResult,
  type RegimeOptions,
  type RegimeReport,
} from '../omd/index.js';
import type { StepRow } from './types.js';

/**
 * Row columns an OMD row must carry for {@link StoredTrajectory.regimes}: the band overlap with
 * the previous snapshot and the band figures of the snapshot.
 */
export const REGIME_COLUMNS = {
  overlap: 'overlap',
  clear: 'band_clear',
  candidateSize: 'band_candidate_size',
  gapRatio: 'band_gap_ratio',
  fingerprint: 'band_fingerprint',
  clusterScore: 'band_cluster_score',
} as const;

/** What regimes() and msd() read of one trajectory point. */
export interface StoredTrajectoryPoint {
  step: number;
  index: number;
  /** Band subspace overlap with the previous snapshot (NaN for the first). */
  overlap: number;
  figures: {
    band: { clear: boolean; candidateSize: number; gapRatio: number; fingerprint: Fingerprint; clusterScore: number };
  };
  /** Aligned MDS cloud (N x 3) when the run stored a `cloud` array for this step. */
  cloud?: Mat<Float64Array>;
}

/** The stored OMD trajectory of one observable (see the module doc). */
export class StoredTrajectory {
  /** The observable (layer) name. */
  readonly observable: string;
  /** Points in step order. */
  readonly points: readonly StoredTrajectoryPoint[];

  /** @internal built by Run.trajectory(). */
  constructor(observable: string, rows: readonly StepRow[], clouds: Map<number, Mat<Float64Array>>) {
    this.observable = observable;
    this.points = rows.map((r, index) => {
      const get = <T>(key: string, kind: 'number' | 'boolean' | 'string'): T => {
        const v = r[key];
        if (typeof v !== kind) {
          throw new RangeError(
            expected(
              `a ${kind} column '${key}' in the OMD rows of '${observable}' (needed by regimes())`,
              `row at step ${r.step}`,
              v === undefined ? 'no such column' : v,
            ),
          );
        }
        return v as T;
      };
      return {
        step: r.step,
        index,
        overlap: get<number>(REGIME_COLUMNS.overlap, 'number'),
        figures: {
          band: {
            clear: get<boolean>(REGIME_COLUMNS.clear, 'boolean'),
            candidateSize: get<number>(REGIME_COLUMNS.candidateSize, 'number'),
            gapRatio: get<number>(REGIME_COLUMNS.gapRatio, 'number'),
            fingerprint: get<Fingerprint>(REGIME_COLUMNS.fingerprint, 'string'),
            clusterScore: get<number>(REGIME_COLUMNS.clusterScore, 'number'),
          },
        },
        ...(clouds.has(r.step) ? { cloud: clouds.get(r.step)! } : {}),
      };
    });
  }

  /** OmdTrajectory.regimes() on the stored points (same options, same defaults). */
  regimes(options: RegimeOptions = {}): RegimeReport {
    return OmdTrajectory.prototype.regimes.call(this.asTrajectory(), options);
  }

  /**
   * OmdTrajectory.msd() on the stored aligned clouds.
   * @throws RangeError when a point has no stored `cloud` array.
   */
  msd(): MsdResult {
    const missing = this.points.find((p) => !p.cloud);
    if (missing)
      throw new RangeError(
        expected(`a stored 'cloud' array at every step of '${this.observable}'`, `step ${missing.step}`, 'no cloud'),
      );
    return OmdTrajectory.prototype.msd.call(this.asTrajectory());
  }

  private asTrajectory(): OmdTrajectory {
    // OmdTrajectory's readers use only its point list and N.
    return { pointsList: this.points, n: this.points[0]?.cloud?.rows } as unknown as OmdTrajectory;
  }
}
