// The error model: unknown options, error classes and kinds, message dialect, async stacks.
import { describe, expect, it } from 'vitest';
import * as linalg from '../src/linalg/index.js';
import { AbortError, LapackError, NoConvergenceError, SpecdynError } from '../src/errors.js';
import { checkOptions } from '../src/validate.js';
import { randSym, randn } from './helpers.js';

describe('checkOptions', () => {
  it('names the function, the unknown key and the nearest valid key', () => {
    expect(() => checkOptions('distanceMatrix', { precison: 'float32' }, ['precision', 'out', 'metric'])).toThrow(
      new TypeError("Unknown option 'precison' for distanceMatrix; did you mean 'precision'?"),
    );
    // an adjacent transposition counts as one edit
    expect(() => checkOptions('distanceMatrix', { metirc: 'cosine' }, ['precision', 'out', 'metric'])).toThrow(
      new TypeError("Unknown option 'metirc' for distanceMatrix; did you mean 'metric'?"),
    );
    // nothing close: every valid key is listed
    expect(() => checkOptions('svdvals', { k: 1 }, ['precision'])).toThrow(
      new TypeError("Unknown option 'k' for svdvals; valid options: 'precision'"),
    );
  });

  it('accepts undefined, null and known keys; rejects arrays, functions, typed arrays and primitives', () => {
    expect(() => checkOptions('f', undefined, ['a'])).not.toThrow();
    expect(() => checkOptions('f', null, ['a'])).not.toThrow();
    expect(() => checkOptions('f', { a: 1 }, ['a'])).not.toThrow();
    for (const bad of [[], () => 0, new Float64Array(2), 3, 'x', true]) {
      expect(() => checkOptions('f', bad, ['a'])).toThrow(TypeError);
    }
    expect(() => checkOptions('f', [], ['a'])).toThrow(
      new TypeError('Expected an options object for f options but received Array(0)'),
    );
    expect(() => checkOptions('f', () => 0, ['a'])).toThrow(
      new TypeError('Expected an options object for f options but received a function'),
    );
  });
});

describe('unknown options in linalg: sync and async twins agree', () => {
  const a = randSym(4, 1);
  const x = randn(4, 3, 2);
  const cases: [string, (o: never) => unknown, (o: never) => Promise<unknown>, object, string][] = [
    ['gram', (o) => linalg.gramSync(x, o), (o) => linalg.gram(x, o), { precison: 'float32' }, 'precision'],
    [
      'distanceMatrix',
      (o) => linalg.distanceMatrixSync(x, o),
      (o) => linalg.distanceMatrix(x, o),
      { metirc: 'cosine' },
      'metric',
    ],
    ['eigvalsh', (o) => linalg.eigvalshSync(a, o), (o) => linalg.eigvalsh(a, o), { rnage: [0, 1] }, 'range'],
    ['eigh', (o) => linalg.eighSync(a, o), (o) => linalg.eigh(a, o), { symmetryTolerence: 1 }, 'symmetryTolerance'],
    ['svd', (o) => linalg.svdSync(x, o), (o) => linalg.svd(x, o), { kk: 1 }, 'k'],
    [
      'eigvalshBatch',
      (o) => linalg.eigvalshBatchSync([a], o),
      (o) => linalg.eigvalshBatch([a], o),
      { thread: 1 },
      'threads',
    ],
    ['eigsh', (o) => linalg.eigshSync(a, o), (o) => linalg.eigsh(a, o), { whcih: 'largest' }, 'which'],
    ['svds', (o) => linalg.svdsSync(x, o), (o) => linalg.svds(x, o), { tool: 1e-8 }, 'tol'],
    [
      'spectralDensity',
      (o) => linalg.spectralDensitySync(a, o),
      (o) => linalg.spectralDensity(a, o),
      { prboes: 4 },
      'probes',
    ],
  ];
  for (const [fn, sync, async, opts, near] of cases) {
    it(`${fn}: ${JSON.stringify(opts)}`, async () => {
      const key = Object.keys(opts)[0]!;
      const err = new TypeError(`Unknown option '${key}' for ${fn}; did you mean '${near}'?`);
      expect(() => sync(opts as never)).toThrow(err);
      await expect(async(opts as never)).rejects.toThrow(err);
    });
  }

  it("svdvals takes only 'precision' (svdvalsSync(a, { k: 1 }) is refused)", async () => {
    const err = new TypeError("Unknown option 'k' for svdvals; valid options: 'precision'");
    expect(() => linalg.svdvalsSync(x, { k: 1 } as never)).toThrow(err);
    await expect(linalg.svdvals(x, { k: 1 } as never)).rejects.toThrow(err);
  });

  it('iterative sync twins reject what the async twins reject (array/function options, bad signal/onProgress)', async () => {
    const pairs: [string, (o: never) => unknown, (o: never) => Promise<unknown>][] = [
      ['eigsh', (o) => linalg.eigshSync(a, o), (o) => linalg.eigsh(a, o)],
      ['svds', (o) => linalg.svdsSync(x, o), (o) => linalg.svds(x, o)],
      ['spectralDensity', (o) => linalg.spectralDensitySync(a, o), (o) => linalg.spectralDensity(a, o)],
    ];
    for (const [fn, sync, async] of pairs) {
      const bad: [unknown, string][] = [
        [[], `Expected an options object for ${fn} options but received Array(0)`],
        [() => 0, `Expected an options object for ${fn} options but received a function`],
        [{ signal: 42 }, `Expected an AbortSignal for ${fn} option 'signal' but received 42`],
        [{ onProgress: 'x' }, `Expected a function for ${fn} option 'onProgress' but received 'x'`],
      ];
      for (const [o, msg] of bad) {
        expect(() => sync(o as never)).toThrow(new TypeError(msg));
        await expect(async(o as never)).rejects.toThrow(new TypeError(msg));
      }
    }
  });
});

