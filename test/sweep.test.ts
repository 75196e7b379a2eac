// sweep/: sweep files expanded into keyed cells (and refused when bad), shards from --shard and
// scheduler environments, the teacher-student-cell against the closed forms, and the built CLI
// in child processes: a local run and the same sweep as 3 Slurm-array shards in 3 processes
// give the same merged table; a re-run after failures does only the missing cells; collect
// refuses a partial sweep; an unreachable Redis fails at once.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { cellKey, ParamError } from '../src/experiments/types.js';
import { getExperiment } from '../src/experiments/registry.js';
import { linearTeacherStudent } from '../src/models/index.js';
import { SpecdynError } from '../src/errors.js';
import {
  checkRedis,
  expandSweep,
  parseShard,
  parseSweepSpec,
  prepareSweep,
  shardCells,
  runCell,
  readCell,
  shardFromEnv,
  SweepSpecError,
} from '../src/sweep/index.js';
import type { Experiment } from '../src/experiments/types.js';
import { BIN, CELLS, cli, freePort } from './sweep-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'specdyn-sweep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  expect(existsSync(BIN), 'dist/cli/main.js is missing: run node scripts/bootstrap.mjs (or npx tsc)').toBe(true);
});

/** The small sweep every runner is compared on: 3 x 3 grid x 2 seeds = 18 cells. */
const SMALL_SWEEP = {
  experiment: 'teacher-student-cell',
  grid: { invSigmaW: [0.5, 1, 2], lr: [0.1, 0.6, 1.5] },
  seeds: [0, 1],
  params: { n: 30, m: 60, replicas: 4 },
};

function cliAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => res({ code, stderr }));
  });
}

