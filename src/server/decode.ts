/**
 * From a request body and its query to a matrix and analysis options: `.npy`, safetensors (the
 * run store's readers) or raw little-endian float32/float64 with `?shape=RxC&dtype=`, the float
 * dtypes only, at least two dimensions (more are flattened as the importers do: rows =
 * shape[0]; with `kernel`, cols = the last dimension), within the matrix-size limit. Every refusal is an {@link HttpError} with a one-line
 * reason: 400 for malformed input, 413 for a matrix over the limit.
 */
import type { Mat } from '../matrix.js';
import type { WeightSpectrumOptions } from '../rmt/index.js';
import type { AnalyzeOptions } from '../omd/index.js';
import { parseNpy } from '../store/npy.js';
import { parseSafetensors } from '../store/safetensors.js';
import { decodeElements, toMat, type NdArray } from '../store/ndarray.js';
import { describe } from '../errors.js';
import { checkInteger, checkNumber, checkOneOf } from '../validate.js';
import { HttpError } from './http-error.js';

/** The two analyses the service runs: a weight matrix's spectrum, or an OMD representation snapshot. */
export type AnalysisKind = 'weights' | 'omd';

/** Body formats: `.npy`, safetensors, or raw little-endian floats (shape and dtype in the query). */
export type BodyFormat = 'npy' | 'safetensors' | 'raw';

/** Query parameters as a framework hands them: URLSearchParams, or an object of strings (Fastify, Express). */
export type QueryInput = URLSearchParams | Record<string, unknown>;

/** A decoded upload. */
export interface DecodedMatrix {
  /** The matrix (rows = shape[0], cols = the product of the other dimensions). */
  mat: Mat;
  format: BodyFormat;
  /** The array's shape as uploaded. */
  shape: number[];
  /** Its dtype as the format spells it ('<f4', 'F32', 'float64', …). */
  dtype: string;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const FLOAT_DTYPES = new Set(['f2', 'f4', 'f8', 'F16', 'BF16', 'F32', 'F64']);
const RAW_DTYPES: Record<string, 'f4' | 'f8'> = {
  float32: 'f4',
  f4: 'f4',
  '<f4': 'f4',
  F32: 'f4',
  float64: 'f8',
  f8: 'f8',
  '<f8': 'f8',
  F64: 'f8',
};

type ParamKind =
  | { kind: 'bool' }
  | { kind: 'number' | 'int'; min?: number; max?: number }
  | { kind: 'choice'; choices: readonly string[] };

const COMMON_PARAMS: Record<string, ParamKind> = {
  format: { kind: 'choice', choices: ['auto', 'npy', 'safetensors', 'raw'] },
  shape: { kind: 'choice', choices: [] }, // read by rawShape
  dtype: { kind: 'choice', choices: Object.keys(RAW_DTYPES) },
  tensor: { kind: 'choice', choices: [] }, // any name
  arrays: { kind: 'bool' },
};

// Analysis options a client may set. The bounds on work-sized options keep one request from
// holding the event loop (the bootstrap) or the pool (band sizes) for long.
const ANALYSIS_PARAMS: Record<AnalysisKind, Record<string, ParamKind>> = {
  weights: {
    kernel: { kind: 'bool' },
    margin: { kind: 'number' },
    bootstrap: { kind: 'int', min: 0, max: 1000 },
    minEvals: { kind: 'int' },
    route: { kind: 'choice', choices: ['auto', 'full', 'partial'] },
    topK: { kind: 'int', min: 1, max: 1000 },
  },
  omd: {
    metric: { kind: 'choice', choices: ['angular', 'euclidean', 'cosine', 'sqeuclidean'] },
    input: { kind: 'choice', choices: ['auto', 'reps', 'distance'] },
    bottomK: { kind: 'int', min: 1, max: 32 },
    maxBand: { kind: 'int', min: 1, max: 256 },
    minGapRatio: { kind: 'number' },
    route: { kind: 'choice', choices: ['auto', 'full', 'partial'] },
  },
};

/** The parsed query of one request. */
export interface ParsedQuery {
  format: BodyFormat | 'auto';
  shape?: [number, number];
  dtype?: 'f4' | 'f8';
  tensor?: string;
  /** Include the spectra (weights: evals, spikes, snr; omd: values) in the response. */
  arrays: boolean;
  /** The analysis options (weightSpectrum or analyzeObservable). */
  options: WeightSpectrumOptions & AnalyzeOptions;
}

const bad = (message: string) => new HttpError(400, message);
const param = (key: string) => `query parameter '${key}'`;

/** Query entries as [key, value] pairs; a repeated key is a 400. */
function entries(query: QueryInput): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  const pairs: [string, unknown][] =
    query instanceof URLSearchParams ? [...query.entries()] : Object.entries(query ?? {});
  for (const [k, v] of pairs) {
    if (seen.has(k) || Array.isArray(v)) throw bad(`Expected one value for ${param(k)} but received several`);
    seen.add(k);
    if (typeof v !== 'string') throw bad(`Expected a string for ${param(k)} but received ${describe(v)}`);
    out.push([k, v]);
  }
  return out;
}

