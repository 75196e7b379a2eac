/**
 * The readings of a recorded training run that the main job prints and the sweeps tabulate, all
 * computed from the run store (so a summary can always be checked against the run directory):
 * the spikes that detached from each kernel's Marchenko–Pastur bulk, with their estimated signal
 * strength (BBP inversion), and the OMD regime windows of each representation layer.
 */
import { invertBbpOutlier } from '../rmt/spikes.js';
import type { Run } from '../store/index.js';

/** One spike that detached from a kernel's bulk. */
export interface Detachment {
  /** Kernel (weights observable) name. */
  layer: string;
  /** The k-th spike (1 = the largest). */
  k: number;
  /** First snapshot step at which at least k eigenvalues stand above the edge + Tracy–Widom margin. */
  step: number;
  /** The k-th largest eigenvalue of W Wᵀ at that step. */
  eigenvalue: number;
  /** The signal-to-noise τ whose BBP outlier sits at that eigenvalue (invertBbpOutlier with the fitted r and σ²). */
  snr: number;
  /** The estimated signal strength θ = √(τ σ²): the singular value of a rank-one signal on the noise's scale. */
  signal: number;
}

/** Spike counts of one kernel. */
export interface KernelSpikes {
  layer: string;
  /** Shape N x M of W as stored. */
  shape: [number, number] | null;
  /** Spikes at the first and at the last snapshot. */
  initial: number;
  final: number;
  detachments: Detachment[];
}

const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

/**
 * Per kernel of the run, the spikes that detached: for k = 1 … max(num_spikes), the first step
 * with num_spikes ≥ k, the k-th largest eigenvalue there and its BBP inversion.
 */
export function kernelSpikes(run: Run): KernelSpikes[] {
  return run.observables('weights').map((layer) => {
    const rows = run.rows({ family: 'weights', observable: layer }).sort((a, b) => a.step - b.step);
    const detachments: Detachment[] = [];
    let reached = 0;
    for (const r of rows) {
      const n = Number.isFinite(num(r.num_spikes)) ? num(r.num_spikes) : 0;
      while (reached < n) {
        reached++;
        const evals = run.array(r.step, layer, 'evals', 'weights');
        const e = evals && !('rows' in evals) ? evals : undefined;
        const eigenvalue = e && e.length >= reached ? e[e.length - reached]! : NaN;
        const ratio = num(r.ratio),
          variance = num(r.variance_mp);
        const snr =
          Number.isFinite(eigenvalue) && ratio > 0 && variance > 0
            ? invertBbpOutlier(eigenvalue, { ratio, variance })
            : NaN;
        detachments.push({ layer, k: reached, step: r.step, eigenvalue, snr, signal: Math.sqrt(snr * variance) });
      }
    }
    const first = rows[0],
      last = rows[rows.length - 1];
    const count = (r: typeof first) => (r && Number.isFinite(num(r.num_spikes)) ? num(r.num_spikes) : 0);
    return {
      layer,
      shape: last && Number.isFinite(num(last.N)) ? [num(last.N), num(last.M)] : null,
      initial: count(first),
      final: count(last),
      detachments,
    };
  });
}

/** The OMD regime windows of one representation layer. */
export interface LayerRegimes {
  layer: string;
  windows: { startStep: number; endStep: number; label: string; bandSize: number; fingerprint: string }[];
  transitions: { step: number; previousBandSize: number; bandSize: number }[];
  verdict: string;
}

/** The regime windows of every OMD layer of the run (the store's trajectory reading). */
export function layerRegimes(run: Run): LayerRegimes[] {
  return run.observables('omd').map((layer) => {
    const r = run.trajectory(layer).regimes();
    return {
      layer,
      windows: r.windows.map((w) => ({
        startStep: w.startStep,
        endStep: w.endStep,
        label: w.label,
        bandSize: w.bandSize,
        fingerprint: w.fingerprint,
      })),
      transitions: r.transitions.map((t) => ({
        step: t.step,
        previousBandSize: t.previousBandSize,
        bandSize: t.bandSize,
      })),
      verdict: r.verdict,
    };
  });
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toPrecision(4) : 'n/a');

/** Summary lines of the kernels' spikes (one per kernel). */
export function spikeLines(spikes: KernelSpikes[], maxShown = 4): string[] {
  return spikes.map((s) => {
    const head = `${s.layer}${s.shape ? ` (${s.shape[0]} x ${s.shape[1]})` : ''}: spikes ${s.initial} at init → ${s.final} at the end`;
    if (s.detachments.length === 0) return `${head}; none detached`;
    const shown = s.detachments
      .slice(0, maxShown)
      .map((d) => `#${d.k} step ${d.step} λ=${f3(d.eigenvalue)} τ=${f3(d.snr)} θ=${f3(d.signal)}`);
    const more = s.detachments.length > maxShown ? `, +${s.detachments.length - maxShown} more` : '';
    return `${head}; detached: ${shown.join(', ')}${more}`;
  });
}

/** Summary lines of the OMD regimes (one per layer). */
export function regimeLines(regimes: LayerRegimes[]): string[] {
  return regimes.map((r) => {
    const w = r.windows.map((x) => `${x.startStep}–${x.endStep} ${x.label} (m̂=${x.bandSize})`).join('; ');
    return `${r.layer} OMD: ${w || 'no windows'}; ${r.verdict}`;
  });
}
