/**
 * The ambient-noise reading of an OMD snapshot (Halperin 2026): the non-Perron, non-band
 * eigenvalues of M fitted as a reflected, shifted Marchenko–Pastur bulk (Marchenko and Pastur
 * 1967) by moments; see {@link AmbientFit}.
 */
import { marchenkoPastur } from '../rmt/marchenko-pastur.js';
import { ksDistance } from '../stats.js';
import type { AmbientFit, BandFigures, ObservableMetric } from './types.js';

/**
 * The {@link AmbientFit} of the eigenvalues outside the band (band.size of them skipped) for N
 * probes; `valid` as documented there (maxKs = AnalyzeOptions.ambientMaxKs).
 */
export function ambientFit(n: number, band: BandFigures, metric: ObservableMetric, maxKs = 0.15): AmbientFit {
  const skip = band.size;
  const u: number[] = [];
  for (let k = skip; k < band.ranked.length; k++) u.push(-band.ranked[k]!);
  const count = u.length;
  let mean = 0;
  for (const x of u) mean += x;
  mean /= Math.max(1, count);
  let varU = 0;
  for (const x of u) varU += (x - mean) ** 2;
  varU /= Math.max(1, count);
  let a: number, b: number;
  if (metric === 'euclidean') {
    b = mean / 2;
    a = b;
  } else if (metric === 'angular') {
    a = Math.PI / 2 - 1;
    b = mean - a;
  } else {
    a = 0;
    b = mean;
  }
  let observedLower = Infinity,
    observedUpper = -Infinity;
  for (const x of u) {
    observedLower = Math.min(observedLower, -x);
    observedUpper = Math.max(observedUpper, -x);
  }
  const nan: AmbientFit = {
    count,
    shift: NaN,
    scale: NaN,
    ratio: NaN,
    dimension: NaN,
    sigma: NaN,
    lowerEdge: NaN,
    upperEdge: NaN,
    observedLower,
    observedUpper,
    separation: NaN,
    ks: NaN,
    valid: false,
  };
  if (!(b > 0) || !(varU > 0) || count < 2) return nan;
  const r = varU / (b * b);
  const dim = n / r;
  const sigma =
    metric === 'euclidean'
      ? b * Math.sqrt(2 / dim)
      : metric === 'sqeuclidean'
        ? Math.sqrt(b / (2 * dim))
        : Math.sqrt(b / dim);
  const sr = Math.sqrt(r);
  const lowerEdge = -(a + b * (1 + sr) ** 2);
  const upperEdge = -(a + b * (1 - sr) ** 2);
  const ys = Float64Array.from(u, (x) => (x - a) / b).sort();
  const mp = marchenkoPastur({ ratio: r, variance: 1 });
  const ks = ksDistance(ys, (x) => mp.cdf(x));
  const separation =
    band.size > 0 ? (Math.abs(band.ranked[band.size - 1]!) - Math.abs(lowerEdge)) / Math.abs(lowerEdge) : NaN;
  const valid =
    count >= 8 &&
    Number.isFinite(r) &&
    r > 0 &&
    Number.isFinite(dim) &&
    dim >= 1 &&
    Number.isFinite(sigma) &&
    Number.isFinite(ks) &&
    ks <= maxKs;
  return {
    count,
    shift: a,
    scale: b,
    ratio: r,
    dimension: dim,
    sigma,
    lowerEdge,
    upperEdge,
    observedLower,
    observedUpper,
    separation,
    ks,
    valid,
  };
}
