// The blocked Gram of distanceMatrix (row panels: ?syrk on each diagonal block, ?gemm off it,
// each panel or chunk turned into distances while in cache) against an independent float64
// computation pair by pair, and against the one-?syrk path it replaces for large inputs, at
// awkward shapes: N below one block, N not a multiple of the block or of the chunk width, D = 1,
// near copies in different panels, and a size large enough to run on the scope's threads.
import { afterEach, describe, expect, it } from 'vitest';
import { distanceMatrix, distanceMatrixSync, eigvalsh, eigvalshSync, type Metric, nativeInfo } from '../src/index.js';
import { native } from '../src/native.js';
import { randn } from './helpers.js';

type Input = { data: Float64Array | Float32Array; rows: number; cols: number };

/** For each pair of rows (correlation: of the mean-centred rows) Σ(a−b)² and the cosine, in float64. */
function pairSums(x: Input, centred: boolean): { s2: Float64Array; cos: Float64Array } {
  const { rows: n, cols: d } = x;
  const r = Float64Array.from(x.data);
  if (centred)
    for (let i = 0; i < n; i++) {
      let mean = 0;
      for (let k = 0; k < d; k++) mean += r[i * d + k]!;
      mean /= d;
      for (let k = 0; k < d; k++) r[i * d + k]! -= mean;
    }
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += r[i * d + k]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const s2 = new Float64Array(n * n),
    cos = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0,
        ab = 0;
      for (let k = 0; k < d; k++) {
        const a = r[i * d + k]!,
          b = r[j * d + k]!;
        s += (a - b) * (a - b);
        ab += a * b;
      }
      const c = Math.min(1, Math.max(-1, ab / (norms[i]! * norms[j]!)));
      s2[i * n + j] = s2[j * n + i] = s;
      cos[i * n + j] = cos[j * n + i] = c;
    }
  return { s2, cos };
}

/** The distances of each pair from its rows, in float64, pair by pair (no Gram matrix). */
function reference(x: Input, metric: Metric, sums = pairSums(x, metric === 'correlation')): Float64Array {
  const { s2, cos } = sums;
  const out = new Float64Array(s2.length);
  for (let k = 0; k < out.length; k++)
    out[k] =
      metric === 'euclidean'
        ? Math.sqrt(s2[k]!)
        : metric === 'sqeuclidean'
          ? s2[k]!
          : metric === 'angular'
            ? Math.acos(cos[k]!)
            : 1 - cos[k]!;
  const n = x.rows;
  for (let i = 0; i < n; i++) out[i * n + i] = 0;
  return out;
}

/** The first index where a and b differ (bit for bit), or −1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return k;
  return a.length === b.length ? -1 : a.length;
}

/**
 * The largest error of got against want: float64 Euclidean metrics relative to the distance,
 * the cosine-type ones absolute; float32 (precision 'float32') relative to the row norms, as
 * float32 accumulation rounds at ~1e-7 of ‖x_i‖² + ‖x_j‖².
 */
function worstError(x: Input, metric: Metric, f32: boolean, got: Float64Array, want: Float64Array): number {
  const { rows: n, cols: d } = x;
  const sq = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += x.data[i * d + k]! ** 2;
    return s;
  });
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const g = got[i * n + j]!,
        w = want[i * n + j]!;
      let err = Math.abs(g - w);
      if (metric === 'euclidean' || metric === 'sqeuclidean') {
        const scale = !f32
          ? Math.max(Math.abs(w), 1e-300)
          : metric === 'sqeuclidean'
            ? sq[i]! + sq[j]!
            : Math.sqrt(sq[i]! + sq[j]!);
        err /= scale;
      }
      worst = Math.max(worst, err);
    }
  return worst;
}

// Against the float64 pair-by-pair reference (the tolerances of the fused pass's own tests).
const TOL_REF = {
  f64: { euclidean: 1e-11, sqeuclidean: 1e-11, cosine: 1e-12, angular: 1e-7, correlation: 1e-12 },
  f32: { euclidean: 3e-3, sqeuclidean: 1e-5, cosine: 1e-5, angular: 3e-3, correlation: 1e-5 },
};
// Against the one-?syrk path: only the Gram's rounding differs (measured at most 2.2e-16 relative
// for float64 and 8e-8 of the norms for float32 at 2000 x 784); angles near 0 and π amplify a
// cosine's rounding by 1/sin θ, hence the looser absolute bound there.
const TOL_OLD = {
  f64: { euclidean: 1e-12, sqeuclidean: 1e-12, cosine: 1e-13, angular: 1e-7, correlation: 1e-13 },
  f32: { euclidean: 1e-3, sqeuclidean: 2e-6, cosine: 2e-6, angular: 1e-3, correlation: 2e-6 },
};

