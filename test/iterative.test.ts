// Iterative solvers (eigsh, svds, spectralDensity) against the dense LAPACK route, on spectra
// built in code: well separated, clustered, degenerate, and an exact symmetry multiplet.
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  LapackError,
  NoConvergenceError,
  distanceMatrixSync,
  distanceOperator,
  eigh,
  eighSync,
  eigsh,
  eigshSync,
  eigvalshSync,
  gramOperator,
  gramSync,
  getThreads,
  setThreadLimit,
  setThreads,
  spectralDensity,
  spectralDensitySync,
  svdSync,
  svdsSync,
  type Mat,
  type Which,
} from '../src/index.js';
import { native } from '../src/native.js';
import { Rng } from '../src/random.js';
import { dot, matVec, randSym, randn } from './helpers.js';

/** Q diag(values) Qᵀ with a random orthogonal Q (eigenvectors of a random symmetric matrix). */
function withSpectrum(values: number[], seed = 3): Mat<Float64Array> {
  const n = values.length;
  const q = eighSync(randSym(n, seed)).vectors.data; // row j = q_j
  const data = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const l = values[j]!;
    for (let r = 0; r < n; r++) {
      const a = l * q[j * n + r]!;
      for (let c = 0; c < n; c++) data[r * n + c]! += a * q[j * n + c]!;
    }
  }
  for (let r = 0; r < n; r++) for (let c = 0; c < r; c++) data[r * n + c] = data[c * n + r]!;
  return { data, rows: n, cols: n };
}

function spectralNorm(a: Mat): number {
  const v = eigvalshSync(a);
  return Math.max(Math.abs(v[0]!), Math.abs(v[v.length - 1]!));
}

/** The k wanted exact eigenvalues in eigsh's order. */
function wanted(all: Float64Array, k: number, which: Which): number[] {
  const s = Array.from(all);
  if (which === 'largest') s.sort((a, b) => b - a);
  else if (which === 'smallest') s.sort((a, b) => a - b);
  else s.sort((a, b) => Math.abs(b) - Math.abs(a));
  return s.slice(0, k);
}

/** Checks eigsh's pairs: values vs dense (1e-8 relative), residuals and orthonormality. */
function checkPairs(
  a: Mat,
  res: { values: Float64Array; vectors?: Mat<Float64Array> },
  want: number[],
  norm: number,
): void {
  const n = a.rows;
  const k = want.length;
  for (let j = 0; j < k; j++) {
    expect(Math.abs(res.values[j]! - want[j]!)).toBeLessThanOrEqual(1e-8 * Math.abs(want[j]!));
    const x = res.vectors!.data.subarray(j * n, (j + 1) * n);
    const ax = matVec(a, x);
    let r = 0;
    for (let i = 0; i < n; i++) r += (ax[i]! - res.values[j]! * x[i]!) ** 2;
    expect(Math.sqrt(r)).toBeLessThanOrEqual(1e-8 * norm);
    for (let l = 0; l <= j; l++) {
      const y = res.vectors!.data.subarray(l * n, (l + 1) * n);
      expect(Math.abs(dot(x, y) - (l === j ? 1 : 0))).toBeLessThan(1e-8);
    }
  }
}

/** Points on S² closed under the 24 rotations of the cube: every l = 1 eigenvalue is an exact triplet. */
function octahedralPoints(orbits: number, seed: number): Mat<Float64Array> {
  const perms = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [1, 0, 2],
    [0, 2, 1],
    [2, 1, 0],
  ];
  const parity = [1, 1, 1, -1, -1, -1];
  const rots: Array<[number[], number[]]> = [];
  for (let p = 0; p < 6; p++)
    for (let s = 0; s < 8; s++) {
      const signs = [s & 1 ? -1 : 1, s & 2 ? -1 : 1, s & 4 ? -1 : 1];
      if (signs[0]! * signs[1]! * signs[2]! * parity[p]! === 1) rots.push([perms[p]!, signs]);
    }
  const rng = new Rng(seed);
  const data = new Float64Array(orbits * 24 * 3);
  let r = 0;
  for (let o = 0; o < orbits; o++) {
    const u = rng.unitVector(3);
    for (const [perm, signs] of rots) {
      for (let c = 0; c < 3; c++) data[r * 3 + c] = signs[c]! * u[perm[c]!]!;
      r++;
    }
  }
  return { data, rows: r, cols: 3 };
}

