// models/: linear teacher–student closed forms, the simulator, the phase diagram and the
// Binder-cumulant estimate of the critical step. Expected values are recomputed here from the
// formulas of Park, Bocchi, D'Amico, Lucini & Aarts 2026 (arXiv:2606.28486), independently of
// the implementation.
import { describe, expect, it } from 'vitest';
import {
  estimateCriticalStep,
  estimateCriticalStepSync,
  linearTeacherStudent as lts,
  logspace,
  phaseDiagram,
  phaseDiagramSync,
  simulateTeacherStudent,
  simulateTeacherStudentSync,
} from '../src/models/index.js';
import { linearStepSweep, linearWeights, runSync, squaredOverlap, topEigenOf } from '../src/models/physics.js';
import { Rng } from '../src/random.js';

/** Independent evaluation of the linear closed forms (one-step population GD, t steps). */
function reference(sigmaW: number, r: number, eps: number, t: number) {
  const A = (1 - eps) ** (2 * t);
  const B = (1 - (1 - eps) ** t) ** 2;
  const s2 = A * sigmaW ** 2;
  const tau = B / s2;
  const edge = s2 * (1 + Math.sqrt(r)) ** 2;
  const present = tau > Math.sqrt(r);
  const outlier = present ? ((B + r * s2) * (B + s2)) / B : NaN;
  const q2 = present ? (1 - r / tau ** 2) / (1 + r / tau) : 0;
  return { A, B, tau, edge, outlier, q2, present };
}

describe('linearTeacherStudent closed forms', () => {
  it('bulk edge, outlier, overlap and snr against an independent evaluation', () => {
    for (const sigmaW of [0.1, 1, 3]) {
      for (const r of [0.1, 0.5, 1]) {
        for (const lr of [0.05, 0.3, 0.7, 1.3, 1.9]) {
          for (const t of [1, 2, 5]) {
            const p = { sigmaW, ratio: r, lr, t };
            const ref = reference(sigmaW, r, lr, t);
            expect(lts.bulkEdge(p)).toBeCloseTo(ref.edge, 12);
            expect(lts.snr(p) / ref.tau).toBeCloseTo(1, 12);
            expect(lts.overlap(p)).toBeCloseTo(ref.q2, 12);
            if (ref.present) expect(lts.outlier(p) / ref.outlier).toBeCloseTo(1, 12);
            else expect(lts.outlier(p)).toBeNaN();
            expect(lts.lambdaMax(p)).toBe(ref.present ? lts.outlier(p) : lts.bulkEdge(p));
            expect(lts.phase(p)).toBe(!ref.present ? 'disordered' : lr <= 1 ? 'ferromagnetic' : 'paramagnetic');
          }
        }
      }
    }
    // ε = 1 removes the bulk in one step: W₁ = W*, λ_max = 1, q² = 1.
    expect(lts.outlier({ sigmaW: 2, ratio: 0.5, lr: 1 })).toBe(1);
    expect(lts.overlap({ sigmaW: 2, ratio: 0.5, lr: 1 })).toBe(1);
  });

  it('critical steps sit exactly on the BBP threshold τ_t = √r; t_c inverts ε_c', () => {
    for (const sigmaW of [0.3, 1, 5]) {
      for (const r of [0.01, 0.5, 1]) {
        const a = sigmaW * r ** 0.25;
        const ec = lts.criticalStep({ sigmaW, ratio: r });
        expect(ec).toBeCloseTo(a / (1 + a), 14);
        expect(reference(sigmaW, r, ec, 1).tau / Math.sqrt(r)).toBeCloseTo(1, 10);
        expect(lts.phase({ sigmaW, ratio: r, lr: ec * 0.99 })).toBe('disordered');
        expect(lts.phase({ sigmaW, ratio: r, lr: ec * 1.01 })).toBe('ferromagnetic');
        const up = lts.upperCriticalStep({ sigmaW, ratio: r });
        if (a > 1) {
          expect(up).toBeCloseTo(a / (a - 1), 12);
          expect(reference(sigmaW, r, up, 1).tau / Math.sqrt(r)).toBeCloseTo(1, 10);
          expect(lts.phase({ sigmaW, ratio: r, lr: up * 0.99 })).toBe('paramagnetic');
          expect(lts.phase({ sigmaW, ratio: r, lr: up * 1.01 })).toBe('disordered');
        } else {
          expect(up).toBe(Infinity);
          expect(lts.phase({ sigmaW, ratio: r, lr: 50 })).toBe('paramagnetic');
        }
        for (const t of [2, 3, 10]) {
          const ect = lts.criticalStep({ sigmaW, ratio: r, t });
          expect(ect).toBeCloseTo(1 - (1 + a) ** (-1 / t), 14);
          expect(reference(sigmaW, r, ect, t).tau / Math.sqrt(r)).toBeCloseTo(1, 9);
          const upt = lts.upperCriticalStep({ sigmaW, ratio: r, t });
          if (Number.isFinite(upt)) {
            expect(reference(sigmaW, r, upt * (1 - 1e-6), t).present).toBe(true);
            expect(reference(sigmaW, r, upt * (1 + 1e-6), t).present).toBe(false);
          }
        }
        for (const lr of [0.01, 0.2, 0.6]) {
          const tc = lts.criticalTime({ sigmaW, ratio: r, lr });
          expect(tc).toBeCloseTo(-Math.log(1 + a) / Math.log(1 - lr), 12);
          expect(lts.criticalStep({ sigmaW, ratio: r, t: tc })).toBeCloseTo(lr, 10);
        }
      }
    }
    // The paper's defaults: σ_W = 1, r = 0.5, t = 1 → ε_c = 2^{-1/4}/(1 + 2^{-1/4}).
    expect(lts.criticalStep({ sigmaW: 1, ratio: 0.5 })).toBeCloseTo(2 ** -0.25 / (1 + 2 ** -0.25), 12);
  });

  it('bad input', () => {
    expect(() => lts.bulkEdge({ sigmaW: -1, ratio: 0.5, lr: 0.1 })).toThrow(
      'Expected a number > 0 for sigmaW but received -1',
    );
    expect(() => lts.outlier({ sigmaW: 1, ratio: 0, lr: 0.1 })).toThrow(
      'Expected a number > 0 for ratio but received 0',
    );
    expect(() => lts.overlap({ sigmaW: 1, ratio: 0.5, lr: 1.5, t: 1.5 })).toThrow(
      'Expected an integer number of steps when lr > 1 for t but received 1.5',
    );
    expect(() => lts.criticalTime({ sigmaW: 1, ratio: 0.5, lr: 1 })).toThrow(
      'Expected a number in (0, 1) for lr but received 1',
    );
    expect(() => lts.upperCriticalStep({ sigmaW: 1, ratio: 0.5, t: 0 })).toThrow(RangeError);
  });
});