function exactShape(got: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (got[i * n + i] !== 0) expect([i, got[i * n + i]]).toBe('an exact zero diagonal');
    for (let j = i + 1; j < n; j++) if (got[i * n + j] !== got[j * n + i]) expect([i, j]).toBe('exactly symmetric');
  }
}

/** Rows of a Gaussian matrix with near copies: row b ≈ row a for each [a, b, eps]. */
function withNearCopies(n: number, d: number, seed: number, copies: [number, number, number][]): Input {
  const x = randn(n, d, seed);
  for (const [a, b, eps] of copies)
    if (a < n && b < n)
      for (let k = 0; k < d; k++) x.data[b * d + k] = x.data[a * d + k]! * (1 + eps * Math.sin(k + 1));
  return x;
}

function run(x: Input, metric: Metric, f32: boolean, layout: [number, number?]): Float64Array {
  native()._setDistanceBlock(...layout);
  try {
    return distanceMatrixSync(x, { metric, precision: f32 ? 'float32' : 'float64' }).data;
  } finally {
    native()._setDistanceBlock(-1);
  }
}

afterEach(() => native()._setDistanceBlock(-1));

const metricsFor = (d: number): Metric[] =>
  d > 1
    ? ['euclidean', 'sqeuclidean', 'cosine', 'angular', 'correlation']
    : ['euclidean', 'sqeuclidean', 'cosine', 'angular'];

describe('distanceMatrix: the blocked Gram against float64 pair by pair and against one ?syrk', () => {
  // [N, D, panel height, chunk width (0: whole panels), near copies]
  const cases: [number, number, number, number, [number, number, number][]][] = [
    [1, 3, 16, 0, []], // one row: N below one block
    [5, 1, 16, 0, []], // D = 1, N below one block
    [130, 1, 64, 0, [[2, 129, 1e-9]]], // D = 1, N not a multiple of the block
    [
      77,
      13,
      16,
      0,
      [
        [3, 70, 1e-9],
        [5, 6, 1e-5],
      ],
    ], // ragged last panel; near copies in and across panels
    [77, 13, 16, 20, [[3, 70, 1e-9]]], // chunks narrower than a tile and not a multiple of the block
    [200, 9, 7, 0, [[0, 199, 1e-7]]], // a block height that is no multiple of anything
  ];
  for (const [n, d, block, width, copies] of cases) {
    const x = withNearCopies(n, d, n + d, copies);
    const x32: Input = { data: Float32Array.from(x.data), rows: n, cols: d };
    for (const metric of metricsFor(d))
      for (const f32 of [false, true])
        it(`${n} x ${d}, panels of ${block}${width ? ` in chunks of ${width}` : ''}, ${metric}, precision ${f32 ? 'float32' : 'float64'}`, () => {
          const src = f32 ? x32 : x;
          const got = run(src, metric, f32, [block, width]);
          exactShape(got, n);
          const key = f32 ? 'f32' : 'f64';
          expect(worstError(src, metric, f32, got, reference(src, metric))).toBeLessThanOrEqual(TOL_REF[key][metric]);
          expect(worstError(src, metric, f32, got, run(src, metric, f32, [0]))).toBeLessThanOrEqual(
            TOL_OLD[key][metric],
          );
        });
  }

  // 1100² x 83 ≥ 1e8 flops: a threaded operation, whose panels run on the scope's threads with
  // single-threaded BLAS; 1100 = 4 panels of 256 and a ragged one; near copies across panels.
  const n = 1100,
    d = 83;
  const big = withNearCopies(n, d, 11, [
    [3, 1050, 1e-9],
    [300, 301, 1e-6],
    [10, 700, 1e-4],
  ]);
  const big32: Input = { data: Float32Array.from(big.data), rows: n, cols: d };
  const sums = new Map<string, ReturnType<typeof pairSums>>();
  const sumsOf = (src: Input, f32: boolean, centred: boolean) => {
    const key = `${f32}-${centred}`;
    if (!sums.has(key)) sums.set(key, pairSums(src, centred));
    return sums.get(key)!;
  };
  for (const metric of metricsFor(d))
    for (const f32 of [false, true])
      it(`${n} x ${d} (threaded), panels of 256, ${metric}, precision ${f32 ? 'float32' : 'float64'}`, async () => {
        const src = f32 ? big32 : big;
        const key = f32 ? 'f32' : 'f64';
        const want = reference(src, metric, sumsOf(src, f32, metric === 'correlation'));
        const got = run(src, metric, f32, [256]);
        exactShape(got, n);
        expect(worstError(src, metric, f32, got, want)).toBeLessThanOrEqual(TOL_REF[key][metric]);
        expect(worstError(src, metric, f32, got, run(src, metric, f32, [0]))).toBeLessThanOrEqual(TOL_OLD[key][metric]);
        // Panels in chunks (other ?gemm shapes: other roundings) stay within the same bounds.
        const chunked = run(src, metric, f32, [256, 300]);
        exactShape(chunked, n);
        expect(worstError(src, metric, f32, chunked, got)).toBeLessThanOrEqual(TOL_OLD[key][metric]);
        // The async twin runs the same products: the same bits.
        native()._setDistanceBlock(256);
        const viaAsync = await distanceMatrix(src, { metric, precision: f32 ? 'float32' : 'float64' });
        expect(firstDifference(viaAsync.data, got)).toBe(-1);
        // The near copies are resolved, not rounded to 0 by the Gram expansion.
        if (!f32 && metric === 'euclidean')
          expect(Math.abs(got[3 * n + 1050]! - want[3 * n + 1050]!) / want[3 * n + 1050]!).toBeLessThan(1e-6);
      });

  it('the default layout agrees with one ?syrk within the same bounds (2000 x 40)', () => {
    const x = randn(2000, 40, 3);
    for (const metric of ['euclidean', 'cosine'] as const) {
      const got = distanceMatrixSync(x, { metric }).data;
      exactShape(got, 2000);
      expect(worstError(x, metric, false, got, run(x, metric, false, [0]))).toBeLessThanOrEqual(TOL_OLD.f64[metric]);
    }
  });
});

