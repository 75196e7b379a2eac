/**
 * Spectra shards: Apache Arrow IPC files holding the arrays of a run (spectra, eigenvectors, MDS
 * coordinates), one shard per writer session, one record batch per flush (possibly empty).
 *
 * While a session writes, its shard is an Arrow IPC *stream* (schema message, then one record
 * batch message per flush, each written whole and synced): a crash leaves every complete batch
 * readable and at most one torn trailing message, which the reader here detects from the
 * message framing (continuation marker, metadata length, body length) and drops. When the
 * session closes, or a later session or {@link repairRun} recovers it, the shard is rewritten
 * (temp file + rename) as an Arrow IPC *file* (Feather V2: magic, the same batches, footer), the
 * format `pandas.read_feather`, `polars.read_ipc` and `polars.scan_ipc` read.
 *
 * Schema (one row per stored array): session int32, flush int32, step float64, family utf8,
 * observable utf8, name utf8, dtype utf8 ('float64' | 'float32': the dtype given at append;
 * values are float64 either way, exactly), rows int32, cols int32 (null for a 1-D array),
 * values list<float64> (row-major, rows·cols entries).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Data, Float64, Int32, List, Message, RecordBatch, Schema, Utf8 } from 'apache-arrow';
import { expected, InternalError } from '../errors.js';
import { isInstalled, requirePeers } from '../peers.js';
import { removeQuietly, writeAll, writeAllAsync, writeFileAtomic } from './atomic.js';
import { messageMetadataFits } from './ipc-bounds.js';

/** The apache-arrow module namespace. */
type Arrow = typeof import('apache-arrow');

/** The apache-arrow versions the store is tested with (package.json peerDependencies). */
export const ARROW_RANGE = '^21.1.0';

/** The command that installs the store's optional peer dependency. */
export const ARROW_INSTALL = `npm install apache-arrow@${ARROW_RANGE}`;

/** Who needs apache-arrow, as the missing-peer message says it. */
const STORE_ENTRY = "specdyn's run store";

let arrowModule: Arrow | undefined;
let schemaValue: Schema | undefined;

/**
 * Imports apache-arrow once (an optional peer dependency: an app that never writes or reads a
 * run does not install it). Every async entry point of the store that reaches Arrow code awaits
 * this first; the sync helpers below then use the loaded module.
 * @throws SpecdynError naming apache-arrow and {@link ARROW_INSTALL} when it is not installed.
 */
export async function loadArrow(): Promise<void> {
  if (arrowModule) return;
  requirePeers(['apache-arrow'], { entry: STORE_ENTRY, install: ARROW_INSTALL });
  arrowModule = arrowBundle() ?? (await import('apache-arrow'));
}

/**
 * apache-arrow's own single-file build of the same release (Arrow.esnext.min.js, the API of the
 * package entry without the Node stream adapters, which the store does not use), or undefined
 * when the installed version does not ship it. One file to compile instead of the entry's many
 * modules: about 15 ms instead of about 170 ms of CPU at first use, which every thread that
 * opens a run (a monitor's analysis worker) pays again.
 */
function arrowBundle(): Arrow | undefined {
  try {
    return createRequire(import.meta.url)('apache-arrow/Arrow.esnext.min') as Arrow;
  } catch {
    return undefined;
  }
}

/** The module loaded by {@link loadArrow}, for the sync helpers. */
function arrow(): Arrow {
  if (arrowModule) return arrowModule;
  // A missing peer is the user's to fix: say so even on a path that forgot to load it.
  requirePeers(['apache-arrow'], { entry: STORE_ENTRY, install: ARROW_INSTALL });
  throw new InternalError(
    `the run store used apache-arrow (installed: ${isInstalled('apache-arrow')}) before loadArrow() was awaited`,
  );
}

/** The Arrow schema of every spectra shard (see the module doc); needs {@link loadArrow} first. */
function schema(): Schema {
  if (schemaValue) return schemaValue;
  const { Field, Float64, Int32, List, Schema, Utf8 } = arrow();
  schemaValue = new Schema([
    new Field('session', new Int32(), false),
    new Field('flush', new Int32(), false),
    new Field('step', new Float64(), false),
    new Field('family', new Utf8(), false),
    new Field('observable', new Utf8(), false),
    new Field('name', new Utf8(), false),
    new Field('dtype', new Utf8(), false),
    new Field('rows', new Int32(), false),
    new Field('cols', new Int32(), true),
    new Field('values', new List(new Field('item', new Float64(), false)), false),
  ]);
  return schemaValue;
}