describe('simulateTeacherStudent', () => {
  it('N = 1000, one population step: λ_max and q² within 5% of the closed forms', async () => {
    const n = 1000,
      m = 2000;
    for (const lr of [0.7, 0.9]) {
      const res = await simulateTeacherStudent({ n, m, sigmaW: 1, lr, steps: 1, replicas: 2, seed: 3 });
      expect(res.steps).toEqual([0, 1]);
      const p = { sigmaW: 1, ratio: 0.5, lr, t: 1 };
      expect(Math.abs(res.lambdaMax[1]! / lts.outlier(p) - 1)).toBeLessThan(0.05);
      expect(Math.abs(res.q2[1]! / lts.overlap(p) - 1)).toBeLessThan(0.05);
      // replica overlap ≈ q² above threshold (both align with u)
      expect(Math.abs(res.replicaOverlap[1]! - lts.overlap(p))).toBeLessThan(0.05);
      // step 0 is the MP bulk at σ_W² = 1: λ_max near λ₊, q² ~ 1/N
      expect(Math.abs(res.lambdaMax[0]! / lts.bulkEdge({ ...p, t: 0 }) - 1)).toBeLessThan(0.05);
      expect(res.q2[0]!).toBeLessThan(0.02);
    }
  });

  it('below ε_c the top eigenvalue stays at the bulk edge and q² ≈ 0 (N = 400)', async () => {
    const res = await simulateTeacherStudent({ n: 400, m: 800, sigmaW: 1, lr: 0.3, steps: 1, replicas: 3, seed: 1 });
    const p = { sigmaW: 1, ratio: 0.5, lr: 0.3, t: 1 };
    expect(Math.abs(res.lambdaMax[1]! / lts.bulkEdge(p) - 1)).toBeLessThan(0.05);
    expect(res.q2[1]!).toBeLessThan(0.05);
    expect(res.bulkEdge[1]).toBeCloseTo(lts.bulkEdge(p), 12);
  });

  it('multi-step GD follows the closed form (t = 0..6) and seeded runs are bit-identical', async () => {
    const opts = { n: 120, m: 240, sigmaW: 1.5, lr: 0.15, steps: 6, replicas: 4, seed: 42, recordEvery: 2 } as const;
    const a = await simulateTeacherStudent(opts);
    const b = await simulateTeacherStudent(opts);
    expect(a.steps).toEqual([0, 2, 4, 6]);
    expect(a.lambdaMax).toEqual(b.lambdaMax);
    expect(a.q2).toEqual(b.q2);
    expect(a.replicaOverlap).toEqual(b.replicaOverlap);
    expect(a.perReplica.q2).toEqual(b.perReplica.q2);
    const c = await simulateTeacherStudent({ ...opts, seed: 43 });
    expect(c.lambdaMax).not.toEqual(a.lambdaMax);
    for (let k = 0; k < a.steps.length; k++) {
      expect(a.theory.lambdaMax[k]).toBeCloseTo(
        lts.lambdaMax({ sigmaW: 1.5, ratio: 0.5, lr: 0.15, t: a.steps[k]! }),
        12,
      );
      expect(Math.abs(a.lambdaMax[k]! / a.theory.lambdaMax[k]! - 1)).toBeLessThan(0.1);
    }
  });

  it('finite data: large α approaches the population result; tanh at small weights ≈ linear', async () => {
    const base = { n: 40, m: 80, sigmaW: 1, lr: 0.8, steps: 1, replicas: 3, seed: 5 } as const;
    const pop = await simulateTeacherStudent(base);
    const lin = await simulateTeacherStudent({ ...base, data: { alpha: 200 } });
    expect(Math.abs(lin.lambdaMax[1]! / pop.lambdaMax[1]! - 1)).toBeLessThan(0.05);
    expect(Math.abs(lin.q2[1]! - pop.q2[1]!)).toBeLessThan(0.05);
    // tanh at σ_W = 0.05: the student's pre-activations are tiny (tanh' ≈ 1), so by Stein's lemma
    // the teacher row a enters the first step scaled by μ_a = E_z[tanh'(u_a z)] (μ₁ of the nonlinear theory):
    // λ_max(tanh)/λ_max(linear) ≈ Σ_a u_a² μ_a² (the bulk is negligible at this σ_W).
    const small = { ...base, sigmaW: 0.05, lr: 0.5, data: { alpha: 20 } } as const;
    const tl = await simulateTeacherStudent({ ...small, activation: 'linear' });
    const tt = await simulateTeacherStudent({ ...small, activation: 'tanh' });
    let want = 0;
    for (const ua of tt.teacher.u) {
      let mu = 0;
      const h = 16 / 4000;
      for (let k = 0; k < 4000; k++) {
        const z = -8 + (k + 0.5) * h;
        mu += ((1 - Math.tanh(ua * z) ** 2) * Math.exp(-0.5 * z * z) * h) / Math.sqrt(2 * Math.PI);
      }
      want += ua * ua * mu * mu;
    }
    expect(Math.abs(tt.lambdaMax[1]! / tl.lambdaMax[1]! / want - 1)).toBeLessThan(0.03);
    expect(Math.abs(tt.q2[1]! - tl.q2[1]!)).toBeLessThan(0.05);
    // ReLU learns: q² grows over steps.
    const relu = await simulateTeacherStudent({
      ...base,
      lr: 0.5,
      steps: 4,
      recordEvery: 2,
      activation: 'relu',
      data: { alpha: 20 },
    });
    expect(relu.q2[2]!).toBeGreaterThan(relu.q2[0]!);
  });

  it('bad input', async () => {
    const ok = { n: 10, m: 20, sigmaW: 1, lr: 0.5, steps: 1 };
    await expect(simulateTeacherStudent({ ...ok, n: 0 })).rejects.toThrow(
      'Expected an integer ≥ 1 for n but received 0',
    );
    await expect(simulateTeacherStudent({ ...ok, sigmaW: 0 })).rejects.toThrow(
      'Expected a number > 0 for sigmaW but received 0',
    );
    await expect(simulateTeacherStudent({ ...ok, activation: 'sigmoid' as 'relu' })).rejects.toThrow(
      "Expected 'linear', 'relu' or 'tanh' for activation but received 'sigmoid'",
    );
    await expect(simulateTeacherStudent({ ...ok, data: { alpha: -1 } })).rejects.toThrow(
      'Expected a number > 0 for data.alpha but received -1',
    );
  });
});

