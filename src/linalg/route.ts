/**
 * What the spectral analyses (omd/, rmt/) share about running native solves:
 *
 * - the full-or-partial route: `full` computes every eigenvalue with LAPACK (O(n³)); `partial`
 *   computes the edge of the spectrum exactly by block Lanczos and the bulk as a
 *   pseudo-spectrum from its stochastic Lanczos quadrature (SLQ) density, O(n²) per product;
 *   `auto` takes partial above a size threshold ({@link resolveRoute}, {@link chooseRoute});
 * - the SLQ pseudo-spectrum itself ({@link pseudoSpectrum});
 * - one body for an async call and its Sync twin: an analysis is written once as a generator
 *   that yields each native solve ({@link Solve}) and resumes with its result; {@link runSteps}
 *   runs the solves on the libuv pool, {@link runStepsSync} on the calling thread.
 *
 * Internal to specdyn (not re-exported from the package root).
 */
import { densityQuantiles } from '../stats.js';
import { checkInteger, checkOneOf } from '../validate.js';
import type { Precision } from './index.js';
import { spectralDensity, spectralDensitySync, type DensityOptions, type SymmetricOperator } from './iterative.js';
import type { Mat } from '../matrix.js';

/** The route taken: `full` (every eigenvalue exactly) or `partial` (edge exact, bulk from SLQ). */
export type Route = 'full' | 'partial';

/** The route asked for; `auto` = partial when the size exceeds `partialAbove`. */
export type RouteChoice = 'auto' | Route;

/** The route options shared by analyzeObservable and weightSpectrum. */
export interface RouteOptions {
  route?: RouteChoice;
  partialAbove?: number;
}

/** Default size above which `auto` takes the partial route. */
export const DEFAULT_PARTIAL_ABOVE = 4000;

/** Validated route options (defaults filled). */
export interface ResolvedRoute {
  route: RouteChoice;
  partialAbove: number;
}

/**
 * Checks `route` ('auto' default, 'full' or 'partial') and `partialAbove` (an integer ≥ 0,
 * default 4000). TypeError / RangeError naming the option otherwise.
 */
export function resolveRoute(options: RouteOptions): ResolvedRoute {
  return {
    route: checkOneOf(options.route ?? 'auto', 'route', ['auto', 'full', 'partial']),
    partialAbove: checkInteger(options.partialAbove ?? DEFAULT_PARTIAL_ABOVE, 'partialAbove', { min: 0 }),
  };
}

/** The route for a problem of `size` (N probes, or min(N, M) of a weight matrix): auto → partial iff size > partialAbove. */
export function chooseRoute(r: ResolvedRoute, size: number): Route {
  return r.route === 'auto' ? (size > r.partialAbove ? 'partial' : 'full') : r.route;
}

/** A native solve in both forms: the async driver calls `run`, the sync one `runSync`. */
export interface Solve<R> {
  run(): Promise<R>;
  runSync(): R;
}

/** The body of an analysis: yields solves, resumes with their results, returns T. */
export type Steps<T> = Generator<Solve<unknown>, T, unknown>;

/** Yields one solve and returns its result, typed: `const v = yield* solve(s)`. */
export function* solve<R>(s: Solve<R>): Generator<Solve<unknown>, R, unknown> {
  return (yield s as Solve<unknown>) as R;
}

/** `yield* call(eigh, eighSync, a, opts)`: the solve of an async function and its Sync twin on the same arguments. */
export function call<A extends unknown[], R>(
  run: (...args: A) => Promise<R>,
  runSync: (...args: A) => R,
  ...args: A
): Generator<Solve<unknown>, R, unknown> {
  return solve({ run: () => run(...args), runSync: () => runSync(...args) });
}

/** Runs an analysis body with its solves on the libuv pool. */
export async function runSteps<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next();
  while (!step.done) step = steps.next(await step.value.run());
  return step.value;
}

/** Runs an analysis body with its solves on the calling thread (the Sync twin). */
export function runStepsSync<T>(steps: Steps<T>): T {
  let step = steps.next();
  while (!step.done) step = steps.next(step.value.runSync());
  return step.value;
}

/**
 * SLQ settings of the pseudo-spectrum: a 32-wide Rademacher probe block (BLAS-3 products, about
 * the cost of 16 single probes), 48 Lanczos steps, seed 0, 200 bins (fine enough for the
 * quantiles).
 */
export const PSEUDO_SPECTRUM_SLQ = { probes: 32, steps: 48, seed: 0, bins: 200 } as const;

/** Options of {@link pseudoSpectrum}. */
export interface PseudoSpectrumOptions {
  /**
   * Bin the density on [lo, hi] only (bins equal in width); default: the range SLQ estimates
   * (extreme Ritz values, padded by 1 %).
   */
  interval?: [number, number];
  precision?: Precision;
}

/**
 * `count` pseudo-eigenvalues of a symmetric matrix or operator: the midpoint quantiles
 * F⁻¹((i + ½)/count) of its SLQ spectral density (Ubaru, Chen and Saad 2017; see
 * `densityQuantiles`), ascending; NaN-filled when the density has no mass in the bins. They
 * reproduce the shape of the bulk (fits, moments, entropies), not individual levels; mass
 * outside `interval` is dropped.
 */
export function pseudoSpectrum(
  a: Mat | SymmetricOperator,
  count: number,
  options: PseudoSpectrumOptions = {},
): Solve<Float64Array> {
  const { probes, steps, seed, bins } = PSEUDO_SPECTRUM_SLQ;
  const dens: DensityOptions = { probes, steps, seed };
  if (options.interval) {
    const [lo, hi] = options.interval;
    const grid = new Float64Array(bins + 1);
    for (let b = 0; b <= bins; b++) grid[b] = lo + ((hi - lo) * b) / bins;
    dens.grid = grid;
  } else dens.bins = bins;
  if (options.precision !== undefined) dens.precision = options.precision;
  return {
    run: async () => {
      const d = await spectralDensity(a, dens);
      return densityQuantiles(d.edges, d.mass, count);
    },
    runSync: () => {
      const d = spectralDensitySync(a, dens);
      return densityQuantiles(d.edges, d.mass, count);
    },
  };
}
