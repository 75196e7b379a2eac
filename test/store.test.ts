import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRun, openRun, repairRun, SpecdynError } from '../src/store/index.js';
import { SpecdynError as BaseError } from '../src/errors.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-store-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => path.join(root, `run-${counter++}`);

function snapshot(step: number) {
  const evals = Float64Array.from({ length: 7 }, (_, i) => step + i / 7);
  const vecs = { data: Float32Array.from({ length: 6 }, (_, i) => i * 0.1 + step), rows: 2, cols: 3 };
  return {
    step,
    logs: { loss: 1 / (step + 1), acc: step === 0 ? NaN : 0.5 },
    observables: [
      { observable: 'dense_1', family: 'omd' as const, row: { n: 7, perron: Infinity, low: -Infinity, nan: NaN, fp: 'noise', clear: false, none: null }, arrays: { values: evals, bandVectors: vecs } },
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
    await w.close();
    const run = await openRun(dir);
    expect(run.status).toBe('finished');
    expect(run.problems).toEqual([]);
    expect(run.steps).toEqual([0, 10, 20, 30]);
    expect(run.meta.config).toEqual({ lr: 0.1 });
    expect(run.meta.seed).toBe(7);
    const omd = run.rows({ family: 'omd', observable: 'dense_1' });
    expect(omd.map((r) => r.step)).toEqual([0, 10, 20, 30]);
    expect(omd[0]).toMatchObject({ n: 7, perron: Infinity, low: -Infinity, fp: 'noise', clear: false, none: null, family: 'omd', observable: 'dense_1', session: 0 });
    expect(Number.isNaN(omd[0]!.nan)).toBe(true);
    const logs = run.rows({ family: 'logs' });
    expect(logs.map((l) => l.loss)).toEqual([1, 1 / 11, 1 / 21, 1 / 31]);
    expect(Number.isNaN(logs[0]!.acc)).toBe(true);
    const v = run.array(20, 'dense_1', 'values');
    expect(v).toBeInstanceOf(Float64Array);
    expect(Array.from(v as Float64Array)).toEqual(Array.from(snapshot(20).observables[0]!.arrays!.values));
    const b = run.array(30, 'dense_1', 'bandVectors') as { data: Float32Array; rows: number; cols: number };
    expect(b.data).toBeInstanceOf(Float32Array);
    expect([b.rows, b.cols]).toEqual([2, 3]);
    expect(Array.from(b.data)).toEqual(Array.from(snapshot(30).observables[0]!.arrays!.bandVectors.data));
    expect(run.observables()).toEqual(['dense_1', 'dense_1/kernel']);
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
    await expect(openRun(other)).rejects.toThrow(`Expected a specdyn run directory (with run.json) for dir but received '${other}'`);
    await expect(createRun(other, {})).rejects.toThrow(/notes\.txt/);
    expect(SpecdynError).toBe(BaseError);
    void repairRun;
  });
});