function writeJson(name: string, doc: unknown): string {
  const file = join(root, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('sweep files', () => {
  it('expand into the Cartesian product in order (first axis outermost, seeds innermost), keyed by cellKey', async () => {
    const exp = await getExperiment('teacher-student-cell');
    const s = expandSweep(parseSweepSpec(SMALL_SWEEP), exp);
    expect(s.axes).toEqual(['invSigmaW', 'lr', 'seed']);
    expect(s.cells).toHaveLength(18);
    expect(s.cells.map((c) => [c.params.invSigmaW, c.params.lr, c.params.seed]).slice(0, 7)).toEqual([
      [0.5, 0.1, 0],
      [0.5, 0.1, 1],
      [0.5, 0.6, 0],
      [0.5, 0.6, 1],
      [0.5, 1.5, 0],
      [0.5, 1.5, 1],
      [1, 0.1, 0],
    ]);
    for (const c of s.cells) {
      expect(c.params).toEqual({
        invSigmaW: c.params.invSigmaW,
        lr: c.params.lr,
        t: 1,
        n: 30,
        m: 60,
        replicas: 4,
        seed: c.params.seed,
      });
      expect(c.key).toBe(cellKey('teacher-student-cell', c.params));
    }
    expect(s.cells.map((c) => c.index)).toEqual([...Array(18).keys()]);
    // Same file, same keys (the order of the shared params' keys does not matter).
    const again = expandSweep(parseSweepSpec({ ...SMALL_SWEEP, params: { replicas: 4, m: 60, n: 30 } }), exp);
    expect(again.cells.map((c) => c.key)).toEqual(s.cells.map((c) => c.key));
  });

  it('ranges: linspace and logspace axes', async () => {
    const exp = await getExperiment('teacher-student-cell');
    const s = expandSweep(
      parseSweepSpec({
        experiment: 'teacher-student-cell',
        grid: { lr: { linspace: [0.1, 0.5, 3] }, invSigmaW: { logspace: [-1, 1, 3] } },
      }),
      exp,
    );
    expect(s.cells.map((c) => c.params.lr)).toEqual([
      0.1, 0.1, 0.1, 0.30000000000000004, 0.30000000000000004, 0.30000000000000004, 0.5, 0.5, 0.5,
    ]);
    expect(s.cells.slice(0, 3).map((c) => c.params.invSigmaW)).toEqual([0.1, 1, 10]);
  });

  it.each([
    [
      { experiment: 'teacher-student-cell', grid: { lr: [] } },
      'Expected a non-empty axis for grid.lr but received Array(0)',
    ],
    [
      { experiment: 'teacher-student-cell', grid: { lr: [0.1, '0.5'] } },
      "Expected a number for grid.lr[1] but received '0.5'",
    ],
    [
      { experiment: 'teacher-student-cell', grid: { lr: [0.1, 0.1] } },
      'Expected distinct cells (no repeated axis value) for cell 1',
    ],
    [{ experiment: 'teacher-student-cell', grid: { lr: [0.1] }, seeds: [3, 3] }, 'the same parameters as cell 0'],
    [
      { experiment: 'teacher-student-cell', grid: { lr: [9] } },
      'Expected a finite number in [0, 4] for grid.lr[0] but received 9',
    ],
    [
      { experiment: 'teacher-student-cell', grid: { t: [1.5] } },
      'Expected an integer in [1, 1000] for grid.t[0] but received 1.5',
    ],
    [
      { experiment: 'teacher-student-cell', grid: { depth: [1] } },
      "of 'teacher-student-cell' (invSigmaW, lr, t, n, m, replicas, seed) for parameter but received 'depth'",
    ],
    [
      { experiment: 'teacher-student-cell', grid: { lr: [0.1] }, params: { lr: 0.2 } },
      'Expected a key that is not also a sweep axis for params.lr but received 0.2',
    ],
    [
      { experiment: 'teacher-student-cell', grid: {} },
      "Expected at least one axis (grid or seeds) for the sweep file field 'grid'",
    ],
    [
      { experiment: 'teacher-student-cell', grid: { lr: [0.1] }, extra: 1 },
      "for the sweep file field but received 'extra'",
    ],
    [{ experiment: 'no-such-experiment', grid: { lr: [0.1] } }, "for experiment but received 'no-such-experiment'"],
  ])('refuses %j with SweepSpecError (a ParamError)', async (doc, message) => {
    const err = await prepareSweep(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SweepSpecError);
    expect(err).toBeInstanceOf(ParamError);
    expect((err as Error).message).toContain(message);
  });

  it('a bad sweep file fails before any work: exit 2, one message, no root written', () => {
    const file = writeJson('bad.json', { ...SMALL_SWEEP, grid: { ...SMALL_SWEEP.grid, lr: [0.1, 'fast'] } });
    const out = join(root, 'never');
    const r = cli(['sweep', 'run', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("error: Expected a number for grid.lr[1] but received 'fast'");
    expect(existsSync(out)).toBe(false);
    const notJson = join(root, 'not.json');
    writeFileSync(notJson, '{ "experiment": ');
    const r2 = cli(['sweep', 'run', notJson, '--out', out]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`Expected JSON in ${notJson} but it does not parse`);
    expect(existsSync(out)).toBe(false);
    const good = writeJson('good.json', SMALL_SWEEP);
    const k8s = cli(['sweep', 'run', good, '--out', out], { JOB_COMPLETION_INDEX: '1' });
    expect(k8s.code).toBe(2);
    expect(k8s.stderr).toContain(
      "the number of shards (--shards n, the Job's completions) for a Kubernetes Indexed Job",
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('sweep --help', () => {
  it.each(['run', 'enqueue', 'worker', 'status', 'collect'])(
    'sweep %s --help shows usage and examples, exit 0',
    (cmd) => {
      const r = cli(['sweep', cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: specdyn sweep ${cmd}`);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n  \\$ specdyn sweep ${cmd}`));
    },
  );
});

describe('shards', () => {
  const cells = Array.from({ length: 10 }, (_, index) => ({ index, key: `k${index}`, params: {} }));

  it('--shard i/n: round-robin, disjoint, covering', () => {
    const parts = [0, 1, 2].map((i) => shardCells(cells, parseShard(`${i}/3`)).map((c) => c.index));
    expect(parts).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0'])
      expect(() => parseShard(bad)).toThrow(
        new SweepSpecError(`Expected i/n with 0 ≤ i < n (e.g. 0/4) for --shard but received '${bad}'`),
      );
  });

  it('Slurm arrays need not start at 0 nor step by 1; a list of ids is refused', () => {
    const env = (id: number, extra: Record<string, string> = {}) => ({
      SLURM_ARRAY_TASK_ID: String(id),
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '9',
      SLURM_ARRAY_TASK_STEP: '2',
      SLURM_ARRAY_TASK_COUNT: '5',
      ...extra,
    });
    expect([1, 3, 5, 7, 9].map((id) => shardFromEnv(env(id)))).toEqual(
      [0, 1, 2, 3, 4].map((index) => ({ index, count: 5 })),
    );
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '8' })).toEqual({
      index: 2,
      count: 4,
    });
    expect(() => shardFromEnv(env(4))).toThrow(
      'Expected a task id in 1..9 by 2 for SLURM_ARRAY_TASK_ID but received 4',
    );
    expect(() =>
      shardFromEnv(env(4, { SLURM_ARRAY_TASK_MAX: '10', SLURM_ARRAY_TASK_STEP: '1', SLURM_ARRAY_TASK_COUNT: '3' })),
    ).toThrow('for a list of ids pass --shard i/n for the Slurm array but received');
    expect(shardFromEnv({})).toBeUndefined();
  });

  it('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX with the count passed', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '2' }, 4)).toEqual({ index: 2, count: 4 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '2' })).toThrow(SweepSpecError);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '2' })).toThrow(
      "the number of shards (--shards n, the Job's completions)",
    );
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4' }, 4)).toThrow(
      'Expected an index below --shards 4 for JOB_COMPLETION_INDEX but received 4',
    );
  });
});

