/**
 * OMD over training: a fixed, ordered probe set pushed snapshot by snapshot, trajectory figures
 * linking consecutive snapshots, and the diffusive-versus-transition reading (Halperin 2026).
 *
 * Conventions: as in observable.ts (ascending spectra, Perron last, band = largest-|λ|
 * non-Perron eigenvalues). Steps are the caller's training steps (any increasing numbers);
 * velocities are per unit step.
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import { checkMat } from '../matrix.js';
import { Limiter } from '../concurrency.js';
import { svdSync } from '../linalg/index.js';
import { checkInteger, checkNumber, checkOptions } from '../validate.js';
import { analysisSteps } from './observable.js';
import type { NullRotation, NullStreams, ReplicaScratch } from './significance.js';
import { runSteps, runStepsSync, solve, type Steps } from '../linalg/route.js';
import { ANALYZE_KEYS, isDistanceInput, resolveOptions } from './input.js';
import { optionKeys } from '../rmt/options.js';
import type { AnalyzeOptions, Fingerprint, ObservableSnapshot, Resolved } from './types.js';

const TRAJECTORY_KEYS = [
  ...ANALYZE_KEYS,
  ...optionKeys<Omit<TrajectoryOptions, keyof AnalyzeOptions>>({
    persistenceWindow: true,
    velocityCount: true,
    concurrency: true,
    returnVectors: true,
    nullRotation: true,
  }),
];
const REGIME_KEYS = optionKeys<RegimeOptions>({ minOverlap: true, minGapRatio: true, minWindow: true });
const PUSH_KEYS = optionKeys<PushOptions>({ reps: true });

/** Per-push options of {@link OmdTrajectory.push}. */
export interface PushOptions {
  /**
   * With a distance-matrix push: the N x D representations M was made from (row i ↔ probe i), so
   * the snapshot's band is also judged against the shuffle null (AnalyzeOptions.significance).
   * Same width D at every push.
   */
  reps?: Mat;
}

/** Options of {@link OmdTrajectory}: the snapshot options plus trajectory settings. */
export interface TrajectoryOptions extends AnalyzeOptions {
  /** Trailing window (snapshots, current included) for band persistence; default 5. */
  persistenceWindow?: number;
  /** Number of ranked non-Perron eigenvalues whose velocities are reported (after the Perron one); default 8. */
  velocityCount?: number;
  /**
   * Analyses allowed in flight at once when pushes are not awaited one by one; default 2.
   * Linking (overlaps, alignment) always happens in push order. The native BLAS gate runs a large
   * solve (eigh from N ≈ 300) alone with all OpenBLAS threads unless `setThreads(1)`, in which case
   * the solves of concurrent snapshots run side by side, one core each: for N ≲ 1000 trajectories
   * pipelining with `setThreads(1)` is the fastest setting (docs/performance.md, OMD section).
   */
  concurrency?: number;
  /**
   * The point a push resolves to also carries the snapshot's `bottomVectors` and `bandVectors`
   * (not retained in `points`, so memory stays O(N) per point). Default false.
   */
  returnVectors?: boolean;
  /**
   * The shuffle null in rotation (default true): each snapshot computes one of its
   * `nullReplicas` replicas fresh (stream index mod nullReplicas) and carries the others' tops
   * over from the previous snapshot, as long as they lie within 5 % of the fresh one
   * (NULL_CARRY_TOLERANCE, a fifth of the significance margin); otherwise, and at the first
   * snapshot, it computes all of them. At the default 2 replicas that halves the null's cost per
   * snapshot; every stream is fresh at least every `nullReplicas` snapshots, and
   * `band.nullCarried` says how many were carried. The pipelined `push` waits for the previous
   * snapshot's null where it needs it, so `push` and `pushSync` give the same figures. false: each
   * snapshot computes every replica, exactly as analyzeObservable does on its own.
   */
  nullRotation?: boolean;
}

/**
 * The retained figures of one snapshot (the distance matrix and eigenvectors are dropped
 * after linking; the previous snapshot's are kept for the next link).
 */
export type SnapshotFigures = Omit<ObservableSnapshot, 'matrix' | 'bandVectors' | 'bottomVectors' | 'mds'>;

