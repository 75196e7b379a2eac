/**
 * Column registries: the scalar figures of an analysis family as a flat table schema, one
 * place from which tables, reports and docs read column names, units and types.
 *
 * A registry is an ordered list of {@link Column}s; the family's `toRow` turns one result into a
 * {@link FigureRow} with exactly those keys (arrays such as spectra and eigenvectors are not in
 * the row: they are stored apart). Both are generated from one list of column definitions, so
 * they cannot drift apart. This module holds the shared types and the weight-spectrum family
 * ({@link WEIGHT_SPECTRUM_COLUMNS}, {@link weightSpectrumToRow}); omd/ builds its families on
 * the same types.
 */
import type { WeightSpectrumRow } from './weight-spectrum.js';
import type { WeightRow } from './weights.js';

/**
 * Storage type of a column: `f64` (a number, NaN allowed: a figure that could not be computed),
 * `i32` (an integer, never NaN), `str` (one of a few documented names), `bool`.
 */
export type ColumnDtype = 'f64' | 'i32' | 'str' | 'bool';

/** One column of a registry. */
export interface Column {
  /** snake_case name, unique within its registry (WeightWatcher's where it has one). */
  readonly name: string;
  /**
   * Physical unit: '' for dimensionless figures and names, 'count' for counts, else the unit
   * in terms of the analysed matrix (e.g. 'W²' = squared units of the weight entries).
   */
  readonly unit: string;
  readonly dtype: ColumnDtype;
  /** One-line description. */
  readonly doc: string;
}

/** One flat record of scalar figures, keyed by column name. */
export type FigureRow = Record<string, number | string | boolean>;

/** A column and how to read it from a result of type T (internal). */
export type ColumnDef<T> = readonly [Column, (result: T) => number | string | boolean];

/** The registry and toRow of one family, built from one list of definitions (internal). */
export function columnFamily<T>(defs: readonly ColumnDef<T>[]): {
  columns: readonly Column[];
  toRow: (result: T) => FigureRow;
} {
  const columns = Object.freeze(defs.map(([c]) => Object.freeze({ ...c })));
  const names = new Set<string>();
  for (const c of columns) {
    if (names.has(c.name)) throw new Error(`internal: duplicate column '${c.name}'`);
    names.add(c.name);
  }
  const toRow = (result: T): FigureRow => {
    const row: FigureRow = {};
    for (const [c, get] of defs) row[c.name] = get(result);
    return row;
  };
  return { columns, toRow };
}

const col = (name: string, unit: string, dtype: ColumnDtype, doc: string): Column => ({ name, unit, dtype, doc });

const weightSpectrumDefs: readonly ColumnDef<WeightSpectrumRow>[] = [
  [col('N', 'count', 'i32', "Rows of W (outputs); WeightWatcher's N is max(rows, cols)"), (r) => r.N],
  [col('M', 'count', 'i32', "Columns of W (fan-in); WeightWatcher's M is min(rows, cols)"), (r) => r.M],
  [col('ratio', '', 'f64', "r = N/M (may be < 1; WeightWatcher's Q = max/min ≥ 1)"), (r) => r.ratio],
  [
    col('rf', 'count', 'i32', "Slices pooled: 1 for a matrix, kh·kw for a Conv2D kernel (WeightWatcher's rf)"),
    (r) => r.rf,
  ],
  [col('num_evals', 'count', 'i32', 'Eigenvalues of W Wᵀ used: rf · min(N, M)'), (r) => r.num_evals],
  [
    col('route', '', 'str', "'full' (every eigenvalue exact) or 'partial' (top topK exact, bulk from the SLQ density)"),
    (r) => r.route,
  ],
  [col('lambda_max', 'W²', 'f64', 'Largest eigenvalue of W Wᵀ (largest singular value squared)'), (r) => r.lambda_max],
  [col('spectral_norm', 'W²', 'f64', "WeightWatcher's name for lambda_max"), (r) => r.spectral_norm],
  [col('norm', 'W²', 'f64', 'Σλ = ‖W‖²_F'), (r) => r.norm],
  [col('stable_rank', '', 'f64', 'Σλ/λ_max = ‖W‖²_F/‖W‖²₂'), (r) => r.stable_rank],
  [
    col('entropy', '', 'f64', 'Normalised spectral entropy −Σ p ln p / ln R, p = λ/Σλ over the R positive eigenvalues'),
    (r) => r.entropy,
  ],
  [
    col('sigma_mp', 'W', 'f64', 'σ of the Marchenko–Pastur fit (W_ij ≈ variance σ²/M); NaN below minEvals levels'),
    (r) => r.sigma_mp,
  ],
  [col('variance_mp', 'W²', 'f64', 'σ² of the Marchenko–Pastur fit; NaN below minEvals levels'), (r) => r.variance_mp],
  [
    col('variance_mp_ci_low', 'W²', 'f64', 'Lower end of the bootstrap interval of variance_mp'),
    (r) => r.variance_mp_ci[0],
  ],
  [
    col('variance_mp_ci_high', 'W²', 'f64', 'Upper end of the bootstrap interval of variance_mp'),
    (r) => r.variance_mp_ci[1],
  ],
  [col('bulk_min', 'W²', 'f64', 'λ₋ of the Marchenko–Pastur fit'), (r) => r.bulk_min],
  [col('bulk_max', 'W²', 'f64', 'λ₊ of the Marchenko–Pastur fit'), (r) => r.bulk_max],
  [
    col(
      'num_spikes',
      'count',
      'f64',
      'Eigenvalues above λ₊ + margin · Tracy–Widom scale (BBP outliers); NaN below minEvals levels',
    ),
    (r) => r.num_spikes,
  ],
  [
    col('mp_softrank', '', 'f64', 'bulk_max/lambda_max (1 without a spike, → 0 for a strong one)'),
    (r) => r.mp_softrank,
  ],
  [
    col('mp_ks', '', 'f64', 'Kolmogorov–Smirnov distance of the bulk to the fitted Marchenko–Pastur law'),
    (r) => r.mp_ks,
  ],
  [
    col('alpha', '', 'f64', 'Power-law tail exponent of the ESD, p(λ) ∝ λ^(−α) (Clauset–Shalizi–Newman fit)'),
    (r) => r.alpha,
  ],
  [col('xmin', 'W²', 'f64', 'x_min of the power-law fit'), (r) => r.xmin],
  [col('alpha_ks', '', 'f64', 'Kolmogorov–Smirnov distance D of the power-law fit'), (r) => r.alpha_ks],
  [
    col(
      'gap_ratio',
      '',
      'f64',
      'Mean gap ratio of the bulk levels (GOE ≈ 0.53, Poisson ≈ 0.39); NaN on the partial route',
    ),
    (r) => r.gap_ratio,
  ],
  [
    col(
      'rand_num_spikes',
      'count',
      'f64',
      'Mean spikes per shuffled-entries replica (over the replicas an MP fit can read; the warning names the others); NaN without randomize or when none can',
    ),
    (r) => r.rand_num_spikes ?? NaN,
  ],
  [
    col('max_rand_eval', 'W²', 'f64', 'Largest eigenvalue over the shuffled replicas; NaN without randomize'),
    (r) => r.max_rand_eval ?? NaN,
  ],
  [
    col(
      'rand_distance',
      '',
      'f64',
      'Jensen–Shannon distance (natural log) between the ESD and the shuffled ESDs; NaN without randomize',
    ),
    (r) => r.rand_distance ?? NaN,
  ],
  [
    col('rand_ks', '', 'f64', 'Two-sample KS distance between the ESD and the shuffled ESDs; NaN without randomize'),
    (r) => r.rand_ks ?? NaN,
  ],
  [
    col(
      'warning',
      '',
      'str',
      "Why columns are NaN ('' when none are): too few eigenvalues or bulk levels; '; '-joined",
    ),
    (r) => r.warning,
  ],
];
const weightSpectrum = columnFamily<WeightSpectrumRow>(weightSpectrumDefs);

