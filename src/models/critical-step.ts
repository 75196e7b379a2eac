/**
 * Finite-size estimates of the critical step ε_c of the linear teacher–student model
 * (population gradient, t steps) from the Binder cumulant U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) of m = q²
 * over independent samples (Binder 1981; used for this model by Park, Bocchi, D'Amico, Lucini &
 * Aarts 2026, arXiv:2606.28486). Two estimators on the same data:
 *
 * - the crossing estimate: U₄(ε) of consecutive sizes cross near ε_c (below it q² ~ χ²₁/N and
 *   U₄ → 1 − 105/27 for every N; above, q² concentrates and U₄ → 2/3);
 * - the scaling-collapse fit: U₄ = F((ε − ε_c)·N^ρ) over all sizes at once, F a Padé[2,2].
 *
 * Both with a delete-one-block jackknife error over samples.
 */
import { expected } from '../errors.js';
import { Rng } from '../random.js';
import { checkInteger, checkNumber, checkOptionsObject } from '../validate.js';
import { type Computation, linearStepSweep, parallel, runSync, runWithOptions } from './physics.js';
import { linearTeacherStudent } from './teacher-student.js';

/** Options of {@link estimateCriticalStep}. */
export interface CriticalStepOptions {
  /** σ_W (default 1). */
  sigmaW?: number;
  /** r = N/M (default 0.5); M = round(N/r). */
  ratio?: number;
  /** System sizes N, ascending (default [64, 128, 256]). */
  sizes?: number[];
  /** Grid of steps ε, ascending, bracketing ε_c (default 11 points on [0.8, 1.2]·ε_c(theory)). */
  lr?: number[];
  /** Independent samples (teacher + init) per size (default 100). */
  samples?: number;
  /** GD steps (default 1). */
  t?: number;
  seed?: number;
  /** Jackknife blocks over samples (default 10). */
  blocks?: number;
  /** Concurrent native calls (default: hardware threads; ignored by the Sync twin). */
  concurrency?: number;
  /** Cancels the async call (rejects with AbortError). */
  signal?: AbortSignal;
}

/** The crossing of U₄(n1) and U₄(n2) found by {@link estimateCriticalStep}. */
export interface BinderCrossing {
  n1: number;
  n2: number;
  /** The upward sign change of the smoothed U₄(n2) − U₄(n1) nearest the grid centre; NaN if none. */
  lr: number;
  /** Why no crossing was found ('' when found). */
  reason: string;
}

/** Result of {@link estimateCriticalStep}. */
export interface CriticalStepEstimate {
  /** True when at least one pair of consecutive sizes crosses inside the grid. */
  crossed: boolean;
  /** Estimated ε_c: mean of the crossings of the pairs of consecutive sizes that cross (NaN when crossed is false). */
  lrCritical: number;
  /** Jackknife standard error of lrCritical over sample blocks (NaN when crossed is false). */
  error: number;
  /** Jackknife replicates in which some pair crosses (of `blocks`). */
  replicatesUsed: number;
  /** The closed form ε_c(σ_W, r, t) for comparison. */
  theory: number;
  /** Per consecutive pair of sizes. */
  crossings: BinderCrossing[];
  /** U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) of m = q² per size and step. */
  binder: Array<{ n: number; lr: number[]; u4: Float64Array }>;
  /** The Padé[2,2] scaling-collapse fit of the same data ({@link fitBinderCollapse}). */
  collapse: BinderCollapseFit;
}

/**
 * The scaling-collapse fit U₄ ≈ F((ε − ε_c)·(N/N₀)^ρ), F(x) = (a₀ + a₁x + a₂x²)/(1 + b₁x + b₂x²),
 * N₀ the smallest size, over the points with U₄ ≥ −1 (below, U₄ is noise-dominated). The
 * authors fit ρ(N) = ρ_∞ + c/N^θ; a constant ρ is used here (their three exponent parameters
 * are not determined by three sizes).
 */
export interface BinderCollapseFit {
  /** False when the least-squares fit did not converge to a finite, pole-free F on the data. */
  ok: boolean;
  /** Fitted ε_c (NaN when not ok). */
  lrCritical: number;
  /** Jackknife standard error of lrCritical over sample blocks. */
  error: number;
  /** Fitted exponent ρ (≈ 1/3 for the BBP transition, whose window in τ shrinks as N^(−1/3)). */
  rho: number;
  /** Jackknife standard error of rho. */
  rhoError: number;
  /** [a₀, a₁, a₂, b₁, b₂]. */
  pade: number[];
  /** Root-mean-square residual of U₄ at the fit. */
  rms: number;
}

