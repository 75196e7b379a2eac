/**
 * The array type of the readers and the element decoders they share. Every reader returns
 * row-major (C order) data: float32 sources stay Float32Array (exact, half the memory), every
 * other dtype becomes Float64Array: float16 and bfloat16 exactly (subnormals, ±Infinity and NaN
 * included), float64 as is, integers (8–64 bit, signed or not) and booleans (0/1) by value —
 * 64-bit integers beyond ±2^53 are rounded to the nearest float64.
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';

/** An n-dimensional array read from a file. */
export interface NdArray {
  /** Row-major (C order) values; Float32Array for float32 sources, Float64Array otherwise. */
  data: Float64Array | Float32Array;
  /** Shape, outermost first ([] for a scalar). */
  shape: number[];
  /** The source dtype as the file spells it ('<f2', '>i8', 'BF16', …). */
  dtype: string;
}

/** Element kinds the readers decode. */
export type ElementKind = 'f2' | 'bf2' | 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';

/** True on little-endian hosts (all Node platforms today). */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element. */
export const ITEM_SIZE: Record<ElementKind, number> = {
  f2: 2,
  bf2: 2,
  f4: 4,
  f8: 8,
  i1: 1,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
  u2: 2,
  u4: 4,
  u8: 8,
  b1: 1,
};

/** IEEE 754 binary16 bits → number (exact). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits (the upper half of a binary32) → number (exact). */
export function bfloat16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/**
 * Decodes `count` elements of `kind` from `bytes` (little-endian unless `bigEndian`), in file
 * order. Float32 gives a Float32Array, everything else a Float64Array.
 */
export function decodeElements(
  bytes: Uint8Array,
  kind: ElementKind,
  count: number,
  bigEndian: boolean,
): Float64Array | Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !bigEndian;
  if (le === LITTLE_ENDIAN_HOST && (kind === 'f4' || kind === 'f8')) {
    // Same byte order as the host: one aligned copy, no per-element decode. Copied into an
    // ArrayBuffer of its own: a Node Buffer's slice() is a view on the whole (pooled or file) buffer.
    const copy = new Uint8Array(count * ITEM_SIZE[kind]);
    copy.set(bytes.subarray(0, copy.length));
    return kind === 'f4' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
  }
  if (kind === 'f4') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, le);
    return out;
  }
  const out = new Float64Array(count);
  switch (kind) {
    case 'f8':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, le);
      break;
    case 'f2':
      for (let i = 0; i < count; i++) out[i] = halfToNumber(dv.getUint16(2 * i, le));
      break;
    case 'bf2':
      for (let i = 0; i < count; i++) out[i] = bfloat16ToNumber(dv.getUint16(2 * i, le));
      break;
    case 'i1':
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i);
      break;
    case 'u1':
      for (let i = 0; i < count; i++) out[i] = dv.getUint8(i);
      break;
    case 'b1':
      for (let i = 0; i < count; i++) out[i] = dv.getUint8(i) === 0 ? 0 : 1;
      break;
    case 'i2':
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, le);
      break;
    case 'u2':
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(2 * i, le);
      break;
    case 'i4':
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, le);
      break;
    case 'u4':
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(4 * i, le);
      break;
    case 'i8':
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(8 * i, le));
      break;
    case 'u8':
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigUint64(8 * i, le));
      break;
  }
  return out;
}

/** Product of a shape (1 for []). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reorders Fortran-order (column-major) data of `shape` into C order. */
export function fortranToC<T extends Float64Array | Float32Array>(data: T, shape: readonly number[]): T {
  const nd = shape.length;
  if (nd < 2) return data;
  const out = new (data.constructor as { new (n: number): T })(data.length);
  // Strides of the Fortran layout; walk C order with an odometer.
  const fStride = new Array<number>(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fStride[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(nd).fill(0);
  let src = 0;
  for (let i = 0; i < data.length; i++) {
    out[i] = data[src]!;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      src += fStride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= fStride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * The matrix view of an array: 2-D as is (rows = shape[0]); more dimensions flattened to
 * shape[0] x prod(rest) (a conv kernel [out, in, kh, kw] becomes out x in·kh·kw; N x C x H x W
 * activations become N x C·H·W). Shares the data.
 * @throws RangeError for fewer than 2 dimensions.
 */
export function toMat(a: NdArray, name: string): Mat {
  if (a.shape.length < 2)
    throw new RangeError(expected('an array of at least 2 dimensions', name, `shape [${a.shape.join(', ')}]`));
  const rows = a.shape[0]!;
  return { data: a.data, rows, cols: rows === 0 ? 0 : a.data.length / rows };
}
