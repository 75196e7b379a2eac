/**
 * Column registries of the OMD families (see rmt/columns.ts for the types): the scalar figures of
 * one snapshot ({@link OMD_SNAPSHOT_COLUMNS}, {@link omdSnapshotToRow}) and of one trajectory
 * point, i.e. the snapshot's figures plus its links to the previous snapshot
 * ({@link OMD_POINT_COLUMNS}, {@link omdPointToRow}). Names are the snapshot's fields in
 * snake_case, nested ones prefixed (`band.gapRatio` → `band_gap_ratio`). Arrays (spectra,
 * ranked values, gaps, multiplets, eigenvectors, MDS clouds, velocities past the Perron one)
 * are not in the rows.
 *
 * Units: 'M' = the units of the distance matrix (radians for `angular`, representation units for
 * `euclidean`, squared units for `sqeuclidean`, dimensionless for `cosine`).
 */
import { columnFamily, type Column, type ColumnDef, type ColumnDtype, type FigureRow } from '../rmt/columns.js';
import type { SnapshotFigures, TrajectoryPoint } from './trajectory.js';

const col = (name: string, unit: string, dtype: ColumnDtype, doc: string): Column => ({ name, unit, dtype, doc });

const snapshotDefs: readonly ColumnDef<SnapshotFigures>[] = [
  [col('n', 'count', 'i32', 'Number of probes N'), (s) => s.n],
  [col('metric', '', 'str', "Distance of M: 'angular', 'euclidean', 'cosine' or 'sqeuclidean'"), (s) => s.metric],
  [
    col('route', '', 'str', "'full' (every eigenvalue exact) or 'partial' (edges exact, bulk from the SLQ density)"),
    (s) => s.route,
  ],
  [col('perron', 'M', 'f64', 'Perron eigenvalue λ_{N−1} of M'), (s) => s.perron],
  [col('mean_distance', 'M', 'f64', '⟨d⟩, the mean off-diagonal entry of M'), (s) => s.meanDistance],
  [col('perron_ratio', '', 'f64', 'λ_Perron/(N⟨d⟩)'), (s) => s.perronRatio],
  [col('positive_count', 'count', 'i32', 'Eigenvalues > positiveTolerance · λ_Perron'), (s) => s.positiveCount],
  [
    col(
      'bbs_proper',
      '',
      'bool',
      'positive_count = 1: M behaves as a BBS-type (conditionally negative definite) metric',
    ),
    (s) => s.bbsProper,
  ],
  [
    col('band_candidate_size', 'count', 'i32', 'm̂ maximising |λ_m|/|λ_{m+1}| over 1 ≤ m ≤ maxBand'),
    (s) => s.band.candidateSize,
  ],
  [col('band_size', 'count', 'i32', 'Band size m̂ when the band is clear, else 0'), (s) => s.band.size],
  [col('band_gap_ratio', '', 'f64', '|λ_m̂|/|λ_m̂+1| of the candidate band'), (s) => s.band.gapRatio],
  [col('band_clear', '', 'bool', 'band_gap_ratio ≥ minGapRatio'), (s) => s.band.clear],
  [col('band_spread', '', 'f64', '(max − min)/max of |λ| within the candidate band'), (s) => s.band.spread],
  [
    col(
      'band_cluster_score',
      '',
      'f64',
      'Variance of the band eigenvector embedding explained by k-means with m̂ + 1 centres',
    ),
    (s) => s.band.clusterScore,
  ],
  [
    col(
      'band_doublet_split',
      '',
      'f64',
      'Largest relative splitting within consecutive pairs of the band (NaN for odd m̂)',
    ),
    (s) => s.band.doubletSplit,
  ],
  [col('band_dimension', '', 'f64', 'Sphere reading d̂ = m̂ − 1; NaN without a clear band'), (s) => s.band.dimension],
  [
    col('band_fingerprint', '', 'str', "'noise', 'fourier', 'clusters' or 'smooth-manifold'"),
    (s) => s.band.fingerprint,
  ],
  [
    col('band_decision', '', 'str', "Rule that made the band reading: 'gap', 'null', 'labels' or 'none'"),
    (s) => s.band.decision,
  ],
  [
    col('band_ratio_maximizer', 'count', 'i32', 'The m maximising |λ_m|/|λ_{m+1}| over 1 ≤ m ≤ maxBand'),
    (s) => s.band.ratioMaximizer,
  ],
  [
    col(
      'band_null_top',
      '',
      'f64',
      'Strongest non-Perron |λ|/(N⟨d⟩) of the column-shuffle null (mean over replicas); NaN without a null',
    ),
    (s) => s.band.nullTop,
  ],
  [col('band_null_sd', '', 'f64', 'Standard deviation of the null top over the replicas'), (s) => s.band.nullSd],
  [
    col(
      'band_null_carried',
      'count',
      'i32',
      "Null replicas carried over from the previous snapshot (a trajectory's null rotation); 0 if none",
    ),
    (s) => s.band.nullCarried,
  ],
  [
    col('band_null_threshold', '', 'f64', 'Significance threshold on |λ|/(N⟨d⟩); NaN without a null'),
    (s) => s.band.nullThreshold,
  ],
  [
    col('band_significant_count', 'count', 'i32', 'Ranked non-Perron eigenvalues above the null threshold'),
    (s) => s.band.significantCount,
  ],
  [
    col('band_z', '', 'f64', 'z of the strongest non-Perron eigenvalue against the null; NaN without a null'),
    (s) => s.band.z,
  ],
  [
    col('band_min_z', '', 'f64', 'z of the weakest band member against the null; NaN without a null or a band'),
    (s) => s.band.minZ,
  ],
  [
    col('band_dimension_valid', '', 'bool', 'band_dimension is a sphere reading (clear smooth-manifold band, m̂ ≥ 2)'),
    (s) => s.band.dimensionValid,
  ],
  [
    col('band_mass_fraction', '', 'f64', 'Σ_band |λ| / Σ_non-Perron |λ| (0 without a clear band)'),
    (s) => s.band.massFraction,
  ],
  [
    col('band_top_multiplet', 'count', 'i32', 'Size of the first multiplet among the ranked non-Perron eigenvalues'),
    (s) => s.band.multiplets[0] ?? 0,
  ],
  [col('participation_ratio', '', 'f64', '(Σ|λ|)²/Σλ² over the non-Perron eigenvalues'), (s) => s.participationRatio],
  [
    col('entropy_dimension', '', 'f64', 'exp(−Σ p ln p), p = |λ|/Σ|λ| over the non-Perron eigenvalues'),
    (s) => s.entropyDimension,
  ],
  [
    col('ambient_count', 'count', 'i32', 'Eigenvalues in the ambient Marchenko–Pastur fit (N − 1 − m̂)'),
    (s) => s.ambient.count,
  ],
  [col('ambient_shift', 'M', 'f64', 'Shift a of the reflected MP law λ = −(a + b·y)'), (s) => s.ambient.shift],
  [col('ambient_scale', 'M', 'f64', 'Scale b of the reflected MP law'), (s) => s.ambient.scale],
  [col('ambient_ratio', '', 'f64', 'r = N/D̂ of the ambient fit'), (s) => s.ambient.ratio],
  [col('ambient_dimension', '', 'f64', 'Effective ambient dimension D̂ = N/r'), (s) => s.ambient.dimension],
  [
    col(
      'ambient_sigma',
      'metric-dependent',
      'f64',
      'Per-coordinate noise scale σ̂: representation units for euclidean/sqeuclidean, unit-sphere units for angular/cosine',
    ),
    (s) => s.ambient.sigma,
  ],
  [col('ambient_lower_edge', 'M', 'f64', 'Predicted lower bulk edge −(a + b(1+√r)²)'), (s) => s.ambient.lowerEdge],
  [col('ambient_upper_edge', 'M', 'f64', 'Predicted upper bulk edge −(a + b(1−√r)²)'), (s) => s.ambient.upperEdge],
  [col('ambient_observed_lower', 'M', 'f64', 'Smallest fitted eigenvalue'), (s) => s.ambient.observedLower],
  [col('ambient_observed_upper', 'M', 'f64', 'Largest fitted eigenvalue'), (s) => s.ambient.observedUpper],
  [
    col(
      'ambient_separation',
      '',
      'f64',
      'Relative distance of the weakest band member beyond the lower bulk edge; NaN without a band',
    ),
    (s) => s.ambient.separation,
  ],
  [col('ambient_ks', '', 'f64', 'Kolmogorov–Smirnov distance of the fitted values to the MP law'), (s) => s.ambient.ks],
  [
    col('ambient_valid', '', 'bool', 'The ambient fit is a reading (finite, D̂ ≥ 1, KS ≤ ambientMaxKs)'),
    (s) => s.ambient.valid,
  ],
  [col('label_classes', 'count', 'i32', 'Distinct probe labels K (0 without labels)'), (s) => s.labels?.classes ?? 0],
  [
    col(
      'label_explained',
      '',
      'f64',
      'Share of the top K − 1 non-Perron eigenvector variance explained by the labels (η²); NaN without labels',
    ),
    (s) => s.labels?.explained ?? NaN,
  ],
  [
    col('label_band_explained', '', 'f64', 'η² of the candidate band eigenvectors; NaN without labels'),
    (s) => s.labels?.bandExplained ?? NaN,
  ],
  [
    col(
      'label_separation',
      '',
      'f64',
      'Mean over classes of 1 − within/between mean distance in M; NaN without labels',
    ),
    (s) => s.labels?.meanSeparation ?? NaN,
  ],
  [
    col('label_explains_band', '', 'bool', 'label_explained ≥ labelThreshold (false without labels)'),
    (s) => s.labels?.explainsBand ?? false,
  ],
];