describe('eigsh vs eigh', () => {
  const n = 300;
  const spectra: Record<string, number[]> = {
    separated: Array.from({ length: n }, (_, i) => -20 + (40 * i) / (n - 1) + (i > n - 6 ? 10 * (i - n + 6) : 0)),
    clustered: Array.from({ length: n }, (_, i) =>
      i >= n - 10 ? 10 + 1e-4 * (i - n + 10) : i < 10 ? -10.5 - 1e-4 * i : Math.sin(i),
    ),
    degenerate: Array.from({ length: n }, (_, i) => (i >= n - 3 ? 5 : i >= n - 5 ? 4 : i < 4 ? -6 : -1 + (2 * i) / n)),
  };
  for (const [name, values] of Object.entries(spectra)) {
    const a = withSpectrum(values);
    const norm = spectralNorm(a);
    const exact = eigvalshSync(a);
    for (const which of ['largest', 'smallest', 'magnitude'] as const) {
      it(`${name} spectrum, which = ${which}`, async () => {
        const res = await eigsh(a, { k: 8, which });
        checkPairs(a, res, wanted(exact, 8, which), norm);
        for (let j = 0; j < 8; j++) expect(res.residuals[j]).toBeLessThanOrEqual(1e-8 * norm);
      });
    }
  }

  it('finds the exact l = 1 triplet of the geodesic distance matrix on S²', () => {
    const x = octahedralPoints(25, 7); // 600 points
    const d = distanceMatrixSync(x, { metric: 'angular' });
    const exact = eigvalshSync(d);
    const want = wanted(exact, 4, 'magnitude');
    // The construction really gives an exact multiplet: Perron value, then a triplet.
    expect(Math.abs(want[1]! - want[3]!)).toBeLessThan(1e-10 * Math.abs(want[1]!));
    expect(Math.abs(want[0]! - want[1]!)).toBeGreaterThan(1);
    const res = eigshSync(d, { k: 4, which: 'magnitude' });
    checkPairs(d, res, want, spectralNorm(d));
  });

  it('returns eigenvalues only when vectors: false, reproducibly for a seed', () => {
    const a = randSym(200, 5);
    const r1 = eigshSync(a, { k: 3, vectors: false, seed: 9 });
    const r2 = eigshSync(a, { k: 3, vectors: false, seed: 9 });
    expect(r1.vectors).toBeUndefined();
    expect(Array.from(r1.values)).toEqual(Array.from(r2.values));
  });

  it('float32 products: eigenvalues to ~1e-6 relative of ‖A‖', () => {
    const a = withSpectrum(
      Array.from({ length: 400 }, (_, i) => (i >= 395 ? 20 + i - 395 : Math.sin(i))),
      11,
    );
    const exact = wanted(eigvalshSync(a), 5, 'largest');
    const res = eigshSync(a, { k: 5, precision: 'float32' });
    for (let j = 0; j < 5; j++) expect(Math.abs(res.values[j]! - exact[j]!)).toBeLessThan(1e-5 * 24);
    const a32 = { data: Float32Array.from(a.data), rows: a.rows, cols: a.cols };
    const r64 = eigshSync(a32, { k: 5 }); // float32 storage, float64 arithmetic
    const exact32 = wanted(eigvalshSync(a32), 5, 'largest');
    for (let j = 0; j < 5; j++) expect(Math.abs(r64.values[j]! - exact32[j]!)).toBeLessThan(1e-8 * exact32[j]!);
  });
});

describe('implicit operators', () => {
  it('W Wᵀ and Wᵀ W agree with the dense Gram matrices', async () => {
    const w = randn(150, 400, 21);
    const outer = gramSync(w);
    const wt: Mat<Float64Array> = { data: new Float64Array(400 * 150), rows: 400, cols: 150 };
    for (let i = 0; i < 150; i++) for (let j = 0; j < 400; j++) wt.data[j * 150 + i] = w.data[i * 400 + j]!;
    const inner = gramSync(wt);
    for (const [op, dense] of [
      [gramOperator(w), outer],
      [gramOperator(w, 'inner'), inner],
    ] as const) {
      const exact = eigvalshSync(dense);
      const res = await eigsh(op, { k: 6 });
      expect(res.vectors!.cols).toBe(dense.rows);
      checkPairs(dense, res, wanted(exact, 6, 'largest'), spectralNorm(dense));
    }
  });

  it('distance operators agree with the dense distance matrix (sqeuclidean, cosine, correlation)', () => {
    const x = randn(300, 20, 4);
    for (let i = 0; i < x.data.length; i++) x.data[i]! += 3; // off-centre: the Gram form must cope
    for (const metric of ['sqeuclidean', 'cosine', 'correlation'] as const) {
      const d = distanceMatrixSync(x, { metric });
      const exact = eigvalshSync(d);
      const res = eigshSync(distanceOperator(x, { metric }), { k: 5, which: 'magnitude' });
      checkPairs(d, res, wanted(exact, 5, 'magnitude'), spectralNorm(d));
    }
  });

  it('svds gives the top singular triplets without forming W Wᵀ', () => {
    for (const [rows, cols] of [
      [120, 300],
      [300, 120],
    ] as const) {
      const w = randn(rows, cols, 8);
      const exact = svdSync(w, { k: 5 });
      const res = svdsSync(w, { k: 5 });
      for (let i = 0; i < 5; i++) {
        expect(Math.abs(res.s[i]! - exact.s[i]!)).toBeLessThan(1e-9 * exact.s[i]!);
        const u = res.u.data.subarray(i * rows, (i + 1) * rows);
        const v = res.v.data.subarray(i * cols, (i + 1) * cols);
        expect(Math.abs(Math.abs(dot(u, exact.u.data.subarray(i * rows, (i + 1) * rows))) - 1)).toBeLessThan(1e-8);
        const wv = matVec(w, v);
        let r = 0;
        for (let j = 0; j < rows; j++) r += (wv[j]! - res.s[i]! * u[j]!) ** 2;
        expect(Math.sqrt(r)).toBeLessThan(1e-8 * exact.s[0]!);
      }
    }
  });
});

