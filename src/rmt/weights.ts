/**
 * One row per weight layer for a named set of matrices, like WeightWatcher's `analyze()`
 * DataFrame: the {@link weightSpectrum} columns, WeightWatcher's derived norm columns, its
 * under/over-trained `warning`, and specdyn's own BBP reading of every spike. Analysis only: it
 * takes typed arrays (the tfjs walk is `analyzeModel` in specdyn/train, the file readers feed it
 * from safetensors/.npz).
 *
 * Two conventions (`convention`), because a few WeightWatcher columns are defined differently:
 *
 * | column | `specdyn` (default) | `weightwatcher` |
 * | --- | --- | --- |
 * | N, M, ratio | rows (outputs) and columns (fan-in) of W, r = N/M (may be < 1) | larger and smaller side, Q = N/M ≥ 1 |
 * | sigma_mp, variance_mp | σ of W_ij ≈ σ²/M, eigenvalue units | σ of the spectrum rescaled to mean 1 (unitless, ≈ 1 for noise) |
 * | num_spikes, spikes, snr | above λ₊ + 2.02 Tracy–Widom scales (TW₁ 99%) | above λ₊ + √TW, TW = Q^(−1/2) λ₊^(2/3) M^(−2/3) in the rescaled units (several TW scales) |
 * | alpha, xmin, alpha_ks | Clauset fit over tails ≥ minEvals values, two-sided KS | every candidate x_min over eigenvalues > 1e-5, KS only below each step of the empirical CDF |
 *
 * Everything else is shared: the spectrum itself, the MP fit (specdyn's Wasserstein fit in both;
 * WeightWatcher's kernel-density grid fit is not reproduced), bulk_min/bulk_max (the same law in
 * eigenvalue units), mp_softrank, the norms, entropy.
 */
import { expected } from '../errors.js';
import { checkMat, type Mat } from '../matrix.js';
import { checkObject, checkOneOf, checkOptionsObject } from '../validate.js';
import { powerLawFit } from './power-law.js';
import { invertBbpOutlier } from './spikes.js';
import { weightSpectrumSlices, type WeightSpectrumOptions, type WeightSpectrumRow } from './weight-spectrum.js';

/** WeightWatcher's α thresholds of its `warning` column: α < 2 over-trained, α > 6 under-trained. */
export const ALPHA_WARNING = { overTrained: 2, underTrained: 6 } as const;

/** Which definitions the convention-dependent columns follow (see the module doc table). */
export type WeightConvention = 'specdyn' | 'weightwatcher';

/** What kind of layer a matrix came from (`matrix` when the caller did not say). */
export type WeightLayerType = 'dense' | 'conv2d' | 'embedding' | 'matrix';

/**
 * One entry of {@link analyzeWeights}: a matrix W (rows = outputs, columns = fan-in; a tfjs
 * kernel [in, out] with `kernel: true`), or a layer made of several equally shaped slices
 * (Conv2D: its kh·kw slices, see `weightSpectrumSlices`).
 */
export type WeightInput =
  | Mat
  | { slices: Mat[]; type?: WeightLayerType; kernel?: boolean }
  | { matrix: Mat; type?: WeightLayerType; kernel?: boolean };

/** Options of {@link analyzeWeights}: those of weightSpectrum plus the convention. */
export interface AnalyzeWeightsOptions extends WeightSpectrumOptions {
  /** Default `specdyn`; `weightwatcher` redefines the columns of the module doc table. */
  convention?: WeightConvention;
}

