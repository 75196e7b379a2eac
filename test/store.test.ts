import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRun, openRun, repairRun, SpecdynError } from '../src/store/index.js';
import type { Snapshot } from '../src/store/types.js';
import { SpecdynError as BaseError } from '../src/errors.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-store-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => path.join(root, `run-${counter++}`);

function snapshot(step: number): Snapshot {
  const evals = Float64Array.from({ length: 7 }, (_, i) => step + i / 7);
  const vecs = { data: Float32Array.from({ length: 6 }, (_, i) => i * 0.1 + step), rows: 2, cols: 3 };
  return {
    step,
    logs: { loss: 1 / (step + 1), acc: step === 0 ? NaN : 0.5 },
    observables: [
      {
        observable: 'dense_1',
        family: 'omd' as const,
        row: { n: 7, perron: Infinity, low: -Infinity, nan: NaN, fp: 'noise', clear: false, none: null },
        arrays: { values: evals, bandVectors: vecs },
      },
      { observable: 'dense_1/kernel', family: 'weights' as const, row: { alpha: 2.5 + step } },
    ],
  };
}

describe('run store round trip', () => {
  it('writes and reads back rows (NaN/Infinity exact) and arrays (dtype kept)', async () => {
    const dir = fresh();
    const w = await createRun(dir, { config: { lr: 0.1 }, seed: 7, tfBackend: 'cpu' });
    for (const s of [0, 10, 20]) w.append(snapshot(s));
    await w.flush();
    w.append(snapshot(30));
    // A reader while the writer is live: what was committed, status running; repair is refused.
    const live = await openRun(dir);
    expect(live.status).toBe('running');
    expect(live.steps).toEqual([0, 10, 20]);
    expect(live.array(10, 'dense_1', 'values')).toHaveLength(7);
    await expect(repairRun(dir)).rejects.toThrow(/being written by pid/);
    await w.close();
    const run = await openRun(dir);
    expect(run.status).toBe('finished');
    expect(run.problems).toEqual([]);
    expect(run.steps).toEqual([0, 10, 20, 30]);
    expect(run.meta.config).toEqual({ lr: 0.1 });
    expect(run.meta.seed).toBe(7);
    const omd = run.rows({ family: 'omd', observable: 'dense_1' });
    expect(omd.map((r) => r.step)).toEqual([0, 10, 20, 30]);
    expect(omd[0]).toMatchObject({
      n: 7,
      perron: Infinity,
      low: -Infinity,
      fp: 'noise',
      clear: false,
      none: null,
      family: 'omd',
      observable: 'dense_1',
      session: 0,
    });
    expect(Number.isNaN(omd[0]!.nan)).toBe(true);
    const logs = run.rows({ family: 'logs' });
    expect(logs.map((l) => l.loss)).toEqual([1, 1 / 11, 1 / 21, 1 / 31]);
    expect(Number.isNaN(logs[0]!.acc)).toBe(true);
    const v = run.array(20, 'dense_1', 'values');
    expect(v).toBeInstanceOf(Float64Array);
    expect(Array.from(v as Float64Array)).toEqual(
      Array.from(snapshot(20).observables[0]!.arrays!.values as Float64Array),
    );
    const b = run.array(30, 'dense_1', 'bandVectors') as { data: Float32Array; rows: number; cols: number };
    expect(b.data).toBeInstanceOf(Float32Array);
    expect([b.rows, b.cols]).toEqual([2, 3]);
    expect(Array.from(b.data)).toEqual(
      Array.from((snapshot(30).observables[0]!.arrays!.bandVectors as { data: Float32Array }).data),
    );
    expect(run.observables()).toEqual(['dense_1', 'dense_1/kernel']);
  });

  it("a sealed shard is read by apache-arrow's package entry (the build other readers import) with every value exact", async () => {
    const dir = fresh();
    const w = await createRun(dir);
    for (const s of [0, 10]) w.append(snapshot(s));
    await w.flush();
    await w.close();
    const arrow = await import('apache-arrow');
    const table = arrow.tableFromIPC(fs.readFileSync(path.join(dir, 'spectra-000.arrow')));
    const rows = table.toArray().map((r) => r.toJSON());
    expect(rows.map((r) => [r.step, r.name, r.dtype, r.rows, r.cols])).toEqual([
      [0, 'values', 'float64', 7, null],
      [0, 'bandVectors', 'float32', 2, 3],
      [10, 'values', 'float64', 7, null],
      [10, 'bandVectors', 'float32', 2, 3],
    ]);
    const s10 = snapshot(10).observables[0]!.arrays!;
    expect(Array.from(rows[2]!.values.toArray())).toEqual(Array.from(s10.values as Float64Array));
    expect(Array.from(rows[3]!.values.toArray())).toEqual(
      Array.from((s10.bandVectors as { data: Float32Array }).data, (v) => v),
    );
  });

  it('refuses a second live writer and a directory that is not a run', async () => {
    const dir = fresh();
    const w = await createRun(dir, {});
    await expect(createRun(dir, {})).rejects.toThrow(new RegExp(`being written by pid ${process.pid}`));
    await expect(createRun(dir, {})).rejects.toBeInstanceOf(BaseError);
    await w.close();
    const other = fresh();
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'x');
    await expect(openRun(other)).rejects.toThrow(
      `Expected a specdyn run directory (with run.json) for dir but received '${other}'`,
    );
    await expect(createRun(other, {})).rejects.toThrow(/notes\.txt/);
    expect(SpecdynError).toBe(BaseError);
  });
});

