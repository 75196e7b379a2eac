/**
 * Seeded synthetic representation sets for calibrating and testing OMD (the fingerprints of Halperin 2026 and of the Bogomolny–Bohigas–Schmit template, and the
 * regime reading of Halperin 2026).
 * Each template returns representation Mats (row i = probe i, float64) and the metric under
 * which it reads as intended. Same seed → bit-identical output (specdyn's {@link Rng}).
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import { Rng } from '../random.js';
import { checkInteger, checkNumber, checkOneOf, checkOptions } from '../validate.js';
import type { ObservableMetric } from './types.js';
import { optionKeys } from '../rmt/options.js';

/** Option keys of each template. */
const KEYS = {
  sphereTemplate: optionKeys<SphereOptions>({ n: true, dim: true, distance: true, seed: true }),
  clusterTemplate: optionKeys<ClusterOptions>({ n: true, k: true, dim: true, spread: true, seed: true }),
  fourierTemplate: optionKeys<FourierOptions>({ p: true, frequencies: true, noise: true, metric: true, seed: true }),
  noiseTemplate: optionKeys<NoiseOptions>({ n: true, dim: true, sigma: true, seed: true }),
  manifoldNoiseTemplate: optionKeys<ManifoldNoiseOptions>({
    n: true,
    sphereDim: true,
    radius: true,
    ambientDim: true,
    sigma: true,
    metric: true,
    seed: true,
  }),
  ringCollapseTrajectory: optionKeys<RingCollapseOptions>({
    n: true,
    steps: true,
    recordEvery: true,
    temperature: true,
    sigma: true,
    dt: true,
    seed: true,
  }),
  diffusiveTrajectory: optionKeys<DiffusiveOptions>({
    n: true,
    dim: true,
    snapshots: true,
    jitter: true,
    rotation: true,
    seed: true,
  }),
  reorganisationTrajectory: optionKeys<ReorganisationOptions>({
    n: true,
    ambientDim: true,
    snapshots: true,
    switchAt: true,
    stepEvery: true,
    sigmaBefore: true,
    sigmaAfter: true,
    refresh: true,
    seed: true,
  }),
};

/** A static template: representations plus the metric to read them with. */
export interface Template {
  reps: Mat<Float64Array>;
  metric: ObservableMetric;
}

/** One snapshot of a synthetic trajectory. */
export interface TemplateSnapshot {
  step: number;
  reps: Mat<Float64Array>;
}

/** A synthetic trajectory: ordered snapshots of a fixed, ordered probe set. */
export interface TemplateTrajectory {
  snapshots: TemplateSnapshot[];
  metric: ObservableMetric;
}

/** The generator of a template: stream 0 of `seed` (default 1; an integer ≥ −2³¹). */
function templateRng(seed: unknown): Rng {
  return new Rng(checkInteger(seed ?? 1, 'seed', { min: -2147483648 }), 0);
}

function unitRows(rng: Rng, n: number, dim: number, out: Float64Array, stride: number, offset = 0, radius = 1): void {
  for (let i = 0; i < n; i++) {
    const v = rng.unitVector(dim);
    for (let j = 0; j < dim; j++) out[i * stride + offset + j] = radius * v[j]!;
  }
}

/** Options of {@link sphereTemplate}. */
export interface SphereOptions {
  /** Number of points N; default 1000. */
  n?: number;
  /** Sphere dimension d: points on S^d ⊂ R^(d+1); 1, 2 or 3; default 2. */
  dim?: 1 | 2 | 3;
  /** `geodesic` (read with `angular`, radians) or `chord` (read with `euclidean`); default geodesic. */
  distance?: 'geodesic' | 'chord';
  seed?: number;
}

/**
 * N points uniform on the unit sphere S^d (d = 1, 2, 3) as an N x (d+1) Mat. BBS template:
 * Perron ≈ N⟨d⟩, then the l = 1 multiplet of size d + 1 at N·μ₁ (Funk–Hecke on the template of Bogomolny, Bohigas and Schmit 2003).
 */
