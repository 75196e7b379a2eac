/**
 * Solvable models of weight-spectrum dynamics (Park, Bocchi, D'Amico, Lucini & Aarts 2026,
 * arXiv:2606.28486): the teacher–student closed forms (linear, nonlinear, finite data, two-layer,
 * the stationary SGD state), the simulator, the (1/σ_W, ε) phase diagram and the finite-size
 * estimates of the critical step. Eigenvalues refer to X = W Wᵀ for the N x M student W.
 */
export * from './teacher-student.js';
export * from './simulate.js';
export * from './phase-diagram.js';
export * from './critical-step.js';
export * from './nonlinear.js';
export * from './finite-data.js';
export * from './stationary.js';
