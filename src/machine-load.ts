/**
 * Whether other processes keep this machine's cores busy, sampled from /proc/stat at most once a
 * second: what decides whether short BLAS work threads (the tfjs backend's products in 'auto',
 * SpecdynNativeBackend.productThreads; eigsh's and svds's single-vector solves on small
 * operators). On a machine the process has to itself a second BLAS thread makes such work
 * faster. When other processes take a core, it waits for that core and loses by far. One sampler
 * per thread of JavaScript: a worker samples for itself.
 */
import { availableParallelism, loadavg } from 'node:os';
import { native } from './native.js';

/**
 * The share of a core that other processes may take (measured over the last second) with
 * short BLAS calls still threaded: from there on a second BLAS thread would wait for a core and
 * lose by far (9.0 against 0.7 ms per training product on a loaded 2-core machine).
 */
const OTHERS_BUSY_CORES = 0.5;
/** How often the machine's CPU time is sampled, in milliseconds. */
const SAMPLE_MS = 1000;

/** One sample: wall time (ms), the machine's busy CPU seconds (/proc/stat), this process's (s). */
export interface CpuSample {
  wall: number;
  machine: number;
  self: number;
}

/** The machine's busy CPU seconds (/proc/stat, read by the native core), or undefined. */
function machineBusySeconds(): number | undefined {
  try {
    const busy = native().machineBusySeconds();
    return Number.isFinite(busy) ? busy : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Cores' worth of CPU that other processes used between two samples: the machine's busy time
 * less this process's (every thread of it: training, BLAS threads, an analysis worker), over the
 * wall time between them. @internal exported for tests.
 */
export function othersCores(a: CpuSample, b: CpuSample): number {
  const wall = (b.wall - a.wall) / 1000;
  if (!(wall > 0)) return 0;
  return Math.max(0, (b.machine - a.machine - (b.self - a.self)) / wall);
}

let lastSample: CpuSample | undefined;
let othersBusy = false;

/**
 * Whether other processes keep a core's share of at least OTHERS_BUSY_CORES busy, sampled at most
 * once per SAMPLE_MS (before the first full window: no). Where /proc/stat cannot be read, the
 * 1-minute load average against the cores this process may use.
 */
export function othersKeepACore(): boolean {
  const now = performance.now();
  if (lastSample !== undefined && now - lastSample.wall < SAMPLE_MS) return othersBusy;
  const machine = machineBusySeconds();
  if (machine === undefined) {
    othersBusy = (loadavg()[0] ?? 0) >= availableParallelism();
    lastSample = { wall: now, machine: Number.NaN, self: Number.NaN };
    return othersBusy;
  }
  const u = process.cpuUsage();
  const sample = { wall: now, machine, self: (u.user + u.system) / 1e6 };
  if (lastSample !== undefined && Number.isFinite(lastSample.machine))
    othersBusy = othersCores(lastSample, sample) >= OTHERS_BUSY_CORES;
  lastSample = sample;
  return othersBusy;
}

/** Test hook: the last reading (whether other processes keep a core busy) and its sample. @internal */
export function machineLoadState(): { othersBusy: boolean; sample: CpuSample | undefined } {
  return { othersBusy, sample: lastSample && { ...lastSample } };
}