export function sphereTemplate(options: SphereOptions = {}): Template {
  checkOptions('sphereTemplate', options, KEYS.sphereTemplate);
  options ??= {};
  const n = checkInteger(options.n ?? 1000, 'n', { min: 4 });
  const dim = checkOneOf(options.dim ?? 2, 'dim', [1, 2, 3]);
  const distance = checkOneOf(options.distance ?? 'geodesic', 'distance', ['geodesic', 'chord']);
  const rng = templateRng(options.seed);
  const data = new Float64Array(n * (dim + 1));
  unitRows(rng, n, dim + 1, data, dim + 1);
  return { reps: { data, rows: n, cols: dim + 1 }, metric: distance === 'geodesic' ? 'angular' : 'euclidean' };
}

/** Options of {@link clusterTemplate}. */
export interface ClusterOptions {
  /** Number of points N (assigned round-robin to clusters); default 1000. */
  n?: number;
  /** Number of clusters K; default 10. */
  k?: number;
  /** Ambient dimension; default 64. */
  dim?: number;
  /** Within-cluster standard deviation per coordinate (centres are N(0, I)); default 0.5. */
  spread?: number;
  seed?: number;
}

/**
 * K Gaussian clusters in R^dim (Euclidean reading): Perron + K − 1 separated, non-degenerate
 * outliers, then a bulk (Bogomolny, Bohigas and Schmit 2003; Halperin 2026). Returns labels too (label[i] = i mod K).
 */
export function clusterTemplate(options: ClusterOptions = {}): Template & { labels: Int32Array } {
  checkOptions('clusterTemplate', options, KEYS.clusterTemplate);
  options ??= {};
  const n = checkInteger(options.n ?? 1000, 'n', { min: 4 });
  const k = checkInteger(options.k ?? 10, 'k', { min: 2 });
  const dim = checkInteger(options.dim ?? 64, 'dim', { min: 1 });
  const spread = checkNumber(options.spread ?? 0.5, 'spread', { min: 0 });
  const rng = templateRng(options.seed);
  const centres = rng.fillNormal(new Float64Array(k * dim));
  const data = new Float64Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    labels[i] = c;
    for (let j = 0; j < dim; j++) data[i * dim + j] = centres[c * dim + j]! + spread * rng.normal();
  }
  return { reps: { data, rows: n, cols: dim }, metric: 'euclidean', labels };
}

/** Options of {@link fourierTemplate}. */
export interface FourierOptions {
  /** Number of tokens p (probe i = token i); default 97. */
  p?: number;
  /** Key frequencies k_f (integers in [1, p/2)); default [3, 17, 40]. */
  frequencies?: number[];
  /** Standard deviation of Gaussian noise added to every coordinate; default 0 (exactly circulant M). */
  noise?: number;
  /** Default `euclidean`. */
  metric?: ObservableMetric;
  seed?: number;
}

/**
 * The circulant Fourier embedding of p tokens (grokking-style modular arithmetic):
 * h_j = [cos(2π k_f j/p), sin(2π k_f j/p)]_f, a p x 2F Mat. Without noise M is exactly circulant,
 * its eigenvectors are the Fourier modes and the spectrum is a ladder of doublets (λ_n = λ_{p−n}).
 */
export function fourierTemplate(options: FourierOptions = {}): Template {
  checkOptions('fourierTemplate', options, KEYS.fourierTemplate);
  options ??= {};
  const p = checkInteger(options.p ?? 97, 'p', { min: 4 });
  const freqs = options.frequencies ?? [3, 17, 40];
  if (!Array.isArray(freqs) || freqs.length === 0)
    throw new TypeError(expected('a non-empty array of integers', 'frequencies', freqs));
  for (const [i, f] of freqs.entries()) {
    checkInteger(f, `frequencies[${i}]`, { min: 1, max: Math.ceil(p / 2) - 1 });
  }
  const noise = checkNumber(options.noise ?? 0, 'noise', { min: 0 });
  const rng = templateRng(options.seed);
  const cols = 2 * freqs.length;
  const data = new Float64Array(p * cols);
  for (let j = 0; j < p; j++) {
    freqs.forEach((f, q) => {
      const a = (2 * Math.PI * f * j) / p;
      data[j * cols + 2 * q] = Math.cos(a) + (noise > 0 ? noise * rng.normal() : 0);
      data[j * cols + 2 * q + 1] = Math.sin(a) + (noise > 0 ? noise * rng.normal() : 0);
    });
  }
  return { reps: { data, rows: p, cols }, metric: options.metric ?? 'euclidean' };
}

