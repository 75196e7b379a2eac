/**
 * The main job (`specdyn demo`, `npm run demo`): an MLP with ReLU hidden layers trained on MNIST
 * under the spectral monitor, with a fixed, class-balanced probe set of test images held out of
 * training, snapshots at initialisation, log-spaced early (1, 2, 4, …) and every k steps later:
 * OMD on each hidden layer (with the probe labels) and the weight spectrum of every kernel.
 * Writes the run with its report and summarises, from the run store, the backend, steps/s, the
 * test accuracy, the spikes that detached per kernel and the OMD regime windows.
 */
import { AbortError } from '../errors.js';
import { parseIntList, trainHooks, writeResult } from './record.js';
import type { Experiment, ExperimentResult } from './types.js';

/** MNIST's test split holds 10 000 images; the probes are taken from it, the rest measure test accuracy. */
const MNIST_TEST = 10_000;

/** The main job as an experiment (`specdyn demo` runs it; also `specdyn experiment demo`). */
export const demoExperiment: Experiment = {
  name: 'demo',
  description:
    'the main job: an MLP trained on MNIST under the spectral monitor (OMD on the hidden layers, weight spectra, report)',
  params: [
    { key: 'steps', kind: 'int', default: 1500, min: 1, max: 1_000_000, doc: 'training steps (mini-batches)' },
    {
      key: 'probe',
      kind: 'int',
      default: 500,
      min: 10,
      max: 5000,
      doc: 'probe images N for OMD: class-balanced, from the MNIST test split, held out of training',
    },
    {
      key: 'every',
      kind: 'int',
      default: 100,
      min: 1,
      doc: 'snapshot every this many steps (plus step 0 and 1, 2, 4, … below it, and the last step)',
    },
    { key: 'layers', kind: 'string', default: '256,256', doc: 'widths of the hidden ReLU layers, comma-separated' },
    { key: 'lr', kind: 'number', default: 0.1, min: 1e-6, max: 100, doc: 'SGD learning rate' },
    { key: 'seed', kind: 'int', default: 1, min: 0, doc: 'seed of the initialisation and the batches' },
    { key: 'batchSize', kind: 'int', default: 128, min: 1, max: 60_000, doc: 'mini-batch size' },
    {
      key: 'trainSize',
      kind: 'int',
      default: 20_000,
      min: 1,
      max: 60_000,
      doc: 'training images used (the first ones)',
    },
    {
      key: 'backend',
      kind: 'string',
      default: 'auto',
      choices: ['auto', 'specdyn-native', 'tfjs-node', 'wasm', 'cpu'],
      doc: 'TensorFlow.js backend (auto: the fastest that loads)',
    },
  ],
  quick: { steps: 40, probe: 100, every: 10, layers: '64,64', trainSize: 2000 },
  async run(params, context): Promise<ExperimentResult> {
    const hiddenSizes = parseIntList(params.layers, 'demo.layers');
    const { mnistExperimentOptions, trainMlp } = await import('./mlp.js');
    const { openRun } = await import('../store/index.js');
    const { kernelSpikes, layerRegimes, regimeLines, spikeLines } = await import('./training-summary.js');
    const probes = params.probe as number;
    const r = await trainMlp(
      mnistExperimentOptions({
        experiment: 'demo',
        params,
        hiddenSizes,
        testSize: MNIST_TEST - probes,
        out: context.out,
        report: true,
      }),
      trainHooks(context),
      context.signal,
    );
    const run = await openRun(r.run);
    const spikes = kernelSpikes(run);
    const regimes = layerRegimes(run);
    const stepsPerSecond = r.stepsDone / r.trainSeconds;
    const summary = [
      `backend: ${r.backend}`,
      `training: ${r.stepsDone} steps in ${r.trainSeconds.toFixed(1)} s (${stepsPerSecond.toFixed(1)} steps/s with ${r.snapshots} snapshots)`,
      `test accuracy: ${r.testAccuracy === null ? 'n/a' : r.testAccuracy.toFixed(4)} on ${r.testCount} held-out test images (probes: ${probes}, class-balanced)`,
      ...spikeLines(spikes),
      ...regimeLines(regimes),
      `report: ${r.report}`,
    ];
    const figures: ExperimentResult['figures'] = {
      backend: r.backend,
      status: r.status,
      steps: r.stepsDone,
      snapshots: r.snapshots,
      trainSeconds: r.trainSeconds,
      stepsPerSecond,
      testAccuracy: r.testAccuracy,
    };
    for (const s of spikes) {
      figures[`${s.layer}.spikes`] = s.final;
      const d = s.detachments[0];
      figures[`${s.layer}.firstDetachStep`] = d ? d.step : null;
    }
    for (const g of regimes) figures[`${g.layer}.verdict`] = g.verdict;
    writeResult(r.run, { experiment: 'demo', params, figures, summary, data: { spikes, regimes } });
    if (r.status === 'interrupted') throw new AbortError(`The demo was interrupted; the run ${r.run} is readable`);
    return { dir: r.run, report: r.report ?? undefined, figures, summary };
  },
};
