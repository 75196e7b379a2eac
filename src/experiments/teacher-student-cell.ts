/**
 * `teacher-student-cell`: one (1/σ_W, ε) point of the linear teacher–student phase diagram (Park,
 * Bocchi, D'Amico, Lucini & Aarts 2026): `replicas` students N x M trained for t full-batch GD
 * steps towards one rank-one teacher, read through the top eigenpair of X = W Wᵀ (median q²,
 * λ_max, replica overlap, the measured phase with a Tracy–Widom margin) next to the closed forms
 * (q², λ_max, bulk edge, phase, ε_c, ε_c⁺). CPU-bound and cheap (tens of milliseconds at the
 * defaults): the cell experiment of sweeps, their tests and benchmarks.
 *
 * A cell is one core's work: the simulation runs one native call at a time, so a sweep spreads
 * cells over processes instead. Results are seeded and bit-reproducible.
 */
import { linearTeacherStudent, phaseDiagram } from '../models/index.js';
import { createRun } from '../store/index.js';
import type { Experiment, ExperimentResult, Params } from './types.js';

/** The figures of a cell, flat: no NaN (null where a value does not exist, e.g. no upper critical step). */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The `teacher-student-cell` experiment (see the module doc). */
export const teacherStudentCellExperiment: Experiment = {
  name: 'teacher-student-cell',
  description:
    'one (1/σ_W, ε) point of the linear teacher–student phase diagram: simulated q², λ_max, phase vs the closed forms',
  params: [
    { key: 'invSigmaW', kind: 'number', default: 1, min: 0.01, max: 100, doc: '1/σ_W (init W₀_ij ~ N(0, σ_W²/M))' },
    { key: 'lr', kind: 'number', default: 0.5, min: 0, max: 4, doc: 'GD step ε' },
    { key: 't', kind: 'int', default: 1, min: 1, max: 1000, doc: 'GD steps' },
    { key: 'n', kind: 'int', default: 60, min: 2, max: 4000, doc: 'N: rows of W' },
    { key: 'm', kind: 'int', default: 120, min: 2, max: 8000, doc: 'M: columns of W (r = N/M)' },
    {
      key: 'replicas',
      kind: 'int',
      default: 8,
      min: 1,
      max: 1000,
      doc: 'independent initialisations sharing the teacher',
    },
    { key: 'seed', kind: 'int', default: 0, min: 0, max: 2 ** 31 - 1, doc: 'seed of the teacher and the replicas' },
  ],
  quick: { n: 30, m: 60, replicas: 4 },
  async run(params: Params, ctx): Promise<ExperimentResult> {
    const invSigmaW = params.invSigmaW as number,
      lr = params.lr as number,
      t = params.t as number,
      n = params.n as number,
      m = params.m as number,
      replicas = params.replicas as number,
      seed = params.seed as number;
    const sigmaW = 1 / invSigmaW;
    const ratio = n / m;
    ctx.progress(0, 1, `1/σ_W=${invSigmaW} ε=${lr}`);
    const pd = await phaseDiagram({
      sigmaW: [sigmaW],
      lr: [lr],
      t,
      n,
      m,
      replicas,
      seed,
      concurrency: 1,
      signal: ctx.signal,
    });
    const cell = pd.cells[0]!;
    const bound = pd.boundaries[0]!;
    const point = { sigmaW, ratio, lr, t };
    const figures = {
      sigmaW,
      ratio,
      q2: finite(cell.q2),
      lambda_max: finite(cell.lambdaMax),
      replica_overlap: finite(cell.replicaOverlap),
      outlier_fraction: cell.outlierFraction,
      phase: cell.phase,
      theory_phase: cell.theoryPhase,
      theory_q2: finite(cell.theoryQ2),
      theory_lambda_max: finite(linearTeacherStudent.lambdaMax(point)),
      bulk_edge: finite(cell.bulkEdge),
      critical_step: finite(bound.criticalStep),
      upper_critical_step: finite(bound.upperCriticalStep),
    };
    const w = await createRun(ctx.out, { config: params, seed, meta: { experiment: 'teacher-student-cell' } });
    try {
      w.append({
        step: t,
        observables: [
          {
            observable: 'W',
            family: 'weights',
            row: {
              lambda_max: cell.lambdaMax,
              q2: cell.q2,
              replica_overlap: cell.replicaOverlap,
              outlier_fraction: cell.outlierFraction,
              phase: cell.phase,
              theory_q2: cell.theoryQ2,
              theory_lambda_max: figures.theory_lambda_max ?? NaN,
              bulk_max: cell.bulkEdge,
            },
          },
        ],
      });
      await w.close({ status: 'finished' });
    } catch (err) {
      await w.close({ status: 'failed', error: err });
      throw err;
    }
    ctx.progress(1, 1);
    return {
      dir: ctx.out,
      figures,
      summary: [
        `1/σ_W = ${invSigmaW}, ε = ${lr}, t = ${t}: phase ${cell.phase} (theory ${cell.theoryPhase})`,
        `q² = ${cell.q2.toFixed(4)} (theory ${cell.theoryQ2.toFixed(4)}), λ_max = ${cell.lambdaMax.toFixed(4)}`,
      ],
    };
  },
};
