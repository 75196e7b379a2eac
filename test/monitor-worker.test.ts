// Where SpectralMonitor analyses: in its worker thread (default) or inline — the same figures
// either way, errors of their own class, an idle worker never holding the process — and the
// per-thread BLAS thread cap (setThreadLimit) the worker runs under.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { eigvalsh, getThreadLimit, setThreadLimit } from '../src/linalg/index.js';
import { packageRoot } from '../src/native.js';
import { openRun, SpecdynError } from '../src/store/index.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import { SpectralMonitor } from '../src/train/monitor.js';
import {
  createSnapshotAnalysis,
  dropKeptAnalysisWorkers,
  KEPT_WORKERS,
  keptAnalysisWorkers,
  SnapshotAnalyzer,
  type SnapshotJob,
} from '../src/train/snapshot-analysis.js';
import { refusedExecArgv, startWorker, workerExecArgv } from '../src/concurrency.js';
import { randSym, transpileSources } from './helpers.js';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
const { tf }: { tf: Tf } = await loadTf();

const D = 8,
  N = 40;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-monitor-worker-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An 8-24-16-4 ReLU MLP, seeded. */
function mlp(): LayersModel {
  const model = tf.sequential();
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  model.add(
    tf.layers.dense({ inputShape: [D], units: 24, activation: 'relu', name: 'h1', kernelInitializer: init(3) }),
  );
  model.add(tf.layers.dense({ units: 16, activation: 'relu', name: 'h2', kernelInitializer: init(4) }));
  model.add(tf.layers.dense({ units: 4, name: 'out', kernelInitializer: init(5) }));
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return model;
}

function batch(): { x: import('@tensorflow/tfjs').Tensor2D; y: import('@tensorflow/tfjs').Tensor2D } {
  const xs = Float32Array.from({ length: N * D }, (_, i) => Math.sin(0.37 * i + 1));
  const ys = Float32Array.from({ length: N * 4 }, (_, i) => Math.cos(0.61 * i));
  return { x: tf.tensor2d(xs, [N, D]), y: tf.tensor2d(ys, [N, 4]) };
}

/** Deep equality, numbers to 1e-12 relative (strings, booleans, shapes exact). */
function expectNear(a: unknown, b: unknown, at: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) expect([at, a]).toEqual([at, b]);
    else expect([at, Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a))]).toEqual([at, true]);
  } else if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
    const ka = Object.keys(a),
      kb = Object.keys(b);
    expect([at, ka]).toEqual([at, kb]);
    for (const k of ka) expectNear((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
  } else expect([at, a]).toEqual([at, b]);
}

async function train(analysis: 'worker' | 'inline', run?: string): Promise<SpectralMonitor> {
  const model = mlp();
  const { x, y } = batch();
  const labels = Array.from({ length: N }, (_, i) => i % 4);
  const monitor = new SpectralMonitor(model, {
    probes: x,
    probeLabels: labels,
    schedule: { every: 3 },
    analysis,
    tf,
    ...(run ? { run } : {}),
  });
  await monitor.capture(0);
  for (let s = 1; s <= 9; s++) {
    const loss = await model.trainOnBatch(x, y);
    await monitor.capture(s, { loss: loss as number });
  }
  await monitor.close();
  return monitor;
}

