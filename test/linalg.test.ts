import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  LapackError,
  distanceMatrix,
  distanceMatrixSync,
  eigh,
  eighReduce,
  eighReduceSync,
  eighSync,
  eighVectors,
  eighVectorsSync,
  eigvalsh,
  eigvalshBatch,
  eigvalshBatchSync,
  eigvalshSync,
  getThreads,
  gramEigvalsh,
  gramEigvalshSync,
  gramSync,
  nativeInfo,
  setThreads,
  svdSync,
  svdvalsSync,
  type Mat,
  type Metric,
} from '../src/index.js';
import { native, packageRoot } from '../src/native.js';
import { dot, frobenius, matVec, maxRelErr, randSym, randn } from './helpers.js';

function toeplitz(n: number): Mat<Float64Array> {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    d[i * n + i] = 2;
    if (i > 0) d[i * n + i - 1] = d[(i - 1) * n + i] = -1;
  }
  return { data: d, rows: n, cols: n };
}

describe('eigvalsh / eigh against closed forms', () => {
  it('diagonal matrix: the sorted diagonal', () => {
    const n = 50;
    const a = { data: new Float64Array(n * n), rows: n, cols: n };
    const diag = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 10);
    for (const [i, v] of diag.entries()) a.data[i * n + i] = v;
    const want = [...diag].sort((x, y) => x - y);
    expect(maxRelErr(eigvalshSync(a), want, 1)).toBeLessThan(1e-14);
  });

  it('tridiagonal Toeplitz: 2 − 2cos(kπ/(n+1))', async () => {
    const n = 300;
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    expect(maxRelErr(await eigvalsh(toeplitz(n)), want, 1)).toBeLessThan(1e-12);
    // Eigenvectors are sin(jkπ/(n+1)) up to sign and normalisation.
    const { values, vectors } = await eigh(toeplitz(n), { range: [0, 2] });
    expect(maxRelErr(values, want.slice(0, 3), 1)).toBeLessThan(1e-12);
    for (let k = 0; k < 3; k++) {
      const v = vectors.data.subarray(k * n, (k + 1) * n);
      const s = Array.from({ length: n }, (_, j) => Math.sin(((j + 1) * (k + 1) * Math.PI) / (n + 1)));
      const c = Math.abs(dot(v, s)) / Math.sqrt(dot(s, s));
      expect(c).toBeCloseTo(1, 12);
    }
  });

  it('rank-one update c I + ρ zzᵀ: c (n−1 times) and c + ρ‖z‖²', () => {
    const n = 120,
      c = 1.5,
      rho = 0.75;
    const z = randn(n, 1, 7).data;
    const a = { data: new Float64Array(n * n), rows: n, cols: n };
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.data[i * n + j] = (i === j ? c : 0) + rho * z[i]! * z[j]!;
    const w = eigvalshSync(a);
    for (let i = 0; i < n - 1; i++) expect(Math.abs(w[i]! - c)).toBeLessThan(1e-12 * (c + rho * dot(z, z)));
    expect(w[n - 1]!).toBeCloseTo(c + rho * dot(z, z), 10);
  });

  it('random symmetric: residual ‖Av − λv‖ ≤ 1e-10‖A‖, orthonormal vectors, sign convention', () => {
    const n = 200;
    const a = randSym(n, 3);
    const { values, vectors } = eighSync(a);
    const norm = frobenius(a);
    for (let j = 0; j < n; j += 7) {
      const v = vectors.data.subarray(j * n, (j + 1) * n);
      const av = matVec(a, v);
      let r = 0;
      for (let i = 0; i < n; i++) r += (av[i]! - values[j]! * v[i]!) ** 2;
      expect(Math.sqrt(r)).toBeLessThan(1e-10 * norm);
      for (let k = 0; k < n; k += 13) {
        const u = vectors.data.subarray(k * n, (k + 1) * n);
        expect(Math.abs(dot(u, v) - (j === k ? 1 : 0))).toBeLessThan(1e-12);
      }
      let big = 0;
      for (let i = 1; i < n; i++) if (Math.abs(v[i]!) > Math.abs(v[big]!)) big = i;
      expect(v[big]!).toBeGreaterThan(0);
    }
    for (let j = 1; j < n; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
  });

  it('index ranges agree with the full solve (values and vectors)', () => {
    const n = 150;
    const a = randSym(n, 11);
    const full = eighSync(a);
    for (const [lo, hi] of [
      [0, 0],
      [0, 9],
      [70, 80],
      [n - 5, n - 1],
    ] as const) {
      const part = eighSync(a, { range: [lo, hi] });
      expect(part.values.length).toBe(hi - lo + 1);
      expect(part.vectors.rows).toBe(hi - lo + 1);
      expect(maxRelErr(part.values, full.values.subarray(lo, hi + 1), 1)).toBeLessThan(1e-12);
      expect(maxRelErr(eigvalshSync(a, { range: [lo, hi] }), full.values.subarray(lo, hi + 1), 1)).toBeLessThan(1e-12);
      for (let k = 0; k <= hi - lo; k++) {
        const c = dot(
          part.vectors.data.subarray(k * n, (k + 1) * n),
          full.vectors.data.subarray((lo + k) * n, (lo + k + 1) * n),
        );
        expect(Math.abs(c)).toBeCloseTo(1, 9);
      }
    }
  });

  it('float32 input and float32 precision', () => {
    const n = 100;
    const a64 = randSym(n, 5);
    const a32 = { data: Float32Array.from(a64.data), rows: n, cols: n };
    const exact = eigvalshSync({ data: Float64Array.from(a32.data), rows: n, cols: n });
    expect(maxRelErr(eigvalshSync(a32), exact, 1)).toBeLessThan(1e-12);
    expect(maxRelErr(eigvalshSync(a32, { precision: 'float32' }), exact, 1)).toBeLessThan(1e-4);
  });

  it('offset subarray views are read in place', () => {
    const n = 40;
    const a = randSym(n, 9);
    const big = new Float64Array(n * n + 17);
    big.set(a.data, 17);
    const view = { data: big.subarray(17), rows: n, cols: n };
    expect(Array.from(eigvalshSync(view))).toEqual(Array.from(eigvalshSync(a)));
  });
});

