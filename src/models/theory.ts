/**
 * The closed forms the phase diagram reads its cells against, one interface per setting:
 * linear population GD (any t), nonlinear one-step (population), linear finite data one-step.
 * Nonlinear on finite data is read against the nonlinear population limit. @internal
 */
import { finiteDataTeacherStudent as fd, mpEdge } from './finite-data.js';
import { nonlinearTeacherStudent as nl, type StepCoefficients, stepBoundaries, stepCoefficients } from './nonlinear.js';
import type { Activation, DataSpec } from './physics.js';
import { linearTeacherStudent, type TeacherStudentPhase } from './teacher-student.js';

/** Closed forms at (σ_W, ε) for a fixed setting. @internal */
export interface SettingTheory {
  /** Large-N top of the bulk of X. */
  bulkEdge(sigmaW: number, lr: number): number;
  /** Variance s² of the noise part of W (sets the Tracy–Widom margin). */
  noiseVariance(sigmaW: number, lr: number): number;
  /** Large-N q²; 0 without outlier. */
  overlap(sigmaW: number, lr: number): number;
  phase(sigmaW: number, lr: number): TeacherStudentPhase;
  optimalStep(sigmaW: number): number;
  orderedIntervals(sigmaW: number): Array<[number, number]>;
}

/** @internal */
export function theoryOf(s: {
  activation: Activation;
  data: DataSpec;
  ratio: number;
  t: number;
  u: Float64Array;
}): SettingTheory {
  const { ratio, t, activation, data } = s;
  if (activation !== 'linear') {
    const cache = new Map<number, StepCoefficients>();
    const coef = (sigmaW: number): StepCoefficients => {
      let c = cache.get(sigmaW);
      if (!c) {
        c = stepCoefficients(activation, { sigmaW, teacher: s.u });
        cache.set(sigmaW, c);
      }
      return c;
    };
    const pt = (sigmaW: number, lr: number) => ({ coefficients: coef(sigmaW), sigmaW, ratio, lr });
    // ReLU: the δ(h) term scales noise row a by d_a = 1 − ε/2 + ε|u_a|/(2πσ_W) (the population
    // moments of physics.ts at |w_a| ≈ σ_W); the bulk of D W₀ is a generalised Marchenko–Pastur
    // law with row variances σ_W² d_a², whose edge replaces the linearised (1 − εμ₂)²σ_W²(1 + √r)².
    const n = s.u.length;
    const weights = new Float64Array(n).fill(1 / n);
    const rowScales = (sigmaW: number, lr: number): Float64Array =>
      Float64Array.from(s.u, (ua) => (sigmaW * (1 - lr / 2 + (lr * Math.abs(ua)) / (2 * Math.PI * sigmaW))) ** 2);
    const reluEdge = (sigmaW: number, lr: number) => mpEdge(rowScales(sigmaW, lr), weights, ratio).edge;
    const reluNoise = (sigmaW: number, lr: number) => rowScales(sigmaW, lr).reduce((a, b) => a + b, 0) / n;
    const relu = activation === 'relu';
    return {
      bulkEdge: (sigmaW, lr) => (relu ? reluEdge(sigmaW, lr) : nl.bulkEdge(pt(sigmaW, lr))),
      noiseVariance: (sigmaW, lr) => (relu ? reluNoise(sigmaW, lr) : nl.noiseVariance(pt(sigmaW, lr))),
      overlap: (sigmaW, lr) => nl.overlap(pt(sigmaW, lr)),
      phase: (sigmaW, lr) => nl.phase(pt(sigmaW, lr)),
      optimalStep: (sigmaW) => stepBoundaries(coef(sigmaW), { sigmaW, ratio }).optimalStep,
      orderedIntervals: (sigmaW) => stepBoundaries(coef(sigmaW), { sigmaW, ratio }).orderedIntervals,
    };
  }
  if (data !== 'population') {
    const { alpha } = data;
    return {
      bulkEdge: (sigmaW, lr) => fd.bulkEdge({ sigmaW, ratio, alpha, lr }),
      noiseVariance: (sigmaW, lr) => fd.noiseVariance({ sigmaW, ratio, alpha, lr }),
      overlap: (sigmaW, lr) => fd.overlap({ sigmaW, ratio, alpha, lr }),
      phase: (sigmaW, lr) => fd.phase({ sigmaW, ratio, alpha, lr }),
      optimalStep: () => fd.optimalStep(alpha),
      orderedIntervals: (sigmaW) => fd.orderedIntervals({ sigmaW, ratio, alpha }),
    };
  }
  return {
    bulkEdge: (sigmaW, lr) => linearTeacherStudent.bulkEdge({ sigmaW, ratio, lr, t }),
    noiseVariance: (sigmaW, lr) => linearTeacherStudent.noiseVariance({ sigmaW, ratio, lr, t }),
    overlap: (sigmaW, lr) => linearTeacherStudent.overlap({ sigmaW, ratio, lr, t }),
    phase: (sigmaW, lr) => linearTeacherStudent.phase({ sigmaW, ratio, lr, t }),
    optimalStep: () => linearTeacherStudent.optimalStep,
    orderedIntervals: (sigmaW) => linearTeacherStudent.orderedIntervals({ sigmaW, ratio, t }),
  };
}
