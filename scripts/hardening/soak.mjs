// Soak (docs/reliability.md): 20 000 mixed sync/async native calls with errors mixed in, then
// 1 000 SpectralMonitor snapshots of a small tfjs model on the specdyn-native backend, written to
// a run; memory is sampled after a full GC and must level off. Then a short valgrind run.
//
//   node --expose-gc scripts/hardening/soak.mjs [--calls 20000] [--snapshots 1000] [--checks calls,monitor,valgrind]
//
// (without --expose-gc the script re-runs itself with it). Figures: RSS, V8 external memory and
// ArrayBuffer bytes every 2 000 calls / 100 snapshots; the verdict compares the second half of
// the run with the first (growth in the second half means a leak, not warm-up).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { budgetSeconds, Checks, prng, root } from './lib/report.mjs';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    snapshots: { type: 'string', default: '1000' },
    checks: { type: 'string', default: 'calls,monitor,valgrind' },
    child: { type: 'string' },
  },
});
const dist = path.join(root, 'dist');
const linalg = await import(pathToFileURL(path.join(dist, 'linalg', 'index.js')).href);
const { SpecdynError } = await import(pathToFileURL(path.join(dist, 'errors.js')).href);

const MB = 1024 * 1024;
const mb = (x) => `${(x / MB).toFixed(1)}`;

function sample() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, heap: m.heapUsed };
}

const isDocumented = (e) => e instanceof TypeError || e instanceof RangeError || e instanceof SpecdynError;

function randomMat(rnd, rows, cols) {
  return { data: Float64Array.from({ length: rows * cols }, () => rnd() * 2 - 1), rows, cols };
}

