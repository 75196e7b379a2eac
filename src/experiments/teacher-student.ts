/**
 * `teacher-student`: the trainability phase diagram of the teacher–student model (Park, Bocchi,
 * D'Amico, Lucini & Aarts 2026, arXiv:2606.28486) reproduced from src/models:
 *
 * 1. the linear diagram at the paper's resolution (20 x 20 log grid over 1/σ_W and ε in
 *    [10⁻², 10²], N = 100, M = 200, 15 replicas, t = 1) with its analytic boundaries ε_c, ε_c⁺, ε_o;
 * 2. λ_max and q² against ε at σ_W = 1 against the closed forms;
 * 3. ε_c from the Binder-cumulant finite-size analysis over N ∈ {128, …, 1024} against the
 *    closed form 0.4568 (σ_W = 1, r = 0.5) and the paper's fit 0.454 ± 0.015;
 * 4. the time dependence: the diagram at t = 1, 25, 50, 75;
 * 5. ReLU and tanh: the population-gradient diagrams with the nonlinear one-step boundaries, and
 *    the paper's finite-data setting (α = 200 inputs per fan-in) beside the population limit on
 *    a cut at σ_W = 1 (the two differ strongly for ReLU, e.g. q² 0.24 vs 0.95 at ε = 1.8).
 */
import { expected } from '../errors.js';
import { finishWithReport, parseIntList, recordRun, throwIfAborted } from './record.js';
import { ParamError, type Experiment, type ExperimentResult } from './types.js';

/** The paper's fit of ε_c (σ_W = 1, r = 0.5) from its finite-size analysis. */
export const PAPER_CRITICAL_STEP = { value: 0.454, error: 0.015 } as const;