/**
 * What {@link spectraSchema} promises of the apache-arrow `Schema` it returns: the fields in order,
 * each with its name, Arrow type (`String(type)`: 'Int32', 'Utf8', 'List<Float64>', ...) and
 * nullability. Typed structurally so that specdyn/store's declarations do not need apache-arrow
 * (an optional peer dependency); cast to apache-arrow's `Schema` for the rest of its API.
 */
export interface SpectraSchema {
  readonly fields: readonly SpectraField[];
}

/** One field of {@link SpectraSchema}: an apache-arrow `Field`, as far as specdyn promises it. */
export interface SpectraField {
  /** Column name. */
  readonly name: string;
  /** The Arrow type; `String(type)` names it ('Int32', 'Float64', 'Utf8', 'List<Float64>'). */
  readonly type: object;
  /** Whether the column may hold nulls (only `cols`). */
  readonly nullable: boolean;
}

/**
 * The Arrow schema of every spectra shard (columns and types as in docs/formats.md): the
 * apache-arrow `Schema` object the store writes with, built on first call.
 * @throws SpecdynError naming apache-arrow and {@link ARROW_INSTALL} when it is not installed.
 */
export async function spectraSchema(): Promise<SpectraSchema> {
  await loadArrow();
  return schema();
}

/** One array row of a shard, in memory. */
export interface ArrayRecord {
  session: number;
  flush: number;
  step: number;
  family: string;
  observable: string;
  name: string;
  dtype: 'float64' | 'float32';
  rows: number;
  /** null for a 1-D array. */
  cols: number | null;
  values: Float64Array;
}

const ARROW_MAGIC = Buffer.from('ARROW1');
const CONTINUATION = 0xffffffff;

function int32Data(values: ArrayLike<number>, nullable?: (number | null)[]): Data<Int32> {
  const { Int32, makeData } = arrow();
  const data = Int32Array.from(values, (v) => v ?? 0);
  if (!nullable) return makeData({ type: new Int32(), length: data.length, nullCount: 0, data });
  const bitmap = new Uint8Array(Math.ceil(data.length / 8));
  let nulls = 0;
  nullable.forEach((v, i) => {
    if (v === null) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return makeData({ type: new Int32(), length: data.length, nullCount: nulls, nullBitmap: bitmap, data });
}

/** Builds the record batch of one flush (zero rows allowed). */
function buildBatch(records: readonly ArrayRecord[]): RecordBatch {
  const { Float64, makeData, RecordBatch, Struct, Utf8, vectorFromArray } = arrow();
  const spectra = schema();
  const n = records.length;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  records.forEach((r, i) => {
    total += r.values.length;
    if (total > 0x7fffffff)
      throw new RangeError(`Expected fewer than 2^31 array values in one flush but received ${total}`);
    offsets[i + 1] = total;
  });
  const flat = new Float64Array(total);
  for (const [i, r] of records.entries()) flat.set(r.values, offsets[i]!);
  const utf8 = (xs: string[]): Data<Utf8> => vectorFromArray(xs, new Utf8()).data[0]!;
  const listType = spectra.fields[9]!.type as List<Float64>;
  const children = [
    int32Data(records.map((r) => r.session)),
    int32Data(records.map((r) => r.flush)),
    makeData({ type: new Float64(), length: n, nullCount: 0, data: Float64Array.from(records, (r) => r.step) }),
    utf8(records.map((r) => r.family)),
    utf8(records.map((r) => r.observable)),
    utf8(records.map((r) => r.name)),
    utf8(records.map((r) => r.dtype)),
    int32Data(records.map((r) => r.rows)),
    int32Data(
      records.map((r) => r.cols ?? 0),
      records.map((r) => r.cols),
    ),
    makeData({
      type: listType,
      length: n,
      nullCount: 0,
      valueOffsets: offsets,
      child: makeData({ type: new Float64(), length: total, nullCount: 0, data: flat }),
    }),
  ];
  return new RecordBatch(spectra, makeData({ type: new Struct(spectra.fields), length: n, nullCount: 0, children }));
}

/** The IPC stream bytes of one batch: [schema message][batch message][EOS]. */
function streamBytes(batch: RecordBatch): Uint8Array {
  return arrow().RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
}

/** Byte length of the first (schema) message of a stream. */
function firstMessageLength(bytes: Uint8Array): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== CONTINUATION) throw new Error('unexpected Arrow stream framing');
  return 8 + dv.getInt32(4, true);
}