describe('phaseDiagram', () => {
  it('measured phases and q² agree with the closed forms away from the boundaries; analytic boundaries', async () => {
    const sigmaW = logspace(-1, 1, 5),
      lr = logspace(-2, 0.5, 6);
    const pd = await phaseDiagram({ sigmaW, lr, n: 100, m: 200, replicas: 8, seed: 1 });
    expect(pd.cells.length).toBe(30);
    expect(pd.ratio).toBe(0.5);
    for (const c of pd.cells) {
      const p = { sigmaW: c.sigmaW, ratio: 0.5, lr: c.lr, t: 1 };
      expect(c.theoryPhase).toBe(lts.phase(p));
      expect(c.theoryQ2).toBeCloseTo(lts.overlap(p), 12);
      const ec = lts.criticalStep({ sigmaW: c.sigmaW, ratio: 0.5 });
      const up = lts.upperCriticalStep({ sigmaW: c.sigmaW, ratio: 0.5 });
      // away from the lines (log-distance > 0.25) the finite-N measurement matches theory
      const far =
        Math.abs(Math.log(c.lr / ec)) > 0.25 && (!Number.isFinite(up) || Math.abs(Math.log(c.lr / up)) > 0.25);
      if (far) {
        expect(c.phase).toBe(c.theoryPhase);
        if (c.theoryQ2 > 0.5) expect(Math.abs(c.q2 - c.theoryQ2)).toBeLessThan(0.1);
        if (c.theoryPhase === 'disordered') expect(c.q2).toBeLessThan(0.1);
      }
    }
    pd.boundaries.forEach((b, i) => {
      expect(b.invSigmaW).toBeCloseTo(1 / sigmaW[i]!, 14);
      expect(b.orderedIntervals).toEqual(lts.orderedIntervals({ sigmaW: sigmaW[i]!, ratio: 0.5 }));
      expect(b.criticalStep).toBe(lts.criticalStep({ sigmaW: sigmaW[i]!, ratio: 0.5 }));
      expect(b.upperCriticalStep).toBe(lts.upperCriticalStep({ sigmaW: sigmaW[i]!, ratio: 0.5 }));
      expect(b.optimalStep).toBe(1);
    });
    // seeded and independent of how many native calls run at once
    const again = await phaseDiagram({ sigmaW, lr, n: 100, m: 200, replicas: 8, seed: 1, concurrency: 1 });
    expect(again.cells).toEqual(pd.cells);
  });

  it('boundaries list every vanishing point of the ordered region (even t: the ordered phase reappears)', async () => {
    // brute force: scan lts.phase on a fine grid and collect the sign changes of "ordered"
    const scan = (sigmaW: number, t: number) => {
      const out: number[] = [];
      let prev = false;
      for (let k = 1; k <= 60000; k++) {
        const e = k * 1e-4;
        const ordered = lts.phase({ sigmaW, ratio: 0.5, lr: e, t }) !== 'disordered';
        if (ordered !== prev) out.push(e);
        prev = ordered;
      }
      return out;
    };
    for (const t of [1, 2, 3, 4]) {
      for (const sigmaW of [0.5, 1, 2, 5]) {
        const b = (await phaseDiagram({ sigmaW: [sigmaW], lr: [0.5], t, n: 20, m: 40, replicas: 2 })).boundaries[0]!;
        const want = scan(sigmaW, t);
        expect(b.transitions.length).toBe(want.length);
        for (const [k, x] of b.transitions.entries()) expect(Math.abs(x - want[k]!)).toBeLessThan(2e-4);
        expect(b.criticalStep).toBe(b.transitions[0]);
      }
    }
    const b = (await phaseDiagram({ sigmaW: [0.5], lr: [2.4], t: 2, n: 20, m: 40, replicas: 2 })).boundaries[0]!;
    expect(b.transitions.length).toBe(3);
    expect(b.transitions[2]).toBeCloseTo(2.3136, 4);
    expect(b.orderedIntervals[1]![1]).toBe(Infinity);
  });

  it('Sync twins give the same results as the async calls', async () => {
    const opts = { sigmaW: [0.5, 2], lr: [0.3, 0.9, 1.5], n: 30, m: 60, replicas: 4, seed: 3 };
    expect(phaseDiagramSync(opts)).toEqual(await phaseDiagram(opts));
    const relu = { ...opts, activation: 'relu' as const };
    expect(phaseDiagramSync(relu)).toEqual(await phaseDiagram(relu));
    const sim = {
      n: 30,
      m: 60,
      sigmaW: 1,
      lr: 0.6,
      steps: 3,
      recordEvery: 1,
      replicas: 3,
      seed: 8,
      data: { alpha: 3 },
    };
    expect(simulateTeacherStudentSync(sim)).toEqual(await simulateTeacherStudent(sim));
    expect(() => phaseDiagramSync({ sigmaW: [1], lr: [0.5], t: 2, activation: 'tanh' })).toThrow(
      'Expected t = 1 for a nonlinear activation or finite data (their closed forms are one-step) for t but received 2',
    );
  });

  it('the same cell equals simulateTeacherStudent with the same seed (closed-form path = GD path)', async () => {
    const pd = await phaseDiagram({ sigmaW: [0.8], lr: [0.6], t: 2, n: 60, m: 120, replicas: 5, seed: 9 });
    const sim = await simulateTeacherStudent({ n: 60, m: 120, sigmaW: 0.8, lr: 0.6, steps: 2, replicas: 5, seed: 9 });
    expect(pd.cells[0]!.q2).toBeCloseTo(sim.q2[1]!, 10);
    expect(pd.cells[0]!.lambdaMax).toBeCloseTo(sim.lambdaMax[1]!, 10);
  });

  it('bad input', async () => {
    await expect(phaseDiagram({ sigmaW: [], lr: [0.1] })).rejects.toThrow(
      'Expected a non-empty array of numbers for sigmaW but received Array(0)',
    );
    await expect(phaseDiagram({ sigmaW: [1, -1], lr: [0.1] })).rejects.toThrow(
      'Expected a number > 0 for sigmaW[1] but received -1',
    );
    await expect(phaseDiagram({ sigmaW: [1], lr: [NaN] })).rejects.toThrow(
      'Expected a number ≥ 0 for lr[0] but received NaN',
    );
  });
});

