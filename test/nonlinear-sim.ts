// Shared by the nonlinear one-step tests: one population GD step simulated at size n against the
// closed forms of nonlinearTeacherStudent.
import { expect } from 'vitest';
import { nonlinearTeacherStudent as nl, simulateTeacherStudent, stepCoefficients } from '../src/models/index.js';

export type OneStepCase = { act: 'relu' | 'tanh'; sigmaW: number; lr: readonly number[] };

/** λ_max within `tol[act]` (relative) and q² within 0.05 of the closed forms, r = 0.5. */
export async function expectOneStep(
  cases: readonly OneStepCase[],
  n: number,
  tol: { relu: number; tanh: number },
): Promise<void> {
  for (const { act, sigmaW, lr: lrs } of cases) {
    for (const lr of lrs) {
      const r = await simulateTeacherStudent({
        n,
        m: 2 * n,
        sigmaW,
        lr,
        steps: 1,
        activation: act,
        replicas: 3,
        seed: 1,
      });
      const p = { coefficients: stepCoefficients(act, { sigmaW, teacher: r.teacher.u }), sigmaW, ratio: 0.5, lr };
      const lam = Number.isNaN(nl.outlier(p)) ? nl.bulkEdge(p) : nl.outlier(p);
      expect(Math.abs(r.lambdaMax[1]! / lam - 1)).toBeLessThan(tol[act]);
      expect(Math.abs(r.q2[1]! - nl.overlap(p))).toBeLessThan(0.05);
    }
  }
}
