// linalg/route.ts: the route choice, the one-body sync/async driver and the SLQ pseudo-spectrum
// (checked against the exact eigenvalues from LAPACK).
import { describe, expect, it } from 'vitest';
import { eigvalsh, eigvalshSync } from '../src/linalg/index.js';
import {
  DEFAULT_PARTIAL_ABOVE,
  call,
  chooseRoute,
  pseudoSpectrum,
  resolveRoute,
  runSteps,
  runStepsSync,
  solve,
  type Steps,
} from '../src/linalg/route.js';
import { randSym } from './helpers.js';

describe('route choice', () => {
  it('auto takes partial strictly above partialAbove; explicit routes are kept', () => {
    const auto = resolveRoute({});
    expect(auto).toEqual({ route: 'auto', partialAbove: DEFAULT_PARTIAL_ABOVE });
    expect(chooseRoute(auto, 4000)).toBe('full');
    expect(chooseRoute(auto, 4001)).toBe('partial');
    expect(chooseRoute(resolveRoute({ partialAbove: 10 }), 11)).toBe('partial');
    expect(chooseRoute(resolveRoute({ route: 'full', partialAbove: 0 }), 1e6)).toBe('full');
    expect(chooseRoute(resolveRoute({ route: 'partial' }), 5)).toBe('partial');
  });

  it('rejects bad values naming the option', () => {
    expect(() => resolveRoute({ route: 'fast' as 'full' })).toThrow(
      new RangeError("Expected 'auto', 'full' or 'partial' for route but received 'fast'"),
    );
    expect(() => resolveRoute({ partialAbove: -1 })).toThrow(
      new RangeError('Expected an integer ≥ 0 for partialAbove but received -1'),
    );
    expect(() => resolveRoute({ partialAbove: '9' as unknown as number })).toThrow(TypeError);
  });
});

describe('one body, two drivers', () => {
  function* body(log: string[]): Steps<number> {
    const a = yield* solve({
      run: async () => {
        log.push('run 1');
        return 2;
      },
      runSync: () => {
        log.push('sync 1');
        return 2;
      },
    });
    const b = yield* solve({
      run: async () => {
        log.push('run 2');
        return a * 10;
      },
      runSync: () => {
        log.push('sync 2');
        return a * 10;
      },
    });
    return a + b;
  }

  it('runSteps uses run, runStepsSync uses runSync, in order, with the same result', async () => {
    const la: string[] = [],
      ls: string[] = [];
    expect(await runSteps(body(la))).toBe(22);
    expect(runStepsSync(body(ls))).toBe(22);
    expect(la).toEqual(['run 1', 'run 2']);
    expect(ls).toEqual(['sync 1', 'sync 2']);
  });

  it('a failing solve rejects the async driver and throws from the sync one', async () => {
    function* failing(): Steps<Float64Array> {
      return yield* call(eigvalsh, eigvalshSync, { data: new Float64Array([1, 2, 3, 4]), rows: 2, cols: 2 });
    }
    await expect(runSteps(failing())).rejects.toThrow(RangeError);
    expect(() => runStepsSync(failing())).toThrow(RangeError);
  });
});

describe('pseudoSpectrum', () => {
  const n = 300;
  const a = randSym(n, 7); // GOE-like: semicircle of radius ≈ √(2n)·½·√2 ≈ 24
  const exact = eigvalshSync(a);

  it('follows the exact spectrum within 3 % of its range; async and sync agree bit for bit', async () => {
    const s = pseudoSpectrum(a, n);
    const p = s.runSync();
    expect(Array.from(await s.run())).toEqual(Array.from(p));
    const range = exact[n - 1]! - exact[0]!;
    // 32 Rademacher probes x 48 Lanczos steps: the measured worst level error is 1.4 % of the range.
    for (let i = 0; i < n; i++) expect(Math.abs(p[i]! - exact[i]!)).toBeLessThan(0.03 * range);
    for (let i = 1; i < n; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]!);
  });

  it('on an interval: quantiles of the density restricted to it', () => {
    const lo = -5,
      hi = 5;
    const p = pseudoSpectrum(a, 100, { interval: [lo, hi] }).runSync();
    const inside = Array.from(exact).filter((v) => v >= lo && v <= hi);
    for (let i = 0; i < 100; i++) {
      expect(p[i]!).toBeGreaterThanOrEqual(lo);
      expect(p[i]!).toBeLessThanOrEqual(hi);
      // The exact level at the same quantile of the restricted spectrum; 0.5 = 5 % of the interval.
      const want = inside[Math.min(inside.length - 1, Math.floor(((i + 0.5) / 100) * inside.length))]!;
      expect(Math.abs(p[i]! - want)).toBeLessThan(0.5);
    }
  });
});