describe('estimateCriticalStep (Binder cumulant)', () => {
  it('one seed at its defaults: a crossing within 3 jackknife errors of ε_c; the Padé collapse on the same data', async () => {
    const e = await estimateCriticalStep({ seed: 2 });
    expect(e.theory).toBeCloseTo(lts.criticalStep({ sigmaW: 1, ratio: 0.5 }), 14);
    expect(e.crossed).toBe(true);
    expect(e.error).toBeGreaterThan(0);
    expect(e.error).toBeLessThan(0.05);
    expect(Math.abs(e.lrCritical - e.theory)).toBeLessThan(3 * e.error);
    expect(e.collapse.ok).toBe(true);
    expect(Math.abs(e.collapse.lrCritical - e.theory)).toBeLessThan(3 * e.collapse.error);
    // U₄ → 2/3 deep in the ordered phase for the largest size
    const big = e.binder[2]!;
    expect(Math.abs(big.u4[big.u4.length - 1]! - 2 / 3)).toBeLessThan(0.05);
  });

  it('the rank-two secular sweep equals one dense eigenproblem per step (to rounding)', () => {
    for (const [n, m] of [
      [24, 48],
      [100, 200],
    ] as const) {
      const rng = new Rng(5, 1);
      const u = rng.unitVector(n),
        v = rng.unitVector(m),
        z = rng.fillNormal(new Float64Array(n * m));
      const lrs = [0.01, 0.2, 0.45, 0.5, 0.99, 1, 1.3, 1.9, 2.5];
      for (const t of [1, 2, 3]) {
        const sw = runSync(linearStepSweep(z, u, v, 0.8, lrs, t));
        lrs.forEach((e, j) => {
          const top = runSync(
            topEigenOf({ data: linearWeights(new Float64Array(n * m), z, u, v, 0.8, e, t), rows: n, cols: m }),
          );
          expect(Math.abs(sw.lambda[j]! / top.lambda - 1)).toBeLessThan(1e-12);
          expect(Math.abs(sw.q2[j]! - squaredOverlap(top.vec, u))).toBeLessThan(1e-10);
        });
        expect(sw.fallbacks).toBeLessThan(lrs.length / 2);
      }
    }
  });

  it('a grid without a crossing says so instead of throwing; bad input', async () => {
    // far below ε_c every size sits at U₄ ≈ 1 − 105/27 (q² ~ χ²₁/N): no upward crossing
    const none = await estimateCriticalStep({ sizes: [32, 64], lr: [0.02, 0.03, 0.05], samples: 16 });
    expect(none.crossed).toBe(false);
    expect(none.lrCritical).toBeNaN();
    expect(none.error).toBeNaN();
    expect(none.crossings[0]!.reason).toMatch(/^no upward sign change/);
    expect(none.binder[0]!.u4[0]!).toBeLessThan(0);
    await expect(estimateCriticalStep({ sizes: [64, 32] })).rejects.toThrow(
      'Expected a size > 64 (ascending sizes) for sizes[1] but received 32',
    );
    await expect(estimateCriticalStep({ lr: [0.3, 0.2, 0.5] })).rejects.toThrow(
      'Expected a step > 0.3 (ascending steps) for lr[1] but received 0.2',
    );
    expect(() => estimateCriticalStepSync({ samples: 2 })).toThrow(
      'Expected an integer ≥ 4 for samples but received 2',
    );
  });
});