interface Resolved {
  sigmaW: number;
  ratio: number;
  t: number;
  theory: number;
  sizes: number[];
  lrs: number[];
  samples: number;
  seed: number;
  blocks: number;
}

function resolve(options: CriticalStepOptions): Resolved {
  checkOptionsObject(options);
  const sigmaW = checkNumber(options.sigmaW ?? 1, 'sigmaW', { min: 0, minExclusive: true });
  const ratio = checkNumber(options.ratio ?? 0.5, 'ratio', { min: 0, minExclusive: true });
  const t = checkInteger(options.t ?? 1, 't', { min: 1 });
  const theory = linearTeacherStudent.criticalStep({ sigmaW, ratio, t });
  const sizes = options.sizes ?? [64, 128, 256];
  if (!Array.isArray(sizes) || sizes.length < 2) throw new RangeError(expected('at least 2 sizes', 'sizes', sizes));
  sizes.forEach((v, i) => {
    checkInteger(v, `sizes[${i}]`, { min: 2 });
    if (i > 0 && !(v > sizes[i - 1]!))
      throw new RangeError(expected(`a size > ${sizes[i - 1]} (ascending sizes)`, `sizes[${i}]`, v));
  });
  const lrs = options.lr ?? Array.from({ length: 11 }, (_, k) => theory * (0.8 + 0.04 * k));
  if (!Array.isArray(lrs) || lrs.length < 3) throw new RangeError(expected('at least 3 steps', 'lr', lrs));
  lrs.forEach((v, i) => {
    checkNumber(v, `lr[${i}]`, { min: 0, minExclusive: true });
    if (i > 0 && !(v > lrs[i - 1]!))
      throw new RangeError(expected(`a step > ${lrs[i - 1]} (ascending steps)`, `lr[${i}]`, v));
  });
  const samples = checkInteger(options.samples ?? 100, 'samples', { min: 4 });
  const seed = checkInteger(options.seed ?? 0, 'seed');
  const blocks = checkInteger(options.blocks ?? 10, 'blocks', { min: 2 });
  return { sigmaW, ratio, t, theory, sizes, lrs, samples, seed, blocks };
}

/** q2[k][j * samples + s]: size k, step j, sample s (common random numbers across steps). */
function* measure(o: Resolved): Computation<Float64Array[]> {
  const { sizes, lrs, samples, seed, ratio, sigmaW, t } = o;
  const L = lrs.length;
  const q2 = sizes.map(() => new Float64Array(L * samples));
  yield* parallel(
    Array.from(
      { length: sizes.length * samples },
      (_, task) =>
        function* (): Computation<void> {
          const k = Math.floor(task / samples),
            s = task % samples;
          const n = sizes[k]!,
            m = Math.max(2, Math.round(n / ratio));
          const rng = new Rng(seed, 1_000_003 * (k + 1) + s);
          const u = rng.unitVector(n),
            v = rng.unitVector(m);
          const z = rng.fillNormal(new Float64Array(n * m));
          const sweep = yield* linearStepSweep(z, u, v, sigmaW, lrs, t);
          for (let j = 0; j < L; j++) q2[k]![j * samples + s] = sweep.q2[j]!;
        },
    ),
  );
  return q2;
}

/** U₄ per size and step over the kept samples. */
function binderCurves(q2: Float64Array[], L: number, samples: number, keep: Uint8Array): Float64Array[] {
  return q2.map((qk) => {
    const u4 = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      let m2 = 0,
        m4 = 0,
        c = 0;
      for (let s = 0; s < samples; s++) {
        if (!keep[s]) continue;
        const x = qk[j * samples + s]!;
        m2 += x * x;
        m4 += x ** 4;
        c++;
      }
      m2 /= c;
      m4 /= c;
      u4[j] = 1 - m4 / (3 * m2 * m2);
    }
    return u4;
  });
}

/** The contiguous sample blocks of the delete-one-block jackknife, as keep-masks. */
function blockMasks(samples: number, blocks: number): Uint8Array[] {
  const g = Math.min(samples, blocks);
  return Array.from({ length: g }, (_, b) => {
    const keep = new Uint8Array(samples).fill(1);
    const lo = Math.floor((b * samples) / g),
      hi = Math.floor(((b + 1) * samples) / g);
    keep.fill(0, lo, hi);
    return keep;
  });
}

