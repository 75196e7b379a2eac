// sweep/ CPU pinning: the CPU-list parser and the pinning decision on every branch; the allowed
// CPUs against libuv's count and taskset's own report; cell processes that report their own
// Cpus_allowed_list (the affinity-cell of test/sweep-cells.mjs) under the local runner with
// pinning automatic and off, a crashed process replaced on the same CPU, the same numbers with
// and without pinning, `--no-pin`, and a runner confined to one CPU by taskset (a cpuset) that
// must not pin. The branches that depend on the machine assert the one that applies here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowedCpus,
  CellPool,
  CellProcessError,
  parseCpuList,
  planPinning,
  prepareSweep,
  readCell,
  runSweep,
  type ExpandedSweep,
} from '../src/sweep/index.js';
import { findTaskset } from '../src/sweep/affinity.js';
import { BIN, CELLS, cli } from './sweep-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'specdyn-sweep-pin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => {
  expect(existsSync(BIN), 'dist/cli/main.js is missing: run node scripts/bootstrap.mjs (or npx tsc)').toBe(true);
});

const allowed = allowedCpus();
const taskset = findTaskset();
/** Whether the automatic mode pins 2 cell processes on this machine. */
const pinsTwo = process.platform === 'linux' && !!allowed && allowed.length >= 2 && !!taskset;
const fullList = allowed ? formatList(allowed) : null;

/** The kernel's compact form of a CPU set, to compare with Cpus_allowed_list. */
function formatList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j === i ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

interface Report {
  pid: number;
  cpus: string | null;
  threads: string;
  threadCount: number;
}

const affinitySweep = (xs: number[]) =>
  prepareSweep({ experiment: 'affinity-cell', grid: { x: xs } }, { resolver: CELLS });

function reports(dir: string, sweep: ExpandedSweep): Report[] {
  return sweep.cells.map((c) => readCell(dir, c.key)!.figures as unknown as Report);
}

