/**
 * One report row per weight matrix: the spectrum of X = W Wᵀ (W N x M, rows = outputs,
 * M = fan-in; pass a tfjs Dense kernel [in, out] transposed, or set `kernel: true`) read against
 * the MP bulk, BBP spikes, a power-law tail and level statistics. Column names follow
 * WeightWatcher where one exists, so the rows can be compared with its `details` DataFrame.
 */
import { expected } from '../errors.js';
import { checkMat, transpose, type Mat } from '../matrix.js';
import { Rng } from '../random.js';
import {
  eigvalshBatch,
  eigvalshBatchSync,
  gram,
  gramEigvalsh,
  gramEigvalshSync,
  gramOperator,
  gramSync,
  svds,
  svdsSync,
  svdvals,
  svdvalsSync,
} from '../linalg/index.js';
import {
  call,
  chooseRoute,
  pseudoSpectrum,
  resolveRoute,
  runSteps,
  runStepsSync,
  solve,
  type Steps,
} from '../linalg/route.js';
import { fitMarchenkoPastur, type MarchenkoPasturFit } from './fit.js';
import { gapRatio } from './level-stats.js';
import { powerLawFit } from './power-law.js';
import { detectSpikes, invertBbpOutlier, TRACY_WIDOM_1 } from './spikes.js';
import { histogram, jensenShannonDistance, ksDistance2 } from '../stats.js';
import { checkInteger, checkNumber, checkOneOf, checkOptions } from '../validate.js';
import { optionKeys } from './options.js';

const WEIGHT_SPECTRUM_KEYS = optionKeys<WeightSpectrumOptions>({
  kernel: true,
  margin: true,
  bootstrap: true,
  minEvals: true,
  randomize: true,
  route: true,
  partialAbove: true,
  topK: true,
  solver: true,
});
const RANDOMIZE_KEYS = ['replicas', 'seed', 'bins'] as const;

/** Options of {@link weightSpectrum}. */
export interface WeightSpectrumOptions {
  /** The input is a tfjs-style kernel [in, out] (= Wᵀ): transpose it first. Default false. */
  kernel?: boolean;
  /** Spike margin in Tracy–Widom scales (default TW₁ 99%: 2.0234). */
  margin?: number;
  /** Bootstrap resamples of the MP fit's interval (default 200). */
  bootstrap?: number;
  /** Fewest nonzero eigenvalues for the MP/power-law fits (default 10); below, those columns are NaN and `warning` says why (too few levels for RMT). */
  minEvals?: number;
  /**
   * Seeded randomised baseline: shuffle W's entries `replicas` times (default 3), recompute the
   * spectra, compare on a common histogram (`bins`, default 100). false/undefined: off.
   */
  randomize?: boolean | { replicas?: number; seed?: number; bins?: number };
  /**
   * `full`: every singular value (LAPACK ?gesdd, O(N M min(N, M))). `partial`: the top `topK`
   * exactly (svds) plus the bulk from a spectral density (SLQ), O(N M) per product; see
   * docs/rmt.md "Routes". `auto` (default): partial when min(N, M) > `partialAbove`.
   */
  route?: 'auto' | 'full' | 'partial';
  /** Size above which `auto` takes the partial route: min(N, M) > partialAbove. Default 4000. */
  partialAbove?: number;
  /** Partial route: number of exact top eigenvalues (svds); default 20 (at most min(N, M)). */
  topK?: number;
  /**
   * Full route: how the eigenvalues of W Wᵀ are computed. `svd` (default): squared singular
   * values (LAPACK ?gesdd), every eigenvalue to full relative accuracy. `gram`: the eigenvalues
   * of the smaller-side Gram matrix (W Wᵀ or WᵀW formed by ?syrk in float64, then ?syevd values
   * only, negatives of round-off set to 0), about 1.7x faster for 256 x 784 and 256 x 256, with
   * absolute errors of order 1e-16 · λ_max: an eigenvalue λ keeps a relative accuracy of about
   * 1e-16 · λ_max / λ, so only the smallest levels of a near-singular W move (docs/performance.md,
   * "The training monitor", measured on trained kernels).
   */
  solver?: 'svd' | 'gram';
}