/** Options of {@link noiseTemplate}. */
export interface NoiseOptions {
  /** Number of points N; default 1000. */
  n?: number;
  /** Ambient dimension D; default 500. */
  dim?: number;
  /** Per-coordinate standard deviation σ; default 1. */
  sigma?: number;
  seed?: number;
}

/**
 * Pure high-dimensional noise ξ_i ~ N(0, σ² I_D) (Euclidean reading): the "un-relaxed,
 * pre-learning" template. Non-Perron spectrum: the reflected, shifted Marchenko–Pastur bulk of the ambient fit (see AmbientFit),
 * support [−c/2 − σ²(√N+√D)²/c, −c/2 − σ²(√N−√D)²/c], c = σ√(2D).
 */
export function noiseTemplate(options: NoiseOptions = {}): Template {
  checkOptions('noiseTemplate', options, KEYS.noiseTemplate);
  options ??= {};
  const n = checkInteger(options.n ?? 1000, 'n', { min: 4 });
  const dim = checkInteger(options.dim ?? 500, 'dim', { min: 1 });
  const sigma = checkNumber(options.sigma ?? 1, 'sigma', { min: 0, minExclusive: true });
  const rng = templateRng(options.seed);
  return {
    reps: { data: rng.fillNormal(new Float64Array(n * dim), 0, sigma), rows: n, cols: dim },
    metric: 'euclidean',
  };
}

/** Options of {@link manifoldNoiseTemplate}. */
export interface ManifoldNoiseOptions {
  /** Number of points N; default 1000. */
  n?: number;
  /** Latent sphere S^d, d in 1..3; default 2. */
  sphereDim?: 1 | 2 | 3;
  /** Sphere radius (latent scale); default 1. */
  radius?: number;
  /** Ambient noise dimension D; default 500. */
  ambientDim?: number;
  /** Ambient noise standard deviation σ per coordinate; default 0.1. */
  sigma?: number;
  /** Default `euclidean` (the expansion behind AmbientFit). */
  metric?: ObservableMetric;
  seed?: number;
}

/**
 * Latent manifold plus ambient noise, y_i = (z_i, ξ_i) with z_i uniform on the radius-R sphere S^d
 * and ξ_i ~ N(0, σ² I_D): an N x (d + 1 + D) Mat. With c = σ√(2D) the latent multiplet sits at
 * ≈ −(N/c)·R²/(d+1) and shrinks ∝ 1/c as noise grows (see AmbientFit).
 */
export function manifoldNoiseTemplate(options: ManifoldNoiseOptions = {}): Template {
  checkOptions('manifoldNoiseTemplate', options, KEYS.manifoldNoiseTemplate);
  options ??= {};
  const n = checkInteger(options.n ?? 1000, 'n', { min: 4 });
  const d = checkOneOf(options.sphereDim ?? 2, 'sphereDim', [1, 2, 3]);
  const radius = checkNumber(options.radius ?? 1, 'radius', { min: 0, minExclusive: true });
  const amb = checkInteger(options.ambientDim ?? 500, 'ambientDim', { min: 0 });
  const sigma = checkNumber(options.sigma ?? 0.1, 'sigma', { min: 0 });
  const rng = templateRng(options.seed);
  const cols = d + 1 + amb;
  const data = new Float64Array(n * cols);
  unitRows(rng, n, d + 1, data, cols, 0, radius);
  for (let i = 0; i < n; i++) for (let j = d + 1; j < cols; j++) data[i * cols + j] = sigma * rng.normal();
  return { reps: { data, rows: n, cols }, metric: options.metric ?? 'euclidean' };
}