function jackknifeError(reps: number[]): number {
  const g = reps.length;
  if (g < 2) return NaN;
  const m = reps.reduce((p, c) => p + c, 0) / g;
  return Math.sqrt(((g - 1) / g) * reps.reduce((p, c) => p + (c - m) ** 2, 0));
}

/**
 * The crossing of two U₄ curves: the difference d(ε) = U₄(n2) − U₄(n1) is smoothed with
 * weights (1, 2, 1)/4 along the grid (U₄ is noisy where q² is small), and the crossing is the
 * upward sign change of the smoothed d nearest the centre of the grid, by linear
 * interpolation. Below ε_c d is negative (U₄ of the larger size stays lower longer), above it
 * positive and small (both tend to 2/3).
 */
function crossing(lrs: number[], d: Float64Array): { lr: number; reason: string } {
  const L = lrs.length;
  const sm = new Float64Array(L);
  for (let j = 0; j < L; j++) {
    let acc = 2 * d[j]!,
      w = 2;
    if (j > 0) {
      acc += d[j - 1]!;
      w++;
    }
    if (j + 1 < L) {
      acc += d[j + 1]!;
      w++;
    }
    sm[j] = acc / w;
  }
  const centre = 0.5 * (lrs[0]! + lrs[L - 1]!);
  let best = NaN;
  for (let j = 0; j + 1 < L; j++) {
    const d0 = sm[j]!,
      d1 = sm[j + 1]!;
    if (d0 <= 0 && d1 > 0) {
      const z = lrs[j]! + ((lrs[j + 1]! - lrs[j]!) * -d0) / (d1 - d0);
      if (!(Math.abs(z - centre) >= Math.abs(best - centre))) best = z;
    }
  }
  if (Number.isNaN(best)) {
    const sign = sm.every((x) => x > 0) ? 'above' : sm.every((x) => x <= 0) ? 'below' : 'crossing downwards only';
    return {
      lr: NaN,
      reason: `no upward sign change of the smoothed U₄(n2) − U₄(n1) on the grid (${sign === 'above' ? 'U₄(n2) > U₄(n1) throughout' : sign === 'below' ? 'U₄(n2) ≤ U₄(n1) throughout' : 'it changes sign downwards only'})`,
    };
  }
  return { lr: best, reason: '' };
}

function analyse(o: Resolved, q2: Float64Array[]): CriticalStepEstimate {
  const { sizes, lrs, samples, blocks, theory } = o;
  const L = lrs.length;
  const all = new Uint8Array(samples).fill(1);
  const masks = blockMasks(samples, blocks);
  const curves = binderCurves(q2, L, samples, all);
  const repCurves = masks.map((keep) => binderCurves(q2, L, samples, keep));
  const pairs = sizes.length - 1;
  const crossingsOf = (c: Float64Array[]) =>
    Array.from({ length: pairs }, (_, k) => {
      const d = new Float64Array(L);
      for (let j = 0; j < L; j++) d[j] = c[k + 1]![j]! - c[k]![j]!;
      return crossing(lrs, d);
    });
  const full = crossingsOf(curves);
  // The estimate (and each jackknife replicate) averages the pairs that cross.
  const meanOf = (cs: Array<{ lr: number }>) => {
    let acc = 0,
      cnt = 0;
    for (const c of cs)
      if (Number.isFinite(c.lr)) {
        acc += c.lr;
        cnt++;
      }
    return cnt ? acc / cnt : NaN;
  };
  const value = meanOf(full);
  const reps = repCurves.map((c) => meanOf(crossingsOf(c))).filter(Number.isFinite);
  const crossed = Number.isFinite(value);
  const collapse = collapseFit(o, curves, repCurves, crossed ? value : theory);
  return {
    crossed,
    lrCritical: value,
    error: crossed ? jackknifeError(reps) : NaN,
    replicatesUsed: reps.length,
    theory,
    crossings: full.map((c, k) => ({ n1: sizes[k]!, n2: sizes[k + 1]!, ...c })),
    binder: sizes.map((n, k) => ({ n, lr: lrs.slice(), u4: curves[k]! })),
    collapse,
  };
}

