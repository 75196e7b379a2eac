// Shared by the stationary-density tests: eigenvalues of H⁻¹ℱH⁻¹ by simulation. H = QΛQᵀ is GOE
// and X is Gaussian and independent of H, so QᵀX has the law of X and the spectrum of
// H⁻¹XXᵀH⁻¹ is that of (Λ⁻¹X)(Λ⁻¹X)ᵀ: one symmetric eigenvalue problem for Λ, one Gram.
import { eigvalshSync, gramSync } from '../src/linalg/index.js';
import { stationaryCdf } from '../src/models/index.js';
import { Rng } from '../src/random.js';

export function stationarySample(n: number, ratio: number, seed: number): Float64Array {
  const m = Math.round(n / ratio);
  const rng = new Rng(seed, 7);
  const g = rng.fillNormal(new Float64Array(n * n));
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) h[i * n + j] = (g[i * n + j]! + g[j * n + i]!) / Math.sqrt(2 * n);
  const lam = eigvalshSync({ data: h, rows: n, cols: n });
  const x = rng.fillNormal(new Float64Array(n * m), 0, 1 / Math.sqrt(m));
  for (let i = 0; i < n; i++) {
    const s = 1 / lam[i]!;
    for (let j = 0; j < m; j++) x[i * m + j]! *= s;
  }
  return eigvalshSync(gramSync({ data: x, rows: n, cols: m }));
}

/** L1 distance Σ_b |empirical mass − theory mass| over log-spaced bins from lo to hi (plus the two tails). */
export function stationaryL1(values: Float64Array, ratio: number, lo: number, hi: number, bins: number): number {
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo * (hi / lo) ** (k / bins));
  const cuts = [-Infinity, ...edges, Infinity];
  const counts = new Float64Array(cuts.length - 1);
  for (const v of values) {
    let k = 0;
    while (k + 1 < cuts.length - 1 && v >= cuts[k + 1]!) k++;
    counts[k]!++;
  }
  const cdf = (x: number) => (x === -Infinity ? 0 : x === Infinity ? 1 : stationaryCdf(x, { ratio }));
  let l1 = 0;
  for (let k = 0; k < counts.length; k++)
    l1 += Math.abs(counts[k]! / values.length - (cdf(cuts[k + 1]!) - cdf(cuts[k]!)));
  return l1;
}
