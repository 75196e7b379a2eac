// Readers: every fixture is written byte by byte here from the format specs (NumPy's .npy
// format, the ZIP application note, safetensors' header layout), then read back exactly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseNpy,
  parseNpz,
  parseSafetensors,
  readNpy,
  readNpz,
  readSafetensors,
  readSafetensorsHeader,
  toMat,
} from '../src/store/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-readers-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array): string => {
  const p = path.join(root, name);
  fs.writeFileSync(p, bytes);
  return p;
};

type Put = (dv: DataView, offset: number, v: number) => void;
const PUT: Record<string, [number, (le: boolean) => Put]> = {
  f8: [8, (le) => (dv, o, v) => dv.setFloat64(o, v, le)],
  f4: [4, (le) => (dv, o, v) => dv.setFloat32(o, v, le)],
  f2: [2, (le) => (dv, o, v) => dv.setUint16(o, v, le)], // v = raw binary16 bits
  i1: [1, () => (dv, o, v) => dv.setInt8(o, v)],
  u1: [1, () => (dv, o, v) => dv.setUint8(o, v)],
  b1: [1, () => (dv, o, v) => dv.setUint8(o, v)],
  i2: [2, (le) => (dv, o, v) => dv.setInt16(o, v, le)],
  u2: [2, (le) => (dv, o, v) => dv.setUint16(o, v, le)],
  i4: [4, (le) => (dv, o, v) => dv.setInt32(o, v, le)],
  u4: [4, (le) => (dv, o, v) => dv.setUint32(o, v, le)],
  i8: [8, (le) => (dv, o, v) => dv.setBigInt64(o, BigInt(v), le)],
  u8: [8, (le) => (dv, o, v) => dv.setBigUint64(o, BigInt(v), le)],
};

/** A .npy file: magic, version, header length, dict padded to a multiple of 64 with spaces + '\n', data. */
function npy(
  descr: string,
  shape: number[],
  values: number[],
  opts: { fortran?: boolean; version?: 1 | 2 | 3; raw?: Uint8Array } = {},
): Uint8Array {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = 8 + (version === 1 ? 2 : 4);
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  let data = opts.raw;
  if (!data) {
    const code = descr.slice(1);
    const [size, put] = PUT[code]!;
    data = new Uint8Array(size * values.length);
    const dv = new DataView(data.buffer);
    const f = put(descr[0] !== '>');
    for (const [i, v] of values.entries()) f(dv, i * size, v);
  }
  const out = new Uint8Array(pre + dict.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, 'latin1'), pre);
  out.set(data, pre + dict.length);
  return out;
}

// binary16 bit patterns and their exact values.
const HALF: [number, number][] = [
  [0x0000, 0],
  [0x8000, -0],
  [0x0001, 2 ** -24],
  [0x03ff, 1023 * 2 ** -24],
  [0x0400, 2 ** -14],
  [0x3c00, 1],
  [0xc000, -2],
  [0x3555, 0.333251953125],
  [0x7bff, 65504],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
  [0x7e00, NaN],
];
// bfloat16 bit patterns (upper half of binary32) and their exact values.
const BF16: [number, number][] = [
  [0x0000, 0],
  [0x0001, 2 ** -133],
  [0x007f, 127 * 2 ** -133],
  [0x0080, 2 ** -126],
  [0x3f80, 1],
  [0xc0a0, -5],
  [0x3eab, 0.333984375],
  [0x7f7f, 3.3895313892515355e38],
  [0x7f80, Infinity],
  [0xff80, -Infinity],
  [0x7fc0, NaN],
];

