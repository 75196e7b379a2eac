/**
 * Solvable models of weight-spectrum dynamics: the linear teacher–student closed forms
 * (research/bbp.md §2), its simulator, the (1/σ_W, ε) phase diagram and the finite-size
 * estimate of the critical step. Eigenvalues refer to X = W Wᵀ for the N x M student W.
 */
export * from './teacher-student.js';
export * from './simulate.js';
