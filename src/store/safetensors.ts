/**
 * safetensors reader (the format of huggingface/safetensors): an unsigned 64-bit little-endian
 * header length n, n bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {string: string}}, then the byte buffer; offsets are relative to the buffer,
 * data little-endian, C order. Supported dtypes: F16, BF16, F32, F64, I8–I64, U8–U64, BOOL
 * (conversions as in ndarray.ts); others (F8_*, complex) are refused.
 *
 * Nothing is read outside the file: the header length is checked against the file size before
 * the header is read, and every tensor's offsets against the buffer size and its shape × item
 * size before its bytes are read; overlapping tensors are refused (a lying header). Tensors are
 * read one by one from the file, not the whole file at once.
 */
import fs from 'node:fs/promises';
import { expected } from '../errors.js';
import { decodeElements, ITEM_SIZE, shapeSize, type ElementKind, type NdArray } from './ndarray.js';

const DTYPES: Record<string, ElementKind> = {
  F16: 'f2',
  BF16: 'bf2',
  F32: 'f4',
  F64: 'f8',
  I8: 'i1',
  I16: 'i2',
  I32: 'i4',
  I64: 'i8',
  U8: 'u1',
  U16: 'u2',
  U32: 'u4',
  U64: 'u8',
  BOOL: 'b1',
};
/** Largest header accepted (the format's own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

function fail(what: string, name: string, value: unknown): never {
  throw new RangeError(expected(what, name, value));
}

/** A safetensors file's header entry, validated. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data buffer. */
  begin: number;
  end: number;
}

/** Parsed and validated header of a safetensors file. */
export interface SafetensorsHeader {
  /** Tensors in buffer order. */
  tensors: SafetensorsEntry[];
  /** The `__metadata__` map ({} when absent). */
  metadata: Record<string, string>;
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

/**
 * Validates a safetensors header (the JSON text) against a buffer of `bufferSize` bytes.
 * @throws RangeError naming `file` for malformed JSON, an unsupported dtype, a bad shape, offsets
 * outside the buffer, a byte range that does not match shape × item size, or overlapping tensors.
 */
export function parseSafetensorsHeader(
  json: string,
  bufferSize: number,
  dataStart: number,
  file: string,
): SafetensorsHeader {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    fail('a JSON safetensors header', file, `unparsable text (${(e as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    fail('a JSON object as safetensors header', file, obj);
  const tensors: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(obj as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        fail('an object of strings', `__metadata__ of ${file}`, v);
      for (const [k, x] of Object.entries(v))
        if (typeof x !== 'string') fail('a string', `__metadata__.${k} of ${file}`, x);
      metadata = v as Record<string, string>;
      continue;
    }
    const at = `tensor '${name}' of ${file}`;
    if (v === null || typeof v !== 'object') fail('a {dtype, shape, data_offsets} entry', at, v);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPES)) {
      fail('a supported safetensors dtype (F16, BF16, F32, F64, I8–I64, U8–U64, BOOL)', `the dtype of ${at}`, e.dtype);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail('a shape of non-negative integers', `the shape of ${at}`, e.shape);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      off[0] > off[1]
    ) {
      fail('data_offsets [begin, end] with 0 ≤ begin ≤ end', at, Array.isArray(off) ? `[${off.join(', ')}]` : off);
    }
    const [begin, end] = off as [number, number];
    if (end > bufferSize)
      fail(
        `data_offsets within the ${bufferSize}-byte data buffer (file truncated or header lying)`,
        at,
        `[${begin}, ${end}]`,
      );
    const want = shapeSize(e.shape as number[]) * ITEM_SIZE[DTYPES[e.dtype]!];
    if (end - begin !== want)
      fail(
        `${want} bytes for shape [${(e.shape as number[]).join(', ')}] of ${e.dtype}`,
        at,
        `data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
      );
    tensors.push({ name, dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < tensors.length; i++) {
    const p = tensors[i - 1]!,
      t = tensors[i]!;
    if (t.begin < p.end)
      fail(
        `non-overlapping tensors ('${p.name}' ends at ${p.end})`,
        `tensor '${t.name}' of ${file}`,
        `data_offsets [${t.begin}, ${t.end}]`,
      );
  }
  return { tensors, metadata, dataStart };
}

/** Reads and validates the header of a safetensors file (see {@link parseSafetensorsHeader}). */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await open(file);
  try {
    return await headerOf(fh, file);
  } finally {
    await fh.close();
  }
}

async function open(file: string): Promise<fs.FileHandle> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(expected('a file path', 'file', file));
  return fs.open(file, 'r');
}

