#!/usr/bin/env node
// Lifecycle of the native addon across threads and processes: no crash, no hang.
//
//   worker terminate   workers terminated at random points: while loading the addon, and
//                      during loops of sync and async calls (terminate() mid-call)
//   workers concurrent several worker_threads calling at once, sync and async: every result
//                      equals the main thread's for the same input
//   addon load         many workers loading the addon at the same moment, each making a call
//   exit pending       a process that exits (process.exit, or its last worker does) while
//                      async calls are still queued or running
// Each scenario runs in a child process (an abort shows as a signal, a hang as the timeout) and
// prints one line "<check>: <figures>". --quick runs small counts (the vitest subset,
// test/lifecycle-hardening.test.ts). SPECDYN_ADDON picks another build (the sanitizer one).
// Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const quick = process.argv.includes('--quick');
const N = quick
  ? { terminate: 12, workers: 2, calls: 20, load: 6, exits: 3 }
  : { terminate: 500, workers: 6, calls: 150, load: 32, exits: 40 };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'specdyn-lifecycle-'));
let failures = 0;

// The addon as every script loads it (CommonJS, for worker code evaluated as a string).
const LOAD = `const b = process.env.SPECDYN_ADDON ? require(require('node:path').resolve(process.env.SPECDYN_ADDON)) : require(${JSON.stringify(path.join(root, 'node_modules/node-gyp-build'))})(${JSON.stringify(root)});`;
// Seeded inputs and a mixed call, shared by the worker scenarios.
const INPUTS = `let s = (workerData && workerData.seed) >>> 0 || 1;
const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
const sym = (n, t) => { let q = t; const r = () => ((q = (q * 1664525 + 1013904223) >>> 0) / 4294967296) - 0.5; const d = new Float64Array(n * n); for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[i * n + j] = d[j * n + i] = r(); return { data: d, rows: n, cols: n }; };
const a = sym(64, 11), x = { data: sym(40, 12).data.subarray(0, 40 * 24), rows: 40, cols: 24 };
const sum = (v) => { let t = 0; for (let i = 0; i < v.length; i++) t += v[i] * (1 + (i % 7)); return t; };
async function call(kind) {
  switch (kind) {
    case 0: return sum(b.gram(x, undefined, false).data);
    case 1: return sum(b.eigh(a, undefined, false).values);
    case 2: return sum(b.svdvals(x, undefined, false));
    case 3: return sum(b.eigvalsh(a, undefined, false));
    case 4: return sum((await b.eigh(a, undefined, true)).values);
    case 5: return sum((await b.eigsh(a, { k: 4 }, undefined, true)).values);
    case 6: return sum((await b.distanceMatrix(x, undefined, true)).data);
    default: { const [g, e] = await Promise.all([b.gram(x, undefined, true), b.eigvalsh(a, { range: [0, 3] }, true)]); return sum(g.data) + sum(e); }
  }
}`;