/** The report row of {@link weightSpectrum}. Eigenvalue units are those of X = W Wᵀ. */
export interface WeightSpectrumRow {
  /** Rows of W (outputs). Note: WeightWatcher's N is max(rows, cols) and its M the min. */
  N: number;
  /** Columns of W (fan-in). */
  M: number;
  /** r = N/M (may be < 1; WeightWatcher's Q = max/min ≥ 1). */
  ratio: number;
  /** Number of slices pooled (1 for one matrix; kh·kw for a Conv2D kernel, WeightWatcher's `rf`). */
  rf: number;
  /** Number of nonzero-spectrum eigenvalues used: rf · min(N, M). */
  num_evals: number;
  /**
   * Which route computed the spectrum: `full` (every eigenvalue, exact) or `partial` (top
   * `topK` exact, the rest pseudo-eigenvalues from the SLQ density; see {@link evals}).
   */
  route: 'full' | 'partial';
  /** Largest eigenvalue of W Wᵀ (= largest singular value squared). */
  lambda_max: number;
  /** WeightWatcher's name for lambda_max. */
  spectral_norm: number;
  /** Frobenius norm squared Σλ = ‖W‖²_F (both routes: exact, from the entries on the partial route). */
  norm: number;
  /** Σλ / λ_max = ‖W‖²_F/‖W‖²₂; 0 for an all-zero W (its rank). */
  stable_rank: number;
  /**
   * Normalised spectral entropy −Σ p_i ln p_i / ln R with p_i = λ_i/Σλ over the R positive
   * eigenvalues; 1 for a flat spectrum, → 0 for rank one (WeightWatcher's `entropy`). Partial
   * route: of the pseudo-eigenvalues (Σλ their own sum), an estimate.
   */
  entropy: number;
  /** √σ² of the MP fit (W_ij ≈ variance σ²/M). WeightWatcher scales differently; compare bulk_min/bulk_max. */
  sigma_mp: number;
  /** σ² of the MP fit. */
  variance_mp: number;
  /** λ₋ of the fit. */
  bulk_min: number;
  /** λ₊ of the fit. */
  bulk_max: number;
  /** Spikes above λ₊ + margin · TW scale; 0 for an all-zero W, NaN when no MP fit is possible. */
  num_spikes: number;
  /** bulk_max / lambda_max (1 when there is no spike; → 0 for a strong one). */
  mp_softrank: number;
  /** KS distance of the bulk to the fitted MP law. */
  mp_ks: number;
  /** Bootstrap interval of variance_mp. */
  variance_mp_ci: [number, number];
  /** Power-law tail exponent of the ESD (p(λ) ∝ λ^(−α)). */
  alpha: number;
  /** Its x_min. */
  xmin: number;
  /** Its KS distance D. */
  alpha_ks: number;
  /** Spike eigenvalues, descending. */
  spikes: Float64Array;
  /** BBP signal-to-noise τ inferred for each spike (same order), relative to the fitted σ². */
  snr: Float64Array;
  /** Mean gap ratio of the bulk levels (all positive levels when no MP fit is possible); GOE-like ≈ 0.53, Poisson ≈ 0.39. NaN below 3 positive levels, and always NaN on the partial route (level statistics need exact levels). */
  gap_ratio: number;
  /**
   * Eigenvalues of W Wᵀ, ascending (the min(N, M) nonzero-spectrum ones). Partial route:
   * pseudo-eigenvalues, the min(N, M) midpoint quantiles of the SLQ density's CDF (capped at
   * the smallest exact top value), with the top `topK` replaced by the exact ones. They
   * reproduce the bulk's shape (MP fit, power law, entropy) but not individual levels.
   */
  evals: Float64Array;
  /**
   * Why columns are NaN, '' when none are: fewer than `minEvals` nonzero eigenvalues (MP and
   * power-law columns NaN), or outliers leaving fewer than `minEvals` levels below the fitted
   * edge (MP columns NaN; the power law, norms and entropy are still read), or an all-zero
   * matrix (stable_rank and num_spikes 0, the MP, power-law and entropy columns NaN). Several reasons are
   * joined with '; '.
   */
  warning: string;
  /** Randomised baseline (present only with `randomize`): spikes per shuffled replica (mean), each against its own MP fit. */
  rand_num_spikes?: number;
  /** Largest eigenvalue over the shuffled replicas. */
  max_rand_eval?: number;
  /** Jensen–Shannon distance (natural log) between the ESD and the pooled shuffled ESDs on a common histogram. */
  rand_distance?: number;
  /** Two-sample KS distance between the ESD and the pooled shuffled ESDs. */
  rand_ks?: number;
}

