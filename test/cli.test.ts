// cli/: the built `specdyn` bin (dist/cli/main.js) in child processes: help, exit codes, one-line
// errors, --json against the run store, a short train, and Ctrl-C during train.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openRun } from '../src/store/index.js';
import { Rng } from '../src/random.js';
import { Output } from '../src/cli/output.js';
import { FIXTURE, writeSyntheticRun } from './report-fixture.js';

const BIN = resolve('dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'specdyn-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

beforeAll(() => {
  expect(existsSync(BIN), 'dist/cli/main.js is missing: run node scripts/bootstrap.mjs (or npx tsc)').toBe(true);
});

describe('specdyn --help', () => {
  it.each(['train', 'analyze', 'report', 'runs', 'doctor', 'bench'])(
    '%s --help shows usage and examples, exit 0',
    (cmd) => {
      const r = cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: specdyn ${cmd}`);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n  \\$ specdyn ${cmd}`));
    },
  );

  it('the program help lists every command and the exit codes', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['train', 'analyze', 'report', 'runs', 'doctor', 'bench'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 usage error');
  });

  it('train --help lists a flag for every config key', () => {
    const r = cli(['train', '--help']);
    for (const f of [
      '--data',
      '--hidden-sizes',
      '--steps',
      '--batch-size',
      '--learning-rate',
      '--optimizer',
      '--seed',
      '--snapshot-every',
      '--probes',
      '--train-size',
      '--metric',
      '--backend',
      '--out',
      '--no-report',
    ]) {
      expect(r.stdout).toContain(f);
    }
  });
});

describe('usage errors exit 2 with one line', () => {
  const cfg = join(root, 'bad.json');
  beforeAll(() => writeFileSync(cfg, JSON.stringify({ steps: 10, learningrate: 0.1 })));
  it.each([
    [['train', '-', '--bogus'], "error: unknown option '--bogus'"],
    [['report', '--nope', 'x'], "error: unknown option '--nope'"],
    [['train', '-', '--steps', 'abc'], 'error: Expected a number for --steps but received "abc"'],
    [['train', '-', '--steps', '2.5'], 'error: Expected an integer for --steps but received "2.5"'],
    [
      ['train', '-', '--optimizer', 'rmsprop'],
      "error: option '--optimizer <value>' argument 'rmsprop' is invalid. Allowed choices are sgd, adam.",
    ],
    [
      ['train', '-', '--hidden-sizes', '3,x'],
      'error: Expected a non-empty list of integers ≥ 1 for --hidden-sizes but received "3,x"',
    ],
    [['train'], "error: missing required argument 'config.json'"],
    [['frobnicate'], "error: unknown command 'frobnicate'"],
    [
      ['report', join(root, 'x'), '--interval', '0'],
      'error: Expected a number of seconds > 0 for --interval but received "0"',
    ],
  ])('%j', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([message]);
    expect(r.stdout).toBe('');
  });

  it('an unknown key in the config file names the file and the key', () => {
    const r = cli(['train', cfg]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`Unknown key 'learningrate' in ${cfg}`);
  });

  it('a config file that is missing or not JSON is named', () => {
    const missing = join(root, 'none.json');
    expect(cli(['train', missing]).stderr.trim()).toBe(`error: Cannot read the config file ${missing}: no such file`);
    const notJson = join(root, 'not.json');
    writeFileSync(notJson, '{ steps: 3');
    const r = cli(['train', notJson]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`Expected JSON in ${notJson} but it does not parse`);
  });
});