describe('spectralDensity', () => {
  it('matches the exact histogram of a Wishart matrix within the reported error', async () => {
    const w = randn(800, 1600, 12);
    for (let i = 0; i < w.data.length; i++) w.data[i]! /= Math.sqrt(1600);
    const exact = eigvalshSync(gramSync(w));
    const progress: number[] = [];
    const res = await spectralDensity(gramOperator(w), {
      bins: 30,
      probes: 16,
      steps: 60,
      seed: 1,
      onProgress: (p) => progress.push(p.done),
    });
    const counts = new Float64Array(30);
    for (const l of exact) {
      const b = Math.min(29, Math.floor((l - res.edges[0]!) / (res.edges[1]! - res.edges[0]!)));
      if (b >= 0) counts[b]! += 1 / exact.length;
    }
    let l1 = 0;
    let mass = 0;
    for (let b = 0; b < 30; b++) {
      l1 += Math.abs(counts[b]! - res.mass[b]!);
      mass += res.mass[b]!;
    }
    expect(Math.abs(mass - 1)).toBeLessThan(1e-9);
    expect(res.edges[0]).toBeLessThan(exact[0]!);
    expect(res.edges[30]).toBeGreaterThan(exact[exact.length - 1]!);
    expect(l1).toBeLessThanOrEqual(res.l1Error);
    expect(l1).toBeLessThan(0.05);
    expect(res.matvecs).toBe(16 * 60);
    expect(progress[progress.length - 1]).toBe(60);
    // Dense input and an explicit grid give the same kind of answer.
    const grid = Array.from({ length: 11 }, (_, i) => i * 0.3);
    const dense = spectralDensitySync(gramSync(w), { grid, probes: 8, steps: 40 });
    expect(Array.from(dense.edges)).toEqual(grid);
    expect(dense.density[0]! * 0.3).toBeCloseTo(dense.mass[0]!, 12);
  });
});

describe('cancellation and progress', () => {
  it('an AbortSignal stops a long solve within a second and the process stays healthy', async () => {
    const a = randSym(3000, 2);
    const controller = new AbortController();
    const seen: number[] = [];
    // tol at its floor (2^-52) is never met: without the signal this runs until it stalls, far past the abort.
    const p = eigsh(a, {
      k: 20,
      tol: 2 ** -52,
      signal: controller.signal,
      onProgress: (q) => seen.push(q.done),
      progressInterval: 50,
    });
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    controller.abort(new Error('user stop'));
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).name).toBe('AbortError');
    expect(((err as AbortError).cause as Error).message).toBe('user stop');
    expect(elapsed).toBeLessThan(1000);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeGreaterThan(0);
    // Healthy afterwards: the next calls work and agree with LAPACK.
    const small = randSym(100, 3);
    const res = await eigsh(small, { k: 2 });
    const ex = await eigh(small, { range: [98, 99] });
    expect(res.values[0]).toBeCloseTo(ex.values[1]!, 10);
    // A signal aborted before the call rejects at once.
    const dead = AbortSignal.abort('late');
    await expect(spectralDensity(small, { signal: dead })).rejects.toMatchObject({ name: 'AbortError', cause: 'late' });
  });
});

