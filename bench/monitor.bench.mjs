// Cost of watching: a 784-256-256-10 MLP (ReLU, softmax, Adam, batch 128) trained for STEPS steps
// with a SpectralMonitor snapshotting every 50 steps (N = 500 probes, both hidden layers' OMD, all
// three kernels' spectra, committed to a run directory) against the same training without it.
// Goal: at most 10% slower. Blocks alternate (plain, monitored in its worker (the default),
// monitored inline, plain, …) so drifts in machine load hit all three; the monitored time
// includes close() (every queued analysis finished and committed).
//   node bench/run.mjs monitor      (after `npx tsc -p tsconfig.json` and the native build)
// SPECDYN_BENCH_QUICK=1: 100 steps, one block each (smoke run); SPECDYN_MONITOR_STEPS=n sets the steps.
// SPECDYN_MONITOR_REPEAT=n: blocks of each kind (default 3); SPECDYN_MONITOR_INLINE=0: no inline blocks;
// SPECDYN_PRODUCT_THREADS=auto|threaded|single: the training products' threads (default auto).
// SPECDYN_MONITOR_COMPARE=<dir>: also blocks of the monitor of the build in <dir> (see run()).
// SPECDYN_MONITOR_AB='<json>': also plain and monitored blocks under other SpecdynNativeBackend settings
// (and '{"pairSteal":false}': split products whose caller always waits for the helper's half);
// SPECDYN_PRODUCT_SPLIT=0|1: SpecdynNativeBackend.productSplit for every block.
// SPECDYN_MONITOR_SEGMENT=n: also the wall time of every n steps of each block, and the slowdown of
// the segments after the first (the steady state, without the worker's start and its code's warm-up).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gaussian, median } from './lib.mjs';
import { buildModel, cycledBatches } from './train.bench.mjs';
import { loadTf, SpecdynNativeBackend } from '../dist/tfjs/index.js';
import { SpectralMonitor } from '../dist/train/index.js';
import { getThreads, nativeInfo, setThreads } from '../dist/index.js';
import { native } from '../dist/native.js';

const QUICK = process.env.SPECDYN_BENCH_QUICK === '1';
const BATCH = 128,
  PROBES = 500;
// SPECDYN_MONITOR_EVERY: steps between snapshots (default 50).
const EVERY = Number(process.env.SPECDYN_MONITOR_EVERY ?? 50);
const STEPS = Number(process.env.SPECDYN_MONITOR_STEPS ?? (QUICK ? 100 : 1000));
const REPEAT = Number(process.env.SPECDYN_MONITOR_REPEAT ?? (QUICK ? 1 : 3));
// SPECDYN_MONITOR_INLINE=0: leave out the inline blocks (the default worker against plain only).
const WITH_INLINE = process.env.SPECDYN_MONITOR_INLINE !== '0';
// SPECDYN_MONITOR_OPTIONS='<json>': extra SpectralMonitor options (e.g. '{"omd":{"significance":"gap"}}').
const EXTRA = JSON.parse(process.env.SPECDYN_MONITOR_OPTIONS ?? '{}');
// SPECDYN_MONITOR_VARIANT='<json>': also monitored (worker) blocks with these options on top, e.g.
// '{"analysisScheduling":"nice"}', interleaved with the others (an A/B in one process).
const VARIANT = process.env.SPECDYN_MONITOR_VARIANT ? JSON.parse(process.env.SPECDYN_MONITOR_VARIANT) : undefined;
// SPECDYN_MONITOR_AB='<json>': SpecdynNativeBackend settings (e.g. '{"productSplit":false}') under
// which extra plain and monitored blocks run, interleaved with the others (the training backend's
// A/B in one process; the slowdown of those blocks is against their own plain blocks).
const AB = process.env.SPECDYN_MONITOR_AB ? JSON.parse(process.env.SPECDYN_MONITOR_AB) : undefined;
// SPECDYN_MONITOR_SEGMENT: steps per timed segment of a block (0: none).
const SEGMENT = Number(process.env.SPECDYN_MONITOR_SEGMENT ?? 0);
if (!Number.isInteger(SEGMENT) || SEGMENT < 0 || (SEGMENT > 0 && 2 * SEGMENT > STEPS))
  throw new RangeError(
    `SPECDYN_MONITOR_SEGMENT must be 0 or a whole number of steps at most half of ${STEPS} (the block), got ${process.env.SPECDYN_MONITOR_SEGMENT}`,
  );
