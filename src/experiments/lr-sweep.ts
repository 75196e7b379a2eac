/**
 * `lr-sweep`: a real-data trainability map on MNIST, like the teacher–student paper's UTKFace and
 * superconductivity maps: test accuracy and per-layer spike counts over a log grid of learning
 * rate and 1/σ_W (fan-in-scaled initialisation), plus the inter-seed top-k singular-subspace
 * overlap q_C(k) at a representative point of each phase.
 *
 * Every grid point is one independent `mnist-cell` run in `<out>/cells/<cellKey>`; a cell whose
 * result.json exists is read, not rerun, so cells computed elsewhere (another machine, an earlier
 * interrupted sweep) are picked up unchanged.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expected } from '../errors.js';
import { finishWithReport, readResult, RESULT_FILE, startRun, throwIfAborted } from './record.js';
import { cellKey, ParamError, resolveParams, type Experiment, type ExperimentResult, type Params } from './types.js';

/**
 * The phases of the MNIST map, after the teacher–student diagram's: `trainable` (test accuracy at
 * least the threshold), `slow` (below it, at a learning rate below the best one of its 1/σ_W row:
 * too small a step for the steps given, the analogue of the disordered phase), `unstable` (below
 * it at a larger learning rate: the steps overshoot, the analogue of the paramagnetic phase),
 * `diverged` (the loss became non-finite).
 */
export type MnistPhase = 'trainable' | 'slow' | 'unstable' | 'diverged';

/** One cell of the map as the sweep reads it back. */
export interface SweepCell {
  key: string;
  lr: number;
  invSigmaW: number;
  seed: number;
  phase: MnistPhase;
  testAccuracy: number | null;
  spikes: Record<string, number>;
}

/** q_C(k) = ‖V_aᵀ V_b‖_F²/k of two k x D row-orthonormal bases (the first k rows of each). */
export function subspaceOverlap(a: ArrayLike<number>, b: ArrayLike<number>, k: number, d: number): number {
  let s = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += a[i * d + c]! * b[j * d + c]!;
      s += dot * dot;
    }
  return s / k;
}

/** The log-spaced values of one grid axis. */
function axis(lo: number, hi: number, count: number, name: string): number[] {
  if (!(hi >= lo)) throw new ParamError(expected(`a maximum ≥ the minimum ${lo}`, name, hi));
  if (count === 1) return [lo];
  // Rounded to 4 significant digits: stable, readable cell keys.
  return Array.from({ length: count }, (_, k) => Number((lo * (hi / lo) ** (k / (count - 1))).toPrecision(4)));
}