/** One trajectory point: snapshot figures plus the links to the previous snapshot. */
export interface TrajectoryPoint {
  /** Training step as pushed. */
  step: number;
  /** Position in the trajectory (0-based). */
  index: number;
  figures: SnapshotFigures;
  /**
   * Subspace overlap O = ‖U_m(t)ᵀ U_m(t′)‖_F²/m ∈ [0, 1] between the band eigenvectors of this and
   * the previous snapshot, m = min of the two (candidate) band sizes; NaN for the first point.
   */
  overlap: number;
  /** The m used for overlap. */
  overlapSize: number;
  /** Fraction of the trailing persistenceWindow snapshots with a clear band of this snapshot's size (0 without a clear band). */
  persistence: number;
  /** ‖M(t) − M(t_prev)‖_F/‖M(t_prev)‖_F (dimensionless); NaN for the first point. */
  matrixVelocity: number;
  /**
   * |λ̃_k(t) − λ̃_k(t_prev)|/(t − t_prev) for the normalised eigenvalues λ̃ = λ/(N⟨d⟩): entry 0 is
   * the Perron value, entries 1..velocityCount the ranked non-Perron values; NaN for the first point.
   */
  eigenvalueVelocity: Float64Array;
  /** MDS cloud X = U_{0:3}|Λ_{0:3}|^½ (N x 3), Procrustes-aligned (rotation/reflection) to the previous point's cloud. */
  cloud: Mat<Float64Array>;
  /** Per-input squared displacement |x_i(t) − x_i(t_prev)|² of the aligned cloud; zeros for the first point. */
  displacement: Float64Array;
  /** Only on the point a push resolves to, with `returnVectors`: the snapshot's bottom eigenvectors (bottomK x N, rows = vectors). */
  bottomVectors?: Mat<Float64Array>;
  /** Only with `returnVectors`: the snapshot's band eigenvectors (m x N). */
  bandVectors?: Mat<Float64Array>;
}

/** Mean squared displacement of the aligned MDS cloud over lags. */
export interface MsdResult {
  /** Lags in steps (mean step difference at each snapshot lag τ = 1..L, L = ⌊T/2⌋). */
  lags: Float64Array;
  /** MSD(τ) = ⟨|x_i(t+τ) − x_i(t)|²⟩ over inputs i and start points t (units of M). */
  msd: Float64Array;
  /** Log–log slope α of MSD against lag (α ≈ 1 diffusive, ≈ 2 ballistic, ≈ 0 arrested). */
  exponent: number;
  /** Per-input MSD: rows = lags, cols = inputs. */
  perInput: Mat<Float64Array>;
  /** Per-input log–log exponent α_i. */
  perInputExponent: Float64Array;
}

/** Options of {@link OmdTrajectory.regimes}; defaults calibrated on the templates. */
export interface RegimeOptions {
  /**
   * Consecutive snapshots belong to one stable window while their band overlap is ≥ minOverlap.
   * Default 0.8 (stable templates: ≥ 0.95 between snapshots; pure-noise/diffusive bands: < 0.3).
   */
  minOverlap?: number;
  /** Band clear threshold; default: each snapshot's own `band.clear` (AnalyzeOptions.minGapRatio, 1.5). */
  minGapRatio?: number;
  /** Minimum length (snapshots) of a stable window; default 3. */
  minWindow?: number;
}

/** A labelled stretch of the trajectory. */
export interface RegimeWindow {
  /**
   * `diffusive`: no stable band (m̂ fluctuates or is absent, low overlap); `transition`: a band forms
   * and holds (constant m̂, clear gap, high overlap) after a period without it or with another
   * band; `stable`: a band that holds from the first snapshot.
   */
  label: 'diffusive' | 'transition' | 'stable';
  /** First and last snapshot index (inclusive) and their steps. */
  startIndex: number;
  endIndex: number;
  startStep: number;
  endStep: number;
  /** Band size m̂ (stable/transition) or the most frequent clear size (diffusive; 0 if none). */
  bandSize: number;
  /** Most frequent per-snapshot fingerprint in the window (`noise` = un-relaxed, no band). */
  fingerprint: Fingerprint;
  /** Mean overlap with the previous snapshot over the window (first point excluded). */
  meanOverlap: number;
  /** Mean band gap ratio over the window. */
  meanGapRatio: number;
}

