// Hardening of the native core: inputs at the ends of the float64 range (scaled internally or
// refused clearly), argument ranges that can be met, a tol that cannot run away, aborts honoured
// while a call is queued, the memory pool made visible and trimmable, and the all-zero weight
// matrix. Each test below failed against the build before these fixes.
import { describe, expect, it } from 'vitest';
import { NoConvergenceError } from '../src/errors.js';
import {
  distanceMatrixSync,
  eighSync,
  eigsh,
  eigvalshSync,
  eigshSync,
  gramOperator,
  gramSync,
  nativeInfo,
  setPoolLimit,
  spectralDensitySync,
  svdsSync,
  svdvalsSync,
  trimPool,
} from '../src/linalg/index.js';
import type { Mat } from '../src/matrix.js';
import { analyzeWeights, weightSpectrumSync } from '../src/rmt/index.js';
import { randSym, randn } from './helpers.js';

/** x scaled by a factor (a new matrix). */
function scaled(x: Mat<Float64Array>, factor: number): Mat<Float64Array> {
  return { data: x.data.map((v) => v * factor), rows: x.rows, cols: x.cols };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!));
  return m;
}

/** Euclidean distances of the rows of x computed from x · f (f a power of ten), then / f. */
function euclideanRef(x: Mat<Float64Array>, f: number): Float64Array {
  const n = x.rows,
    d = x.cols,
    out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x.data[i * d + k]! * f - x.data[j * d + k]! * f) ** 2;
      out[i * n + j] = Math.sqrt(s) / f;
    }
  return out;
}

const tiny = scaled(randn(6, 9, 3), 1e-200);
const huge = scaled(randn(6, 9, 4), 1e200);
const big = scaled(randn(6, 9, 5), 1e155); // squares (1e310) overflow

describe('W1: entries near 1e-200', () => {
  it('svdsSync matches svdvalsSync (was [0, 0])', () => {
    const want = svdvalsSync(tiny);
    const got = svdsSync(tiny, { k: 3 });
    expect(relErr(got.s, want.subarray(0, 3))).toBeLessThan(1e-10);
    expect(got.s[0]).toBeGreaterThan(1e-201);
  });

  it('eigshSync(gramOperator) refuses eigenvalues below the float64 range (was [0, 0])', () => {
    expect(() => eigshSync(gramOperator(tiny), { k: 2 })).toThrow(RangeError);
    expect(() => eigshSync(gramOperator(tiny), { k: 2 })).toThrow(
      /Expected eigenvalues within the float64 range for a\.w but received a largest magnitude of only about \d.*e-39\d, below 2\.2e-308 \(entries too small: rescale the input, or use svds/,
    );
  });

  it('eigshSync(gramOperator) on entries 2^-500 (scaled internally) agrees with svdvals squared', () => {
    const w = scaled(randn(7, 11, 6), 2 ** -500);
    const s = svdvalsSync(w);
    const r = eigshSync(gramOperator(w), { k: 3 });
    expect(
      relErr(
        r.values,
        Array.from(s.subarray(0, 3), (v) => v * v),
      ),
    ).toBeLessThan(1e-10);
  });
});

describe('W2: distanceMatrix of rows near 1e-200', () => {
  it('euclidean distances keep full relative accuracy (were all zeros)', () => {
    const got = distanceMatrixSync(tiny).data;
    const want = euclideanRef(tiny, 1e200);
    for (let i = 0; i < tiny.rows; i++) expect(got[i * tiny.rows + i]).toBe(0);
    let m = 0;
    for (let i = 0; i < want.length; i++) if (want[i]! > 0) m = Math.max(m, Math.abs(got[i]! - want[i]!) / want[i]!);
    expect(m).toBeLessThan(1e-12);
  });

  it('sqeuclidean distances below the float64 range are refused, not returned as zeros', () => {
    expect(() => distanceMatrixSync(tiny, { metric: 'sqeuclidean' })).toThrow(
      /Expected distances within the float64 range for x but received a largest magnitude of only about .*e-39\d/,
    );
  });

  it('cosine, angular and correlation do not depend on the scale of a row (was "zero row at index 0")', () => {
    const ref = scaled(tiny, 1e200);
    for (const metric of ['cosine', 'angular', 'correlation'] as const) {
      const got = distanceMatrixSync(tiny, { metric }).data;
      const want = distanceMatrixSync(ref, { metric }).data;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-14);
    }
  });

  it('rows of very different scales in one matrix: cosine and angular per row, euclidean overall', () => {
    const x = randn(3, 5, 7);
    const mixed = { data: x.data.slice(), rows: 3, cols: 5 };
    for (let k = 0; k < 5; k++) {
      mixed.data[k] = x.data[k]! * 1e200; // row 0 large, row 1 tiny, row 2 near 1
      mixed.data[5 + k] = x.data[5 + k]! * 1e-200;
    }
    const unit = distanceMatrixSync(x, { metric: 'angular' }).data;
    const got = distanceMatrixSync(mixed, { metric: 'angular' }).data;
    for (let i = 0; i < 9; i++) expect(Math.abs(got[i]! - unit[i]!)).toBeLessThan(1e-14);
    const e = distanceMatrixSync(mixed).data;
    expect(e[1]! / 1e200).toBeCloseTo(Math.hypot(...x.data.subarray(0, 5)), 12);
  });

  it('angular distances of rows near 1e200 (was a RangeError on the squared norm)', () => {
    const x = { data: new Float64Array([1e200, 1e200, 1e200, -1e200]), rows: 2, cols: 2 };
    const d = distanceMatrixSync(x, { metric: 'angular' }).data;
    expect(d[1]).toBeCloseTo(Math.PI / 2, 14);
  });
});