/**
 * Analyses one weight matrix W (N x M; see module doc): eigenvalues of W Wᵀ via the singular
 * values (LAPACK ?gesdd, squared), MP fit, spikes, power law, gap ratio and, optionally, a
 * seeded shuffled-entries baseline (the shuffled spectra are computed in parallel with
 * eigvalshBatch). Async: runs on the native thread pool.
 * Above `partialAbove` (or with `route: 'partial'`) the spectrum comes from the partial route
 * instead: top `topK` exact by svds, the bulk as SLQ pseudo-eigenvalues (see `route`, `evals`;
 * gap_ratio is then NaN and `randomize` is a RangeError). The row records the route taken.
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for NaN/Inf or bad option
 *   values. Too few eigenvalues for a fit is not an error: those columns are NaN and `warning`
 *   says why.
 * @example
 * const row = await weightSpectrum(kernel); // kernel: out x in, e.g. a Dense layer's Wᵀ
 * console.log(row.num_spikes, row.spikes, row.sigma_mp, row.alpha);
 */
export async function weightSpectrum(w: Mat, options: WeightSpectrumOptions = {}): Promise<WeightSpectrumRow> {
  return runSteps(weightSpectrumSteps(...oneMatrix(w, options, 'weightSpectrum')));
}

/**
 * Synchronous {@link weightSpectrum}: the same body and the same row, with every solve (svdvals,
 * or svds and the SLQ density; the shuffled baseline's Gram matrices and eigvalshBatch) run on
 * the calling thread. Blocks the event loop: for small matrices or worker threads.
 */
export function weightSpectrumSync(w: Mat, options: WeightSpectrumOptions = {}): WeightSpectrumRow {
  return runStepsSync(weightSpectrumSteps(...oneMatrix(w, options, 'weightSpectrum')));
}

/**
 * The slices of one layer as given, and W (N x M) itself where a solve needs its orientation:
 * a kernel ([in, out] = Wᵀ) is transposed only then, once (the smaller-side Gram spectrum of the
 * full route is read off the kernel as it is).
 */
class Slices {
  readonly N: number;
  readonly M: number;
  private ws: Mat[] | undefined;
  constructor(
    readonly given: Mat[],
    readonly kernel: boolean,
  ) {
    this.N = kernel ? given[0]!.cols : given[0]!.rows;
    this.M = kernel ? given[0]!.rows : given[0]!.cols;
  }
  /** The slices as W, N x M. */
  W(): Mat[] {
    this.ws ??= this.kernel ? this.given.map((s) => transpose(s)) : this.given;
    return this.ws;
  }
}

/** Checks one matrix and the options. */
function oneMatrix(w: Mat, options: WeightSpectrumOptions, fn: string): [Slices, WeightSpectrumOptions] {
  checkMat(w, 'w');
  checkOptions(fn, options, WEIGHT_SPECTRUM_KEYS);
  options ??= {};
  return [new Slices([w], !!options.kernel), options];
}

/**
 * {@link weightSpectrum} for a layer made of `slices.length` = rf matrices of one shape N x M
 * read together, as WeightWatcher reads a Conv2D kernel (its kh·kw slices of out x in): the
 * eigenvalues of every slice's W Wᵀ are pooled (num_evals = rf · min(N, M)) and fitted with one
 * MP law of ratio N/M, the Tracy–Widom margin of one N x M slice, and the shuffled baseline
 * shuffles the entries of all slices together. One slice is exactly `weightSpectrum`. Several
 * slices always take the full route (`route: 'partial'` is then a RangeError). `kernel: true`
 * transposes every slice.
 * @throws TypeError/RangeError for an empty list, a bad Mat or slices of different shapes.
 */
export async function weightSpectrumSlices(
  slices: Mat[],
  options: WeightSpectrumOptions = {},
): Promise<WeightSpectrumRow> {
  return runSteps(weightSpectrumSteps(...manySlices(slices, options, 'weightSpectrumSlices')));
}

/**
 * Synchronous {@link weightSpectrumSlices}: the same body and row, every solve on the calling
 * thread. Blocks the event loop: for small layers or worker threads.
 */
export function weightSpectrumSlicesSync(slices: Mat[], options: WeightSpectrumOptions = {}): WeightSpectrumRow {
  return runStepsSync(weightSpectrumSteps(...manySlices(slices, options, 'weightSpectrumSlicesSync')));
}

