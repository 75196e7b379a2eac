// models/: the nonlinear one-step, two-layer and finite-data closed forms of the teacher–student
// model, each against an independent evaluation (quadrature by another rule, a brute-force scan,
// a limit) and against simulation at sizes where finite-size effects are below the tolerance.
import { describe, expect, it } from 'vitest';
import {
  finiteDataTeacherStudent as fd,
  linearTeacherStudent as lts,
  phaseDiagram,
  simulateTeacherStudent,
  stepBoundaries,
  stepCoefficients,
  twoLayerCoefficients,
} from '../src/models/index.js';
import { Rng } from '../src/random.js';
import { expectOneStep } from './nonlinear-sim.js';
import { mpEdge } from '../src/models/finite-data.js';
import { eigvalshSync, gramSync } from '../src/linalg/index.js';

/** Midpoint rule for E[g(σ z)], z ~ N(0, 1), on [−12, 12] (independent of the implementation's rules). */
function gaussMid(g: (h: number) => number, sigma: number, k = 40000): number {
  const h = 24 / k;
  let s = 0;
  for (let i = 0; i < k; i++) {
    const z = -12 + (i + 0.5) * h;
    s += g(sigma * z) * Math.exp(-0.5 * z * z);
  }
  return (s * h) / Math.sqrt(2 * Math.PI);
}
const d1 = (x: number) => 1 / Math.cosh(x) ** 2;

