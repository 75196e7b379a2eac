/**
 * The types of one OMD snapshot (Halperin 2026): options, band and ambient figures, the snapshot.
 *
 * Conventions used by every omd/ export:
 * - Eigenvalues are ascending; index N−1 is the Perron eigenvalue (the only positive one for a
 *   proper Bogomolny–Bohigas–Schmit (BBS) metric, Bogomolny, Bohigas and Schmit 2003), and the
 *   "top-of-spectrum band" is made of the non-Perron eigenvalues of largest |λ|, which for a
 *   proper metric are the most negative ones, i.e. indices 0, 1, 2, … ("bottom-three" = indices 0..2).
 * - ⟨d⟩ is the mean off-diagonal entry of M, in the units of the metric (radians for
 *   `angular`, representation units for `euclidean`, squared units for `sqeuclidean`,
 *   dimensionless for `cosine`). Normalised eigenvalues are λ/(N⟨d⟩), so the Perron value is ≈ 1.
 * - Eigenvectors are unit vectors of length N indexed by probe input (row order of the reps).
 */
import type { Mat } from '../matrix.js';
import type { Precision } from '../linalg/index.js';

/**
 * Distance used for the observable (see the linalg `Metric` doc):
 * - `angular` (default): arccos of the cosine of the L2-normalised rows, the geodesic distance on
 *   the unit sphere, in radians [0, π];
 * - `euclidean`: ‖h_i − h_j‖ (chord distance for points on a sphere);
 * - `cosine`: 1 − cos θ_ij;
 * - `sqeuclidean`: ‖h_i − h_j‖² (not a BBS-type observable; rank ≤ D + 2; offered for comparison).
 */
export type ObservableMetric = 'angular' | 'euclidean' | 'cosine' | 'sqeuclidean';

/** Options of {@link observableMatrix}. */
export interface ObservableOptions {
  /** Default `angular`. */
  metric?: ObservableMetric;
  /**
   * Precision of the distance products and, in {@link analyzeObservable}, of the eigensolves (M's
   * tridiagonal reduction and the shuffle null's replicas); default float64 (SpectralMonitor's:
   * float32). 'float32' is faster on the products and reductions (1.4–1.7x at N = 500); the
   * results stay float64, the eigenvalues within ~1e-6·‖M‖ (docs/omd.md "Precision").
   */
  precision?: Precision;
}

/** Per-snapshot fingerprint of the top band (see {@link BandFigures.fingerprint}). */
export type Fingerprint = 'smooth-manifold' | 'clusters' | 'fourier' | 'noise';