describe('eigh { range, allValues }: every eigenvalue and a few eigenvectors from one reduction', () => {
  // Reference: eigvalsh (?syevd) for the values, eigh(range) (?syevr) for the vectors.
  function check(
    a: Mat<Float64Array>,
    lo: number,
    hi: number,
    r: { values: Float64Array; vectors: Mat<Float64Array> },
    tol: number,
  ) {
    const n = a.rows,
      k = hi - lo + 1;
    const all = eigvalshSync(a);
    const norm = Math.max(Math.abs(all[0]!), Math.abs(all[n - 1]!));
    expect(r.values.length).toBe(n);
    for (let i = 0; i < n; i++) expect(Math.abs(r.values[i]! - all[i]!)).toBeLessThanOrEqual(tol * norm);
    for (let i = 1; i < n; i++) expect(r.values[i]!).toBeGreaterThanOrEqual(r.values[i - 1]!);
    expect([r.vectors.rows, r.vectors.cols]).toEqual([k, n]);
    const ref = eighSync(a, { range: [lo, hi] });
    for (let j = 0; j < k; j++) {
      const v = r.vectors.data.subarray(j * n, (j + 1) * n);
      const lambda = r.values[lo + j]!;
      const av = matVec(a, v);
      let res = 0;
      for (let i = 0; i < n; i++) res += (av[i]! - lambda * v[i]!) ** 2;
      expect(Math.sqrt(res)).toBeLessThanOrEqual(tol * norm * Math.sqrt(n)); // ‖Av − λv‖ ≤ tol·‖A‖·√n
      expect(Math.abs(dot(v, v) - 1)).toBeLessThan(tol * n);
      // the same vector as ?syevr's up to sign (eigenvalues of a random matrix are simple)
      const w = ref.vectors.data.subarray(j * n, (j + 1) * n);
      expect(Math.abs(Math.abs(dot(v, w)) - 1)).toBeLessThan(1e-8);
      for (let i = 0; i < j; i++)
        expect(Math.abs(dot(v, r.vectors.data.subarray(i * n, (i + 1) * n)))).toBeLessThan(tol * n);
    }
  }

  for (const [n, lo, hi] of [
    [1, 0, 0],
    [7, 0, 6],
    [60, 57, 59],
    [60, 0, 0],
    [150, 40, 44],
    [301, 296, 300],
  ] as const) {
    it(`n = ${n}, range [${lo}, ${hi}]: sync and async agree with eigvalsh + eigh(range)`, async () => {
      const a = randSym(n, n + 11);
      check(a, lo, hi, eighSync(a, { range: [lo, hi], allValues: true }), 1e-12);
      check(a, lo, hi, await eigh(a, { range: [lo, hi], allValues: true }), 1e-12);
    });
  }

  it('float32 input and precision float32: to float32 accuracy', () => {
    const a = randSym(80, 4);
    const f = { data: Float32Array.from(a.data), rows: 80, cols: 80 };
    const r = eighSync(f, { range: [75, 79], allValues: true, precision: 'float32' });
    const all = eigvalshSync(f);
    for (let i = 0; i < 80; i++) expect(Math.abs(r.values[i]! - all[i]!)).toBeLessThan(1e-5 * Math.abs(all[79]!));
    for (let j = 0; j < 5; j++) {
      const v = r.vectors.data.subarray(j * 80, (j + 1) * 80),
        av = matVec(f, v);
      let res = 0;
      for (let i = 0; i < 80; i++) res += (av[i]! - r.values[75 + j]! * v[i]!) ** 2;
      expect(Math.sqrt(res)).toBeLessThan(1e-5 * Math.abs(all[79]!));
    }
  });

  it('a degenerate spectrum (the 1D Laplacian of a ring, double eigenvalues): orthonormal vectors with small residuals', () => {
    const n = 40,
      d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      d[i * n + i] = 2;
      d[i * n + ((i + 1) % n)] = d[((i + 1) % n) * n + i] = -1;
    }
    const a = { data: d, rows: n, cols: n };
    const r = eighSync(a, { range: [n - 5, n - 1], allValues: true });
    for (let i = 0; i < n; i++) {
      // eigenvalues 2 − 2 cos(2πm/n), each of m and n − m
      const want = Array.from({ length: n }, (_, m) => 2 - 2 * Math.cos((2 * Math.PI * m) / n)).sort((x, y) => x - y);
      expect(Math.abs(r.values[i]! - want[i]!)).toBeLessThan(1e-13 * 4);
    }
    for (let j = 0; j < 5; j++) {
      const v = r.vectors.data.subarray(j * n, (j + 1) * n),
        av = matVec(a, v);
      let res = 0;
      for (let i = 0; i < n; i++) res += (av[i]! - r.values[n - 5 + j]! * v[i]!) ** 2;
      expect(Math.sqrt(res)).toBeLessThan(1e-12 * 4);
      for (let i = 0; i <= j; i++)
        expect(dot(v, r.vectors.data.subarray(i * n, (i + 1) * n))).toBeCloseTo(i === j ? 1 : 0, 12);
    }
  });

  it('without allValues the range result is unchanged; without a range allValues changes nothing; a non-boolean is a TypeError', () => {
    const a = randSym(30, 2);
    expect(eighSync(a, { range: [27, 29] }).values.length).toBe(3);
    const full = eighSync(a),
      same = eighSync(a, { allValues: true });
    expect(same.values).toEqual(full.values);
    expect(same.vectors.data).toEqual(full.vectors.data);
    expect(() => eighSync(a, { range: [0, 1], allValues: 'yes' as never })).toThrow(
      new TypeError("Expected a boolean for eigh option 'allValues' but received 'yes'"),
    );
    expect(() => eigvalshSync(a, { allValues: true } as never)).toThrow(
      new TypeError(
        "Unknown option 'allValues' for eigvalsh; valid options: 'range', 'precision', 'symmetryTolerance'",
      ),
    );
  });
});

