/**
 * The closed forms the phase diagram reads its cells against, one interface per setting:
 * linear population GD (any t), nonlinear one-step, linear finite data one-step. @internal
 */
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
  const { ratio, t } = s;
  return {
    bulkEdge: (sigmaW, lr) => linearTeacherStudent.bulkEdge({ sigmaW, ratio, lr, t }),
    noiseVariance: (sigmaW, lr) => linearTeacherStudent.noiseVariance({ sigmaW, ratio, lr, t }),
    overlap: (sigmaW, lr) => linearTeacherStudent.overlap({ sigmaW, ratio, lr, t }),
    phase: (sigmaW, lr) => linearTeacherStudent.phase({ sigmaW, ratio, lr, t }),
    optimalStep: () => linearTeacherStudent.optimalStep,
    orderedIntervals: (sigmaW) => linearTeacherStudent.orderedIntervals({ sigmaW, ratio, t }),
  };
}
