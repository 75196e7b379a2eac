/**
 * .npy and .npz readers (NumPy's format spec, "NEP 1"): magic "\x93NUMPY", version 1.0 (uint16
 * header length), 2.0 or 3.0 (uint32; 3.0 = UTF-8 header), a Python dict literal
 * {'descr': …, 'fortran_order': …, 'shape': (…)} padded with spaces and a newline, then the raw
 * data. Supported descr: float16/32/64, signed and unsigned 8–64-bit integers and bool, in any
 * byte order ('<', '>', '|', '='); conversions as in ndarray.ts. Fortran order is reordered to
 * C order. Structured, complex, object, string and datetime dtypes are refused.
 * .npz is a zip of .npy files (stored or deflated), read with fflate; entry CRCs are not checked.
 */
import fs from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { expected } from '../errors.js';
import {
  decodeElements,
  fortranToC,
  ITEM_SIZE,
  LITTLE_ENDIAN_HOST,
  shapeSize,
  type ElementKind,
  type NdArray,
} from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const KINDS: Record<string, ElementKind> = {
  f2: 'f2',
  f4: 'f4',
  f8: 'f8',
  i1: 'i1',
  i2: 'i2',
  i4: 'i4',
  i8: 'i8',
  u1: 'u1',
  u2: 'u2',
  u4: 'u4',
  u8: 'u8',
  b1: 'b1',
};

function fail(what: string, name: string, value: unknown): never {
  throw new RangeError(expected(what, name, value));
}

/** Parses the header dict; every failure names the file. */
function parseHeader(text: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) fail('a .npy header dict', name, body);
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(body);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(body))
      fail(
        'a plain .npy dtype (structured dtypes are not supported)',
        name,
        body.slice(body.indexOf('descr'), body.indexOf('descr') + 40),
      );
    fail("a 'descr' entry in the .npy header", name, body);
  }
  const fo = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(body);
  if (!fo) fail("a 'fortran_order' entry (True or False) in the .npy header", name, body);
  const sh = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(body);
  if (!sh) fail("a 'shape' tuple in the .npy header", name, body);
  const parts = sh[1]!
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const shape = parts.map((p) => {
    const m = /^(\d+)L?$/.exec(p);
    if (!m) fail('non-negative integer dimensions in the .npy shape', name, `(${sh[1]})`);
    return Number(m[1]);
  });
  return { descr: descr[2]!, fortran: fo[1] === 'True', shape };
}

/**
 * Parses the bytes of a .npy file. `name` (a file or entry name) appears in every error.
 * @throws RangeError for a bad magic or version, a malformed header, an unsupported dtype, or a
 * data section whose length differs from the header's shape × item size (truncated or padded file).
 */
export function parseNpy(bytes: Uint8Array, name = '.npy bytes'): NdArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    fail(
      'a .npy file (magic \\x93NUMPY)',
      name,
      `${bytes.byteLength} bytes starting ${Buffer.from(bytes.subarray(0, 6)).toString('latin1')}`,
    );
  const major = bytes[6]!,
    minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) fail('.npy format version 1.0, 2.0 or 3.0', name, `${major}.${minor}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.byteLength < 8 + lenBytes) fail('a complete .npy header', name, `${bytes.byteLength} bytes (truncated)`);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.byteLength)
    fail(
      `a .npy header of ${headerLen} bytes`,
      name,
      `${bytes.byteLength - 8 - lenBytes} header bytes (truncated file)`,
    );
  const header = Buffer.from(bytes.subarray(8 + lenBytes, dataStart)).toString(major === 3 ? 'utf8' : 'latin1');
  const { descr, fortran, shape } = parseHeader(header, name);
  const order = descr[0]!;
  const code = descr.slice(1);
  const kind = '<>|='.includes(order) ? KINDS[code] : undefined;
  if (kind === undefined) {
    fail(
      'a supported .npy dtype (float16/32/64, int8–64, uint8–64 or bool, any byte order)',
      `the dtype of ${name}`,
      descr,
    );
  }
  const count = shapeSize(shape);
  const want = count * ITEM_SIZE[kind];
  const have = bytes.byteLength - dataStart;
  if (have !== want) {
    fail(
      `${want} data bytes for shape (${shape.join(', ')}) of ${descr}`,
      name,
      `${have} bytes (${have < want ? 'truncated' : 'trailing data'})`,
    );
  }
  const bigEndian = order === '>' || (order === '=' && !LITTLE_ENDIAN_HOST);
  let data = decodeElements(bytes.subarray(dataStart), kind, count, bigEndian);
  if (fortran) data = fortranToC(data, shape);
  return { data, shape, dtype: descr };
}

/** Reads a .npy file (see {@link parseNpy}). */
export async function readNpy(file: string): Promise<NdArray> {
  return parseNpy(await readBytes(file), file);
}

/**
 * Parses a .npz archive (a zip of .npy files, stored or deflated): one array per `<key>.npy`
 * entry, keyed without the suffix, in archive order. Entries not ending in .npy are ignored.
 * @throws RangeError for bytes that are not a zip archive, a corrupt entry, an archive without
 * .npy entries, or anything {@link parseNpy} rejects (named `<file>:<entry>`).
 */
export function parseNpz(bytes: Uint8Array, name = '.npz bytes'): Record<string, NdArray> {
  let entries: Record<string, Uint8Array>;
  // The sizes in a zip's directory are claims: fflate allocates the claimed size before it
  // inflates, so a lying header could ask for gigabytes. Deflate expands at most 1032:1 and a
  // stored entry not at all; entries cannot outnumber the 46-byte directory records.
  let seen = 0;
  const filter = (f: { name: string; size: number; originalSize: number; compression: number }): boolean => {
    if (++seen > bytes.byteLength / 46)
      throw new RangeError(`more entries than the ${bytes.byteLength}-byte archive can hold`);
    if (!f.name.endsWith('.npy')) return false;
    const bound = f.compression === 0 ? f.size : 1032 * f.size + 1024;
    if (f.originalSize > bound || f.size > bytes.byteLength)
      throw new RangeError(
        `entry ${f.name} claims ${f.originalSize} bytes from ${f.size} compressed (${f.compression === 0 ? 'stored' : 'deflate'}), more than its data can hold`,
      );
    return true;
  };
  try {
    entries = unzipSync(bytes, { filter });
  } catch (e) {
    fail('a zip archive of .npy files (.npz)', name, `bytes that do not unzip (${(e as Error).message})`);
  }
  const keys = Object.keys(entries);
  if (keys.length === 0) fail('at least one .npy entry in the .npz archive', name, 'none');
  const out: Record<string, NdArray> = {};
  for (const k of keys) out[k.slice(0, -4)] = parseNpy(entries[k]!, `${name}:${k}`);
  return out;
}

/** Reads a .npz file (see {@link parseNpz}). */
export async function readNpz(file: string): Promise<Record<string, NdArray>> {
  return parseNpz(await readBytes(file), file);
}

/** Reads a whole file; a missing file is an error naming it. */
export async function readBytes(file: string): Promise<Uint8Array> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(expected('a file path', 'file', file));
  const b = await fs.readFile(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
