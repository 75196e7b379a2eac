// Mutation fuzzer of the file readers (docs/reliability.md): .npy, .npz, safetensors, IDX and
// run directories, from valid seeds through bit flips, truncation, splices and header lies
// (shape against length, dtype, offsets, huge sizes). Every input must either parse into a
// consistent array or throw a documented error (TypeError, RangeError, SpecdynError and its
// subclasses) whose message names the input; never another error, a hang, or an allocation far
// beyond the input. Each target runs in a worker thread watched for hangs; inputs that found
// something (and one input per distinct error message) are kept under test/fixtures/fuzz/.
//
//   node scripts/hardening/fuzz-readers.mjs [--seconds 60] [--targets npy,npz,safetensors,idx,run]
//        [--seed 1] [--save <dir>] [--store <store/index.js>]
//   node scripts/hardening/fuzz-readers.mjs --replay test/fixtures/fuzz [--store <store/index.js>]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { budgetSeconds, Checks, prng, root } from './lib/report.mjs';

const TARGETS = ['npy', 'npz', 'safetensors', 'idx', 'run'];
/** An allocation above this during one input is a finding (inputs are a few KB). */
const ALLOC_LIMIT = 64 * 1024 * 1024;
/** Allocations above this are refused outright, so a finding cannot take the machine down. */
const ALLOC_HARD = 1024 * 1024 * 1024;
/** One input running longer than this is a finding ('slow'); no heartbeat for HANG_MS is a hang. */
const SLOW_MS = 3000;
const HANG_MS = 15_000;
/** Largest input the worker publishes for the hang watchdog. */
const MAX_INPUT = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Inputs. A single-file target's input is its bytes; a run input is three files, packed as
// [u32 n][n bytes run.json][u32][steps.jsonl][u32][spectra-000.arrow].

const RUN_FILES = ['run.json', 'steps.jsonl', 'spectra-000.arrow'];