describe('W3 and U1: entries whose squares overflow', () => {
  it('gramSync on entries near 1e200 refuses clearly (was ±Infinity/NaN)', () => {
    expect(() => gramSync(huge)).toThrow(RangeError);
    expect(() => gramSync(huge)).toThrow(
      /Expected a Gram matrix within the float64 range for x but received a largest magnitude of about \d.*e\+40\d, beyond 1\.8e\+308 \(entries too large: rescale the input\)/,
    );
  });

  it('gramSync on entries 2^450 (scaled internally) equals the scaled Gram matrix', () => {
    const x = randn(5, 8, 8);
    const got = gramSync(scaled(x, 2 ** 450)).data;
    const want = gramSync(x).data;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBe(want[i]! * 2 ** 900);
  });

  it('gramSync on entries near 1e-200 refuses the underflow instead of returning zeros', () => {
    expect(() => gramSync(tiny)).toThrow(/Expected a Gram matrix within the float64 range for x .* below 2\.2e-308/);
  });

  it('svds above 1.3e154 matches svdvals (was LapackError dsyevd info = -5)', () => {
    const got = svdsSync(big, { k: 3 }).s;
    expect(relErr(got, svdvalsSync(big).subarray(0, 3))).toBeLessThan(1e-10);
  });

  it('eigsh and spectralDensity of gramOperator above 1.3e154: a RangeError, not a LapackError', () => {
    for (const run of [() => eigshSync(gramOperator(big), { k: 2 }), () => spectralDensitySync(gramOperator(big))]) {
      expect(run).toThrow(RangeError);
      expect(run).toThrow(/Expected eigenvalues within the float64 range for a\.w .*e\+31\d, beyond 1\.8e\+308/);
    }
  });

  it('a dense operator whose products could overflow is refused before the solve, not overflowed', () => {
    const n = 40;
    const a = scaled(randSym(n, 11), 1.5e307);
    expect(() => eigshSync(a, { k: 2 })).toThrow(
      /^Expected entries of magnitude within \[1\.0\d*e-289, 2\.80\d*e\+305\] \(or all zero\) for a \(the solver's products would overflow\) but received a largest magnitude of .*e\+307 \(rescale the input, or use eigvalsh\)$/,
    );
    // Found by the fuzzer: entries of 5e-324 gave LAPACK a NaN (reported as a specdyn bug).
    const sub = { data: new Float64Array(25).fill(5e-324), rows: 5, cols: 5 };
    expect(() => eigshSync(sub, { k: 1 })).toThrow(/would underflow\) but received a largest magnitude of 5e-324/);
    expect(() => spectralDensitySync(a)).toThrow(RangeError);
    // 1e300 on a 2 x 2 matrix is fine: its products stay in range.
    const small = { data: new Float64Array([1e300, 0, 0, 2e300]), rows: 2, cols: 2 };
    expect(eigshSync(small, { k: 1 }).values[0]).toBeCloseTo(2e300, -286);
  });

  it('spectralDensity(gramOperator) of entries 2^500: edges in eigenvalue units', () => {
    const w = randn(12, 20, 9);
    const s = svdvalsSync(w);
    const r = spectralDensitySync(gramOperator(scaled(w, 2 ** 500)), { steps: 12 });
    // 12 Lanczos steps on an operator of order 12: the extreme Ritz values are the eigenvalues.
    expect(Math.abs(r.hi / 2 ** 1000 - s[0]! ** 2) / s[0]! ** 2).toBeLessThan(1e-8);
    expect(r.edges[r.edges.length - 1]! / 2 ** 1000).toBeGreaterThan(s[0]! ** 2);
  });
});