/** Checks the slices (one shape; a kernel's shape as given) and the options. */
function manySlices(slices: Mat[], options: WeightSpectrumOptions, fn: string): [Slices, WeightSpectrumOptions] {
  if (!Array.isArray(slices)) throw new TypeError(expected('an array of matrices', 'slices', slices));
  if (slices.length === 0) throw new RangeError(expected('at least one matrix', 'slices', slices));
  checkOptions(fn, options, WEIGHT_SPECTRUM_KEYS);
  options ??= {};
  for (const [i, s] of slices.entries()) checkMat(s, `slices[${i}]`);
  const kernel = !!options.kernel;
  const [r0, c0] = kernel ? [slices[0]!.cols, slices[0]!.rows] : [slices[0]!.rows, slices[0]!.cols];
  slices.forEach((s, i) => {
    const [r, c] = kernel ? [s.cols, s.rows] : [s.rows, s.cols];
    if (r !== r0 || c !== c0)
      throw new RangeError(expected(`a ${r0} x ${c0} matrix like slices[0]`, `slices[${i}]`, `${r} x ${c}`));
  });
  return [new Slices(slices, kernel), options];
}

/** The one body of weightSpectrum, weightSpectrumSlices and a Sync twin (yields each native solve; see linalg/route.ts). The slices are checked, of one shape. */
function* weightSpectrumSteps(slices: Slices, options: WeightSpectrumOptions): Steps<WeightSpectrumRow> {
  const { N, M } = slices,
    ratio = N / M,
    rf = slices.given.length;
  const margin = checkNumber(options.margin ?? TRACY_WIDOM_1.q99, 'margin');
  const minEvals = checkInteger(options.minEvals ?? 10, 'minEvals', { min: 2 });
  const routeOptions = resolveRoute(options);
  const topK = checkInteger(options.topK ?? 20, 'topK', { min: 1 });
  const solver = checkOneOf(options.solver ?? 'svd', 'solver', ['svd', 'gram']);
  const small = Math.min(N, M);
  if (routeOptions.route === 'partial' && rf > 1)
    throw new RangeError(expected("route 'full' or 'auto' for several slices", 'route', routeOptions.route));
  const route = rf > 1 ? 'full' : chooseRoute(routeOptions, small);
  if (route === 'partial' && options.randomize) {
    throw new RangeError(
      expected(
        "route 'full' (the shuffled baseline needs full spectra)",
        "randomize with route 'partial'",
        options.randomize,
      ),
    );
  }
  const { evals, norm } =
    route === 'full'
      ? yield* fullSpectrum(slices, solver)
      : yield* partialSpectrum(slices.W()[0]!, Math.min(topK, small));
  const k = evals.length;
  const lambdaMax = evals[k - 1]!;
  let entropy = NaN;
  let total = 0; // Σ evals: = norm on the full route; the pseudo-spectrum's own sum on the partial one
  for (const v of evals) total += v;
  if (total > 0) {
    let h = 0,
      R = 0;
    for (const v of evals)
      if (v > 1e-12 * lambdaMax) {
        const p = v / total;
        h -= p * Math.log(p);
        R++;
      }
    entropy = R > 1 ? h / Math.log(R) : 0;
  }
  const row: WeightSpectrumRow = {
    N,
    M,
    ratio,
    rf,
    num_evals: k,
    route,
    lambda_max: lambdaMax,
    spectral_norm: lambdaMax,
    norm,
    // An all-zero W has rank 0 and no spike: both defined as 0 (see `warning`).
    stable_rank: lambdaMax > 0 ? norm / lambdaMax : allZero(slices.given) ? 0 : NaN,
    entropy,
    sigma_mp: NaN,
    variance_mp: NaN,
    bulk_min: NaN,
    bulk_max: NaN,
    num_spikes: NaN,
    mp_softrank: NaN,
    mp_ks: NaN,
    variance_mp_ci: [NaN, NaN],
    alpha: NaN,
    xmin: NaN,
    alpha_ks: NaN,
    spikes: new Float64Array(0),
    snr: new Float64Array(0),
    gap_ratio: NaN,
    evals,
    warning: '',
  };
  const warnings: string[] = [];
  let positive = 0;
  for (const v of evals) if (v > 1e-10 * lambdaMax) positive++;
  const exactLevels = route === 'full';
  if (positive >= 3 && exactLevels) row.gap_ratio = gapRatio(evals.subarray(k - positive));
  if (positive === 0 && allZero(slices.given)) {
    row.num_spikes = 0;
    warnings.push(
      'all-zero matrix: every eigenvalue is 0; stable_rank and num_spikes are 0, the MP, power-law and entropy columns NaN',
    );
  } else if (positive < minEvals) {
    warnings.push(`too few eigenvalues: ${positive} nonzero < minEvals ${minEvals}; MP and power-law columns are NaN`);
  } else {
    const pl = powerLawFit(evals, { minTail: Math.min(minEvals, positive) });
    Object.assign(row, { alpha: pl.alpha, xmin: pl.xmin, alpha_ks: pl.ks });
    let fit: MarchenkoPasturFit | undefined;
    try {
      fit = fitMarchenkoPastur(evals, {
        ratio,
        rows: N,
        margin,
        bootstrap: options.bootstrap ?? 200,
        minBulk: Math.min(minEvals, positive),
      });
    } catch (err) {
      // The one failure valid input can still meet: outliers leave fewer than minEvals levels below the edge.
      if (!(err instanceof RangeError) || !/bulk eigenvalues below/.test(err.message)) throw err;
      warnings.push(
        `too few bulk eigenvalues for an MP fit (${err.message.replace(/^.*\((only .*)\)$/, '$1')}); MP columns are NaN`,
      );
    }
    if (fit) {
      const spikes = detectSpikes(evals, fit, { rows: N, cols: M, margin });
      const variance = fit.variance;
      Object.assign(row, {
        sigma_mp: fit.sigma,
        variance_mp: variance,
        bulk_min: fit.lower,
        bulk_max: fit.upper,
        num_spikes: spikes.count,
        mp_softrank: fit.upper / lambdaMax,
        mp_ks: fit.ks,
        variance_mp_ci: fit.ci,
        spikes: spikes.values,
        snr: spikes.values.map((l) => invertBbpOutlier(l, { ratio, variance })),
      });
      const bulk = evals.filter((v) => v > 1e-10 * lambdaMax && v <= spikes.threshold);
      if (bulk.length >= 3 && exactLevels) row.gap_ratio = gapRatio(bulk);
    }

    if (options.randomize && fit) {
      const ro = typeof options.randomize === 'object' ? options.randomize : {};
      checkOptions("weightSpectrum option 'randomize'", ro, RANDOMIZE_KEYS);
      const replicas = checkInteger(ro.replicas ?? 3, 'randomize.replicas', { min: 1 });
      const seed = checkInteger(ro.seed ?? 0, 'randomize.seed');
      const bins = checkInteger(ro.bins ?? 100, 'randomize.bins', { min: 2 });
      // Shuffle all entries together, then form each slice's Gram matrix on its smaller side (same nonzero spectrum).
      const size = N * M;
      const grams: Mat<Float64Array>[] = [];
      for (let rep = 0; rep < replicas; rep++) {
        const data = new Float64Array(size * rf);
        for (const [i, s] of slices.W().entries()) data.set(s.data, i * size);
        new Rng(seed, rep).shuffle(data);
        for (let i = 0; i < rf; i++) {
          const shuffled: Mat<Float64Array> = { data: data.subarray(i * size, (i + 1) * size), rows: N, cols: M };
          grams.push(yield* call(gram, gramSync, N <= M ? shuffled : transpose(shuffled)));
        }
      }
      const each = yield* call(eigvalshBatch, eigvalshBatchSync, grams);
      const rand: Float64Array[] = [];
      for (let rep = 0; rep < replicas; rep++) {
        const e = new Float64Array(k);
        for (let i = 0; i < rf; i++) e.set(each[rep * rf + i]!, i * small);
        rand.push(e.sort());
      }
      const pooled = new Float64Array(replicas * k);
      for (const [j, e] of rand.entries()) pooled.set(e, j * k);
      pooled.sort();
      // Spikes that survive shuffling, each replica read against its own MP fit. A replica can meet
      // the same failure as the fit above (outliers leave too few levels below its edge): it is
      // left out of the mean, and named in the warning.
      let randSpikes = 0;
      let fitted = 0;
      for (const [rep, e] of rand.entries()) {
        let rfit: MarchenkoPasturFit;
        try {
          rfit = fitMarchenkoPastur(e, {
            ratio,
            rows: N,
            margin,
            bootstrap: 0,
            minBulk: Math.min(minEvals, positive),
          });
        } catch (err) {
          if (!(err instanceof RangeError) || !/bulk eigenvalues below/.test(err.message)) throw err;
          warnings.push(
            `randomized replica ${rep}: too few bulk eigenvalues for an MP fit (${err.message.replace(/^.*\((only .*)\)$/, '$1')}); rand_num_spikes is the mean over the others`,
          );
          continue;
        }
        randSpikes += detectSpikes(e, rfit, { rows: N, cols: M, margin }).count;
        fitted++;
      }
      const hi = Math.max(lambdaMax, pooled[pooled.length - 1]!);
      const lo = Math.min(0, pooled[0]!);
      const h1 = histogram(evals, bins, lo, hi),
        h2 = histogram(pooled, bins, lo, hi);
      Object.assign(row, {
        rand_num_spikes: fitted > 0 ? randSpikes / fitted : Number.NaN,
        max_rand_eval: pooled[pooled.length - 1]!,
        rand_distance: jensenShannonDistance(h1.counts, h2.counts),
        rand_ks: ksDistance2(evals, pooled),
      });
    }
  }
  row.warning = warnings.join('; ');
  return row;
}

