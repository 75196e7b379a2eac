// The Sync twins of weightSpectrum and iidResampleNull run the same body as the async calls:
// same numbers bit for bit on every route, same errors (thrown instead of rejected).
import { describe, expect, it } from 'vitest';
import { randn } from './helpers.js';
import {
  clusterTemplate,
  iidResampleNull,
  iidResampleNullSync,
  weightSpectrum,
  weightSpectrumSync,
} from '../src/index.js';

/** Deep equality that treats typed arrays element-wise and NaN as equal to NaN. */
function expectSame(a: unknown, b: unknown, path = 'result'): void {
  if (ArrayBuffer.isView(a)) {
    expect(ArrayBuffer.isView(b), path).toBe(true);
    expect(Array.from(a as Float64Array), path).toEqual(Array.from(b as Float64Array));
  } else if (a !== null && typeof a === 'object') {
    expect(Object.keys(b as object).sort(), path).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a))
      expectSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    expect(b, path).toEqual(a); // toEqual: NaN equals NaN
  }
}

describe('weightSpectrumSync', () => {
  it('full route with the shuffled baseline: the async row exactly', async () => {
    const w = randn(80, 160, 11);
    const opts = { randomize: { replicas: 2, seed: 3 }, bootstrap: 30 };
    expectSame(await weightSpectrum(w, opts), weightSpectrumSync(w, opts));
  });

  it('partial route and kernel input: the async row exactly', async () => {
    const w = randn(300, 120, 12);
    const opts = { route: 'partial' as const, topK: 8, kernel: true, bootstrap: 0 };
    const a = await weightSpectrum(w, opts);
    expect(a.route).toBe('partial');
    expect(a.N).toBe(120);
    expectSame(a, weightSpectrumSync(w, opts));
  });

  it('throws what the async call rejects with', async () => {
    const w = randn(20, 30, 1);
    const msg =
      "Expected route 'full' (the shuffled baseline needs full spectra) for randomize with route 'partial' but received true";
    await expect(weightSpectrum(w, { route: 'partial', randomize: true })).rejects.toThrow(new RangeError(msg));
    expect(() => weightSpectrumSync(w, { route: 'partial', randomize: true })).toThrow(new RangeError(msg));
    expect(() => weightSpectrumSync({ data: new Float64Array(3), rows: 2, cols: 2 })).toThrow(RangeError);
  });
});

describe('iidResampleNullSync', () => {
  it('shuffle and subsample nulls: the async result exactly', async () => {
    const t = clusterTemplate({ n: 120, k: 4, dim: 16, seed: 2 });
    for (const opts of [
      { replicas: 3, seed: 5, metric: 'euclidean' as const },
      { replicas: 2, method: 'subsample' as const, fraction: 0.6 },
    ]) {
      expectSame(await iidResampleNull(t.reps, opts), iidResampleNullSync(t.reps, opts));
    }
  });

  it('throws what the async call rejects with', async () => {
    const reps = randn(10, 4, 1);
    await expect(iidResampleNull(reps, { fraction: 0.3, method: 'subsample' })).rejects.toThrow(RangeError);
    expect(() => iidResampleNullSync(reps, { fraction: 0.3, method: 'subsample' })).toThrow(
      new RangeError('Expected a subsample of at least 4 probes for fraction but received 0.3'),
    );
  });
});