describe('U2, U4: option ranges', () => {
  const one = { data: new Float64Array([2]), rows: 1, cols: 1 };
  it('a 1 x 1 matrix: basisSize 1 is accepted, 2 names a range that can be met', () => {
    expect(eigshSync(one, { basisSize: 1 }).values[0]).toBeCloseTo(2, 14);
    expect(() => eigshSync(one, { basisSize: 2 })).toThrow(
      new RangeError("Expected an integer in [1, 1] for eigsh option 'basisSize' but received 2"),
    );
  });

  it('tol: 0 is refused before any work', () => {
    const a = randSym(20, 2);
    expect(() => eigshSync(a, { tol: 0 })).toThrow(
      new RangeError(
        "Expected a number of at least 2.220446049250313e-16 (the round-off of float64 products) for eigsh option 'tol' but received 0",
      ),
    );
    expect(() => svdsSync(randn(4, 6), { tol: 1e-17 })).toThrow(/for svds option 'tol' but received 1e-17/);
    expect(() => eigshSync(a, { tol: 1e-8, precision: 'float32' })).toThrow(
      /at least 1\.1920928955078125e-7 \(the round-off of float32 products\)/,
    );
  });

  it('an unattainable tol ends as a stall after 40 restarts without progress, not after 1000', () => {
    const a = randSym(250, 3);
    let err: unknown;
    try {
      eigshSync(a, { k: 4, tol: 1e-15 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoConvergenceError);
    expect((err as Error).message).toMatch(
      /^Expected eigsh to converge to tol 1e-15 but received \d of 4 pairs converged, the residuals stalled at .* \* \|A\| for 40 restarts \(tol is below the accuracy the products attain: raise tol\)$/,
    );
    // The default tol still converges on the same matrix.
    expect(eigshSync(a, { k: 4 }).values.length).toBe(4);
  });
});

describe('abort while queued', () => {
  it('a call waiting behind busy pool threads rejects on abort before any of them finishes', async () => {
    const a = randSym(400, 4);
    const order: string[] = [];
    // More long solves than the libuv pool has threads (4 by default): the last one waits.
    const blockers = Array.from({ length: 5 }, (_, i) =>
      eigsh(a, { k: 8, seed: i }).then(() => {
        order.push('blocker');
      }),
    );
    const ac = new AbortController();
    const queued = eigsh(a, { k: 8, signal: ac.signal }).then(
      () => order.push('queued resolved'),
      (e: Error) => order.push(`queued ${e.name}`),
    );
    ac.abort();
    await queued;
    expect(order).toEqual(['queued AbortError']);
    await Promise.all(blockers);
  });
});

describe('the native memory pool', () => {
  it('nativeInfo().pool shows the kept blocks; trimPool frees them; setPoolLimit bounds them', () => {
    // A float32 input at float64 precision is widened into a pooled 2.4 MB temporary.
    const x = { data: new Float32Array(600 * 500).fill(0.5), rows: 600, cols: 500 };
    const before = nativeInfo().pool;
    expect(before.limit).toBe(512 * 2 ** 20);
    expect(before.minBlockBytes).toBe(2 * 2 ** 20);
    distanceMatrixSync(x);
    const held = nativeInfo().pool;
    expect(held.bytes).toBeGreaterThanOrEqual(600 * 500 * 8);
    expect(held.blocks).toBeGreaterThanOrEqual(1);
    expect(trimPool()).toBe(held.bytes);
    expect(nativeInfo().pool).toMatchObject({ bytes: 0, blocks: 0 });
    try {
      expect(setPoolLimit(0)).toBe(0);
      distanceMatrixSync(x);
      expect(nativeInfo().pool).toMatchObject({ bytes: 0, blocks: 0, limit: 0 });
    } finally {
      setPoolLimit(512 * 2 ** 20);
    }
    distanceMatrixSync(x);
    const kept = nativeInfo().pool.bytes;
    expect(kept).toBeGreaterThan(0);
    expect(setPoolLimit(kept - 1)).toBe(kept); // the block no longer fits: freed
    setPoolLimit(512 * 2 ** 20);
  });

  it('a temporary takes any larger kept block; a result only one at most 1.25x its size', () => {
    trimPool();
    // A float32 input at float64 precision is widened into a pooled temporary (2000 x 1000: 16 MiB).
    const big = distanceMatrixSync({ data: new Float32Array(2000 * 1000).fill(0.5), rows: 2000, cols: 1000 });
    const kept = nativeInfo().pool;
    expect(kept.bytes).toBeGreaterThanOrEqual(16 * 2 ** 20);
    // A 2 MiB temporary (512 x 512 widened): served by a kept block (none is within 2x of it),
    // so the pool neither grows nor loses a block; its 2 MiB result is fresh (held below).
    const small = distanceMatrixSync({ data: new Float32Array(512 * 512).fill(0.5), rows: 512, cols: 512 });
    expect(nativeInfo().pool).toMatchObject({ bytes: kept.bytes, blocks: kept.blocks });
    // A 5.1 MB result (800 x 800) held by JavaScript takes no kept block of 8 MiB or more.
    const result = distanceMatrixSync(randn(800, 10, 5));
    expect(nativeInfo().pool).toMatchObject({ bytes: kept.bytes, blocks: kept.blocks });
    expect([big.rows, small.rows, result.rows]).toEqual([2000, 512, 800]);
  });

  it('bad limits: TypeError and RangeError naming the argument', () => {
    expect(() => setPoolLimit(-1)).toThrow(
      new RangeError('Expected an integer in [0, 9007199254740991] for bytes but received -1'),
    );
    expect(() => setPoolLimit('1' as never)).toThrow(TypeError);
    expect(() => setPoolLimit(1.5)).toThrow(RangeError);
  });
});

describe('an all-zero weight matrix', () => {
  it('weightSpectrum: stable_rank and num_spikes are 0 with a warning that says why (were NaN)', () => {
    const w = { data: new Float64Array(20 * 30), rows: 20, cols: 30 };
    const row = weightSpectrumSync(w);
    expect(row.stable_rank).toBe(0);
    expect(row.num_spikes).toBe(0);
    expect(row.lambda_max).toBe(0);
    expect(row.warning).toMatch(/^all-zero matrix: every eigenvalue is 0; stable_rank and num_spikes are 0/);
    expect(Number.isNaN(row.alpha)).toBe(true);
  });

  it('analyzeWeights (both conventions) reads the same figures', async () => {
    const w = { data: new Float64Array(12 * 16), rows: 12, cols: 16 };
    for (const convention of ['specdyn', 'weightwatcher'] as const) {
      const [row] = await analyzeWeights({ zero: w }, { convention });
      expect(row!.stable_rank).toBe(0);
      expect(row!.num_spikes).toBe(0);
    }
  });

  it('a non-zero matrix whose eigenvalues underflow keeps NaN (it is not all zero)', () => {
    const w = scaled(randn(12, 16, 10), 1e-200);
    const row = weightSpectrumSync(w);
    expect(Number.isNaN(row.stable_rank)).toBe(true);
    expect(row.warning).not.toMatch(/all-zero/);
  });
});

describe('inputs the native fuzzer found (fuzz/corpus/*/crash-*)', () => {
  it('cosine of nearly parallel rows of very different norms stays in [0, 2] (was 7e44)', () => {
    const x = { data: new Float64Array([4 / 3, 4 / 3, -8, 3.4e38, -0.125, 3.1514e-319]), rows: 6, cols: 1 };
    const d = distanceMatrixSync(x, { metric: 'cosine' }).data;
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        const want = Math.sign(x.data[i]!) === Math.sign(x.data[j]!) ? 0 : 2;
        expect(Math.abs(d[i * 6 + j]! - want)).toBeLessThan(1e-15);
      }
    const y = { data: new Float64Array([1, 1e-9, 1e30, 2e21]), rows: 2, cols: 2 };
    const c = distanceMatrixSync(y, { metric: 'cosine' }).data[1]!;
    expect(Math.abs(c - 5e-19) / 5e-19).toBeLessThan(1e-6); // 1 − cos ≈ (1e-9)² / 2
  });

  it('eigenvalues and singular values beyond float64 are a RangeError, not Infinity', () => {
    const a = {
      data: new Float64Array([-1.7e308, -1.7e308, 1, -1.7e308, 0.5, -2e200, 1, -2e200, -8]),
      rows: 3,
      cols: 3,
    };
    expect(() => eigvalshSync(a)).toThrow(
      /^Expected eigenvalues within the float64 range for a but received -Infinity/,
    );
    const w = { data: new Float64Array([-1.7e308, -1.7e308, -1.7e308, 0.5, 0.5]), rows: 5, cols: 1 };
    expect(() => svdvalsSync(w)).toThrow(
      /^Expected singular values within the float64 range for w but received Infinity/,
    );
  });

  it('eigh allValues (one ?sytrd reduction) on entries near the float32 and float64 limits (was ?sterf info = -2)', () => {
    const a = randSym(6, 12);
    const big = scaled(a, 2 ** 600);
    const got = eighSync(big, { range: [4, 5], allValues: true }).values;
    const want = eigvalshSync(a);
    for (let i = 0; i < 6; i++) expect(got[i]! / 2 ** 600).toBeCloseTo(want[i]!, 12);
    const f = { data: new Float32Array(9).fill(3.39e38), rows: 3, cols: 3 };
    // float32 reduction of entries near FLT_MAX: scaled first; the eigenvalues come back in float64.
    const v = eighSync(f, { range: [2, 2], allValues: true, precision: 'float32' }).values;
    expect(Math.abs(v[2]! - 3 * 3.39e38) / (3 * 3.39e38)).toBeLessThan(1e-6);
    expect(Math.abs(v[0]!)).toBeLessThan(1e33);
  });

  it('SLQ of a spectrum a few ulps wide keeps distinct edges and a total mass of 1', () => {
    const a = { data: new Float64Array([-7, 5e-324, 5e-324, -7]), rows: 2, cols: 2 };
    const r = spectralDensitySync(a, { bins: 12 });
    expect(r.mass.reduce((p, q) => p + q, 0)).toBeCloseTo(1, 12);
    for (let i = 1; i < r.edges.length; i++) expect(r.edges[i]!).toBeGreaterThan(r.edges[i - 1]!);
  });

  it('SLQ on a probe orthogonal to the range of a Gram operator (was LAPACK dstev info = -4)', () => {
    const w = { data: new Float64Array([2, 2, 2, 2, 3.564289805e-315]), rows: 1, cols: 5 };
    const r = spectralDensitySync(gramOperator(w, 'inner'), { probes: 2, steps: 2 });
    expect(r.mass.reduce((p, q) => p + q, 0)).toBeCloseTo(1, 12);
    expect(r.hi).toBeCloseTo(16, 10);
  });
});