/** A band formation event. */
export interface Transition {
  /** Step (and index) of the first snapshot of the new stable window: where the band forms. */
  step: number;
  index: number;
  bandSize: number;
  /** Band size of the preceding stable window, 0 if the preceding stretch had none. */
  previousBandSize: number;
  fingerprint: Fingerprint;
}

/** Output of {@link OmdTrajectory.regimes}. */
export interface RegimeReport {
  windows: RegimeWindow[];
  transitions: Transition[];
  /**
   * `transition` if any transition was found, else `stable` if one stable window covers the run,
   * else `diffusive`; `insufficient` when the trajectory has fewer than minWindow snapshots (no
   * window can be established either way: `windows` and `transitions` are then empty).
   */
  verdict: 'transition' | 'stable' | 'diffusive' | 'insufficient';
}

interface Prev {
  step: number;
  matrix: Mat<Float64Array>;
  bandVectors: Mat<Float64Array>;
  normalized: Float64Array;
  rankedIndex: Int32Array;
  cloud: Mat<Float64Array>;
}

/**
 * A trajectory of OMD snapshots for one fixed, ordered probe set (row i of every push is the same
 * input i). `push(step, reps | M)` analyses a snapshot (async; see {@link TrajectoryOptions.concurrency}
 * for pipelining) and links it to the previous one; `points`, `msd()` and `regimes()` read the result.
 *
 * Errors (RangeError): a different N than the first push, a representation width D different
 * from the first representation push's, a step not greater than the previous
 * push's, plus everything {@link analyzeObservable} rejects (N < 4, NaN rows, bad distance
 * matrices, all-identical probes).
 *
 * @example
 * const traj = new OmdTrajectory({ metric: 'angular' });
 * for (const [step, reps] of snapshots) await traj.push(step, reps);
 * for (const r of traj.regimes()) console.log(r.startStep, r.endStep, r.label, r.fingerprint);
 */
export class OmdTrajectory {
  private readonly options: AnalyzeOptions;
  private readonly resolved: Resolved;
  private width: number | undefined;
  private readonly persistenceWindow: number;
  private readonly velocityCount: number;
  private readonly limiter: Limiter;
  private readonly returnVectors: boolean;
  private readonly pointsList: TrajectoryPoint[] = [];
  private prev: Prev | undefined;
  private n: number | undefined;
  private lastStep = -Infinity;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly nullRotation: boolean;
  /** Snapshots admitted so far (the null rotation's index). */
  private admitted = 0;
  /**
   * pushSync's buffers for the next snapshot: the M that the last link released (the one before
   * `prev`'s) and the null replicas' (AnalysisBuffers). Pipelined pushes, which may run at once,
   * allocate their own.
   */
  private readonly syncBuffers: { matrix?: Float64Array; replica: ReplicaScratch } = { replica: {} };
  /** The last admitted snapshot's null tops, once its analysis has them (or has ended without). */
  private nullPrev: NullCell = settledCell(undefined);

  constructor(options: TrajectoryOptions = {}) {
    checkOptions('OmdTrajectory', options, TRAJECTORY_KEYS);
    options ??= {};
    this.resolved = resolveOptions(options);
    if (options.reps !== undefined)
      throw new TypeError(
        expected('representations given per push (push(step, M, { reps }))', 'OmdTrajectory options.reps', 'a Mat'),
      );
    const { persistenceWindow, velocityCount, concurrency, returnVectors, nullRotation, ...rest } = options;
    this.options = rest;
    this.returnVectors = returnVectors === true;
    if (nullRotation !== undefined && typeof nullRotation !== 'boolean')
      throw new TypeError(expected('a boolean', 'nullRotation', nullRotation));
    this.nullRotation = nullRotation !== false;
    this.persistenceWindow = checkInteger(persistenceWindow ?? 5, 'persistenceWindow', { min: 1 });
    this.velocityCount = checkInteger(velocityCount ?? 8, 'velocityCount', { min: 0 });
    this.limiter = new Limiter(concurrency ?? 2);
  }

