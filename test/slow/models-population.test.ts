// Slow: the ReLU and tanh population gradients of the teacher–student simulator against a large
// finite dataset (P = 400·M inputs, O(PNM) per step in JavaScript). Run with
// `vitest run --project slow`.
import { describe, expect, it } from 'vitest';
import { simulateTeacherStudent } from '../../src/models/index.js';

describe('simulateTeacherStudent (slow)', () => {
  it('ReLU and tanh population gradients (Stein + quadrature) agree with a large dataset (α = 400)', async () => {
    for (const activation of ['relu', 'tanh'] as const) {
      for (const sigmaW of [0.3, 1]) {
        const base = { n: 40, m: 80, sigmaW, lr: 0.8, steps: 2, recordEvery: 1, replicas: 3, seed: 5, activation };
        const pop = await simulateTeacherStudent(base);
        const dat = await simulateTeacherStudent({ ...base, data: { alpha: 400 } });
        // the dataset's sampling error (P = 32 000) grows with the steps: 3% at t = 1, 6% at t = 2
        expect(Math.abs(pop.lambdaMax[1]! / dat.lambdaMax[1]! - 1)).toBeLessThan(0.03);
        expect(Math.abs(pop.lambdaMax[2]! / dat.lambdaMax[2]! - 1)).toBeLessThan(0.06);
        expect(Math.abs(pop.q2[1]! - dat.q2[1]!)).toBeLessThan(0.06);
        expect(Math.abs(pop.q2[2]! - dat.q2[2]!)).toBeLessThan(0.06);
      }
    }
  });
});