describe('teacher-student-cell', () => {
  it('reports the closed forms exactly and the measured phase where the theory is clear', async () => {
    const exp = await getExperiment('teacher-student-cell');
    const ac = new AbortController();
    const cases = [
      { invSigmaW: 2, lr: 0.6, phase: 'ferromagnetic' },
      { invSigmaW: 0.5, lr: 0.1, phase: 'disordered' },
      { invSigmaW: 2, lr: 1.5, phase: 'paramagnetic' },
    ];
    for (const c of cases) {
      const out = join(root, `ts-${c.invSigmaW}-${c.lr}`);
      const params = { invSigmaW: c.invSigmaW, lr: c.lr, t: 1, n: 60, m: 120, replicas: 6, seed: 3 };
      const r = await exp.run(params, { out, signal: ac.signal, progress: () => {}, log: () => {} });
      const p = { sigmaW: 1 / c.invSigmaW, ratio: 0.5, lr: c.lr, t: 1 };
      expect(r.figures.theory_q2).toBe(linearTeacherStudent.overlap(p));
      expect(r.figures.theory_lambda_max).toBe(linearTeacherStudent.lambdaMax(p));
      expect(r.figures.bulk_edge).toBe(linearTeacherStudent.bulkEdge(p));
      expect(r.figures.critical_step).toBe(linearTeacherStudent.criticalStep(p));
      expect(r.figures.theory_phase).toBe(c.phase);
      expect(r.figures.phase).toBe(c.phase);
      // Finite N: q² within 0.15 of the large-N closed form (N = 60; fluctuations ~ 1/√N).
      expect(Math.abs((r.figures.q2 as number) - linearTeacherStudent.overlap(p))).toBeLessThan(0.15);
      expect(readdirSync(out)).toContain('run.json');
    }
  });
});

describe('cell writes', () => {
  it('two writers of one cell: both succeed, one complete directory, no temporary left', async () => {
    const dir = join(root, 'twice');
    let runs = 0;
    const exp: Experiment = {
      name: 'slow-cell',
      description: 'test',
      params: [{ key: 'x', kind: 'int', default: 1, doc: 'x' }],
      async run(params, ctx) {
        runs++;
        mkdirSync(ctx.out, { recursive: true });
        writeFileSync(join(ctx.out, 'x.txt'), String(params.x));
        await new Promise((r) => setTimeout(r, 50));
        return { dir: ctx.out, figures: { y: 2 * (params.x as number) }, summary: [] };
      },
    };
    const cell = { index: 0, key: cellKey('slow-cell', { x: 3 }), params: { x: 3 } };
    const hooks = { signal: new AbortController().signal };
    const [a, b] = await Promise.all([runCell(dir, cell, exp, hooks), runCell(dir, cell, exp, hooks)]);
    expect(runs).toBe(2);
    expect(a.record.figures).toEqual({ y: 6 });
    expect(b.record.figures).toEqual({ y: 6 });
    expect(readCell(dir, cell.key)?.figures).toEqual({ y: 6 });
    expect(readdirSync(join(dir, '.sweep', 'tmp'))).toEqual([]);
    expect(readFileSync(join(dir, cell.key, 'x.txt'), 'utf8')).toBe('3');
    // Complete: not run again.
    expect((await runCell(dir, cell, exp, hooks)).ran).toBe(false);
    expect(runs).toBe(2);
  });

  it('a failing experiment leaves neither the cell nor its temporary directory', async () => {
    const dir = join(root, 'fails');
    const exp: Experiment = {
      name: 'bad-cell',
      description: 'test',
      params: [],
      async run(_params, ctx) {
        mkdirSync(ctx.out, { recursive: true });
        writeFileSync(join(ctx.out, 'half.txt'), 'half');
        throw new RangeError('Expected a good cell for bad-cell but received a bad one');
      },
    };
    const cell = { index: 0, key: cellKey('bad-cell', {}), params: {} };
    await expect(runCell(dir, cell, exp, { signal: new AbortController().signal })).rejects.toThrow(RangeError);
    expect(existsSync(join(dir, cell.key))).toBe(false);
    expect(readdirSync(join(dir, '.sweep', 'tmp'))).toEqual([]);
  });
});