  /** Number of probes N (undefined before the first push). */
  get size(): number | undefined {
    return this.n;
  }

  /** The linked points so far, in push order. */
  get points(): readonly TrajectoryPoint[] {
    return this.pointsList;
  }

  private admit(stepIn: unknown, x: unknown, pushOptions: unknown): AnalyzeOptions {
    const step = checkNumber(stepIn, 'step');
    if (step <= this.lastStep)
      throw new RangeError(expected(`a step greater than the previous one (${this.lastStep})`, 'step', step));
    checkMat(x, 'input');
    checkOptions('OmdTrajectory.push', pushOptions, PUSH_KEYS);
    const reps = (pushOptions as PushOptions | undefined)?.reps;
    if (reps !== undefined) checkMat(reps, 'reps');
    const n = x.rows;
    if (this.n !== undefined && n !== this.n) {
      throw new RangeError(expected(`the probe count of the first snapshot (N = ${this.n})`, 'input.rows', n));
    }
    // The representation width: the input's when it is read as reps, else the per-push reps'.
    const isReps = !isDistanceInput(x, this.resolved);
    const width = isReps ? x.cols : reps?.cols;
    if (width !== undefined && this.width !== undefined && width !== this.width) {
      const name = isReps ? 'input.cols' : 'reps.cols';
      throw new RangeError(
        expected(
          `the representation width of the earlier snapshots (D = ${this.width}; a trajectory follows one layer)`,
          name,
          width,
        ),
      );
    }
    this.width ??= width;
    this.n ??= n;
    this.lastStep = step;
    return reps !== undefined && !isReps ? { ...this.options, reps } : this.options;
  }

  /**
   * Analyses and links one snapshot: reps (N x D) or a distance matrix M (N x N; see
   * AnalyzeOptions.input). Several pushes may be in flight (pipelining); they link in push
   * order. Resolves to the new point. Do not mutate the input until it resolves. With a distance
   * matrix, `pushOptions.reps` hands the representations for the shuffle null (see {@link PushOptions}).
   * @throws RangeError (the promise rejects before anything is queued) for a different N or width D, or a step not increasing.
   */
  async push(step: number, input: Mat, pushOptions?: PushOptions): Promise<TrajectoryPoint> {
    const opts = this.admit(step, input, pushOptions);
    const rot = this.rotation();
    const analysis = this.limiter.run(() => runSteps(analysisSteps(input, opts, rot?.rotation)));
    if (rot) analysis.then(rot.end, rot.end);
    const linked = this.tail.then(() => analysis).then((snap) => this.link(step, snap));
    this.tail = linked.catch(() => undefined);
    return linked;
  }

  /** Synchronous {@link push} (no pipelining). */
  pushSync(step: number, input: Mat, pushOptions?: PushOptions): TrajectoryPoint {
    const opts = this.admit(step, input, pushOptions);
    const rot = this.rotation();
    try {
      const released = this.prev?.matrix.data;
      const point = this.link(step, runStepsSync(analysisSteps(input, opts, rot?.rotation, this.syncBuffers)));
      // The matrix before this one is no longer held (prev is this snapshot's now): the next M's buffer.
      this.syncBuffers.matrix = released;
      return point;
    } finally {
      rot?.end();
    }
  }

  /**
   * The null rotation of the snapshot just admitted (undefined when off): its index, the previous
   * snapshot's tops (awaited in the asynchronous pipeline; a synchronous push finds them
   * settled), and `end`, which settles this snapshot's cell without tops if its analysis ended
   * before publishing them (no null, or an error), so the next snapshot computes every replica.
   */
  private rotation(): { rotation: NullRotation; end: () => void } | undefined {
    if (!this.nullRotation) return undefined;
    const prev = this.nullPrev;
    const cell = pendingCell();
    this.nullPrev = cell;
    const rotation: NullRotation = {
      index: this.admitted++,
      previous: () => previousTops(prev),
      publish: (streams) => cell.settle(streams),
    };
    return { rotation, end: () => cell.settle(undefined) };
  }

  /** Waits for every pending push. */
  async flush(): Promise<void> {
    await this.tail;
  }

