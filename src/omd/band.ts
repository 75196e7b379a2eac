/**
 * Reading the top-of-spectrum band of M (Halperin 2026): the non-Perron eigenvalues ranked by
 * |λ|, the band size at the largest ratio of consecutive |λ|, multiplets, the doublet test and
 * the fingerprint (Bogomolny–Bohigas–Schmit 2003: the top multiplet of S^d has d + 1 members;
 * K clusters give K − 1 outliers; a circulant embedding gives exact doublets).
 */
import type { Mat } from '../matrix.js';
import { kmeansExplained } from '../stats.js';
import type { BandFigures, Fingerprint, Resolved } from './types.js';

function rankNonPerron(values: Float64Array): Int32Array {
  const n = values.length;
  const idx = new Int32Array(n - 1);
  for (let i = 0; i < n - 1; i++) idx[i] = i;
  // Stable order by |λ| descending (for a proper metric this is ascending index order).
  return idx.sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b);
}

export function bandFigures(values: Float64Array, o: Resolved): BandFigures {
  const rankedIndex = rankNonPerron(values);
  const nr = rankedIndex.length;
  const ranked = new Float64Array(nr);
  for (let k = 0; k < nr; k++) ranked[k] = values[rankedIndex[k]!]!;
  const abs = (k: number): number => Math.abs(ranked[k]!);
  const kMax = Math.min(o.maxBand, nr - 1);
  const relativeGaps = new Float64Array(kMax);
  let best = 1,
    bestRatio = 0;
  for (let k = 0; k < kMax; k++) {
    const a = abs(k),
      b = abs(k + 1);
    relativeGaps[k] = a > 0 ? (a - b) / a : 0;
    const ratio = b > 0 ? a / b : a > 0 ? Infinity : 1;
    if (ratio > bestRatio) {
      bestRatio = ratio;
      best = k + 1;
    }
  }
  const multiplets: number[] = [];
  let run = 1;
  for (let k = 0; k < kMax; k++) {
    if (relativeGaps[k]! > o.splitGap) {
      multiplets.push(run);
      run = 1;
    } else run++;
  }
  multiplets.push(run);
  const clear = bestRatio >= o.minGapRatio;
  const m = best;
  const top = abs(0);
  const spread = top > 0 ? (top - abs(m - 1)) / top : 0;
  let doubletSplit = NaN;
  let minBetween = Infinity;
  if (m % 2 === 0) {
    doubletSplit = 0;
    for (let k = 0; k < m; k += 2) {
      doubletSplit = Math.max(doubletSplit, abs(k) > 0 ? (abs(k) - abs(k + 1)) / abs(k) : 0);
      if (k + 2 < m) minBetween = Math.min(minBetween, abs(k + 1) > 0 ? (abs(k + 1) - abs(k + 2)) / abs(k + 1) : 0);
    }
  }
  // Provisional: `clusters` versus `smooth-manifold` is settled once the band vectors exist (finish()).
  let fingerprint: Fingerprint;
  if (!clear) fingerprint = 'noise';
  else if (m >= 4 && m % 2 === 0 && doubletSplit <= o.doubletTolerance && doubletSplit <= 0.25 * minBetween)
    fingerprint = 'fourier';
  else fingerprint = 'smooth-manifold';
  let total = 0,
    bandMass = 0;
  for (let k = 0; k < nr; k++) {
    total += abs(k);
    if (clear && k < m) bandMass += abs(k);
  }
  return {
    ranked,
    rankedIndex,
    relativeGaps,
    multiplets,
    candidateSize: m,
    size: clear ? m : 0,
    gapRatio: bestRatio,
    clear,
    spread,
    clusterScore: NaN,
    doubletSplit,
    dimension: clear ? m - 1 : NaN,
    fingerprint,
    massFraction: total > 0 ? bandMass / total : 0,
  };
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
  if (band.fingerprint === 'smooth-manifold' && band.clusterScore >= clusterThreshold) band.fingerprint = 'clusters';
}