function symmetric(rnd, n) {
  const a = randomMat(rnd, n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a.data[i * n + j] = a.data[j * n + i];
  return a;
}

/**
 * One call: a random operation, sync or async, on a small random input; one in six gets a bad
 * input (NaN entry, short data, a wrong kind, a bad option) and must throw a documented error.
 * Returns a promise for async calls. Throws (or rejects) with a description of anything wrong.
 */
function oneCall(rnd) {
  const n = 4 + Math.floor(rnd() * 20);
  const m = 3 + Math.floor(rnd() * 12);
  const sync = rnd() < 0.5;
  const bad = rnd() < 1 / 6 ? Math.floor(rnd() * 4) : -1;
  /** @type {[string, () => any, (r: any) => boolean, any?][]} */
  const ops = [
    ['gram', () => randomMat(rnd, n, m), (r) => r.rows === n && r.cols === n],
    ['distanceMatrix', () => randomMat(rnd, n, m), (r) => r.rows === n, { metric: 'euclidean' }],
    ['eigvalsh', () => symmetric(rnd, n), (r) => r.length === n],
    ['eigh', () => symmetric(rnd, n), (r) => r.values.length === n],
    ['svdvals', () => randomMat(rnd, n, m), (r) => r.length === Math.min(n, m)],
    ['svd', () => randomMat(rnd, n, m), (r) => r.s.length === Math.min(n, m)],
    ['eigvalshBatch', () => [symmetric(rnd, n), symmetric(rnd, n)], (r) => r.length === 2],
    ['svds', () => randomMat(rnd, 24, 16), (r) => r.s.length === 2, { k: 2 }],
    ['eigsh', () => symmetric(rnd, 24), (r) => r.values.length === 2, { k: 2 }],
  ];
  const [name, make, ok, options] = ops[Math.floor(rnd() * ops.length)];
  let input = make();
  let opts = options;
  const first = Array.isArray(input) ? input[0] : input;
  if (bad === 0) first.data[Math.floor(rnd() * first.data.length)] = Number.NaN;
  else if (bad === 1) first.data = first.data.subarray(0, first.data.length - 1);
  else if (bad === 2) input = Array.isArray(input) ? [{ data: [1, 2, 3, 4], rows: 2, cols: 2 }] : 'not a matrix';
  else if (bad === 3) opts = { ...(options ?? {}), precision: 'float16' };
  const fn = linalg[sync ? `${name}Sync` : name];
  const judge = (result, error) => {
    if (bad >= 0) {
      if (!error) throw new Error(`${name}${sync ? 'Sync' : ''} accepted bad input ${bad}`);
      if (!isDocumented(error)) throw new Error(`${name}: undocumented ${error?.name}: ${error?.message}`);
      return 'error';
    }
    if (error) throw new Error(`${name}${sync ? 'Sync' : ''} failed on a good input: ${error?.message}`);
    if (!ok(result)) throw new Error(`${name}${sync ? 'Sync' : ''}: wrong result shape`);
    return 'ok';
  };
  if (sync) {
    try {
      return judge(fn(input, opts));
    } catch (e) {
      if (e instanceof Error && /accepted bad input|failed on a good input|wrong result|undocumented/.test(e.message))
        throw e;
      return judge(undefined, e);
    }
  }
  let p;
  try {
    p = fn(input, opts);
  } catch (e) {
    // argument checks of async calls reject, never throw synchronously
    throw new Error(`${name} threw synchronously: ${e?.message}`);
  }
  return p.then(
    (r) => judge(r),
    (e) => judge(undefined, e),
  );
}

function verdict(samples, what) {
  const half = samples[Math.floor((samples.length - 1) / 2)];
  const last = samples[samples.length - 1];
  const first = samples[0];
  return {
    rssTotal: last.rss - first.rss,
    rssSecondHalf: last.rss - half.rss,
    externalSecondHalf: last.external - half.external,
    buffersSecondHalf: last.arrayBuffers - half.arrayBuffers,
    curve: samples.map((s) => `${s.at}:${mb(s.rss)}`).join(' '),
    what,
  };
}

/** Second-half growth bounds: a leak of 1 KB per call or snapshot breaks them, allocator noise does not. */
function judgeGrowth(v, count) {
  const rssBound = Math.max(8 * MB, 512 * count);
  const extBound = 2 * MB;
  const ok = v.rssSecondHalf < rssBound && v.externalSecondHalf < extBound && v.buffersSecondHalf < extBound;
  return {
    ok,
    why: ok
      ? ''
      : `second half grew rss ${mb(v.rssSecondHalf)} MB (bound ${mb(rssBound)}), external ${mb(v.externalSecondHalf)} MB, buffers ${mb(v.buffersSecondHalf)} MB`,
  };
}

async function callsSoak(total) {
  const rnd = prng(20_000);
  const samples = [{ at: 0, ...sample() }];
  const counts = { ok: 0, error: 0 };
  const every = Math.max(1, Math.floor(total / 10));
  let done = 0;
  while (done < total) {
    // a batch of up to 8 calls in flight at once (async ones overlap on the pool)
    const batch = [];
    for (let i = 0; i < 8 && done < total; i++, done++) batch.push(oneCall(rnd));
    for (const r of await Promise.all(batch)) counts[r]++;
    if (done % every === 0) samples.push({ at: done, ...sample() });
  }
  const v = verdict(samples, 'calls');
  const g = judgeGrowth(v, total / 2);
  return {
    ok: g.ok && counts.ok + counts.error === total,
    figures:
      `RSS ${v.rssTotal >= 0 ? '+' : ''}${mb(v.rssTotal)} MB over ${total / 1000}k calls (${counts.ok} ok, ${counts.error} documented errors; ` +
      `second half: RSS ${mb(v.rssSecondHalf)} MB, external ${mb(v.externalSecondHalf)} MB, ArrayBuffers ${mb(v.buffersSecondHalf)} MB); RSS MB by call: ${v.curve}`,
    why: g.why,
  };
}

async function monitorSoak(total) {
  const { loadTf } = await import(pathToFileURL(path.join(dist, 'tfjs', 'index.js')).href);
  const { SpectralMonitor } = await import(pathToFileURL(path.join(dist, 'train', 'index.js')).href);
  const { openRun } = await import(pathToFileURL(path.join(dist, 'store', 'index.js')).href);
  const { tf, backend } = await loadTf({ backend: 'specdyn-native' });
  const rnd = prng(1000);
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [8], units: 24, activation: 'tanh', name: 'h1' }));
  model.add(tf.layers.dense({ units: 16, activation: 'relu', name: 'h2' }));
  model.add(tf.layers.dense({ units: 4, name: 'out' }));
  model.compile({ optimizer: tf.train.sgd(0.02), loss: 'meanSquaredError' });
  const x = tf.tensor2d(
    Float32Array.from({ length: 64 * 8 }, () => rnd() - 0.5),
    [64, 8],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: 64 * 4 }, () => rnd() - 0.5),
    [64, 4],
  );
  const probes = x.slice([0, 0], [24, 8]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-soak-'));
  try {
    const monitor = new SpectralMonitor(model, {
      probes,
      schedule: { every: 1 },
      keep: false,
      run: path.join(dir, 'run'),
      tf,
    });
    const tensors0 = tf.memory().numTensors;
    const samples = [];
    const every = Math.max(1, Math.floor(total / 10));
    for (let step = 0; step < total; step++) {
      if (step > 0) {
        const loss = await model.trainOnBatch(x, y);
        await monitor.capture(step, { loss: Array.isArray(loss) ? loss[0] : loss });
      } else await monitor.capture(0);
      if (step === 1) samples.push({ at: 0, ...sample(), history: historyBytes(monitor) });
      if ((step + 1) % every === 0) samples.push({ at: step + 1, ...sample(), history: historyBytes(monitor) });
    }
    await monitor.close();
    const tensors = tf.memory().numTensors - tensors0;
    const run = await openRun(path.join(dir, 'run'));
    const stored = run.steps.length;
    const v = verdict(samples, 'snapshots');
    // The trajectories keep every point by design (regimes() reads the whole history): growth
    // up to that is expected; a leak is growth beyond it.
    const half = samples[Math.floor((samples.length - 1) / 2)];
    const last = samples[samples.length - 1];
    const history = last.history - half.history;
    const g = judgeGrowth(
      {
        ...v,
        rssSecondHalf: v.rssSecondHalf - 4 * history,
        externalSecondHalf: v.externalSecondHalf - history,
        buffersSecondHalf: v.buffersSecondHalf - history,
      },
      total / 2,
    );
    const why = [
      g.why,
      stored !== total ? `${stored} of ${total} snapshots in the run` : '',
      tensors > 0 ? `${tensors} tensors leaked` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return {
      ok: why === '',
      figures:
        `RSS ${v.rssTotal >= 0 ? '+' : ''}${mb(v.rssTotal)} MB over ${total} snapshots (${backend}, ${stored} committed to a run, ` +
        `tensors +${tensors}; second half: RSS ${mb(v.rssSecondHalf)} MB, ArrayBuffers ${mb(v.buffersSecondHalf)} MB, of which the ` +
        `trajectories' kept history ${mb(history)} MB by design; leak bound: RSS ≤ 8 MB + 4 × history, buffers ≤ 2 MB + history); RSS MB by snapshot: ${v.curve}`,
      why,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes of typed arrays the monitor's OMD trajectories hold in their point history (reached
 * through the private fields, for this diagnosis only): what a monitor keeps by design.
 */
function historyBytes(monitor) {
  const seen = new Set();
  let bytes = 0;
  const walk = (x, depth) => {
    if (x === null || typeof x !== 'object' || depth > 4) return;
    if (ArrayBuffer.isView(x)) {
      if (!seen.has(x.buffer)) {
        seen.add(x.buffer);
        bytes += x.buffer.byteLength;
      }
      return;
    }
    for (const v of Object.values(x)) walk(v, depth + 1);
  };
  for (const t of monitor.trajectories?.values() ?? []) for (const p of t.pointsList ?? []) walk(p, 0);
  return bytes;
}

/** The program valgrind runs: a few hundred mixed calls (errors included) through the addon. */
async function valgrindChild() {
  const rnd = prng(77);
  const counts = { ok: 0, error: 0 };
  for (let i = 0; i < 240; i++) counts[await oneCall(rnd)]++;
  process.stdout.write(`calls ${counts.ok + counts.error}\n`);
}

function valgrindCheck(seconds) {
  const vg = ['/usr/bin/valgrind', 'valgrind'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!vg) return { ok: false, figures: 'valgrind not found', why: 'install valgrind' };
  const t0 = performance.now();
  const r = spawnSync(
    vg,
    [
      '--leak-check=full',
      '--show-leak-kinds=definite',
      '--errors-for-leak-kinds=definite',
      '--num-callers=30',
      process.execPath,
      '--jitless',
      '--expose-gc',
      path.join(root, 'scripts/hardening/soak.mjs'),
      '--child',
      'valgrind',
    ],
    { encoding: 'utf8', cwd: root, timeout: seconds * 1000, maxBuffer: 64 * MB },
  );
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  if (r.error || r.signal)
    return { ok: false, figures: `valgrind did not finish in ${seconds} s`, why: String(r.error ?? r.signal) };
  const log = r.stderr;
  // Records are separated by blank "==pid== " lines; count errors and definite leaks in specdyn's frames.
  const records = log.split(/\n==\d+== \n/);
  const ours = records.filter((rec) => /specdyn\.node|native\/(kernels|bindings)/.test(rec));
  const errors = ours.filter((rec) =>
    /Invalid (read|write|free)|uninitialised|Mismatched free|overlap|definitely lost/.test(rec),
  );
  const summary = /ERROR SUMMARY: (\d+) errors/.exec(log)?.[1] ?? '?';
  const definite = /definitely lost: ([\d,]+) bytes in ([\d,]+) blocks/.exec(log);
  const calls = /calls (\d+)/.exec(r.stdout)?.[1] ?? '0';
  const ok = errors.length === 0 && calls !== '0';
  return {
    ok,
    figures:
      `${calls} mixed calls under memcheck in ${secs} s: ${errors.length} errors or definite leaks in specdyn frames ` +
      `(whole process: ${summary} errors, definitely lost ${definite ? `${definite[1]} bytes in ${definite[2]} blocks` : 'n/a'})`,
    why: errors
      .slice(0, 2)
      .map((e) => e.replace(/==\d+== /g, '').slice(0, 400))
      .join(' | '),
  };
}

if (args.child === 'valgrind') {
  await valgrindChild();
  process.exit(0);
}

const checks = new Checks();
const wanted = new Set(args.checks.split(','));
const budget = budgetSeconds(300);
if (wanted.has('calls')) await checks.run('soak calls', () => callsSoak(Number(args.calls)));
if (wanted.has('monitor')) await checks.run('soak monitor', () => monitorSoak(Number(args.snapshots)));
if (wanted.has('valgrind')) await checks.run('valgrind', () => valgrindCheck(Math.max(120, Math.round(budget * 0.5))));
checks.exit();