describe('gramEigvalsh: the spectrum of a Gram matrix formed in the core', () => {
  const transposed = (m: Mat): Mat<Float64Array> => {
    const out = new Float64Array(m.rows * m.cols);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out[j * m.rows + i] = m.data[i * m.cols + j]!;
    return { data: out, rows: m.cols, cols: m.rows };
  };
  const f32 = (m: Mat): Mat<Float32Array> => ({ data: Float32Array.from(m.data), rows: m.rows, cols: m.cols });
  const same = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

  it("the values of eigvalsh(gram(x)) ('rows') and of the transpose ('columns'), bit for bit at one BLAS thread; 'smaller' by default", async () => {
    const threads = getThreads();
    setThreads(1);
    try {
      for (const x of [
        randn(40, 90, 3),
        randn(90, 40, 4),
        randn(50, 50, 5),
        f32(randn(120, 30, 6)),
        f32(randn(30, 70, 7)),
      ]) {
        const rows = gramEigvalshSync(x, { of: 'rows' });
        const cols = gramEigvalshSync(x, { of: 'columns' });
        expect(rows.length).toBe(x.rows);
        expect(cols.length).toBe(x.cols);
        expect(same(rows, eigvalshSync(gramSync(x)))).toBe(true);
        expect(same(cols, eigvalshSync(gramSync(transposed(x))))).toBe(true);
        expect(same(gramEigvalshSync(x), x.rows <= x.cols ? rows : cols)).toBe(true);
        expect(same(await gramEigvalsh(x, { of: 'columns' }), cols)).toBe(true);
      }
    } finally {
      setThreads(threads);
    }
  });

  it('shares its nonzero eigenvalues between the two sides: the squared singular values (1e-12 of the largest)', () => {
    const x = randn(70, 25, 8);
    const s = svdvalsSync(x);
    const cols = gramEigvalshSync(x, { of: 'columns' });
    const rows = gramEigvalshSync(x, { of: 'rows' });
    const top = s[0]! ** 2;
    for (let i = 0; i < 25; i++) {
      expect(Math.abs(cols[24 - i]! - s[i]! ** 2)).toBeLessThan(1e-12 * top);
      expect(Math.abs(rows[69 - i]! - s[i]! ** 2)).toBeLessThan(1e-12 * top);
    }
    for (let i = 0; i < 45; i++) expect(Math.abs(rows[i]!)).toBeLessThan(1e-12 * top); // rank 25 of 70
  });

  it('bad input: the option, the value, NaN with its index, a Gram matrix beyond float64', async () => {
    const x = randn(4, 6, 9);
    expect(() => gramEigvalshSync(x, { of: 'diag' as 'rows' })).toThrow(
      new RangeError("Expected 'smaller', 'rows' or 'columns' for gramEigvalsh option 'of' but received 'diag'"),
    );
    expect(() => gramEigvalshSync(x, { side: 'rows' } as never)).toThrow(TypeError);
    expect(() => gramEigvalshSync(x, { side: 'rows' } as never)).toThrow(/Unknown option 'side' for gramEigvalsh/);
    const bad = { ...x, data: x.data.slice() };
    bad.data[13] = Number.NaN;
    for (const of of ['rows', 'columns'] as const) {
      expect(() => gramEigvalshSync(bad, { of })).toThrow(RangeError);
      expect(() => gramEigvalshSync(bad, { of })).toThrow(/NaN/);
    }
    const huge = { ...x, data: x.data.map((v) => v * 1e200) };
    expect(() => gramEigvalshSync(huge, { of: 'columns' })).toThrow(RangeError);
    await expect(gramEigvalsh(huge)).rejects.toThrow(RangeError);
  });
});

describe('svd', () => {
  it('singular values squared are the eigenvalues of W Wᵀ; triplets reconstruct W', () => {
    for (const [r, c] of [
      [60, 90],
      [90, 60],
    ] as const) {
      const w = randn(r, c, r);
      const s = svdvalsSync(w);
      expect(s.length).toBe(Math.min(r, c));
      const ev = eigvalshSync(gramSync(w));
      const top = Array.from(ev).reverse().slice(0, s.length);
      expect(
        maxRelErr(
          Array.from(s, (x) => x * x),
          top,
          1,
        ),
      ).toBeLessThan(1e-10);
      const { s: s2, u, v } = svdSync(w);
      expect(maxRelErr(s2, s)).toBeLessThan(1e-12);
      let err = 0;
      for (let i = 0; i < r; i++)
        for (let j = 0; j < c; j++) {
          let x = 0;
          for (let k = 0; k < s2.length; k++) x += s2[k]! * u.data[k * r + i]! * v.data[k * c + j]!;
          err = Math.max(err, Math.abs(x - w.data[i * c + j]!));
        }
      expect(err).toBeLessThan(1e-11);
      // u_i is the top eigenvector of W Wᵀ.
      const top1 = eighSync(gramSync(w), { range: [r - 1, r - 1] }).vectors.data;
      expect(Math.abs(dot(top1, u.data.subarray(0, r)))).toBeCloseTo(1, 10);
    }
  });

  it('k truncates to the leading triplets', () => {
    const w = randn(30, 20, 4);
    const { s, u, v } = svdSync(w, { k: 3 });
    expect([s.length, u.rows, u.cols, v.rows, v.cols]).toEqual([3, 3, 30, 3, 20]);
    expect(maxRelErr(s, svdvalsSync(w).subarray(0, 3))).toBeLessThan(1e-12);
  });
});

function naiveDistance(x: Mat, metric: Metric): Float64Array {
  const { rows: n, cols: d } = x;
  const rowsOf = (i: number) => Array.from(x.data.subarray(i * d, (i + 1) * d));
  const prep = Array.from({ length: n }, (_, i) => {
    const r = rowsOf(i);
    if (metric === 'correlation') {
      const m = r.reduce((a, b) => a + b, 0) / d;
      return r.map((v) => v - m);
    }
    return r;
  });
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const a = prep[i]!,
        b = prep[j]!;
      let v: number;
      if (metric === 'euclidean' || metric === 'sqeuclidean') {
        let s = 0;
        for (let k = 0; k < d; k++) s += (a[k]! - b[k]!) ** 2;
        v = metric === 'euclidean' ? Math.sqrt(s) : s;
      } else {
        const c = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
        v = metric === 'angular' ? Math.acos(Math.min(1, Math.max(-1, c))) : 1 - c;
      }
      out[i * n + j] = i === j ? 0 : v;
    }
  return out;
}

/**
 * Reference without cancellation: differences of rows, never 1 − cos. For unit vectors,
 * x_i/n_i − x_j/n_j = δ/n_i + x_j (n_j − n_i)/(n_i n_j) with n_j − n_i = −δ·(x_i + x_j)/(n_i + n_j).
 */
function stableDistance(x: Mat, metric: Metric): Float64Array {
  const { rows: n, cols: d } = x;
  const prep = Array.from({ length: n }, (_, i) => {
    const r = Array.from(x.data.subarray(i * d, (i + 1) * d));
    if (metric !== 'correlation') return r;
    const m = r.reduce((a, b) => a + b, 0) / d;
    return r.map((v) => v - m);
  });
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const a = prep[i]!,
        b = prep[j]!;
      let s = 0;
      if (metric === 'euclidean' || metric === 'sqeuclidean') {
        for (let k = 0; k < d; k++) s += (a[k]! - b[k]!) ** 2;
        out[i * n + j] = metric === 'euclidean' ? Math.sqrt(s) : s;
        continue;
      }
      const na = Math.sqrt(dot(a, a)),
        nb = Math.sqrt(dot(b, b));
      let dn = 0;
      for (let k = 0; k < d; k++) dn -= (a[k]! - b[k]!) * (a[k]! + b[k]!);
      const c = dn / (na + nb) / (na * nb);
      for (let k = 0; k < d; k++) s += ((a[k]! - b[k]!) / na + b[k]! * c) ** 2;
      out[i * n + j] = metric === 'angular' ? 2 * Math.asin(Math.sqrt(s) / 2) : s / 2;
    }
  return out;
}