/** Options of {@link analyzeObservable}; every threshold is documented with its calibration. */
export interface AnalyzeOptions extends ObservableOptions {
  /**
   * How to read the input Mat: `reps` (N x D representations, M is computed with `metric`),
   * `distance` (an N x N distance matrix, checked and used as is; `metric` then only says how
   * it was made, for the ambient-noise reading), or `auto` (default): a square matrix whose
   * diagonal is exactly zero is taken as a distance matrix (and must then pass the distance checks:
   * symmetric, non-negative, finite), anything else as reps.
   */
  input?: 'auto' | 'reps' | 'distance';
  /** Number of bottom eigenpairs returned for the MDS cloud; default 3. */
  bottomK?: number;
  /** Largest band size considered; default 32 (enough for K ≤ 33 clusters). */
  maxBand?: number;
  /**
   * A band is "clear" when |λ_(m̂)|/|λ_(m̂+1)| ≥ minGapRatio (ranked non-Perron values). Default 1.5:
   * on the templates the band-to-rest ratio is ≥ 3 (S² geodesic ≈ 14, S² chord ≈ 6, 10
   * clusters ≈ 10, Fourier ≈ 5–11) while pure noise stays below 1.1.
   */
  minGapRatio?: number;
  /**
   * Consecutive ranked eigenvalues belong to the same multiplet while their relative gap
   * (|λ_k| − |λ_{k+1}|)/|λ_k| ≤ splitGap. Default 0.1 (sampling splits at N ≈ 1000 are ≈ 3–5 %).
   */
  splitGap?: number;
  /**
   * A clear band reads as `clusters` when its eigenvector embedding (probe i ↦ row i of the m̂ band
   * eigenvectors) is piecewise constant: k-means with m̂ + 1 centres explains ≥ clusterThreshold of
   * its variance (see {@link BandFigures.clusterScore}). Default 0.8: spheres S¹–S³, S² plus
   * noise and the collapsing FBP ring score 0.49–0.72; Gaussian clusters (K = 3–10, spread
   * 0.5–1 in R⁶⁴) score 0.88–0.99.
   */
  clusterThreshold?: number;
  /**
   * A band of even size ≥ 4 reads as `fourier` when it splits into pairs whose relative
   * splitting is ≤ doubletTolerance and ≤ ¼ of the smallest gap between pairs. Default 0.01
   * (the circulant embedding has exact doublets; random S³ samples split by ≈ 3 %).
   */
  doubletTolerance?: number;
  /** An eigenvalue counts as positive when λ > positiveTolerance · λ_Perron; default 1e-9. */
  positiveTolerance?: number;
  /**
   * `full`: the whole spectrum and the needed eigenvectors from one tridiagonal reduction (LAPACK
   * ?sytrd, O(N³)). `partial`: the Perron value, the top
   * maxBand + 1 non-Perron values by |λ| and the bottom-k pairs exactly (block Lanczos, eigsh),
   * the rest of the spectrum as pseudo-eigenvalues from its SLQ density; see docs/omd.md
   * "Routes". `auto` (default): partial when N > `partialAbove`. Both drivers support both.
   */
  route?: 'auto' | 'full' | 'partial';
  /** Size above which `auto` takes the partial route: N > partialAbove. Default 4000. */
  partialAbove?: number;
  /**
   * One label per probe (numbers or strings, row order of the input), e.g. the class of each
   * probe input. With labels the snapshot carries {@link LabelFigures} and the band decision
   * uses them: a band whose top K − 1 eigenvectors the K classes explain (label-explained share ≥
   * labelThreshold) reads `clusters` with size K − 1, whatever the k-means score.
   */
  labels?: ArrayLike<number> | readonly string[];
  /**
   * Share of the top K − 1 band-eigenvector variance the labels must explain for the
   * label decision (see {@link LabelFigures.explained}). Default 0.5, chosen on the calibration
   * set of trained networks (docs/omd.md "Calibration").
   */
  labelThreshold?: number;
  /**
   * How "is there a band" is decided:
   * - `gap`: the fixed ratio rule only (gapRatio ≥ minGapRatio), as on the templates;
   * - `null`: the gap rule, or else significance against the i.i.d.-resample (column-shuffle)
   *   null computed for this snapshot's own N and D (see {@link BandFigures.nullTop}); needs the
   *   representations (reps input, or `reps` with a distance-matrix input);
   * - `auto` (default): `null` when the representations are available, else `gap`.
   */
  significance?: 'auto' | 'null' | 'gap';
  /**
   * The N x D representations a distance-matrix input was made from (row i ↔ row i of M), for the
   * null only. Ignored for a reps input (the input itself is used).
   */
  reps?: Mat;
  /** Shuffle-null replicas per snapshot; default 2 (the null top concentrates: sd/mean ≈ 1–3 %). */
  nullReplicas?: number;
  /** Seed of the null shuffles (replica r uses Rng stream r); default 1. */
  nullSeed?: number;
  /**
   * A ranked eigenvalue is significant when |λ̃| > max(nullTop·(1 + nullMargin), nullTop + nullZ·nullSd).
   * Default margin 0.25: the observed top over the null top is ≤ 1.05 on pure-noise templates and
   * 1.13–1.17 for a random ReLU layer on i.i.d. inputs (no structure to carry), ≥ 2.25 for every
   * hidden layer of the MNIST calibration set, at initialisation included (the input's structure);
   * 10-wide softmax outputs sit at 1.15–2.6 (a low-dimensional null is strong) and are read by
   * their gap where needed (docs/omd.md "Calibration").
   */
  nullMargin?: number;
  /** z part of the significance threshold (see nullMargin); default 3. */
  nullZ?: number;
  /**
   * The ambient fit is `valid` only when its KS distance to the fitted MP law is ≤ ambientMaxKs
   * (and the fit is finite with D̂ ≥ 1). Default 0.15: pure noise with D ≥ N fits with KS
   * 0.003–0.04; angular noise with N > D scores 0.43–0.58 (flagged, conservatively); every layer
   * of the MNIST calibration set 0.72–0.85 (docs/omd.md "Calibration").
   */
  ambientMaxKs?: number;
}