/**
 * Finite-size estimate of the critical step ε_c of the linear model (population gradient,
 * t steps) from the Binder cumulant of m = q² over `samples` independent teachers and
 * initialisations per size (common random numbers across the ε grid; each sample costs one
 * N x N eigendecomposition for the whole grid). The crossing of each pair of consecutive sizes
 * is the upward sign change of their smoothed U₄ difference nearest the grid centre (robust
 * where U₄ is noise-dominated below ε_c); the estimate is the mean over the pairs that cross,
 * with a delete-one-block jackknife error. Beside it, the Padé[2,2] scaling-collapse
 * fit of all sizes ({@link BinderCollapseFit}) on the same data.
 *
 * A pair without a crossing on the grid is reported with its `reason`; when no pair crosses
 * the result says so (`crossed: false`, lrCritical and error NaN) instead of throwing.
 *
 * @throws {TypeError|RangeError} for bad options (naming the option); {@link AbortError} when
 *   `signal` aborts.
 */
export async function estimateCriticalStep(options: CriticalStepOptions = {}): Promise<CriticalStepEstimate> {
  const o = resolve(options);
  return analyse(o, await runWithOptions(measure(o), options));
}

/** {@link estimateCriticalStep} on the calling thread; identical results. @throws {TypeError|RangeError} for bad options. */
export function estimateCriticalStepSync(
  options: Omit<CriticalStepOptions, 'concurrency' | 'signal'> = {},
): CriticalStepEstimate {
  const o = resolve(options);
  return analyse(o, runSync(measure(o)));
}

// ---------------------------------------------------------------------------------------------
// The scaling-collapse fit.

/** F(x) = (a₀ + a₁x + a₂x²)/(1 + b₁x + b₂x²). */
function pade(p: ArrayLike<number>, x: number): number {
  return (p[0]! + p[1]! * x + p[2]! * x * x) / (1 + p[3]! * x + p[4]! * x * x);
}

/** Solves the small dense system A x = b (Gaussian elimination with partial pivoting); null if singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    if (!(Math.abs(M[piv]![c]!) > 1e-300)) return null;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

/**
 * Levenberg–Marquardt least squares of residuals(p) with a forward-difference Jacobian.
 * Returns the parameters and the residual sum of squares. @internal
 */
export function levenbergMarquardt(
  residuals: (p: number[]) => number[],
  p0: number[],
  iterations = 200,
): { p: number[]; ssr: number } {
  let p = p0.slice();
  let r = residuals(p);
  let ssr = r.reduce((s, x) => s + x * x, 0);
  let lambda = 1e-3;
  const np = p.length;
  for (let it = 0; it < iterations && Number.isFinite(ssr); it++) {
    const J: number[][] = r.map(() => new Array<number>(np).fill(0));
    for (let k = 0; k < np; k++) {
      const h = 1e-7 * Math.max(1, Math.abs(p[k]!));
      const q = p.slice();
      q[k]! += h;
      const rq = residuals(q);
      for (let i = 0; i < r.length; i++) J[i]![k] = (rq[i]! - r[i]!) / h;
    }
    const JtJ = Array.from({ length: np }, (_, a) =>
      Array.from({ length: np }, (_, b) => J.reduce((s, row) => s + row[a]! * row[b]!, 0)),
    );
    const Jtr = Array.from({ length: np }, (_, a) => J.reduce((s, row, i) => s + row[a]! * r[i]!, 0));
    let improved = false;
    for (let tries = 0; tries < 20 && !improved; tries++) {
      const A = JtJ.map((row, a) => row.map((x, b) => (a === b ? x * (1 + lambda) + 1e-12 : x)));
      const dp = solve(
        A,
        Jtr.map((x) => -x),
      );
      if (!dp) {
        lambda *= 10;
        continue;
      }
      const q = p.map((x, k) => x + dp[k]!);
      const rq = residuals(q);
      const s = rq.reduce((acc, x) => acc + x * x, 0);
      if (Number.isFinite(s) && s < ssr) {
        const rel = (ssr - s) / Math.max(ssr, 1e-300);
        p = q;
        r = rq;
        ssr = s;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
        if (rel < 1e-12) return { p, ssr };
      } else lambda *= 10;
    }
    if (!improved) break;
  }
  return { p, ssr };
}

/**
 * Points with U₄ below this are left out of the collapse fit: there q² ~ χ²₁/N, U₄ tends to
 * 1 − 105/27 for every size and its sample value is dominated by the heavy tail of m⁴.
 */
const COLLAPSE_FLOOR = -1;

