/**
 * Assembling an OMD snapshot from a spectrum (exact, or the pseudo-spectrum of the partial
 * route) and the eigenvectors it needs: Perron, positive count, band, participation and entropy
 * dimensions, ambient fit, bottom-k pairs, MDS cloud and band vectors.
 */
import type { Mat } from '../matrix.js';
import type { Route } from '../linalg/route.js';
import { ambientFit } from './ambient.js';
import { bandFigures, settleFingerprint } from './band.js';
import type { AmbientFit, BandFigures, ObservableSnapshot, Resolved } from './types.js';

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
  ambient: AmbientFit;
  needed: number[];
}

/** The spectrum-only figures of a snapshot (ascending values, ⟨d⟩); `needed` lists the eigenvector indices finish() reads. */
export function spectralFigures(values: Float64Array, meanDistance: number, o: Resolved): SpectralFigures {
  const n = values.length;
  const perron = values[n - 1]!;
  let positiveCount = 0;
  for (let i = 0; i < n; i++) if (values[i]! > o.positiveTolerance * Math.abs(perron)) positiveCount++;
  const band = bandFigures(values, o);
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
  return {
    n,
    values,
    meanDistance,
    perron,
    band,
    positiveCount,
    participationRatio: s2 > 0 ? (s1 * s1) / s2 : 0,
    entropyDimension: Math.exp(h),
    ambient: ambientFit(n, band, o.metric),
    needed,
  };
}

/**
 * The snapshot: attaches bottom-k vectors, the MDS cloud and the band vectors (vecRow(i) = unit
 * eigenvector of values[i]) to the spectral figures and settles the fingerprint.
 */
export function finish(
  p: SpectralFigures,
  matrix: Mat<Float64Array>,
  vecRow: (idx: number) => Float64Array,
  o: Resolved,
  route: Route,
): ObservableSnapshot {
  const n = p.n;
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
  settleFingerprint(p.band, bandVectors, o.clusterThreshold);
  const scale = n * p.meanDistance;
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
    participationRatio: p.participationRatio,
    entropyDimension: p.entropyDimension,
    ambient: p.ambient,
    bottomValues,
    bottomVectors,
    mds,
    bandVectors,
  };
}

/** The smallest index range [0, hi] holding every needed eigenvector. */
export function neededRange(p: SpectralFigures): [number, number] {
  let hi = 0;
  for (const i of p.needed) hi = Math.max(hi, i);
  return [0, hi];
}