/**
 * Label-aware figures of a snapshot (present when the analysis was given `labels` with at least
 * two distinct values). η² below is the between-class share of variance: for a vector u over the
 * probes, Σ_c n_c ū_c² / Σ_i (u_i − ū)² (ū_c the class mean, ū the overall mean); its chance level
 * for a random vector is ≈ (K − 1)/(N − 1).
 */
export interface LabelFigures {
  /** Number of distinct labels K. */
  classes: number;
  /** Number of ranked non-Perron eigenvectors read: min(K − 1, maxBand, N − 2). */
  vectors: number;
  /** η² pooled over the top `vectors` ranked non-Perron eigenvectors (the K − 1 a K-cluster band has), in [0, 1]. */
  explained: number;
  /** η² pooled over the candidate band's eigenvectors (band.candidateSize of them), in [0, 1]. */
  bandExplained: number;
  /**
   * Per class c (classes in sorted order of their label): 1 − (mean within-class distance)/(mean
   * distance from class c to the other classes), from M; 0 when the class is not separated, → 1
   * for tight, distant clusters; NaN for a class with a single probe.
   */
  separation: Float64Array;
  /** The distinct labels in the order of `separation` (as strings). */
  classNames: string[];
  /** Mean of the finite `separation` entries. */
  meanSeparation: number;
  /** explained ≥ labelThreshold: the labels explain the band. */
  explainsBand: boolean;
}

/** Which rule produced the band reading (see {@link BandFigures.decision}). */
export type BandDecision = 'gap' | 'null' | 'labels' | 'none';

