/**
 * Reading the top-of-spectrum band of M (Halperin 2026): the non-Perron eigenvalues ranked by
 * |λ|, the band size at the largest ratio of consecutive |λ|, multiplets, the doublet test and
 * the fingerprint (Bogomolny–Bohigas–Schmit 2003: the top multiplet of S^d has d + 1 members;
 * K clusters give K − 1 outliers; a circulant embedding gives exact doublets).
 */
import type { Mat } from '../matrix.js';
import { kmeansExplained } from '../stats.js';
import type { NullTop } from './significance.js';
import type { BandFigures, Fingerprint, LabelFigures, Resolved } from './types.js';

function rankNonPerron(values: Float64Array): Int32Array {
  const n = values.length;
  const idx = new Int32Array(n - 1);
  for (let i = 0; i < n - 1; i++) idx[i] = i;
  // Stable order by |λ| descending (for a proper metric this is ascending index order).
  return idx.sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b);
}

/**
 * The band figures of an ascending spectrum. `scale` = N⟨d⟩ (for λ̃); `nul` the shuffle-null top
 * of this snapshot, or undefined for the gap rule alone (see BandFigures.decision).
 */
export function bandFigures(values: Float64Array, o: Resolved, scale = NaN, nul?: NullTop): BandFigures {
  const rankedIndex = rankNonPerron(values);
  const nr = rankedIndex.length;
  const ranked = new Float64Array(nr);
  for (let k = 0; k < nr; k++) ranked[k] = values[rankedIndex[k]!]!;
  const abs = (k: number): number => Math.abs(ranked[k]!);
  const kMax = Math.min(o.maxBand, nr - 1);
  const ratioAt = (m: number): number => {
    const a = abs(m - 1),
      b = abs(m);
    return b > 0 ? a / b : a > 0 ? Infinity : 1;
  };
  const relativeGaps = new Float64Array(kMax);
  const kMaxRatio = (): number => {
    let best = 1,
      bestRatio = 0;
    for (let m = 1; m <= kMax; m++) {
      const ratio = ratioAt(m);
      if (ratio > bestRatio) {
        bestRatio = ratio;
        best = m;
      }
    }
    return best;
  };
  for (let k = 0; k < kMax; k++) {
    const a = abs(k),
      b = abs(k + 1);
    relativeGaps[k] = a > 0 ? (a - b) / a : 0;
  }
  const ratioMaximizer = kMaxRatio();
  const multiplets: number[] = [];
  let run = 1;
  for (let k = 0; k < kMax; k++) {
    if (relativeGaps[k]! > o.splitGap) {
      multiplets.push(run);
      run = 1;
    } else run++;
  }
  multiplets.push(run);
  // Significance against the null: the ranked |λ̃| above the threshold form a prefix.
  let nullThreshold = NaN,
    significantCount = 0,
    z = NaN;
  const hasNull = nul !== undefined && Number.isFinite(nul.mean) && scale > 0;
  const sdEff = hasNull ? Math.max(Number.isFinite(nul.sd) ? nul.sd : 0, 0.01 * nul.mean) : NaN;
  if (hasNull) {
    const zPart = Number.isFinite(nul.sd) ? nul.mean + o.nullZ * nul.sd : -Infinity;
    nullThreshold = Math.max(nul.mean * (1 + o.nullMargin), zPart);
    const limit = Math.min(nr, o.maxBand + 1);
    while (significantCount < limit && abs(significantCount) / scale > nullThreshold) significantCount++;
    z = nr > 0 ? (abs(0) / scale - nul.mean) / sdEff : NaN;
  }
  // The band: every ranked eigenvalue above the null threshold, extended to the ratio maximiser
  // when that gap is clear (a low-dimensional structure, e.g. a sphere or a softmax output, whose
  // shuffle null is as strong as the structure itself, is found by its gap alone).
  const gapClear = ratioAt(ratioMaximizer) >= o.minGapRatio;
  const nullSize = Math.min(significantCount, kMax);
  let decision: BandFigures['decision'];
  let m: number;
  if (nullSize >= 1 && !(gapClear && ratioMaximizer > nullSize)) {
    decision = 'null';
    m = nullSize;
  } else if (gapClear) {
    decision = 'gap';
    m = ratioMaximizer;
  } else {
    decision = 'none';
    m = ratioMaximizer;
  }
  const clear = decision !== 'none';
  const band: BandFigures = {
    ranked,
    rankedIndex,
    relativeGaps,
    multiplets,
    candidateSize: m,
    size: 0,
    gapRatio: 0,
    clear,
    decision,
    ratioMaximizer,
    nullTop: hasNull ? nul.mean : NaN,
    nullSd: hasNull ? nul.sd : NaN,
    nullCarried: hasNull ? nul.carried : 0,
    nullThreshold,
    significantCount,
    z,
    minZ: NaN,
    spread: 0,
    clusterScore: NaN,
    doubletSplit: NaN,
    dimension: NaN,
    dimensionValid: false,
    fingerprint: 'noise',
    massFraction: 0,
  };
  setBandSize(band, m, o, scale, sdEff);
  return band;
}