const snapshot = columnFamily(snapshotDefs);

const point = columnFamily<TrajectoryPoint>([
  [col('step', 'step', 'f64', 'Training step as pushed'), (p) => p.step],
  [col('index', 'count', 'i32', 'Position in the trajectory (0-based)'), (p) => p.index],
  [
    col('overlap', '', 'f64', 'Band subspace overlap with the previous snapshot, in [0, 1]; NaN for the first point'),
    (p) => p.overlap,
  ],
  [col('overlap_size', 'count', 'i32', 'The band size m used for overlap'), (p) => p.overlapSize],
  [
    col('persistence', '', 'f64', 'Fraction of the trailing window with a clear band of this size'),
    (p) => p.persistence,
  ],
  [
    col('matrix_velocity', '', 'f64', '‖M(t) − M(t_prev)‖_F/‖M(t_prev)‖_F; NaN for the first point'),
    (p) => p.matrixVelocity,
  ],
  [
    col(
      'perron_velocity',
      '1/step',
      'f64',
      '|λ̃_Perron(t) − λ̃_Perron(t_prev)|/(t − t_prev), λ̃ = λ/(N⟨d⟩); NaN for the first point',
    ),
    (p) => p.eigenvalueVelocity[0] ?? NaN,
  ],
  ...snapshotDefs.map(([c, get]): ColumnDef<TrajectoryPoint> => [c, (p) => get(p.figures)]),
]);

/** The scalar figures of one OMD snapshot ({@link ObservableSnapshot} or a trajectory point's `figures`). */
export const OMD_SNAPSHOT_COLUMNS: readonly Column[] = snapshot.columns;

/** One snapshot (or its retained figures) as a flat row with exactly the {@link OMD_SNAPSHOT_COLUMNS} keys. */
export function omdSnapshotToRow(s: SnapshotFigures): FigureRow {
  return snapshot.toRow(s);
}

/** The columns of one trajectory point: step, index, the links to the previous snapshot, then {@link OMD_SNAPSHOT_COLUMNS}. */
export const OMD_POINT_COLUMNS: readonly Column[] = point.columns;

/** One trajectory point as a flat row with exactly the {@link OMD_POINT_COLUMNS} keys. */
export function omdPointToRow(p: TrajectoryPoint): FigureRow {
  return point.toRow(p);
}