describe('SpectralMonitor analysis modes', () => {
  it('worker and inline give the same snapshots (OMD points with labels, weight rows) and runs', async () => {
    const w = await train('worker', path.join(tmp, 'w'));
    const i = await train('inline', path.join(tmp, 'i'));
    expect(w.snapshots.map((s) => s.step)).toEqual([0, 3, 6, 9]);
    expect(i.snapshots.map((s) => s.step)).toEqual([0, 3, 6, 9]);
    for (let k = 0; k < 4; k++) {
      const a = w.snapshots[k]!,
        b = i.snapshots[k]!;
      for (const layer of ['h1', 'h2']) {
        const pa = a.omd[layer]!,
          pb = b.omd[layer]!;
        // The same solves; the null's Lanczos solves may differ in the last bits (sync vs pool thread).
        expect(Array.from(pa.figures.values)).toEqual(Array.from(pb.figures.values));
        expectNear(pa.figures.band, pb.figures.band, 'band');
        expectNear(pa.figures.labels, pb.figures.labels, 'labels');
        expect(pa.figures.band.fingerprint).toBe(pb.figures.band.fingerprint);
        expect(Array.from(pa.cloud.data)).toEqual(Array.from(pb.cloud.data));
        expect(Array.from(pa.bottomVectors!.data)).toEqual(Array.from(pb.bottomVectors!.data));
      }
      expect(a.weights.map((r) => [r.name, r.alpha, r.num_spikes, Array.from(r.evals)])).toEqual(
        b.weights.map((r) => [r.name, r.alpha, r.num_spikes, Array.from(r.evals)]),
      );
    }
    const ra = await openRun(path.join(tmp, 'w')),
      rb = await openRun(path.join(tmp, 'i'));
    expect(ra.status).toBe('finished');
    expect(rb.status).toBe('finished');
    // The worker commits the run itself: every line (logs, OMD, weights) and every array as inline.
    expect(ra.steps).toEqual([0, 3, 6, 9]);
    expect(ra.rows({ family: 'logs' }).map((r) => r.loss)).toEqual(w.snapshots.map((s) => s.logs.loss ?? undefined));
    expectNear(ra.rows(), rb.rows(), 'rows');
    const arrays = (r: typeof ra) =>
      r.arrays().map((a) => ({
        ...a,
        value: 'data' in a.value ? { ...a.value, data: Array.from(a.value.data) } : Array.from(a.value),
      }));
    expect(ra.arrays().length).toBe(4 * (2 * 3 + 3)); // per snapshot: values, cloud, bottom_vectors of 2 layers; 3 evals
    expectNear(arrays(ra), arrays(rb), 'arrays');
    expect(ra.meta.meta).toEqual(rb.meta.meta);
  });

  it("the worker hands each snapshot's buffers back and the next capture copies into them, the figures unchanged", async () => {
    const run = async (analysis: 'worker' | 'inline') => {
      const model = mlp();
      const { x, y } = batch();
      // queue 1: each capture waits for the snapshot before it, so its buffers are back by then.
      const monitor = new SpectralMonitor(model, { probes: x, schedule: { every: 1 }, queue: 1, analysis, tf });
      await monitor.capture(0);
      for (let s = 1; s <= 4; s++) await monitor.capture(s, { loss: (await model.trainOnBatch(x, y)) as number });
      await monitor.close();
      return monitor;
    };
    const w = await run('worker');
    const i = await run('inline');
    // Per capture 2 representations and 3 kernels; captures 1–4 copy into the buffers of the one before.
    expect(w.stats.reusedBuffers).toBe(4 * 5);
    expect(i.stats.reusedBuffers).toBe(0);
    for (const [k, a] of w.snapshots.entries()) {
      const b = i.snapshots[k]!;
      for (const layer of ['h1', 'h2']) {
        expect(Array.from(a.omd[layer]!.figures.values)).toEqual(Array.from(b.omd[layer]!.figures.values));
        expect(Array.from(a.omd[layer]!.cloud.data)).toEqual(Array.from(b.omd[layer]!.cloud.data));
      }
      expect(a.weights.map((r) => Array.from(r.evals))).toEqual(b.weights.map((r) => Array.from(r.evals)));
    }
  });

  it('the run opened in the worker refuses what createRun refuses inline, with the same class and message', async () => {
    const failures: Error[] = [];
    for (const analysis of ['worker', 'inline'] as const) {
      const model = mlp();
      const { x } = batch();
      // a BigInt config: structured-cloneable, so it reaches the worker's createRun, but not JSON
      const monitor = new SpectralMonitor(model, {
        probes: x,
        run: path.join(tmp, `bigint-${analysis}`),
        config: { n: 1n },
        analysis,
        tf,
      });
      failures.push((await monitor.capture(0).catch((e: unknown) => e)) as Error);
      await monitor.close();
    }
    const [w, i] = failures;
    expect(w).toBeInstanceOf(TypeError);
    expect(i).toBeInstanceOf(TypeError);
    expect(w!.message).toBe(i!.message);
    expect(w!.message).toMatch(/JSON-serialisable value for config/);
  });

  it('a commit that fails in the worker (run.json replaced by a directory) fails capture and close as inline: class, message, cause code', async () => {
    const seen: { capture: Error; close: Error }[] = [];
    for (const analysis of ['worker', 'inline'] as const) {
      const model = mlp();
      const { x } = batch();
      const dir = path.join(tmp, `broken-${analysis}`);
      const monitor = new SpectralMonitor(model, { probes: x, kernels: [], run: dir, analysis, tf });
      await monitor.capture(0);
      while (monitor.stats.analysed < 1) await new Promise((r) => setTimeout(r, 5));
      // the next flush's atomic rename onto run.json fails
      fs.rmSync(path.join(dir, 'run.json'));
      fs.mkdirSync(path.join(dir, 'run.json', 'x'), { recursive: true });
      await monitor.capture(1, {}, { force: true });
      while (monitor.stats.pending > 0) await new Promise((r) => setTimeout(r, 5));
      const capture = (await monitor.capture(2, {}, { force: true }).catch((e: unknown) => e)) as Error;
      const kept = keptAnalysisWorkers();
      const close = (await monitor.close().catch((e: unknown) => e)) as Error;
      // Its run could not be closed (run.json is a directory): a worker whose writer may still hold
      // the run's lock is ended, not kept for the next monitor.
      expect(keptAnalysisWorkers()).toBe(kept);
      seen.push({ capture, close });
      expect(monitor.snapshots.map((s) => s.step)).toEqual([0]);
    }
    const [w, i] = seen;
    // the directories differ, and so does the temp file's counter (one per thread's store module)
    const strip = (e: Error) =>
      e.message
        .replaceAll(/broken-(worker|inline)/g, 'broken')
        .replaceAll(/\.run\.json\.\d+\.\d+\.tmp/g, '.run.json.tmp');
    for (const k of ['capture', 'close'] as const) {
      expect(w![k]).toBeInstanceOf(SpecdynError);
      expect(i![k]).toBeInstanceOf(SpecdynError);
      expect(strip(w![k])).toBe(strip(i![k]));
      expect((w![k].cause as NodeJS.ErrnoException | undefined)?.code).toBe(
        (i![k].cause as NodeJS.ErrnoException | undefined)?.code,
      );
    }
    expect(w!.capture.message).toMatch(/committed to/);
    expect((w!.capture.cause as NodeJS.ErrnoException).code).toMatch(/^E[A-Z]+$/); // e.g. EISDIR
  });

  it('the worker thread runs at analysisNice (Linux), the training thread unchanged; bad values are RangeErrors', async () => {
    const nices = (): number[] =>
      fs.readdirSync('/proc/self/task').map((t) => {
        const f = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return Number(f[16]); // field 19 of stat(5): nice
      });
    const model = mlp();
    const { x } = batch();
    for (const bad of [-1, 20, 2.5]) {
      expect(() => new SpectralMonitor(model, { probes: x, analysisNice: bad, tf })).toThrow(RangeError);
    }
    const linux = process.platform === 'linux';
    const selfNice = () => Number(fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
    const before = linux ? { sevens: nices().filter((n) => n === 7).length, self: selfNice() } : undefined;
    const monitor = new SpectralMonitor(model, { probes: x, analysisNice: 7, run: path.join(tmp, 'nice'), tf });
    // the run is opened by the worker after its init message: the priority is set by then
    await monitor.capture(0);
    if (before) {
      expect(nices().filter((n) => n === 7).length).toBe(before.sevens + 1);
      expect(selfNice()).toBe(before.self);
    }
    await monitor.close();
  });

  it("the worker thread is in the idle scheduling class by default (Linux), normal with 'nice'; the training thread unchanged", async () => {
    // field 41 of stat(5): the policy (0 SCHED_OTHER, 5 SCHED_IDLE)
    const policy = (t: string): number =>
      Number(fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[38]);
    const idleThreads = (): number => fs.readdirSync('/proc/self/task').filter((t) => policy(t) === 5).length;
    const model = mlp();
    const { x } = batch();
    expect(() => new SpectralMonitor(model, { probes: x, analysisScheduling: 'low' as never, tf })).toThrow(
      "Expected 'idle' or 'nice' for analysisScheduling but received 'low'",
    );
    if (process.platform !== 'linux') return;
    await dropKeptAnalysisWorkers(); // the workers earlier tests' monitors left for reuse
    const before = idleThreads();
    const idle = new SpectralMonitor(model, { probes: x, run: path.join(tmp, 'idle'), tf });
    await idle.capture(0); // the run is opened by the worker after its init message
    expect(idleThreads()).toBe(before + 1);
    expect(policy(String(process.pid))).toBe(0);
    await idle.close();
    // Its worker is kept (still idle class); a 'nice' monitor does not take it but starts its own.
    expect(keptAnalysisWorkers()).toBe(1);
    const nice = new SpectralMonitor(model, {
      probes: x,
      analysisScheduling: 'nice',
      run: path.join(tmp, 'idle2'),
      tf,
    });
    await nice.capture(0);
    expect(idleThreads()).toBe(before + 1);
    expect(keptAnalysisWorkers()).toBe(1);
    await nice.close();
    await dropKeptAnalysisWorkers();
    expect(idleThreads()).toBe(before);
  });

  it('a closed monitor leaves its worker to the next one: same thread, a fresh analyzer, the same figures; at most KEPT_WORKERS kept', async () => {
    await dropKeptAnalysisWorkers();
    const threads = () => fs.readdirSync('/proc/self/task').length;
    const first = await train('worker', path.join(tmp, 'kept-1'));
    expect(keptAnalysisWorkers()).toBe(1);
    const linux = process.platform === 'linux';
    const before = linux ? threads() : 0;
    const second = await train('worker', path.join(tmp, 'kept-2'));
    // The second monitor ran in the kept worker (no thread more) and gave it back.
    if (linux) expect(threads()).toBe(before);
    expect(keptAnalysisWorkers()).toBe(1);
    // A fresh analyzer per monitor: the second run's trajectories start over (its figures equal the first's).
    expect(second.snapshots.length).toBe(first.snapshots.length);
    for (const [i, s] of second.snapshots.entries()) expectNear(s.omd, first.snapshots[i]!.omd, `snapshot ${i}`);
    expect(Number.isNaN(second.snapshots[0]!.omd.h1!.overlap)).toBe(true);
    const run = await openRun(path.join(tmp, 'kept-2'));
    expect(run.status).toBe('finished');
    expect(run.steps).toEqual([0, 3, 6, 9]);
    // Monitors open at once take a worker each; closed, at most KEPT_WORKERS stay.
    const model = mlp();
    const { x } = batch();
    const open = Array.from({ length: KEPT_WORKERS + 1 }, () => new SpectralMonitor(model, { probes: x, tf }));
    for (const m of open) await m.capture(0);
    expect(keptAnalysisWorkers()).toBe(0);
    for (const m of open) await m.close();
    expect(keptAnalysisWorkers()).toBe(KEPT_WORKERS);
    await dropKeptAnalysisWorkers();
  });

  it('an analysis that fails in the worker fails close() with the same error class and message as inline', async () => {
    const failures: unknown[] = [];
    for (const analysis of ['worker', 'inline'] as const) {
      const model = mlp();
      const { x } = batch();
      // NaN weights in the first layer: NaN representations, which the OMD analysis refuses.
      const [k, b] = model.getLayer('h1').getWeights();
      model.getLayer('h1').setWeights([tf.fill(k!.shape, Number.NaN), b!]);
      const dir = path.join(tmp, `nan-${analysis}`);
      const monitor = new SpectralMonitor(model, { probes: x, kernels: [], run: dir, analysis, tf });
      await monitor.capture(0);
      failures.push(await monitor.close().catch((e: unknown) => e));
      const run = await openRun(dir);
      expect(run.status).toBe('failed');
    }
    const [w, i] = failures as Error[];
    expect(w).toBeInstanceOf(RangeError);
    expect(i).toBeInstanceOf(RangeError);
    expect(w!.message).toBe(i!.message);
  });

  it('snapshots posted after one that fails are answered with its error, neither analysed nor committed', async () => {
    // The monitor posts each snapshot to its worker at capture; here three are posted back to
    // back, the middle one with NaN representations (which the OMD analysis refuses).
    const analyzer = new SnapshotAnalyzer({
      layers: ['h'],
      metric: 'euclidean',
      keepVectors: 0,
      trajectory: { metric: 'euclidean', bottomK: 3, input: 'distance' },
      weights: {},
    });
    const analysis = createSnapshotAnalysis(analyzer, 'worker', 1);
    expect(analysis.mode).toBe('worker');
    const dir = path.join(tmp, 'posted-after-failure');
    await analysis.openRun(dir, {});
    const job = (step: number, fill?: number): SnapshotJob => ({
      step,
      logs: {},
      reps: [
        { data: Float32Array.from({ length: N * D }, (_, i) => fill ?? Math.sin(0.37 * i + step)), rows: N, cols: D },
      ],
      kernels: [],
    });
    const replies = await Promise.allSettled([
      analysis.analyse(job(0), true),
      analysis.analyse(job(1, Number.NaN), true),
      analysis.analyse(job(2), true),
    ]);
    expect(replies.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    const [, failed, skipped] = replies as [unknown, PromiseRejectedResult, PromiseRejectedResult];
    expect(failed.reason).toBeInstanceOf(RangeError);
    expect(skipped.reason).toBeInstanceOf(RangeError);
    expect((skipped.reason as Error).message).toBe((failed.reason as Error).message);
    await analysis.closeRun({ status: 'failed', error: (failed.reason as Error).message });
    await analysis.close();
    const run = await openRun(dir);
    expect(run.status).toBe('failed');
    expect(run.steps).toEqual([0]);
  });

  it('a loop that ends without close(): the process still exits and every captured snapshot is committed', async () => {
    const build = transpileSources(packageRoot, 'monitor-worker-test');
    const dir = path.join(tmp, 'no-close');
    const code = `import { loadTf } from ${JSON.stringify(path.join(build, 'src/tfjs/index.js'))};
import { SpectralMonitor } from ${JSON.stringify(path.join(build, 'src/train/monitor.js'))};
const { tf } = await loadTf({ backend: 'cpu' });
const model = tf.sequential();
model.add(tf.layers.dense({ inputShape: [${D}], units: 12, activation: 'relu', name: 'h1' }));
model.add(tf.layers.dense({ units: 3, name: 'out' }));
model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
const x = tf.randomNormal([${N}, ${D}], 0, 1, 'float32', 1), y = tf.randomNormal([${N}, 3], 0, 1, 'float32', 2);
const monitor = new SpectralMonitor(model, { probes: x, schedule: { every: 1 }, run: ${JSON.stringify(dir)}, tf });
await monitor.capture(0);
for (let step = 1; step <= 3; step++) await monitor.capture(step, { loss: await model.trainOnBatch(x, y) });
process.stdout.write('done capturing\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exitCode = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).not.toMatch(/Error/);
    expect(out).toContain('done capturing');
    expect(exitCode).toBe(0);
    const run = await openRun(dir);
    expect(run.steps).toEqual([0, 1, 2, 3]);
  });
});

describe('setThreadLimit', () => {
  it('caps only the calling thread, 0 removes the cap, results unchanged; bad values are RangeErrors', async () => {
    expect(getThreadLimit()).toBe(0);
    const a = randSym(400, 7);
    const free = await eigvalsh(a);
    setThreadLimit(1);
    try {
      expect(getThreadLimit()).toBe(1);
      // A worker_thread has its own cap (none), and setting it there leaves this thread's alone.
      const seen = await new Promise<number[]>((resolve, reject) => {
        const url = new URL('../dist/linalg/index.js', import.meta.url).href;
        const w = new Worker(
          `import(${JSON.stringify(url)}).then((m) => { const before = m.getThreadLimit(); m.setThreadLimit(3); require('node:worker_threads').parentPort.postMessage([before, m.getThreadLimit()]); });`,
          { eval: true, execArgv: workerExecArgv() },
        );
        w.once('message', (m: number[]) => {
          void w.terminate();
          resolve(m);
        });
        w.once('error', reject);
      });
      expect(seen).toEqual([0, 3]);
      expect(getThreadLimit()).toBe(1);
      const capped = await eigvalsh(a);
      // Single- against multi-threaded LAPACK: the same spectrum to rounding.
      for (let i = 0; i < 400; i++) expect(Math.abs(capped[i]! - free[i]!)).toBeLessThan(1e-10 * Math.abs(free[399]!));
    } finally {
      setThreadLimit(0);
    }
    expect(getThreadLimit()).toBe(0);
    for (const bad of [-1, 1.5, 2000, Number.NaN]) expect(() => setThreadLimit(bad)).toThrow(RangeError);
    expect(() => setThreadLimit('2' as never)).toThrow(TypeError);
  });

  it('workerExecArgv drops the entry-point options a worker refuses', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code()', '--enable-source-maps'])).toEqual([
      '--enable-source-maps',
    ]);
    expect(workerExecArgv(['--eval=x', '-p', '1+1', '--max-old-space-size=100'])).toEqual(['--max-old-space-size=100']);
  });

  it('startWorker leaves out the process-wide options a worker refuses (V8 heap and GC flags) and keeps the rest', async () => {
    const url = new URL(
      'data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage(process.execArgv);',
    );
    const flags = ['--max-old-space-size=100', '--enable-source-maps', '--heap-growing-percent=200'];
    // The premise: node itself refuses them in a worker's execArgv.
    let refusal: unknown;
    try {
      await new Worker(url, { execArgv: flags }).terminate();
    } catch (err) {
      refusal = err;
    }
    expect((refusal as { code?: string }).code).toBe('ERR_WORKER_INVALID_EXEC_ARGV');
    expect(refusedExecArgv((refusal as Error).message).sort()).toEqual([
      '--heap-growing-percent=200',
      '--max-old-space-size=100',
    ]);
    const w = startWorker(url, flags);
    const seen = await new Promise<string[]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(seen).toEqual(['--enable-source-maps']);
    expect(refusedExecArgv('no list here')).toEqual([]);
  });
});
