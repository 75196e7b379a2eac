// Async eigvalsh/eigh on an ordinary ArrayBuffer: LAPACK works in the safety copy (eigvalsh) or
// the copy goes straight into the eigenvector output (full float64 eigh). The results must match
// the sync call's (to 1e-12 of the spectral radius for values, 1e-8 per vector entry: threaded
// BLAS may round differently if the two calls get different thread counts) and the caller's
// matrix must be left untouched, bit for bit.
import { describe, expect, it } from 'vitest';
import { eigh, eighSync, eigvalsh, eigvalshSync } from '../src/index.js';
import { randSym } from './helpers.js';

describe('async dense eigensolvers on an ordinary ArrayBuffer', () => {
  const a = randSym(400, 31); // 1.3 MB: above the tiny-call cut-off, runs on the pool
  const before = Float64Array.from(a.data);
  const spectrum = eigvalshSync(a);
  const radius = Math.max(Math.abs(spectrum[0]!), Math.abs(spectrum[spectrum.length - 1]!));
  const maxDiff = (x: Float64Array, y: Float64Array) => {
    expect(x.length).toBe(y.length);
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
    return m;
  };

  it('eigvalsh (full, ranged, float32 precision): equal to the sync call; input unchanged', async () => {
    for (const opts of [{}, { range: [10, 60] as [number, number] }, { precision: 'float32' as const }]) {
      const got = await eigvalsh(a, opts);
      expect(maxDiff(got, eigvalshSync(a, opts))).toBeLessThanOrEqual(1e-12 * radius);
      expect(Array.from(a.data)).toEqual(Array.from(before));
    }
  });

  it('eigh (full float64: the copy is the output LAPACK works in; ranged): equal to sync; input unchanged', async () => {
    for (const opts of [{}, { range: [0, 9] as [number, number] }]) {
      const got = await eigh(a, opts);
      const want = eighSync(a, opts);
      expect(maxDiff(got.values, want.values)).toBeLessThanOrEqual(1e-12 * radius);
      expect(got.vectors.data.length).toBe(want.vectors.data.length);
      expect(maxDiff(got.vectors.data, want.vectors.data)).toBeLessThanOrEqual(1e-8);
      expect(Array.from(a.data)).toEqual(Array.from(before));
    }
  });

  it('a non-symmetric or non-finite input still gets the named RangeError', async () => {
    const bad = { data: Float64Array.from(a.data), rows: 400, cols: 400 };
    bad.data[5] = bad.data[5]! + 1;
    await expect(eigh(bad)).rejects.toThrow(/Expected a symmetric matrix .* for a but received a\[0\]\[5\]/);
    bad.data[5] = Number.NaN;
    await expect(eigh(bad)).rejects.toThrow(
      /Expected finite values for a\.data but received NaN at index 5 \(row 0, column 5\)/,
    );
  });
});