// ---------------------------------------------------------------------------------------------
// Crash safety. A child process runs the current sources (transpiled with the TypeScript
// compiler into a scratch folder inside node_modules/.cache, so package imports resolve).
import { spawn, spawnSync } from 'node:child_process';
import { packageRoot } from '../src/native.js';
import { transpileSources } from './helpers.js';
import { OMD_POINT_COLUMNS, OmdTrajectory, reorganisationTrajectory } from '../src/omd/index.js';
import { omdRecord, REGIME_COLUMNS } from '../src/store/index.js';

/** Deterministic content of snapshot `step` in the crash runs (large enough that writes take time). */
const CHILD_SNAPSHOT = `
function snap(step, len) {
  const v = new Float64Array(len);
  for (let i = 0; i < len; i++) v[i] = Math.sin(step * 1000 + i);
  return { step, logs: { loss: 1 / (step + 1) }, observables: [
    { observable: 'h1', family: 'omd', row: { step_sq: step * step, nan: NaN }, arrays: { values: v } },
    { observable: 'w1', family: 'weights', row: { alpha: step + 0.5 } } ] };
}`;

function expectSnapshot(run: Awaited<ReturnType<typeof openRun>>, step: number, len: number): void {
  const row = run.rows({ family: 'omd', observable: 'h1', step })[0]!;
  expect(row.step_sq).toBe(step * step);
  expect(Number.isNaN(row.nan)).toBe(true);
  expect(run.rows({ family: 'weights', step })[0]!.alpha).toBe(step + 0.5);
  expect(run.rows({ family: 'logs', step })[0]!.loss).toBe(1 / (step + 1));
  const v = run.array(step, 'h1', 'values') as Float64Array;
  expect(v.length).toBe(len);
  for (const i of [0, 1, len >> 1, len - 1]) expect(v[i]).toBe(Math.sin(step * 1000 + i));
}

