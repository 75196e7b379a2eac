#!/usr/bin/env node
// JavaScript-level fuzz of the addon's argument checks (the N-API layer libFuzzer cannot reach):
// seeded random shapes, lengths, subarray offsets, typed-array kinds, SharedArrayBuffers, option
// values and types (NaN, ±Infinity, -0, 2^31, 2^53, strings, arrays, getters that detach the
// input buffer) into every binding, sync and async. Every call must return or throw a specdyn
// error (TypeError, RangeError, LapackError, NoConvergenceError) whose message begins
// "Expected"; anything else is counted as unexpected, and a crash ends the process by signal.
// Usage: node fuzz/napi-args.mjs [calls=20000] [seed=1]; SPECDYN_ADDON picks another build.
// Prints "<calls> calls, <returned> returned, <refused> refused, <unexpected> unexpected".
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const b = process.env.SPECDYN_ADDON
  ? require(path.resolve(process.env.SPECDYN_ADDON))
  : require('node-gyp-build')(root);

const total = Number(process.argv[2] ?? 20000);
let seed = Number(process.argv[3] ?? 1) >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};
const int = (n) => Math.floor(rnd() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => rnd() < p;

const NUMBERS = [0, -0, 1, 2, 3, -1, 1.5, 0.5, Number.NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, 2 ** 53, 1e300, 1e-300, 4, 6, 8];
const VALUES = [0, 1, -1, 0.25, 1e-200, -1e200, 1e155, 5e-324, Number.NaN, Infinity, -Infinity, 3.4e38, 1e39, -0];
const junk = () =>
  pick([undefined, null, true, 'x', 'float32', [], [1, 2], {}, () => 0, Symbol('s'), 10n, new Int32Array(4), pick(NUMBERS)]);

function typed(len) {
  const kind = chance(0.85) ? (chance(0.7) ? Float64Array : Float32Array) : pick([Int32Array, Uint8Array, Float64Array]);
  const extra = chance(0.2) ? int(3) : 0;
  const buf = chance(0.15)
    ? new SharedArrayBuffer((len + extra) * kind.BYTES_PER_ELEMENT)
    : new ArrayBuffer((len + extra) * kind.BYTES_PER_ELEMENT);
  const arr = new kind(buf, extra * kind.BYTES_PER_ELEMENT, len);
  const spread = chance(0.3);
  for (let i = 0; i < len; i++) arr[i] = chance(0.03) ? pick(VALUES) : (rnd() - 0.5) * (spread ? 10 : 1);
  return arr;
}

// A Mat-like argument, mostly well formed, sometimes symmetric, sometimes broken.
function mat(square = false, symmetric = false) {
  let rows = chance(0.9) ? 1 + int(9) : pick(NUMBERS);
  let cols = square ? rows : chance(0.9) ? 1 + int(9) : pick(NUMBERS);
  const n = Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0 && rows * cols < 200 ? rows * cols : int(20);
  const data = typed(chance(0.9) ? n : Math.max(0, n + int(5) - 2));
  if (symmetric && rows === cols && data.length === rows * cols)
    for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) data[i * cols + j] = data[j * cols + i];
  if (chance(0.03)) rows = String(rows);
  if (chance(0.03)) cols = undefined;
  if (chance(0.02)) return junk();
  return { data, rows, cols };
}

// An options object: mostly the right keys with plausible values, sometimes junk or a getter
// that detaches the input's buffer while the options are read.
function options(keys, victim) {
  if (chance(0.05)) return junk();
  const o = {};
  for (const [k, gen] of Object.entries(keys)) if (chance(0.4)) o[k] = chance(0.85) ? gen() : junk();
  if (victim && chance(0.03) && !(victim.buffer instanceof SharedArrayBuffer)) {
    Object.defineProperty(o, 'precision', {
      enumerable: true,
      get() {
        try {
          structuredClone(victim.buffer, { transfer: [victim.buffer] });
        } catch {}
        return 'float64';
      },
    });
  }
  return o;
}
const precision = () => pick(['float64', 'float32', 'float16']);
const small = () => pick([1, 2, 3, 4, 0, -1, 1.5, 6, 2 ** 31]);

function op() {
  const r = int(3);
  if (r === 0) return mat(true, true);
  if (r === 1) return { kind: 'gram', w: mat(), side: pick(['outer', 'inner', undefined, 'both']) };
  return { kind: pick(['distance', 'distance', 'dense']), x: mat(), metric: pick(['sqeuclidean', 'cosine', 'correlation', 'euclidean', 3]) };
}
const control = () => (chance(0.8) ? undefined : chance(0.7) ? new Int32Array(32) : junk());