describe('runs, report and analyze on a stored run', () => {
  const runsRoot = join(root, 'runs');
  const dir = join(runsRoot, 'fixture');
  beforeAll(async () => {
    mkdirSync(runsRoot, { recursive: true });
    await writeSyntheticRun(dir, { steps: 5 });
  });

  it('runs --json lists the run with the store figures', async () => {
    const r = cli(['runs', runsRoot, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const run = await openRun(dir);
    expect(doc.runs).toHaveLength(1);
    const s = doc.runs[0];
    expect(s.dir).toBe(dir);
    expect(s.status).toBe(run.status);
    expect(s.snapshots).toBe(run.steps.length);
    expect(s.lastStep).toBe(run.steps[run.steps.length - 1]);
    const wrows = run.rows({ family: 'weights', observable: FIXTURE.weightLayer });
    expect(s.weights[0].num_spikes).toBe(wrows[wrows.length - 1]!.num_spikes);
    expect(s.weights[0].alpha).toBe(wrows[wrows.length - 1]!.alpha);
    const logs = run.rows({ family: 'logs' });
    expect(s.loss).toBe(logs[logs.length - 1]!.loss);
    expect(s.omd[0].verdict).toBe(run.trajectory(FIXTURE.omdLayer).regimes().verdict);
  });

  it('runs prints a table without --json', () => {
    const r = cli(['runs', runsRoot]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^run\s+status\s+snapshots/);
    expect(r.stdout).toContain(dir);
  });

  it('report --json writes the page and names every figure file', () => {
    const r = cli(['report', dir, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.html).toBe(join(dir, 'report.html'));
    expect(doc.figures.length).toBe(11);
    for (const f of doc.figures) expect(existsSync(f.file)).toBe(true);
    expect(doc.runs[0].snapshots).toBe(5);
  });

  it('--quiet prints nothing on success', () => {
    const r = cli(['report', dir, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  it('analyze of a run writes its report elsewhere with --out', () => {
    const out = join(root, 'analyzed');
    const r = cli(['analyze', dir, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).report).toBe(join(out, 'report.html'));
    expect(existsSync(join(out, 'figures', 'training-curves.svg'))).toBe(true);
  });

  it('report --watch rebuilds while the run is written and stops when it finishes', async () => {
    const live = join(root, 'live');
    const writer = (await writeSyntheticRun(live, { steps: 3, close: false }))!;
    const child = spawn(process.execPath, [BIN, 'report', '--watch', '--interval', '0.2', '--json', live], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const until = async (what: string, ok: () => boolean) => {
      const t0 = Date.now();
      while (!ok()) {
        if (child.exitCode !== null || Date.now() - t0 > 60_000)
          throw new Error(`report --watch: no ${what}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const page = join(live, 'report.html');
    await until('first page', () => existsSync(page) && readFileSync(page, 'utf8').includes('http-equiv="refresh"'));
    expect(readFileSync(page, 'utf8')).toContain('This run is unfinished (status: running)');
    writer.append({ step: 1000, logs: { loss: 0.125 }, observables: [] });
    await writer.flush();
    await until('rebuild', () => stderr.includes('updated: 4 snapshots'));
    await writer.close();
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.runs[0]).toMatchObject({ status: 'finished', snapshots: 4, lastStep: 1000, loss: 0.125 });
    const last = readFileSync(page, 'utf8');
    expect(last).not.toContain('http-equiv="refresh"');
    expect(last).not.toContain('This run is unfinished');
  });

  it('a missing or corrupt run exits 1 with one line naming the path', () => {
    const missing = join(root, 'no-such-run');
    const r1 = cli(['report', missing]);
    expect(r1.code).toBe(1);
    expect(lines(r1.stderr)).toEqual([`error: No run directory at ${missing}: the path does not exist`]);
    const corrupt = join(root, 'corrupt');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'run.json'), '{"format": "specdyn-run", ');
    for (const cmd of ['report', 'analyze']) {
      const r = cli([cmd, corrupt]);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(corrupt);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
    }
    const verbose = cli(['report', corrupt, '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
    const r3 = cli(['runs', missing]);
    expect(r3.code).toBe(1);
    expect(lines(r3.stderr)).toEqual([`error: No runs directory at ${missing}: the path does not exist`]);
  });
});

/** A little-endian float64 C-order .npy file (format 1.0), written from the spec. */
function npy(rows: number, cols: number, values: Float64Array): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

/** A safetensors file with one F32 tensor, written from the spec (u64 LE header size, JSON header, data). */
function safetensors(name: string, rows: number, cols: number, values: Float32Array): Buffer {
  const header = Buffer.from(
    JSON.stringify({ [name]: { dtype: 'F32', shape: [rows, cols], data_offsets: [0, values.byteLength] } }),
    'utf8',
  );
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([size, header, Buffer.from(values.buffer)]);
}

describe('analyze: checkpoints and snapshots become runs', () => {
  it('a directory of step-<n>.npy snapshots → an OMD run and its report', async () => {
    const src = join(root, 'reps');
    mkdirSync(src);
    const n = 24,
      d = 6;
    for (const step of [0, 5, 10]) {
      const v = new Float64Array(n * d);
      // three clusters that separate as the step grows, plus a seeded-looking deterministic jitter
      for (let i = 0; i < n; i++)
        for (let j = 0; j < d; j++)
          v[i * d + j] = (j === i % 3 ? 1 + step / 5 : 0) + 0.1 * Math.sin(7 * i + 3 * j + step);
      writeFileSync(join(src, `step-${step}.npy`), npy(n, d, v));
    }
    const out = join(root, 'reps-run');
    const r = cli(['analyze', src, '--out', out, '--metric', 'euclidean', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ kind: 'snapshots', dir: out, snapshots: 3, report: join(out, 'report.html') });
    const run = await openRun(out);
    expect(run.steps).toEqual([0, 5, 10]);
    expect(run.observables('omd')).toEqual(['reps']);
    expect(run.rows({ family: 'omd', observable: 'reps', step: 10 })[0]!.n).toBe(n);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('OMD normalised spectrum of reps');
  });

  it('safetensors checkpoints → a weight-spectrum run and its report', async () => {
    const src = join(root, 'ckpt');
    mkdirSync(src);
    const rows = 40,
      cols = 80;
    for (const step of [0, 100]) {
      const w = new Rng(step + 1).fillNormal(new Float32Array(rows * cols)).map((x) => x / Math.sqrt(cols));
      writeFileSync(join(src, `model-${step}.safetensors`), safetensors('fc.weight', rows, cols, w));
    }
    const out = join(root, 'ckpt-run');
    const r = cli(['analyze', src, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ kind: 'checkpoints', snapshots: 2 });
    const run = await openRun(out);
    expect(run.steps).toEqual([0, 100]);
    const row = run.rows({ family: 'weights', observable: 'fc.weight', step: 100 })[0]!;
    expect([row.N, row.M]).toEqual([rows, cols]);
    expect(Number.isFinite(row.alpha)).toBe(true);
    expect(doc.weights[0]).toMatchObject({ layer: 'fc.weight', num_spikes: row.num_spikes, alpha: row.alpha });
    expect(existsSync(join(out, 'figures', 'esd-fc_weight.svg'))).toBe(true);
  });

  it('a truncated checkpoint exits 1 naming the file; a path with nothing to analyze exits 1', () => {
    const src = join(root, 'bad-ckpt');
    mkdirSync(src);
    const file = join(src, 'model-1.safetensors');
    writeFileSync(file, safetensors('w', 10, 20, new Float32Array(200)).subarray(0, 100));
    const r = cli(['analyze', src, '--out', join(root, 'bad-run'), '--quiet']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(file);
    const empty = join(root, 'empty-dir');
    mkdirSync(empty);
    const r2 = cli(['analyze', empty]);
    expect(r2.code).toBe(1);
    expect(lines(r2.stderr)).toEqual([
      `error: Cannot analyze ${empty}: it holds no run.json, no .safetensors checkpoints and no step-<n>.npy/.npz snapshots`,
    ]);
  });
});

describe('colour', () => {
  // A stand-in for a terminal stream: only isTTY matters to the colour choice.
  const tty = { isTTY: true } as unknown as NodeJS.WriteStream;
  const saved = process.env.NO_COLOR;
  afterAll(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });

  it('is on for a terminal, off with NO_COLOR, --no-color or a pipe', () => {
    delete process.env.NO_COLOR;
    expect(new Output({}, tty).colors.red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(new Output({ color: false }, tty).colors.red('x')).toBe('x');
    expect(new Output({}, { isTTY: false } as unknown as NodeJS.WriteStream).colors.red('x')).toBe('x');
    process.env.NO_COLOR = '1';
    expect(new Output({}, tty).colors.red('x')).toBe('x');
  });

  it('error lines from the bin carry no escape codes when stderr is a pipe', () => {
    const r = spawnSync(process.execPath, [BIN, 'report', join(root, 'none')], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('\u001b[');
  });
});

describe('doctor', () => {
  it('--json reports the native build and the tfjs backend chosen', () => {
    const r = cli(['doctor', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.node).toBe(process.versions.node);
    expect(typeof doc.native.blas).toBe('string');
    expect(doc.native.threads).toBeGreaterThanOrEqual(1);
    expect(['tfjs-node', 'specdyn-native', 'wasm', 'cpu']).toContain(doc.tfBackend.chosen);
    expect(doc.tfBackend.attempts.at(-1)).toMatchObject({ backend: doc.tfBackend.chosen, ok: true });
    expect(Array.isArray(doc.advice)).toBe(true);
  });
});

describe('train', () => {
  const base = [
    '--data',
    'synthetic',
    '--hidden-sizes',
    '24,16',
    '--probes',
    '32',
    '--train-size',
    '400',
    '--batch-size',
    '32',
    '--backend',
    'cpu',
  ];

  it('a short synthetic run: --json result matches the store', async () => {
    const out = join(root, 'trained');
    const cfg = join(root, 'train.json');
    writeFileSync(cfg, JSON.stringify({ steps: 100, snapshotEvery: 10, learningRate: 0.1 }));
    // The flag wins over the file: 30 steps, snapshots at 0, 10, 20, 30.
    const r = cli(['train', cfg, ...base, '--steps', '30', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      run: out,
      status: 'finished',
      stepsDone: 30,
      snapshots: 4,
      backend: 'cpu',
      report: join(out, 'report.html'),
    });
    const run = await openRun(out);
    expect(run.status).toBe('finished');
    expect(run.steps).toEqual([0, 10, 20, 30]);
    expect(run.meta.config).toMatchObject({ steps: 30, snapshotEvery: 10, learningRate: 0.1, hiddenSizes: [24, 16] });
    // Weight observables are named by layer (the monitor's and analyzeModel's `name`).
    expect(run.observables('weights')).toEqual(['hidden_1', 'hidden_2', 'output']);
    expect(run.observables('omd')).toEqual(['hidden_1', 'hidden_2']);
    expect(run.meta.meta).toMatchObject({ command: 'specdyn train', model: 'MLP 64-24-16-10' });
    const w = run.rows({ family: 'weights', observable: 'hidden_1', step: 30 })[0]!;
    // tfjs kernels are [in, out]: W = kernelᵀ is 24 x 64.
    expect([w.N, w.M]).toEqual([24, 64]);
    const logs = run.rows({ family: 'logs' });
    expect(logs.at(-1)!.loss).toBe(doc.final.loss);
    // The probe labels (one per probe, classes 0–9) are kept in run.json for the report's clouds.
    const labels = (run.meta.meta.monitor as { probeLabels: number[] }).probeLabels;
    expect(labels).toHaveLength(32);
    expect(labels.every((l) => Number.isInteger(l) && l >= 0 && l < 10)).toBe(true);
    expect(logs.map((r) => r.step)).toEqual([0, 10, 20, 30]);
    expect(Number.isFinite(logs[0]!.val_loss) && Number.isFinite(logs.at(-1)!.val_accuracy)).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('MDS cloud of the probes: hidden_1');
  });

  it('Ctrl-C stops cleanly and leaves a readable, unfinished run', async () => {
    const out = join(root, 'interrupted');
    const child = spawn(
      process.execPath,
      [BIN, 'train', '-', ...base, '--steps', '100000', '--snapshot-every', '5', '--out', out, '--no-report', '--json'],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '',
      stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const steps = join(out, 'steps.jsonl');
    // Wait for two flushed snapshots (logs + layers lines), then interrupt.
    const t0 = Date.now();
    while (
      !(
        existsSync(steps) &&
        readFileSync(steps, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"family":"logs"')).length >= 2
      )
    ) {
      if (child.exitCode !== null || Date.now() - t0 > 90_000)
        throw new Error(`train did not reach two snapshots: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted: finishing the current step');
    const run = await openRun(out);
    expect(run.status).toBe('interrupted');
    expect(run.unfinished).toBe(true);
    expect(run.problems).toEqual([]);
    expect(run.steps.length).toBeGreaterThanOrEqual(2);
    // The last snapshot is the state training stopped in; every snapshot has all five observables.
    const doc = JSON.parse(stdout);
    expect(doc.status).toBe('interrupted');
    expect(run.steps.at(-1)).toBe(doc.stepsDone);
    expect(doc.snapshots).toBe(run.steps.length);
    for (const s of run.steps) expect(run.rows({ step: s }).filter((r) => r.family !== 'logs')).toHaveLength(5);
    const r = cli(['report', out, '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('This run is unfinished (status: interrupted)');
  });
});