describe('distanceMatrix', () => {
  const metrics: Metric[] = ['euclidean', 'sqeuclidean', 'cosine', 'angular', 'correlation'];
  const x = randn(300, 37, 21);

  for (const metric of metrics) {
    it(`${metric}: matches a naive loop to 1e-12 relative; zero diagonal, exact symmetry`, async () => {
      const want = naiveDistance(x, metric);
      const got = (await distanceMatrix(x, { metric })).data;
      expect(maxRelErr(got, want, 1e-300)).toBeLessThan(1e-12);
      const n = x.rows;
      for (let i = 0; i < n; i++) {
        expect(got[i * n + i]).toBe(0);
        for (let j = 0; j < i; j++) expect(got[i * n + j]).toBe(got[j * n + i]);
      }
    });
  }

  it('near-coincident rows keep full relative accuracy (no Gram cancellation)', () => {
    const d = 16;
    const base = randn(1, d, 3).data;
    const data = new Float64Array(4 * d);
    for (let k = 0; k < d; k++) {
      data[k] = 1e3 + base[k]!;
      data[d + k] = 1e3 + base[k]! + 1e-9 * (k % 3);
      data[2 * d + k] = 1e3 + base[k]!; // exact duplicate of row 0
      data[3 * d + k] = -base[k]!;
    }
    const x4 = { data, rows: 4, cols: d };
    for (const metric of metrics) {
      const got = distanceMatrixSync(x4, { metric }).data;
      const want = stableDistance(x4, metric);
      for (let i = 0; i < 16; i++) {
        if (want[i] === 0) expect(got[i]).toBe(0);
        else expect(Math.abs(got[i]! - want[i]!) / want[i]!).toBeLessThan(1e-9);
      }
    }
    // Exact duplicates are exactly 0 apart.
    expect(distanceMatrixSync(x4, { metric: 'euclidean' }).data[2]).toBe(0);
  });

  it('float32 input matches float64 of the same values; float32 precision within 1e-5', () => {
    const x32 = { data: Float32Array.from(x.data), rows: x.rows, cols: x.cols };
    const exact = distanceMatrixSync({ data: Float64Array.from(x32.data), rows: x.rows, cols: x.cols }).data;
    expect(maxRelErr(distanceMatrixSync(x32).data, exact, 1e-300)).toBeLessThan(1e-12);
    expect(maxRelErr(distanceMatrixSync(x32, { precision: 'float32' }).data, exact, 1e-300)).toBeLessThan(1e-5);
  });

  it('writes into a caller-supplied out buffer and honours offset views', () => {
    const out = new Float64Array(50 * 50);
    const big = new Float64Array(60 * 37);
    big.set(x.data.subarray(0, 60 * 37));
    const view = { data: big.subarray(10 * 37), rows: 50, cols: 37 };
    const res = distanceMatrixSync(view, { out, metric: 'angular' });
    expect(res.data).toBe(out);
    const want = naiveDistance(view, 'angular');
    expect(maxRelErr(out, want, 1e-300)).toBeLessThan(1e-12);
  });

  it('gram is X Xᵀ', () => {
    const g = gramSync(x).data;
    const n = x.rows,
      d = x.cols;
    for (const [i, j] of [
      [0, 0],
      [3, 100],
      [299, 5],
    ] as const) {
      const want = dot(x.data.subarray(i * d, (i + 1) * d), x.data.subarray(j * d, (j + 1) * d));
      expect(Math.abs(g[i * n + j]! - want)).toBeLessThan(1e-12 * Math.abs(want) + 1e-12);
    }
  });
});

describe('batch, concurrency and threads', () => {
  it('eigvalshBatch equals the same calls in sequence', async () => {
    const mats = Array.from({ length: 12 }, (_, i) => randSym(20 + 5 * i, 100 + i));
    const batch = await eigvalshBatch(mats);
    const sync = eigvalshBatchSync(mats, { threads: 1 });
    mats.forEach((m, i) => {
      // Threaded and single-threaded BLAS round differently in the last bits.
      expect(maxRelErr(batch[i]!, eigvalshSync(m), 1)).toBeLessThan(1e-13);
      expect(maxRelErr(sync[i]!, batch[i]!, 1)).toBeLessThan(1e-13);
    });
    expect(getThreads()).toBe(nativeInfo().threads);
  });

  it('200 concurrent async calls all return the right answer', async () => {
    const mats = Array.from({ length: 200 }, (_, i) => randSym(8 + (i % 40), i));
    const want = mats.map((m) => eigvalshSync(m));
    const got = await Promise.all(mats.map((m) => eigvalsh(m)));
    for (const [i, g] of got.entries()) expect(Array.from(g)).toEqual(Array.from(want[i]!));
  });

  it('setThreads / getThreads round-trip', () => {
    const before = getThreads();
    setThreads(1);
    expect(getThreads()).toBe(1);
    setThreads(before);
    expect(getThreads()).toBe(before);
    expect(() => setThreads(0)).toThrow(RangeError);
  });

  it('nativeInfo names the BLAS and the build', () => {
    const info = nativeInfo();
    expect(info.blas).toMatch(/\S/);
    expect(['Release', 'Debug']).toContain(info.buildType);
    expect(info.hardwareThreads).toBeGreaterThanOrEqual(1);
  });
});

