// Checks docs/formats.md against pandas, pyarrow and polars: writes two runs with the store
// (one finished, one whose writer died mid-flush), then runs scripts/formats_check.py on them.
// Usage: npm run build:ts && node scripts/formats-check.mjs [python]   (python with pyarrow,
// polars and pandas; default: python3). Not part of npm test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { createRun } = await import(path.join(here, '..', 'dist', 'store', 'index.js'));
const python = process.argv[2] ?? 'python3';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-formats-'));

function snapshot(step) {
  const values = Float64Array.from({ length: 50 }, (_, i) => Math.cos(step + i));
  const cloud = { data: Float64Array.from({ length: 30 }, (_, i) => step * 0.1 + i), rows: 10, cols: 3 };
  return {
    step,
    logs: { loss: 1 / (step + 1), accuracy: step === 0 ? NaN : 0.9 },
    observables: [
      {
        observable: 'dense_1',
        family: 'omd',
        row: {
          perron: 40 + step,
          overlap: step === 0 ? NaN : 0.97,
          band_clear: step > 0,
          band_fingerprint: 'clusters',
        },
        arrays: { values, cloud },
      },
      {
        observable: 'dense_1/kernel',
        family: 'weights',
        row: { alpha: 2 + step, xmin: Infinity },
        arrays: { evals: Float32Array.of(0.5, 1, 2 + step) },
      },
    ],
  };
}

// A finished run: two sessions (a restart), both shards sealed as Arrow IPC files.
const done = path.join(root, 'finished');
let w = await createRun(done, { config: { lr: 0.1 }, seed: 1, tfBackend: 'cpu' });
for (const s of [0, 10]) w.append(snapshot(s));
await w.flush();
w.append(snapshot(20));
await w.close({ status: 'interrupted' });
w = await createRun(done, { config: { lr: 0.1 } });
w.append(snapshot(30));
await w.close();

// A crashed run: the shard is still an IPC stream, with a torn last batch and a torn JSONL line.
const crashed = path.join(root, 'crashed');
w = await createRun(crashed, { config: { lr: 0.1 } });
for (const s of [0, 10]) {
  w.append(snapshot(s));
  await w.flush();
}
const shard = path.join(crashed, 'spectra-000.arrow');
const jsonl = path.join(crashed, 'steps.jsonl');
const [shardSize, jsonlSize] = [fs.statSync(shard).size, fs.statSync(jsonl).size];
const complete = path.join(root, 'complete-stream.arrow');
fs.copyFileSync(shard, complete); // the shard as a live writer leaves it between flushes
w.append(snapshot(20));
await w.flush();
fs.truncateSync(shard, shardSize + Math.floor((fs.statSync(shard).size - shardSize) / 2));
fs.truncateSync(jsonl, jsonlSize + 25);
// (the writer is abandoned: its lock names this process, which exits below)

const r = spawnSync(python, [path.join(here, 'formats_check.py'), done, crashed, complete], { stdio: 'inherit' });
fs.rmSync(root, { recursive: true, force: true });
process.exit(r.status ?? 1);
