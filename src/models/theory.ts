/**
 * The closed forms the phase diagram reads its cells against, one interface per setting:
 * linear population GD (any t), nonlinear one-step (population), linear finite data one-step.
 * Nonlinear on finite data is read against the nonlinear population limit. @internal
 */
import { finiteDataTeacherStudent as fd } from './finite-data.js';
import { nonlinearTeacherStudent as nl, type StepCoefficients, stepBoundaries, stepCoefficients } from './nonlinear.js';
import { type Activation, type DataSpec } from './physics.js';
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
export function theoryOf(s: { activation: Activation; data: DataSpec; ratio: number; t: number; u: Float64Array }): SettingTheory {
  const { ratio, t, activation, data } = s;
  if (activation !== 'linear') {
    const cache = new Map<number, StepCoefficients>();
    const coef = (sigmaW: number): StepCoefficients => {
      let c = cache.get(sigmaW);
      if (!c) { c = stepCoefficients(activation, { sigmaW, teacher: s.u }); cache.set(sigmaW, c); }
      return c;
    };
    const pt = (sigmaW: number, lr: number) => ({ coefficients: coef(sigmaW), sigmaW, ratio, lr });
    return {
      bulkEdge: (sigmaW, lr) => nl.bulkEdge(pt(sigmaW, lr)),
      noiseVariance: (sigmaW, lr) => nl.noiseVariance(pt(sigmaW, lr)),
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
