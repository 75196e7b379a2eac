// The fused O(N²) pass of gram/distanceMatrix (one tiled, threaded sweep of the Gram triangle
// writing both triangles) against an independent float64 computation in JavaScript, at a size
// that spans several tiles with a ragged edge and runs on more than one thread; and the `out`
// loop pattern (a previous result reused as the next output, sync and async).
import { describe, expect, it } from 'vitest';
import { distanceMatrix, distanceMatrixSync, gram, gramSync, type Metric, nativeInfo } from '../src/index.js';
import { randn } from './helpers.js';

const n = 333; // 5 full 64-wide tiles and a ragged one; ≥ 256 rows: the pass is threaded
const d = 19;

/** Rows of a Gaussian matrix, with rows 7 and 200 near copies of row 3 (the close-pair path). */
function input(): { data: Float64Array; rows: number; cols: number } {
  const x = randn(n, d, 77);
  for (const [r, eps] of [
    [7, 1e-9],
    [200, 1e-5],
  ] as const)
    for (let k = 0; k < d; k++) x.data[r * d + k] = x.data[3 * d + k]! * (1 + eps * Math.sin(k + 1));
  return x;
}

/** Distances computed pair by pair in float64 from the rows: differences and dot products. */
function reference(x: { data: ArrayLike<number> }, metric: Metric): Float64Array {
  const out = new Float64Array(n * n);
  const row = (i: number) => Array.from({ length: d }, (_, k) => x.data[i * d + k]!);
  const rows = Array.from({ length: n }, (_, i) => row(i));
  const norms = rows.map((r) => Math.hypot(...r));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const a = rows[i]!,
        b = rows[j]!;
      let s2 = 0,
        ab = 0;
      for (let k = 0; k < d; k++) {
        s2 += (a[k]! - b[k]!) ** 2;
        ab += a[k]! * b[k]!;
      }
      const c = Math.min(1, Math.max(-1, ab / (norms[i]! * norms[j]!)));
      out[i * n + j] =
        metric === 'euclidean'
          ? Math.sqrt(s2)
          : metric === 'sqeuclidean'
            ? s2
            : metric === 'cosine'
              ? 1 - c
              : Math.acos(c);
    }
  return out;
}

const metrics: Metric[] = ['euclidean', 'sqeuclidean', 'cosine', 'angular'];

describe('distanceMatrix: the fused pass against an independent float64 computation', () => {
  const x = input();
  const x32 = { data: Float32Array.from(x.data), rows: n, cols: d };
  for (const metric of metrics)
    for (const precision of ['float64', 'float32'] as const) {
      it(`${metric}, precision ${precision}: within tolerance; exact zero diagonal and exact symmetry`, () => {
        // float32 precision: the input is the float32 rounding of x (the rival computes from it too).
        const src = precision === 'float64' ? x : x32;
        const got = distanceMatrixSync(src, { metric, precision }).data;
        const want = reference(src, metric);
        // Tolerances: float64 Gram with close pairs recomputed keeps ~1e-13 relative accuracy on
        // the Euclidean metrics (stated 1e-11), ~1e-15 absolute on cosine (stated 1e-12), and on
        // the angle away from 0 (stated 1e-7 absolute: acos near ±1 amplifies the rounding of
        // cos by 1/sin θ). float32 accumulation: ~1e-6 relative to the squared norms.
        const sq = Array.from({ length: n }, (_, i) => refSq(src, i));
        let worst = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const g = got[i * n + j]!,
              w = want[i * n + j]!;
            let err: number;
            if (metric === 'euclidean' || metric === 'sqeuclidean') {
              const scale =
                precision === 'float64'
                  ? Math.max(w, 1e-300)
                  : metric === 'sqeuclidean'
                    ? sq[i]! + sq[j]!
                    : Math.sqrt(sq[i]! + sq[j]!);
              err = Math.abs(g - w) / scale;
            } else err = Math.abs(g - w);
            worst = Math.max(worst, err);
          }
        const tol =
          precision === 'float64'
            ? { euclidean: 1e-11, sqeuclidean: 1e-11, cosine: 1e-12, angular: 1e-7 }[metric as 'cosine']
            : { euclidean: 3e-3, sqeuclidean: 1e-5, cosine: 1e-5, angular: 3e-3 }[metric as 'cosine'];
        expect(worst).toBeLessThanOrEqual(tol);
        for (let i = 0; i < n; i++) {
          expect(got[i * n + i]).toBe(0);
          for (let j = i + 1; j < n; j++) if (got[i * n + j] !== got[j * n + i]) expect([i, j]).toBe('symmetric');
        }
        // The near copies are resolved (not rounded to 0 by the Gram expansion).
        if (precision === 'float64' && (metric === 'euclidean' || metric === 'sqeuclidean'))
          expect(Math.abs(got[3 * n + 7]! - want[3 * n + 7]!) / want[3 * n + 7]!).toBeLessThan(1e-6);
      });
    }

  it('gram: both triangles equal the row dot products (float64 and float32), exactly symmetric', async () => {
    for (const [src, precision, tol] of [
      [x, 'float64', 1e-13],
      [x32, 'float32', 3e-6],
    ] as const) {
      const got = (await gram(src, { precision })).data;
      const sync = gramSync(src, { precision }).data;
      expect(Array.from(got)).toEqual(Array.from(sync));
      let worst = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += src.data[i * d + k]! * src.data[j * d + k]!;
          worst = Math.max(worst, Math.abs(got[i * n + j]! - s) / Math.sqrt(refSq(src, i) * refSq(src, j)));
          if (j > i && got[i * n + j] !== got[j * n + i]) expect([i, j]).toBe('symmetric');
        }
      expect(worst).toBeLessThanOrEqual(tol);
    }
  });
});

