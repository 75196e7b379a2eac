/**
 * `specdyn train`: the built-in MLP (src/experiments/mlp.ts) trained on MNIST or on a seeded
 * synthetic task under a SpectralMonitor, talking through the command's Output.
 */
import { trainMlp, type TrainResult } from '../experiments/mlp.js';
import type { Output } from './output.js';
import type { TrainConfig } from './train-config.js';

export { snapshotSchedule, type TrainResult } from '../experiments/mlp.js';

/**
 * Trains and records (see {@link trainMlp}). `signal` aborting (Ctrl-C) stops after the current
 * step and closes the run as `interrupted`.
 * @throws whatever training or an analysis throws; the run is then closed as `failed`.
 */
export async function train(cfg: TrainConfig, out: Output, signal: AbortSignal): Promise<TrainResult> {
  return trainMlp(
    cfg,
    { info: (l) => out.info(l), warn: (l) => out.warn(l), progress: (l, t) => out.progress(l, t) },
    signal,
  );
}