describe('error classes', () => {
  it('LapackError tells an illegal argument (info < 0, a bug) from a numerical failure (info > 0) by kind and code', () => {
    const bug = new LapackError('m', 'dsyevd', -3),
      num = new LapackError('m', 'dsyevd', 7);
    expect([bug.kind, bug.code, bug.name]).toEqual(['illegalArgument', 'ERR_LAPACK_ILLEGAL_ARGUMENT', 'LapackError']);
    expect([num.kind, num.code]).toEqual(['numerical', 'ERR_LAPACK_NUMERICAL']);
    expect(bug).toBeInstanceOf(SpecdynError);
  });

  it('svds out of restarts: NoConvergenceError with the converged singular triplets (u, v, residuals)', async () => {
    // Four spikes of W = G + spikes converge quickly; the bulk-edge triplets 5..8 do not.
    const r = 200,
      c = 300;
    const w = randn(r, c, 5);
    for (let i = 0; i < 4; i++) w.data[i * c + i]! += 80 - 10 * i;
    const exact = linalg.svdvalsSync(w);
    for (const run of [
      () => linalg.svdsSync(w, { k: 8, blockSize: 4, basisSize: 24, maxRestarts: 8 }),
      () => linalg.svds(w, { k: 8, blockSize: 4, basisSize: 24, maxRestarts: 8 }),
    ]) {
      let e: NoConvergenceError | undefined;
      try {
        await run();
      } catch (x) {
        e = x as NoConvergenceError;
      }
      expect(e).toBeInstanceOf(NoConvergenceError);
      expect(e!.message).toMatch(/^Expected svds to converge within 8 restarts but received \d of 8 pairs converged/);
      expect(e!.routine).toBe('svds');
      const k = e!.converged;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(8);
      expect([e!.values.length, e!.u!.rows, e!.u!.cols, e!.v!.rows, e!.v!.cols]).toEqual([k, k, r, k, c]);
      for (let i = 0; i < k; i++) {
        expect(Math.abs(e!.values[i]! - exact[i]!)).toBeLessThan(1e-9 * exact[0]!);
        // W v_i = s_i u_i
        const v = e!.v!.data.subarray(i * c, (i + 1) * c),
          u = e!.u!.data.subarray(i * r, (i + 1) * r);
        let res = 0;
        for (let p = 0; p < r; p++) {
          let s = 0;
          for (let q = 0; q < c; q++) s += w.data[p * c + q]! * v[q]!;
          res += (s - e!.values[i]! * u[p]!) ** 2;
        }
        expect(Math.sqrt(res)).toBeLessThan(1e-8 * exact[0]!);
      }
    }
  });

  it('a cancelled solve is an AbortError by kind (the native Aborted status), with the signal reason as cause', async () => {
    const ac = new AbortController();
    const reason = new Error('stop');
    const p = linalg.eigsh(randSym(1500, 3), { k: 6, tol: 2 ** -52, maxRestarts: 1_000_000, signal: ac.signal });
    setTimeout(() => ac.abort(reason), 50);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).message).toBe('eigsh was aborted');
    expect((err as AbortError).cause).toBe(reason);
  });
});