let schemaBytes: Uint8Array | undefined;

/** The encapsulated schema message of the spectra schema (the head of every shard stream). */
function schemaMessage(): Uint8Array {
  if (!schemaBytes) {
    const empty = streamBytes(buildBatch([]));
    schemaBytes = empty.slice(0, firstMessageLength(empty));
  }
  return schemaBytes;
}

/**
 * Appends batches to one session's shard, as an IPC stream (see the module doc). The schema
 * message is written on open; {@link append} writes one complete batch message at the end of
 * what is committed; {@link seal} rewrites the shard as an IPC file. A failed append cuts the
 * file back to its last complete batch, so the next append never lands after a torn one.
 */
export class ShardWriter {
  private fd: number | undefined;
  readonly file: string;
  private batches = 0;
  /** Bytes of the schema message and the complete batches. */
  private size = 0;

  constructor(file: string) {
    this.file = file;
    const fd = fs.openSync(file, 'wx');
    try {
      const head = schemaMessage();
      writeAll(fd, head);
      fs.fsyncSync(fd);
      this.size = head.byteLength;
    } catch (e) {
      fs.closeSync(fd);
      removeQuietly(file);
      throw e;
    }
    this.fd = fd;
  }

  /** Number of batches written. */
  get count(): number {
    return this.batches;
  }

  /**
   * Writes one batch message (whole, off the main thread) and, if `durable`, fdatasyncs it. On a
   * failed write the file is cut back to its previous length before the error is rethrown; if
   * even that fails the error says so (the shard then ends in a torn message, which readers drop).
   */
  async append(records: readonly ArrayRecord[], durable: boolean): Promise<void> {
    if (this.fd === undefined) throw new Error(`shard ${this.file} is closed`);
    const bytes = streamBytes(buildBatch(records));
    const start = firstMessageLength(bytes);
    const mark = this.mark();
    try {
      await writeAllAsync(this.fd, bytes.subarray(start, bytes.byteLength - 8), durable, this.size);
    } catch (e) {
      this.restore(mark);
      throw e;
    }
    this.size += bytes.byteLength - 8 - start;
    this.batches++;
  }

  /** The shard's committed extent (for {@link restore}). */
  mark(): { size: number; batches: number } {
    return { size: this.size, batches: this.batches };
  }

  /**
   * Cuts the shard back to a {@link mark} (undoing the batches appended since).
   * @throws the file system's error when the file cannot be truncated.
   */
  restore(mark: { size: number; batches: number }): void {
    if (this.fd === undefined) throw new Error(`shard ${this.file} is closed`);
    fs.ftruncateSync(this.fd, mark.size);
    this.size = mark.size;
    this.batches = mark.batches;
  }

  /** Closes the stream and rewrites the shard as an IPC file (Feather V2). */
  seal(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    sealShard(this.file);
  }