describe('nonlinear one-step coefficients and boundaries', () => {
  it('tanh μ₁, μ₂ against an independent quadrature; ReLU exact; the published table', () => {
    for (const sigmaW of [0.1, 0.5, 1, 3, 30]) {
      const c = stepCoefficients('tanh', { sigmaW });
      const mu1 = gaussMid(d1, sigmaW, sigmaW > 5 ? 400000 : 40000);
      // tanh'' = −2 tanh · tanh'; μ₂ = E[tanh'² + tanh tanh'']
      const mu2 = gaussMid((h) => d1(h) ** 2 - 2 * Math.tanh(h) ** 2 * d1(h), sigmaW, sigmaW > 5 ? 400000 : 40000);
      expect(Math.abs(c.mu1 - mu1)).toBeLessThan(1e-7);
      expect(Math.abs(c.mu2 - mu2)).toBeLessThan(1e-7);
    }
    // the release's table: σ_W = 0.5: μ₁ = 0.826, μ₂ = 0.499; σ_W = 1: 0.606, 0.182, ε_o = 5.50
    const a = stepCoefficients('tanh', { sigmaW: 0.5 }),
      b = stepCoefficients('tanh', { sigmaW: 1 });
    expect(a.mu1).toBeCloseTo(0.826, 3);
    expect(a.mu2).toBeCloseTo(0.499, 3);
    expect(b.mu1).toBeCloseTo(0.606, 3);
    expect(b.mu2).toBeCloseTo(0.182, 3);
    expect(stepBoundaries(b, { sigmaW: 1, ratio: 0.5 }).optimalStep).toBeCloseTo(5.5, 2);
    expect(stepBoundaries(a, { sigmaW: 0.5, ratio: 0.5 }).criticalStep).toBeCloseTo(0.41, 2);
    expect(stepBoundaries(b, { sigmaW: 1, ratio: 0.5 }).criticalStep).toBeCloseTo(1.11, 2);
    // ReLU: E[relu'(h)]·E[relu'(h*)] = 1/4, E[relu'² + relu·relu''] = 1/2 (relu·δ = 0)
    const r = stepCoefficients('relu', { sigmaW: 2 });
    expect(r).toEqual({ mu1: 0.25, mu2: 0.5, mu1Tilde: 0, mu2Tilde: 0 });
    expect(gaussMid((h) => (h > 0 ? 1 : 0), 2)).toBeCloseTo(0.5, 6);
  });

  it('ReLU at σ_W = 1, r = 0.5: ε_c = 1.2542, ε_c⁺ = 4.9334, ε_o = 2; with the release teacher correction 1.2508, 4.881', () => {
    const b0 = stepBoundaries(stepCoefficients('relu', { sigmaW: 1 }), { sigmaW: 1, ratio: 0.5 });
    const a = 2 ** -0.25;
    expect(b0.criticalStep).toBeCloseTo(a / (0.25 + 0.5 * a), 12);
    expect(b0.upperCriticalStep).toBeCloseTo(a / (0.5 * a - 0.25), 12);
    expect(b0.optimalStep).toBe(2);
    // m = (N Σu⁴ − 1)/(N − 1) of the release's teacher (N = 100, numpy seed 42) is 0.0194623
    const m = 0.019462253357946657;
    const b1 = stepBoundaries(
      { mu1: 0.25, mu2: 0.5, mu1Tilde: 0, mu2Tilde: -m / (2 * Math.PI) },
      { sigmaW: 1, ratio: 0.5 },
    );
    expect(b1.criticalStep).toBeCloseTo(1.2508, 4);
    expect(Math.abs(b1.upperCriticalStep - 4.882)).toBeLessThan(2e-3);
    // μ̃₂ from a teacher vector: u = e₁ gives m = 1
    const e1 = new Float64Array(10);
    e1[0] = 1;
    expect(stepCoefficients('relu', { sigmaW: 2, teacher: e1 }).mu2Tilde).toBeCloseTo(-1 / (4 * Math.PI), 14);
  });

  it('the ordered intervals equal a brute-force scan of the quadratic (with and without corrections)', () => {
    const cases = [
      { mu1: 0.25, mu2: 0.5, mu1Tilde: 0, mu2Tilde: 0 },
      { mu1: 0.25, mu2: 0.5, mu1Tilde: 0, mu2Tilde: -0.01 },
      { mu1: 0.6, mu2: 0.18, mu1Tilde: 0.02, mu2Tilde: 0 },
      { mu1: 0.0025, mu2: 0.05, mu1Tilde: 0, mu2Tilde: 0 },
    ];
    for (const c of cases) {
      for (const sigmaW of [0.05, 0.3, 1, 4, 20]) {
        const b = stepBoundaries(c, { sigmaW, ratio: 0.5 });
        const sr = Math.sqrt(0.5),
          s2 = sigmaW * sigmaW;
        const q = (e: number) =>
          (c.mu2Tilde * (c.mu2Tilde + 2 * c.mu2) * 0.5 * s2 - c.mu2 ** 2 * sr * s2 + (c.mu1 + c.mu1Tilde) ** 2) *
            e *
            e +
          2 * (c.mu2 * sr - c.mu2Tilde * 0.5) * s2 * e -
          sr * s2;
        for (let k = 0; k < 3000; k++) {
          const e = 10 ** (-3 + (6 * k) / 3000);
          const inside = b.orderedIntervals.some(([lo, hi]) => e > lo && e < hi);
          if (Math.abs(q(e)) > 1e-9 * (1 + Math.abs(q(e)))) expect(inside).toBe(q(e) > 0);
        }
        if (c.mu1Tilde === 0 && c.mu2Tilde === 0) {
          // without corrections: εμ₁ > σ_W r^{1/4}|1 − εμ₂|
          const a = sigmaW * 0.5 ** 0.25;
          expect(b.criticalStep).toBeCloseTo(a / (c.mu1 + c.mu2 * a), 10);
        }
      }
    }
  });

  it('simulation (N = 200, population gradient, one step): λ_max and q² follow the closed forms', async () => {
    const cases = [
      { act: 'relu', sigmaW: 1, lr: [1.0, 2, 3] },
      { act: 'tanh', sigmaW: 1, lr: [0.8, 3] },
      { act: 'tanh', sigmaW: 0.5, lr: [0.6] },
    ] as const;
    // ReLU's per-row δ(h) term (≈ |u_a|/(2πσ_W)) shifts λ_max by up to ~10% at N = 200
    await expectOneStep(cases, 200, { relu: 0.12, tanh: 0.04 });
  });

  it('phaseDiagram reads ReLU cells against the nonlinear boundaries', async () => {
    const sigmaW = [0.3, 1, 3],
      lr = [0.5, 1, 2, 3.5, 8];
    const pd = await phaseDiagram({ sigmaW, lr, activation: 'relu', n: 100, m: 200, replicas: 6, seed: 2 });
    for (const b of pd.boundaries) {
      const want = stepBoundaries(stepCoefficients('relu', { sigmaW: b.sigmaW, teacher: undefined }), {
        sigmaW: b.sigmaW,
        ratio: 0.5,
      });
      expect(Math.abs(b.criticalStep / want.criticalStep - 1)).toBeLessThan(0.02); // the teacher correction is O(1/N)
      expect(b.optimalStep).toBe(2);
    }
    for (const c of pd.cells) {
      const b = pd.boundaries.find((x) => x.sigmaW === c.sigmaW)!;
      // near ε_c⁺ the outlier sits within a few Tracy–Widom scales of the edge at N = 100
      const far = b.transitions.every((x) => Math.abs(Math.log(c.lr / x)) > 0.4);
      if (far) expect(c.phase).toBe(c.theoryPhase);
    }
    expect(pd.cells.some((c) => c.theoryPhase === 'paramagnetic')).toBe(true);
  });

  it('two-layer coefficients: ε_c = 1/(μ₂ + μ₁/(σ_W r^¼)), ε_o = 2/σ_Z²', () => {
    for (const sigmaZ of [0.5, 1, 2]) {
      for (const readoutOverlap of [0.01, 1]) {
        const c = twoLayerCoefficients({ sigmaZ, readoutOverlap });
        for (const sigmaW of [0.1, 1, 10]) {
          const b = stepBoundaries(c, { sigmaW, ratio: 0.5 });
          expect(b.criticalStep).toBeCloseTo(1 / (c.mu2 + c.mu1 / (sigmaW * 0.5 ** 0.25)), 10);
          expect(b.optimalStep).toBeCloseTo(2 / sigmaZ ** 2, 14);
        }
      }
    }
    expect(stepBoundaries(twoLayerCoefficients({ sigmaZ: 1, readoutOverlap: 1 }), { sigmaW: 1, ratio: 0.5 })).toEqual(
      stepBoundaries(stepCoefficients('relu', { sigmaW: 1 }), { sigmaW: 1, ratio: 0.5 }),
    );
    expect(() => twoLayerCoefficients({ sigmaZ: 1, readoutOverlap: 2 })).toThrow(
      'Expected a number in [0, 1] for readoutOverlap but received 2',
    );
  });
});

