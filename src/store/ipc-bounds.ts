/**
 * Bounds check of an Arrow IPC message's metadata (a FlatBuffer) before apache-arrow decodes it.
 * The decoder loops over every vector the metadata declares (schema fields and their children,
 * record-batch nodes and buffers, custom metadata) for as many elements as the vector's length
 * word says, reading zeros past the end of the buffer: a damaged length word of 2^32 means
 * billions of iterations and objects. Here every such vector must fit inside the metadata bytes,
 * which bounds the decoder's work by the size of the file.
 *
 * FlatBuffer layout used: the buffer starts with the root table's u32 offset; a table starts with
 * an i32 back-offset to its vtable (u16 vtable size, u16 table size, then one u16 offset per
 * field, 0 = absent); an offset field holds a u32 relative to itself; a vector is a u32 length
 * followed by its elements. Field numbers are those of Arrow's Message.fbs and Schema.fbs.
 */

/** Field numbers of the tables read here (Arrow format, Message.fbs / Schema.fbs). */
const MESSAGE_HEADER_TYPE = 1;
const MESSAGE_HEADER = 2;
const MESSAGE_CUSTOM_METADATA = 4;
const SCHEMA_FIELDS = 1;
const SCHEMA_CUSTOM_METADATA = 2;
const SCHEMA_FEATURES = 3;
const FIELD_CHILDREN = 5;
const FIELD_CUSTOM_METADATA = 6;
const BATCH_NODES = 1;
const BATCH_BUFFERS = 2;
const BATCH_COMPRESSION = 3;
const BATCH_VARIADIC_COUNTS = 4;
/** Arrow's MessageHeader union tags. */
const HEADER_SCHEMA = 1;
const HEADER_RECORD_BATCH = 3;
/** Nesting deeper than this is not the spectra schema (whose deepest field is a list's item). */
const MAX_DEPTH = 8;

/**
 * True when the metadata `m` of one IPC message is a Schema or RecordBatch message whose
 * vectors all fit inside `m` (so decoding it takes work proportional to `m.byteLength`).
 * False for anything else: another header type, offsets outside `m`, a vector that does not fit,
 * a compressed record batch (the store never writes one).
 */
export function messageMetadataFits(m: Uint8Array): boolean {
  const n = m.byteLength;
  const dv = new DataView(m.buffer, m.byteOffset, n);
  const u32 = (p: number): number => (p >= 0 && p + 4 <= n ? dv.getUint32(p, true) : -1);
  /** The absolute position of field `i` of the table at `p`, 0 when absent, -1 when out of bounds. */
  const table = (p: number): ((i: number) => number) | undefined => {
    if (p < 0 || p + 4 > n) return undefined;
    const vt = p - dv.getInt32(p, true);
    if (vt < 0 || vt + 4 > n) return undefined;
    const vsize = dv.getUint16(vt, true);
    if (vsize < 4 || vt + vsize > n) return undefined;
    return (i) => {
      if (4 + 2 * i + 2 > vsize) return 0;
      const o = dv.getUint16(vt + 4 + 2 * i, true);
      return o === 0 ? 0 : p + o < n ? p + o : -1;
    };
  };
  const deref = (at: number): number => {
    const r = u32(at);
    return r < 0 ? -1 : at + r;
  };
  /** The vector at field position `at` (0 = absent): its element positions' start and length, or undefined if it does not fit. */
  const vector = (at: number, elem: number): { start: number; length: number } | undefined => {
    if (at === 0) return { start: 0, length: 0 };
    if (at < 0) return undefined;
    const v = deref(at);
    const len = u32(v);
    if (len < 0 || v + 4 + len * elem > n) return undefined;
    return { start: v + 4, length: len };
  };
  const offsetsFit = (at: number): boolean => vector(at, 4) !== undefined;
  let budget = n; // tables visited, at most one per 4 bytes
  const fieldFits = (p: number, depth: number): boolean => {
    if (depth > MAX_DEPTH || --budget < 0) return false;
    const f = table(p);
    if (!f || !offsetsFit(f(FIELD_CUSTOM_METADATA))) return false;
    const children = vector(f(FIELD_CHILDREN), 4);
    if (!children) return false;
    for (let i = 0; i < children.length; i++) {
      const at = children.start + 4 * i;
      if (!fieldFits(deref(at), depth + 1)) return false;
    }
    return true;
  };

  const msg = table(u32(0));
  if (!msg || !offsetsFit(msg(MESSAGE_CUSTOM_METADATA))) return false;
  const typeAt = msg(MESSAGE_HEADER_TYPE);
  const headerType = typeAt > 0 ? m[typeAt]! : 0;
  const headerAt = msg(MESSAGE_HEADER);
  if (headerAt <= 0) return false;
  const header = table(deref(headerAt));
  if (!header) return false;
  if (headerType === HEADER_SCHEMA) {
    if (!offsetsFit(header(SCHEMA_CUSTOM_METADATA)) || !vector(header(SCHEMA_FEATURES), 8)) return false;
    const fields = vector(header(SCHEMA_FIELDS), 4);
    if (!fields) return false;
    for (let i = 0; i < fields.length; i++) if (!fieldFits(deref(fields.start + 4 * i), 1)) return false;
    return true;
  }
  if (headerType === HEADER_RECORD_BATCH) {
    return (
      header(BATCH_COMPRESSION) === 0 &&
      vector(header(BATCH_NODES), 16) !== undefined &&
      vector(header(BATCH_BUFFERS), 16) !== undefined &&
      vector(header(BATCH_VARIADIC_COUNTS), 8) !== undefined
    );
  }
  return false;
}