/**
 * The weight-spectrum columns: the scalar fields of {@link WeightSpectrumRow} with their
 * WeightWatcher names, the bootstrap interval split into `variance_mp_ci_low`/`_high`, and the
 * randomised-baseline columns always present (NaN without `randomize`). Not included (arrays,
 * stored apart): `evals`, `spikes`, `snr`.
 */
export const WEIGHT_SPECTRUM_COLUMNS: readonly Column[] = weightSpectrum.columns;

/** One weight-spectrum result as a flat row with exactly the {@link WEIGHT_SPECTRUM_COLUMNS} keys. */
export function weightSpectrumToRow(row: WeightSpectrumRow): FigureRow {
  return weightSpectrum.toRow(row);
}

const weightRowFamily = columnFamily<WeightRow>([
  [
    col(
      'layer_id',
      'count',
      'i32',
      "Position in the input, or the layer's index in the model walk (WeightWatcher's layer_id)",
    ),
    (r) => r.layer_id,
  ],
  [col('name', '', 'str', 'Name of the matrix or layer'), (r) => r.name],
  [col('layer_type', '', 'str', "'dense', 'conv2d', 'embedding' or 'matrix'"), (r) => r.layer_type],
  [
    col(
      'convention',
      '',
      'str',
      "'specdyn' or 'weightwatcher': which definitions N, M, ratio, sigma_mp, num_spikes and alpha follow",
    ),
    (r) => r.convention,
  ],
  ...weightSpectrumDefs.filter(([c]) => c.name !== 'warning'),
  [col('log_norm', '', 'f64', 'log10 Σλ (WeightWatcher)'), (r) => r.log_norm],
  [col('log_spectral_norm', '', 'f64', 'log10 λ_max (WeightWatcher)'), (r) => r.log_spectral_norm],
  [col('alpha_weighted', '', 'f64', 'α · log10 λ_max (WeightWatcher)'), (r) => r.alpha_weighted],
  [col('log_alpha_norm', '', 'f64', 'log10 Σ λ^α (WeightWatcher)'), (r) => r.log_alpha_norm],
  [
    col(
      'warning',
      '',
      'str',
      "'over-trained' (α < 2), 'under-trained' (α > 6), then weightSpectrum's reasons; '; '-joined, '' when none",
    ),
    (r) => r.warning,
  ],
]);

/**
 * The columns of an analyzeWeights / analyzeModel row: layer identity, every
 * {@link WEIGHT_SPECTRUM_COLUMNS} column, WeightWatcher's derived norms and the `warning`
 * (α rule first). Arrays stored apart: `evals`, `spikes`, `snr`, `theta`.
 */
export const WEIGHT_ROW_COLUMNS: readonly Column[] = weightRowFamily.columns;

/** One analyzeWeights / analyzeModel row as a flat row with exactly the {@link WEIGHT_ROW_COLUMNS} keys. */
export function weightRowToRow(row: WeightRow): FigureRow {
  return weightRowFamily.toRow(row);
}
