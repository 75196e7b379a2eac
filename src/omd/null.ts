/**
 * The i.i.d.-resample null (Halperin 2026, "Frustrated Dynamics of Distance Matrices", arXiv 2605.05376): the same snapshot figures for resampled
 * probe sets, so structure can be told from sampling noise.
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import { Rng } from '../random.js';
import { ksDistance2 } from '../stats.js';
import { checkInteger, checkNumber, checkOneOf, checkOptions } from '../validate.js';
import { runSteps, runStepsSync, type Steps } from '../linalg/route.js';
import { analysisSteps } from './observable.js';
import { shuffleColumns } from './significance.js';
import { optionKeys } from '../rmt/options.js';
import { ANALYZE_KEYS, checkReps, resolveOptions } from './input.js';
import type { AnalyzeOptions, ObservableSnapshot } from './types.js';

const NULL_KEYS = [
  ...ANALYZE_KEYS,
  ...optionKeys<Omit<NullOptions, keyof AnalyzeOptions>>({ replicas: true, seed: true, method: true, fraction: true }),
];

/** Options of {@link iidResampleNull}. */
export interface NullOptions extends AnalyzeOptions {
  /** Number of resampled probe sets; default 20. */
  replicas?: number;
  /** Seed of the resampling (replica r uses Rng stream r); default 1. */
  seed?: number;
  /**
   * `shuffle` (default): every coordinate column is permuted independently across probes, i.e.
   * probes drawn i.i.d. from the product of the observed marginals: joint (manifold, cluster,
   * Fourier) structure is destroyed, per-coordinate scales kept. `subsample`: ⌊fraction·N⌋ distinct
   * probes drawn without replacement: the sampling variability of the figures themselves.
   */
  method?: 'shuffle' | 'subsample';
  /** Subsample fraction in (0, 1]; default 0.8. */
  fraction?: number;
}

/** The scalar figures compared between the observed snapshot and its null replicas. */
export interface NullFigures {
  perronRatio: number;
  /** Band size m̂ (0 without a clear band). */
  bandSize: number;
  gapRatio: number;
  /** |λ̃| of the strongest non-Perron eigenvalue, λ̃ = λ/(N⟨d⟩). */
  topNormalized: number;
  bandMassFraction: number;
  participationRatio: number;
  /** Participation ratio divided by N − 1 (comparable across N). */
  participationFraction: number;
  entropyDimension: number;
  ambientDimension: number;
  ambientSigma: number;
  /**
   * Two-sample KS distance between the normalised non-band eigenvalues of this set and of the
   * observed set (0 for the observed set): FDM's bulk-density self-averaging check.
   */
  bulkDistance: number;
}

/** Mean, standard deviation and the observed value's position among the replicas. */
export interface NullSummary {
  mean: number;
  sd: number;
  min: number;
  max: number;
  /** (observed − mean)/sd (±Infinity when sd = 0 and they differ, 0 when equal). */
  z: number;
  /** Fraction of replicas with a value ≥ the observed one. */
  exceedance: number;
}

/** Output of {@link iidResampleNull}. */
export interface NullResult {
  method: 'shuffle' | 'subsample';
  observed: NullFigures;
  replicas: NullFigures[];
  summary: Record<Exclude<keyof NullFigures, 'bulkDistance'>, NullSummary>;
}

function figures(s: ObservableSnapshot, ref: Float64Array | undefined): { f: NullFigures; bulk: Float64Array } {
  const scale = s.n * s.meanDistance;
  const bulk = Float64Array.from(s.band.ranked.subarray(s.band.size), (v) => v / scale).sort();
  return {
    f: {
      perronRatio: s.perronRatio,
      bandSize: s.band.size,
      gapRatio: s.band.gapRatio,
      topNormalized: Math.abs(s.band.ranked[0]!) / scale,
      bandMassFraction: s.band.massFraction,
      participationRatio: s.participationRatio,
      participationFraction: s.participationRatio / (s.n - 1),
      entropyDimension: s.entropyDimension,
      ambientDimension: s.ambient.dimension,
      ambientSigma: s.ambient.sigma,
      bulkDistance: ref ? ksDistance2(bulk, ref) : 0,
    },
    bulk,
  };
}