describe('crash safety', () => {
  let build = '';
  afterAll(() => {
    if (build) fs.rmSync(build, { recursive: true, force: true });
  });

  it('a writer SIGKILLed after k flushed snapshots leaves exactly its flushed snapshots, reported interrupted; a restart takes over', async () => {
    build ||= transpileSources(packageRoot, 'store-test');
    const dir = fresh();
    const len = 200_000;
    const k = 4;
    const code = `import { createRun } from ${JSON.stringify(path.join(build, 'src/store/index.js'))};
${CHILD_SNAPSHOT}
const w = await createRun(${JSON.stringify(dir)}, { config: { crash: true } });
for (let step = 0; ; step++) {
  w.append(snap(step, ${len}));
  await w.flush();
  process.stdout.write('flushed ' + (step + 1) + '\\n');
}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '',
      err = '';
    child.stderr.on('data', (d) => (err += d));
    const printed = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = [...out.matchAll(/flushed (\d+)/g)];
        const last = m.length ? Number(m[m.length - 1]![1]) : 0;
        if (last >= k) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
      child.on('exit', (c) => reject(new Error(`child exited (${c}) before ${k} flushes: ${err}`)));
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    expect(child.signalCode).toBe('SIGKILL');
    const run = await openRun(dir);
    expect(run.status).toBe('interrupted');
    expect(run.unfinished).toBe(true);
    expect(run.meta.status).toBe('running');
    const steps = run.steps;
    // Every snapshot whose flush resolved is there, complete (the child may have completed more
    // flushes before the signal landed; the byte-level cut test below pins the exact count).
    // Steps form a prefix 0..m-1.
    expect(steps.length).toBeGreaterThanOrEqual(printed);
    expect(steps).toEqual(steps.map((_, i) => i));
    for (const s of steps) expectSnapshot(run, s, len);
    expect(run.arrays({ name: 'values' }).length).toBe(steps.length);

    // A restart takes over the dead writer's lock, seals its shard, starts a new one.
    const w = await createRun(dir, { config: { crash: true } });
    expect(w.session).toBe(1);
    const sealed = fs.readFileSync(path.join(dir, 'spectra-000.arrow')).subarray(0, 6).toString();
    expect(sealed).toBe('ARROW1');
    const last = steps[steps.length - 1]!;
    // The restart repeats the last step (resumed from a checkpoint) and goes on.
    const values = new Float64Array([1, 2, 3]);
    w.append({
      step: last,
      observables: [{ observable: 'h1', family: 'omd', row: { step_sq: -1 }, arrays: { values } }],
    });
    w.append({ step: last + 1, observables: [{ observable: 'h1', family: 'omd', row: { step_sq: -2 } }] });
    await w.close();
    const again = await openRun(dir);
    expect(again.status).toBe('finished');
    expect(again.problems).toEqual([]);
    expect(
      fs
        .readdirSync(dir)
        .filter((n) => n.endsWith('.arrow'))
        .sort(),
    ).toEqual(['spectra-000.arrow', 'spectra-001.arrow']);
    expect(again.meta.sessions.map((s) => s.status)).toEqual(['interrupted', 'finished']);
    const h1 = again.rows({ family: 'omd', observable: 'h1' });
    expect(h1.map((r) => r.step)).toEqual([...steps, last + 1]);
    expect(h1[h1.length - 2]!.step_sq).toBe(-1); // the later session supersedes
    expect(Array.from(again.array(last, 'h1', 'values') as Float64Array)).toEqual([1, 2, 3]);
    expect(again.array(0, 'h1', 'values')).toHaveLength(len);
  });

  it('a torn tail at any byte of the last flush loses only that flush', async () => {
    const dir = fresh();
    const w = await createRun(dir, { durable: false });
    const snaps = [0, 1, 2].map((step) => ({
      step,
      observables: [
        {
          observable: 'h',
          family: 'omd' as const,
          row: { x: step, inf: -Infinity },
          arrays: { v: Float64Array.from({ length: 50 }, (_, i) => step + i) },
        },
      ],
    }));
    w.append(snaps[0]!);
    w.append(snaps[1]!);
    await w.flush();
    const jsonlBefore = fs.statSync(path.join(dir, 'steps.jsonl')).size;
    const shardBefore = fs.statSync(path.join(dir, 'spectra-000.arrow')).size;
    w.append(snaps[2]!);
    await w.flush();
    // Simulate a kill mid-flush: keep the run files as they were at each cut, without closing.
    const jsonl = fs.readFileSync(path.join(dir, 'steps.jsonl'));
    const shard = fs.readFileSync(path.join(dir, 'spectra-000.arrow'));
    const meta = fs.readFileSync(path.join(dir, 'run.json'));
    const cuts: [number, number][] = [];
    for (let j = jsonlBefore; j <= jsonl.length; j += 7) cuts.push([j, shardBefore]);
    cuts.push([jsonl.length, shardBefore]);
    for (let s = shardBefore; s < shard.length; s += 13) cuts.push([jsonl.length, s]);
    for (const [j, s] of cuts) {
      const copy = fresh();
      fs.mkdirSync(copy);
      fs.writeFileSync(path.join(copy, 'run.json'), meta);
      fs.writeFileSync(path.join(copy, 'steps.jsonl'), jsonl.subarray(0, j));
      fs.writeFileSync(path.join(copy, 'spectra-000.arrow'), shard.subarray(0, s));
      const run = await openRun(copy);
      expect(run.status).toBe('interrupted');
      expect(run.steps).toEqual([0, 1]);
      expect(run.rows().map((r) => r.x)).toEqual([0, 1]);
      expect(run.rows()[1]!.inf).toBe(-Infinity);
      expect(Array.from(run.array(1, 'h', 'v') as Float64Array)).toEqual(
        Array.from(snaps[1]!.observables[0]!.arrays.v),
      );
      expect(run.arrays()).toHaveLength(2);
      expect(run.problems.length > 0).toBe(!(j === jsonlBefore && s === shardBefore));
      // repairRun leaves a clean run that reads the same and whose shard is an Arrow file.
      const dropped = await repairRun(copy);
      expect(dropped.length).toBe(run.problems.length);
      const fixed = await openRun(copy);
      expect(fixed.problems).toEqual([]);
      expect(fixed.steps).toEqual([0, 1]);
      expect(fs.readFileSync(path.join(copy, 'spectra-000.arrow')).subarray(0, 6).toString()).toBe('ARROW1');
      fs.rmSync(copy, { recursive: true });
    }
    await w.close();
    expect((await openRun(dir)).steps).toEqual([0, 1, 2]);
  });

  it('a stale lock of a dead process is taken over; a session that never flushed reads as empty', async () => {
    const dir = fresh();
    const w = await createRun(dir, {});
    void w; // abandoned without close, as if its process died
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lockFile = path.join(dir, 'writer.lock');
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    fs.writeFileSync(lockFile, JSON.stringify({ ...lock, pid: Number(dead.stdout) }));
    const before = await openRun(dir);
    expect(before.status).toBe('interrupted');
    expect(before.steps).toEqual([]);
    const w2 = await createRun(dir, {});
    expect(w2.session).toBe(1);
    await w2.close({ status: 'failed', error: new Error('diverged') });
    const run = await openRun(dir);
    expect(run.status).toBe('failed');
    expect(run.meta.error).toBe('diverged');
    expect(run.arrays()).toEqual([]);
  });
});

describe('stored OMD trajectory', () => {
  it('regimes() of the stored trajectory equal the live trajectory for the default and other thresholds; msd() too', async () => {
    const t = reorganisationTrajectory({ n: 80, snapshots: 16, switchAt: 6, stepEvery: 10, seed: 3 });
    const live = new OmdTrajectory({ metric: t.metric });
    for (const s of t.snapshots) live.pushSync(s.step, s.reps);
    // The regime columns are registry columns (so every writer of OMD rows carries them).
    const names = OMD_POINT_COLUMNS.map((c) => c.name);
    for (const c of Object.values(REGIME_COLUMNS)) expect(names).toContain(c);
    const dir = fresh();
    const w = await createRun(dir, { durable: false });
    for (const p of live.points) {
      w.append({ step: p.step, observables: [omdRecord('h', p)] });
    }
    await w.close();
    const stored = (await openRun(dir)).trajectory('h');
    expect(stored.points).toHaveLength(live.points.length);
    const options = [
      {},
      { minOverlap: 0.99 },
      { minWindow: 6 },
      { minGapRatio: 1.1 },
      { minGapRatio: 3, minOverlap: 0.5, minWindow: 2 },
    ];
    for (const o of options) expect(stored.regimes(o)).toEqual(live.regimes(o));
    expect(live.regimes().verdict).toBe('transition');
    expect(stored.msd()).toEqual(live.msd());
    expect(() => stored.regimes({ minOverlap: 2 })).toThrow(RangeError);
    const run = await openRun(dir);
    expect(() => run.trajectory('nope')).toThrow(
      "Expected an OMD observable of this run (h) for observable but received 'nope'",
    );
  });

  it('rows without the regime columns give an error naming the column', async () => {
    const dir = fresh();
    const w = await createRun(dir, {});
    w.append({ step: 0, observables: [{ observable: 'h', family: 'omd', row: { overlap: NaN } }] });
    await w.close();
    await expect((async () => (await openRun(dir)).trajectory('h'))()).rejects.toThrow(/column 'band_clear'/);
  });
});

describe('bad snapshots', () => {
  it('are refused with the argument named, and nothing is buffered', async () => {
    const dir = fresh();
    const w = await createRun(dir, {});
    const ok = { observable: 'h', family: 'omd' as const, row: { x: 1 } };
    expect(() => w.append({ step: NaN, observables: [ok] })).toThrow(
      'Expected a finite number for snapshot.step but received NaN',
    );
    expect(() => w.append({ step: 0, observables: [{ ...ok, family: 'x' as never }] })).toThrow(
      /snapshot\.observables\[0\]\.family/,
    );
    expect(() => w.append({ step: 0, observables: [{ ...ok, row: { step: 3 } }] })).toThrow(RangeError);
    expect(() => w.append({ step: 0, observables: [{ ...ok, row: { x: [1] as never } }] })).toThrow(TypeError);
    expect(() => w.append({ step: 0, observables: [{ ...ok, arrays: { v: [1, 2] as never } }] })).toThrow(
      /snapshot\.observables\[0\]\.arrays\.v/,
    );
    expect(() => w.append({ step: 0, observables: [ok, ok] })).toThrow(/one record per/);
    expect(w.pending).toBe(0);
    w.append({ step: 5, observables: [ok] });
    expect(() => w.append({ step: 5, observables: [ok] })).toThrow(
      "Expected a step greater than the previous snapshot's (5) for snapshot.step but received 5",
    );
    await w.close();
    expect(() => w.append({ step: 6, observables: [ok] })).toThrow(/closed/);
    await expect(createRun(dir, { config: { other: 1 } })).resolves.toBeDefined();
  });
});