/**
 * Full route: every eigenvalue of each slice's W Wᵀ, pooled ascending; norm = Σλ. `svd`: as
 * squared singular values; `gram`: of the smaller-side Gram matrix (see WeightSpectrumOptions.solver),
 * formed and solved in the native core from the slice as given (W Wᵀ of a kernel Wᵀ is the Gram
 * matrix of its columns).
 */
function* fullSpectrum(slices: Slices, solver: 'svd' | 'gram'): Steps<{ evals: Float64Array; norm: number }> {
  const parts: Float64Array[] = [];
  // W Wᵀ when N ≤ M, else Wᵀ W: of a kernel (= Wᵀ) the columns' and the rows' Gram matrix.
  const of = slices.N <= slices.M !== slices.kernel ? 'rows' : 'columns';
  for (const [i, given] of slices.given.entries()) {
    if (solver === 'svd') {
      const sv = yield* call(svdvals, svdvalsSync, slices.W()[i]!);
      for (let j = 0; j < sv.length; j++) sv[j] = sv[j]! ** 2;
      parts.push(sv);
    } else {
      const ev = yield* call(gramEigvalsh, gramEigvalshSync, given, { of });
      for (let i = 0; i < ev.length; i++) if (ev[i]! < 0) ev[i] = 0;
      parts.push(ev);
    }
  }
  const k = parts[0]!.length;
  const evals = new Float64Array(k * parts.length);
  for (const [j, ev] of parts.entries()) evals.set(ev, j * k);
  evals.sort();
  let norm = 0;
  for (const v of evals) norm += v;
  return { evals, norm };
}