/** The teacher–student reproduction. */
export const teacherStudentExperiment: Experiment = {
  name: 'teacher-student',
  description: 'the teacher–student phase diagram, closed forms, finite-size ε_c, time dependence, ReLU/tanh',
  params: [
    { key: 'grid', kind: 'int', default: 20, min: 3, max: 60, doc: 'grid points per axis of the linear diagrams' },
    { key: 'replicas', kind: 'int', default: 15, min: 1, max: 200, doc: 'replicas per cell' },
    { key: 'n', kind: 'int', default: 100, min: 4, max: 2000, doc: 'N (rows of W)' },
    { key: 'm', kind: 'int', default: 200, min: 4, max: 4000, doc: 'M (fan-in)' },
    {
      key: 'sizes',
      kind: 'string',
      default: '128,256,512,1024',
      doc: 'sizes N of the finite-size ε_c analysis (r = 0.5)',
    },
    { key: 'samples', kind: 'int', default: 100, min: 8, max: 10_000, doc: 'samples per size of the ε_c analysis' },
    { key: 'times', kind: 'string', default: '1,25,50,75', doc: 'GD steps t of the time-dependence diagrams' },
    {
      key: 'nonlinearGrid',
      kind: 'int',
      default: 12,
      min: 3,
      max: 60,
      doc: 'grid points per axis of the ReLU/tanh diagrams',
    },
    {
      key: 'alpha',
      kind: 'number',
      default: 200,
      min: 1,
      max: 10_000,
      doc: 'inputs per fan-in α of the finite-data cut',
    },
    { key: 'finiteN', kind: 'int', default: 100, min: 4, max: 1000, doc: 'N of the finite-data cut (M = 2N)' },
    {
      key: 'finitePoints',
      kind: 'int',
      default: 8,
      min: 2,
      max: 40,
      doc: 'ε points of the finite-data cut at σ_W = 1',
    },
    {
      key: 'finiteReplicas',
      kind: 'int',
      default: 3,
      min: 1,
      max: 50,
      doc: 'replicas per point of the finite-data cut',
    },
    { key: 'seed', kind: 'int', default: 0, min: 0, doc: 'seed of teachers and initialisations' },
  ],
  quick: {
    grid: 9,
    replicas: 5,
    sizes: '64,128,256',
    samples: 60,
    times: '1,25',
    nonlinearGrid: 4,
    finiteN: 20,
    finitePoints: 2,
    finiteReplicas: 2,
  },
  async run(params, context): Promise<ExperimentResult> {
    const sizes = parseIntList(params.sizes, 'teacher-student.sizes');
    const times = parseIntList(params.times, 'teacher-student.times');
    if (sizes.length < 2 || sizes.some((s, i) => i > 0 && s <= sizes[i - 1]!))
      throw new ParamError(expected('at least two ascending sizes', 'teacher-student.sizes', params.sizes));
    const models = await import('../models/index.js');
    const { linearTeacherStudent: lin, logspace, phaseDiagram, estimateCriticalStep, stepCoefficients } = models;
    const { nonlinearTeacherStudent: nl } = models;
    const spec = await import('./specs.js');
    const { finite } = spec;
    const n = params.n as number,
      m = params.m as number,
      grid = params.grid as number,
      replicas = params.replicas as number,
      seed = params.seed as number;
    const ratio = n / m;
    const stages = 5 + times.length;
    let stage = 0;
    const next = (label: string) => {
      throwIfAborted(context);
      context.progress(stage++, stages, label);
    };
    const inv = logspace(-2, 2, grid);
    const sigmaW = inv.map((x) => 1 / x);
    const lrs = logspace(-2, 2, grid);
    const base = { n, m, replicas, seed, signal: context.signal };

    // 1. The linear diagram at t = 1.
    next('linear diagram');
    const linear = await phaseDiagram({ ...base, sigmaW, lr: lrs, t: 1 });
    const pair = (i: number) => ({ s: linear.sigmaW[i]!, b: linear.boundaries[i]! });
    // Cells well inside each phase: q² near 0 below ε_c, near the closed form inside the ordered region.
    const below: number[] = [],
      aboveDiff: number[] = [];
    let agree = 0;
    for (const c of linear.cells) {
      if (c.phase === c.theoryPhase) agree++;
      const b = linear.boundaries[linear.sigmaW.indexOf(c.sigmaW)]!;
      if (c.lr < 0.7 * b.criticalStep) below.push(c.q2);
      else if (c.lr > 1.4 * b.criticalStep && c.lr < 0.7 * b.upperCriticalStep) aboveDiff.push(c.q2 - c.theoryQ2);
    }
    const { median } = await import('../stats.js');
    // The measured lower boundary per σ_W: between the last cell without and the first with an outlier.
    const boundaryErr: number[] = [];
    for (let i = 0; i < grid; i++) {
      const { b } = pair(i);
      const row = linear.cells.slice(i * grid, (i + 1) * grid);
      const first = row.findIndex((c) => c.outlier);
      if (first > 0 && Number.isFinite(b.criticalStep) && b.criticalStep > lrs[0]!)
        boundaryErr.push(Math.log10(Math.sqrt(row[first - 1]!.lr * row[first]!.lr) / b.criticalStep));
    }
    const gridStep = 4 / (grid - 1);

    // 2. λ_max and q² against ε at σ_W = 1.
    next('cut at σ_W = 1');
    const cutLr = Array.from({ length: 4 * grid }, (_, k) => 0.02 + (2.98 * k) / (4 * grid - 1));
    const cut = await phaseDiagram({ ...base, sigmaW: [1], lr: cutLr, t: 1 });

    // 3. Finite-size ε_c.
    next('finite-size ε_c');
    const crit = await estimateCriticalStep({
      sigmaW: 1,
      ratio: 0.5,
      sizes,
      samples: params.samples as number,
      seed,
      signal: context.signal,
    });

    // 4. Time dependence.
    const timeDiagrams = [];
    for (const t of times) {
      next(`diagram at t = ${t}`);
      timeDiagrams.push(await phaseDiagram({ ...base, sigmaW, lr: lrs, t }));
    }

    // 5. Nonlinear: population diagrams and the finite-data cut.
    next('ReLU/tanh diagrams');
    const ng = params.nonlinearGrid as number;
    const nInv = logspace(-2, 2, ng);
    const nonlinear = [];
    for (const activation of ['relu', 'tanh'] as const) {
      nonlinear.push(
        await phaseDiagram({ ...base, sigmaW: nInv.map((x) => 1 / x), lr: logspace(-2, 2, ng), activation }),
      );
    }
    next(`finite data α = ${params.alpha}`);
    const fp = params.finitePoints as number;
    const fLr = [...new Set([...logspace(Math.log10(0.6), Math.log10(6), fp), 1.8])].sort((a, b) => a - b);
    const fN = params.finiteN as number;
    const finiteCuts: { activation: 'relu' | 'tanh'; fin: typeof linear; pop: typeof linear }[] = [];
    for (const activation of ['relu', 'tanh'] as const) {
      const fin = await phaseDiagram({
        n: fN,
        m: 2 * fN,
        sigmaW: [1],
        lr: fLr,
        activation,
        data: { alpha: params.alpha as number },
        replicas: params.finiteReplicas as number,
        seed,
        signal: context.signal,
      });
      const pop = await phaseDiagram({
        n: fN,
        m: 2 * fN,
        sigmaW: [1],
        lr: fLr,
        activation,
        replicas: params.finiteReplicas as number,
        seed,
        signal: context.signal,
      });
      finiteCuts.push({ activation, fin, pop });
    }
    context.progress(stages, stages, 'computed');

    // Key figures.
    const at18 = (d: typeof linear) => d.cells.find((c) => c.lr === 1.8)!;
    const relu = finiteCuts[0]!;
    const figures: ExperimentResult['figures'] = {
      criticalStepTheory: crit.theory,
      criticalStepEstimate: finite(crit.lrCritical),
      criticalStepError: finite(crit.error),
      criticalStepCollapse: finite(crit.collapse.lrCritical),
      criticalStepCollapseError: finite(crit.collapse.error),
      criticalStepPaper: PAPER_CRITICAL_STEP.value,
      criticalStepPaperError: PAPER_CRITICAL_STEP.error,
      medianQ2BelowCritical: finite(median(Float64Array.from(below))),
      medianQ2MinusTheoryAbove: finite(median(Float64Array.from(aboveDiff))),
      cellsBelow: below.length,
      cellsAbove: aboveDiff.length,
      phaseAgreement: agree / linear.cells.length,
      lowerBoundaryMedianLog10Error: finite(median(Float64Array.from(boundaryErr))),
      gridLog10Step: gridStep,
      reluQ2FiniteAt1p8: finite(at18(relu.fin).q2),
      reluQ2PopulationAt1p8: finite(at18(relu.pop).q2),
      reluQ2TheoryAt1p8: finite(at18(relu.pop).theoryQ2),
    };
    for (const [k, t] of times.entries()) {
      const d = timeDiagrams[k]!;
      figures[`phaseAgreementT${t}`] = d.cells.filter((c) => c.phase === c.theoryPhase).length / d.cells.length;
    }
    for (const d of nonlinear) {
      figures[`phaseAgreement_${d.activation}`] =
        d.cells.filter((c) => c.phase === c.theoryPhase).length / d.cells.length;
    }
    const f4 = (x: number | null | undefined | string | boolean) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
    const summary = [
      `linear diagram ${grid} x ${grid}, N = ${n}, M = ${m}, ${replicas} replicas, t = 1: measured phase = closed-form phase in ${(100 * (figures.phaseAgreement as number)).toFixed(1)} % of cells`,
      `q² well below ε_c: median ${f4(figures.medianQ2BelowCritical)} (${below.length} cells); inside the ordered region: median q² − closed form ${f4(figures.medianQ2MinusTheoryAbove)} (${aboveDiff.length} cells)`,
      `lower boundary: measured/closed-form ε_c median log10 error ${f4(figures.lowerBoundaryMedianLog10Error)} (grid step ${gridStep.toFixed(3)} decades)`,
      `ε_c (σ_W = 1, r = 0.5) from Binder crossings over N = ${sizes.join(', ')}: ${f4(figures.criticalStepEstimate)} ± ${f4(figures.criticalStepError)}; collapse fit ${f4(figures.criticalStepCollapse)}; closed form ${crit.theory.toFixed(4)}; paper fit ${PAPER_CRITICAL_STEP.value} ± ${PAPER_CRITICAL_STEP.error}`,
      `time dependence: phase agreement ${times.map((t) => `t=${t}: ${(100 * (figures[`phaseAgreementT${t}`] as number)).toFixed(1)} %`).join(', ')}`,
      `ReLU/tanh population diagrams (${ng} x ${ng}): phase agreement ReLU ${(100 * (figures.phaseAgreement_relu as number)).toFixed(1)} %, tanh ${(100 * (figures.phaseAgreement_tanh as number)).toFixed(1)} %`,
      `ReLU at σ_W = 1, ε = 1.8, N = ${fN}: q² ${f4(figures.reluQ2FiniteAt1p8)} on α = ${params.alpha} data vs ${f4(figures.reluQ2PopulationAt1p8)} with the population gradient (closed form ${f4(figures.reluQ2TheoryAt1p8)})`,
    ];

    // Figures of the report.
    const boundaryLines = (d: typeof linear) =>
      d.boundaries.flatMap((b) => [
        { x: finite(b.invSigmaW), y: finite(b.criticalStep), curve: 'ε_c' },
        { x: finite(b.invSigmaW), y: finite(b.upperCriticalStep), curve: 'ε_c⁺' },
        { x: finite(b.invSigmaW), y: finite(b.optimalStep), curve: 'ε_o' },
      ]);
    const cellRows = (d: typeof linear) =>
      d.cells.map((c) => ({
        invSigmaW: 1 / c.sigmaW,
        lr: c.lr,
        phase: c.phase,
        q2: finite(c.q2),
        theoryPhase: c.theoryPhase,
      }));
    const axes = {
      x: { field: 'invSigmaW', title: '1/σ_W' },
      y: { field: 'lr', title: 'step ε' },
    };
    const phaseColour = {
      field: 'phase',
      title: 'measured phase',
      type: 'nominal' as const,
      scale: spec.PHASE_COLOURS,
    };
    const figs = [
      spec.figure(
        'ts-phase-diagram',
        'Linear phase diagram (t = 1)',
        `Measured phase per cell (median over ${replicas} replicas; outlier = λ_max above the bulk edge + TW margin) with the closed-form boundaries ε_c, ε_c⁺ and ε_o = 1. N = ${n}, M = ${m}.`,
        spec.top(
          'Linear teacher–student phase diagram, t = 1',
          spec.cellMap({ cells: cellRows(linear), ...axes, color: phaseColour, lines: boundaryLines(linear) }),
        ),
      ),
      spec.figure(
        'ts-q2-diagram',
        'q² over the diagram',
        'Median q² = (top eigenvector of W Wᵀ · u)² per cell: near 0 in the disordered phase, the BBP closed form inside the ordered region.',
        spec.top(
          'Squared overlap q² with the teacher, t = 1',
          spec.cellMap({
            cells: cellRows(linear),
            ...axes,
            color: {
              field: 'q2',
              title: 'median q²',
              type: 'quantitative',
              scale: { scheme: 'viridis', domain: [0, 1] },
            },
            lines: boundaryLines(linear),
          }),
        ),
      ),
      spec.figure(
        'ts-cut',
        'λ_max and q² against ε (σ_W = 1)',
        'Medians over replicas (points) against the large-N closed forms (lines); the outlier appears at ε_c = 0.4568.',
        spec.top(
          'σ_W = 1: measured against closed forms',
          spec.versusTheory({
            points: cut.cells.flatMap((c) => [
              { x: c.lr, value: finite(c.lambdaMax), quantity: 'lambda', series: 'measured (N = 100)' },
              { x: c.lr, value: finite(c.q2), quantity: 'q2', series: 'measured (N = 100)' },
            ]),
            curves: cutLr.flatMap((e) => [
              {
                x: e,
                value: finite(lin.lambdaMax({ sigmaW: 1, ratio, lr: e })),
                quantity: 'lambda',
                series: 'closed form',
              },
              { x: e, value: finite(lin.overlap({ sigmaW: 1, ratio, lr: e })), quantity: 'q2', series: 'closed form' },
            ]),
            quantities: [
              { name: 'lambda', title: 'λ_max of W Wᵀ', log: true },
              { name: 'q2', title: 'q²' },
            ],
            x: { title: 'step ε' },
          }),
        ),
      ),
      spec.figure(
        'ts-binder',
        'Binder cumulant U₄ against ε per N',
        `Crossings of consecutive sizes estimate ε_c = ${f4(crit.lrCritical)} ± ${f4(crit.error)} (closed form ${crit.theory.toFixed(4)}, paper ${PAPER_CRITICAL_STEP.value} ± ${PAPER_CRITICAL_STEP.error}).`,
        spec.top('Finite-size analysis of ε_c (σ_W = 1, r = 0.5)', {
          layer: [
            {
              data: {
                values: crit.binder.flatMap((b) =>
                  b.lr.map((e, j) => ({ lr: e, u4: finite(b.u4[j]!), N: `N = ${b.n}` })),
                ),
              },
              mark: { type: 'line', point: true },
              encoding: {
                x: { field: 'lr', type: 'quantitative', title: 'step ε', scale: { zero: false } },
                y: { field: 'u4', type: 'quantitative', title: 'U₄ of q²', scale: { domain: [-1, 0.8], clamp: true } },
                color: { field: 'N', type: 'nominal', title: 'size', sort: null },
              },
            },
            {
              data: {
                values: [
                  { x: crit.theory, what: 'closed form' },
                  ...(Number.isFinite(crit.lrCritical) ? [{ x: crit.lrCritical, what: 'estimate' }] : []),
                ],
              },
              mark: { type: 'rule', color: '#000000' },
              encoding: {
                x: { field: 'x', type: 'quantitative' },
                strokeDash: { field: 'what', type: 'nominal', title: 'ε_c' },
              },
            },
          ],
          width: 460,
          height: 240,
          resolve: { scale: { color: 'independent' } },
        }),
      ),
      spec.figure(
        'ts-time',
        'Time dependence of the diagram',
        'Measured phases after t GD steps with the closed-form boundaries at that t: the ordered region opens towards small ε as t grows (ε_c = 1 − (1 + σ_W r^{1/4})^{−1/t}).',
        spec.top('Phase diagram against the number of steps t', {
          hconcat: timeDiagrams.map((d, k) => ({
            title: `t = ${times[k]}`,
            ...spec.cellMap({
              cells: cellRows(d),
              ...axes,
              color: phaseColour,
              lines: boundaryLines(d),
              width: 170,
              height: 170,
              size: 30,
            }),
          })),
        }),
      ),
      spec.figure(
        'ts-nonlinear',
        'ReLU and tanh diagrams (population gradient)',
        'Measured phases with the one-step nonlinear boundaries (linearised first step, with the teacher-heterogeneity corrections).',
        spec.top('Nonlinear teacher–student diagrams, t = 1', {
          hconcat: nonlinear.map((d) => ({
            title: d.activation,
            ...spec.cellMap({
              cells: cellRows(d),
              ...axes,
              color: phaseColour,
              lines: boundaryLines(d),
              width: 240,
              height: 220,
            }),
          })),
        }),
      ),
      spec.figure(
        'ts-finite-data',
        `Finite data (α = ${params.alpha}) against the population limit (σ_W = 1)`,
        "q² on a fixed dataset of αM inputs (the authors' setting) and with the population gradient, against the population closed form. For ReLU the dataset's mean input adds a spurious spike that carries the top eigenvector away from the teacher.",
        spec.top(
          `q² at σ_W = 1, N = ${fN}`,
          spec.versusTheory({
            points: finiteCuts.flatMap(({ activation, fin, pop }) => [
              ...fin.cells.map((c) => ({
                x: c.lr,
                value: finite(c.q2),
                quantity: activation,
                series: `α = ${params.alpha}`,
              })),
              ...pop.cells.map((c) => ({ x: c.lr, value: finite(c.q2), quantity: activation, series: 'population' })),
            ]),
            curves: finiteCuts.flatMap(({ activation }) => {
              const co = stepCoefficients(activation, { sigmaW: 1 });
              return logspace(Math.log10(0.5), Math.log10(7), 60).map((e) => ({
                x: e,
                value: finite(nl.overlap({ coefficients: co, sigmaW: 1, ratio: 0.5, lr: e })),
                quantity: activation,
                series: 'closed form (population)',
              }));
            }),
            quantities: [
              { name: 'relu', title: 'q² (ReLU)' },
              { name: 'tanh', title: 'q² (tanh)' },
            ],
            x: { title: 'step ε', log: true },
          }),
        ),
      ),
    ];
    const data = {
      linear: { sigmaW: linear.sigmaW, lr: linear.lr, cells: linear.cells, boundaries: linear.boundaries },
      cut: cut.cells,
      criticalStep: {
        estimate: crit.lrCritical,
        error: crit.error,
        theory: crit.theory,
        crossings: crit.crossings,
        collapse: crit.collapse,
        binder: crit.binder.map((b) => ({ n: b.n, lr: b.lr, u4: Array.from(b.u4) })),
      },
      times: timeDiagrams.map((d, k) => ({ t: times[k], cells: d.cells, boundaries: d.boundaries })),
      nonlinear: nonlinear.map((d) => ({ activation: d.activation, cells: d.cells, boundaries: d.boundaries })),
      finite: finiteCuts.map(({ activation, fin, pop }) => ({
        activation,
        alpha: params.alpha,
        finite: fin.cells,
        population: pop.cells,
      })),
    };
    await recordRun(context.out, { experiment: 'teacher-student', params, seed, meta: { figures } });
    return finishWithReport(context, { experiment: 'teacher-student', params, figures, summary, pages: figs, data });
  },
};
