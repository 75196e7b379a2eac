// Split training products (sgemmF32's `split`): two halves, one on the calling thread and one on
// specdyn's helper thread, each a single-threaded BLAS call. Checked against a float64 product
// computed here and against the same product unsplit, for every way a product is cut (rows,
// columns, output matrices), with the fused epilogue; when it must not split (small extents, one
// configured thread, a thread limit of 1); and from several threads at once (the helper is taken:
// the product runs whole on the caller, with the same result).
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { workerExecArgv } from '../src/concurrency.js';
import { getThreads, setThreadLimit, setThreads } from '../src/linalg/index.js';
import { native } from '../src/native.js';
import { Rng } from '../src/random.js';

const rng = new Rng(20261202);
const rand = (n: number): Float32Array => rng.fillUniform(new Float32Array(n), -1, 1);

interface Product {
  batch: number;
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array | null;
  act: string | null;
}

function product(batch: number, m: number, n: number, k: number, ta = false, tb = false, epilogue = false): Product {
  return {
    batch,
    m,
    n,
    k,
    ta,
    tb,
    a: rand(batch * m * k),
    b: rand(batch * k * n),
    bias: epilogue ? rand(n) : null,
    act: epilogue ? 'relu' : null,
  };
}

/** op(A)·op(B) (+ bias, relu) in float64, row-major, slice by slice. */
function reference(p: Product): Float64Array {
  const { batch, m, n, k, ta, tb, a, b } = p;
  const out = new Float64Array(batch * m * n);
  for (let s = 0; s < batch; s++) {
    const ao = s * m * k,
      bo = s * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++)
          sum += a[ao + (ta ? l * m + i : i * k + l)]! * b[bo + (tb ? j * k + l : l * n + j)]!;
        if (p.bias) sum = Math.max(0, sum + p.bias[j]!);
        out[s * m * n + i * n + j] = sum;
      }
  }
  return out;
}

function run(p: Product, split: boolean): Float32Array {
  const out = new Float32Array(p.batch * p.m * p.n).fill(Number.NaN);
  native().sgemmF32(p.a, p.b, out, p.batch, p.m, p.n, p.k, p.ta, p.tb, null, null, p.bias, p.act, null, null, 0, split);
  return out;
}

/** max |got − want| / max |want| (NaN in got counts as infinite). */
function relErr(got: Float32Array, want: Float64Array): number {
  let err = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return scale > 0 ? err / scale : err;
}

const counts = () => native()._pairThreadCounts();
/** Whether two float32 arrays hold the same bits (a byte comparison: toEqual walks 500k entries slowly). */
const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
/** Pairs of every kind so far: split, alone, stolen. */
const pairs = () => {
  const c = counts();
  return c.split + c.alone + c.stolen;
};

