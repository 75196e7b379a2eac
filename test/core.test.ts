import { describe, expect, it } from 'vitest';
import { checkMat, fromRows, mat, rowSlice, transpose } from '../src/matrix.js';
import { explainLoadError } from '../src/native.js';
import { Rng } from '../src/random.js';
import { describe as describeValue, expected } from '../src/errors.js';

describe('Rng', () => {
  it('same seed and stream → bit-identical streams; other streams differ', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(42, 1),
      d = new Rng(43);
    const xa = Array.from({ length: 1000 }, () => a.normal());
    expect(Array.from({ length: 1000 }, () => b.normal())).toEqual(xa);
    expect(Array.from({ length: 1000 }, () => c.normal())).not.toEqual(xa);
    expect(Array.from({ length: 1000 }, () => d.normal())).not.toEqual(xa);
  });

  it('uniform and normal moments agree with theory (n = 200 000, 5-sigma bounds)', () => {
    const r = new Rng(7);
    const n = 200_000;
    let s1 = 0,
      s2 = 0,
      u1 = 0,
      s4 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s1 += z;
      s2 += z * z;
      s4 += z ** 4;
      u1 += r.uniform();
    }
    expect(Math.abs(s1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(s4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    expect(Math.abs(u1 / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
  });

  it('unitVector has unit norm; shuffle is a permutation; int stays in range', () => {
    const r = new Rng(3);
    const v = r.unitVector(17);
    expect(Math.hypot(...v)).toBeCloseTo(1, 14);
    const p = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(k >= 0 && k < 7 && Number.isInteger(k)).toBe(true);
    }
  });

  it('shuffle draws exactly int(i + 1) for i = n − 1 … 1 and leaves the stream where those draws end', () => {
    for (const [seed, stream, n] of [
      [3, 0, 1],
      [3, 0, 2],
      [11, 4, 500],
      [-7, 2, 1037],
    ] as const) {
      const a = new Rng(seed, stream),
        b = new Rng(seed, stream);
      const got = a.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      const ref = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = b.int(i + 1);
        [ref[i], ref[j]] = [ref[j]!, ref[i]!];
      }
      expect(Array.from(got)).toEqual(ref);
      expect([a.nextUint32(), a.uniform(), a.normal()]).toEqual([b.nextUint32(), b.uniform(), b.normal()]);
    }
  });

  it('permutation fills the identity shuffled by shuffle: the same result and the same draws (any previous content)', () => {
    for (const [seed, stream, n] of [
      [3, 0, 0],
      [3, 0, 1],
      [11, 4, 500],
      [-7, 2, 1037],
    ] as const) {
      const a = new Rng(seed, stream),
        b = new Rng(seed, stream);
      const got = a.permutation(new Int32Array(n).fill(-5));
      const ref = b.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      expect(Array.from(got)).toEqual(Array.from(ref));
      expect([a.nextUint32(), a.uniform()]).toEqual([b.nextUint32(), b.uniform()]);
    }
  });

  it('rejects a non-integer seed', () => {
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(NaN)).toThrow(/Expected an integer for seed but received NaN/);
  });
});

describe('Mat helpers', () => {
  it('fromRows, rowSlice (zero-copy), transpose', () => {
    const m = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect([m.rows, m.cols, Array.from(m.data)]).toEqual([2, 3, [1, 2, 3, 4, 5, 6]]);
    const s = rowSlice(m, 1);
    expect(s.data.buffer).toBe(m.data.buffer);
    expect(Array.from(s.data)).toEqual([4, 5, 6]);
    expect(Array.from(transpose(m).data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('checkMat / mat raise exact classes', () => {
    expect(() => checkMat([1, 2], 'x')).toThrow(TypeError);
    expect(() => mat(new Float64Array(5), 2, 2)).toThrow(
      /Expected length 4 \(rows 2 x cols 2\) for mat\.data but received length 5/,
    );
    expect(() => mat(new Float64Array(4), 0, 4)).toThrow(RangeError);
    expect(() => fromRows([[1, 2], [3]])).toThrow(/Expected rows of length 2 for rows\[1\] but received Array\(1\)/);
    expect(() => rowSlice(fromRows([[1], [2]]), 2)).toThrow(RangeError);
  });

  it('message helper', () => {
    expect(expected('a positive integer', 'n', -1)).toBe('Expected a positive integer for n but received -1');
    expect(describeValue(new Int32Array(3))).toBe('Int32Array(3)');
    expect(describeValue('x'.repeat(50))).toMatch(/^'x{40}\.\.\.'$/);
  });
});

describe('load errors name the cause and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'libopenblas.so.0: cannot open shared object file: No such file or directory',
      /libopenblas\.so\.0 is missing.*apt-get install -y libopenblas-dev liblapacke-dev/,
    ],
    ['libgfortran.so.5: cannot open shared object file', /libgfortran5/],
    ["/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found", /newer C\/C\+\+ runtime.*build from source/],
    ['No native build was found for platform=linux arch=x64', /no compiled addon.*npm run build:native/],
    ['invalid ELF header', /another platform/],
  ];
  for (const [msg, want] of cases) {
    it(msg.slice(0, 40), () => {
      const text = explainLoadError(new Error(msg));
      expect(text).toMatch(want);
      expect(text).toContain(`Original error: ${msg}`);
    });
  }
});