function packRun(parts) {
  const total = parts.reduce((a, p) => a + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    dv.setUint32(o, p.length, true);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

function unpackRun(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts = [];
  let o = 0;
  for (let i = 0; i < 3; i++) {
    const n = o + 4 <= bytes.length ? Math.min(dv.getUint32(o, true), bytes.length - o - 4) : 0;
    parts.push(bytes.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// The oracle: runs one input through its reader and classifies the outcome.

/**
 * Classifies `input` for `target` with the loaded modules. Returns { kind, detail }: kind 'ok'
 * (parsed, consistent), 'rejected' (documented error naming the input; detail = its message) or
 * 'finding' (anything else; detail says what).
 */
async function execute(target, input, mods, scratch) {
  const name = `fuzz-input.${target}`;
  const documented = (e) => e instanceof TypeError || e instanceof RangeError || e instanceof mods.store.SpecdynError;
  try {
    let bad = '';
    if (target === 'npy') bad = checkNd(mods.store.parseNpy(input, name));
    else if (target === 'npz') {
      for (const a of Object.values(mods.store.parseNpz(input, name))) bad ||= checkNd(a);
    } else if (target === 'safetensors') {
      const useFile = input.length % 4 === 0; // a quarter through the file reader too
      let r;
      if (useFile) {
        const file = path.join(scratch, name);
        fs.writeFileSync(file, input);
        try {
          r = await mods.store.readSafetensors(file);
        } catch (e) {
          // the file reader names the path, the parser its name: accept either
          if (documented(e) && e.message.includes(file)) e.message = e.message.split(file).join(name);
          throw e;
        }
      } else r = mods.store.parseSafetensors(input, name);
      for (const a of Object.values(r.tensors)) bad ||= checkNd(a);
    } else if (target === 'idx') {
      const a = mods.idx.parseIdx(input, name);
      const n = a.shape.reduce((x, y) => x * y, 1);
      if (a.data.length !== n) bad = `idx data ${a.data.length} ≠ shape product ${n}`;
    } else if (target === 'run') {
      const dir = path.join(scratch, name);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      unpackRun(input).forEach((p, i) => {
        fs.writeFileSync(path.join(dir, RUN_FILES[i]), p);
      });
      try {
        const run = await mods.store.openRun(dir);
        const rows = run.rows();
        for (const a of run.arrays()) {
          const v = a.value;
          const len = 'rows' in v ? v.rows * v.cols : v.length;
          if (('rows' in v ? v.data.length : v.length) !== len) bad ||= `array ${a.name} length`;
        }
        if (!rows.every((r) => typeof r.step === 'number')) bad ||= 'row without a numeric step';
        const omd = run.observables('omd')[0];
        if (omd !== undefined) {
          try {
            run.trajectory(omd).regimes();
          } catch (e) {
            if (!(e instanceof RangeError)) throw e;
          }
        }
        if (input.length % 5 === 0) await mods.store.repairRun(dir);
      } catch (e) {
        if (documented(e) && e.message.includes(dir)) e.message = e.message.split(dir).join(name);
        throw e;
      }
    }
    return bad ? { kind: 'finding', detail: `inconsistent result: ${bad}` } : { kind: 'ok', detail: '' };
  } catch (e) {
    if (e?.name === 'HugeAllocation') return { kind: 'finding', detail: e.message };
    if (!documented(e))
      return { kind: 'finding', detail: `undocumented ${e?.constructor?.name ?? typeof e}: ${e?.message ?? e}` };
    if (typeof e.message !== 'string' || !e.message.includes(name))
      return { kind: 'finding', detail: `unclear ${e.name}: ${e.message}` };
    return { kind: 'rejected', detail: e.message };
  }
}

function checkNd(a) {
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (a.data.length !== n) return `data ${a.data.length} ≠ shape product ${n}`;
  if (!(a.data instanceof Float64Array || a.data instanceof Float32Array)) return 'data not float';
  return '';
}

/** An error message with its numbers and quoted values blanked: one template per distinct check. */
function template(message) {
  return message
    .split(' but received')[0]
    .split(' for ')[0]
    .replace(/'[^']*'/g, "'…'")
    .replace(/\d+/g, '#')
    .slice(0, 120);
}

// ---------------------------------------------------------------------------------------------
// Worker: seeds, mutators, the loop.

function installAllocationGuard(state) {
  const wrap = (Ctor, bpe) =>
    new Proxy(Ctor, {
      construct(target, args, newTarget) {
        const a0 = args[0];
        const bytes = typeof a0 === 'number' ? a0 * bpe : a0 && typeof a0.length === 'number' ? a0.length * bpe : 0;
        if (bytes > state.maxAlloc) state.maxAlloc = bytes;
        if (bytes > ALLOC_HARD) {
          const e = new Error(`huge allocation refused: ${bytes} bytes`);
          e.name = 'HugeAllocation';
          throw e;
        }
        return Reflect.construct(target, args, newTarget === wrapped.get(Ctor) ? target : newTarget);
      },
    });
  const wrapped = new Map();
  for (const C of [
    Uint8Array,
    Int8Array,
    Uint16Array,
    Int16Array,
    Uint32Array,
    Int32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ]) {
    const p = wrap(C, C.BYTES_PER_ELEMENT);
    wrapped.set(C, p);
    globalThis[C.name] = p;
  }
  const AB = ArrayBuffer;
  const pab = wrap(AB, 1);
  wrapped.set(AB, pab);
  globalThis.ArrayBuffer = pab;
}

function npyBytes(descr, shape, fortran, data, major = 1) {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const lenBytes = major === 1 ? 2 : 4;
  let header = dict;
  while ((8 + lenBytes + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(8 + lenBytes + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 8 + lenBytes);
  out.set(data, 8 + lenBytes + header.length);
  return out;
}

const bytesOf = (ta) => new Uint8Array(ta.buffer.slice(ta.byteOffset, ta.byteOffset + ta.byteLength));

function safetensorsBytes(header, data) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function idxBytes(code, shape, data) {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, code, shape.length]);
  const dv = new DataView(out.buffer);
  shape.forEach((d, i) => {
    dv.setUint32(4 + 4 * i, d, false);
  });
  out.set(data, 4 + 4 * shape.length);
  return out;
}

async function makeSeeds(target, mods, scratch) {
  const { zipSync } = mods.fflate;
  const f8 = bytesOf(Float64Array.from([1, -2, 3.5, 0, Number.NaN, 1e300]));
  if (target === 'npy')
    return [
      npyBytes('<f8', [2, 3], false, f8),
      npyBytes('<f4', [3], false, bytesOf(Float32Array.from([1, 2, 3]))),
      npyBytes('<i8', [], false, bytesOf(BigInt64Array.from([-7n]))),
      npyBytes(
        '|u1',
        [4, 4],
        true,
        Uint8Array.from({ length: 16 }, (_, i) => i),
      ),
      npyBytes('>f2', [2, 2], false, Uint8Array.from([0x3c, 0, 0xc0, 0, 0x7c, 0, 0, 1])),
      npyBytes('|b1', [5], false, Uint8Array.from([0, 1, 2, 0, 1])),
      npyBytes('<f8', [3, 2], true, f8, 2),
      npyBytes('<u2', [2, 1, 2], false, bytesOf(Uint16Array.from([1, 2, 3, 65535])), 3),
    ];
  if (target === 'npz') {
    const a = npyBytes('<f8', [2, 3], false, f8);
    const b = npyBytes('<i4', [4], false, bytesOf(Int32Array.from([1, -1, 7, 9])));
    return [
      zipSync({ 'a.npy': a, 'b.npy': b }, { level: 0 }),
      zipSync({ 'a.npy': a, 'b.npy': b, 'notes.txt': Uint8Array.from([104, 105]) }, { level: 6 }),
      zipSync({ 'x.npy': npyBytes('<f4', [2, 2], true, bytesOf(Float32Array.from([1, 2, 3, 4]))) }, { level: 9 }),
    ];
  }
  if (target === 'safetensors') {
    const w = bytesOf(Float32Array.from([1, 2, 3, 4, 5, 6]));
    const h = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0]);
    const i8 = bytesOf(BigInt64Array.from([1n, -2n]));
    return [
      safetensorsBytes(
        {
          __metadata__: { format: 'pt' },
          w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
          h: { dtype: 'F16', shape: [2], data_offsets: [24, 28] },
          i: { dtype: 'I64', shape: [2], data_offsets: [28, 44] },
        },
        Uint8Array.from([...w, ...h, ...i8]),
      ),
      safetensorsBytes(
        {
          b: { dtype: 'BF16', shape: [1, 2], data_offsets: [0, 4] },
          m: { dtype: 'BOOL', shape: [3], data_offsets: [4, 7] },
        },
        Uint8Array.from([0x80, 0x3f, 0x00, 0xc0, 1, 0, 1]),
      ),
      safetensorsBytes({ e: { dtype: 'F64', shape: [0, 3], data_offsets: [0, 0] } }, new Uint8Array(0)),
    ];
  }
  if (target === 'idx')
    return [
      idxBytes(
        0x08,
        [3, 4, 4],
        Uint8Array.from({ length: 48 }, (_, i) => i),
      ),
      idxBytes(0x0d, [2, 3], Uint8Array.from(Buffer.from(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer).reverse())),
      idxBytes(
        0x0b,
        [5],
        Uint8Array.from({ length: 10 }, (_, i) => i),
      ),
      idxBytes(0x0e, [1, 1], Uint8Array.from([0x3f, 0xf0, 0, 0, 0, 0, 0, 0])),
    ];
  // run: a finished run (sealed shard) and a crashed one (stream shard, torn tail).
  const seeds = [];
  for (const crashed of [false, true]) {
    const dir = path.join(scratch, `seed-run-${crashed}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const w = await mods.store.createRun(dir, { durable: false });
    for (let s = 0; s < 3; s++) {
      w.append({
        step: s,
        logs: { loss: 1 / (s + 1) },
        observables: [
          {
            observable: 'h1',
            family: 'omd',
            row: { n: 4, perron: s + 0.5, nan: Number.NaN },
            arrays: {
              values: Float64Array.from([s, 1, 2, 3]),
              cloud: { data: new Float64Array(12).fill(s), rows: 4, cols: 3 },
            },
          },
          { observable: 'w', family: 'weights', row: { alpha: 2 + s }, arrays: { evals: Float32Array.from([1, 2]) } },
        ],
      });
      await w.flush();
    }
    if (!crashed) await w.close();
    const parts = RUN_FILES.map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
    if (crashed) parts[1] = Uint8Array.from([...parts[1], ...Buffer.from('{"step":3,"fam')]);
    seeds.push(packRun(parts));
  }
  return seeds;
}

const INTERESTING32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000];
const HUGE = ['4294967296', '9007199254740993', '1e30', '-1', '2147483648', '0', '1.5', '99999999999'];
const DESCRS = ['<f8', '>f8', '<f4', '|u1', '<i8', '=i2', '|b1', '<c16', '|O', '<U8', '>M8', 'f8', '<f16', '', '<V4'];
const ST_DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'C64', 'f32', ''];

/** One mutation of `seed` (a Uint8Array); `rnd` the PRNG; `other` a second seed for splices. */
function mutate(target, seed, rnd, other) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  let b = Uint8Array.from(seed);
  if (target === 'run' && rnd() < 0.85) {
    // mutate one (sometimes two) of the three files
    const parts = unpackRun(b);
    const k = Math.floor(rnd() * 3);
    parts[k] = k === 0 && rnd() < 0.5 ? jsonLie(parts[k], rnd) : mutateBytes(parts[k], rnd, unpackRun(other)[k]);
    if (rnd() < 0.2) {
      const j = Math.floor(rnd() * 3);
      parts[j] = mutateBytes(parts[j], rnd, unpackRun(other)[j]);
    }
    return packRun(parts);
  }
  const r = rnd();
  if (target === 'npy' && r < 0.45) return npyLie(b, rnd, pick);
  if (target === 'safetensors' && r < 0.45) return safetensorsLie(b, rnd, pick);
  if (target === 'idx' && r < 0.35) {
    if (b.length >= 4) {
      const dv = new DataView(b.buffer);
      const which = rnd();
      if (which < 0.3) b[2] = pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x0a, 0xff]);
      else if (which < 0.5) b[3] = pick([0, 1, 2, 3, 7, 255]);
      else if (b.length >= 8) {
        const dims = Math.min(b[3], Math.floor((b.length - 4) / 4));
        if (dims > 0) dv.setUint32(4 + 4 * Math.floor(rnd() * dims), pick(INTERESTING32), false);
      }
    }
    return b;
  }
  if (target === 'npz' && r < 0.35) {
    // lie in a zip header field: sizes, counts, offsets (little-endian u16/u32 at a signature)
    const sigs = [0x04034b50, 0x02014b50, 0x06054b50];
    const dv = new DataView(b.buffer);
    const at = [];
    for (let i = 0; i + 4 <= b.length; i++) if (sigs.includes(dv.getUint32(i, true))) at.push(i);
    if (at.length > 0) {
      const base = pick(at);
      const off = base + pick([8, 10, 12, 16, 18, 20, 22, 24, 26, 28, 30, 34, 42]);
      if (off + 4 <= b.length) dv.setUint32(off, pick(INTERESTING32), true);
      else if (off + 2 <= b.length) dv.setUint16(off, pick(INTERESTING32) & 0xffff, true);
    }
    return b;
  }
  b = mutateBytes(b, rnd, other);
  return b;
}

function mutateBytes(src, rnd, other) {
  let b = Uint8Array.from(src);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rnd() * 8);
    const pos = Math.floor(rnd() * Math.max(1, b.length));
    if (op === 0 && b.length > 0) b[pos] ^= 1 << Math.floor(rnd() * 8);
    else if (op === 1 && b.length > 0) b[pos] = [0, 1, 0x7f, 0x80, 0xff][Math.floor(rnd() * 5)];
    else if (op === 2) b = b.slice(0, Math.floor(rnd() * b.length));
    else if (op === 3)
      b = Uint8Array.from([...b, ...Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))]);
    else if (op === 4 && b.length >= pos + 4)
      new DataView(b.buffer).setUint32(pos, INTERESTING32[Math.floor(rnd() * INTERESTING32.length)], rnd() < 0.5);
    else if (op === 5 && b.length > 1) {
      const len = Math.floor(rnd() * Math.min(64, b.length - pos));
      b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(pos + len)]);
    } else if (op === 6 && b.length > 1) {
      const len = Math.floor(rnd() * Math.min(64, b.length - pos));
      b = Uint8Array.from([...b.subarray(0, pos + len), ...b.subarray(pos, pos + len), ...b.subarray(pos + len)]);
    } else if (op === 7 && other && other.length > 0) {
      const cut = Math.floor(rnd() * other.length);
      b = Uint8Array.from([...b.subarray(0, pos), ...other.subarray(cut)]);
    }
  }
  return b;
}

/** A .npy whose header says something else than its data: shape, dtype, order, header length, version. */
function npyLie(b, rnd, pick) {
  const text = Buffer.from(b).toString('latin1');
  const start = text.indexOf('{'),
    end = text.indexOf('}');
  if (start < 0 || end < 0) return mutateBytes(b, rnd);
  let dict = text.slice(start, end + 1);
  const r = rnd();
  if (r < 0.4) {
    const dims = Array.from({ length: Math.floor(rnd() * 4) }, () =>
      rnd() < 0.5 ? pick(HUGE) : String(Math.floor(rnd() * 8)),
    );
    dict = dict.replace(/\(([^)]*)\)/, `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`);
  } else if (r < 0.7) dict = dict.replace(/'descr': '[^']*'/, `'descr': '${pick(DESCRS)}'`);
  else if (r < 0.8) dict = dict.replace(/True|False/, pick(['True', 'False', 'None', '1']));
  else if (r < 0.9) dict = dict.replace(/'shape'/, pick(["'shap'", "'descr'", '"shape"']));
  const out = Uint8Array.from([...b.subarray(0, start), ...Buffer.from(dict, 'latin1'), ...b.subarray(end + 1)]);
  if (rnd() < 0.3) new DataView(out.buffer).setUint16(8, pick(INTERESTING32) & 0xffff, true);
  if (rnd() < 0.15) out[6] = pick([0, 1, 2, 3, 4, 255]);
  return out;
}

/** A safetensors file whose JSON header lies: shapes, dtypes, offsets, the header length. */
function safetensorsLie(b, rnd, pick) {
  if (b.length < 8) return mutateBytes(b, rnd);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  let header;
  try {
    header = JSON.parse(Buffer.from(b.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    return mutateBytes(b, rnd);
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const t = names.length > 0 ? header[pick(names)] : undefined;
  const num = () => JSON.parse(pick(HUGE));
  const r = rnd();
  if (t && r < 0.3)
    t.shape = Array.from({ length: Math.floor(rnd() * 4) }, () => (rnd() < 0.5 ? num() : Math.floor(rnd() * 8)));
  else if (t && r < 0.5) t.dtype = pick(ST_DTYPES);
  else if (t && r < 0.75)
    t.data_offsets = pick([[num(), num()], [0, num()], [num(), 0], [1, 0], [0], null, 'x', [0, 4, 8]]);
  else if (r < 0.85) header.__metadata__ = pick([{ a: 1 }, [], null, 'x', { a: 'b' }]);
  else if (t && r < 0.95) header[`${pick(names)}2`] = { ...t };
  let out = safetensorsBytes(header, b.subarray(8 + n));
  if (rnd() < 0.2) {
    out = Uint8Array.from(out);
    new DataView(out.buffer).setBigUint64(
      0,
      pick([0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n, BigInt(n + 1)]),
      true,
    );
  }
  return out;
}

/** A run.json whose fields lie (status, sessions, versions, types). */
function jsonLie(b, rnd) {
  let meta;
  try {
    meta = JSON.parse(Buffer.from(b).toString('utf8'));
  } catch {
    return mutateBytes(b, rnd);
  }
  const keys = ['status', 'sessions', 'formatVersion', 'format', 'meta', 'columns', 'timings', 'config'];
  const k = keys[Math.floor(rnd() * keys.length)];
  const values = [null, 0, -1, 'x', [], {}, [null], [{ id: -1 }], [{ id: 1.5 }], { a: 1 }, true, 1e308];
  meta[k] = values[Math.floor(rnd() * values.length)];
  if (rnd() < 0.2 && Array.isArray(meta.sessions) && meta.sessions[0]) meta.sessions[0].id = 1e9;
  return Uint8Array.from(Buffer.from(JSON.stringify(meta)));
}

async function loadModules(storeFile) {
  const store = await import(pathToFileURL(storeFile).href);
  const idx = await import(pathToFileURL(path.join(path.dirname(storeFile), 'idx.js')).href);
  const fflate = await import('fflate');
  return { store, idx, fflate };
}

async function workerMain() {
  const { target, seconds, seed, storeFile, shared } = workerData;
  const state = { maxAlloc: 0 };
  installAllocationGuard(state);
  const mods = await loadModules(storeFile);
  await mods.store.openRun(os.tmpdir()).catch(() => undefined); // loads apache-arrow before the clock starts
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `specdyn-fuzz-${target}-`));
  const beat = new Int32Array(shared, 0, 2); // [heartbeat, input length]
  const inputView = new Uint8Array(shared, 8);
  const seeds = await makeSeeds(target, mods, scratch);
  const rnd = prng(seed);
  const deadline = performance.now() + seconds * 1000;
  let execs = 0;
  const messages = new Map();
  const send = (msg) => parentPort.postMessage(msg);
  try {
    // Seeds first (each must parse), then mutants of seeds and of earlier mutants.
    const pool = [...seeds];
    for (let i = 0; performance.now() < deadline || i < seeds.length; i++) {
      const input =
        i < seeds.length
          ? seeds[i]
          : mutate(target, pool[Math.floor(rnd() * pool.length)], rnd, pool[Math.floor(rnd() * pool.length)]);
      const n = Math.min(input.length, MAX_INPUT);
      inputView.set(input.subarray(0, n));
      Atomics.store(beat, 1, n);
      Atomics.add(beat, 0, 1);
      state.maxAlloc = 0;
      const t0 = performance.now();
      const r = await execute(target, input, mods, scratch);
      const ms = performance.now() - t0;
      execs++;
      if (i < seeds.length && r.kind !== 'ok')
        send({ type: 'finding', input, detail: `seed ${i} does not parse: ${r.detail}` });
      else if (r.kind === 'finding') send({ type: 'finding', input, detail: r.detail });
      else if (state.maxAlloc > ALLOC_LIMIT)
        send({
          type: 'finding',
          input,
          detail: `huge allocation: ${state.maxAlloc} bytes for a ${input.length}-byte input`,
        });
      else if (ms > SLOW_MS) send({ type: 'finding', input, detail: `slow: ${Math.round(ms)} ms` });
      else if (r.kind === 'rejected') {
        const t = template(r.detail);
        const prev = messages.get(t);
        if (!prev || input.length < prev.length) messages.set(t, input);
      }
      // Interesting mutants join the pool (a bounded one), so lies compound.
      if (i >= seeds.length && r.kind !== 'finding' && pool.length < 64 && rnd() < 0.05) pool.push(input);
    }
    send({ type: 'done', execs, templates: [...messages.entries()].map(([t, input]) => ({ template: t, input })) });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (!isMainThread) {
  await workerMain();
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// Main thread: one worker per target, the hang watchdog, the corpus.

/** Fuzzes `target` for `seconds`, restarting the worker after a hang or a crash (new seed). */
async function fuzzTarget(target, seconds, seed, storeFile) {
  const end = performance.now() + seconds * 1000;
  const total = { target, execs: 0, findings: [], templates: [] };
  for (let round = 0; round < 10; round++) {
    const left = (end - performance.now()) / 1000;
    if (round > 0 && left < 2) break;
    const r = await runTarget(target, Math.max(left, 1), seed + 7919 * round, storeFile);
    total.execs += r.execs;
    total.findings.push(...r.findings);
    total.templates.push(...r.templates.filter((t) => !total.templates.some((u) => u.template === t.template)));
    if (!r.hung && !r.crashed) break;
  }
  return total;
}

function runTarget(target, seconds, seed, storeFile) {
  return new Promise((resolve) => {
    const shared = new SharedArrayBuffer(8 + MAX_INPUT);
    const beat = new Int32Array(shared, 0, 2);
    const result = { target, execs: 0, findings: [], templates: [], crashed: '', hung: false };
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { target, seconds, seed, storeFile, shared },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let last = -1,
      lastChange = performance.now(),
      finished = false;
    const current = () => new Uint8Array(shared, 8, Atomics.load(beat, 1)).slice();
    const watchdog = setInterval(() => {
      const now = Atomics.load(beat, 0);
      if (now !== last) {
        last = now;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > HANG_MS && !result.hung) {
        result.hung = true;
        result.findings.push({ input: current(), detail: `hang: no progress for ${HANG_MS / 1000} s` });
        worker.terminate();
      }
    }, 250);
    worker.on('message', (m) => {
      if (m.type === 'finding') result.findings.push({ input: m.input, detail: m.detail });
      if (m.type === 'done') {
        finished = true;
        result.execs = m.execs;
        result.templates = m.templates;
      }
    });
    worker.on('error', (/** @type {any} */ e) => {
      result.crashed = `worker died: ${e?.code ?? ''} ${e?.message ?? e}`;
      result.findings.push({ input: current(), detail: result.crashed });
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      if (!finished && !result.crashed) result.execs = Atomics.load(beat, 0);
      resolve(result);
    });
  });
}

function digest(input) {
  return createHash('sha256').update(input).digest('hex').slice(0, 10);
}

/**
 * Writes an input to the corpus as `<dir>/<target>/<name>.bin` (a run input in the packed form
 * of packRun: the three files, each after its u32 length).
 */
function saveInput(dir, target, name, input) {
  const base = path.join(dir, target);
  fs.mkdirSync(base, { recursive: true });
  fs.writeFileSync(path.join(base, `${name}.bin`), input);
}

function loadCorpus(dir) {
  const inputs = [];
  for (const target of TARGETS) {
    const base = path.join(dir, target);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base).sort())
      if (name.endsWith('.bin'))
        inputs.push({ target, name, input: new Uint8Array(fs.readFileSync(path.join(base, name))) });
  }
  return inputs;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      seconds: { type: 'string' },
      targets: { type: 'string', default: TARGETS.join(',') },
      seed: { type: 'string', default: '1' },
      save: { type: 'string' },
      store: { type: 'string' },
      replay: { type: 'string' },
    },
  });
  const storeFile = path.resolve(args.store ?? path.join(root, 'dist', 'store', 'index.js'));
  const checks = new Checks();
  if (args.replay) {
    // The regression corpus, in this thread (no watchdog: each input is known to finish fast).
    const state = { maxAlloc: 0 };
    installAllocationGuard(state);
    const mods = await loadModules(storeFile);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-fuzz-replay-'));
    const inputs = loadCorpus(args.replay);
    const findings = [];
    const kinds = { ok: 0, rejected: 0 };
    try {
      for (const { target, name, input } of inputs) {
        state.maxAlloc = 0;
        const r = await execute(target, input, mods, scratch);
        if (r.kind === 'finding' || state.maxAlloc > ALLOC_LIMIT)
          findings.push(`${target}/${name}: ${r.kind === 'finding' ? r.detail : `allocated ${state.maxAlloc} bytes`}`);
        else kinds[r.kind]++;
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    checks.line(
      'fuzz corpus replay',
      findings.length === 0 && inputs.length > 0,
      `${inputs.length} inputs, ${kinds.rejected} rejected with a documented error, ${kinds.ok} parsed, ${findings.length} findings`,
      findings.slice(0, 5).join(' | '),
    );
    checks.exit();
    return;
  }
  const targets = args.targets.split(',');
  // Alone: 100 s; under scripts/hardening.mjs: its share, at most 150 s (more finds little more).
  const total = Number(args.seconds ?? Math.min(budgetSeconds(100), 150) * 0.9);
  const per = Math.max(2, total / targets.length);
  for (const [i, target] of targets.entries()) {
    const r = await fuzzTarget(target, per, Number(args.seed) * 1000 + i, storeFile);
    if (args.save) {
      // At most 4 inputs per kind of finding, then the smallest input of up to 12 distinct messages.
      const perKind = new Map();
      for (const f of r.findings) {
        const kind = f.detail.split(':')[0];
        if ((perKind.get(kind) ?? 0) >= 4) continue;
        perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        saveInput(args.save, target, `finding-${kind.replace(/\W+/g, '-')}-${digest(f.input)}`, f.input);
      }
      r.templates
        .filter((t) => t.input.length <= 8192)
        .slice(0, 12)
        .forEach((t) => {
          saveInput(args.save, target, `msg-${digest(t.input)}`, t.input);
        });
    }
    const kinds = new Map();
    for (const f of r.findings) {
      const k = f.detail.split(':')[0];
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    const summary = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    checks.line(
      `fuzz ${target}`,
      r.findings.length === 0,
      `${r.execs} execs in ${Math.round(per)} s, ${r.findings.length} findings${summary ? ` (${summary})` : ''}, ${r.templates.length} distinct error messages`,
      r.findings
        .slice(0, 3)
        .map((f) => f.detail.slice(0, 200))
        .join(' | '),
    );
  }
  checks.exit();
}