describe('bad input', () => {
  const a = randSym(20, 1);
  it('raises exact error classes and messages', async () => {
    await expect(eigsh({ data: new Float64Array(6), rows: 2, cols: 3 })).rejects.toThrow(
      new RangeError('Expected a square matrix for a but received 2 x 3'),
    );
    expect(() => eigshSync(a, { k: 0 })).toThrow(
      new RangeError("Expected an integer in [1, 20] for eigsh option 'k' but received 0"),
    );
    expect(() => eigshSync(a, { k: 2.5 })).toThrow(RangeError);
    expect(() => eigshSync(a, { k: '2' as never })).toThrow(TypeError);
    expect(() => eigshSync(a, { which: 'top' as never })).toThrow(
      new RangeError("Expected 'largest', 'smallest' or 'magnitude' for eigsh option 'which' but received 'top'"),
    );
    expect(() => eigshSync(a, { which: 1 as never })).toThrow(TypeError);
    expect(() => eigshSync(a, { tol: -1 })).toThrow(RangeError);
    expect(() => eigshSync({ data: new Int32Array(4) as never, rows: 2, cols: 2 })).toThrow(TypeError);
    const bad = randSym(4, 1);
    bad.data[5] = NaN;
    expect(() => eigshSync(bad)).toThrow(/Expected finite values for a.data but received NaN at index 5/);
    const asym = randSym(4, 1);
    asym.data[1]! += 1;
    expect(() => eigshSync(asym)).toThrow(/Expected a symmetric matrix/);
    expect(() => eigshSync({ kind: 'hessian' } as never)).toThrow(
      new RangeError("Expected 'gram' or 'distance' for a.kind but received 'hessian'"),
    );
    expect(() => eigshSync(distanceOperator(randn(5, 2), { metric: 'euclidean' as never }))).toThrow(RangeError);
    expect(() =>
      eigshSync(distanceOperator({ data: new Float64Array(4), rows: 2, cols: 2 }, { metric: 'cosine' })),
    ).toThrow(new RangeError('Expected non-zero rows for a.x but received row 0'));
    expect(() => eigshSync(gramOperator(randn(3, 4), 'both' as never))).toThrow(RangeError);
    await expect(eigsh(a, { signal: 'stop' as never })).rejects.toThrow(TypeError);
    await expect(eigsh(a, { onProgress: 3 as never })).rejects.toThrow(TypeError);
    expect(() => spectralDensitySync(a, { probes: 1 })).toThrow(RangeError);
    expect(() => spectralDensitySync(a, { grid: [0, 1, 1] })).toThrow(
      new RangeError(
        "Expected an ascending array of at least 2 finite bin edges for spectralDensity option 'grid'[2] but received 1",
      ),
    );
    expect(() => spectralDensitySync(a, { grid: 'x' as never })).toThrow(TypeError);
    expect(() => svdsSync(randn(3, 4), { k: 4 })).toThrow(RangeError);
  });

  it('refuses a problem too large for memory before allocating', () => {
    expect(() => spectralDensitySync(gramOperator(randn(1000, 2)), { probes: 4096, steps: 100000 })).toThrow(
      /Expected a problem that fits in memory/,
    );
  });

  it('non-convergence is a NoConvergenceError (not a LapackError) carrying the pairs that converged', async () => {
    // tol at its floor (2^-52): no pair converges in 2 restarts; the error says so and carries none.
    let err: unknown;
    try {
      eigshSync(randSym(200, 4), { k: 4, tol: 2 ** -52, maxRestarts: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoConvergenceError);
    expect(err).not.toBeInstanceOf(LapackError);
    const e0 = err as NoConvergenceError;
    expect(e0.message).toBe(
      'Expected eigsh to converge within 2 restarts but received 0 of 4 pairs converged (raise maxRestarts or tol, or enlarge the basis)',
    );
    expect([e0.routine, e0.wanted, e0.converged, e0.values.length, e0.vectors!.rows]).toEqual(['eigsh', 4, 0, 0, 0]);
    // Four spikes far above a semicircle bulk, k = 8: the spikes converge within a few
    // restarts, the four bulk-edge pairs do not. Each carried pair is a true eigenpair of A.
    const n = 300;
    const a = randSym(n, 9);
    for (let i = 0; i < 4; i++) a.data[i * n + i]! += 80 - 10 * i;
    const full = eigvalshSync(a);
    const norm = Math.max(Math.abs(full[0]!), Math.abs(full[n - 1]!));
    const tol = 1e-10;
    for (const sync of [true, false]) {
      let e: NoConvergenceError | undefined;
      try {
        if (sync) eigshSync(a, { k: 8, blockSize: 4, basisSize: 24, maxRestarts: 8, tol });
        else await eigsh(a, { k: 8, blockSize: 4, basisSize: 24, maxRestarts: 8, tol });
      } catch (x) {
        e = x as NoConvergenceError;
      }
      expect(e).toBeInstanceOf(NoConvergenceError);
      expect(e!.converged).toBeGreaterThan(0);
      expect(e!.converged).toBeLessThan(8);
      expect(e!.values.length).toBe(e!.converged);
      expect(e!.vectors!.rows).toBe(e!.converged);
      for (let j = 0; j < e!.converged; j++) {
        const v = e!.vectors!.data.subarray(j * n, (j + 1) * n);
        const av = matVec(a, v);
        let r = 0;
        for (let i = 0; i < n; i++) r += (av[i]! - e!.values[j]! * v[i]!) ** 2;
        expect(Math.sqrt(r)).toBeLessThanOrEqual(tol * norm * 1.0001);
        expect(Math.sqrt(r)).toBeCloseTo(e!.residuals[j]!, 12);
        // it is one of the top eigenvalues of A
        expect(Math.min(...Array.from(full.subarray(n - 8), (x) => Math.abs(x - e!.values[j]!)))).toBeLessThan(
          1e-8 * norm,
        );
      }
    }
  });
});

describe('eigsh when k + 2·block exceeds n (the basis holds the whole space)', () => {
  // A regression: the restart used to keep fewer than k vectors and read past its arrays.
  for (const [n, k, which] of [
    [60, 31, 'largest'],
    [40, 21, 'smallest'],
    [34, 18, 'magnitude'],
    [60, 60, 'smallest'],
    [5, 5, 'largest'],
  ] as const) {
    it(`n = ${n}, k = ${k}, ${which}: matches eigvalsh`, () => {
      const x = { data: new Rng(n).fillNormal(new Float64Array(n * 3)), rows: n, cols: 3 };
      const m = distanceMatrixSync(x);
      const full = Array.from(eigvalshSync(m));
      const want =
        which === 'largest'
          ? full.slice(n - k)
          : which === 'smallest'
            ? full.slice(0, k)
            : [...full].sort((a, b) => Math.abs(b) - Math.abs(a)).slice(0, k);
      for (const blockSize of [undefined, n, Math.ceil(n / 2)]) {
        const got = [...eigshSync(m, { k, which, blockSize }).values].sort((a, b) => a - b);
        want.sort((a, b) => a - b);
        const scale = Math.max(...full.map(Math.abs));
        for (const [i, g] of got.entries()) expect(Math.abs(g - want[i]!)).toBeLessThan(1e-10 * scale);
      }
    });
  }
});

// Single-vector thick-restart Lanczos: the default for implicit operators (Gram, distance) and
// blockSize: 1 on dense matrices. Every returned pair is checked against the full eigvalsh of
// the dense equivalent: |λ_j − exact_j| ≤ 1e-9·‖A‖ (the exact wanted set, in order),
// ‖A x_j − λ_j x_j‖ ≤ 1e-9·‖A‖ recomputed here with the dense matrix (tol is 1e-10), and
// |x_iᵀ x_j − δ_ij| ≤ 1e-9.
describe('eigsh, single-vector Lanczos', () => {
  /** ‖A x − λ x‖ with the dense matrix. */
  function residualNorm(a: Mat, x: Float64Array, lambda: number): number {
    const ax = matVec(a, x);
    let r = 0;
    for (let i = 0; i < x.length; i++) r += (ax[i]! - lambda * x[i]!) ** 2;
    return Math.sqrt(r);
  }
  function checkAgainstDense(dense: Mat, res: { values: Float64Array; vectors?: Mat<Float64Array> }, which: Which) {
    const n = dense.rows;
    const exact = eigvalshSync(dense);
    const norm = Math.max(Math.abs(exact[0]!), Math.abs(exact[n - 1]!));
    const k = res.values.length;
    const want = wanted(exact, k, which);
    for (let j = 0; j < k; j++) {
      expect(Math.abs(res.values[j]! - want[j]!)).toBeLessThanOrEqual(1e-9 * norm);
      const x = res.vectors!.data.subarray(j * n, (j + 1) * n);
      expect(residualNorm(dense, x, res.values[j]!)).toBeLessThanOrEqual(1e-9 * norm);
      for (let l = 0; l <= j; l++) {
        const y = res.vectors!.data.subarray(l * n, (l + 1) * n);
        expect(Math.abs(dot(x, y) - (l === j ? 1 : 0))).toBeLessThanOrEqual(1e-9);
      }
    }
  }
  /** A Gaussian mixture of `clusters` blobs in `d` dimensions (OMD-like representations). */
  function mixture(n: number, d: number, clusters: number, seed: number): Mat<Float64Array> {
    const rng = new Rng(seed);
    const centres = rng.fillNormal(new Float64Array(clusters * d), 0, 3);
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) x[i * d + j] = centres[(i % clusters) * d + j]! + rng.normal();
    return { data: x, rows: n, cols: d };
  }
  const separated = randn(400, 80, 31);
  for (let i = 0; i < 400; i++) for (let j = 0; j < 80; j++) separated.data[i * 80 + j]! *= 1 + 10 * 0.93 ** j;
  const cases: Array<[string, Mat<Float64Array>, 'gram' | 'distance', Which[]]> = [
    ['well separated (scaled columns)', separated, 'gram', ['largest']],
    ['clustered edge (Wishart, rank 80)', randn(400, 80, 32), 'gram', ['largest', 'magnitude']],
    ['Wishart bulk (300 x 150)', randn(300, 150, 33), 'gram', ['largest']],
    ['distance matrix (10-blob mixture)', mixture(300, 64, 10, 34), 'distance', ['magnitude', 'smallest', 'largest']],
  ];
  for (const [name, x, kind, whichs] of cases) {
    const op = kind === 'gram' ? gramOperator(x) : distanceOperator(x);
    const dense = kind === 'gram' ? gramSync(x) : distanceMatrixSync(x, { metric: 'sqeuclidean' });
    // Gram operators of their larger side: Lanczos on the operator, and the default (which takes
    // the small-Gram route on these).
    const methods = kind === 'gram' ? (['lanczos', 'auto'] as const) : (['auto'] as const);
    for (const which of whichs)
      for (const k of [1, 10, 50])
        for (const method of methods) {
          // 'largest' on a distance matrix: one positive eigenvalue, then the zeros of its rank
          // deficiency (any vector of that null space is an eigenvector): only k = 1 is a fair ask.
          if (kind === 'distance' && which === 'largest' && k > 1) continue;
          it(`${name}, ${which}, k = ${k}, method ${method}`, () => {
            const res = eigshSync(op, { k, which, method });
            expect(res.blockSize).toBe(1);
            expect(res.method).toBe(method === 'auto' && kind === 'gram' ? 'gram' : 'lanczos');
            checkAgainstDense(dense, res, which);
          });
        }
  }

  it('dense input with blockSize: 1 takes the same path', () => {
    const a = withSpectrum(
      Array.from({ length: 200 }, (_, i) => (i >= 190 ? 10 + (i - 190) * 0.5 : Math.cos(i))),
      13,
    );
    for (const which of ['largest', 'smallest', 'magnitude'] as const) {
      const res = eigshSync(a, { k: 10, which, blockSize: 1 });
      expect([res.blockSize, res.basisSize]).toEqual([1, 21]);
      checkAgainstDense(a, res, which);
    }
  });

  it('a repeated top eigenvalue: blockSize ≥ its multiplicity finds every copy; the default returns true pairs', () => {
    // W = U diag(s) with orthonormal columns U: W Wᵀ has eigenvalues s², the top one a triplet.
    const n = 400;
    const s = Array.from({ length: 40 }, (_, j) => (j < 3 ? 2 : 1.2 - j / 100));
    const u = eighSync(randSym(n, 17)).vectors.data; // rows: orthonormal vectors
    const w: Mat<Float64Array> = { data: new Float64Array(n * 40), rows: n, cols: 40 };
    for (let j = 0; j < 40; j++) for (let i = 0; i < n; i++) w.data[i * 40 + j] = s[j]! * u[j * n + i]!;
    const dense = gramSync(w);
    const block = eigshSync(gramOperator(w), { k: 5, blockSize: 3 });
    expect(block.blockSize).toBe(3);
    checkAgainstDense(dense, block, 'largest');
    for (let j = 0; j < 3; j++) expect(Math.abs(block.values[j]! - 4)).toBeLessThan(1e-9 * 4);
    // Single-vector Lanczos (like ARPACK) sees a multiplet only through rounding: whatever it
    // returns is an eigenpair of A, and the largest value is the triplet's.
    const one = eigshSync(gramOperator(w), { k: 5 });
    expect(Math.abs(one.values[0]! - 4)).toBeLessThan(1e-9 * 4);
    for (let j = 0; j < 5; j++) {
      const x = one.vectors!.data.subarray(j * n, (j + 1) * n);
      expect(residualNorm(dense, x, one.values[j]!)).toBeLessThanOrEqual(1e-9 * 4);
    }
  });

  it('a tiny operator with k close to n matches eigvalsh', () => {
    for (const [rows, k, which] of [
      [3, 3, 'largest'],
      [5, 4, 'magnitude'],
      [12, 12, 'largest'],
      [25, 23, 'smallest'],
      [25, 24, 'magnitude'],
    ] as const) {
      const x = randn(rows, 7, rows);
      const op = distanceOperator(x);
      const res = eigshSync(op, { k, which });
      expect(res.basisSize).toBe(Math.min(rows, Math.max(2 * k + 1, 20)));
      checkAgainstDense(distanceMatrixSync(x, { metric: 'sqeuclidean' }), res, which);
    }
  });

  it('float32 products: eigenvalues within 1e-5·‖A‖', () => {
    const x = randn(500, 60, 41);
    const exact = wanted(eigvalshSync(gramSync(x)), 6, 'largest');
    const res = eigshSync(gramOperator(x), { k: 6, precision: 'float32' });
    for (let j = 0; j < 6; j++) expect(Math.abs(res.values[j]! - exact[j]!)).toBeLessThan(1e-5 * exact[0]!);
  });

  it('fewer products than the block method on a Wishart edge (counts, not time)', () => {
    const op = gramOperator(randn(600, 100, 42));
    for (const k of [1, 10]) {
      const one = eigshSync(op, { k, vectors: false, method: 'lanczos' });
      const block = eigshSync(op, { k, vectors: false, blockSize: Math.max(2, Math.ceil(k / 4)) });
      expect(one.matvecs).toBeLessThan(block.matvecs);
      for (let j = 0; j < k; j++)
        expect(Math.abs(one.values[j]! - block.values[j]!)).toBeLessThan(1e-9 * one.values[0]!);
    }
  });

  it('out of restarts: a NoConvergenceError carrying only true converged pairs', () => {
    const x = randn(500, 100, 43);
    const dense = gramSync(x);
    let e: NoConvergenceError | undefined;
    try {
      eigshSync(gramOperator(x), { k: 10, basisSize: 14, maxRestarts: 3 });
    } catch (err) {
      e = err as NoConvergenceError;
    }
    expect(e).toBeInstanceOf(NoConvergenceError);
    expect(e!.message).toMatch(/^Expected eigsh to converge within 3 restarts but received \d+ of 10 pairs converged/);
    const norm = eigvalshSync(dense)[499]!;
    for (let j = 0; j < e!.converged; j++) {
      const v = e!.vectors!.data.subarray(j * 500, (j + 1) * 500);
      expect(residualNorm(dense, v, e!.values[j]!)).toBeLessThanOrEqual(1e-10 * norm * 1.0001);
    }
  });
});

describe('eigsh, the small-Gram route (method)', () => {
  /** The transpose of a row-major matrix. */
  function transpose(x: Mat<Float64Array>): Mat<Float64Array> {
    const t = new Float64Array(x.rows * x.cols);
    for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) t[j * x.rows + i] = x.data[i * x.cols + j]!;
    return { data: t, rows: x.cols, cols: x.rows };
  }
  /** Residuals and values checked on the dense Gram matrix, independently of the solver's own. */
  function checkOnDense(dense: Mat, res: EigshResultLike, k: number, tol: number) {
    const n = dense.rows;
    const exact = eigvalshSync(dense);
    const norm = exact[n - 1]!;
    const want = wanted(exact, k, 'largest');
    for (let j = 0; j < k; j++) {
      expect(Math.abs(res.values[j]! - want[j]!)).toBeLessThanOrEqual(tol * norm);
      const x = res.vectors!.data.subarray(j * n, (j + 1) * n);
      const ax = matVec(dense, x);
      let r = 0;
      for (let i = 0; i < n; i++) r += (ax[i]! - res.values[j]! * x[i]!) ** 2;
      // The reported residual is the true one (formed from products with the operator).
      expect(Math.abs(Math.sqrt(r) - res.residuals[j]!)).toBeLessThanOrEqual(1e-12 * norm);
      expect(res.residuals[j]!).toBeLessThanOrEqual(tol * res.normEstimate);
      for (let l = 0; l <= j; l++) {
        const y = res.vectors!.data.subarray(l * n, (l + 1) * n);
        expect(Math.abs(dot(x, y) - (l === j ? 1 : 0))).toBeLessThan(1e-9);
      }
    }
  }
  type EigshResultLike = {
    values: Float64Array;
    vectors?: Mat<Float64Array>;
    residuals: Float64Array;
    normEstimate: number;
  };

  it('W Wᵀ (W tall) and Wᵀ W (W wide): the route answers with true pairs, as Lanczos does', () => {
    const w = randn(700, 90, 61);
    const wide = transpose(w);
    for (const [op, dense] of [
      [gramOperator(w), gramSync(w)],
      [gramOperator(wide, 'inner'), gramSync(w)],
    ] as const)
      for (const k of [1, 8]) {
        const route = eigshSync(op, { k });
        expect(route.method).toBe('gram');
        expect(route.gramMatvecs).toBeGreaterThan(k);
        // the ?syrk costs less than a basis of products for 90 columns: no Lanczos product on
        // the operator, only the k that check the mapped vectors
        expect(route.matvecs).toBe(k);
        checkOnDense(dense, route, k, 1e-10);
        const lanczos = eigshSync(op, { k, method: 'lanczos' });
        expect(lanczos.method).toBe('lanczos');
        expect(lanczos.gramMatvecs).toBe(0);
        for (let j = 0; j < k; j++)
          expect(Math.abs(route.values[j]! - lanczos.values[j]!)).toBeLessThanOrEqual(1e-10 * lanczos.values[0]!);
        expect(eigshSync(op, { k, method: 'gram' }).values).toEqual(route.values);
      }
  });

  it('a wide smaller side: Lanczos first, handing off once its convergence predicts more products than the route', () => {
    // 1500 x 500: the ?syrk is reckoned at 25 products, above k = 5's basis of 20, so the route
    // does not start at once; the top 5 of a Wishart edge converge slowly enough to hand off.
    const w = randn(1500, 500, 62);
    const dense = gramSync(w);
    const res = eigshSync(gramOperator(w), { k: 5 });
    expect(res.method).toBe('gram');
    expect(res.matvecs).toBeGreaterThanOrEqual(20 + 5); // Lanczos' products before the hand-off, and the check's
    checkOnDense(dense, res, 5, 1e-10);
    const lanczos = eigshSync(gramOperator(w), { k: 5, method: 'lanczos' });
    expect(res.matvecs).toBeLessThan(lanczos.matvecs / 2);
    // A well separated top eigenvalue converges within the first basis: Lanczos keeps it.
    const sep = randn(1500, 500, 63);
    for (let i = 0; i < 1500; i++) sep.data[i * 500]! *= 10;
    const fast = eigshSync(gramOperator(sep), { k: 1 });
    expect(fast.method).toBe('lanczos');
    expect(fast.matvecs).toBeLessThanOrEqual(20);
    checkOnDense(gramSync(sep), fast, 1, 1e-10);
  });

  it('zero eigenvalues among the k wanted: the route declines and Lanczos answers', () => {
    // rank 4: the 5th and 6th eigenvalues of W Wᵀ are 0, whose vectors B w / √θ cannot give
    const a = randn(400, 4, 64);
    const b = randn(4, 60, 65);
    const w: Mat<Float64Array> = { data: new Float64Array(400 * 60), rows: 400, cols: 60 };
    for (let i = 0; i < 400; i++)
      for (let j = 0; j < 60; j++) {
        let t = 0;
        for (let l = 0; l < 4; l++) t += a.data[i * 4 + l]! * b.data[l * 60 + j]!;
        w.data[i * 60 + j] = t;
      }
    const res = eigshSync(gramOperator(w), { k: 6 });
    expect(res.method).toBe('lanczos');
    const exact = wanted(eigvalshSync(gramSync(w)), 6, 'largest');
    for (let j = 0; j < 6; j++) expect(Math.abs(res.values[j]! - exact[j]!)).toBeLessThanOrEqual(1e-10 * exact[0]!);
  });

  it('entries that need scaling: the route returns the unscaled values', () => {
    const w = randn(500, 40, 66);
    const big: Mat<Float64Array> = { data: w.data.map((v) => v * 2 ** 500), rows: 500, cols: 40 };
    const plain = eigshSync(gramOperator(w), { k: 3 });
    const scaled = eigshSync(gramOperator(big), { k: 3 });
    expect(scaled.method).toBe('gram');
    for (let j = 0; j < 3; j++)
      expect(Math.abs(scaled.values[j]! / 2 ** 1000 - plain.values[j]!)).toBeLessThanOrEqual(1e-12 * plain.values[0]!);
  });

  it('cases the route does not cover run Lanczos; method: gram there is a RangeError naming the option', () => {
    const w = randn(300, 30, 67);
    const op = gramOperator(w);
    expect(eigshSync(op, { k: 3, which: 'smallest' }).method).toBe('lanczos');
    expect(eigshSync(op, { k: 3, precision: 'float32' }).method).toBe('lanczos');
    expect(eigshSync(op, { k: 3, blockSize: 2 }).method).toBe('lanczos');
    expect(eigshSync(gramOperator(w, 'inner'), { k: 3 }).method).toBe('lanczos'); // 30 x 30: the smaller side
    expect(eigshSync(randSym(50, 68), { k: 3 }).method).toBe('lanczos');
    const msg =
      /^Expected 'auto' or 'lanczos' \(the 'gram' route needs .*\) for eigsh option 'method' but received 'gram'$/;
    for (const [a, o] of [
      [op, { which: 'smallest' }],
      [op, { precision: 'float32' }],
      [op, { k: 30 }],
      [gramOperator(w, 'inner'), {}],
      [randSym(50, 68), {}],
      [distanceOperator(w), {}],
    ] as const) {
      expect(() => eigshSync(a, { k: 3, ...o, method: 'gram' })).toThrow(RangeError);
      expect(() => eigshSync(a, { k: 3, ...o, method: 'gram' })).toThrow(msg);
    }
    expect(() => eigshSync(op, { method: 'arpack' as never })).toThrow(RangeError);
    expect(() => eigshSync(op, { method: 'arpack' as never })).toThrow(/eigsh option 'method'/);
  });

  it('an AbortSignal stops the route, and the next solve is sound', async () => {
    const w = randn(3000, 1500, 69); // the ?syrk alone is several slabs of 10⁹ flops
    const controller = new AbortController();
    const p = eigsh(gramOperator(w), { k: 50, method: 'gram', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    const small = randn(200, 20, 70);
    checkOnDense(gramSync(small), await eigsh(gramOperator(small), { k: 2 }), 2, 1e-10);
  });
});

describe('the Gram operator copy (one pass: finiteness, largest magnitude, conversion)', () => {
  it('a non-finite entry is refused with its index, row and column, in either precision and storage', () => {
    for (const [bad, word] of [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      for (const f32 of [false, true]) {
        const x = randn(300, 50, 51);
        // Past the first blocks of four and not on a lane boundary: the pass must see every lane.
        const data = f32 ? Float32Array.from(x.data) : x.data;
        data[1234 + 3] = bad;
        for (const precision of ['float64', 'float32'] as const) {
          const op = gramOperator({ data, rows: 300, cols: 50 });
          const msg = `Expected finite values for a.w.data but received ${word} at index 1237 (row 24, column 37)`;
          expect(() => eigshSync(op, { k: 2, precision })).toThrow(RangeError);
          expect(() => eigshSync(op, { k: 2, precision })).toThrow(msg);
        }
        expect(() => svdsSync({ data, rows: 300, cols: 50 }, { k: 2 })).toThrow(
          `Expected finite values for w.data but received ${word} at index 1237`,
        );
      }
    }
  });

  it('Float32Array storage widened by the copy: the top values of W Wᵀ and Wᵀ W match eigvalsh', () => {
    const x = randn(203, 41, 52); // sizes not multiples of four: the pass's tail
    const w32 = Float32Array.from(x.data);
    const w64 = { data: Float64Array.from(w32), rows: 203, cols: 41 };
    const outer = wanted(eigvalshSync(gramSync(w64)), 5, 'largest');
    const res = eigshSync(gramOperator({ data: w32, rows: 203, cols: 41 }), { k: 5 });
    for (let j = 0; j < 5; j++) expect(Math.abs(res.values[j]! - outer[j]!)).toBeLessThan(1e-10 * outer[0]!);
    const inner = eigshSync(gramOperator({ data: w32, rows: 203, cols: 41 }, 'inner'), { k: 5 });
    for (let j = 0; j < 5; j++) expect(Math.abs(inner.values[j]! - outer[j]!)).toBeLessThan(1e-10 * outer[0]!);
  });
});

describe('small single-vector solves and the BLAS threads', () => {
  // eigsh and svds pass `_threadedIfIdle` (true while no other process keeps a core busy,
  // src/machine-load.ts); here it is set directly, so the test does not depend on the load.
  it('take the BLAS threads while the gate is idle when asked, one thread otherwise, with the same results', () => {
    const saved = getThreads();
    setThreads(2);
    try {
      const op = gramOperator(randn(600, 50, 4)); // 30 000 entries: a small single-vector solve
      type Raw = { values: Float64Array };
      const solve = (flag: unknown) =>
        (native().eigsh as unknown as (a: unknown, o: object, c: undefined, async: boolean) => Raw)(
          op,
          { k: 4, _threadedIfIdle: flag },
          undefined,
          false,
        );
      const threaded = solve(true);
      expect(native()._lastOpThreaded()).toBe(true);
      const single = solve(false);
      expect(native()._lastOpThreaded()).toBe(false);
      for (let i = 0; i < 4; i++)
        expect(Math.abs(threaded.values[i]! - single.values[i]!)).toBeLessThanOrEqual(1e-10 * threaded.values[0]!);
      // Under a thread limit of 1 (an analysis worker's) the solve stays single-threaded.
      setThreadLimit(1);
      try {
        solve(true);
        expect(native()._lastOpThreaded()).toBe(false);
      } finally {
        setThreadLimit(0);
      }
      expect(() => solve('yes')).toThrow(TypeError);
      expect(() => solve('yes')).toThrow(/_threadedIfIdle/);
      // The public call adds the flag itself and gives the same values.
      const pub = eigshSync(op, { k: 4 });
      for (let i = 0; i < 4; i++)
        expect(Math.abs(pub.values[i]! - single.values[i]!)).toBeLessThanOrEqual(1e-10 * single.values[0]!);
    } finally {
      setThreads(saved);
    }
  });
});
