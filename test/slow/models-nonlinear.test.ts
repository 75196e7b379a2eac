// Slow: the nonlinear one-step closed forms against population-gradient simulations at N = 400.
// Run with `vitest run --project slow`.
import { describe, it } from 'vitest';
import { expectOneStep } from '../nonlinear-sim.js';

describe('nonlinear one-step closed forms (slow)', () => {
  it('simulation (N = 400, population gradient, one step): λ_max and q² follow the closed forms', async () => {
    const cases = [
      { act: 'relu', sigmaW: 1, lr: [1.0, 1.5, 2, 3, 6] },
      { act: 'tanh', sigmaW: 1, lr: [0.8, 1.5, 3, 5.5] },
      { act: 'tanh', sigmaW: 0.5, lr: [0.3, 0.6, 1.5] },
    ] as const;
    // ReLU's per-row δ(h) term (≈ |u_a|/(2πσ_W)) shifts λ_max by up to ~7% at N = 400
    await expectOneStep(cases, 400, { relu: 0.1, tanh: 0.03 });
  });
});