describe('CPU lists and the pinning decision', () => {
  it('parseCpuList reads the kernel format and refuses anything else', () => {
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5,1-2,2')).toEqual([1, 2, 5]);
    for (const bad of ['', ' ', '3-1', 'a', '1,', '1--2', '-1', 'ff']) expect(parseCpuList(bad), bad).toBeUndefined();
  });

  it('planPinning: off, non-Linux, one process, unknown set, more processes than CPUs, no taskset, and pinned', () => {
    const linux = { platform: 'linux' as const, allowed: [2, 5, 7], taskset: '/usr/bin/taskset' };
    expect(planPinning(2, false, linux)).toEqual({ reason: 'pinning is turned off' });
    expect(planPinning(2, true, { ...linux, platform: 'darwin' })).toEqual({
      reason: 'CPU pinning is supported on Linux only, not on darwin',
    });
    expect(planPinning(1, true, linux)).toEqual({ reason: 'one cell process is left to the scheduler' });
    expect(planPinning(2, undefined, { ...linux, allowed: undefined })).toEqual({
      reason: 'the allowed CPUs could not be read from /proc/self/status',
    });
    expect(planPinning(4, undefined, linux)).toEqual({
      reason: '4 cell processes but only 3 allowed CPUs (2,5,7)',
    });
    expect(planPinning(2, undefined, { ...linux, allowed: [3] })).toEqual({
      reason: '2 cell processes but only 1 allowed CPU (3)',
    });
    expect(planPinning(2, true, { ...linux, taskset: undefined })).toEqual({
      reason: 'no taskset executable on PATH (util-linux)',
    });
    // Process i gets the i-th allowed CPU (a cpuset need not start at 0 nor be contiguous).
    expect(planPinning(2, undefined, linux)).toEqual({ cpus: [2, 5], taskset: '/usr/bin/taskset' });
    expect(planPinning(3, true, linux)).toEqual({ cpus: [2, 5, 7], taskset: '/usr/bin/taskset' });
  });

  it('allowedCpus agrees with libuv (sched_getaffinity) and with taskset -p', () => {
    if (process.platform !== 'linux') {
      expect(allowed).toBeUndefined();
      return;
    }
    expect(allowed).toBeDefined();
    expect(allowed!.length).toBe(os.availableParallelism());
    if (taskset) {
      const r = spawnSync(taskset, ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // "pid 123's current affinity list: 0-3"
      expect(parseCpuList(r.stdout.split(':').pop()!)).toEqual(allowed);
    }
  });
});

describe('cell processes report their own CPUs', () => {
  it(`2 processes, automatic: ${pinsTwo ? 'each pinned (every thread) to its own allowed CPU' : 'not pinned on this machine'}; pin false: the full set`, async () => {
    const sweep = await affinitySweep([0, 1, 2, 3, 4, 5]);
    const notes: string[] = [];
    await runSweep(sweep, { root: join(root, 'auto'), jobs: 2, resolver: CELLS, log: (l) => notes.push(l) });
    const auto = reports(join(root, 'auto'), sweep);
    const byPid = new Map<number, string | null>();
    for (const r of auto) {
      // Every thread of a process (libuv's pool included, after an async native call) has the main thread's set.
      expect(r.threads).toBe(r.cpus);
      expect(r.threadCount).toBeGreaterThan(1);
      if (byPid.has(r.pid)) expect(r.cpus).toBe(byPid.get(r.pid));
      byPid.set(r.pid, r.cpus);
    }
    expect(byPid.size).toBe(2);
    if (pinsTwo) {
      expect([...byPid.values()].sort()).toEqual([String(allowed![0]), String(allowed![1])].sort());
      expect(notes).toEqual([`pinning cell processes to CPU ${allowed![0]}, ${allowed![1]}`]);
    } else {
      for (const cpus of byPid.values()) expect(cpus).toBe(fullList);
      expect(notes).toEqual([]);
    }

    const offNotes: string[] = [];
    await runSweep(sweep, {
      root: join(root, 'off'),
      jobs: 2,
      resolver: CELLS,
      pin: false,
      log: (l) => offNotes.push(l),
    });
    const off = reports(join(root, 'off'), sweep);
    expect(new Set(off.map((r) => r.pid)).size).toBe(2);
    for (const r of off) {
      expect(r.cpus).toBe(fullList);
      expect(r.threads).toBe(fullList);
    }
    expect(offNotes).toEqual([]);
  });

  it('a process that crashed is replaced on the same CPU', async () => {
    const sweep = await affinitySweep([0, 1, 2, 3, 4]);
    const crash = (
      await prepareSweep({ experiment: 'affinity-cell', grid: { x: [9] }, params: { crash: 1 } }, { resolver: CELLS })
    ).cells[0]!;
    const dir = join(root, 'crash');
    const pool = new CellPool(2, { resolver: CELLS });
    const fig = async (cell: (typeof sweep.cells)[number]) =>
      (await pool.run(dir, cell, 'affinity-cell')).record.figures as unknown as Report;
    try {
      expect(pool.cpus).toEqual(pinsTwo ? allowed!.slice(0, 2) : undefined);
      // Two at once: slot 0 takes the first, slot 1 the second.
      const [s0, s1] = await Promise.all([fig(sweep.cells[0]!), fig(sweep.cells[1]!)]);
      // The crash goes to slot 0 (the first free one), slot 1 keeps running.
      const [crashed, again1] = await Promise.allSettled([pool.run(dir, crash, 'affinity-cell'), fig(sweep.cells[2]!)]);
      expect(crashed.status).toBe('rejected');
      expect((crashed as PromiseRejectedResult).reason).toBeInstanceOf(CellProcessError);
      expect((again1 as PromiseFulfilledResult<Report>).value.pid).toBe(s1.pid);
      // Slot 1 is free and alive, so it takes the next cell; slot 0 is started anew for the one after.
      const [n1, n0] = await Promise.all([fig(sweep.cells[3]!), fig(sweep.cells[4]!)]);
      expect(n1.pid).toBe(s1.pid);
      expect(n0.pid).not.toBe(s0.pid);
      expect(n0.cpus).toBe(s0.cpus);
      expect(n0.threads).toBe(s0.cpus);
      expect(n0.cpus).toBe(pinsTwo ? String(allowed![0]) : fullList);
    } finally {
      pool.close();
    }
  });

  it('the same numbers with and without pinning (teacher-student cells)', async () => {
    const sweep = await prepareSweep({
      experiment: 'teacher-student-cell',
      grid: { invSigmaW: [0.5, 2], lr: [0.1, 1.5] },
      params: { n: 30, m: 60, replicas: 4 },
    });
    await runSweep(sweep, { root: join(root, 'ts-pin'), jobs: 2 });
    await runSweep(sweep, { root: join(root, 'ts-nopin'), jobs: 2, pin: false });
    for (const c of sweep.cells) {
      const a = readCell(join(root, 'ts-pin'), c.key)!;
      const b = readCell(join(root, 'ts-nopin'), c.key)!;
      expect(Object.keys(a.figures).length).toBeGreaterThan(3);
      expect(a.figures).toEqual(b.figures);
      expect(a.params).toEqual(b.params);
    }
  });
});

describe('bad input and a failing taskset', () => {
  it('pin must be a boolean: TypeError naming it', () => {
    expect(() => new CellPool(2, { pin: 'yes' as unknown as boolean })).toThrow(
      new TypeError('Expected true, false or undefined for pin but received "yes"'),
    );
  });

  it('pin true tells the log why it does not pin; automatic stays silent', () => {
    const notes: string[] = [];
    new CellPool(1, { pin: true, log: (l) => notes.push(l) }).close();
    new CellPool(1, { log: (l) => notes.push(l) }).close();
    new CellPool(2, { pin: false, log: (l) => notes.push(l) }).close();
    expect(notes).toEqual(['cell processes not pinned: one cell process is left to the scheduler']);
  });

  it(`a taskset that fails: ${pinsTwo ? 'the runner says so once and the cells run unpinned' : 'not tried on this machine (no pinning)'}`, async () => {
    // A taskset on PATH that refuses, as the real one does for a CPU outside the cpuset.
    const bin = join(root, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'taskset'),
      '#!/bin/sh\necho "taskset: failed to set pid 0\'s affinity: Invalid argument" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const sweep = await affinitySweep([0, 1, 2, 3]);
    const file = join(root, 'affinity-fake.json');
    writeFileSync(file, JSON.stringify({ experiment: 'affinity-cell', grid: { x: [0, 1, 2, 3] } }));
    const out = join(root, 'cli-fake');
    const r = cli(['sweep', 'run', file, '--out', out, '--jobs', '2', '--experiments', CELLS], {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    });
    expect(r.code, r.stderr).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => l.includes('could not pin itself'));
    if (pinsTwo) {
      expect(notes).toHaveLength(1);
      expect(notes[0]).toContain(`${join(bin, 'taskset')} exited with 1: taskset: failed to set pid 0's affinity`);
    } else expect(notes).toEqual([]);
    for (const rep of reports(out, sweep)) expect(rep.cpus).toBe(fullList);
  });
});