  private link(step: number, s: ObservableSnapshot): TrajectoryPoint {
    const n = s.n;
    const prev = this.prev;
    const index = this.pointsList.length;
    let overlap = NaN,
      overlapSize = 0,
      matrixVelocity = NaN;
    const vel = new Float64Array(1 + this.velocityCount).fill(NaN);
    let cloud = s.mds;
    const displacement = new Float64Array(n);
    if (prev) {
      // Band subspace overlap.
      const m = Math.min(s.bandVectors.rows, prev.bandVectors.rows);
      overlapSize = m;
      if (m > 0) {
        let f = 0;
        for (let a = 0; a < m; a++) {
          const u = s.bandVectors.data.subarray(a * n, (a + 1) * n);
          for (let b = 0; b < m; b++) {
            const v = prev.bandVectors.data.subarray(b * n, (b + 1) * n);
            let dot = 0;
            for (let i = 0; i < n; i++) dot += u[i]! * v[i]!;
            f += dot * dot;
          }
        }
        overlap = f / m;
      }
      // Matrix velocity.
      let num = 0,
        den = 0;
      const A = s.matrix.data,
        B = prev.matrix.data;
      for (let i = 0; i < A.length; i++) {
        const d = A[i]! - B[i]!;
        num += d * d;
        den += B[i]! * B[i]!;
      }
      matrixVelocity = Math.sqrt(num / den);
      // Eigenvalue velocities: Perron, then ranked non-Perron.
      const dt = step - prev.step;
      vel[0] = Math.abs(s.normalized[n - 1]! - prev.normalized[n - 1]!) / dt;
      for (let k = 0; k < this.velocityCount && k < n - 1; k++) {
        vel[k + 1] = Math.abs(s.normalized[s.band.rankedIndex[k]!]! - prev.normalized[prev.rankedIndex[k]!]!) / dt;
      }
      cloud = procrustes(s.mds, prev.cloud);
      const c = cloud.cols;
      for (let i = 0; i < n; i++) {
        let d2 = 0;
        for (let j = 0; j < c; j++) d2 += (cloud.data[i * c + j]! - prev.cloud.data[i * c + j]!) ** 2;
        displacement[i] = d2;
      }
    }
    // Persistence over the trailing window.
    let persistence = 0;
    if (s.band.clear) {
      let same = 1,
        total = 1;
      for (let j = this.pointsList.length - 1; j >= 0 && total < this.persistenceWindow; j--, total++) {
        const b = this.pointsList[j]!.figures.band;
        if (b.clear && b.size === s.band.size) same++;
      }
      persistence = same / total;
    }
    const { matrix, bandVectors, bottomVectors, mds, ...figures } = s;
    void mds;
    const point: TrajectoryPoint = {
      step,
      index,
      figures,
      overlap,
      overlapSize,
      persistence,
      matrixVelocity,
      eigenvalueVelocity: vel,
      cloud,
      displacement,
    };
    this.pointsList.push(point);
    this.prev = { step, matrix, bandVectors, normalized: s.normalized, rankedIndex: s.band.rankedIndex, cloud };
    return this.returnVectors ? { ...point, bottomVectors, bandVectors } : point;
  }