function refSq(x: { data: ArrayLike<number> }, i: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += x.data[i * d + k]! ** 2;
  return s;
}

describe('distanceMatrix: results of 16 MB and more (streaming stores)', () => {
  // n odd: every other row of out starts off a 16-byte boundary (the unaligned head is handled).
  const m = 1501,
    k = 3;
  const x = randn(m, k, 9);
  for (const precision of ['float64', 'float32'] as const)
    it(`euclidean, precision ${precision}: every entry against the direct formula; zero diagonal; symmetric`, () => {
      const src = precision === 'float64' ? x : { data: Float32Array.from(x.data), rows: m, cols: k };
      const got = distanceMatrixSync(src, { precision }).data;
      let worst = 0;
      for (let i = 0; i < m; i++) {
        expect(got[i * m + i]).toBe(0);
        for (let j = i + 1; j < m; j++) {
          let s2 = 0,
            scale = 0;
          for (let c = 0; c < k; c++) {
            s2 += (src.data[i * k + c]! - src.data[j * k + c]!) ** 2;
            scale += src.data[i * k + c]! ** 2 + src.data[j * k + c]! ** 2;
          }
          const g = got[i * m + j]!;
          if (g !== got[j * m + i]) expect([i, j]).toBe('symmetric');
          // float64: relative to the distance; float32 accumulation: to the norms (as above).
          worst = Math.max(
            worst,
            precision === 'float64' ? Math.abs(g - Math.sqrt(s2)) / Math.sqrt(s2) : Math.abs(g * g - s2) / scale,
          );
        }
      }
      expect(worst).toBeLessThanOrEqual(precision === 'float64' ? 1e-11 : 1e-5);
    });
});

describe('distanceMatrix: a previous result reused as `out`', () => {
  // 600 x 600 float64 = 2.9 MB: a pool-backed result (kernels/memory.h).
  const big = randn(600, 8, 5);
  it('sync: the same array comes back, filled as a fresh call would fill it', () => {
    let m = distanceMatrixSync(big);
    const first = m.data;
    const fresh = distanceMatrixSync(big, { metric: 'cosine' }).data;
    m = distanceMatrixSync(big, { metric: 'cosine', out: m.data });
    expect(m.data).toBe(first);
    expect(Array.from(m.data)).toEqual(Array.from(fresh));
  });

  it('async: a specdyn result passed as out is written in place (no new result, no pool growth)', async () => {
    const m = await distanceMatrix(big);
    const want = distanceMatrixSync(big, { metric: 'angular' }).data;
    const before = nativeInfo().pool;
    const again = await distanceMatrix(big, { metric: 'angular', out: m.data });
    expect(again.data).toBe(m.data);
    expect(Array.from(again.data)).toEqual(Array.from(want));
    expect(nativeInfo().pool.bytes).toBe(before.bytes);
    // An ordinary Float64Array as out still works (filled when the call completes).
    const plain = new Float64Array(600 * 600);
    const viaPlain = await distanceMatrix(big, { metric: 'angular', out: plain });
    expect(viaPlain.data).toBe(plain);
    expect(Array.from(plain)).toEqual(Array.from(want));
  });

  it('async: a transfer of an own-result out mid-call neither frees it nor loses the result', async () => {
    const m = distanceMatrixSync(big);
    const want = distanceMatrixSync(big, { metric: 'sqeuclidean' }).data;
    const p = distanceMatrix(big, { metric: 'sqeuclidean', out: m.data });
    // External (pool) buffers are copied rather than detached by a transfer; if one ever were
    // detached, the call must reject with a RangeError instead of writing freed memory.
    structuredClone(m.data.buffer, { transfer: [m.data.buffer as ArrayBuffer] });
    if (m.data.length === 600 * 600) {
      const r = await p;
      expect(r.data).toBe(m.data);
      expect(Array.from(r.data)).toEqual(Array.from(want));
    } else await expect(p).rejects.toThrow(/option 'out' but received length 0 \(detached or resized\)/);
  });
});
