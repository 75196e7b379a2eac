/**
 * A seedable pseudo-random generator written for specdyn: xoshiro128** (32-bit state words,
 * fast in JavaScript) seeded through splitmix32, with uniform, Gaussian (Marsaglia polar) and
 * helper draws. The same seed gives bit-identical streams on every platform.
 *
 * Independent streams for replicas: `new Rng(seed, stream)` hashes (seed, stream) into the
 * state, so replica r of a sweep uses stream r and never overlaps another replica by accident.
 */
import { checkInteger } from './validate.js';

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Seedable xoshiro128** generator (see the module doc): `uniform()`, `normal()` and helpers.
 *
 * @example
 * const rng = new Rng(42, 3); // seed 42, replica stream 3
 * const z = rng.normal();
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  /**
   * seed and stream: integers (any 32-bit-representable values; default stream 0). TypeError for a
   * non-number, RangeError for a non-integer.
   */
  constructor(seed: number, stream = 0) {
    checkInteger(seed, 'seed');
    checkInteger(stream, 'stream');
    const st = { s: (seed ^ Math.imul(stream + 1, 0x632be5ab)) | 0 };
    // Mix the high bits of large seeds in too.
    st.s = (st.s + Math.floor(seed / 4294967296)) | 0;
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1) (Marsaglia polar method; one spare value cached). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Fills out with N(mean, sd²) draws and returns it. */
  fillNormal<T extends Float64Array | Float32Array>(out: T, mean = 0, sd = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + sd * this.normal();
    return out;
  }

  /** Fills out with uniform [lo, hi) draws and returns it. */
  fillUniform<T extends Float64Array | Float32Array>(out: T, lo = 0, hi = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Shuffles arr in place (Fisher–Yates: for i = length − 1 … 1, swap i with int(i + 1)) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /**
   * Fills perm with a uniform random permutation of 0 … length − 1: the identity shuffled by
   * {@link shuffle} (the same draws and the same result), in a loop of its own over one array
   * type (shuffle's loads see every array type the program shuffles).
   */
  permutation(perm: Int32Array): Int32Array {
    const n = perm.length;
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    return perm;
  }

  /** A unit vector uniform on the sphere S^(n−1), as a Float64Array of length n. */
  unitVector(n: number): Float64Array {
    const v = this.fillNormal(new Float64Array(n));
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i]! * v[i]!;
    s = Math.sqrt(s);
    for (let i = 0; i < n; i++) v[i]! /= s;
    return v;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