/** Reads a collected table: the CSV text and the Arrow table's rows. */
function collected(dir: string) {
  const csv = readFileSync(join(dir, 'sweep.csv'), 'utf8');
  const rows = tableFromIPC(readFileSync(join(dir, 'sweep.arrow')))
    .toArray()
    .map((r) => r.toJSON());
  return { csv, rows };
}

describe('local runs and shards (built CLI)', () => {
  it('one local run and 3 Slurm-array shards in 3 processes give identical merged tables', async () => {
    const file = writeJson('small.json', SMALL_SWEEP);
    const local = join(root, 'local');
    const r = cli(['sweep', 'run', file, '--out', local, '--jobs', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ran).toHaveLength(18);
    expect(doc.failed).toEqual([]);
    const c1 = cli(['sweep', 'collect', local, '--json']);
    expect(c1.code, c1.stderr).toBe(0);
    expect(JSON.parse(c1.stdout)).toMatchObject({ finished: true, total: 18, complete: 18, missing: [], failed: [] });

    // --array=1-5:2 → task ids 1, 3, 5.
    const sharded = join(root, 'sharded');
    const slurm = (id: number) => ({
      SLURM_ARRAY_TASK_ID: String(id),
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '5',
      SLURM_ARRAY_TASK_STEP: '2',
      SLURM_ARRAY_TASK_COUNT: '3',
    });
    const runs = await Promise.all(
      [1, 3, 5].map((id) => cliAsync(['sweep', 'run', file, '--out', sharded, '--jobs', '1'], slurm(id))),
    );
    for (const x of runs) expect(x.code, x.stderr).toBe(0);
    expect(runs.map((x) => /shard (\d)\/3: (\d) cells/.exec(x.stderr)?.slice(1))).toEqual([
      ['0', '6'],
      ['1', '6'],
      ['2', '6'],
    ]);
    const c2 = cli(['sweep', 'collect', sharded, '--json']);
    expect(c2.code, c2.stderr).toBe(0);
    const a = collected(local),
      b = collected(sharded);
    expect(b.csv).toBe(a.csv);
    expect(b.rows).toEqual(a.rows);
    expect(a.rows).toHaveLength(18);
    expect(a.rows.map((x) => x.index)).toEqual([...Array(18).keys()]);
    // The report: one heatmap per varying figure, the phase among them.
    const html = readFileSync(join(local, 'report.html'), 'utf8');
    expect(html).toContain('data-figure="phase"');
    expect(html).toContain('data-figure="q2"');
    expect(html).toContain('complete: all 18 cells');
    // A shard re-run skips its complete cells.
    const again = cli(['sweep', 'run', file, '--out', sharded, '--shard', '1/3', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ran: [], assigned: 6 });
    expect(JSON.parse(again.stdout).skipped).toHaveLength(6);
  });

  it('a re-run after failures does only the missing cells; collect refuses the partial sweep and lists them', () => {
    const file = writeJson('flaky.json', { experiment: 'flaky-cell', grid: { x: [1, 2, 3, 4, 5] }, seeds: [0, 1] });
    const out = join(root, 'flaky');
    const log = join(root, 'flaky.log');
    const env = { SWEEP_TEST_LOG: log };
    const first = cli(['sweep', 'run', file, '--out', out, '--experiments', CELLS, '--jobs', '2', '--json'], {
      ...env,
      SWEEP_TEST_FAIL: '2,5',
    });
    expect(first.code).toBe(1);
    const d1 = JSON.parse(first.stdout);
    expect(d1.ran).toHaveLength(6);
    expect(d1.failed.map((f: { index: number }) => f.index)).toEqual([2, 3, 8, 9]);
    expect(d1.failed[0].error).toBe('flaky-cell fails at x=2 on purpose');
    // Failed cells left nothing behind but their failure record.
    for (const f of d1.failed) expect(existsSync(join(out, f.key))).toBe(false);
    expect(readdirSync(join(out, '.sweep', 'tmp'))).toEqual([]);

    const partial = cli(['sweep', 'collect', out, '--no-report']);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain(
      `Expected a complete sweep for ${out} but 6 of 10 cells are complete (0 missing, 4 failed)`,
    );
    expect(partial.stderr).toContain('flaky-cell fails at x=5 on purpose');
    expect(existsSync(join(out, 'sweep.csv'))).toBe(false);
    const marked = cli(['sweep', 'collect', out, '--partial', '--json']);
    expect(marked.code).toBe(1);
    expect(JSON.parse(marked.stdout)).toMatchObject({ finished: false, complete: 6, total: 10 });
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('PARTIAL: 6 of 10 cells complete');
    expect(readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n')).toHaveLength(7);

    writeFileSync(log, '');
    const second = cli(['sweep', 'run', file, '--out', out, '--experiments', CELLS, '--jobs', '2', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    const d2 = JSON.parse(second.stdout);
    expect(d2.skipped).toHaveLength(6);
    expect(d2.ran).toHaveLength(4);
    expect(readFileSync(log, 'utf8').trim().split('\n').sort()).toEqual(['2.0', '2.1', '5.0', '5.1']);
    const done = cli(['sweep', 'collect', out, '--json', '--no-report']);
    expect(done.code, done.stderr).toBe(0);
    const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('index,key,x,seed,label,y,parity');
    expect(csv.slice(1).map((l) => l.split(',')[5])).toEqual(['1', '1', '4', '4', '9', '9', '16', '16', '25', '25']);
  });

  it('collect lists missing cells (a shard not run) and a root holding another sweep is refused', () => {
    const file = writeJson('half.json', { experiment: 'flaky-cell', grid: { x: [1, 2, 3, 4] } });
    const out = join(root, 'half');
    expect(cli(['sweep', 'run', file, '--out', out, '--experiments', CELLS, '--shard', '0/2']).code).toBe(0);
    const c = cli(['sweep', 'collect', out, '--json', '--no-report']);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('2 of 4 cells are complete (2 missing, 0 failed)');
    const other = writeJson('other.json', { experiment: 'flaky-cell', grid: { x: [7] } });
    const r = cli(['sweep', 'run', other, '--out', out, '--experiments', CELLS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(it holds a sweep of 4 cells of 'flaky-cell'; use another --out)");
  });
});

describe('queue: unreachable Redis', () => {
  let closedPort = 0;
  beforeAll(async () => {
    // A port that was free a moment ago and has no listener now.
    closedPort = await freePort();
  });

  it('checkRedis rejects with SpecdynError naming the URL and the cause', async () => {
    const url = `redis://127.0.0.1:${closedPort}`;
    await expect(checkRedis(url)).rejects.toThrow(
      new SpecdynError(`Cannot reach Redis at ${url}: connection refused (is redis-server running there?)`),
    );
    await expect(checkRedis('localhost:6379')).rejects.toThrow(
      "Expected a redis:// or rediss:// URL (e.g. redis://localhost:6379) for --redis but received 'localhost:6379'",
    );
  });

  it.each([['status'], ['worker'], ['enqueue']])('sweep %s exits 1 with one message, nothing written', (cmd) => {
    const url = `redis://127.0.0.1:${closedPort}`;
    const out = join(root, `unreachable-${cmd}`);
    const args =
      cmd === 'enqueue'
        ? ['sweep', 'enqueue', writeJson('q.json', SMALL_SWEEP), '--redis', url, '--out', out]
        : ['sweep', cmd, '--redis', url];
    const r = cli(args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: Cannot reach Redis at ${url}: connection refused (is redis-server running there?)`,
    );
    expect(existsSync(out)).toBe(false);
  });
});