/** Options of {@link ringCollapseTrajectory} (defaults follow the F2 model code: T = 0.4, σ = 1, dt = 0.005). */
export interface RingCollapseOptions {
  /** Number of particles N; default 300. */
  n?: number;
  /** Euler–Maruyama steps; default 300. */
  steps?: number;
  /** Record a snapshot every this many steps (step 0 included); default 3. */
  recordEvery?: number;
  /** Temperature T (diffusion D = T/γ, γ = 1); default 0.4. */
  temperature?: number;
  /** Coupling standard deviation σ (φ_ij ~ N(0, σ²), quenched, symmetric); default 1. */
  sigma?: number;
  /** Time step; default 0.005. */
  dt?: number;
  seed?: number;
}

/**
 * Frustrated Brownian particles on S² (Halperin 2026, "Frustrated Dynamics of Distance Matrices", arXiv 2605.05376, and the
 * particle model of its companion "Frustrated Fields", arXiv 2605.05366): overdamped Langevin dynamics
 * dx_i = Σ_j φ_ij t̂_ij dt + √(2T) P_T dW_i with quenched symmetric φ_ij ~ N(0, σ²) (φ > 0
 * attracts; t̂_ij is the unit tangent at x_i towards x_j), Euler–Maruyama with projection back to
 * the sphere. From a uniform start the cloud collapses onto a great-circle band: the l = 1
 * triplet of the geodesic distance matrix becomes an S¹ doublet and its third member drops into
 * the bulk. Read with `angular`. The density along the ring is not uniform at these parameters,
 * so the doublet is split (ratio ≈ 2–3 at N = 300).
 */
export function ringCollapseTrajectory(options: RingCollapseOptions = {}): TemplateTrajectory {
  checkOptions('ringCollapseTrajectory', options, KEYS.ringCollapseTrajectory);
  options ??= {};
  const n = checkInteger(options.n ?? 300, 'n', { min: 4 });
  const steps = checkInteger(options.steps ?? 300, 'steps', { min: 1 });
  const every = checkInteger(options.recordEvery ?? 3, 'recordEvery', { min: 1 });
  const T = checkNumber(options.temperature ?? 0.4, 'temperature', { min: 0 });
  const sigma = checkNumber(options.sigma ?? 1, 'sigma', { min: 0 });
  const dt = checkNumber(options.dt ?? 0.005, 'dt', { min: 0, minExclusive: true });
  const rng = templateRng(options.seed);
  const x = new Float64Array(n * 3);
  unitRows(rng, n, 3, x, 3);
  const phi = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = sigma * rng.normal();
      phi[i * n + j] = v;
      phi[j * n + i] = v;
    }
  }
  const snapshots: TemplateSnapshot[] = [];
  const force = new Float64Array(n * 3);
  const noiseAmp = Math.sqrt(2 * T * dt);
  for (let s = 0; s <= steps; s++) {
    if (s % every === 0) snapshots.push({ step: s, reps: { data: x.slice(), rows: n, cols: 3 } });
    if (s === steps) break;
    force.fill(0);
    for (let i = 0; i < n; i++) {
      const xi0 = x[3 * i]!,
        xi1 = x[3 * i + 1]!,
        xi2 = x[3 * i + 2]!;
      let f0 = 0,
        f1 = 0,
        f2 = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const xj0 = x[3 * j]!,
          xj1 = x[3 * j + 1]!,
          xj2 = x[3 * j + 2]!;
        const dot = xi0 * xj0 + xi1 * xj1 + xi2 * xj2;
        const t0 = xj0 - dot * xi0,
          t1 = xj1 - dot * xi1,
          t2 = xj2 - dot * xi2;
        const nn = Math.sqrt(t0 * t0 + t1 * t1 + t2 * t2);
        if (nn < 1e-10) continue; // coincident or antipodal: no defined direction
        const w = phi[i * n + j]! / nn;
        f0 += w * t0;
        f1 += w * t1;
        f2 += w * t2;
      }
      force[3 * i] = f0;
      force[3 * i + 1] = f1;
      force[3 * i + 2] = f2;
    }
    for (let i = 0; i < n; i++) {
      const xi0 = x[3 * i]!,
        xi1 = x[3 * i + 1]!,
        xi2 = x[3 * i + 2]!;
      let w0 = rng.normal(),
        w1 = rng.normal(),
        w2 = rng.normal();
      const p = w0 * xi0 + w1 * xi1 + w2 * xi2;
      w0 -= p * xi0;
      w1 -= p * xi1;
      w2 -= p * xi2;
      const y0 = xi0 + force[3 * i]! * dt + noiseAmp * w0;
      const y1 = xi1 + force[3 * i + 1]! * dt + noiseAmp * w1;
      const y2 = xi2 + force[3 * i + 2]! * dt + noiseAmp * w2;
      const r = Math.sqrt(y0 * y0 + y1 * y1 + y2 * y2);
      x[3 * i] = y0 / r;
      x[3 * i + 1] = y1 / r;
      x[3 * i + 2] = y2 / r;
    }
  }
  return { snapshots, metric: 'angular' };
}