/** One row of {@link analyzeWeights}: weightSpectrum's columns plus those below. */
export interface WeightRow extends WeightSpectrumRow {
  /** Position in the input (or in the model's layer list for analyzeModel), from 0. */
  layer_id: number;
  /** Key of the input (the layer name for analyzeModel). */
  name: string;
  /** Kind of layer. */
  layer_type: WeightLayerType;
  /** The convention the columns follow. */
  convention: WeightConvention;
  /** log10 of norm = Σλ = ‖W‖²_F (WeightWatcher's `log_norm`). */
  log_norm: number;
  /** log10 λ_max (WeightWatcher's `log_spectral_norm`). */
  log_spectral_norm: number;
  /** α · log10 λ_max (WeightWatcher's `alpha_weighted`, α̂). */
  alpha_weighted: number;
  /** log10 Σ λ_i^α over the eigenvalues (WeightWatcher's `log_alpha_norm`). */
  log_alpha_norm: number;
  /** BBP signal strength θ = √(τ σ²) of each spike (same order as `spikes`), in singular-value units of W; σ² in eigenvalue units. */
  theta: Float64Array;
  /**
   * '' or '; '-joined reasons: `over-trained` (α < 2) or `under-trained` (α > 6), WeightWatcher's
   * rule on its α; and weightSpectrum's own (too few eigenvalues, too few bulk levels: the NaN
   * columns are named there).
   */
  warning: string;
}

/** The WeightWatcher-style power-law fit (see the module doc table). */
function wwPowerLaw(evals: Float64Array): { alpha: number; xmin: number; ks: number } | undefined {
  const nz = evals.filter((v) => v > 1e-5);
  if (nz.length < 2) return undefined;
  try {
    const f = powerLawFit(nz, { minTail: 2, maxCandidates: nz.length, ksSide: 'lower' });
    return { alpha: f.alpha, xmin: f.xmin, ks: f.ks };
  } catch {
    return undefined; // a degenerate tail (all equal): WeightWatcher reports a failed fit too
  }
}

/** Rewrites the convention-dependent columns of a specdyn row in WeightWatcher's definitions. */
function toWeightWatcher(row: WeightSpectrumRow): void {
  const s2 = row.variance_mp; // specdyn's σ², eigenvalue units: the BBP inversion stays in them
  const rows = row.N,
    cols = row.M,
    r = rows / cols;
  const N = Math.max(rows, cols),
    M = Math.min(rows, cols),
    Q = N / M;
  row.N = N;
  row.M = M;
  row.ratio = Q;
  const evals = row.evals;
  let sum = 0,
    n = 0;
  for (const v of evals)
    if (v > 1e-10 * row.lambda_max) {
      sum += v;
      n++;
    }
  const mean = n > 0 ? sum / n : NaN;
  if (Number.isFinite(row.variance_mp)) {
    // The same MP law written with WeightWatcher's σ: λ± = s²(1 ± Q^(−1/2))², s² = σ² max(1, r), then /mean.
    const v = (row.variance_mp * Math.max(1, r)) / mean;
    const ci = row.variance_mp_ci.map((c) => (c * Math.max(1, r)) / mean) as [number, number];
    const edge = row.bulk_max / mean;
    const tw = Math.pow(Q, -0.5) * Math.pow(edge, 2 / 3) * Math.pow(M, -2 / 3);
    const cut = (edge + Math.sqrt(tw)) * mean;
    const spikes = evals.filter((x) => x > cut).reverse();
    Object.assign(row, {
      variance_mp: v,
      sigma_mp: Math.sqrt(v),
      variance_mp_ci: ci,
      num_spikes: spikes.length,
      spikes,
      snr: spikes.map((l) => invertBbpOutlier(l, { ratio: r, variance: s2 })),
    });
  }
  const pl = wwPowerLaw(evals);
  if (pl) Object.assign(row, { alpha: pl.alpha, xmin: pl.xmin, alpha_ks: pl.ks });
}

/** Resolves one input entry to its slices, layer type and transpose flag. */
function resolveInput(
  value: WeightInput,
  name: string,
): { slices: Mat[]; type: WeightLayerType; kernel: boolean | undefined } {
  checkObject(value, name, 'a matrix { data, rows, cols }, { matrix } or { slices: [...] }');
  if ('slices' in value) {
    if (!Array.isArray(value.slices))
      throw new TypeError(expected('an array of matrices', `${name}.slices`, value.slices));
    return {
      slices: value.slices,
      type: value.type ?? (value.slices.length > 1 ? 'conv2d' : 'matrix'),
      kernel: value.kernel,
    };
  }
  if ('matrix' in value) {
    checkMat(value.matrix, `${name}.matrix`);
    return { slices: [value.matrix], type: value.type ?? 'matrix', kernel: value.kernel };
  }
  checkMat(value, name);
  return { slices: [value], type: 'matrix', kernel: undefined };
}