  /** Mean squared displacement of the aligned MDS cloud (see {@link MsdResult}); needs ≥ 3 points. */
  msd(): MsdResult {
    const pts = this.pointsList;
    const T = pts.length;
    if (T < 3) throw new RangeError(expected('at least 3 linked snapshots', 'trajectory length', T));
    const n = this.n!;
    const L = Math.max(1, Math.floor(T / 2));
    const lags = new Float64Array(L);
    const msd = new Float64Array(L);
    const per = new Float64Array(L * n);
    for (let tau = 1; tau <= L; tau++) {
      let lagSum = 0;
      for (let t = 0; t + tau < T; t++) {
        const a = pts[t]!.cloud,
          b = pts[t + tau]!.cloud;
        const c = a.cols;
        lagSum += pts[t + tau]!.step - pts[t]!.step;
        for (let i = 0; i < n; i++) {
          let d2 = 0;
          for (let j = 0; j < c; j++) d2 += (b.data[i * c + j]! - a.data[i * c + j]!) ** 2;
          per[(tau - 1) * n + i]! += d2;
        }
      }
      const cnt = T - tau;
      lags[tau - 1] = lagSum / cnt;
      let s = 0;
      for (let i = 0; i < n; i++) {
        per[(tau - 1) * n + i]! /= cnt;
        s += per[(tau - 1) * n + i]!;
      }
      msd[tau - 1] = s / n;
    }
    const perInputExponent = new Float64Array(n);
    const col = new Float64Array(L);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < L; t++) col[t] = per[t * n + i]!;
      perInputExponent[i] = logSlope(lags, col);
    }
    return { lags, msd, exponent: logSlope(lags, msd), perInput: { data: per, rows: L, cols: n }, perInputExponent };
  }

  /**
   * Labels the trajectory (the operational criterion of Halperin 2026): maximal runs of snapshots with a clear
   * band of constant size m̂ and overlap ≥ minOverlap with their predecessor, at least minWindow
   * long, are stable windows; everything between them is diffusive. A stable window that does not
   * start the trajectory is a `transition` (the band formed at its first step); each window carries
   * the majority fingerprint of its snapshots.
   */
  regimes(options: RegimeOptions = {}): RegimeReport {
    checkOptions('OmdTrajectory.regimes', options, REGIME_KEYS);
    options ??= {};
    const minOverlap = checkNumber(options.minOverlap ?? 0.8, 'minOverlap', { min: 0, max: 1 });
    const minWindow = checkInteger(options.minWindow ?? 3, 'minWindow', { min: 1 });
    const gapOpt =
      options.minGapRatio === undefined ? undefined : checkNumber(options.minGapRatio, 'minGapRatio', { min: 1 });
    const pts = this.pointsList;
    const T = pts.length;
    if (T < minWindow) return { windows: [], transitions: [], verdict: 'insufficient' };
    const clearOf = (p: TrajectoryPoint): boolean =>
      gapOpt === undefined ? p.figures.band.clear : p.figures.band.gapRatio >= gapOpt;
    const sizeOf = (p: TrajectoryPoint): number => (clearOf(p) ? p.figures.band.candidateSize : 0);
    // Runs of banded snapshots with constant size and high overlap.
    const stable: [number, number][] = [];
    let start = -1;
    for (let t = 0; t <= T; t++) {
      const p = pts[t];
      const continues =
        p !== undefined && start >= 0 && clearOf(p) && sizeOf(p) === sizeOf(pts[start]!) && p.overlap >= minOverlap;
      if (continues) continue;
      if (start >= 0 && t - start >= minWindow) stable.push([start, t - 1]);
      start = p !== undefined && clearOf(p) ? t : -1;
    }
    const windows: RegimeWindow[] = [];
    const make = (label: RegimeWindow['label'], a: number, b: number, bandSize: number): RegimeWindow => {
      const counts = new Map<Fingerprint, number>();
      const sizes = new Map<number, number>();
      let ov = 0,
        nov = 0,
        gr = 0;
      for (let t = a; t <= b; t++) {
        const p = pts[t]!;
        const own = p.figures.band;
        // A band made clear only by a lower minGapRatio override gets the default cluster reading.
        const fp: Fingerprint = !clearOf(p)
          ? 'noise'
          : own.fingerprint !== 'noise'
            ? own.fingerprint
            : own.clusterScore >= 0.8
              ? 'clusters'
              : 'smooth-manifold';
        counts.set(fp, (counts.get(fp) ?? 0) + 1);
        if (clearOf(p)) sizes.set(sizeOf(p), (sizes.get(sizeOf(p)) ?? 0) + 1);
        if (t > a && Number.isFinite(p.overlap)) {
          ov += p.overlap;
          nov++;
        }
        gr += p.figures.band.gapRatio;
      }
      const mode = <K>(m: Map<K, number>, def: K): K => {
        let best = def,
          bc = -1;
        for (const [k, c] of m) if (c > bc) [best, bc] = [k, c];
        return best;
      };
      return {
        label,
        startIndex: a,
        endIndex: b,
        startStep: pts[a]!.step,
        endStep: pts[b]!.step,
        bandSize: label === 'diffusive' ? mode(sizes, 0) : bandSize,
        fingerprint: mode(counts, 'noise' as Fingerprint),
        meanOverlap: nov > 0 ? ov / nov : NaN,
        meanGapRatio: gr / (b - a + 1),
      };
    };
    let cursor = 0;
    const transitions: Transition[] = [];
    for (const [a, b] of stable) {
      if (a > cursor) windows.push(make('diffusive', cursor, a - 1, 0));
      const size = sizeOf(pts[a]!);
      const w = make(a === 0 ? 'stable' : 'transition', a, b, size);
      windows.push(w);
      if (a > 0)
        transitions.push({
          step: pts[a]!.step,
          index: a,
          bandSize: size,
          previousBandSize: 0,
          fingerprint: w.fingerprint,
        });
      cursor = b + 1;
    }
    if (cursor < T) windows.push(make('diffusive', cursor, T - 1, 0));
    // previousBandSize: the last stable band before the transition, even across a diffusive gap.
    let last = 0;
    let ti = 0;
    for (const w of windows) {
      if (w.label === 'transition') transitions[ti++]!.previousBandSize = last;
      if (w.label !== 'diffusive') last = w.bandSize;
    }
    const verdict: RegimeReport['verdict'] =
      transitions.length > 0
        ? 'transition'
        : windows.length === 1 && windows[0]!.label === 'stable'
          ? 'stable'
          : 'diffusive';
    return { windows, transitions, verdict };
  }
}