const SIZES = [784, 256, 256, 10]; // as in train.bench.mjs's buildModel

/**
 * CPU milliseconds of the training (main) thread so far, from /proc (Linux; NaN elsewhere): what
 * the monitor costs that thread, a figure machine load barely moves (unlike wall time).
 */
function mainThreadCpuMs() {
  try {
    const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return Number.NaN;
  }
}

/**
 * The training (main) thread's scheduler account from /proc (Linux; NaN elsewhere), in seconds:
 * `run` on a CPU (nanosecond resolution) and `wait` runnable but not running (the wall time
 * beyond its CPU that other threads and processes took).
 */
function mainThreadSched() {
  try {
    const [run, wait] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run / 1e9, wait: wait / 1e9 };
  } catch {
    return { run: Number.NaN, wait: Number.NaN };
  }
}

/**
 * One training block, plain or watched by a monitor analysing in `analysis` mode (`Monitor`: the
 * SpectralMonitor class to use, e.g. another build's). @param {'worker' | 'inline'} [analysis]
 */
async function block(tf, data, probes, monitored, analysis = 'worker', Monitor = SpectralMonitor, extra = EXTRA) {
  const model = buildModel(tf, 1);
  const dir = monitored ? fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-monitor-bench-')) : undefined;
  const monitor = monitored
    ? new Monitor(model, { probes, schedule: { every: EVERY }, run: path.join(dir, 'run'), analysis, tf, ...extra })
    : undefined;
  const t0 = process.hrtime.bigint();
  const c0 = mainThreadCpuMs();
  const p0 = process.cpuUsage();
  const s0 = mainThreadSched();
  let captureCpuSeconds = 0; // training-thread CPU inside capture() (probe pass, copies, posting)
  const capture = async (step, logs) => {
    const a = mainThreadSched().run;
    if (await monitor.capture(step, logs)) captureCpuSeconds += mainThreadSched().run - a;
  };
  if (monitor) await capture(0);
  const segments = []; // wall seconds of each SEGMENT steps
  let segmentStart = t0;
  for (let s = 1; s <= STEPS; s++) {
    const { x, y } = data[s % data.length];
    const loss = await model.trainOnBatch(x, y);
    if (monitor) await capture(s, { loss });
    if (SEGMENT > 0 && s % SEGMENT === 0) {
      const now = process.hrtime.bigint();
      segments.push(Number(now - segmentStart) / 1e9);
      segmentStart = now;
    }
  }
  const closing = process.hrtime.bigint();
  if (monitor) await monitor.close();
  const closeSeconds = Number(process.hrtime.bigint() - closing) / 1e9;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const mainCpuSeconds = (mainThreadCpuMs() - c0) / 1000;
  const pu = process.cpuUsage(p0);
  const processCpuSeconds = (pu.user + pu.system) / 1e6;
  const s1 = mainThreadSched();
  const snaps = monitor?.snapshots ?? [];
  model.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  return {
    seconds,
    mainCpuSeconds,
    processCpuSeconds,
    runSeconds: s1.run - s0.run,
    waitSeconds: s1.wait - s0.wait,
    captureCpuSeconds,
    snapshots: snaps.length,
    analysisMs: snaps.length ? median(snaps.map((s) => s.timings.analysisMs)) : NaN,
    captureMs: snaps.length ? median(snaps.map((s) => s.timings.captureMs)) : NaN,
    maxPending: monitor?.stats.maxPending ?? 0,
    heldSeconds: (monitor?.stats.heldMs ?? 0) / 1000,
    // close(): the analyses still queued when training ends (the last snapshot's at least), the run closed
    closeSeconds,
    segments,
  };
}

/**
 * The steady-state slowdown: median wall time of the SEGMENT-step segments after each block's first
 * (the first holds the worker's start and the warm-up of its code), monitored over plain.
 */
function steadyNote(plain, watched) {
  const later = (blocks) => blocks.flatMap((b) => b.segments.slice(1));
  const first = (blocks) => median(blocks.map((b) => b.segments[0]));
  const p = median(later(plain)),
    w = median(later(watched));
  return `steady state (segments of ${SEGMENT} steps after each block's first, medians of ${later(plain).length}): monitored ${w.toFixed(3)} s ÷ plain ${p.toFixed(3)} s = ${(w / p).toFixed(3)}; first segment ${(first(watched) / first(plain)).toFixed(3)}`;
}