/**
 * Analyses a named set of weight matrices, one {@link WeightRow} per entry in insertion order
 * (`{ fc1: W1, fc2: W2 }`, or a Map). Each row is weightSpectrum's (weightSpectrumSlices for a
 * layer of several slices) with the derived columns of {@link WeightRow}; with `convention:
 * 'weightwatcher'` the columns of the module doc table follow WeightWatcher's definitions.
 * Layers run concurrently on the native pool. A layer with too few eigenvalues is a row whose NaN
 * columns are explained in `warning`, never an error.
 * @throws TypeError/RangeError naming the entry for a bad matrix or option; RangeError for an empty set.
 */
export async function analyzeWeights(
  weights: Record<string, WeightInput> | Map<string, WeightInput>,
  options: AnalyzeWeightsOptions = {},
): Promise<WeightRow[]> {
  checkObject(weights, 'weights', 'an object or Map of named matrices');
  checkOptionsObject(options);
  const convention = checkOneOf(options.convention ?? 'specdyn', 'convention', ['specdyn', 'weightwatcher']);
  const entries = weights instanceof Map ? [...weights.entries()] : Object.entries(weights);
  if (entries.length === 0) throw new RangeError(expected('at least one named matrix', 'weights', weights));
  const { convention: _c, ...spectrumOptions } = options;
  const inputs = entries.map(([name, value]) => ({ name, ...resolveInput(value, `weights.${name}`) }));
  return Promise.all(
    inputs.map(async ({ name, slices, type, kernel }, layerId) => {
      const row = await weightSpectrumSlices(slices, { ...spectrumOptions, kernel: kernel ?? options.kernel });
      return weightRow(row, { layerId, name, type, convention });
    }),
  );
}

/**
 * Adds the derived columns of {@link WeightRow} to a weightSpectrum row (mutates and returns
 * it), after rewriting the convention-dependent ones for `weightwatcher`.
 */
export function weightRow(
  spectrum: WeightSpectrumRow,
  {
    layerId,
    name,
    type,
    convention = 'specdyn',
  }: { layerId: number; name: string; type: WeightLayerType; convention?: WeightConvention },
): WeightRow {
  checkOneOf(convention, 'convention', ['specdyn', 'weightwatcher']);
  // theta from the specdyn σ² (before a possible rewrite of variance_mp into unitless form)
  const s2 = spectrum.variance_mp;
  if (convention === 'weightwatcher') toWeightWatcher(spectrum);
  const { alpha, lambda_max: lmax, norm, evals } = spectrum;
  let alphaNorm = NaN;
  if (Number.isFinite(alpha)) {
    alphaNorm = 0;
    for (const v of evals) if (v > 0) alphaNorm += Math.pow(v, alpha);
  }
  const warnings: string[] = [];
  if (alpha < ALPHA_WARNING.overTrained) warnings.push('over-trained');
  else if (alpha > ALPHA_WARNING.underTrained) warnings.push('under-trained');
  if (spectrum.warning) warnings.push(spectrum.warning);
  const row = spectrum as WeightRow;
  Object.assign(row, {
    layer_id: layerId,
    name,
    layer_type: type,
    convention,
    log_norm: Math.log10(norm),
    log_spectral_norm: Math.log10(lmax),
    alpha_weighted: alpha * Math.log10(lmax),
    log_alpha_norm: Math.log10(alphaNorm),
    theta: spectrum.snr.map((t) => Math.sqrt(t * s2)),
    warning: warnings.join('; '),
  });
  return row;
}