  /** Closes the file descriptor without sealing (the shard stays a stream). */
  abandon(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** What {@link scanShard} found in a shard file. */
export interface ShardScan {
  /** `file`: sealed IPC file; `stream`: IPC stream (written by a live or an interrupted session). */
  format: 'file' | 'stream';
  /** Number of complete record batches. */
  batches: number;
  /** Bytes of a torn trailing message (0 when the shard ends cleanly). */
  tornBytes: number;
  /** Bytes ready for RecordBatchReader: the complete messages as a stream (schema + complete batches + EOS). */
  stream: Uint8Array;
}

/**
 * Reads a shard's message framing and keeps its complete messages: a torn trailing message (a
 * crash mid-write) is dropped and reported in `tornBytes`. A sealed file is read the same way
 * (its messages follow the 8-byte magic; the footer is not trusted), and must end cleanly.
 * Every length is checked against the file before it is used, so a damaged shard cannot make
 * the reader loop, allocate or read beyond the file.
 * @throws RangeError naming the file when it is not an Arrow IPC stream or file at all, or a
 * sealed file whose messages do not end in the end-of-stream marker (it is damaged, not torn).
 */
export function scanShard(file: string): ShardScan {
  const raw = fs.readFileSync(file);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const isFile = raw.subarray(0, 6).equals(ARROW_MAGIC);
  const { Message, MessageHeader } = arrow();
  const start = isFile ? 8 : 0;
  let pos = start;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let batches = 0;
  let complete = pos;
  let sawSchema = false;
  let ended = false;
  while (pos + 8 <= bytes.byteLength) {
    if (dv.getUint32(pos, true) !== CONTINUATION) {
      if (pos === start)
        throw new RangeError(
          `Expected an Arrow IPC stream or file for ${file} but its first bytes are not an Arrow message`,
        );
      break;
    }
    const metaLen = dv.getInt32(pos + 4, true);
    if (metaLen === 0) {
      ended = true;
      break;
    }
    if (metaLen < 0 || pos + 8 + metaLen > bytes.byteLength) break;
    const metadata = bytes.subarray(pos + 8, pos + 8 + metaLen);
    // apache-arrow trusts the vector lengths inside the metadata: check they fit first.
    if (!messageMetadataFits(metadata)) break;
    let msg: Message;
    try {
      msg = Message.decode(metadata);
    } catch {
      break;
    }
    const bodyLength = Number(msg.bodyLength);
    // A negative or fractional body length would move `pos` backwards: never trust it.
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) break;
    const end = pos + 8 + metaLen + bodyLength;
    if (end > bytes.byteLength) break;
    // The spectra layout: one schema message (a sealed file keeps it in its footer instead),
    // then record batches only.
    if (msg.headerType === MessageHeader.Schema && !sawSchema && batches === 0) sawSchema = true;
    else if (msg.headerType === MessageHeader.RecordBatch && (sawSchema || isFile)) batches++;
    else break;
    pos = end;
    complete = end;
  }
  if (isFile && !ended)
    throw new RangeError(
      `Expected a sealed Arrow IPC file for ${file} but its messages end at byte ${complete} of ${bytes.byteLength} without the end-of-stream marker (the shard is corrupt)`,
    );
  if (!sawSchema && !isFile)
    return { format: 'stream', batches: 0, tornBytes: bytes.byteLength - start, stream: new Uint8Array(0) };
  // The batches are decoded against the spectra schema itself, never one read from the file.
  const head = sawSchema ? new Uint8Array(0) : schemaMessage();
  const stream = new Uint8Array(head.byteLength + complete - start + 8);
  stream.set(head);
  stream.set(bytes.subarray(start, complete), head.byteLength);
  stream.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], head.byteLength + complete - start);
  return {
    format: isFile ? 'file' : 'stream',
    batches,
    tornBytes: ended || isFile ? 0 : bytes.byteLength - complete,
    stream,
  };
}

const DTYPE_NAMES = new Set(['float64', 'float32']);

/** One decoded row, checked against the schema's promises (a corrupt shard gives a RangeError, not garbage). */
function checkRecord(r: ArrayRecord, where: string): ArrayRecord {
  const bad = (what: string, field: string, value: unknown): never => {
    throw new RangeError(`${expected(what, `${field} of ${where}`, value)} (the shard is corrupt)`);
  };
  if (!Number.isInteger(r.session) || r.session < 0) bad('a session number ≥ 0', 'session', r.session);
  if (!Number.isInteger(r.flush) || r.flush < 0) bad('a flush number ≥ 0', 'flush', r.flush);
  if (typeof r.step !== 'number' || !Number.isFinite(r.step)) bad('a finite step', 'step', r.step);
  for (const k of ['family', 'observable', 'name'] as const)
    if (typeof r[k] !== 'string' || r[k].length === 0) bad('a non-empty string', k, r[k]);
  if (!DTYPE_NAMES.has(r.dtype)) bad("'float64' or 'float32'", 'dtype', r.dtype);
  if (!Number.isInteger(r.rows) || r.rows < 0) bad('a row count ≥ 0', 'rows', r.rows);
  if (r.cols !== null && (!Number.isInteger(r.cols) || r.cols < 0)) bad('a column count ≥ 0 or null', 'cols', r.cols);
  const want = r.rows * (r.cols ?? 1);
  if (r.values.length !== want)
    bad(`${want} values (rows ${r.rows} x cols ${r.cols ?? 1})`, 'values', `${r.values.length} values`);
  return r;
}

/**
 * Decodes the complete batches of a scanned shard into records (copies the values out). `file`
 * names the shard in errors.
 * @throws RangeError naming the file, batch and row when the bytes do not decode as the spectra
 * schema or a row breaks it (a corrupt shard; the message framing alone cannot tell).
 */