/** Least-squares slope of log y against log x over entries with x, y > 0. */
function logSlope(x: Float64Array, y: Float64Array): number {
  let n = 0,
    sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!(x[i]! > 0 && y[i]! > 0)) continue;
    const a = Math.log(x[i]!),
      b = Math.log(y[i]!);
    n++;
    sx += a;
    sy += b;
    sxx += a * a;
    sxy += a * b;
  }
  const den = n * sxx - sx * sx;
  return n >= 2 && den > 0 ? (n * sxy - sx * sy) / den : NaN;
}

/** X R with R the orthogonal c x c matrix minimising ‖X R − Y‖_F (rotation or reflection). */
function procrustes(x: Mat<Float64Array>, y: Mat<Float64Array>): Mat<Float64Array> {
  const n = x.rows,
    c = x.cols;
  const C = new Float64Array(c * c);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) {
      const xa = x.data[i * c + a]!;
      for (let b = 0; b < c; b++) C[a * c + b]! += xa * y.data[i * c + b]!;
    }
  }
  // C = U S Vᵀ → R = U Vᵀ.
  const { u, v } = svdSync({ data: C, rows: c, cols: c });
  const R = new Float64Array(c * c);
  for (let k = 0; k < u.rows; k++) {
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) R[a * c + b]! += u.data[k * c + a]! * v.data[k * c + b]!;
  }
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < c; b++) {
      let s = 0;
      for (let a = 0; a < c; a++) s += x.data[i * c + a]! * R[a * c + b]!;
      out[i * c + b] = s;
    }
  }
  return { data: out, rows: n, cols: c };
}

/** A snapshot's null tops for the next one: settled once (later settles are ignored). */
interface NullCell {
  settled: boolean;
  value: NullStreams | undefined;
  promise: Promise<NullStreams | undefined>;
  settle(value: NullStreams | undefined): void;
}

function settledCell(value: NullStreams | undefined): NullCell {
  return { settled: true, value, promise: Promise.resolve(value), settle: () => undefined };
}

function pendingCell(): NullCell {
  let resolve!: (v: NullStreams | undefined) => void;
  const cell: NullCell = {
    settled: false,
    value: undefined,
    promise: new Promise((r) => {
      resolve = r;
    }),
    settle(value) {
      if (cell.settled) return;
      cell.settled = true;
      cell.value = value;
      resolve(value);
    },
  };
  return cell;
}

/**
 * The previous snapshot's tops: at once when settled, else awaited (a solve whose async run is
 * the cell's promise; run synchronously, an unsettled cell, which only a pipelined push still in
 * flight can leave, reads as no tops).
 */
function* previousTops(prev: NullCell): Steps<NullStreams | undefined> {
  if (prev.settled) return prev.value;
  return yield* solve({ run: () => prev.promise, runSync: () => (prev.settled ? prev.value : undefined) });
}
