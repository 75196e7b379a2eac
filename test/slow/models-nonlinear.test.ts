// Slow: the nonlinear one-step closed forms against population-gradient simulations at N = 400.
// Run with `vitest run --project slow`.
import { describe, expect, it } from 'vitest';
import { nonlinearTeacherStudent as nl, simulateTeacherStudent, stepCoefficients } from '../../src/models/index.js';

describe('nonlinear one-step closed forms (slow)', () => {
  it('simulation (N = 400, population gradient, one step): λ_max and q² follow the closed forms', async () => {
    const cases = [
      { act: 'relu', sigmaW: 1, lr: [1.0, 1.5, 2, 3, 6] },
      { act: 'tanh', sigmaW: 1, lr: [0.8, 1.5, 3, 5.5] },
      { act: 'tanh', sigmaW: 0.5, lr: [0.3, 0.6, 1.5] },
    ] as const;
    for (const { act, sigmaW, lr: lrs } of cases) {
      for (const lr of lrs) {
        const r = await simulateTeacherStudent({ n: 400, m: 800, sigmaW, lr, steps: 1, activation: act, replicas: 3, seed: 1 });
        const p = { coefficients: stepCoefficients(act, { sigmaW, teacher: r.teacher.u }), sigmaW, ratio: 0.5, lr };
        const lam = Number.isNaN(nl.outlier(p)) ? nl.bulkEdge(p) : nl.outlier(p);
        // ReLU's per-row δ(h) term (≈ |u_a|/(2πσ_W)) shifts λ_max by up to ~7% at N = 400
        expect(Math.abs(r.lambdaMax[1]! / lam - 1)).toBeLessThan(act === 'relu' ? 0.1 : 0.03);
        expect(Math.abs(r.q2[1]! - nl.overlap(p))).toBeLessThan(0.05);
      }
    }
  });

});