export function readShardRecords(scan: ShardScan, file = 'shard'): ArrayRecord[][] {
  if (scan.stream.byteLength === 0) return [];
  const out: ArrayRecord[][] = [];
  let b = 0;
  const want = schema().fields.map((f) => `${f.name}: ${String(f.type)}`);
  try {
    for (const batch of arrow().RecordBatchReader.from(scan.stream)) {
      // The columns are read by name and type below: a schema that differs (a damaged shard's
      // List<Null> values, say) would be decoded into garbage or an endless list of nulls.
      const got = batch.schema.fields.map((f) => `${f.name}: ${String(f.type)}`);
      const at = want.findIndex((w, i) => got[i] !== w);
      if (at >= 0 || got.length !== want.length) {
        const i = at >= 0 ? at : want.length;
        throw new RangeError(
          `Expected column ${i} of the spectra schema to be ${want[i] ?? 'absent'} in batch ${b} of ${file} but it is ${got[i] ?? 'missing'} (the shard is corrupt)`,
        );
      }
      // Every row holds at least its two int32 keys: more rows than that is a lying length.
      if (batch.numRows > scan.stream.byteLength / 8)
        throw new RangeError(
          `${expected(`at most ${Math.floor(scan.stream.byteLength / 8)} rows`, `batch ${b} of ${file}`, batch.numRows)} (the shard is corrupt)`,
        );
      const col = (name: string) => {
        const c = batch.getChild(name);
        if (!c)
          throw new RangeError(
            `${expected(`a '${name}' column`, `batch ${b} of ${file}`, 'none')} (the shard is corrupt)`,
          );
        return c;
      };
      const session = col('session'),
        flush = col('flush'),
        step = col('step'),
        family = col('family');
      const observable = col('observable'),
        name = col('name'),
        dtype = col('dtype'),
        rows = col('rows'),
        cols = col('cols');
      const values = col('values');
      const recs: ArrayRecord[] = [];
      for (let i = 0; i < batch.numRows; i++) {
        const v = values.get(i) as { toArray(): Float64Array } | null;
        recs.push(
          checkRecord(
            {
              session: session.get(i) as number,
              flush: flush.get(i) as number,
              step: step.get(i) as number,
              family: family.get(i) as string,
              observable: observable.get(i) as string,
              name: name.get(i) as string,
              dtype: dtype.get(i) as 'float64' | 'float32',
              rows: rows.get(i) as number,
              cols: cols.get(i) as number | null,
              values: v ? Float64Array.from(v.toArray()) : new Float64Array(0),
            },
            `row ${i} of batch ${b} of ${file}`,
          ),
        );
      }
      out.push(recs);
      b++;
    }
  } catch (e) {
    if (e instanceof RangeError && e.message.endsWith('(the shard is corrupt)')) throw e;
    throw new RangeError(
      `Expected Arrow record batches of the spectra schema in ${file} but batch ${b} does not decode (the shard is corrupt): ${(e as Error)?.message ?? String(e)}`,
    );
  }
  return out;
}

/**
 * Rewrites a stream shard as an IPC file holding its complete batches (temp + rename): the torn
 * tail of a crashed session is dropped. A shard that is already a file is left alone.
 * Returns the number of batches kept.
 */
export function sealShard(file: string): number {
  const scan = scanShard(file);
  if (scan.format === 'file') return scan.batches;
  const { RecordBatchFileWriter, RecordBatchReader } = arrow();
  let batches: RecordBatch[];
  try {
    batches = scan.stream.byteLength === 0 ? [] : [...RecordBatchReader.from(scan.stream)];
  } catch (e) {
    throw new RangeError(
      `Expected Arrow record batches of the spectra schema in ${file} but they do not decode (the shard is corrupt): ${(e as Error)?.message ?? String(e)}`,
    );
  }
  if (batches.length === 0) {
    // No complete batch (a session that never flushed): a file with the schema and no batch.
    const w = new RecordBatchFileWriter();
    w.reset(undefined, schema());
    writeFileAtomic(file, w.finish().toUint8Array(true));
    return 0;
  }
  const bytes = RecordBatchFileWriter.writeAll(batches).toUint8Array(true);
  writeFileAtomic(file, bytes);
  return batches.length;
}