/**
 * Analyses reps (N x D) and `replicas` i.i.d.-resampled probe sets (see {@link NullOptions.method})
 * with the same options, and summarises each scalar figure over the replicas. Replicas run one
 * after another on the libuv pool (each solve uses OpenBLAS's threads).
 *
 * Errors: TypeError for a non-Mat; RangeError for N < 4, NaN/Inf entries, bad options.
 */
export async function iidResampleNull(reps: Mat, options: NullOptions = {}): Promise<NullResult> {
  return runSteps(nullSteps(reps, options));
}

/**
 * Synchronous {@link iidResampleNull}: the same body and result, every analysis run with
 * {@link analyzeObservableSync}'s solves on the calling thread. Blocks the event loop for
 * (replicas + 1) snapshots: for small probe sets or worker threads.
 */
export function iidResampleNullSync(reps: Mat, options: NullOptions = {}): NullResult {
  return runStepsSync(nullSteps(reps, options));
}

/** The one body of iidResampleNull and its Sync twin. */
function* nullSteps(reps: Mat, options: NullOptions): Steps<NullResult> {
  checkOptions('iidResampleNull', options, NULL_KEYS);
  const { replicas: rIn, seed: sIn, method: mIn, fraction: fIn, ...analyze } = options ?? {};
  resolveOptions(analyze);
  checkReps(reps);
  const replicas = checkInteger(rIn ?? 20, 'replicas', { min: 1 });
  const seed = checkInteger(sIn ?? 1, 'seed');
  const method = checkOneOf(mIn ?? 'shuffle', 'method', ['shuffle', 'subsample']);
  const fraction = checkNumber(fIn ?? 0.8, 'fraction', { min: 0, max: 1, minExclusive: true });
  const n = reps.rows,
    d = reps.cols;
  const m = method === 'subsample' ? Math.floor(fraction * n) : n;
  if (m < 4) throw new RangeError(expected('a subsample of at least 4 probes', 'fraction', fraction));
  // Replicas and the observed set are read by the same fixed rule (no nested null; labels would
  // not fit a subsample's probes).
  const { labels: _l, reps: _r, ...plain } = analyze;
  const opts: AnalyzeOptions = { ...plain, input: 'reps', significance: 'gap' };
  const obs = figures(yield* analysisSteps(reps, opts), undefined);
  const reps2: NullFigures[] = [];
  for (let r = 0; r < replicas; r++) {
    let data: Float64Array;
    if (method === 'shuffle') data = shuffleColumns(reps, seed, r).data;
    else {
      const rng = new Rng(seed, r);
      data = new Float64Array(m * d);
      const perm = new Int32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      rng.shuffle(perm);
      for (let i = 0; i < m; i++) data.set(reps.data.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
    }
    reps2.push(figures(yield* analysisSteps({ data, rows: m, cols: d }, opts), obs.bulk).f);
  }
  const keys = Object.keys(obs.f).filter((k) => k !== 'bulkDistance') as Exclude<keyof NullFigures, 'bulkDistance'>[];
  const summary = {} as NullResult['summary'];
  for (const k of keys) {
    const xs = reps2.map((f) => f[k]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
    const o = obs.f[k];
    const z = sd > 0 ? (o - mean) / sd : o === mean ? 0 : o > mean ? Infinity : -Infinity;
    summary[k] = {
      mean,
      sd,
      min: Math.min(...xs),
      max: Math.max(...xs),
      z,
      exceedance: xs.filter((x) => x >= o).length / xs.length,
    };
  }
  return { method, observed: obs.f, replicas: reps2, summary };
}