describe('finite data (P = αM), one linear step', () => {
  it('α → ∞ is the population closed form; the release numbers (edge 2.6328 at α = 10, ε = 0.05; α = 1 window 0.55–0.74)', () => {
    for (const sigmaW of [0.5, 1, 2]) {
      for (const lr of [0.2, 0.5, 0.8, 1.3, 1.8]) {
        const p = { sigmaW, ratio: 0.5, lr };
        const f = { ...p, alpha: 1e7 };
        expect(Math.abs(fd.bulkEdge(f) / lts.bulkEdge(p) - 1)).toBeLessThan(1e-4);
        expect(Math.abs(fd.overlap(f) - lts.overlap(p))).toBeLessThan(1e-4);
        if (!Number.isNaN(lts.outlier(p))) expect(Math.abs(fd.outlier(f) / lts.outlier(p) - 1)).toBeLessThan(1e-4);
      }
    }
    expect(fd.bulkEdge({ sigmaW: 1, ratio: 0.5, alpha: 10, lr: 0.05 })).toBeCloseTo(2.6328, 4);
    const w = fd.orderedIntervals({ sigmaW: 1, ratio: 0.5, alpha: 1 });
    expect(w.length).toBe(1);
    expect(w[0]![0]).toBeCloseTo(0.55, 1);
    expect(w[0]![1]).toBeCloseTo(0.74, 2);
    expect(fd.orderedIntervals({ sigmaW: 1, ratio: 0.5, alpha: 0.5 })).toEqual([]);
    expect(fd.optimalStep(10)).toBeCloseTo(10 / 9, 14);
    expect(fd.optimalStep(1)).toBe(Infinity);
  });

  it('simulation (N = 200, M = 400): λ_max and q² follow the finite-α closed forms', async () => {
    for (const alpha of [1, 3, 10]) {
      for (const lr of [0.4, 0.65, 0.9, 1.4]) {
        const r = await simulateTeacherStudent({
          n: 200,
          m: 400,
          sigmaW: 1,
          lr,
          steps: 1,
          data: { alpha },
          replicas: 4,
          seed: 3,
        });
        const p = { sigmaW: 1, ratio: 0.5, alpha, lr };
        const margin = fd
          .orderedIntervals({ sigmaW: 1, ratio: 0.5, alpha })
          .flat()
          .every((x) => Math.abs(Math.log(lr / x)) > 0.2);
        // one dataset is shared by the replicas: |Σ̂v|² fluctuates by O(1/√M), so λ_max scatters by ~10%
        expect(Math.abs(r.lambdaMax[1]! / fd.lambdaMax(p) - 1)).toBeLessThan(0.12);
        if (margin) expect(Math.abs(r.q2[1]! - fd.overlap(p))).toBeLessThan(0.08);
      }
    }
  });

  it('bad input', () => {
    expect(() => fd.overlap({ sigmaW: 1, ratio: 0.5, alpha: 0, lr: 0.5 })).toThrow(
      'Expected a number > 0 for alpha but received 0',
    );
    expect(() => stepCoefficients('sigmoid' as 'relu', { sigmaW: 1 })).toThrow(
      "Expected 'linear', 'relu' or 'tanh' for activation but received 'sigmoid'",
    );
  });
});