export async function run() {
  // SPECDYN_MONITOR_THREADS=n: OpenBLAS threads for training products and analysis alike (default: the library's).
  if (process.env.SPECDYN_MONITOR_THREADS) setThreads(Number(process.env.SPECDYN_MONITOR_THREADS));
  const { tf, backend, reason } = await loadTf();
  // SPECDYN_PRODUCT_THREADS=auto|threaded|single: SpecdynNativeBackend.productThreads for every block.
  // SPECDYN_PRODUCT_SPLIT=0|1: SpecdynNativeBackend.productSplit for every block.
  if (process.env.SPECDYN_PRODUCT_SPLIT) SpecdynNativeBackend.productSplit = process.env.SPECDYN_PRODUCT_SPLIT === '1';
  if (process.env.SPECDYN_PRODUCT_THREADS)
    SpecdynNativeBackend.productThreads = /** @type {'auto' | 'threaded' | 'single'} */ (
      process.env.SPECDYN_PRODUCT_THREADS
    );
  const data = cycledBatches(tf, 8, BATCH);
  const probeData = /** @type {Float32Array} */ (gaussian(PROBES, SIZES[0], 99, Float32Array).data);
  const probes = tf.tensor2d(probeData, [PROBES, SIZES[0]]);
  const loadBefore = os.loadavg()[0];
  await block(tf, data, probes, false); // warm-up (kernels, allocator)
  // SPECDYN_MONITOR_COMPARE=<package root of another build (its dist/ compiled)>: blocks of that
  // build's monitor (worker mode) interleaved with these, e.g. the previous commit's, to measure a
  // change in one process under the same load.
  const other = process.env.SPECDYN_MONITOR_COMPARE
    ? (
        await import(
          pathToFileURL(path.join(path.resolve(process.env.SPECDYN_MONITOR_COMPARE), 'dist/train/index.js')).href
        )
      ).SpectralMonitor
    : undefined;
  const plain = [],
    watched = [],
    inline = [],
    compared = [],
    variant = [],
    abPlain = [],
    abWatched = [];
  /** Runs f with the SpecdynNativeBackend statics of AB set, restoring them after. */
  // `pairSteal: false` (the native split's bench hook): the caller always waits for the helper's half.
  const { pairSteal, ...statics } = AB ?? {};
  const underAb = async (f) => {
    const saved = Object.fromEntries(Object.keys(statics).map((k) => [k, SpecdynNativeBackend[k]]));
    Object.assign(SpecdynNativeBackend, statics);
    if (pairSteal !== undefined) native()._setPairSteal(pairSteal);
    try {
      return await f();
    } finally {
      Object.assign(SpecdynNativeBackend, saved);
      if (pairSteal !== undefined) native()._setPairSteal(true);
    }
  };
  for (let r = 0; r < REPEAT; r++) {
    plain.push(await block(tf, data, probes, false));
    watched.push(await block(tf, data, probes, true, 'worker'));
    if (WITH_INLINE) inline.push(await block(tf, data, probes, true, 'inline'));
    if (other) compared.push(await block(tf, data, probes, true, 'worker', other));
    if (VARIANT) variant.push(await block(tf, data, probes, true, 'worker', SpectralMonitor, { ...EXTRA, ...VARIANT }));
    if (AB) {
      abPlain.push(await underAb(() => block(tf, data, probes, false)));
      abWatched.push(await underAb(() => block(tf, data, probes, true, 'worker')));
    }
  }
  // One plain block more, so that every monitored block has a plain one on each side.
  const trailing = await block(tf, data, probes, false);
  // Each monitored block against the mean of the plain blocks just before and after it: a drift
  // of the machine's speed over a run (up to 1.4x here) moves both sides of such a pair alike.
  const pairedWith = (blocks) =>
    blocks.map((b, r) => b.seconds / ((plain[r].seconds + (plain[r + 1] ?? trailing).seconds) / 2));
  const pairs = pairedWith(watched);
  const pairedNote = (label, blocks) => {
    const r = pairedWith(blocks);
    return `paired, ${label}: median ${median(r).toFixed(3)} (${r.map((x) => x.toFixed(3)).join(', ')})`;
  };
  const p = median(plain.map((b) => b.seconds)),
    w = median(watched.map((b) => b.seconds));
  // schedstat's nanosecond run time where there is one, else /proc stat's 10 ms ticks
  const cpu = (blocks) => median(blocks.map((b) => (Number.isNaN(b.runSeconds) ? b.mainCpuSeconds : b.runSeconds)));
  const more = (blocks) => `${((cpu(blocks) / cpu(plain) - 1) * 100).toFixed(1)} %`;
  const last = watched[watched.length - 1];
  const info = nativeInfo();
  const row = (run, blocks, base = p) => {
    const t = median(blocks.map((b) => b.seconds));
    return {
      run,
      'steps/s': STEPS / t,
      seconds: t,
      slowdown: t / base,
      'training-thread CPU s': cpu(blocks),
      'training-thread wait s': median(blocks.map((b) => b.waitSeconds)),
      'CPU in capture() s': median(blocks.map((b) => b.captureCpuSeconds)),
      // training held for room in the queue (the analysis behind): monitor.stats.heldMs
      'held s': median(blocks.map((b) => b.heldSeconds)),
      'close() s': median(blocks.map((b) => b.closeSeconds)),
      'process CPU s': median(blocks.map((b) => b.processCpuSeconds)),
    };
  };
  const li = WITH_INLINE ? inline[inline.length - 1] : undefined;
  return {
    title: `SpectralMonitor overhead: MLP ${SIZES.join('-')}, batch ${BATCH}, ${STEPS} steps, snapshot every ${EVERY} (N = ${PROBES} probes, 2 OMD layers, 3 kernels)`,
    rows: [
      row('plain', plain),
      row('monitored (analysis in its worker, default)', watched),
      ...(WITH_INLINE ? [row('monitored (analysis inline)', inline)] : []),
      ...(other ? [row(`monitored by ${process.env.SPECDYN_MONITOR_COMPARE} (worker)`, compared)] : []),
      ...(VARIANT ? [row(`monitored, ${JSON.stringify(VARIANT)} (worker)`, variant)] : []),
      ...(AB
        ? [
            row(`plain, backend ${JSON.stringify(AB)}`, abPlain),
            row(
              `monitored, backend ${JSON.stringify(AB)} (slowdown against its own plain)`,
              abWatched,
              median(abPlain.map((b) => b.seconds)),
            ),
          ]
        : []),
    ],
    notes: [
      `goal: monitored ≤ 1.10 x plain; measured ${(w / p).toFixed(3)} x (medians of ${REPEAT} alternating blocks${QUICK ? ', QUICK smoke run' : ''}); load average ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end`,
      `paired: each monitored block ÷ the mean of the plain blocks before and after it: median ${median(pairs).toFixed(3)} (${pairs.map((x) => x.toFixed(3)).join(', ')}; the first monitored block of the process starts the analysis worker, which later monitors reuse)`,
      ...(other ? [pairedNote(`the monitor of ${process.env.SPECDYN_MONITOR_COMPARE}`, compared)] : []),
      ...(VARIANT ? [pairedNote(JSON.stringify(VARIANT), variant)] : []),
      `training-thread CPU: ${more(watched)} more with the worker${WITH_INLINE ? `, ${more(inline)} more inline` : ''} (the monitor's cost to the training thread alone; the wall-time slowdown adds what the two threads cost each other on shared cores and caches); process CPU (every thread: training, analysis worker, GC, libuv) in the table`,
      `per snapshot (last block, ${last.snapshots} snapshots): analysis ${last.analysisMs.toFixed(0)} ms median in the worker${li ? ` (${li.analysisMs.toFixed(0)} ms inline: wall time on the event loop, between training steps)` : ''}, capture ${last.captureMs.toFixed(1)} ms on the training thread (probe evaluation + kernel copies); queue high-water mark ${last.maxPending}`,
      ...(SEGMENT > 0 ? [steadyNote(plain, watched)] : []),
      `tfjs backend: ${backend} (${reason}); BLAS ${info.blas}, ${getThreads()} threads, ${info.hardwareThreads} hardware threads`,
    ],
    plain,
    trailing,
    pairs,
    watched,
    inline,
    compared,
    variant,
    abPlain,
    abWatched,
  };
}