describe('.npy', () => {
  it('reads float64 C order (v1), float32 big-endian Fortran order (v2), float16 both endians (v3) exactly', async () => {
    const a = await readNpy(file('a.npy', npy('<f8', [2, 3], [1, -2.5, 3e-310, 4, 5, Math.PI])));
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data)).toEqual([1, -2.5, 3e-310, 4, 5, Math.PI]);
    // Fortran order: column-major on disk; [[1, 2, 3], [4, 5, 6]] is stored 1 4 2 5 3 6.
    const b = await readNpy(file('b.npy', npy('>f4', [2, 3], [1, 4, 2, 5, 3, 6.5], { fortran: true, version: 2 })));
    expect(b.data).toBeInstanceOf(Float32Array);
    expect(Array.from(b.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(b.dtype).toBe('>f4');
    for (const order of ['<', '>']) {
      const h = parseNpy(
        npy(
          `${order}f2`,
          [HALF.length],
          HALF.map((x) => x[0]),
        ),
        'h.npy',
      );
      expect(h.data).toBeInstanceOf(Float64Array);
      expect(Array.from(h.data)).toEqual(HALF.map((x) => x[1]));
      expect(Object.is(h.data[1], -0)).toBe(true);
    }
    const v3 = parseNpy(npy('<f2', [2, 2], [0x3c00, 0x4000, 0x4200, 0x4400], { version: 3 }));
    expect(Array.from(toMat(v3, 'v3').data)).toEqual([1, 2, 3, 4]);
  });

  it('reads from a Node Buffer, also one that is a view at an offset into a larger buffer, and keeps no view on it', () => {
    const bytes = npy('<f4', [2, 3], [0, 1, 2, 3, 4.5, -5]);
    const big = Buffer.alloc(bytes.length + 13, 7);
    big.set(bytes, 13);
    for (const input of [Buffer.from(bytes), big.subarray(13)]) {
      const a = parseNpy(input, 'x.npy');
      expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4.5, -5]);
      expect(a.data.buffer).not.toBe(input.buffer); // its own memory: the caller's buffer can be reused
      expect(a.data.byteLength).toBe(a.data.buffer.byteLength);
    }
  });

  it('reads a 3-D Fortran-order array into C order', () => {
    const shape = [2, 3, 4];
    const c = Array.from({ length: 24 }, (_, i) => i); // value = C index
    // Fortran layout: element (i, j, k) at i + 2 j + 6 k.
    const f = new Array<number>(24);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) f[i + 2 * j + 6 * k] = c[i * 12 + j * 4 + k]!;
    const a = parseNpy(npy('<f8', shape, f, { fortran: true }));
    expect(Array.from(a.data)).toEqual(c);
    const m = toMat(a, 'a');
    expect([m.rows, m.cols]).toEqual([2, 12]);
  });

  it('converts integer and bool dtypes of any byte order to float64 by value', () => {
    const cases: [string, number[]][] = [
      ['|i1', [-128, 0, 127]],
      ['|u1', [0, 200, 255]],
      ['|b1', [0, 1, 0]],
      ['<i2', [-32768, 5, 32767]],
      ['>u2', [0, 1, 65535]],
      ['>i4', [-(2 ** 31), 7, 2 ** 31 - 1]],
      ['<u4', [0, 3, 2 ** 32 - 1]],
      ['<i8', [-(2 ** 53), -1, 2 ** 53]],
      ['>u8', [0, 42, 2 ** 53]],
    ];
    for (const [descr, vals] of cases) {
      const a = parseNpy(npy(descr, [3], vals), descr);
      expect(a.data).toBeInstanceOf(Float64Array);
      expect(Array.from(a.data)).toEqual(vals);
    }
    const scalar = parseNpy(npy('<f8', [], [2.5]));
    expect(scalar.shape).toEqual([]);
    expect(Array.from(scalar.data)).toEqual([2.5]);
  });

  it('refuses truncated, padded and corrupt files and unsupported dtypes, naming the file', async () => {
    const good = npy('<f8', [2, 2], [1, 2, 3, 4]);
    const cut = file('cut.npy', good.subarray(0, good.length - 3));
    await expect(readNpy(cut)).rejects.toThrow(
      `Expected 32 data bytes for shape (2, 2) of <f8 for ${cut} but received '29 bytes (truncated)'`,
    );
    await expect(readNpy(cut)).rejects.toBeInstanceOf(RangeError);
    const padded = new Uint8Array(good.length + 8);
    padded.set(good);
    expect(() => parseNpy(padded, 'p.npy')).toThrow(/trailing data/);
    expect(() => parseNpy(good.subarray(0, 40), 'h.npy')).toThrow(/h\.npy.*truncated file/);
    const bad = good.slice();
    bad[1] = 0x41;
    expect(() => parseNpy(bad, 'bad.npy')).toThrow(/Expected a \.npy file \(magic \\x93NUMPY\) for bad\.npy/);
    const v4 = good.slice();
    v4[6] = 4;
    expect(() => parseNpy(v4, 'v4.npy')).toThrow(
      "Expected .npy format version 1.0, 2.0 or 3.0 for v4.npy but received '4.0'",
    );
    for (const descr of ['<c16', '<U5', '|O', '<M8[ns]', '<f16', 'xf8']) {
      const p = file('dt.npy', npy(descr, [1], [], { raw: new Uint8Array(16) }));
      await expect(readNpy(p)).rejects.toThrow(`for the dtype of ${p} but received '${descr}'`);
    }
    const rec = npy('<f8', [1], [1]);
    const text = Buffer.from(rec)
      .toString('latin1')
      .replace(`'descr': '<f8'`, `'descr': [('x','<f8')]`.padEnd(13, ' '));
    expect(() => parseNpy(Buffer.from(text, 'latin1'), 'rec.npy')).toThrow(/structured dtypes are not supported/);
  });
});