/** Top-of-spectrum band figures (non-Perron eigenvalues ranked by |λ|, descending). */
export interface BandFigures {
  /** Non-Perron eigenvalues (signed, in units of M) ranked by |λ| descending (N − 1 values). */
  ranked: Float64Array;
  /** rankedIndex[k] = index of ranked[k] in the ascending spectrum. */
  rankedIndex: Int32Array;
  /** g_k = (|λ_k| − |λ_{k+1}|)/|λ_k| for the first maxBand ranked values (k 0-based). */
  relativeGaps: Float64Array;
  /** Multiplet sizes among the first maxBand + 1 ranked values (split where g_k > splitGap). */
  multiplets: number[];
  /**
   * m̂: the band size the decision picked when the band is clear (see `decision`); without a clear
   * band the m maximising |λ_m|/|λ_{m+1}| over 1 ≤ m ≤ maxBand (reported even when not clear).
   */
  candidateSize: number;
  /** Band size m̂ = candidateSize when the band is clear, else 0. */
  size: number;
  /** |λ_m̂|/|λ_m̂+1| for m̂ = candidateSize (≥ 1). */
  gapRatio: number;
  /** A band is present: the gap rule (gapRatio ≥ minGapRatio) or, with the null, a significant top eigenvalue. */
  clear: boolean;
  /**
   * Which rule made the reading: `null` (m̂ = the number of ranked eigenvalues above the
   * shuffle-null threshold, significantCount, capped at maxBand), `gap` (gapRatio ≥ minGapRatio at
   * the ratio maximiser, the template rule, taken when no null was computed, when nothing is
   * significant, or when that clear gap lies beyond the significant ones: low-dimensional
   * structure such as a sphere or a softmax output, whose shuffle null is as strong as the
   * structure itself), `labels` (the labels explain the top K − 1 eigenvectors of a present band:
   * m̂ = K − 1, fingerprint `clusters`), `none` (no band).
   */
  decision: BandDecision;
  /** The m maximising |λ_m|/|λ_{m+1}| over 1 ≤ m ≤ maxBand, whatever the decision. */
  ratioMaximizer: number;
  /**
   * Strongest non-Perron |λ̃| (λ̃ = λ/(N⟨d⟩)) of the i.i.d.-resample null, mean over the
   * replicas; NaN when no null was computed (decision by the gap rule only).
   */
  nullTop: number;
  /** Standard deviation of the null top over the replicas (NaN without a null or with one replica). */
  nullSd: number;
  /**
   * Of the null's replicas, how many were carried over from the previous snapshot of an
   * {@link OmdTrajectory} (its `nullRotation`, default on: one replica computed per snapshot, the
   * others taken from the previous snapshot while within 5 % of it); 0 for a snapshot analysed on
   * its own, the first of a trajectory, one where the null drifted, or without a null.
   */
  nullCarried: number;
  /** Significance threshold on |λ̃| (see AnalyzeOptions.nullMargin); NaN without a null. */
  nullThreshold: number;
  /** Number of ranked non-Perron eigenvalues above nullThreshold (among the first maxBand + 1); 0 without a null. */
  significantCount: number;
  /**
   * z of the strongest non-Perron eigenvalue against the null: (|λ̃_1| − nullTop)/max(nullSd, 0.01·nullTop)
   * (the sd floor keeps z finite with few replicas); NaN without a null.
   */
  z: number;
  /** The same z for the weakest member of the band (index m̂ − 1); NaN without a null or a band. */
  minZ: number;
  /** (max − min)/max of |λ| within the candidate band (0 for a perfect multiplet). */
  spread: number;
  /**
   * Fraction of the variance of the band eigenvector embedding explained by k-means with
   * candidateSize + 1 centres (deterministic farthest-point start): ≈ 1 when the eigenvectors are
   * constant on groups of probes (K clusters ↔ K − 1 band vectors), 0.5–0.75 for a manifold.
   */
  clusterScore: number;
  /** Largest relative splitting within consecutive pairs of the candidate band (NaN if odd). */
  doubletSplit: number;
  /** Sphere reading d̂ = m̂ − 1 (I-BBS: the top multiplet of S^d has d + 1 members); NaN if no clear band. */
  dimension: number;
  /** The sphere reading applies: a `smooth-manifold` band of at least 2 members (d̂ ≥ 1) set off by a clear gap (decision `gap`). */
  dimensionValid: boolean;
  /**
   * `noise` (no clear band: un-relaxed), `fourier` (even band of exact-ish doublets, e.g. a
   * circulant token embedding), `clusters` (clusterScore ≥ clusterThreshold: K clusters give a
   * band of K − 1 outliers), else `smooth-manifold` (BBS-adjacent; one multiplet of d + 1 on S^d).
   */
  fingerprint: Fingerprint;
  /** Band spectral mass Σ_band |λ| / Σ_non-Perron |λ| (0 without a clear band). */
  massFraction: number;
}

/**
 * Ambient-noise reading (the ambient-versus-latent split named by Halperin 2026; this moment
 * fit is specdyn's): the non-Perron, non-band eigenvalues are fitted as a
 * reflected, shifted Marchenko–Pastur bulk, λ = −(a + b·y) with y ~ MP(ratio r, variance 1).
 * Moments give b and r (mean y = 1, var y = r) with the shift fixed by the metric:
 * euclidean a = b (= c/2, c = σ√(2D)); angular a = π/2 − 1; cosine and sqeuclidean a = 0.
 * Then D̂ = N/r and σ̂ is the per-coordinate noise standard deviation: euclidean σ̂ = b·√(2/D̂)
 * (representation units); angular/cosine σ̂ = √(b/D̂) (units of the unit sphere, so b is the
 * noise share of the squared norm); sqeuclidean σ̂ = √(b/(2D̂)). NaN when the bulk has no
 * MP-like spread (b ≤ 0), e.g. a noiseless manifold.
 */