describe('distanceMatrix: the blocked Gram beside concurrent callers (the BLAS gate)', () => {
  it('threaded and small calls at once: every result as when alone; the BLAS count restored', async () => {
    // Threaded calls (≥ 1e8 flops) set the BLAS to one thread while their panels run on two
    // threads; small calls and an eigensolver run meanwhile. Each must see the count the gate
    // gave it, and the count the gate applied last must hold again once everything is done.
    const big = [randn(1100, 83, 21), randn(1200, 80, 22)];
    const small = [randn(300, 10, 23), randn(450, 30, 24)];
    const sym = randn(300, 300, 25);
    for (let i = 0; i < 300; i++)
      for (let j = 0; j < i; j++) sym.data[i * 300 + j] = sym.data[j * 300 + i] = sym.data[i * 300 + j]!;
    const alone = [...big, ...small].map((x) => distanceMatrixSync(x, { metric: 'cosine' }).data);
    const valuesAlone = eigvalshSync(sym);
    const before = nativeInfo().blasThreads;
    const [results, values] = await Promise.all([
      Promise.all([...big, ...small, ...big].map((x) => distanceMatrix(x, { metric: 'cosine' }))),
      eigvalsh(sym),
    ]);
    for (const [k, r] of results.entries()) expect(firstDifference(r.data, alone[k % 4]!)).toBe(-1);
    expect(Array.from(values)).toEqual(Array.from(valuesAlone));
    expect(nativeInfo().blasThreads).toBe(before);
  });
});

describe('distanceMatrix: the blocked Gram refuses what the one-?syrk path refuses, with its message', () => {
  it('a zero row in a later panel (cosine, angular) and a constant row (correlation): the same RangeError', () => {
    const x = randn(600, 20, 4);
    for (let k = 0; k < 20; k++) x.data[555 * 20 + k] = 0;
    for (let k = 0; k < 20; k++) x.data[560 * 20 + k] = 2.5; // constant, later: the first bad row is named
    for (const metric of ['cosine', 'angular', 'correlation'] as const) {
      const messages = [[0], [128], [128, 100]].map((layout) => {
        native()._setDistanceBlock(...(layout as [number, number?]));
        try {
          distanceMatrixSync(x, { metric });
          return 'no error';
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return (e as Error).message;
        } finally {
          native()._setDistanceBlock(-1);
        }
      });
      expect(messages[1]).toBe(messages[0]);
      expect(messages[2]).toBe(messages[0]);
      expect(messages[0]).toMatch(metric === 'correlation' ? /constant row at index 555/ : /zero row at index 555/);
    }
  });

  it('the hook rejects a bad layout with a RangeError naming it', () => {
    expect(() => native()._setDistanceBlock(-2)).toThrow(RangeError);
    expect(() => native()._setDistanceBlock(1.5)).toThrow(/block/);
    expect(() => native()._setDistanceBlock(64, -1)).toThrow(/width/);
  });
});