// Child processes exercise what vitest's own workers cannot: --expose-gc, worker_threads.
function runNode(args: string[], code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const loadAddon = `import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const addon = require('node-gyp-build')(process.cwd());`;

describe('process-level safety', () => {
  it('a GC during pending async calls neither frees pinned inputs nor crashes', () => {
    const r = runNode(
      ['--expose-gc'],
      `${loadAddon}
const n = 300;
function sym(seed) { const d = new Float64Array(n * n); let s = seed;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { s = (s * 16807) % 2147483647; d[i*n+j] = d[j*n+i] = s / 2147483647 - 0.5; }
  return d; }
const want = addon.eigvalsh({ data: sym(1), rows: n, cols: n }, undefined, false);
const pending = [];
for (let k = 0; k < 20; k++) pending.push(addon.eigvalsh({ data: sym(1), rows: n, cols: n }, undefined, true));
for (let k = 0; k < 5; k++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 1)); }
const got = await Promise.all(pending);
globalThis.gc();
console.log(got.every((g) => g.every((v, i) => v === want[i])) ? 'OK' : 'MISMATCH');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('OK');
    expect(r.status).toBe(0);
  });

  it('loads and computes in two worker_threads at once', () => {
    const r = runNode(
      [],
      `import { Worker } from 'node:worker_threads';
const src = \`const { parentPort } = require('node:worker_threads');
const addon = require('node-gyp-build')(process.cwd());
const d = new Float64Array([2, 1, 1, 2]);
addon.eigvalsh({ data: d, rows: 2, cols: 2 }, undefined, true).then((w) => parentPort.postMessage(Array.from(w)));\`;
const run = () => new Promise((res, rej) => { const w = new Worker(src, { eval: true, execArgv: [] }); w.once('message', res); w.once('error', rej); });
console.log(JSON.stringify(await Promise.all([run(), run()])));`,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([
      [1, 3],
      [1, 3],
    ]);
  });
});

describe('buffers that change under a call never crash the process', () => {
  const sym = `const n = 300; const sym = (seed) => { const d = new Float64Array(n * n); let s = seed;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { s = (s * 16807) % 2147483647; d[i*n+j] = d[j*n+i] = s / 2147483647 - 0.5; }
  return d; };
const want = addon.eigvalsh({ data: sym(1), rows: n, cols: n }, undefined, false);
const same = (w) => w.length === want.length && w.every((v, i) => v === want[i]);`;

  it('an input transferred away (structuredClone/postMessage) while an async call runs', () => {
    const r = runNode(
      ['--expose-gc'],
      `${loadAddon}
${sym}
const data = sym(1);
const p = addon.eigvalsh({ data, rows: n, cols: n }, undefined, true);
structuredClone(data.buffer, { transfer: [data.buffer] });
globalThis.gc();
console.log(same(await p) && data.length === 0 ? 'OK' : 'MISMATCH');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('OK');
  });

  it('a resizable input shrunk while an async call runs', () => {
    const r = runNode(
      [],
      `${loadAddon}
${sym}
const buf = new ArrayBuffer(n * n * 8, { maxByteLength: n * n * 8 });
const data = new Float64Array(buf);
data.set(sym(1));
const p = addon.eigvalsh({ data: data.subarray(0, n * n), rows: n, cols: n }, undefined, true);
buf.resize(0);
console.log(same(await p) ? 'OK' : 'MISMATCH');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('OK');
  });

  it('an option getter that detaches the input: a RangeError, not a crash', () => {
    const r = runNode(
      [],
      `${loadAddon}
${sym}
const data = sym(1);
const opts = { get precision() { structuredClone(data.buffer, { transfer: [data.buffer] }); return undefined; } };
try { addon.eigvalsh({ data, rows: n, cols: n }, opts, false); console.log('NO ERROR'); }
catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^RangeError: Expected length 90000 \(rows 300 x cols 300\) for a\.data but received length 0/,
    );
  });

  it('an out buffer transferred away during an async call: the call rejects, the process lives', () => {
    const r = runNode(
      [],
      `${loadAddon}
const x = { data: new Float64Array(200 * 100).map((_, i) => Math.sin(i)), rows: 200, cols: 100 };
const out = new Float64Array(200 * 200);
const p = addon.distanceMatrix(x, { out }, true);
structuredClone(out.buffer, { transfer: [out.buffer] });
try { await p; console.log('NO ERROR'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
const ok = addon.distanceMatrix({ data: new Float64Array([0, 0, 3, 4]), rows: 2, cols: 2 }, {}, false).data[1] === 5;
console.log(ok ? 'ALIVE' : 'WRONG');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/RangeError: .*option 'out' but received length 0 \(detached or resized\)\nALIVE/);
  });

  it("specdyn's own results are read in place by async calls and survive a transfer mid-call", () => {
    const r = runNode(
      ['--expose-gc'],
      `${loadAddon}
const n = 600, x = { data: new Float64Array(n * 3).map((_, i) => Math.sin(i * 1.3)), rows: n, cols: 3 };
const m = addon.distanceMatrix(x, {}, false); // 2.9 MB: pool-backed external memory
const want = addon.eigvalsh(m, undefined, false);
const p = addon.eigvalsh(m, undefined, true);
// (Node may keep external buffers attached; either way the call must complete correctly.)
try { structuredClone(m.data.buffer, { transfer: [m.data.buffer] }); } catch {}
for (let k = 0; k < 3; k++) { globalThis.gc(); await new Promise((res) => setTimeout(res, 5)); }
const got = await p;
console.log(got.every((v, i) => v === want[i]) ? 'OK' : 'MISMATCH');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('OK');
  });

  it('a SharedArrayBuffer input is read in place by async calls', () => {
    const r = runNode(
      [],
      `${loadAddon}
${sym}
const data = new Float64Array(new SharedArrayBuffer(n * n * 8));
data.set(sym(1));
console.log(same(await addon.eigvalsh({ data, rows: n, cols: n }, undefined, true)) ? 'OK' : 'MISMATCH');`,
    );
    expect(r.stdout.trim()).toBe('OK');
  });

  it('a worker_thread terminated while its async call runs does not take the process down', () => {
    const r = runNode(
      [],
      `import { Worker } from 'node:worker_threads';
const src = \`const { parentPort } = require('node:worker_threads');
const addon = require('node-gyp-build')(process.cwd());
const n = 900, d = new Float64Array(n * n);
for (let i = 0; i < n; i++) d[i * n + i] = i;
for (let k = 0; k < 4; k++) addon.eigh({ data: d, rows: n, cols: n }, undefined, true);
parentPort.postMessage('started');\`;
for (let round = 0; round < 3; round++) {
  const w = new Worker(src, { eval: true, execArgv: [] });
  await new Promise((res) => w.once('message', res));
  await w.terminate();
}
await new Promise((res) => setTimeout(res, 1500));
console.log('ALIVE');`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ALIVE');
    expect(r.status).toBe(0);
  });
});

describe('bad input gets a clear error, never a crash', () => {
  const good = randSym(4, 1);
  const cases: Array<[string, () => unknown, ErrorConstructor, RegExp]> = [
    [
      'plain Array data',
      () => eigvalshSync({ data: [1, 2, 3, 4] as never, rows: 2, cols: 2 }),
      TypeError,
      /Expected a Float64Array or Float32Array for a\.data but received Array\(4\)/,
    ],
    [
      'Int32Array data',
      () => eigvalshSync({ data: new Int32Array(4) as never, rows: 2, cols: 2 }),
      TypeError,
      /received Int32Array\(4\)/,
    ],
    [
      'not a Mat',
      () => distanceMatrixSync(new Float64Array(4) as never),
      TypeError,
      /Expected a Mat \{ data, rows, cols \} for x but received Float64Array\(4\)/,
    ],
    [
      'length mismatch',
      () => eigvalshSync({ data: new Float64Array(5), rows: 2, cols: 2 }),
      RangeError,
      /Expected length 4 \(rows 2 x cols 2\) for a\.data but received length 5/,
    ],
    [
      'zero size',
      () => svdvalsSync({ data: new Float64Array(0), rows: 0, cols: 3 }),
      RangeError,
      /for w\.rows but received 0/,
    ],
    [
      'fractional rows',
      () => gramSync({ data: new Float64Array(4), rows: 1.5, cols: 2 }),
      RangeError,
      /for x\.rows but received 1\.5/,
    ],
    [
      'non-square',
      () => eighSync({ data: new Float64Array(6), rows: 2, cols: 3 }),
      RangeError,
      /Expected a square matrix for a but received 2 x 3/,
    ],
    [
      'NaN with its index',
      () => eigvalshSync({ data: new Float64Array([1, 0, NaN, 1]), rows: 2, cols: 2 }),
      RangeError,
      /finite values for a\.data but received NaN at index 2 \(row 1, column 0\)/,
    ],
    [
      'Infinity',
      () => distanceMatrixSync({ data: new Float32Array([1, Infinity]), rows: 2, cols: 1 }),
      RangeError,
      /received Infinity at index 1/,
    ],
    [
      'asymmetric',
      () => eighSync({ data: new Float64Array([1, 2, 3, 1]), rows: 2, cols: 2 }),
      RangeError,
      /Expected a symmetric matrix/,
    ],
    [
      'range out of bounds',
      () => eigvalshSync(good, { range: [0, 4] }),
      RangeError,
      /Expected an integer in \[0, 3\] for eigvalsh option 'range'\[1\] but received 4/,
    ],
    ['range reversed', () => eighSync(good, { range: [2, 1] }), RangeError, /range'\[1\] but received 1/],
    ['range not an array', () => eighSync(good, { range: 3 as never }), TypeError, /option 'range' but received 3/],
    [
      'k too large',
      () => svdSync(randn(3, 5), { k: 4 }),
      RangeError,
      /Expected an integer in \[1, 3\] for svd option 'k' but received 4/,
    ],
    [
      'unknown metric',
      () => distanceMatrixSync(good, { metric: 'manhattan' as never }),
      RangeError,
      /option 'metric' but received 'manhattan'/,
    ],
    [
      'bad precision',
      () => distanceMatrixSync(good, { precision: 'half' as never }),
      RangeError,
      /'float64' or 'float32' for distanceMatrix option 'precision' but received 'half'/,
    ],
    [
      'zero row for cosine',
      () => distanceMatrixSync({ data: new Float64Array([0, 0, 1, 2]), rows: 2, cols: 2 }, { metric: 'cosine' }),
      RangeError,
      /non-zero norm for x \(metric 'cosine'\) but received a zero row at index 0/,
    ],
    [
      'constant row for correlation',
      () => distanceMatrixSync({ data: new Float64Array([1, 2, 3, 3]), rows: 2, cols: 2 }, { metric: 'correlation' }),
      RangeError,
      /constant row at index 1/,
    ],
    [
      'out of the wrong size',
      () => distanceMatrixSync(good, { out: new Float64Array(3) }),
      RangeError,
      /Float64Array of length 16 for distanceMatrix option 'out'/,
    ],
    [
      'out of the wrong type',
      () => distanceMatrixSync(good, { out: new Float32Array(16) as never }),
      TypeError,
      /option 'out' but received Float32Array\(16\)/,
    ],
    [
      'workspace beyond memory, refused before allocating',
      () => distanceMatrixSync({ data: new Float64Array(400_000), rows: 400_000, cols: 1 }),
      RangeError,
      /Expected a problem that fits in memory .* for x but received a 400000 x 1 matrix needing/,
    ],
    [
      'out overlapping the input',
      () => {
        const d = new Float64Array(16);
        return distanceMatrixSync({ data: d.subarray(0, 8), rows: 4, cols: 2 }, { out: d });
      },
      RangeError,
      /a buffer that does not overlap x\.data for distanceMatrix option 'out'/,
    ],
    [
      'squared distances beyond float64 (rows near 1e200; angular ones are scaled, test/hardening-native)',
      () =>
        distanceMatrixSync(
          { data: new Float64Array([1e200, 1e200, 1e200, -1e200]), rows: 2, cols: 2 },
          { metric: 'sqeuclidean' },
        ),
      RangeError,
      /Expected distances within the float64 range for x but received a largest magnitude of about 4e\+400/,
    ],
    [
      'float32 precision on values beyond float32 range',
      () => eigvalshSync({ data: new Float64Array([1e39, 0, 0, 1]), rows: 2, cols: 2 }, { precision: 'float32' }),
      RangeError,
      /within float32 range .* for a\.data \(precision 'float32'\) but received 1e\+39 at index 0/,
    ],
    ['batch: not an array', () => eigvalshBatchSync(good as never), TypeError, /Expected an array of Mats for mats/],
    [
      'batch: names the failing matrix',
      () => eigvalshBatchSync([good, { data: new Float64Array(6), rows: 2, cols: 3 }]),
      RangeError,
      /square matrix for mats\[1\]/,
    ],
  ];
  for (const [name, fn, cls, msg] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).constructor).toBe(cls);
      expect((err as Error).message).toMatch(msg);
    });
  }

  it('async calls reject (never throw synchronously) with the same classes', async () => {
    await expect(eigvalsh({ data: new Int32Array(4) as never, rows: 2, cols: 2 })).rejects.toThrow(TypeError);
    await expect(eigh({ data: new Float64Array([1, NaN, NaN, 1]), rows: 2, cols: 2 })).rejects.toThrow(RangeError);
    await expect(eigvalshBatch([good, { data: new Float64Array([1, 2, 3, 1]), rows: 2, cols: 2 }])).rejects.toThrow(
      /symmetric matrix .* for mats\[1\]/,
    );
  });

  it('LapackError carries routine and info', () => {
    const e = new LapackError('x', 'dsyevd', 3);
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.routine, e.info]).toEqual(['LapackError', 'dsyevd', 3]);
  });
});

describe('angular distance: the branch-free arccos', () => {
  it('agrees with Math.acos of the cosine over the whole range (|c| ≤ 1/2, c > 1/2, c < −1/2, antipodal) to the cosine rounding', () => {
    // 3-D rows: random directions, their exact negatives (c = −1) and pairs at 60° and 120°
    // (c = ±1/2, the branch edges); each entry is checked against Math.acos of the cosine from
    // the rows, within what the rounding of that cosine (a few 1e-16) moves arccos by.
    const rng = randn(300, 3, 41).data;
    const rows: number[][] = [];
    for (let i = 0; i < 100; i++) {
      const v = [rng[3 * i]!, rng[3 * i + 1]!, rng[3 * i + 2]!];
      rows.push(
        v,
        v.map((x) => -x),
      );
    }
    for (let i = 0; i < 50; i++) {
      const t = (i / 50) * Math.PI;
      rows.push([Math.cos(t), Math.sin(t), 0], [Math.cos(t + Math.PI / 3), Math.sin(t + Math.PI / 3), 0]);
      rows.push([Math.cos(t + (2 * Math.PI) / 3), Math.sin(t + (2 * Math.PI) / 3), 0]);
    }
    const n = rows.length;
    const x = { data: Float64Array.from(rows.flat()), rows: n, cols: 3 };
    const m = distanceMatrixSync(x, { metric: 'angular' });
    let checked = 0,
      worst = 0; // the largest error in units of its bound
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const a = rows[i]!,
          b = rows[j]!;
        const c = Math.max(-1, Math.min(1, dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))));
        if (i === j || 1 - c < 1e-3) continue; // the diagonal, and close pairs (their own, direct path)
        const tol = Math.min(1e-15 + 8e-16 / Math.sqrt(Math.max(1 - c * c, 1e-32)), 3e-8);
        worst = Math.max(worst, Math.abs(m.data[i * n + j]! - Math.acos(c)) / tol);
        checked++;
      }
    expect(worst).toBeLessThanOrEqual(1);
    expect(checked).toBeGreaterThan(0.9 * n * n);
    // antipodal rows: π, to the rounding of π itself
    expect(Math.abs(m.data[0 * n + 1]! - Math.PI)).toBeLessThan(3e-8);
  });
});

