// Observable Matrix Dynamics: figures checked against Funk–Hecke/BBS theory (omd.md §2.2), the
// ambient MP bulk (§2.3), exact circulant algebra, independent JS computations, and the
// regime reading on synthetic trajectories. Expected values are derived here by quadrature.
import { describe, expect, it } from 'vitest';
import type { Mat } from '../src/matrix.js';
import {
  analyzeObservable,
  analyzeObservableSync,
  clusterTemplate,
  diffusiveTrajectory,
  fourierTemplate,
  iidResampleNull,
  manifoldNoiseTemplate,
  noiseTemplate,
  observableMatrix,
  observableMatrixSync,
  OmdTrajectory,
  reorganisationTrajectory,
  ringCollapseTrajectory,
  sphereTemplate,
} from '../src/omd/index.js';
import { checkDistance, markMadeHere } from '../src/omd/input.js';

/** Composite Simpson rule on [a, b] with n (even) intervals. */
function simpson(f: (x: number) => number, a: number, b: number, n = 20000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

/**
 * Funk–Hecke eigenvalue μ_l/N-normalised for a distance kernel f(θ) on S^d (θ = geodesic angle):
 * μ_l = κ_d ∫₀^π f(θ) P_l(cos θ) sin^{d−1}θ dθ with κ_d = 1/∫₀^π sin^{d−1}θ dθ and P_l the
 * normalised zonal polynomial: P_0 = 1, P_1(t) = t for every d; for d = 1, P_l(cos θ) = cos lθ
 * (Fourier); for d = 2, P_2 = (3t² − 1)/2 (Legendre).
 */
function funkHecke(f: (theta: number) => number, d: number, l: number): number {
  const w = (th: number): number => Math.sin(th) ** (d - 1);
  const zonal = (th: number): number => {
    if (l === 0) return 1;
    if (l === 1) return Math.cos(th);
    if (d === 1) return Math.cos(l * th);
    if (d === 2 && l === 2) return (3 * Math.cos(th) ** 2 - 1) / 2;
    throw new Error('zonal polynomial not needed');
  };
  const kappa = 1 / simpson(w, 0, Math.PI);
  return kappa * simpson((th) => f(th) * zonal(th) * w(th), 0, Math.PI);
}

const geodesic = (th: number): number => th;
const chord = (th: number): number => 2 * Math.sin(th / 2);

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('observableMatrix', () => {
  it('matches an independent pairwise computation for every metric', async () => {
    const t = noiseTemplate({ n: 12, dim: 5, seed: 9 });
    const x = t.reps;
    const rowOf = (i: number): Float64Array => x.data.subarray(i * 5, i * 5 + 5);
    const norm = (v: ArrayLike<number>): number => Math.sqrt(dot(v, v));
    const ref = {
      euclidean: (a: Float64Array, b: Float64Array) => norm(a.map((v, k) => v - b[k]!)),
      sqeuclidean: (a: Float64Array, b: Float64Array) => norm(a.map((v, k) => v - b[k]!)) ** 2,
      cosine: (a: Float64Array, b: Float64Array) => 1 - dot(a, b) / (norm(a) * norm(b)),
      angular: (a: Float64Array, b: Float64Array) =>
        Math.acos(Math.min(1, Math.max(-1, dot(a, b) / (norm(a) * norm(b))))),
    };
    for (const metric of ['euclidean', 'sqeuclidean', 'cosine', 'angular'] as const) {
      const m = metric === 'angular' ? await observableMatrix(x) : observableMatrixSync(x, { metric });
      for (let i = 0; i < 12; i++) {
        for (let j = 0; j < 12; j++) {
          const want = i === j ? 0 : ref[metric](rowOf(i), rowOf(j));
          expect(Math.abs(m.data[i * 12 + j]! - want)).toBeLessThan(1e-12 * Math.max(1, want));
        }
      }
    }
  });
});

describe('float32 representations', () => {
  it('give the float64 spectrum to float32 accuracy', () => {
    const t = sphereTemplate({ n: 300, dim: 2, seed: 4 });
    const f32 = { data: Float32Array.from(t.reps.data), rows: 300, cols: 3 };
    const f64 = { data: Float64Array.from(f32.data), rows: 300, cols: 3 };
    const a = analyzeObservableSync(f32);
    const b = analyzeObservableSync(f64);
    for (let k = 0; k < 300; k++) expect(Math.abs(a.values[k]! - b.values[k]!)).toBeLessThan(1e-9 * b.perron);
    expect(a.band.size).toBe(3);
  });
});

describe('BBS template on spheres (Funk–Hecke, N = 800)', () => {
  const N = 800;
  for (const d of [1, 2, 3] as const) {
    for (const distance of ['geodesic', 'chord'] as const) {
      it(`S${d} ${distance}: Perron/N, l = 1 multiplet of size ${d + 1}, one positive eigenvalue`, () => {
        const f = distance === 'geodesic' ? geodesic : chord;
        const mu0 = funkHecke(f, d, 0);
        const mu1 = funkHecke(f, d, 1);
        const t = sphereTemplate({ n: N, dim: d, distance, seed: 10 + d });
        const s = analyzeObservableSync(t.reps, { metric: t.metric });
        // Perron ≈ N μ₀ (within 0.01 after dividing by N); ⟨d⟩ → μ₀ too.
        expect(Math.abs(s.perron / N - mu0)).toBeLessThan(0.01);
        expect(Math.abs(s.meanDistance - mu0)).toBeLessThan(0.01);
        expect(s.positiveCount).toBe(1);
        expect(s.bbsProper).toBe(true);
        expect(s.band.size).toBe(d + 1);
        expect(s.band.dimension).toBe(d);
        expect(s.band.fingerprint).toBe('smooth-manifold');
        expect(s.band.clusterScore).toBeLessThan(0.8);
        // Multiplet mean (self-averaging trace) within 0.01 of μ₁; members within 0.05 (sampling split ∝ N^-½).
        let mean = 0;
        for (let k = 0; k <= d; k++) {
          expect(Math.abs(s.band.ranked[k]! / N - mu1)).toBeLessThan(0.05);
          mean += s.band.ranked[k]! / N / (d + 1);
        }
        expect(Math.abs(mean - mu1)).toBeLessThan(0.01);
        // The band eigenvectors are the coordinate functions: each centred coordinate lies in their span.
        const U = s.bandVectors;
        for (let c = 0; c <= d; c++) {
          const col = new Float64Array(N);
          for (let i = 0; i < N; i++) col[i] = t.reps.data[i * (d + 1) + c]!;
          const mu = col.reduce((a, b) => a + b, 0) / N;
          for (let i = 0; i < N; i++) col[i]! -= mu;
          const nc = dot(col, col);
          let proj = 0;
          for (let r = 0; r <= d; r++) proj += dot(col, U.data.subarray(r * N, (r + 1) * N)) ** 2;
          expect(proj / nc).toBeGreaterThan(0.99);
        }
      });
    }
  }

  it('S2 chord: the l = 2 multiplet (5 members) sits at N μ₂', () => {
    const mu2 = funkHecke(chord, 2, 2);
    const t = sphereTemplate({ n: N, dim: 2, distance: 'chord', seed: 12 });
    const s = analyzeObservableSync(t.reps, { metric: 'euclidean' });
    let mean = 0;
    for (let k = 3; k < 8; k++) mean += s.band.ranked[k]! / N / 5;
    expect(Math.abs(mean - mu2)).toBeLessThan(0.01);
    expect(s.band.multiplets.slice(0, 2)).toEqual([3, 5]);
  });

  it('MDS cloud is the bottom-three eigenvectors scaled by |λ|^½', () => {
    const t = sphereTemplate({ n: 200, dim: 2, seed: 3 });
    const s = analyzeObservableSync(t.reps);
    for (let j = 0; j < 3; j++) {
      const scale = Math.sqrt(Math.abs(s.values[j]!));
      expect(s.bottomValues[j]).toBe(s.values[j]);
      for (let i = 0; i < 200; i++)
        expect(s.mds.data[i * 3 + j]).toBeCloseTo(s.bottomVectors.data[j * 200 + i]! * scale, 12);
    }
    // Normalised spectrum and effective dimensions from their definitions.
    const nonP = Array.from(s.values.subarray(0, 199));
    const s1 = nonP.reduce((a, v) => a + Math.abs(v), 0);
    const s2 = nonP.reduce((a, v) => a + v * v, 0);
    expect(s.participationRatio).toBeCloseTo((s1 * s1) / s2, 9);
    const h = -nonP.reduce((a, v) => (v === 0 ? a : a + (Math.abs(v) / s1) * Math.log(Math.abs(v) / s1)), 0);
    expect(s.entropyDimension).toBeCloseTo(Math.exp(h), 9);
    expect(s.normalized[199]).toBeCloseTo(s.perron / (200 * s.meanDistance), 14);
    expect(s.band.massFraction).toBeCloseTo((Math.abs(nonP[0]!) + Math.abs(nonP[1]!) + Math.abs(nonP[2]!)) / s1, 12);
  });
});

describe('other templates', () => {
  it('K = 10 Gaussian clusters → 9 separated, non-degenerate outliers', async () => {
    const t = clusterTemplate({ n: 1000, k: 10, seed: 2 });
    const s = await analyzeObservable(t.reps, { metric: 'euclidean' });
    expect(s.band.size).toBe(9);
    expect(s.band.gapRatio).toBeGreaterThan(3);
    expect(s.band.spread).toBeGreaterThan(0.3);
    expect(s.band.fingerprint).toBe('clusters');
    expect(s.band.clusterScore).toBeGreaterThan(0.8);
    expect(s.positiveCount).toBe(1);
  });

  for (const metric of ['euclidean', 'angular'] as const) {
    it(`circulant Fourier embedding (${metric}): exact Fourier eigenvalues, eigenvectors and doublets`, () => {
      const p = 97;
      const freqs = [3, 17, 40];
      const t = fourierTemplate({ p, frequencies: freqs, metric });
      const s = analyzeObservableSync(t.reps, { metric });
      const M = s.matrix.data;
      // Circulant: M_ij = c_{(j−i) mod p}.
      for (let i = 0; i < p; i++)
        for (let j = 0; j < p; j++) expect(Math.abs(M[i * p + j]! - M[(j - i + p) % p]!)).toBeLessThan(1e-12);
      // Eigenvalues are the (real, symmetric) DFT of the first row: λ_n = Σ_j c_j cos(2πnj/p).
      const dft = Array.from({ length: p }, (_, n) => {
        let v = 0;
        for (let j = 0; j < p; j++) v += M[j]! * Math.cos((2 * Math.PI * n * j) / p);
        return v;
      });
      const sorted = [...dft].sort((a, b) => a - b);
      const scale = Math.abs(s.perron);
      for (let k = 0; k < p; k++) expect(Math.abs(s.values[k]! - sorted[k]!)).toBeLessThan(1e-10 * scale);
      // The band is the 3 key frequencies as exact doublets; each eigenvector is a Fourier mode.
      expect(s.band.size).toBe(2 * freqs.length);
      expect(s.band.fingerprint).toBe('fourier');
      for (let k = 0; k < 6; k += 2)
        expect(Math.abs(s.band.ranked[k]! - s.band.ranked[k + 1]!)).toBeLessThan(1e-10 * scale);
      const bandFreqs = new Set<number>();
      for (let r = 0; r < 6; r++) {
        const v = s.bandVectors.data.subarray(r * p, (r + 1) * p);
        // Frequency with the largest projection; the projection onto its cos/sin pair must be complete.
        let best = 0,
          bestProj = 0;
        for (let n = 1; n <= (p - 1) / 2; n++) {
          let c = 0,
            sn = 0;
          for (let j = 0; j < p; j++) {
            c += v[j]! * Math.cos((2 * Math.PI * n * j) / p);
            sn += v[j]! * Math.sin((2 * Math.PI * n * j) / p);
          }
          const proj = ((c * c + sn * sn) * 2) / p;
          if (proj > bestProj) [best, bestProj] = [n, proj];
        }
        expect(bestProj).toBeGreaterThan(1 - 1e-9);
        bandFreqs.add(best);
      }
      expect([...bandFreqs].sort((a, b) => a - b)).toEqual([...freqs].sort((a, b) => a - b));
    });
  }

  for (const [n, dim] of [
    [800, 1600],
    [800, 800],
  ] as const) {
    it(`pure noise N = ${n}, D = ${dim}: bulk edges within 5% of omd.md §2.3, σ̂ and D̂ recovered`, () => {
      const sigma = 1;
      const t = noiseTemplate({ n, dim, sigma, seed: 21 });
      const s = analyzeObservableSync(t.reps, { metric: 'euclidean' });
      const c = sigma * Math.sqrt(2 * dim);
      const lower = -c / 2 - (sigma ** 2 * (Math.sqrt(n) + Math.sqrt(dim)) ** 2) / c;
      const upper = -c / 2 - (sigma ** 2 * (Math.sqrt(n) - Math.sqrt(dim)) ** 2) / c;
      expect(s.band.clear).toBe(false);
      expect(s.band.fingerprint).toBe('noise');
      expect(s.positiveCount).toBe(1);
      const lo = s.values[0]!,
        hi = s.values[n - 2]!;
      expect(Math.abs(lo - lower) / Math.abs(lower)).toBeLessThan(0.05);
      expect(Math.abs(hi - upper) / Math.abs(upper)).toBeLessThan(0.05);
      // The fit: predicted edges follow the formula, σ̂ within 2%, D̂ within 5%.
      expect(Math.abs(s.ambient.lowerEdge - lower) / Math.abs(lower)).toBeLessThan(0.05);
      expect(Math.abs(s.ambient.upperEdge - upper) / Math.abs(upper)).toBeLessThan(0.05);
      expect(Math.abs(s.ambient.sigma - sigma)).toBeLessThan(0.02);
      expect(Math.abs(s.ambient.dimension - dim) / dim).toBeLessThan(0.05);
      expect(s.ambient.ks).toBeLessThan(0.1);
      // Perron ≈ (N − 1)c (§2.3), within 1%.
      expect(Math.abs(s.perron - (n - 1) * c) / ((n - 1) * c)).toBeLessThan(0.01);
      // Angular reading of the same probes: shift π/2 − 1, noise share b ≈ 1, σ̂ ≈ 1/√D on the unit sphere.
      const g = analyzeObservableSync(t.reps, { metric: 'angular' });
      expect(g.band.clear).toBe(false);
      expect(Math.abs(g.ambient.scale - 1)).toBeLessThan(0.02);
      expect(Math.abs(g.ambient.dimension - dim) / dim).toBeLessThan(0.05);
      expect(Math.abs(g.ambient.sigma * Math.sqrt(dim) - 1)).toBeLessThan(0.03);
    });
  }

  it('manifold + ambient noise: S² multiplet at ≈ −N R²/(3c) (§2.3, 10%), separated from the bulk', () => {
    const n = 600,
      D = 400,
      sigma = 0.1;
    const t = manifoldNoiseTemplate({ n, sphereDim: 2, ambientDim: D, sigma, seed: 5 });
    const s = analyzeObservableSync(t.reps, { metric: 'euclidean' });
    const c = sigma * Math.sqrt(2 * D);
    expect(s.band.size).toBe(3);
    const mean = (s.band.ranked[0]! + s.band.ranked[1]! + s.band.ranked[2]!) / 3;
    // First-order prediction: −c/2 − (N/c)·(1/3) (ambient diagonal shift plus latent covariance).
    const want = -c / 2 - n / (3 * c);
    expect(Math.abs(mean - want) / Math.abs(want)).toBeLessThan(0.1);
    expect(s.ambient.separation).toBeGreaterThan(0);
  });
});

describe('OmdTrajectory', () => {
  it('trajectory figures match direct computations; pipelined pushes equal sequential ones', async () => {
    const traj = diffusiveTrajectory({ n: 60, dim: 80, snapshots: 6, seed: 4 });
    const seq = new OmdTrajectory({ metric: 'euclidean' });
    for (const sn of traj.snapshots) seq.pushSync(sn.step, sn.reps);
    const par = new OmdTrajectory({ metric: 'euclidean', concurrency: 3 });
    await Promise.all(traj.snapshots.map((sn) => par.push(sn.step, sn.reps)));
    expect(par.points.map((p) => p.step)).toEqual(seq.points.map((p) => p.step));
    for (let t = 0; t < 6; t++) {
      const a = seq.points[t]!,
        b = par.points[t]!;
      expect(b.figures.values).toEqual(a.figures.values);
      if (t > 0) expect(b.overlap).toBeCloseTo(a.overlap, 12);
      // pushSync writes each M into the one its link released (two pushes back): the same figures.
      if (t > 0) expect(b.matrixVelocity).toBe(a.matrixVelocity);
      expect(Array.from(b.displacement)).toEqual(Array.from(a.displacement));
    }
    // Matrix velocity from its definition.
    const m0 = analyzeObservableSync(traj.snapshots[0]!.reps, { metric: 'euclidean' }).matrix.data;
    const m1 = analyzeObservableSync(traj.snapshots[1]!.reps, { metric: 'euclidean' }).matrix.data;
    let num = 0,
      den = 0;
    for (let i = 0; i < m0.length; i++) {
      num += (m1[i]! - m0[i]!) ** 2;
      den += m0[i]! ** 2;
    }
    expect(seq.points[1]!.matrixVelocity).toBeCloseTo(Math.sqrt(num / den), 12);
    expect(Number.isNaN(seq.points[0]!.overlap)).toBe(true);
    for (const p of seq.points.slice(1)) {
      expect(p.overlap).toBeGreaterThanOrEqual(0);
      expect(p.overlap).toBeLessThanOrEqual(1 + 1e-12);
    }
    // MSD at lag 1 = mean of the per-step displacements.
    const msd = seq.msd();
    const direct = seq.points.slice(1).reduce((a, p) => a + p.displacement.reduce((x, y) => x + y, 0) / 60, 0) / 5;
    expect(msd.msd[0]).toBeCloseTo(direct, 10);
    expect(msd.lags[0]).toBe(1);
  });

  it('rigid rotation and rescaling of the probes: M scales, normalised spectrum and aligned cloud stay put', () => {
    const base = sphereTemplate({ n: 120, dim: 2, distance: 'chord', seed: 8 }).reps;
    const tr = new OmdTrajectory({ metric: 'euclidean' });
    tr.pushSync(0, base);
    // Rotate by 0.7 rad about z and scale by 2: M → 2M.
    const c = Math.cos(0.7),
      sn = Math.sin(0.7);
    const rot = new Float64Array(base.data.length);
    for (let i = 0; i < 120; i++) {
      const [x, y, z] = [base.data[3 * i]!, base.data[3 * i + 1]!, base.data[3 * i + 2]!];
      rot[3 * i] = 2 * (c * x - sn * y);
      rot[3 * i + 1] = 2 * (sn * x + c * y);
      rot[3 * i + 2] = 2 * z;
    }
    const p = tr.pushSync(1, { data: rot, rows: 120, cols: 3 });
    expect(p.matrixVelocity).toBeCloseTo(1, 12);
    for (const v of p.eigenvalueVelocity) expect(v).toBeLessThan(1e-12);
    expect(p.overlap).toBeCloseTo(1, 10);
    // Cloud scales by √2 (|λ|^½) after Procrustes alignment: displacement = (√2 − 1)² |x|².
    const prev = tr.points[0]!.cloud;
    for (let i = 0; i < 120; i++) {
      let r2 = 0;
      for (let j = 0; j < 3; j++) r2 += prev.data[i * 3 + j]! ** 2;
      expect(p.displacement[i]).toBeCloseTo((Math.SQRT2 - 1) ** 2 * r2, 8);
    }
  });

  it('ring collapse (frustrated Brownian particles on S²): a transition from the S² triplet to an S¹ doublet', () => {
    const run = ringCollapseTrajectory({ n: 300, steps: 300, recordEvery: 3, seed: 1 });
    const tr = new OmdTrajectory({ metric: run.metric });
    for (const sn of run.snapshots) tr.pushSync(sn.step, sn.reps);
    expect(tr.points[0]!.figures.band.size).toBe(3);
    const last = tr.points[tr.points.length - 1]!.figures;
    expect(last.band.size).toBe(2);
    // The Perron eigenvalue does not flag the ring (omd.md §2.4): it moves by < 10%.
    expect(Math.abs(last.perronRatio - tr.points[0]!.figures.perronRatio)).toBeLessThan(0.1);
    const r = tr.regimes();
    expect(r.verdict).toBe('transition');
    // The run opens on a stable S² triplet and ends in a transition window holding the doublet.
    expect(r.windows[0]!.label).toBe('stable');
    expect(r.windows[0]!.bandSize).toBe(3);
    const end = r.windows[r.windows.length - 1]!;
    expect(end.label).toBe('transition');
    expect(end.bandSize).toBe(2);
    expect(r.windows[0]!.fingerprint).toBe('smooth-manifold');
    expect(end.fingerprint).toBe('smooth-manifold');
    expect(r.transitions[r.transitions.length - 1]!.step).toBe(end.startStep);
  });

  it('diffusive trajectory (slow random rotation plus jitter): no transition', async () => {
    const run = diffusiveTrajectory({ n: 200, dim: 400, snapshots: 40, seed: 2 });
    const tr = new OmdTrajectory({ metric: run.metric });
    for (const sn of run.snapshots) await tr.push(sn.step, sn.reps);
    const r = tr.regimes();
    expect(r.transitions).toEqual([]);
    expect(r.verdict).toBe('diffusive');
    expect(r.windows.every((w) => w.label === 'diffusive')).toBe(true);
    expect(tr.points.every((p) => !p.figures.band.clear)).toBe(true);
  });

  it('abrupt reorganisation at a known step: transition located within one snapshot', () => {
    for (const switchAt of [8, 15]) {
      const run = reorganisationTrajectory({ n: 200, snapshots: 30, switchAt, stepEvery: 10, seed: 3 });
      const tr = new OmdTrajectory({ metric: run.metric });
      for (const sn of run.snapshots) tr.pushSync(sn.step, sn.reps);
      const r = tr.regimes();
      expect(r.verdict).toBe('transition');
      expect(r.transitions.length).toBe(1);
      expect(Math.abs(r.transitions[0]!.step - run.switchStep)).toBeLessThanOrEqual(10);
      expect(r.transitions[0]!.bandSize).toBe(3);
      expect(r.transitions[0]!.previousBandSize).toBe(0);
      expect(r.windows[0]!.label).toBe('diffusive');
      expect(r.windows[0]!.fingerprint).toBe('noise');
    }
  });
});

describe('iidResampleNull', () => {
  it('clusters: the band vanishes under the i.i.d. (column-shuffle) null; pure noise sits inside its null', async () => {
    const cl = clusterTemplate({ n: 300, k: 6, dim: 32, seed: 4 });
    const a = await iidResampleNull(cl.reps, { replicas: 5, seed: 7, metric: 'euclidean' });
    expect(a.observed.bandSize).toBe(5);
    expect(a.replicas.every((r) => r.bandSize !== 5)).toBe(true);
    expect(a.summary.gapRatio.exceedance).toBe(0);
    expect(a.summary.gapRatio.z).toBeGreaterThan(3);
    const nz = noiseTemplate({ n: 300, dim: 300, seed: 4 });
    const b = await iidResampleNull(nz.reps, { replicas: 5, seed: 7, metric: 'euclidean' });
    expect(b.observed.bandSize).toBe(0);
    expect(b.replicas.every((r) => r.bandSize === 0)).toBe(true);
    // Bulk self-averaging: the normalised bulk densities agree (two-sample KS < 0.1).
    expect(Math.max(...b.replicas.map((r) => r.bulkDistance))).toBeLessThan(0.1);
    expect(Math.abs(b.summary.participationFraction.z)).toBeLessThan(6);
  });

  it('subsample: the S² triplet survives every replica', async () => {
    const t = sphereTemplate({ n: 300, dim: 2, seed: 6 });
    const r = await iidResampleNull(t.reps, { replicas: 4, method: 'subsample', fraction: 0.7 });
    expect(r.method).toBe('subsample');
    expect(r.replicas.every((x) => x.bandSize === 3)).toBe(true);
  });
});

describe('bad input', () => {
  const good = sphereTemplate({ n: 20, dim: 2, seed: 1 }).reps;

  it('rejects non-Mats, N < 4, NaN rows and bad options', async () => {
    expect(() => analyzeObservableSync([1, 2, 3] as unknown as Mat)).toThrow(TypeError);
    expect(() => analyzeObservableSync({ data: new Float64Array(9), rows: 3, cols: 3 }, { input: 'reps' })).toThrow(
      RangeError,
    );
    expect(() => observableMatrixSync({ data: new Float64Array(9), rows: 3, cols: 3 })).toThrow(
      /Expected at least 4 probe rows for reps.rows but received 3/,
    );
    const nan = Float64Array.from(good.data);
    nan[3 * 7 + 1] = NaN;
    const bad = { data: nan, rows: 20, cols: 3 };
    expect(() => analyzeObservableSync(bad)).toThrow(RangeError);
    expect(() => analyzeObservableSync(bad)).toThrow(/row 7, column 1/);
    await expect(analyzeObservable(bad)).rejects.toThrow(RangeError);
    expect(() => analyzeObservableSync(good, { metric: 'manhattan' as 'angular' })).toThrow(RangeError);
    expect(() => analyzeObservableSync(good, { bottomK: 0 })).toThrow(RangeError);
    expect(() => analyzeObservableSync(good, { minGapRatio: '2' as unknown as number })).toThrow(TypeError);
  });

  it('rejects non-symmetric, negative and non-zero-diagonal distance matrices', () => {
    const M = observableMatrixSync(good);
    const asym = Float64Array.from(M.data);
    asym[1 * 20 + 2]! += 0.1;
    expect(() => analyzeObservableSync({ data: asym, rows: 20, cols: 20 }, { input: 'distance' })).toThrow(/symmetric/);
    // Auto-detection (square, zero diagonal) applies the same checks, in snapshots and pushes.
    expect(() => analyzeObservableSync({ data: asym, rows: 20, cols: 20 })).toThrow(RangeError);
    expect(() => new OmdTrajectory().pushSync(0, { data: asym, rows: 20, cols: 20 })).toThrow(/symmetric/);
    const neg = Float64Array.from(M.data);
    neg[1 * 20 + 2] = -0.5;
    neg[2 * 20 + 1] = -0.5;
    expect(() => analyzeObservableSync({ data: neg, rows: 20, cols: 20 }, { input: 'distance' })).toThrow(
      /non-negative/,
    );
    expect(() => analyzeObservableSync({ data: neg, rows: 20, cols: 20 })).toThrow(/non-negative/);
    const diag = Float64Array.from(M.data);
    diag[5 * 20 + 5] = 1;
    expect(() => analyzeObservableSync({ data: diag, rows: 20, cols: 20 }, { input: 'distance' })).toThrow(RangeError);
    expect(() =>
      analyzeObservableSync({ data: new Float64Array(12), rows: 4, cols: 3 }, { input: 'distance' }),
    ).toThrow(RangeError);
    // A valid M is accepted as is (auto-detected) and gives the same spectrum as the reps.
    const a = analyzeObservableSync(M);
    const b = analyzeObservableSync(good);
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
  });

  it('checkDistance: ⟨d⟩ is the row-order upper-triangle mean; with several violations it names the first in row order', () => {
    const M = observableMatrixSync(sphereTemplate({ n: 90, dim: 3, seed: 4 }).reps);
    const n = M.rows;
    let sum = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sum += M.data[i * n + j]!;
    expect(checkDistance(M)).toBe((2 * sum) / (n * (n - 1)));
    const bad = (edits: [number, number, number][]): Mat => {
      const d = Float64Array.from(M.data);
      for (const [i, j, v] of edits) d[i * n + j] = v;
      return { data: d, rows: n, cols: n };
    };
    // An asymmetry in a later 32 x 32 tile than a negative entry, but earlier in row order.
    expect(() =>
      checkDistance(
        bad([
          [40, 80, 5],
          [41, 45, -1],
          [45, 41, -1],
        ]),
      ),
    ).toThrow(/for M\[40\]\[80\]/);
    expect(() =>
      checkDistance(
        bad([
          [41, 45, -1],
          [45, 41, -1],
          [70, 85, 5],
        ]),
      ),
    ).toThrow(/Expected a non-negative distance for M\[41\]\[45\]/);
    expect(() =>
      checkDistance(
        bad([
          [60, 60, 0.5],
          [10, 88, 7],
        ]),
      ),
    ).toThrow(/Expected a symmetric matrix \(M\[88\]\[10\] = .*\) for M\[10\]\[88\]/);
    expect(() => checkDistance(bad([[60, 60, 0.5]]))).toThrow(/Expected a zero diagonal for M\[60\]\[60\]/);
  });

  it('markMadeHere: the next check of that buffer returns the same ⟨d⟩ without the scan, once; then the full check again', () => {
    const M = observableMatrixSync(sphereTemplate({ n: 90, dim: 3, seed: 4 }).reps);
    const n = M.rows;
    const want = checkDistance(M);
    markMadeHere(M.data);
    expect(checkDistance(M)).toBe(want); // the same bits as the full check
    // The mark is spent: an asymmetry written after it is caught by the full check.
    const kept = M.data[3 * n + 7]!;
    M.data[3 * n + 7] = kept + 1;
    expect(() => checkDistance(M)).toThrow(/Expected a symmetric matrix/);
    // Marked while broken (a misuse the marker's contract rules out): ⟨d⟩ only, so the mark must
    // never outlive the kernel's write; a copy of the buffer is not marked.
    markMadeHere(M.data);
    expect(() => checkDistance({ data: Float64Array.from(M.data), rows: n, cols: n })).toThrow(
      /Expected a symmetric matrix/,
    );
    M.data[3 * n + 7] = kept;
  });

  it('all-identical probes (⟨d⟩ = 0) raise a RangeError, not NaN figures', async () => {
    const same = new Float64Array(10 * 4);
    for (let i = 0; i < 10; i++) same.set([1, 2, 3, 4], i * 4);
    const x = { data: same, rows: 10, cols: 4 };
    for (const metric of ['angular', 'euclidean'] as const) {
      expect(() => analyzeObservableSync(x, { metric })).toThrow(/mean off-diagonal distance > 0/);
      await expect(analyzeObservable(x, { metric })).rejects.toThrow(RangeError);
    }
    expect(() =>
      analyzeObservableSync({ data: new Float64Array(16), rows: 4, cols: 4 }, { input: 'distance' }),
    ).toThrow(RangeError);
  });

  it('trajectory: a different N across pushes and non-increasing steps are rejected', async () => {
    const tr = new OmdTrajectory();
    tr.pushSync(0, good);
    const other = sphereTemplate({ n: 21, dim: 2, seed: 2 }).reps;
    expect(() => tr.pushSync(1, other)).toThrow(RangeError);
    expect(() => tr.pushSync(1, other)).toThrow(
      /Expected the probe count of the first snapshot \(N = 20\) for input.rows but received 21/,
    );
    await expect(tr.push(2, other)).rejects.toThrow(RangeError);
    expect(() => tr.pushSync(0, good)).toThrow(RangeError);
    expect(() => tr.pushSync(Number.NaN, good)).toThrow(RangeError);
    expect(() => tr.msd()).toThrow(RangeError);
    expect(() => new OmdTrajectory({ concurrency: 0 })).toThrow(RangeError);
    expect(() => tr.regimes({ minOverlap: 2 })).toThrow(RangeError);
  });

  it('null: bad replica counts, methods and fractions are rejected', async () => {
    await expect(iidResampleNull(good, { replicas: 0 })).rejects.toThrow(RangeError);
    await expect(iidResampleNull(good, { method: 'bootstrap' as 'shuffle' })).rejects.toThrow(RangeError);
    await expect(iidResampleNull(good, { method: 'subsample', fraction: 0.1 })).rejects.toThrow(RangeError);
    await expect(iidResampleNull(good, { replicas: 'x' as unknown as number })).rejects.toThrow(TypeError);
  });
});

describe('analyzeObservable routes (full / partial)', () => {
  // Partial route: Perron, the top maxBand + 1 non-Perron values by |λ| and the bottom-k pairs
  // by block Lanczos (eigsh), the bulk as SLQ pseudo-eigenvalues. Exact figures within 1e-6
  // relative of the full route; bulk (ambient) figures within 10 % (D̂) / 3 % (σ̂).
  const rel = (a: number, b: number): number => Math.abs(a / b - 1);

  it('pure noise N = 800, D = 1600: Perron, band ranking and participation exact, ambient D̂ and σ̂ close', async () => {
    const n = 800,
      dim = 1600;
    const t = noiseTemplate({ n, dim, sigma: 1, seed: 21 });
    const full = await analyzeObservable(t.reps, { metric: 'euclidean' });
    const part = await analyzeObservable(t.reps, { metric: 'euclidean', route: 'partial' });
    expect(full.route).toBe('full');
    expect(part.route).toBe('partial');
    expect(part.values.length).toBe(n);
    for (let i = 1; i < n; i++) expect(part.values[i]!).toBeGreaterThanOrEqual(part.values[i - 1]!);
    expect(rel(part.perron, full.perron)).toBeLessThan(1e-6);
    expect(part.positiveCount).toBe(1);
    expect(part.band.clear).toBe(false);
    expect(part.band.fingerprint).toBe('noise');
    expect(part.band.candidateSize).toBe(full.band.candidateSize);
    for (let k = 0; k <= 32; k++) expect(rel(part.band.ranked[k]!, full.band.ranked[k]!)).toBeLessThan(1e-6);
    expect(rel(part.participationRatio, full.participationRatio)).toBeLessThan(1e-6);
    expect(rel(part.entropyDimension, full.entropyDimension)).toBeLessThan(0.02);
    expect(rel(part.ambient.dimension, full.ambient.dimension)).toBeLessThan(0.1);
    expect(rel(part.ambient.dimension, dim)).toBeLessThan(0.1);
    expect(Math.abs(part.ambient.sigma - 1)).toBeLessThan(0.03);
    expect(rel(part.ambient.lowerEdge, full.ambient.lowerEdge)).toBeLessThan(0.03);
    expect(part.normalized[n - 1]).toBeCloseTo(part.perron / (n * part.meanDistance), 14);
  });

  it('S² chord N = 800 (Sync twin): the l = 1 triplet, bottom-three, MDS and band mass exact', () => {
    const t = sphereTemplate({ n: 800, dim: 2, distance: 'chord', seed: 12 });
    const full = analyzeObservableSync(t.reps, { metric: 'euclidean' });
    const part = analyzeObservableSync(t.reps, { metric: 'euclidean', route: 'partial' });
    expect(part.route).toBe('partial');
    expect(part.band.size).toBe(3);
    expect(part.band.size).toBe(full.band.size);
    expect(part.band.fingerprint).toBe('smooth-manifold');
    expect(part.band.multiplets).toEqual(full.band.multiplets);
    for (let k = 0; k < 3; k++) {
      expect(rel(part.band.ranked[k]!, full.band.ranked[k]!)).toBeLessThan(1e-6);
      expect(rel(part.bottomValues[k]!, full.bottomValues[k]!)).toBeLessThan(1e-6);
    }
    expect(rel(part.band.gapRatio, full.band.gapRatio)).toBeLessThan(1e-6);
    expect(rel(part.band.massFraction, full.band.massFraction)).toBeLessThan(1e-6);
    expect(Math.abs(part.band.clusterScore - full.band.clusterScore)).toBeLessThan(1e-6);
    expect(part.bbsProper).toBe(true);
    // Eigenvectors are defined up to sign: compare the MDS coordinates in absolute value.
    for (let i = 0; i < part.mds.data.length; i++)
      expect(Math.abs(Math.abs(part.mds.data[i]!) - Math.abs(full.mds.data[i]!))).toBeLessThan(1e-6);
  });

  it('K = 10 clusters N = 1000: band of 9 and the clusters fingerprint on the partial route', async () => {
    const t = clusterTemplate({ n: 1000, k: 10, seed: 2 });
    const s = await analyzeObservable(t.reps, { metric: 'euclidean', route: 'partial' });
    expect(s.band.size).toBe(9);
    expect(s.band.fingerprint).toBe('clusters');
    expect(s.positiveCount).toBe(1);
  });

  it('auto picks full at or below partialAbove and partial above it', async () => {
    const t = sphereTemplate({ n: 200, dim: 2, seed: 3 });
    expect((await analyzeObservable(t.reps)).route).toBe('full');
    expect(analyzeObservableSync(t.reps, { partialAbove: 200 }).route).toBe('full');
    expect((await analyzeObservable(t.reps, { partialAbove: 199 })).route).toBe('partial');
    expect(analyzeObservableSync(t.reps, { partialAbove: 199 }).route).toBe('partial');
    expect((await analyzeObservable(t.reps, { partialAbove: 10, route: 'full' })).route).toBe('full');
  });

  it('forced partial on a small N (60 < 2 x the default block): same band and Perron as full', async () => {
    const t = sphereTemplate({ n: 60, dim: 2, seed: 3 });
    const p = await analyzeObservable(t.reps, { route: 'partial' });
    const f = await analyzeObservable(t.reps, { route: 'full' });
    expect(p.route).toBe('partial');
    expect(p.band.size).toBe(f.band.size);
    expect(rel(p.perron, f.perron)).toBeLessThan(1e-8);
    for (let k = 0; k <= 32; k++) expect(rel(p.band.ranked[k]!, f.band.ranked[k]!)).toBeLessThan(1e-6);
  });

  it('bad route options: exact error classes and messages', async () => {
    const t = sphereTemplate({ n: 50, dim: 2, seed: 3 });
    expect(() => analyzeObservableSync(t.reps, { route: 'fast' as 'full' })).toThrow(
      "Expected 'auto', 'full' or 'partial' for route but received",
    );
    expect(() => analyzeObservableSync(t.reps, { route: 'fast' as 'full' })).toThrow(RangeError);
    expect(() => analyzeObservableSync(t.reps, { route: 2 as unknown as 'full' })).toThrow(TypeError);
    await expect(analyzeObservable(t.reps, { partialAbove: -1 })).rejects.toThrow(RangeError);
    await expect(analyzeObservable(t.reps, { partialAbove: 2.5 })).rejects.toThrow(RangeError);
    await expect(analyzeObservable(t.reps, { partialAbove: '9' as unknown as number })).rejects.toThrow(TypeError);
  });
});