// CRC-32 (ISO 3309), for the hand-made zip below.
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A stored (method 0) zip archive written from the ZIP application note: local headers, central directory, end record. */
function storedZip(entries: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint32(14, crc32(data), true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, n.length, true);
    parts.push(new Uint8Array(local.buffer), n, data);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 20, true);
    cd.setUint16(6, 20, true);
    cd.setUint32(16, crc32(data), true);
    cd.setUint32(20, data.length, true);
    cd.setUint32(24, data.length, true);
    cd.setUint16(28, n.length, true);
    cd.setUint32(42, offset, true);
    central.push(new Uint8Array(cd.buffer), n);
    offset += 30 + n.length + data.length;
  }
  const cdSize = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  return new Uint8Array(Buffer.concat([...parts, ...central, new Uint8Array(end.buffer)]));
}

describe('.npz', () => {
  const layer1 = npy('<f4', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const layer2 = npy(
    '>f8',
    [4, 3],
    Array.from({ length: 12 }, (_, i) => i / 7),
    { fortran: true },
  );
  const expected2 = (() => {
    const out: number[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) out.push((i + 4 * j) / 7);
    return out;
  })();

  it('reads stored (hand-made) and deflated archives, one array per entry', async () => {
    const stored = await readNpz(
      file(
        's.npz',
        storedZip([
          ['dense_1.npy', layer1],
          ['dense_2.npy', layer2],
        ]),
      ),
    );
    const deflated = parseNpz(
      zipSync({
        'dense_1.npy': [layer1, { level: 9 }],
        'dense_2.npy': [layer2, { level: 6 }],
        'README.txt': new Uint8Array([65]),
      }),
      'd.npz',
    );
    for (const z of [stored, deflated]) {
      expect(Object.keys(z)).toEqual(['dense_1', 'dense_2']);
      expect(Array.from(z.dense_1!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(z.dense_2!.shape).toEqual([4, 3]);
      expect(Array.from(z.dense_2!.data)).toEqual(expected2);
    }
  });

  it('refuses a corrupt archive, an archive without .npy entries and a bad entry, naming the file', async () => {
    const z = storedZip([['a.npy', layer1]]);
    const p = file('corrupt.npz', z.subarray(0, z.length - 30));
    await expect(readNpz(p)).rejects.toThrow(
      `Expected a zip archive of .npy files (.npz) for ${p} but received 'bytes that do not unzip`,
    );
    expect(() => parseNpz(zipSync({ 'x.txt': new Uint8Array(3) }), 'e.npz')).toThrow(
      "Expected at least one .npy entry in the .npz archive for e.npz but received 'none'",
    );
    expect(() => parseNpz(storedZip([['a.npy', layer1.subarray(0, layer1.length - 1)]]), 'm.npz')).toThrow(
      /for m\.npz:a\.npy but received '31 bytes \(truncated\)'/,
    );
  });
});

/** A safetensors file: u64 LE header length, JSON header, buffer (little-endian, C order). */
function safetensors(
  tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
  opts: { metadata?: Record<string, string>; lie?: (h: Record<string, unknown>) => void } = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  opts.lie?.(header);
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
  const len = new DataView(new ArrayBuffer(8));
  len.setBigUint64(0, BigInt(json.length), true);
  return new Uint8Array(Buffer.concat([new Uint8Array(len.buffer), json, ...tensors.map((t) => t.bytes)])); // a copy: own ArrayBuffer
}
const le = (code: string, vals: number[]): Uint8Array => {
  const [size, put] = PUT[code]!;
  const b = new Uint8Array(size * vals.length);
  const dv = new DataView(b.buffer);
  for (const [i, v] of vals.entries()) put(true)(dv, i * size, v);
  return b;
};

describe('safetensors', () => {
  const tensors = [
    { name: 'fc1.weight', dtype: 'F32', shape: [2, 3], bytes: le('f4', [1, 2, 3, 4, 5, 0.1]) },
    { name: 'fc1.bias', dtype: 'F64', shape: [2], bytes: le('f8', [-1e-300, 7]) },
    {
      name: 'half',
      dtype: 'F16',
      shape: [HALF.length],
      bytes: le(
        'f2',
        HALF.map((x) => x[0]),
      ),
    },
    {
      name: 'brain',
      dtype: 'BF16',
      shape: [BF16.length],
      bytes: le(
        'f2',
        BF16.map((x) => x[0]),
      ),
    },
    { name: 'ids', dtype: 'I64', shape: [3], bytes: le('i8', [-(2 ** 40), 0, 9]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
  ];

  it('reads F32, F64, F16 and BF16 (subnormals, infinities, NaN), integers and metadata exactly', async () => {
    const p = file('m.safetensors', safetensors(tensors, { metadata: { format: 'pt' } }));
    const { tensors: t, metadata } = await readSafetensors(p);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(t)).toEqual(['fc1.weight', 'fc1.bias', 'half', 'brain', 'ids', 'empty']);
    expect(t['fc1.weight']!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t['fc1.weight']!.data)).toEqual(Array.from(Float32Array.of(1, 2, 3, 4, 5, 0.1)));
    expect(Array.from(t['fc1.bias']!.data)).toEqual([-1e-300, 7]);
    expect(Array.from(t.half!.data)).toEqual(HALF.map((x) => x[1]));
    expect(Array.from(t.brain!.data)).toEqual(BF16.map((x) => x[1]));
    expect(Array.from(t.ids!.data)).toEqual([-(2 ** 40), 0, 9]);
    expect(t.empty!.shape).toEqual([0, 4]);
    const mem = parseSafetensors(fs.readFileSync(p), 'mem');
    expect(Array.from(mem.tensors.brain!.data)).toEqual(BF16.map((x) => x[1]));
    // From a Node Buffer (a view into a larger one): the float32 fast path copies exactly its bytes.
    expect(Array.from(mem.tensors['fc1.weight']!.data)).toEqual(Array.from(Float32Array.of(1, 2, 3, 4, 5, 0.1)));
    expect(Array.from(mem.tensors['fc1.bias']!.data)).toEqual([-1e-300, 7]);
    const only = await readSafetensors(p, { filter: (e) => e.shape.length === 2 });
    expect(Object.keys(only.tensors)).toEqual(['fc1.weight', 'empty']);
    expect((await readSafetensorsHeader(p)).tensors.map((e) => e.dtype)).toEqual([
      'F32',
      'F64',
      'F16',
      'BF16',
      'I64',
      'F32',
    ]);
  });

  it('refuses truncated files and lying headers without reading out of bounds, naming the file', async () => {
    const good = safetensors(tensors);
    const cut = file('cut.safetensors', good.subarray(0, good.length - 5));
    await expect(readSafetensors(cut)).rejects.toThrow(
      new RegExp(`tensor 'ids' of ${cut.replace(/[.]/g, '\\.')} but received '\\[\\d+, \\d+\\]'`),
    );
    await expect(readSafetensors(cut)).rejects.toThrow(/file truncated or header lying/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
    const hp = file('huge.safetensors', huge);
    await expect(readSafetensors(hp)).rejects.toThrow(
      `Expected a header length ≤ the ${huge.length - 8} bytes after it (file truncated or not safetensors) for ${hp} but received '4611686018427387904'`,
    );
    await expect(readSafetensors(file('tiny.safetensors', new Uint8Array(5)))).rejects.toThrow(
      /8-byte header length.*but received '5 bytes'/,
    );
    // biome-ignore lint/suspicious/noExplicitAny: each case rewrites one field of a parsed JSON header
    const cases: [string, (h: Record<string, any>) => void, RegExp][] = [
      [
        'size',
        (h) => (h['fc1.weight'].shape = [3, 3]),
        /Expected 36 bytes for shape \[3, 3\] of F32 for tensor 'fc1\.weight'/,
      ],
      [
        'overlap',
        (h) => (h['fc1.bias'].data_offsets = [20, 36]),
        /non-overlapping tensors \('fc1\.weight' ends at 24\) for tensor 'fc1\.bias'/,
      ],
      [
        'order',
        (h) => (h.ids.data_offsets = [30, 2]),
        /data_offsets \[begin, end\] with 0 ≤ begin ≤ end for tensor 'ids'/,
      ],
      [
        'dtype',
        (h) => (h.half.dtype = 'F8_E4M3'),
        /supported safetensors dtype .* for the dtype of tensor 'half' of .* but received 'F8_E4M3'/,
      ],
      ['shape', (h) => (h.half.shape = [-1]), /shape of non-negative integers/],
      [
        'metadata',
        (h) => (h.__metadata__ = { epoch: 3 }),
        /Expected a string for __metadata__\.epoch of .* but received 3/,
      ],
    ];
    for (const [name, lie, re] of cases) {
      const p = file(`${name}.safetensors`, safetensors(tensors, { lie }));
      await expect(readSafetensors(p)).rejects.toThrow(re);
      await expect(readSafetensors(p)).rejects.toThrow(p);
    }
    const notJson = good.slice();
    notJson[8] = 0x7b + 1; // '{' → '|'
    await expect(readSafetensors(file('nj.safetensors', notJson))).rejects.toThrow(
      /Expected a JSON safetensors header for .*nj\.safetensors/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Imports: files written here → a run; its figures equal direct calls on the same matrices.
import { importCheckpoints, importSnapshots, openRun } from '../src/store/index.js';
import { OmdTrajectory, reorganisationTrajectory } from '../src/omd/index.js';
import { weightSpectrum } from '../src/rmt/index.js';
import { Rng } from '../src/random.js';

const f64le = (a: ArrayLike<number>): number[] => Array.from(a);

describe('importSnapshots', () => {
  const t = reorganisationTrajectory({ n: 40, snapshots: 8, switchAt: 3, stepEvery: 5, seed: 4 });

  it('turns step-<n>.npz files (two layers) into a run whose rows and spectra equal direct trajectories', async () => {
    const dir = path.join(root, 'snaps');
    fs.mkdirSync(dir);
    for (const s of t.snapshots) {
      const r = s.reps;
      // Layer a: float64 C order; layer b: the same reps scaled, float32 big-endian Fortran order.
      const fort: number[] = [];
      for (let j = 0; j < r.cols; j++) for (let i = 0; i < r.rows; i++) fort.push(2 * r.data[i * r.cols + j]!);
      const z = zipSync({
        'a.npy': npy('<f8', [r.rows, r.cols], f64le(r.data)),
        'b.npy': npy('>f4', [r.rows, r.cols], fort, { fortran: true }),
      });
      fs.writeFileSync(path.join(dir, `step-${s.step}.npz`), z);
    }
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const out = path.join(root, 'snaps-run');
    const labels = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const res = await importSnapshots(dir, { out, metric: 'euclidean', probeLabels: labels });
    expect(res.steps).toEqual(t.snapshots.map((s) => s.step));
    expect(res.observables).toEqual(['a', 'b']);
    const run = await openRun(out);
    expect(run.status).toBe('finished');
    expect(run.meta.meta.probeLabels).toEqual(labels);
    expect(Object.keys(run.rows({ observable: 'a' })[0]!).sort()).toEqual(
      [...run.meta.columns.omd!.map((c) => c.name), 'step', 'family', 'observable', 'session'].sort(),
    );
    const direct = new OmdTrajectory({ metric: 'euclidean' });
    for (const s of t.snapshots) direct.pushSync(s.step, s.reps);
    const rows = run.rows({ family: 'omd', observable: 'a' });
    expect(rows.map((r) => r.step)).toEqual(res.steps);
    direct.points.forEach((p, i) => {
      expect(rows[i]!.perron).toBe(p.figures.perron);
      expect(rows[i]!.band_gap_ratio).toBe(p.figures.band.gapRatio);
      expect(rows[i]!.band_fingerprint).toBe(p.figures.band.fingerprint);
      expect(rows[i]!.ambient_ks).toBe(p.figures.ambient.ks);
      expect(Object.is(rows[i]!.overlap, p.overlap)).toBe(true);
      expect(f64le(run.array(p.step, 'a', 'values') as Float64Array)).toEqual(f64le(p.figures.values));
    });
    // Layer b (float32, scaled by 2): the spectrum scales by 2 to float32 accuracy.
    const vb = run.array(t.snapshots[5]!.step, 'b', 'values') as Float64Array;
    const va = direct.points[5]!.figures.values;
    for (let i = 0; i < va.length; i++)
      expect(Math.abs(vb[i]! - 2 * va[i]!)).toBeLessThan(1e-5 * Math.abs(va[va.length - 1]!) * 2);
    for (const o of [{}, { minOverlap: 0.95 }, { minWindow: 2 }])
      expect(run.trajectory('a').regimes(o)).toEqual(direct.regimes(o));
    expect(run.trajectory('a').msd()).toEqual(direct.msd());
  });

  it('reads step-<n>.npy files as one layer; different N, a missing layer or duplicate steps are clear errors naming the files', async () => {
    const dir = path.join(root, 'npys');
    fs.mkdirSync(dir);
    for (const s of t.snapshots.slice(0, 3))
      fs.writeFileSync(
        path.join(dir, `step-${s.step}.npy`),
        npy('<f8', [s.reps.rows, s.reps.cols], f64le(s.reps.data)),
      );
    const ok = await importSnapshots(dir, { out: path.join(root, 'npys-run'), metric: 'euclidean', layer: 'hidden' });
    expect(ok.observables).toEqual(['hidden']);
    expect((await openRun(ok.dir)).rows({ observable: 'hidden' })).toHaveLength(3);
    const s3 = t.snapshots[3]!;
    fs.writeFileSync(
      path.join(dir, `step-${s3.step}.npy`),
      npy('<f8', [s3.reps.rows - 1, s3.reps.cols], f64le(s3.reps.data.subarray(0, (s3.reps.rows - 1) * s3.reps.cols))),
    );
    const bad = path.join(root, 'npys-bad');
    await expect(importSnapshots(dir, { out: bad, metric: 'euclidean' })).rejects.toThrow(
      `Expected the probe count of step-0.npy:reps (N = 40) for step-${s3.step}.npy:reps but received 'N = 39'`,
    );
    const failed = await openRun(bad);
    expect(failed.status).toBe('failed');
    expect(failed.meta.error).toMatch(/N = 39/);
    expect(failed.steps).toEqual([0, 5, 10]);
    fs.writeFileSync(path.join(dir, 'step-0.npz'), zipSync({ 'x.npy': npy('<f8', [1], [1]) }));
    await expect(importSnapshots(dir, { out: path.join(root, 'npys-dup') })).rejects.toThrow(
      'Expected one file per step for step 0 in',
    );
    const z = path.join(root, 'zs');
    fs.mkdirSync(z);
    const r0 = t.snapshots[0]!.reps;
    const arr = npy('<f8', [r0.rows, r0.cols], f64le(r0.data));
    fs.writeFileSync(path.join(z, 'step-0.npz'), zipSync({ 'a.npy': arr, 'b.npy': arr }));
    fs.writeFileSync(path.join(z, 'step-1.npz'), zipSync({ 'a.npy': arr }));
    await expect(importSnapshots(z, { out: path.join(root, 'zs-run') })).rejects.toThrow(
      "Expected the layers of step-0.npz (a, b) for step-1.npz but received 'no b'",
    );
    await expect(importSnapshots(path.join(root, 'nowhere'), { out: path.join(root, 'x') })).rejects.toThrow(
      /Expected a directory of representation snapshots/,
    );
    await expect(importSnapshots(z, { out: path.join(root, 'zs-run2'), probeLabels: [1, 2] })).rejects.toThrow(
      "Expected one probe label per row (N = 40 in step-0.npz) for options.probeLabels but received '2 labels'",
    );
  });
});

describe('importCheckpoints', () => {
  it('analyses every 2-D+ float tensor of each checkpoint (conv kernels as out x in·kh·kw) and skips biases with a reason', async () => {
    const dir = path.join(root, 'ckpts');
    fs.mkdirSync(dir);
    const mats = new Map<string, Float32Array>();
    for (const step of [0, 100]) {
      const rng = new Rng(step + 1);
      const fc = rng.fillNormal(new Float32Array(60 * 40), 0, 1 / Math.sqrt(40));
      const conv = rng.fillNormal(new Float32Array(16 * 4 * 3 * 3), 0, 0.2);
      const head = rng.fillNormal(new Float32Array(3 * 60));
      mats.set(`fc-${step}`, fc);
      mats.set(`conv-${step}`, conv);
      const tensors = [
        { name: 'fc1.weight', dtype: 'F32', shape: [60, 40], bytes: new Uint8Array(fc.buffer) },
        { name: 'fc1.bias', dtype: 'F32', shape: [60], bytes: new Uint8Array(240) },
        { name: 'conv.weight', dtype: 'F32', shape: [16, 4, 3, 3], bytes: new Uint8Array(conv.buffer) },
        { name: 'head.weight', dtype: 'F32', shape: [3, 60], bytes: new Uint8Array(head.buffer) },
        { name: 'steps', dtype: 'I64', shape: [1, 1], bytes: new Uint8Array(8) },
      ];
      fs.writeFileSync(
        path.join(dir, `model-step-${step}.safetensors`),
        safetensors(tensors, { metadata: { format: 'pt' } }),
      );
    }
    const out = path.join(root, 'ckpt-run');
    const res = await importCheckpoints(dir, { out });
    expect(res.steps).toEqual([0, 100]);
    const run = await openRun(out);
    expect(run.status).toBe('finished');
    for (const step of [0, 100]) {
      const fc = await weightSpectrum({ data: mats.get(`fc-${step}`)!, rows: 60, cols: 40 });
      const row = run.rows({ family: 'weights', observable: 'fc1.weight', step })[0]!;
      expect(row.N).toBe(60);
      expect(row.alpha).toBe(fc.alpha);
      expect(row.sigma_mp).toBe(fc.sigma_mp);
      expect(row.num_spikes).toBe(fc.num_spikes);
      expect(row.shape).toBe('60x40');
      expect(f64le(run.array(step, 'fc1.weight', 'evals') as Float64Array)).toEqual(f64le(fc.evals));
      const conv = await weightSpectrum({ data: mats.get(`conv-${step}`)!, rows: 16, cols: 36 });
      const crow = run.rows({ observable: 'conv.weight', step })[0]!;
      expect([crow.N, crow.M]).toEqual([16, 36]);
      expect(crow.lambda_max).toBe(conv.lambda_max);
    }
    expect(run.meta.columns.weights!.map((c) => c.name)).toEqual(
      expect.arrayContaining(['alpha', 'variance_mp_ci_low', 'shape', 'dtype']),
    );
    expect(Object.keys(run.rows({ observable: 'fc1.weight' })[0]!).sort()).toEqual(
      [...run.meta.columns.weights!.map((c) => c.name), 'step', 'family', 'observable', 'session'].sort(),
    );
    const reasons = new Map(res.skipped.filter((s) => s.step === 0).map((s) => [s.tensor, s.reason]));
    expect(reasons.get('fc1.bias')).toMatch(/^1-D tensor/);
    expect(reasons.get('steps')).toMatch(/^I64 tensor/);
    expect(run.meta.meta.skipped).toEqual(res.skipped);
    // head.weight (3 x 60): either analysed or skipped with the analysis' reason, never silently lost.
    const head = run.rows({ observable: 'head.weight' });
    expect(head.length === 2 || /analysis refused it/.test(reasons.get('head.weight') ?? '')).toBe(true);

    // One file: the step comes from its name.
    const single = await importCheckpoints(path.join(dir, 'model-step-100.safetensors'), {
      out: path.join(root, 'one'),
    });
    expect(single.steps).toEqual([100]);
    // Errors name the file.
    const broken = path.join(root, 'broken');
    fs.mkdirSync(broken);
    const bytes = fs.readFileSync(path.join(dir, 'model-step-0.safetensors'));
    fs.writeFileSync(path.join(broken, 'step-1.safetensors'), bytes.subarray(0, bytes.length - 100));
    await expect(importCheckpoints(broken, { out: path.join(root, 'b-run') })).rejects.toThrow(/step-1\.safetensors/);
    fs.writeFileSync(path.join(broken, 'final.safetensors'), bytes);
    await expect(importCheckpoints(broken, { out: path.join(root, 'b-run2') })).rejects.toThrow(
      /Expected a checkpoint name with its step .* for file but received '.*final\.safetensors'/,
    );
  });
});