/** A query value checked by its kind; validation errors become 400s. */
function value(key: string, text: string, spec: ParamKind): string | number | boolean {
  try {
    switch (spec.kind) {
      case 'bool':
        if (text === '' || text === 'true' || text === '1') return true;
        if (text === 'false' || text === '0') return false;
        throw new RangeError(`Expected true, false, 1 or 0 for ${param(key)} but received '${text}'`);
      case 'number':
      case 'int': {
        const x = text.trim() === '' ? NaN : Number(text);
        if (Number.isNaN(x)) throw new RangeError(`Expected a number for ${param(key)} but received '${text}'`);
        const bounds = {
          ...(spec.min !== undefined && { min: spec.min }),
          ...(spec.max !== undefined && { max: spec.max }),
        };
        return spec.kind === 'int' ? checkInteger(x, param(key), bounds) : checkNumber(x, param(key), bounds);
      }
      case 'choice':
        return spec.choices.length ? checkOneOf(text, param(key), spec.choices) : text;
    }
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** Parses the query of a `kind` request. @throws HttpError 400 for an unknown key, a repeated key or a bad value. */
export function parseQuery(kind: AnalysisKind, query: QueryInput): ParsedQuery {
  const out: ParsedQuery = { format: 'auto', arrays: false, options: {} };
  const own = ANALYSIS_PARAMS[kind];
  for (const [key, text] of entries(query)) {
    if (key === 'shape') {
      out.shape = rawShape(text);
      continue;
    }
    const spec = COMMON_PARAMS[key] ?? own[key];
    if (!spec) {
      const known = [...Object.keys(COMMON_PARAMS), ...Object.keys(own)].map((k) => `'${k}'`).join(', ');
      throw bad(`Expected one of ${known} for a query parameter of /${kind} but received '${key}'`);
    }
    const v = value(key, text, spec);
    if (key === 'format') out.format = v as ParsedQuery['format'];
    else if (key === 'dtype') out.dtype = RAW_DTYPES[v as string];
    else if (key === 'tensor') out.tensor = text;
    else if (key === 'arrays') out.arrays = v as boolean;
    else (out.options as Record<string, unknown>)[key] = v;
  }
  return out;
}

/** `RxC` or `R,C`, two positive integers. */
function rawShape(text: string): [number, number] {
  const m = /^\s*(\d{1,9})\s*[x,]\s*(\d{1,9})\s*$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw bad(`Expected two positive integers 'RxC' for ${param('shape')} but received '${text}'`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * What the request's headers and query already say before the body is read: the Content-Type
 * must not be JSON, text or multipart, and a raw upload's declared length must match its shape and
 * dtype (checked against Content-Length when present) and its shape the size limit.
 * @throws HttpError 400 or 413.
 */
export function precheck(
  kind: AnalysisKind,
  q: ParsedQuery,
  contentType: string | undefined,
  declared: number | undefined,
  maxElements: number,
): void {
  const ct = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  // Not refused: application/x-www-form-urlencoded, which curl --data-binary sends by default.
  if (/^application\/(.+\+)?json$|^text\/|^multipart\//.test(ct))
    throw bad(
      `Expected a binary body (.npy, safetensors, or raw float32/float64 with ?shape=RxC&dtype=) but received Content-Type ${ct}`,
    );
  const raw = q.format === 'raw' || (q.format === 'auto' && (q.shape !== undefined || q.dtype !== undefined));
  if (!raw) {
    if (q.shape || q.dtype) throw bad(`Expected no ${param(q.shape ? 'shape' : 'dtype')} with format '${q.format}'`);
    return;
  }
  if (!q.shape) throw bad(`Expected ${param('shape')} 'RxC' for a raw body but received none`);
  if (!q.dtype) throw bad(`Expected ${param('dtype')} float32 or float64 for a raw body but received none`);
  checkSize(kind, q.shape[0], q.shape[1], maxElements);
  const want = q.shape[0] * q.shape[1] * (q.dtype === 'f4' ? 4 : 8);
  if (declared !== undefined && declared !== want)
    throw bad(
      `Expected ${want} bytes for shape ${q.shape[0]}x${q.shape[1]} of ${q.dtype === 'f4' ? 'float32' : 'float64'} but received Content-Length ${declared}`,
    );
}

/** The matrix-size limit: rows x cols entries, and for OMD also the N x N distance matrix. @throws HttpError 413. */
export function checkSize(kind: AnalysisKind, rows: number, cols: number, maxElements: number): void {
  if (rows * cols > maxElements)
    throw new HttpError(
      413,
      `Expected a matrix of at most ${maxElements} entries (maxMatrixElements) but received ${rows} x ${cols} = ${rows * cols}`,
    );
  if (kind === 'omd' && rows * rows > maxElements)
    throw new HttpError(
      413,
      `Expected at most ${Math.floor(Math.sqrt(maxElements))} probes (the ${rows} x ${rows} distance matrix is over maxMatrixElements ${maxElements}) but received ${rows} rows`,
    );
}

const startsWith = (b: Uint8Array, magic: number[]) =>
  b.byteLength >= magic.length && magic.every((x, i) => b[i] === x);

/** A body that looks like safetensors: an 8-byte length within the body, then a '{'. */
function looksLikeSafetensors(b: Uint8Array): boolean {
  if (b.byteLength < 10) return false;
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  return n <= BigInt(b.byteLength - 8) && b[8] === 0x7b;
}

function describeBytes(b: Uint8Array): string {
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `${b.byteLength} bytes starting ${head || '(empty)'}`;
}

/**
 * Decodes the body of a `kind` request into a matrix (see the module doc).
 * @throws HttpError 400 for an empty, malformed, truncated or lying body, a non-float dtype, fewer
 * than two dimensions or a zero dimension; 413 for a matrix over `maxElements`.
 */
export function decodeBody(kind: AnalysisKind, body: Uint8Array, q: ParsedQuery, maxElements: number): DecodedMatrix {
  if (body.byteLength === 0) throw bad('Expected a body (.npy, safetensors or raw floats) but received 0 bytes');
  let format = q.format;
  if (format === 'auto') {
    if (q.shape || q.dtype) format = 'raw';
    else if (startsWith(body, NPY_MAGIC)) format = 'npy';
    else if (looksLikeSafetensors(body)) format = 'safetensors';
    else
      throw bad(
        `Expected a .npy file, a safetensors file, or raw floats with ?shape=RxC&dtype= for the body but received ${describeBytes(body)}`,
      );
  }
  if (format === 'raw') {
    if (!q.shape || !q.dtype) throw bad(`Expected ${param('shape')} and ${param('dtype')} for a raw body`);
    const [rows, cols] = q.shape;
    checkSize(kind, rows, cols, maxElements);
    const size = q.dtype === 'f4' ? 4 : 8;
    if (body.byteLength !== rows * cols * size)
      throw bad(
        `Expected ${rows * cols * size} bytes for shape ${rows}x${cols} of ${q.dtype === 'f4' ? 'float32' : 'float64'} but received ${body.byteLength}`,
      );
    const data = decodeElements(body, q.dtype, rows * cols, false);
    return { mat: { data, rows, cols }, format, shape: [rows, cols], dtype: q.dtype === 'f4' ? 'float32' : 'float64' };
  }
  let arr: NdArray;
  try {
    arr =
      format === 'npy'
        ? parseNpy(body, 'the .npy body')
        : pickTensor(parseSafetensors(body, 'the safetensors body').tensors, q.tensor);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw bad((err as Error).message);
  }
  const code = format === 'npy' ? arr.dtype.slice(1) : arr.dtype;
  if (!FLOAT_DTYPES.has(code))
    throw bad(
      `Expected a float dtype (float16, bfloat16, float32 or float64) for the uploaded array but received ${arr.dtype}`,
    );
  if (arr.shape.length < 2 || arr.shape.some((d) => d < 1))
    throw bad(`Expected an array of at least 2 non-zero dimensions but received shape [${arr.shape.join(', ')}]`);
  // A Keras/Flax kernel keeps its output axis last ([kh, kw, in, out]): flattened to
  // (kh·kw·in) x out before the transpose, as the checkpoint importer reads it.
  const last = arr.shape[arr.shape.length - 1]!;
  const mat: Mat =
    q.options.kernel && arr.shape.length > 2
      ? { data: arr.data, rows: arr.data.length / last, cols: last }
      : toMat(arr, 'the uploaded array');
  checkSize(kind, mat.rows, mat.cols, maxElements);
  return { mat, format, shape: arr.shape, dtype: arr.dtype };
}

function pickTensor(tensors: Record<string, NdArray>, name: string | undefined): NdArray {
  const names = Object.keys(tensors);
  if (name !== undefined) {
    const t = tensors[name];
    if (!t) throw bad(`Expected one of ${listNames(names)} for ${param('tensor')} but received '${name}'`);
    return t;
  }
  if (names.length !== 1)
    throw bad(
      `Expected ${param('tensor')} naming one of the ${names.length} tensors (${listNames(names)}) but received none`,
    );
  return tensors[names[0]!]!;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${n}'`);
  return names.length > 8 ? `${shown.join(', ')}, …` : shown.join(', ') || 'none';
}