/**
 * One collapse fit of U₄ curves: parameters [ε_c, ρ, a₀, a₁, a₂, b₁, b₂], U₄(N, ε) ≈
 * F((ε − ε_c)·(N/N₀)^ρ) with N₀ the smallest size (so F's coefficients stay O(1)). The fit is
 * accepted when it converges with 0.1 < ρ < 2 and F has no pole on the scaled data range. Points
 * with U₄ < −1 are left out (see COLLAPSE_FLOOR).
 */
function collapseOnce(o: Resolved, curves: Float64Array[], start: number[]): { p: number[]; rms: number; ok: boolean } {
  const { sizes, lrs } = o;
  const n0 = sizes[0]!;
  const res = (p: number[]): number[] => {
    const out: number[] = [];
    sizes.forEach((n, k) => {
      const s = (n / n0) ** p[1]!;
      lrs.forEach((e, j) => {
        const y = curves[k]![j]!;
        if (y >= COLLAPSE_FLOOR) out.push(pade(p.slice(2), (e - p[0]!) * s) - y);
      });
    });
    return out;
  };
  const { p, ssr } = levenbergMarquardt(res, start);
  let ok = Number.isFinite(ssr) && p.every(Number.isFinite) && p[1]! > 0.1 && p[1]! < 2;
  if (ok) {
    // no pole of F between the smallest and largest scaled argument
    let lo = Infinity,
      hi = -Infinity;
    sizes.forEach((n) => {
      const s = (n / n0) ** p[1]!;
      lo = Math.min(lo, (lrs[0]! - p[0]!) * s);
      hi = Math.max(hi, (lrs[lrs.length - 1]! - p[0]!) * s);
    });
    for (let k = 0; k <= 200 && ok; k++) {
      const x = lo + ((hi - lo) * k) / 200;
      if (!(1 + p[5]! * x + p[6]! * x * x > 0)) ok = false;
    }
  }
  return { p, rms: Math.sqrt(ssr / Math.max(1, res(p).length)), ok };
}

function collapseFit(
  o: Resolved,
  curves: Float64Array[],
  repCurves: Float64Array[][],
  guess: number,
): BinderCollapseFit {
  // Start: ε_c from the crossing estimate, ρ = 1/3, F a straight line through the mean slope.
  const { lrs } = o;
  const first = curves[0]!;
  const slope = (first[lrs.length - 1]! - first[0]!) / (lrs[lrs.length - 1]! - lrs[0]!);
  let mid = 0;
  for (const c of curves) for (const x of c) mid += x;
  mid /= curves.length * lrs.length;
  const start = [guess, 1 / 3, mid, slope, 0, 0, 0];
  const full = collapseOnce(o, curves, start);
  if (!full.ok)
    return { ok: false, lrCritical: NaN, error: NaN, rho: NaN, rhoError: NaN, pade: full.p.slice(2), rms: full.rms };
  const reps = repCurves.map((c) => collapseOnce(o, c, full.p)).filter((f) => f.ok);
  return {
    ok: true,
    lrCritical: full.p[0]!,
    error: jackknifeError(reps.map((f) => f.p[0]!)),
    rho: full.p[1]!,
    rhoError: jackknifeError(reps.map((f) => f.p[1]!)),
    pade: full.p.slice(2),
    rms: full.rms,
  };
}

/**
 * The Padé[2,2] scaling-collapse fit alone, on U₄ curves measured elsewhere: U₄(N, ε) ≈
 * F((ε − ε_c)(N/N₀)^ρ) with N₀ = sizes[0]. No error bar (use {@link estimateCriticalStep}
 * for the jackknife); `guess` starts ε_c.
 *
 * @throws {RangeError} when curves and sizes/lr disagree in length.
 */
export function fitBinderCollapse(
  binder: Array<{ n: number; lr: number[]; u4: ArrayLike<number> }>,
  guess: number,
): BinderCollapseFit {
  if (!Array.isArray(binder) || binder.length < 2)
    throw new RangeError(expected('at least 2 U₄ curves', 'binder', binder));
  const lrs = binder[0]!.lr;
  binder.forEach((b, k) => {
    if (b.u4.length !== lrs.length || b.lr.length !== lrs.length)
      throw new RangeError(expected(`${lrs.length} points`, `binder[${k}].u4`, b.u4.length));
  });
  checkNumber(guess, 'guess');
  const o = { sizes: binder.map((b) => b.n), lrs } as Resolved;
  return collapseFit(
    o,
    binder.map((b) => Float64Array.from(b.u4)),
    [],
    guess,
  );
}