async function readExactly(fh: fs.FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function headerOf(fh: fs.FileHandle, file: string): Promise<SafetensorsHeader> {
  const size = (await fh.stat()).size;
  if (size < 8) fail('a safetensors file (8-byte header length, header, data)', file, `${size} bytes`);
  const lenBytes = await readExactly(fh, 8, 0);
  const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n > BigInt(size - 8))
    fail(`a header length ≤ the ${size - 8} bytes after it (file truncated or not safetensors)`, file, n.toString());
  if (n > BigInt(MAX_HEADER)) fail(`a header length ≤ ${MAX_HEADER}`, file, n.toString());
  const len = Number(n);
  const json = Buffer.from(await readExactly(fh, len, 8)).toString('utf8');
  return parseSafetensorsHeader(json, size - 8 - len, 8 + len, file);
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Read only the tensors this returns true for (default all). */
  filter?: (entry: SafetensorsEntry) => boolean;
}

/**
 * Reads a safetensors file: every tensor (or those `filter` keeps) as an {@link NdArray}, in
 * buffer order, and the `__metadata__` map.
 * @throws RangeError naming the file for every malformed, truncated or lying header (see
 * {@link parseSafetensorsHeader}); the file system's error for a missing file.
 */
export async function readSafetensors(
  file: string,
  options: ReadSafetensorsOptions = {},
): Promise<{ tensors: Record<string, NdArray>; metadata: Record<string, string> }> {
  const fh = await open(file);
  try {
    const header = await headerOf(fh, file);
    const tensors: Record<string, NdArray> = {};
    for (const t of header.tensors) {
      if (options.filter && !options.filter(t)) continue;
      const bytes = await readExactly(fh, t.end - t.begin, header.dataStart + t.begin);
      if (bytes.byteLength !== t.end - t.begin)
        fail(
          `${t.end - t.begin} bytes of tensor '${t.name}'`,
          file,
          `${bytes.byteLength} (file changed while reading)`,
        );
      tensors[t.name] = {
        data: decodeElements(bytes, DTYPES[t.dtype]!, shapeSize(t.shape), false),
        shape: t.shape,
        dtype: t.dtype,
      };
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** Parses a whole safetensors file held in memory (same checks as {@link readSafetensors}). */
export function parseSafetensors(
  bytes: Uint8Array,
  name = 'safetensors bytes',
): { tensors: Record<string, NdArray>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8)
    fail('a safetensors file (8-byte header length, header, data)', name, `${bytes.byteLength} bytes`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8))
    fail(
      `a header length ≤ the ${bytes.byteLength - 8} bytes after it (file truncated or not safetensors)`,
      name,
      n.toString(),
    );
  const len = Number(n);
  const header = parseSafetensorsHeader(
    Buffer.from(bytes.subarray(8, 8 + len)).toString('utf8'),
    bytes.byteLength - 8 - len,
    8 + len,
    name,
  );
  const tensors: Record<string, NdArray> = {};
  for (const t of header.tensors) {
    const b = bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
    tensors[t.name] = {
      data: decodeElements(b, DTYPES[t.dtype]!, shapeSize(t.shape), false),
      shape: t.shape,
      dtype: t.dtype,
    };
  }
  return { tensors, metadata: header.metadata };
}