const CALLS = [
  (async) => {
    const x = mat();
    return b.gram(x, options({ precision, out: () => new Float64Array(int(30)) }, x?.data), async);
  },
  (async) => {
    const x = mat();
    const o = options({ precision, metric: () => pick(['euclidean', 'sqeuclidean', 'cosine', 'angular', 'correlation', 'l1']), out: () => new Float64Array(int(30)) }, x?.data);
    return b.distanceMatrix(x, o, async);
  },
  (async) => b.eigvalsh(mat(true, true), options({ precision, range: () => [int(4) - 1, int(6)], symmetryTolerance: () => pick(NUMBERS) }), async),
  (async) => b.eigh(mat(true, true), options({ precision, range: () => pick([[0, 1], [1, 0], [0], [0, 2 ** 40]]), allValues: () => chance(0.5) }), async),
  (async) => b.svdvals(mat(), options({ precision }), async),
  (async) => b.svd(mat(), options({ precision, k: small }), async),
  (async) => b.eigvalshBatch(chance(0.9) ? Array.from({ length: int(4) }, () => mat(true, true)) : junk(), options({ precision, threads: small }), async),
  (async) => b.eigsh(op(), options({ precision, k: small, which: () => pick(['largest', 'smallest', 'magnitude', 'middle']), tol: () => pick([1e-10, 1e-3, 0, 1e-17, -1, 1e-15]), blockSize: small, basisSize: small, maxRestarts: () => pick([1, 5, 2 ** 31, 0]), seed: () => pick([0, 1, 2 ** 53, -1]), vectors: () => chance(0.5) }), control(), async),
  (async) => b.svds(mat(), options({ precision, k: small, tol: () => pick([1e-8, 0, 1e-20]), blockSize: small, basisSize: small, maxRestarts: () => pick([1, 3]) }), control(), async),
  (async) => b.spectralDensity(op(), options({ precision, bins: small, grid: () => pick([[0, 1, 2], [1, 0], [0], new Float64Array([0, 1]), [0, Number.NaN]]), probes: small, steps: small, seed: () => int(9) }), control(), async),
  () => {
    const [m, n, k, batch] = [small(), small(), small(), pick([1, 2, 0, -1])];
    const len = (x) => (Number.isInteger(x) && x >= 0 && x < 100 ? x : int(8));
    const f = (x) => (chance(0.9) ? new Float32Array(Math.max(0, len(x) + (chance(0.2) ? int(3) - 1 : 0))) : junk());
    return b.sgemmF32(f(batch * m * k), f(batch * k * n), f(batch * m * n), batch, m, n, k, chance(0.5), chance(0.5),
      chance(0.8) ? null : new Int32Array(Math.max(0, len(batch))).fill(int(3) - 1), null,
      chance(0.7) ? null : new Float32Array(int(10)), pick([null, 'relu', 'prelu', 'elu', 'sigmoid', 'leakyrelu', 'relu6', 'linear', 'gelu']),
      pick([null, 0.2, Number.NaN]), chance(0.7) ? null : new Float32Array(int(10)));
  },
  () => {
    const rank = int(4);
    const shape = chance(0.5) ? null : new Int32Array(rank).map(() => int(4) - (chance(0.1) ? 2 : 0));
    const strides = () => (shape ? new Int32Array(rank).map(() => int(4)) : null);
    return b.binaryF32(pick(['Add', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference', 'Pow']), new Float32Array(int(12)), new Float32Array(int(12)), new Float32Array(int(30)), shape, strides(), strides());
  },
  () => b.unaryF32(pick(['Sqrt', 'Exp', 'Log', 'Relu', 'Step', 'Tanh', 'Nope']), new Float32Array(int(8)), new Float32Array(int(8)), pick([undefined, 0.5, Number.NaN, 'x'])),
  () => b.sumF32(new Float32Array(int(24)), new Float32Array(int(12)), small(), small(), small()),
  () => {
    const freed = b.setPoolLimit(pick([0, 2 ** 21, 512 * 2 ** 20, -1, 1.5, 'x']));
    b.trimPool();
    return freed;
  },
];

const ALLOWED = new Set(['TypeError', 'RangeError', 'LapackError', 'NoConvergenceError']);
let returned = 0,
  refused = 0,
  unexpected = 0;
const bad = [];
function judge(err) {
  if (err && ALLOWED.has(err.name) && /^Expected /.test(err.message)) {
    refused++;
    return;
  }
  unexpected++;
  if (bad.length < 5) bad.push(`${err?.name}: ${err?.message ?? String(err)}`);
}
for (let i = 0; i < total; i++) {
  const call = CALLS[int(CALLS.length)];
  const async = call.length > 0 && chance(0.25);
  try {
    const r = call(async);
    if (r instanceof Promise) {
      await r.then(
        () => returned++,
        (e) => judge(e),
      );
    } else {
      returned++;
    }
  } catch (e) {
    judge(e);
  }
}
b.setPoolLimit(512 * 2 ** 20);
for (const line of bad) console.error(line);
console.log(`${total} calls, ${returned} returned, ${refused} refused, ${unexpected} unexpected`);
process.exit(unexpected ? 1 : 0);