/**
 * Partial route: the top `topK` eigenvalues exactly (svds, squared) and min(N, M)
 * pseudo-eigenvalues from the SLQ density of the smaller-side Gram operator (never formed).
 * Pseudo-values are capped at the smallest exact top value (every other eigenvalue lies below
 * it; this also removes the density's smearing between the bulk edge and outliers), then the
 * top `topK` are replaced by the exact values. norm = ‖W‖²_F from the entries (exact).
 */
function* partialSpectrum(W: Mat, topK: number): Steps<{ evals: Float64Array; norm: number }> {
  const n = Math.min(W.rows, W.cols);
  const side = W.rows <= W.cols ? 'outer' : 'inner';
  const top = yield* call(svds, svdsSync, W, { k: topK });
  const evals = yield* solve(pseudoSpectrum(gramOperator(W, side), n));
  const exact = Float64Array.from(top.s, (s) => s * s).sort();
  const cap = exact[0]!;
  for (let i = 0; i < n; i++) if (evals[i]! > cap) evals[i] = cap;
  for (let i = 0; i < exact.length; i++) evals[n - exact.length + i] = exact[i]!;
  for (let i = 0; i < n; i++) if (evals[i]! < 0) evals[i] = 0; // a Gram spectrum is ≥ 0; the padded grid may dip below
  let norm = 0;
  for (let i = 0; i < W.data.length; i++) norm += W.data[i]! * W.data[i]!;
  return { evals, norm };
}

/** True when every entry of every slice is 0 (the spectrum is then exactly zero, not merely underflowed). */
function allZero(Ws: Mat[]): boolean {
  for (const w of Ws) for (let i = 0; i < w.data.length; i++) if (w.data[i] !== 0) return false;
  return true;
}