describe('ReLU on a finite dataset: the spurious mean spike', () => {
  it('λ_max at ε_o = 2 and large σ_W is ε²σ_W²N|m̄|²/(2π), m̄ the dataset mean (N = 100, α = 20)', async () => {
    const n = 100,
      m = 200,
      alpha = 20,
      P = alpha * m;
    for (const [sigmaW, seed] of [
      [3, 1],
      [10, 2],
    ] as const) {
      const r = await simulateTeacherStudent({
        n,
        m,
        sigmaW,
        lr: 2,
        steps: 1,
        activation: 'relu',
        data: { alpha },
        replicas: 2,
        seed,
      });
      // the simulator's dataset: stream 1 of the seed, M x P row-major
      const xt = new Rng(seed, 1).fillNormal(new Float64Array(m * P));
      let mbar2 = 0;
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < P; p++) s += xt[j * P + p]!;
        mbar2 += (s / P) ** 2;
      }
      const want = (4 * sigmaW ** 2 * n * mbar2) / (2 * Math.PI);
      expect(Math.abs(r.lambdaMax[1]! / want - 1)).toBeLessThan(0.1);
      expect(Math.abs(fd.reluMeanSpike({ sigmaW, n, alpha, lr: 2 }) / want - 1)).toBeLessThan(0.35); // E|m̄|² = 1/α
      // the population step keeps q² ≈ 1 here; the dataset's top eigenvector misses u
      expect(r.q2[1]!).toBeLessThan(0.1);
      const pop = await simulateTeacherStudent({
        n,
        m,
        sigmaW,
        lr: 2,
        steps: 1,
        activation: 'relu',
        replicas: 2,
        seed,
      });
      expect(pop.q2[1]!).toBeGreaterThan(0.95);
    }
  });
});

describe('generalised Marchenko–Pastur edge (mpEdge)', () => {
  it('equal row variances give σ²(1 + √r)²; unequal ones match a sampled D W₀ (N = 400)', () => {
    for (const r of [0.25, 0.5, 1]) {
      const e = mpEdge(Float64Array.of(2, 2), Float64Array.of(0.5, 0.5), r).edge;
      expect(e / (2 * (1 + Math.sqrt(r)) ** 2)).toBeCloseTo(1, 8);
    }
    const n = 400,
      m = 800,
      rng = new Rng(9, 4);
    const d2 = Float64Array.from({ length: n }, (_, a) => (a < n / 2 ? 1 : 0.2));
    const z = rng.fillNormal(new Float64Array(n * m), 0, 1 / Math.sqrt(m));
    for (let a = 0; a < n; a++) for (let j = 0; j < m; j++) z[a * m + j]! *= Math.sqrt(d2[a]!);
    const top = eigvalshSync(gramSync({ data: z, rows: n, cols: m }))[n - 1]!;
    const want = mpEdge(d2, new Float64Array(n).fill(1 / n), n / m).edge;
    expect(Math.abs(top / want - 1)).toBeLessThan(0.02);
    // and it differs from the edge at the mean variance
    expect(Math.abs(want / (0.6 * (1 + Math.sqrt(0.5)) ** 2) - 1)).toBeGreaterThan(0.05);
  });
});