/** The MNIST trainability map. */
export const lrSweepExperiment: Experiment = {
  name: 'lr-sweep',
  description: 'the MNIST trainability map over learning rate and 1/σ_W, with inter-seed subspace overlaps',
  params: [
    { key: 'lrMin', kind: 'number', default: 0.001, min: 1e-8, max: 1000, doc: 'smallest learning rate' },
    { key: 'lrMax', kind: 'number', default: 10, min: 1e-8, max: 1000, doc: 'largest learning rate' },
    { key: 'lrPoints', kind: 'int', default: 8, min: 1, max: 50, doc: 'learning rates (log-spaced)' },
    { key: 'invSigmaMin', kind: 'number', default: 0.2, min: 1e-3, max: 1000, doc: 'smallest 1/σ_W' },
    { key: 'invSigmaMax', kind: 'number', default: 5, min: 1e-3, max: 1000, doc: 'largest 1/σ_W' },
    { key: 'invSigmaPoints', kind: 'int', default: 7, min: 1, max: 50, doc: '1/σ_W values (log-spaced)' },
    { key: 'seed', kind: 'int', default: 1, min: 0, doc: 'seed of the grid cells' },
    { key: 'overlapSeeds', kind: 'int', default: 3, min: 2, max: 20, doc: 'seeds per representative point for q_C(k)' },
    {
      key: 'threshold',
      kind: 'number',
      default: 0.8,
      min: 0,
      max: 1,
      doc: 'test accuracy above which a cell is trainable',
    },
    { key: 'steps', kind: 'int', default: 600, min: 1, max: 1_000_000, doc: 'training steps per cell' },
    { key: 'layers', kind: 'string', default: '128,128', doc: 'widths of the hidden ReLU layers' },
    { key: 'trainSize', kind: 'int', default: 10_000, min: 1, max: 60_000, doc: 'training images per cell' },
    { key: 'probe', kind: 'int', default: 100, min: 10, max: 5000, doc: 'probe images per cell' },
    { key: 'testSize', kind: 'int', default: 2000, min: 1, max: 9990, doc: 'test images per cell' },
    { key: 'every', kind: 'int', default: 100, min: 1, doc: 'snapshot interval of the cells' },
    { key: 'topK', kind: 'int', default: 5, min: 1, max: 50, doc: 'k of q_C(k)' },
    { key: 'cellReports', kind: 'bool', default: false, doc: 'write each cell’s own report as well' },
  ],
  quick: {
    lrPoints: 2,
    lrMin: 0.05,
    lrMax: 0.5,
    invSigmaPoints: 2,
    overlapSeeds: 2,
    steps: 12,
    layers: '24,24',
    trainSize: 600,
    probe: 30,
    testSize: 200,
    every: 6,
    topK: 3,
  },
  async run(params, context): Promise<ExperimentResult> {
    const { mnistCellExperiment } = await import('./mnist-cell.js');
    const lrs = axis(params.lrMin as number, params.lrMax as number, params.lrPoints as number, 'lr-sweep.lrMax');
    const invs = axis(
      params.invSigmaMin as number,
      params.invSigmaMax as number,
      params.invSigmaPoints as number,
      'lr-sweep.invSigmaMax',
    );
    const shared = {
      steps: params.steps,
      layers: params.layers,
      trainSize: params.trainSize,
      probe: params.probe,
      testSize: params.testSize,
      every: params.every,
      topK: params.topK,
      report: params.cellReports,
    };
    const threshold = params.threshold as number;
    const seed = params.seed as number;
    const cellsDir = join(context.out, 'cells');
    let done = 0;
    const overlapSeeds = params.overlapSeeds as number;
    const total = lrs.length * invs.length + 3 * overlapSeeds;
    /** Runs (or reads back) one cell. */
    const runCell = async (lr: number, invSigmaW: number, s: number) => {
      throwIfAborted(context);
      const cellParams: Params = resolveParams(mnistCellExperiment, { ...shared, lr, invSigmaW, seed: s });
      const key = cellKey('mnist-cell', cellParams);
      const dir = join(cellsDir, key);
      if (!existsSync(join(dir, RESULT_FILE))) {
        await mnistCellExperiment.run(cellParams, {
          out: dir,
          signal: context.signal,
          progress: () => undefined,
          log: () => undefined,
        });
      }
      context.progress(++done, total, 'cells');
      const res = readResult(dir);
      const f = res.figures;
      const spikes: Record<string, number> = {};
      for (const [k, v] of Object.entries(f))
        if (k.startsWith('spikes.') && typeof v === 'number') spikes[k.slice(7)] = v;
      const acc = typeof f.testAccuracy === 'number' ? f.testAccuracy : null;
      // Provisional: slow or unstable is decided once the row's best learning rate is known.
      const phase: MnistPhase = f.diverged ? 'diverged' : acc !== null && acc >= threshold ? 'trainable' : 'slow';
      const cell: SweepCell = { key, lr, invSigmaW, seed: s, phase, testAccuracy: acc, spikes };
      const sub = (res.data as { subspace?: { k: number; cols: number; v: number[] } | null }).subspace ?? null;
      return { cell, sub };
    };
    // The sweep's own run first: its directory then holds the cells.
    const record = await startRun(context.out, {
      experiment: 'lr-sweep',
      params,
      seed,
      meta: { lrs, invSigmaW: invs },
    });
    try {
      return await sweep();
    } catch (err) {
      await record.fail(err);
      throw err;
    }

    async function sweep(): Promise<ExperimentResult> {
      const cells: SweepCell[] = [];
      for (const inv of invs) for (const lr of lrs) cells.push((await runCell(lr, inv, seed)).cell);

      for (const inv of invs) {
        const row = cells.filter((c) => c.invSigmaW === inv);
        const bestLr = row.reduce((b, c) => ((c.testAccuracy ?? -1) > (b.testAccuracy ?? -1) ? c : b)).lr;
        for (const c of row) if (c.phase === 'slow' && c.lr > bestLr) c.phase = 'unstable';
      }
      // A representative point per phase: the best trainable cell, the median cell of the others.
      const reps: { phase: MnistPhase; cell: SweepCell }[] = [];
      const trainable = cells.filter((c) => c.phase === 'trainable').sort((a, b) => b.testAccuracy! - a.testAccuracy!);
      if (trainable[0]) reps.push({ phase: 'trainable', cell: trainable[0] });
      for (const phase of ['slow', 'unstable'] as const) {
        const those = cells.filter((c) => c.phase === phase).sort((a, b) => a.testAccuracy! - b.testAccuracy!);
        if (those.length) reps.push({ phase, cell: those[Math.floor(those.length / 2)]! });
      }
      const overlaps: { phase: MnistPhase; lr: number; invSigmaW: number; k: number; q: number; random: number }[] = [];
      for (const { phase, cell } of reps) {
        const subs = [];
        for (let j = 0; j < overlapSeeds; j++) {
          const { sub } = await runCell(cell.lr, cell.invSigmaW, seed + j);
          if (sub) subs.push(sub);
        }
        if (subs.length < 2) continue;
        const kMax = Math.min(...subs.map((s) => s.k));
        const d = subs[0]!.cols;
        for (let k = 1; k <= kMax; k++) {
          let acc = 0,
            pairs = 0;
          for (let a = 0; a < subs.length; a++)
            for (let b = a + 1; b < subs.length; b++) {
              acc += subspaceOverlap(subs[a]!.v, subs[b]!.v, k, d);
              pairs++;
            }
          overlaps.push({ phase, lr: cell.lr, invSigmaW: cell.invSigmaW, k, q: acc / pairs, random: k / d });
        }
      }
      context.progress(total, total, 'cells');

      const byPhase = (p: MnistPhase) => cells.filter((c) => c.phase === p);
      const best = (p: MnistPhase) =>
        byPhase(p).reduce<number | null>(
          (m, c) => (c.testAccuracy !== null && (m === null || c.testAccuracy > m) ? c.testAccuracy : m),
          null,
        );
      const figures: ExperimentResult['figures'] = {
        cells: cells.length,
        complete: cells.every((c) => c.phase === 'diverged' || c.testAccuracy !== null),
        trainable: byPhase('trainable').length,
        slow: byPhase('slow').length,
        unstable: byPhase('unstable').length,
        diverged: byPhase('diverged').length,
        bestAccuracyTrainable: best('trainable'),
        bestAccuracySlow: best('slow'),
        bestAccuracyUnstable: best('unstable'),
      };
      const topK = overlaps.filter(
        (o) => o.k === Math.max(...overlaps.filter((x) => x.phase === o.phase).map((x) => x.k)),
      );
      for (const o of topK) figures[`qC_${o.phase}_k${o.k}`] = o.q;
      const fmt = (x: unknown) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
      const summary = [
        `${cells.length} cells (${lrs.length} learning rates ${lrs[0]}…${lrs.at(-1)} x ${invs.length} values of 1/σ_W ${invs[0]}…${invs.at(-1)}), ${params.steps} steps each`,
        `phases: ${figures.trainable} trainable (test accuracy ≥ ${threshold}), ${figures.slow} slow, ${figures.unstable} unstable, ${figures.diverged} diverged`,
        `best test accuracy: trainable ${fmt(figures.bestAccuracyTrainable)}, slow ${fmt(figures.bestAccuracySlow)}, unstable ${fmt(figures.bestAccuracyUnstable)}`,
        ...topK.map(
          (o) =>
            `q_C(${o.k}) over ${overlapSeeds} seeds at the ${o.phase} point (lr ${o.lr}, 1/σ_W ${o.invSigmaW}): ${o.q.toFixed(4)} (random subspaces: ${o.random.toFixed(4)})`,
        ),
      ];
      await record.finish({ meta: { figures } });
      const spec = await import('./specs.js');
      const layers = [...new Set(cells.flatMap((c) => Object.keys(c.spikes)))];
      const rows = cells.map((c) => ({ lr: c.lr, invSigmaW: c.invSigmaW, phase: c.phase, accuracy: c.testAccuracy }));
      const axes = { x: { field: 'invSigmaW', title: '1/σ_W' }, y: { field: 'lr', title: 'learning rate' } };
      const phaseScale = {
        domain: ['slow', 'trainable', 'unstable', 'diverged'],
        range: [...spec.PHASE_COLOURS.range, '#000000'],
      };
      const figs = [
        spec.figure(
          'lr-sweep-accuracy',
          'Test accuracy over (1/σ_W, learning rate)',
          `Test accuracy of each cell after ${params.steps} SGD steps (diverged cells have none).`,
          spec.top(
            'MNIST trainability map: test accuracy',
            spec.cellMap({
              cells: rows,
              ...axes,
              color: {
                field: 'accuracy',
                title: 'test accuracy',
                type: 'quantitative',
                scale: { scheme: 'viridis', domain: [0, 1] },
              },
              size: 400,
            }),
          ),
        ),
        spec.figure(
          'lr-sweep-phase',
          'Phases',
          `trainable: test accuracy ≥ ${threshold}; slow / unstable: below it at a learning rate below / above the best of its 1/σ_W row; diverged: the loss became non-finite.`,
          spec.top(
            'MNIST trainability map: phases',
            spec.cellMap({
              cells: rows,
              ...axes,
              color: { field: 'phase', title: 'phase', type: 'nominal', scale: phaseScale },
              size: 400,
            }),
          ),
        ),
        spec.figure(
          'lr-sweep-spikes',
          'Spikes per layer at the end of training',
          'Eigenvalues of W Wᵀ above the fitted Marchenko–Pastur edge + Tracy–Widom margin, per kernel.',
          spec.top('Spike counts per kernel', {
            hconcat: layers.map((l) => ({
              title: l,
              ...spec.cellMap({
                cells: cells.map((c) => ({ lr: c.lr, invSigmaW: c.invSigmaW, spikes: c.spikes[l] ?? null })),
                ...axes,
                color: { field: 'spikes', title: 'spikes', type: 'quantitative', scale: { scheme: 'oranges' } },
                width: 200,
                height: 200,
                size: 250,
              }),
            })),
          }),
        ),
      ];
      if (overlaps.length > 0) {
        figs.push(
          spec.figure(
            'lr-sweep-overlap',
            'Inter-seed subspace overlap q_C(k)',
            'q_C(k) = ‖V_aᵀV_b‖²_F/k of the top-k right singular vectors of the first kernel (pixel space), averaged over seed pairs, against k/784 for random subspaces.',
            spec.top(
              'Inter-seed top-k subspace overlap',
              spec.versusTheory({
                points: overlaps.map((o) => ({ x: o.k, value: o.q, quantity: 'q', series: `${o.phase} point` })),
                curves: overlaps.map((o) => ({ x: o.k, value: o.random, quantity: 'q', series: 'random subspaces' })),
                quantities: [{ name: 'q', title: 'q_C(k)' }],
                x: { title: 'k' },
              }),
            ),
          ),
        );
      }
      return finishWithReport(context, {
        experiment: 'lr-sweep',
        params,
        figures,
        summary,
        pages: figs,
        data: { lrs, invs, cells, overlaps },
      });
    }
  },
};