export interface AmbientFit {
  /** Number of eigenvalues fitted (N − 1 − m̂). */
  count: number;
  /** Shift a and scale b of the reflected MP law, in units of M. */
  shift: number;
  scale: number;
  /** r = N / D̂. */
  ratio: number;
  /** Effective ambient dimension D̂ = N/r. */
  dimension: number;
  /** Per-coordinate noise scale σ̂ (see above for units). */
  sigma: number;
  /** Predicted bulk edges in units of M: lower = −(a + b(1+√r)²), upper = −(a + b(1−√r)²). */
  lowerEdge: number;
  upperEdge: number;
  /** Observed extremes of the fitted eigenvalues (units of M). */
  observedLower: number;
  observedUpper: number;
  /** (|λ_weakest band member| − |lowerEdge|)/|lowerEdge|: > 0 when the band stands out of the bulk; NaN without a band. */
  separation: number;
  /** Kolmogorov–Smirnov distance between the fitted values and the MP law (0 perfect, 1 worst). */
  ks: number;
  /**
   * The fit is a reading: at least 8 values, finite b > 0 and r > 0, D̂ ≥ 1, and ks ≤ ambientMaxKs.
   * When false the numbers are kept for diagnosis but are not a measurement: do not print them
   * as D̂ or σ̂.
   */
  valid: boolean;
}

/** Figures of one snapshot; see the module doc for conventions. */
export interface ObservableSnapshot {
  /** Number of probes N. */
  n: number;
  metric: ObservableMetric;
  /**
   * How the spectrum was computed. `full`: every eigenvalue exactly. `partial`: exact Perron,
   * band (the top maxBand + 1 non-Perron values by |λ|), bottom-k pairs and everything derived
   * from them; `values`/`normalized` hold a pseudo-spectrum whose other entries are midpoint
   * quantiles of the SLQ density (bulk shape only, not individual levels), so the ambient fit,
   * entropyDimension and, unless bbsProper, participationRatio and band.massFraction are
   * estimates. See docs/omd.md "Routes".
   */
  route: 'full' | 'partial';
  /** The distance matrix M (N x N, float64). */
  matrix: Mat<Float64Array>;
  /** Full spectrum of M, ascending (units of M); the pseudo-spectrum on the partial route (see `route`). */
  values: Float64Array;
  /** λ_{N−1}, units of M. */
  perron: number;
  /** ⟨d⟩ = mean off-diagonal entry of M. */
  meanDistance: number;
  /** λ_Perron/(N⟨d⟩), ≈ 1 − 1/N for near-constant rows. */
  perronRatio: number;
  /** λ/(N⟨d⟩), ascending. */
  normalized: Float64Array;
  /** Eigenvalues > positiveTolerance · λ_Perron. */
  positiveCount: number;
  /** positiveCount === 1: M behaves as a BBS-type (conditionally negative definite) metric. */
  bbsProper: boolean;
  band: BandFigures;
  /** Label-aware figures; present only when the analysis got `labels` with ≥ 2 distinct values. */
  labels?: LabelFigures;
  /** Effective dimension over non-Perron eigenvalues: (Σ|λ|)²/Σλ² and exp(−Σ p log p), p = |λ|/Σ|λ|. */
  participationRatio: number;
  entropyDimension: number;
  ambient: AmbientFit;
  /** The bottomK smallest eigenvalues (indices 0..k−1) and their vectors (k x N, row j ↔ values[j]). */
  bottomValues: Float64Array;
  bottomVectors: Mat<Float64Array>;
  /** MDS cloud X = U_{0:3}|Λ_{0:3}|^½ (N x min(3, bottomK); row i = probe i; units √(units of M)). */
  mds: Mat<Float64Array>;
  /** Unit eigenvectors of the first max(size, candidateSize) ranked eigenvalues (rows, ranked order). */
  bandVectors: Mat<Float64Array>;
}

/** Validated {@link AnalyzeOptions} with defaults filled (internal). */
export interface Resolved {
  metric: ObservableMetric;
  precision: Precision;
  input: 'auto' | 'reps' | 'distance';
  bottomK: number;
  maxBand: number;
  minGapRatio: number;
  splitGap: number;
  clusterThreshold: number;
  doubletTolerance: number;
  positiveTolerance: number;
  route: 'auto' | 'full' | 'partial';
  partialAbove: number;
  labelThreshold: number;
  significance: 'auto' | 'null' | 'gap';
  nullReplicas: number;
  nullSeed: number;
  nullMargin: number;
  nullZ: number;
  ambientMaxKs: number;
}