describe('split products on the helper thread', () => {
  const threads = getThreads();
  afterEach(() => {
    setThreads(threads);
    setThreadLimit(0);
  });

  it('cut by rows, by columns and by output matrices, every transpose, with the epilogue: the float64 product within float32 rounding', () => {
    setThreads(2);
    // 4 rows ≥ 128 (cut by rows), n ≥ 128 > m (by columns), odd extents, a batch of 3 (by matrix).
    const shapes: Array<[number, number, number, number]> = [
      [1, 200, 60, 70],
      [1, 64, 300, 50],
      [1, 131, 129, 33],
      [1, 128, 784, 256],
      [3, 40, 50, 20],
    ];
    for (const [batch, m, n, k] of shapes)
      for (const ta of [false, true])
        for (const tb of [false, true])
          for (const epilogue of [false, true]) {
            const p = product(batch, m, n, k, ta, tb, epilogue);
            const before = pairs();
            const split = run(p, true);
            expect(pairs()).toBe(before + 1); // one pair per product
            const whole = run(p, false);
            const want = reference(p);
            // k float32 products summed: a few ulps of the largest entry, split or not.
            expect(relErr(split, want)).toBeLessThan(1e-5);
            expect(relErr(whole, want)).toBeLessThan(1e-5);
          }
  });

  it('a half the helper has not started is run by the caller (stolen): the same bits as split, no wait', () => {
    setThreads(2);
    // Halves of a few milliseconds each: long enough for a released helper to wake and take its own.
    const p = product(1, 1024, 512, 256, true, false, true);
    const split = run(p, true); // the helper started, and a split reference
    // Against the product in one call (the float64 reference of this size costs seconds in JS).
    expect(relErr(split, Float64Array.from(run(p, false)))).toBeLessThan(1e-5);
    native()._holdPairThread(true);
    try {
      const c = counts();
      // The same two single-threaded calls on the same halves, both on the caller: the same bits.
      for (let r = 0; r < 3; r++) expect(sameBits(run(p, true), split)).toBe(true);
      const d = counts();
      expect([d.stolen - c.stolen, d.split - c.split, d.alone - c.alone]).toEqual([3, 0, 0]);
    } finally {
      native()._holdPairThread(false);
    }
    const c = counts();
    for (let r = 0; r < 5; r++) expect(sameBits(run(p, true), split)).toBe(true);
    const d = counts();
    expect(d.split + d.stolen - (c.split + c.stolen)).toBe(5);
    expect(d.split).toBeGreaterThan(c.split); // released: the helper takes its halves again
  });

  it('an empty sum (k = 0) gives zeros (with the bias and relu applied) when split', () => {
    setThreads(2);
    const p = product(1, 256, 64, 0, false, false, true);
    const got = run(p, true);
    expect(relErr(got, reference(p))).toBe(0);
  });

  it('runs whole when the extents are below two halves of 64, with one configured thread, or under a thread limit of 1', () => {
    setThreads(2);
    const small = product(1, 127, 127, 300);
    let c = counts();
    expect(relErr(run(small, true), reference(small))).toBeLessThan(1e-5);
    expect(counts()).toEqual(c);
    const big = product(1, 256, 256, 100);
    setThreads(1);
    c = counts();
    expect(relErr(run(big, true), reference(big))).toBeLessThan(1e-5);
    expect(counts()).toEqual(c);
    setThreads(2);
    setThreadLimit(1);
    expect(relErr(run(big, true), reference(big))).toBeLessThan(1e-5);
    expect(counts()).toEqual(c);
    setThreadLimit(0);
    run(big, true);
    expect(pairs()).toBe(c.split + c.alone + c.stolen + 1);
  });

  it('from three threads at once: every product right, each one split or whole on its caller', async () => {
    setThreads(2);
    const p = product(1, 256, 200, 120);
    const want = reference(p);
    const url = new URL('../dist/native.js', import.meta.url).href;
    const rounds = 60;
    // Each worker runs the same product `rounds` times and answers with its largest error.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then(({ native }) => {
        const { a, b, m, n, k, want, rounds } = workerData;
        let worst = 0;
        for (let r = 0; r < rounds; r++) {
          const out = new Float32Array(m * n).fill(NaN);
          native().sgemmF32(a, b, out, 1, m, n, k, false, false, null, null, null, null, null, null, 0, true);
          let e = 0, s = 0;
          for (let i = 0; i < want.length; i++) { const d = Math.abs(out[i] - want[i]); e = d !== d ? Infinity : Math.max(e, d); s = Math.max(s, Math.abs(want[i])); }
          worst = Math.max(worst, e / s);
        }
        parentPort.postMessage(worst);
      });`;
    const before = counts();
    const workers = [0, 1].map(
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(code, {
            eval: true,
            execArgv: workerExecArgv(),
            workerData: { a: p.a, b: p.b, m: p.m, n: p.n, k: p.k, want, rounds },
          });
          w.once('message', (e: number) => {
            void w.terminate();
            resolve(e);
          });
          w.once('error', reject);
        }),
    );
    let mine = 0;
    for (let r = 0; r < rounds; r++) mine = Math.max(mine, relErr(run(p, true), want));
    const errors = [mine, ...(await Promise.all(workers))];
    for (const e of errors) expect(e).toBeLessThan(1e-5);
    const after = counts();
    expect(after.split + after.alone + after.stolen - (before.split + before.alone + before.stolen)).toBe(3 * rounds);
    expect(after.split).toBeGreaterThan(before.split);
  });

  it('the helper runs in normal scheduling even when the thread that starts it is in the idle class (a fresh process)', () => {
    const nativeUrl = new URL('../dist/native.js', import.meta.url).href;
    const linalgUrl = new URL('../dist/linalg/index.js', import.meta.url).href;
    // Linux /proc/<pid>/task/<tid>/stat: field 41 is the scheduling policy (0 SCHED_OTHER, 5 SCHED_IDLE).
    const code = `
      import fs from 'node:fs';
      const { native } = await import(${JSON.stringify(nativeUrl)});
      const { setThreadIdle, setThreads } = await import(${JSON.stringify(linalgUrl)});
      const policy = (tid) => Number(fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[38]);
      setThreads(2);
      const idle = setThreadIdle();
      const f = (n) => new Float32Array(n).fill(1);
      native().sgemmF32(f(256 * 64), f(64 * 256), new Float32Array(256 * 256), 1, 256, 256, 64, false, false, null, null, null, null, null, null, 0, true);
      const tids = fs.readdirSync('/proc/self/task');
      const helper = tids.find((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'specdyn-pair');
      // Leaving SCHED_IDLE needs root or an RLIMIT_NICE that allows nice 0 (sched(7)).
      const nice = fs.readFileSync('/proc/self/limits', 'utf8').split('\\n').find((l) => l.startsWith('Max nice priority'));
      const allowed = process.getuid() === 0 || Number(nice.split(/\\s+/)[3]) >= 20;
      console.log(JSON.stringify({ idle, allowed, self: policy(process.pid), helper: helper === undefined ? null : policy(helper) }));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop()!,
    );
    if (process.platform !== 'linux') {
      expect(out.idle).toBe(false);
      return;
    }
    // The premise: the starting thread is in the idle class.
    expect(out).toMatchObject({ idle: true, self: 5 });
    // Normal scheduling where the process may leave the idle class; else the inherited class.
    expect(out.helper).toBe(out.allowed ? 0 : 5);
  });

  it('rejects a split flag that is not a boolean', () => {
    const p = { ...product(1, 4, 4, 4), split: 1 as never };
    expect(() => run(p, p.split)).toThrow(
      new TypeError("Expected a boolean for sgemmF32 argument 'split' but received 1"),
    );
  });
});