function runChild(name, script, timeout) {
  const file = path.join(tmp, `${name.replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    timeout,
    maxBuffer: 16 << 20,
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    hung: /** @type {NodeJS.ErrnoException | undefined} */ (r.error)?.code === 'ETIMEDOUT',
  };
}
function report(line, ok, r) {
  console.log(line);
  if (!ok) {
    failures++;
    console.error(
      `  status ${r?.status} signal ${r?.signal}${r?.hung ? ' (timed out)' : ''}\n${(r?.stderr ?? '').slice(-3000)}`,
    );
  }
}
const workerScript = (body) => `import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const workerCode = ${JSON.stringify(`const { parentPort, workerData } = require('node:worker_threads');\n${LOAD}\n${INPUTS}\n`)};
${body}`;

// 1. Terminations at random points of loading and of sync/async calls.
{
  const r = runChild(
    'terminate',
    workerScript(`const total = ${N.terminate}, parallel = 4;
const code = workerCode + "parentPort.postMessage('ready'); (async () => { for (;;) await call((rnd() * 8) | 0); })();";
let started = 0, done = 0, during = 0;
function one(i) {
  return new Promise((resolve) => {
    const w = new Worker(code, { eval: true, workerData: { seed: i + 1 } });
    w.on('error', () => {});
    w.once('exit', resolve);
    const stop = (ms) => setTimeout(() => w.terminate().then(resolve, resolve), ms);
    if (i % 3 === 0) w.once('online', () => stop(Math.random() * 4));
    else w.once('message', () => { during++; stop(Math.random() * 12); });
  });
}
async function lane() { while (started < total) { started++; await one(started); done++; } }
await Promise.all(Array.from({ length: parallel }, lane));
console.log(JSON.stringify({ done, during }));`),
    300_000,
  );
  const out = /\{.*\}/.exec(r.stdout);
  const got = out ? JSON.parse(out[0]) : { done: 0, during: 0 };
  const ok = r.status === 0 && !r.signal && got.done === N.terminate;
  report(`worker terminate: ${got.done} trials (${got.during} during calls), ${ok ? 0 : 1} crashes`, ok, r);
}

// 2. Several workers calling at once; results checked against the main thread's.
{
  const r = runChild(
    'concurrent',
    workerScript(`${LOAD}
const workerData = { seed: 99 };
${INPUTS}
const want = [];
for (let k = 0; k < 8; k++) want.push(await call(k));
const code = workerCode + "(async () => { const out = []; for (let i = 0; i < ${N.calls}; i++) { const k = (rnd() * 8) | 0; out.push([k, await call(k)]); } parentPort.postMessage(out); })();";
const results = await Promise.all(Array.from({ length: ${N.workers} }, (_, i) => new Promise((resolve, reject) => {
  const w = new Worker(code, { eval: true, workerData: { seed: 1000 + i } });
  w.once('message', resolve);
  w.once('error', reject);
})));
let calls = 0, mismatches = 0;
for (const list of results) for (const [k, v] of list) { calls++; if (Math.abs(v - want[k]) > 1e-9 * Math.abs(want[k])) mismatches++; }
console.log(JSON.stringify({ calls, mismatches }));`),
    300_000,
  );
  const out = /\{.*\}/.exec(r.stdout);
  const got = out ? JSON.parse(out[0]) : { calls: 0, mismatches: -1 };
  const ok = r.status === 0 && !r.signal && got.calls === N.workers * N.calls && got.mismatches === 0;
  report(
    `workers concurrent: ${N.workers} workers x ${N.calls} calls, ${got.mismatches} mismatches, ${ok ? 0 : 1} crashes`,
    ok,
    r,
  );
}

// 3. Many workers loading the addon at the same moment.
{
  const r = runChild(
    'load',
    workerScript(`const code = workerCode + "call(workerData.seed % 8).then((v) => parentPort.postMessage(v));";
const vals = await Promise.all(Array.from({ length: ${N.load} }, (_, i) => new Promise((resolve, reject) => {
  const w = new Worker(code, { eval: true, workerData: { seed: i } });
  w.once('message', (v) => { resolve(v); w.terminate(); });
  w.once('error', reject);
})));
console.log(JSON.stringify({ loaded: vals.filter(Number.isFinite).length }));`),
    300_000,
  );
  const out = /\{.*\}/.exec(r.stdout);
  const loaded = out ? JSON.parse(out[0]).loaded : 0;
  const ok = r.status === 0 && !r.signal && loaded === N.load;
  report(`addon load: ${N.load} workers at once, ${loaded} loaded and called, ${ok ? 0 : 1} crashes`, ok, r);
}

// 4. Exit with calls pending: process.exit from the main thread, from a worker, and a natural
// exit of the main thread while a worker's calls are in flight.
{
  let crashes = 0,
    hangs = 0,
    last;
  for (let t = 0; t < N.exits; t++) {
    const mode = t % 3;
    const script =
      mode === 0
        ? `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const workerData = { seed: ${t + 1} };
${LOAD}
${INPUTS}
const big = { data: new Float64Array(300 * 300).map(() => rnd()), rows: 300, cols: 300 };
for (let i = 0; i < 12; i++) { call(i % 8).catch(() => {}); b.eigsh(big, { k: 6, symmetryTolerance: 1e9 }, undefined, true).catch(() => {}); }
setTimeout(() => process.exit(0), ${t % 7} * 3);`
        : workerScript(`const code = workerCode + "for (let i = 0; i < 12; i++) call(i % 8).catch(() => {}); ${mode === 1 ? `setTimeout(() => process.exit(0), ${t % 5} * 2);` : "parentPort.postMessage('go');"}";
const w = new Worker(code, { eval: true, workerData: { seed: ${t + 1} } });
w.on('error', () => {});
${mode === 1 ? "w.on('exit', () => {});" : "w.once('message', () => setTimeout(() => process.exit(0), 1));"}`);
    const r = runChild(`exit-${t}`, script, 60_000);
    if (r.hung) hangs++;
    else if (r.status !== 0 || r.signal) crashes++;
    if (r.hung || r.status !== 0 || r.signal) last = r;
  }
  report(`exit pending: ${N.exits} trials, ${crashes} crashes, ${hangs} hangs`, crashes === 0 && hangs === 0, last);
}

rmSync(tmp, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