/**
 * (Re)sets every figure that depends on the band size m (size, gap ratio, spread, doublets,
 * provisional fingerprint, dimension, mass fraction, minZ); `clear` and `decision` are kept.
 */
function setBandSize(band: BandFigures, m: number, o: Resolved, scale: number, sdEff: number): void {
  const abs = (k: number): number => Math.abs(band.ranked[k]!);
  const nr = band.ranked.length;
  const clear = band.clear;
  band.candidateSize = m;
  band.size = clear ? m : 0;
  const a = abs(m - 1),
    b = m < nr ? abs(m) : 0;
  band.gapRatio = b > 0 ? a / b : a > 0 ? Infinity : 1;
  const top = abs(0);
  band.spread = top > 0 ? (top - abs(m - 1)) / top : 0;
  let doubletSplit = NaN;
  let minBetween = Infinity;
  if (m % 2 === 0) {
    doubletSplit = 0;
    for (let k = 0; k < m; k += 2) {
      doubletSplit = Math.max(doubletSplit, abs(k) > 0 ? (abs(k) - abs(k + 1)) / abs(k) : 0);
      if (k + 2 < m) minBetween = Math.min(minBetween, abs(k + 1) > 0 ? (abs(k + 1) - abs(k + 2)) / abs(k + 1) : 0);
    }
  }
  band.doubletSplit = doubletSplit;
  // Provisional: `clusters` versus `smooth-manifold` is settled once the band vectors exist (finish()).
  let fingerprint: Fingerprint;
  if (!clear) fingerprint = 'noise';
  else if (m >= 4 && m % 2 === 0 && doubletSplit <= o.doubletTolerance && doubletSplit <= 0.25 * minBetween)
    fingerprint = 'fourier';
  else fingerprint = 'smooth-manifold';
  band.fingerprint = fingerprint;
  band.dimension = clear ? m - 1 : NaN;
  // A sphere reading needs a multiplet set off by a clear gap (the I-BBS template), not just a count above the null.
  band.dimensionValid = band.decision === 'gap' && fingerprint === 'smooth-manifold' && m >= 2;
  let total = 0,
    bandMass = 0;
  for (let k = 0; k < nr; k++) {
    total += abs(k);
    if (clear && k < m) bandMass += abs(k);
  }
  band.massFraction = total > 0 ? bandMass / total : 0;
  band.minZ = clear && Number.isFinite(band.nullTop) ? (abs(m - 1) / scale - band.nullTop) / sdEff : NaN;
}

/**
 * The label decision (before the band vectors are taken): when the labels explain the top K − 1
 * eigenvectors of a present band, the band is the K − 1 of K clusters. Returns whether it changed
 * the size (the caller then rescales a trace-exact massFraction).
 */
export function applyLabelDecision(band: BandFigures, labels: LabelFigures, o: Resolved, scale: number): void {
  if (!band.clear || !labels.explainsBand || labels.vectors < 1) return;
  const old = band.massFraction;
  let oldMass = 0;
  for (let k = 0; k < band.size; k++) oldMass += Math.abs(band.ranked[k]!);
  const sdEff = Number.isFinite(band.nullTop)
    ? Math.max(Number.isFinite(band.nullSd) ? band.nullSd : 0, 0.01 * band.nullTop)
    : NaN;
  band.decision = 'labels';
  setBandSize(band, labels.vectors, o, scale, sdEff);
  let newMass = 0;
  for (let k = 0; k < band.size; k++) newMass += Math.abs(band.ranked[k]!);
  // Keep a trace-exact mass fraction exact (partial route): rescale by the band-mass change.
  if (oldMass > 0) band.massFraction = (old * newMass) / oldMass;
  band.fingerprint = 'clusters';
  band.dimensionValid = false;
}

/**
 * Settles `clusters` versus `smooth-manifold` once the band eigenvectors exist: sets
 * band.clusterScore (k-means with candidateSize + 1 centres on the embedding probe i ↦ row i of
 * the band vectors) and upgrades the fingerprint when the score reaches clusterThreshold.
 */
export function settleFingerprint(band: BandFigures, bandVectors: Mat<Float64Array>, clusterThreshold: number): void {
  const m = bandVectors.rows,
    n = bandVectors.cols;
  // Points are probes: transpose the m x N vectors into N x m rows.
  const points = new Float64Array(n * m);
  for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) points[i * m + r] = bandVectors.data[r * n + i]!;
  band.clusterScore = kmeansExplained({ data: points, rows: n, cols: m }, band.candidateSize + 1);
  if (band.fingerprint === 'smooth-manifold' && band.clusterScore >= clusterThreshold) {
    band.fingerprint = 'clusters';
    band.dimensionValid = false;
  }
}