/** Options of {@link diffusiveTrajectory}. */
export interface DiffusiveOptions {
  /** Number of probes N; default 200. */
  n?: number;
  /** Representation dimension D; default 400. */
  dim?: number;
  /** Number of snapshots; default 40 (steps 0, 1, …). */
  snapshots?: number;
  /** Per-coordinate Brownian increment between snapshots; default 0.1 (start: N(0, 1)). */
  jitter?: number;
  /** Angle (radians) of the random Givens rotations applied to D/2 coordinate pairs per snapshot; default 0.05. */
  rotation?: number;
  seed?: number;
}

/**
 * A diffusive relaxation without structure: N probes in R^D start i.i.d. Gaussian and each
 * snapshot applies a slow random rotation (Givens rotations on random coordinate pairs) plus
 * independent Brownian jitter. No band ever forms; eigenvectors decorrelate; the MDS cloud
 * drifts. Read with `euclidean`.
 */
export function diffusiveTrajectory(options: DiffusiveOptions = {}): TemplateTrajectory {
  checkOptions('diffusiveTrajectory', options, KEYS.diffusiveTrajectory);
  options ??= {};
  const n = checkInteger(options.n ?? 200, 'n', { min: 4 });
  const dim = checkInteger(options.dim ?? 400, 'dim', { min: 2 });
  const count = checkInteger(options.snapshots ?? 40, 'snapshots', { min: 1 });
  const jitter = checkNumber(options.jitter ?? 0.1, 'jitter', { min: 0 });
  const angle = checkNumber(options.rotation ?? 0.05, 'rotation', { min: 0 });
  const rng = templateRng(options.seed);
  const x = rng.fillNormal(new Float64Array(n * dim));
  const perm = new Int32Array(dim);
  const snapshots: TemplateSnapshot[] = [];
  for (let s = 0; s < count; s++) {
    if (s > 0) {
      for (let j = 0; j < dim; j++) perm[j] = j;
      rng.shuffle(perm);
      for (let q = 0; q + 1 < dim; q += 2) {
        const a = perm[q]!,
          b = perm[q + 1]!;
        const th = angle * (2 * rng.uniform() - 1);
        const c = Math.cos(th),
          sn = Math.sin(th);
        for (let i = 0; i < n; i++) {
          const u = x[i * dim + a]!,
            v = x[i * dim + b]!;
          x[i * dim + a] = c * u - sn * v;
          x[i * dim + b] = sn * u + c * v;
        }
      }
      for (let i = 0; i < x.length; i++) x[i]! += jitter * rng.normal();
    }
    snapshots.push({ step: s, reps: { data: x.slice(), rows: n, cols: dim } });
  }
  return { snapshots, metric: 'euclidean' };
}

