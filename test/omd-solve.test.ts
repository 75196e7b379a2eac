// The full route of analyzeObservable reads every eigenvalue and its eigenvectors from one
// reduction (eigh with allValues); an M whose band lies outside the precomputed vector range
// takes a second solve. Both paths are checked against an independent full eigh.
import { describe, expect, it } from 'vitest';
import { eighSync } from '../src/linalg/index.js';
import { analyzeObservable, analyzeObservableSync, sphereTemplate } from '../src/omd/index.js';
import type { ObservableSnapshot } from '../src/omd/types.js';
import { Rng } from '../src/random.js';

/** Values equal the full spectrum; band and bottom vectors equal the full eigh's rows (same sign convention). */
function expectMatchesFullEigh(s: ObservableSnapshot, tol: number): void {
  const n = s.n;
  const full = eighSync(s.matrix);
  const scale = Math.abs(full.values[n - 1]!);
  for (let i = 0; i < n; i++) expect(Math.abs(s.values[i]! - full.values[i]!)).toBeLessThan(1e-12 * scale);
  const row = (idx: number) => full.vectors.data.subarray(idx * n, (idx + 1) * n);
  for (let r = 0; r < s.bandVectors.rows; r++) {
    const want = row(s.band.rankedIndex[r]!);
    const got = s.bandVectors.data.subarray(r * n, (r + 1) * n);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(tol);
  }
  for (let j = 0; j < s.bottomVectors.rows; j++) {
    const want = row(j);
    for (let i = 0; i < n; i++) expect(Math.abs(s.bottomVectors.data[j * n + i]! - want[i]!)).toBeLessThan(tol);
  }
}

describe('analyzeObservable full route: one reduction', () => {
  it('BBS-proper M (S² geodesic, N = 300): band and bottom vectors from the single call', async () => {
    const { reps } = sphereTemplate({ n: 300, dim: 2, seed: 5 });
    // maxBand 4 keeps the band's eigenvalues well separated from the rest, so vectors are
    // determined to ~1e-12 (the S² triplet itself is split by sampling).
    const s = await analyzeObservable(reps, { route: 'full', maxBand: 4 });
    expect(s.bbsProper).toBe(true);
    expect(s.band.size).toBe(3);
    expectMatchesFullEigh(s, 1e-8);
    expect(Array.from(analyzeObservableSync(reps, { route: 'full', maxBand: 4 }).values)).toEqual(Array.from(s.values));
  });

  it('non-proper M whose strongest non-Perron eigenvalue is positive (top index): the fallback solve', () => {
    // A symmetric non-negative zero-diagonal M with a planted positive mode v vᵀ: its largest |λ|
    // after the Perron value is positive, at index N − 2, outside the vectors [0, maxBand − 1].
    const n = 60,
      rng = new Rng(9);
    const v = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) / Math.sqrt(n));
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        // 1.45 ± 0.45 (the planted mode, v_i v_j = ±1/N) plus 0.05 uniform noise: all entries > 0.
        data[i * n + j] = data[j * n + i] = 1.45 + 0.45 * n * v[i]! * v[j]! + 0.05 * rng.uniform();
      }
    }
    const s = analyzeObservableSync({ data, rows: n, cols: n }, { input: 'distance', maxBand: 4 });
    expect(s.bbsProper).toBe(false);
    expect(s.band.rankedIndex[0]).toBe(n - 2);
    expectMatchesFullEigh(s, 1e-8);
  });
});
