/**
 * Assembling an OMD snapshot from a spectrum (exact, or the pseudo-spectrum of the partial
 * route) and the eigenvectors it needs: Perron, positive count, band, participation and entropy
 * dimensions, ambient fit, bottom-k pairs, MDS cloud and band vectors.
 */
import type { Mat } from '../matrix.js';
import type { Route } from '../linalg/route.js';
import { ambientFit } from './ambient.js';
import { applyLabelDecision, bandFigures, settleFingerprint } from './band.js';
import { labelFigures, type NullTop } from './significance.js';
import type { BandFigures, ObservableSnapshot, Resolved } from './types.js';

/** Probe labels resolved to class indices (see checkLabels in input.ts). */
export interface ProbeClasses {
  index: Int32Array;
  names: string[];
}

/** Spectrum-only figures; vectors are attached afterwards. */
export interface SpectralFigures {
  n: number;
  values: Float64Array;
  meanDistance: number;
  perron: number;
  band: BandFigures;
  positiveCount: number;
  participationRatio: number;
  entropyDimension: number;
  needed: number[];
  /** Number of top ranked eigenvectors the label figures read (0 without labels). */
  labelVectors: number;
}

/**
 * The spectrum-only figures of a snapshot (ascending values, ⟨d⟩, the shuffle-null top when one
 * was computed, the number of classes K when labels were given); `needed` lists the eigenvector
 * indices finish() reads.
 */
export function spectralFigures(
  values: Float64Array,
  meanDistance: number,
  o: Resolved,
  nul?: NullTop,
  classes = 0,
): SpectralFigures {
  const n = values.length;
  const perron = values[n - 1]!;
  let positiveCount = 0;
  for (let i = 0; i < n; i++) if (values[i]! > o.positiveTolerance * Math.abs(perron)) positiveCount++;
  const band = bandFigures(values, o, n * meanDistance, nul);
  let s1 = 0,
    s2 = 0;
  for (let k = 0; k < band.ranked.length; k++) {
    const a = Math.abs(band.ranked[k]!);
    s1 += a;
    s2 += a * a;
  }
  let h = 0;
  if (s1 > 0) {
    for (let k = 0; k < band.ranked.length; k++) {
      const p = Math.abs(band.ranked[k]!) / s1;
      if (p > 0) h -= p * Math.log(p);
    }
  }
  const needed: number[] = [];
  for (let j = 0; j < Math.min(o.bottomK, n); j++) needed.push(j);
  for (let k = 0; k < band.candidateSize; k++) needed.push(band.rankedIndex[k]!);
  const labelVectors = classes >= 2 ? Math.min(classes - 1, o.maxBand, n - 2) : 0;
  for (let k = 0; k < labelVectors; k++) needed.push(band.rankedIndex[k]!);
  return {
    n,
    values,
    meanDistance,
    perron,
    band,
    positiveCount,
    participationRatio: s2 > 0 ? (s1 * s1) / s2 : 0,
    entropyDimension: Math.exp(h),
    needed,
    labelVectors,
  };
}

/**
 * The snapshot: the label figures and decision (with `classes`), then the band vectors (vecRow(i)
 * = unit eigenvector of values[i]), bottom-k vectors and the MDS cloud; settles the fingerprint
 * and fits the ambient bulk outside the final band.
 */
export function finish(
  p: SpectralFigures,
  matrix: Mat<Float64Array>,
  vecRow: (idx: number) => Float64Array,
  o: Resolved,
  route: Route,
  classes?: ProbeClasses,
): ObservableSnapshot {
  const n = p.n;
  const scale0 = n * p.meanDistance;
  let labels: ObservableSnapshot['labels'];
  if (classes && p.labelVectors > 0) {
    const top = Array.from({ length: p.labelVectors }, (_, k) => vecRow(p.band.rankedIndex[k]!));
    const inBand = Array.from({ length: p.band.candidateSize }, (_, k) => vecRow(p.band.rankedIndex[k]!));
    labels = labelFigures(matrix, classes, top, inBand, o.labelThreshold);
    applyLabelDecision(p.band, labels, o, scale0);
  }
  const k = Math.min(o.bottomK, n);
  const bottomValues = p.values.slice(0, k);
  const bottomVectors = { data: new Float64Array(k * n), rows: k, cols: n };
  for (let j = 0; j < k; j++) bottomVectors.data.set(vecRow(j), j * n);
  const dm = Math.min(3, k);
  const mds = { data: new Float64Array(n * dm), rows: n, cols: dm };
  for (let j = 0; j < dm; j++) {
    const s = Math.sqrt(Math.abs(p.values[j]!));
    const v = vecRow(j);
    for (let i = 0; i < n; i++) mds.data[i * dm + j] = v[i]! * s;
  }
  const m = p.band.candidateSize;
  const bandVectors = { data: new Float64Array(m * n), rows: m, cols: n };
  for (let r = 0; r < m; r++) bandVectors.data.set(vecRow(p.band.rankedIndex[r]!), r * n);
  if (p.band.decision !== 'labels') settleFingerprint(p.band, bandVectors, o.clusterThreshold);
  else settleScoreOnly(p.band, bandVectors, o.clusterThreshold);
  const scale = scale0;
  return {
    n,
    metric: o.metric,
    route,
    matrix,
    values: p.values,
    perron: p.perron,
    meanDistance: p.meanDistance,
    perronRatio: p.perron / scale,
    normalized: p.values.map((v) => v / scale),
    positiveCount: p.positiveCount,
    bbsProper: p.positiveCount === 1,
    band: p.band,
    ...(labels ? { labels } : {}),
    participationRatio: p.participationRatio,
    entropyDimension: p.entropyDimension,
    ambient: ambientFit(n, p.band, o.metric, o.ambientMaxKs),
    bottomValues,
    bottomVectors,
    mds,
    bandVectors,
  };
}

/** The k-means score of a band the labels decided (the fingerprint stays `clusters`). */
function settleScoreOnly(band: BandFigures, bandVectors: Mat<Float64Array>, clusterThreshold: number): void {
  const fp = band.fingerprint;
  settleFingerprint(band, bandVectors, clusterThreshold);
  band.fingerprint = fp;
  band.dimensionValid = false;
}

/** The smallest index range [0, hi] holding every needed eigenvector. */
export function neededRange(p: SpectralFigures): [number, number] {
  let hi = 0;
  for (const i of p.needed) hi = Math.max(hi, i);
  return [0, hi];
}