describe('eighReduce + eighVectors: values first, then the eigenvectors of any range from one reduction', () => {
  // Reference: eigvalsh (?syevd) for the values, eigh(range) (?syevr, its own reduction) for the vectors.
  function checkVectors(a: Mat, values: Float64Array, lo: number, vecs: Mat<Float64Array>, k: number, tol: number) {
    const n = a.rows;
    expect([vecs.rows, vecs.cols]).toEqual([k, n]);
    const norm = Math.max(Math.abs(values[0]!), Math.abs(values[n - 1]!), 1e-300);
    for (let j = 0; j < k; j++) {
      const v = vecs.data.subarray(j * n, (j + 1) * n);
      const av = matVec(a, v);
      let res = 0;
      for (let i = 0; i < n; i++) res += (av[i]! - values[lo + j]! * v[i]!) ** 2;
      expect(Math.sqrt(res)).toBeLessThanOrEqual(tol * norm * Math.sqrt(n)); // ‖Av − λv‖ ≤ tol·‖A‖·√n
      for (let i = 0; i <= j; i++)
        expect(Math.abs(dot(v, vecs.data.subarray(i * n, (i + 1) * n)) - (i === j ? 1 : 0))).toBeLessThan(tol * n);
      let big = 0;
      for (let i = 1; i < n; i++) if (Math.abs(v[i]!) > Math.abs(v[big]!)) big = i;
      expect(v[big]!).toBeGreaterThan(0);
    }
  }

  for (const n of [1, 2, 7, 33, 130]) {
    it(`n = ${n}: every value as eigvalsh, vectors of k = 0, 1, a middle range and k = n as eigh(range)`, async () => {
      const a = randSym(n, 3 * n + 1);
      const red = eighReduceSync(a);
      expect(red.n).toBe(n);
      expect(red.precision).toBe('float64');
      const all = eigvalshSync(a);
      const norm = Math.max(Math.abs(all[0]!), Math.abs(all[n - 1]!));
      expect(red.values.length).toBe(n);
      for (let i = 0; i < n; i++) expect(Math.abs(red.values[i]! - all[i]!)).toBeLessThanOrEqual(1e-13 * norm);
      const mid = Math.floor(n / 3),
        hiMid = Math.min(n - 1, mid + 4);
      for (const [lo, hi] of [
        [0, -1],
        [n, n - 1],
        [n - 1, n - 1],
        [mid, hiMid],
        [0, n - 1],
      ] as const) {
        const k = hi - lo + 1;
        const v = eighVectorsSync(red, { range: [lo, hi] });
        checkVectors(a, red.values, lo, v, k, 1e-12);
        if (k === 0) continue;
        // the same vectors as ?syevr's up to sign (the eigenvalues of a random matrix are simple) …
        const ref = eighSync(a, { range: [lo, hi] });
        for (let j = 0; j < k; j++)
          expect(
            Math.abs(
              Math.abs(dot(v.data.subarray(j * n, (j + 1) * n), ref.vectors.data.subarray(j * n, (j + 1) * n))) - 1,
            ),
          ).toBeLessThan(1e-8);
        // … and exactly those of eigh { range, allValues } (the same reduction), sync and async
        const one = eighSync(a, { range: [lo, hi], allValues: true });
        expect(Array.from(v.data)).toEqual(Array.from(one.vectors.data));
        expect(Array.from(one.values)).toEqual(Array.from(red.values));
        const va = await eighVectors(red, { range: [lo, hi] });
        expect(Array.from(va.data)).toEqual(Array.from(v.data));
      }
      const ra = await eighReduce(a);
      expect(Array.from(ra.values)).toEqual(Array.from(red.values));
    });
  }

  it('several ranges of one reduction at once (async), each as it would be alone; the input may change after eighReduce', async () => {
    const a = randSym(90, 17);
    const copy = { data: a.data.slice(), rows: 90, cols: 90 };
    const red = await eighReduce(a);
    a.data.fill(0); // the reduction is the matrix as it was
    const ranges: [number, number][] = [
      [0, 4],
      [10, 29],
      [85, 89],
      [0, 89],
    ];
    const got = await Promise.all(ranges.map((range) => eighVectors(red, { range })));
    for (const [i, [lo, hi]] of ranges.entries()) {
      checkVectors(copy, red.values, lo, got[i]!, hi - lo + 1, 1e-12);
      expect(Array.from(got[i]!.data)).toEqual(Array.from(eighVectorsSync(red, { range: [lo, hi] }).data));
    }
  });

  it('clustered and degenerate spectra: a block of equal entries (the distances of ReLU rows mapped to zero) and the ring Laplacian', () => {
    // 40 of 60 probes at one point (pairwise distance 0 among them would be a zero block; here
    // π/2 to every other, as the angular distance reads zero rows) give an eigenvalue of
    // multiplicity 39 and a tight cluster, where ?stemr may give up and bisection takes over.
    const n = 60,
      z = 40,
      m = new Float64Array(n * n);
    const x = randn(n - z, 5, 8).data;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        if (i < z || j < z) m[i * n + j] = Math.PI / 2;
        else {
          const a = x.subarray((i - z) * 5, (i - z + 1) * 5),
            b = x.subarray((j - z) * 5, (j - z + 1) * 5);
          m[i * n + j] = Math.acos(Math.max(-1, Math.min(1, dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b)))));
        }
      }
    const a = { data: m, rows: n, cols: n };
    const red = eighReduceSync(a);
    const all = eigvalshSync(a);
    for (let i = 0; i < n; i++) expect(Math.abs(red.values[i]! - all[i]!)).toBeLessThan(1e-12 * Math.abs(all[n - 1]!));
    checkVectors(a, red.values, 0, eighVectorsSync(red, { range: [0, n - 1] }), n, 1e-12);
    checkVectors(a, red.values, 5, eighVectorsSync(red, { range: [5, 44] }), 40, 1e-12);
    const ring = new Float64Array(40 * 40);
    for (let i = 0; i < 40; i++) {
      ring[i * 40 + i] = 2;
      ring[i * 40 + ((i + 1) % 40)] = ring[((i + 1) % 40) * 40 + i] = -1;
    }
    const r = { data: ring, rows: 40, cols: 40 };
    const rr = eighReduceSync(r);
    const want = Array.from({ length: 40 }, (_, q) => 2 - 2 * Math.cos((2 * Math.PI * q) / 40)).sort((p, q) => p - q);
    for (let i = 0; i < 40; i++) expect(Math.abs(rr.values[i]! - want[i]!)).toBeLessThan(4e-13);
    checkVectors(r, rr.values, 30, eighVectorsSync(rr, { range: [30, 39] }), 10, 1e-12);
  });

  it('where ?stemr fails, bisection and inverse iteration (?stebz + ?stein) give the same pairs', () => {
    // ?stemr fails only on rare tight clusters; the test hook makes the next call count as failed.
    const a = randSym(50, 23);
    const red = eighReduceSync(a);
    const mrrr = eighVectorsSync(red, { range: [3, 12] });
    native().__injectFault('stemr');
    let bisected: Mat<Float64Array>;
    try {
      bisected = eighVectorsSync(red, { range: [3, 12] });
    } finally {
      native().__injectFault('none');
    }
    checkVectors(a, red.values, 3, bisected, 10, 1e-12);
    for (
      let j = 0;
      j < 10;
      j++ // the same vectors (simple eigenvalues, both with the sign rule)
    )
      for (let i = 0; i < 50; i++)
        expect(Math.abs(bisected.data[j * 50 + i]! - mrrr.data[j * 50 + i]!)).toBeLessThan(1e-9);
  });

  it('float32: values and vectors to float32 accuracy', () => {
    const a = randSym(70, 5);
    const f = { data: Float32Array.from(a.data), rows: 70, cols: 70 };
    const red = eighReduceSync(f, { precision: 'float32' });
    expect(red.precision).toBe('float32');
    const all = eigvalshSync(f);
    for (let i = 0; i < 70; i++) expect(Math.abs(red.values[i]! - all[i]!)).toBeLessThan(1e-5 * Math.abs(all[69]!));
    checkVectors(f, red.values, 60, eighVectorsSync(red, { range: [60, 69] }), 10, 2e-6);
  });

  it('bad input: clear errors naming the argument and the value', async () => {
    const a = randSym(6, 2);
    const red = eighReduceSync(a);
    expect(() => eighVectorsSync(red, { range: [0, 6] })).toThrow(
      new RangeError("Expected an integer in [-1, 5] for eighVectors option 'range'[1] but received 6"),
    );
    expect(() => eighVectorsSync(red, { range: [-1, 2] })).toThrow(
      new RangeError("Expected an integer in [0, 6] for eighVectors option 'range'[0] but received -1"),
    );
    expect(() => eighVectorsSync(red, { range: [4, 2] })).toThrow(
      new RangeError("Expected an integer in [3, 5] for eighVectors option 'range'[1] but received 2"),
    );
    expect(() => eighVectorsSync(red, { range: [1.5, 2] })).toThrow(RangeError);
    expect(() => eighVectorsSync(red, {} as never)).toThrow(
      new TypeError(
        "Expected an array [lo, hi] of two eigenvalue indices for eighVectors option 'range' but received undefined",
      ),
    );
    expect(() => eighVectorsSync(red, { range: [0, 1], k: 2 } as never)).toThrow(TypeError);
    expect(() =>
      eighVectorsSync({ values: red.values, n: 6, precision: 'float64', handle: {} }, { range: [0, 1] }),
    ).toThrow(new TypeError('Expected the handle of an eighReduce result for reduction.handle but received an object'));
    expect(() => eighVectorsSync(null as never, { range: [0, 1] })).toThrow(
      new TypeError('Expected an EighReduction (the result of eighReduce) for reduction but received null'),
    );
    await expect(eighVectors(red, { range: [0, 7] })).rejects.toThrow(RangeError);
    expect(() => eighReduceSync({ data: new Float64Array(6), rows: 2, cols: 3 })).toThrow(RangeError);
    const nan = { data: a.data.slice(), rows: 6, cols: 6 };
    nan.data[7] = Number.NaN;
    expect(() => eighReduceSync(nan)).toThrow(RangeError);
    const asym = { data: a.data.slice(), rows: 6, cols: 6 };
    asym.data[1]! += 1;
    expect(() => eighReduceSync(asym)).toThrow(RangeError);
    expect(() => eighReduceSync(a, { range: [0, 1] } as never)).toThrow(TypeError);
    await expect(eighReduce(asym)).rejects.toThrow(RangeError);
  });
});