/** Options of {@link reorganisationTrajectory}. */
export interface ReorganisationOptions {
  /** Number of probes N; default 200. */
  n?: number;
  /** Ambient dimension D; default 200. */
  ambientDim?: number;
  /** Number of snapshots; default 30 (steps 0, 10, 20, …). */
  snapshots?: number;
  /** Index of the first snapshot after the reorganisation; default 15. */
  switchAt?: number;
  /** Step spacing between snapshots; default 10. */
  stepEvery?: number;
  /** Ambient noise σ before the switch (no latent structure); default 0.1. */
  sigmaBefore?: number;
  /** Ambient noise σ after the switch (latent unit S² plus this noise); default 0.05. */
  sigmaAfter?: number;
  /** Fraction of the noise refreshed per snapshot (Ornstein–Uhlenbeck jitter); default 0.2. */
  refresh?: number;
  seed?: number;
}

/**
 * An abrupt, externally driven reorganisation at a known snapshot: before `switchAt` the probes
 * are ambient noise that keeps being refreshed (no band); from `switchAt` on they sit on a unit S²
 * (slowly jittered) plus weaker noise, so an S² triplet forms and holds. Read with `euclidean`.
 * Returns the step of the switch as `switchStep`.
 */
export function reorganisationTrajectory(
  options: ReorganisationOptions = {},
): TemplateTrajectory & { switchStep: number } {
  checkOptions('reorganisationTrajectory', options, KEYS.reorganisationTrajectory);
  options ??= {};
  const n = checkInteger(options.n ?? 200, 'n', { min: 4 });
  const amb = checkInteger(options.ambientDim ?? 200, 'ambientDim', { min: 1 });
  const count = checkInteger(options.snapshots ?? 30, 'snapshots', { min: 2 });
  const switchAt = checkInteger(options.switchAt ?? 15, 'switchAt', { min: 1 });
  if (switchAt >= count) throw new RangeError(expected(`an integer < snapshots (${count})`, 'switchAt', switchAt));
  const every = checkInteger(options.stepEvery ?? 10, 'stepEvery', { min: 1 });
  const s0 = checkNumber(options.sigmaBefore ?? 0.1, 'sigmaBefore', { min: 0, minExclusive: true });
  const s1 = checkNumber(options.sigmaAfter ?? 0.05, 'sigmaAfter', { min: 0 });
  const refresh = checkNumber(options.refresh ?? 0.2, 'refresh', { min: 0, max: 1, minExclusive: true });
  const rng = templateRng(options.seed);
  const cols = 3 + amb;
  const xi = rng.fillNormal(new Float64Array(n * amb));
  const z = new Float64Array(n * 3);
  unitRows(rng, n, 3, z, 3);
  const keep = Math.sqrt(1 - refresh * refresh);
  const snapshots: TemplateSnapshot[] = [];
  for (let s = 0; s < count; s++) {
    if (s > 0) {
      for (let i = 0; i < xi.length; i++) xi[i] = keep * xi[i]! + refresh * rng.normal();
      // Small tangent jitter of the latent points (renormalised to the sphere).
      for (let i = 0; i < n; i++) {
        let r = 0;
        for (let j = 0; j < 3; j++) {
          z[3 * i + j]! += 0.02 * rng.normal();
          r += z[3 * i + j]! ** 2;
        }
        r = Math.sqrt(r);
        for (let j = 0; j < 3; j++) z[3 * i + j]! /= r;
      }
    }
    const after = s >= switchAt;
    const sig = after ? s1 : s0;
    const data = new Float64Array(n * cols);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) data[i * cols + j] = after ? z[3 * i + j]! : 0;
      for (let j = 0; j < amb; j++) data[i * cols + 3 + j] = sig * xi[i * amb + j]!;
    }
    snapshots.push({ step: s * every, reps: { data, rows: n, cols } });
  }
  return { snapshots, metric: 'euclidean', switchStep: switchAt * every };
}
