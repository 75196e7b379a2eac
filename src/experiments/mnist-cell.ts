/**
 * `mnist-cell`: one MNIST training run at one (learning rate, 1/σ_W, seed) — a cell of the
 * `lr-sweep` trainability map, and a unit a sweep can run on any machine. An MLP with ReLU hidden
 * layers, every kernel initialised fan-in-scaled (W_ij ~ N(0, σ_W²/fan_in)), trained with SGD
 * under the spectral monitor. Its result: test accuracy on held-out test images, whether the loss
 * diverged, each kernel's spike count at the end, and the top-k right singular vectors of the
 * first hidden layer's kernel (input-pixel space, where different seeds are comparable) for the
 * inter-seed subspace overlap q_C(k).
 */
import { AbortError } from '../errors.js';
import { parseIntList, trainHooks, writeResult } from './record.js';
import type { Experiment, ExperimentResult } from './types.js';

/** The parameters of a cell, as the sweep names them (see {@link mnistCellExperiment}). */
export const MNIST_CELL_PARAMS = ['lr', 'invSigmaW', 'seed'] as const;

/** One MNIST training run: a cell of lr-sweep. */
export const mnistCellExperiment: Experiment = {
  name: 'mnist-cell',
  description: 'one MNIST training run at one (learning rate, 1/σ_W, seed): a cell of lr-sweep',
  params: [
    { key: 'lr', kind: 'number', default: 0.1, min: 1e-8, max: 1000, doc: 'SGD learning rate' },
    {
      key: 'invSigmaW',
      kind: 'number',
      default: 1,
      min: 1e-3,
      max: 1000,
      doc: '1/σ_W of the fan-in-scaled initialisation W_ij ~ N(0, σ_W²/fan_in)',
    },
    { key: 'seed', kind: 'int', default: 1, min: 0, doc: 'seed of the initialisation and the batches' },
    { key: 'steps', kind: 'int', default: 300, min: 1, max: 1_000_000, doc: 'training steps' },
    { key: 'layers', kind: 'string', default: '128,128', doc: 'widths of the hidden ReLU layers, comma-separated' },
    { key: 'batchSize', kind: 'int', default: 128, min: 1, max: 60_000, doc: 'mini-batch size' },
    {
      key: 'trainSize',
      kind: 'int',
      default: 10_000,
      min: 1,
      max: 60_000,
      doc: 'training images used (the first ones)',
    },
    { key: 'probe', kind: 'int', default: 200, min: 10, max: 5000, doc: 'class-balanced probe images for OMD' },
    {
      key: 'testSize',
      kind: 'int',
      default: 5000,
      min: 1,
      max: 9990,
      doc: 'held-out test images for the test accuracy',
    },
    {
      key: 'every',
      kind: 'int',
      default: 100,
      min: 1,
      doc: 'snapshot every this many steps (plus 0, 1, 2, 4, … and the last)',
    },
    {
      key: 'topK',
      kind: 'int',
      default: 5,
      min: 1,
      max: 50,
      doc: 'singular vectors kept for the subspace overlap q_C(k)',
    },
    { key: 'report', kind: 'bool', default: true, doc: 'write the report of the cell' },
    {
      key: 'backend',
      kind: 'string',
      default: 'auto',
      choices: ['auto', 'specdyn-native', 'tfjs-node', 'wasm', 'cpu'],
      doc: 'TensorFlow.js backend',
    },
  ],
  quick: { steps: 20, layers: '32,32', trainSize: 1000, probe: 50, testSize: 500, every: 10, report: false },
  async run(params, context): Promise<ExperimentResult> {
    const hiddenSizes = parseIntList(params.layers, 'mnist-cell.layers');
    const { mnistExperimentOptions, trainMlp } = await import('./mlp.js');
    const { openRun } = await import('../store/index.js');
    const { kernelSpikes } = await import('./training-summary.js');
    const { svd } = await import('../linalg/index.js');
    const r = await trainMlp(
      {
        ...mnistExperimentOptions({
          experiment: 'mnist-cell',
          params,
          hiddenSizes,
          testSize: params.testSize as number,
          out: context.out,
          report: params.report as boolean,
        }),
        initScale: 1 / (params.invSigmaW as number),
        keepKernels: true,
      },
      trainHooks(context),
      context.signal,
    );
    if (r.status === 'interrupted') throw new AbortError(`The cell was interrupted; the run ${r.run} is readable`);
    const spikes = kernelSpikes(await openRun(r.run));
    const k = params.topK as number;
    let subspace: { layer: string; k: number; cols: number; v: number[] } | null = null;
    const first = r.kernels?.[0];
    if (first) {
      const kk = Math.min(k, first.rows, first.cols);
      const res = await svd({ data: first.data, rows: first.rows, cols: first.cols }, { k: kk });
      subspace = { layer: first.name, k: kk, cols: first.cols, v: Array.from(res.v.data) };
    }
    const figures: ExperimentResult['figures'] = {
      lr: params.lr as number,
      invSigmaW: params.invSigmaW as number,
      seed: params.seed as number,
      diverged: r.diverged,
      stepsDone: r.stepsDone,
      testAccuracy: r.testAccuracy,
      finalLoss: Number.isFinite(r.final.loss ?? NaN) ? r.final.loss! : null,
      stepsPerSecond: r.stepsDone / r.trainSeconds,
    };
    for (const s of spikes) figures[`spikes.${s.layer}`] = s.final;
    const summary = [
      `cell lr = ${params.lr}, 1/σ_W = ${params.invSigmaW}, seed ${params.seed}: ${r.diverged ? `diverged at step ${r.stepsDone}` : `test accuracy ${r.testAccuracy?.toFixed(4)}`}`,
      `spikes at the end: ${spikes.map((s) => `${s.layer} ${s.final}`).join(', ')}`,
      ...(r.report ? [`report: ${r.report}`] : []),
    ];
    writeResult(r.run, { experiment: 'mnist-cell', params, figures, summary, data: { spikes, subspace } });
    return { dir: r.run, ...(r.report ? { report: r.report } : {}), figures, summary };
  },
};