describe('the CLI', () => {
  it('sweep run --no-pin leaves the processes on the full set; sweep worker has --no-pin', async () => {
    const sweep = await affinitySweep([0, 1, 2, 3]);
    const file = join(root, 'affinity.json');
    writeFileSync(file, JSON.stringify({ experiment: 'affinity-cell', grid: { x: [0, 1, 2, 3] } }));
    const out = join(root, 'cli-nopin');
    const r = cli(['sweep', 'run', file, '--out', out, '--jobs', '2', '--no-pin', '--experiments', CELLS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('pinning cell processes');
    for (const rep of reports(out, sweep)) expect(rep.cpus).toBe(fullList);

    const auto = join(root, 'cli-auto');
    const a = cli(['sweep', 'run', file, '--out', auto, '--jobs', '2', '--experiments', CELLS]);
    expect(a.code, a.stderr).toBe(0);
    const pinnedLine = pinsTwo
      ? `pinning cell processes to CPU ${allowed![0]}, ${allowed![1]}`
      : 'pinning cell processes';
    if (pinsTwo) expect(a.stderr).toContain(pinnedLine);
    else expect(a.stderr).not.toContain(pinnedLine);
    expect(new Set(reports(auto, sweep).map((x) => x.cpus)).size).toBe(pinsTwo ? 2 : 1);

    for (const cmd of ['run', 'worker']) expect(cli(['sweep', cmd, '--help']).stdout).toContain('--no-pin');
  });

  it(`a runner confined to one CPU${taskset ? ' (taskset, like a one-CPU cpuset)' : ''} does not pin 2 processes`, async () => {
    const sweep = await affinitySweep([0, 1, 2, 3]);
    const file = join(root, 'affinity-one.json');
    writeFileSync(file, JSON.stringify({ experiment: 'affinity-cell', grid: { x: [0, 1, 2, 3] } }));
    const out = join(root, 'cli-one');
    const args = [BIN, 'sweep', 'run', file, '--out', out, '--jobs', '2', '--experiments', CELLS];
    const one = allowed ? String(allowed[allowed.length - 1]) : null;
    const r =
      taskset && one !== null
        ? spawnSync(taskset, ['-c', one, process.execPath, ...args], {
            encoding: 'utf8',
            env: { ...process.env, NO_COLOR: '1' },
          })
        : spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('pinning cell processes');
    const reps = reports(out, sweep);
    expect(new Set(reps.map((x) => x.pid)).size).toBe(2);
    // Both processes keep the runner's set: the one CPU under taskset, else the full one.
    for (const rep of reps) expect(rep.cpus).toBe(taskset ? one : fullList);
  });
});
