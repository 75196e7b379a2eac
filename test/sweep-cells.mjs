// Test-only experiments for the sweep tests, served through the sweep's resolver option
// (`--experiments test/sweep-cells.mjs`), so they stay out of the registry. Plain JavaScript:
// the cell processes run the compiled sources in dist/.
//
// - 'teacher-student-cell': the real experiment; with SWEEP_TEST_HANG=<file> in the environment,
//   the first cell this process runs writes its run directory, then writes <file> (its temporary run directory) and
//   never returns: a worker caught mid-cell, to be killed.
// - 'flaky-cell': { x, seed, label } → figures { y: x², parity }; prints a line on stdout, appends
//   x.seed to SWEEP_TEST_LOG on every execution and fails when x is in SWEEP_TEST_FAIL (comma list).
// - 'affinity-cell': { x, crash } → figures { pid, cpus, threads, threadCount }: after one async
//   native call (so libuv's pool threads exist), the Cpus_allowed_list of the cell process's main
//   thread and the distinct lists of all its threads ('|'-joined); crash=1 SIGKILLs the process.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { teacherStudentCellExperiment } from '../dist/experiments/teacher-student-cell.js';

const hanging = {
  ...teacherStudentCellExperiment,
  async run(params, ctx) {
    const result = await teacherStudentCellExperiment.run(params, ctx);
    const marker = process.env.SWEEP_TEST_HANG;
    if (marker && !existsSync(marker)) {
      writeFileSync(marker, ctx.out);
      await new Promise(() => {});
    }
    return result;
  },
};

const flaky = {
  name: 'flaky-cell',
  description: 'test cell: y = x², fails on demand',
  params: [
    { key: 'x', kind: 'int', default: 0, min: 0, max: 1000, doc: 'input' },
    { key: 'seed', kind: 'int', default: 0, min: 0, max: 1000, doc: 'seed' },
    { key: 'label', kind: 'string', default: 'a', choices: ['a', 'b'], doc: 'a label' },
  ],
  async run(params, ctx) {
    // Chatter on stdout: the runner must keep it out of its own stdout (--json).
    console.log(`flaky-cell x=${params.x}`);
    if (process.env.SWEEP_TEST_LOG) appendFileSync(process.env.SWEEP_TEST_LOG, `${params.x}.${params.seed}\n`);
    const fail = (process.env.SWEEP_TEST_FAIL ?? '').split(',').filter(Boolean).map(Number);
    if (fail.includes(params.x)) throw new Error(`flaky-cell fails at x=${params.x} on purpose`);
    mkdirSync(ctx.out, { recursive: true });
    writeFileSync(join(ctx.out, 'y.txt'), String(params.x * params.x));
    return {
      dir: ctx.out,
      figures: { y: params.x * params.x, parity: params.x % 2 === 0 ? 'even' : 'odd' },
      summary: [],
    };
  },
};

/** Cpus_allowed_list of a /proc status file; null where there is none (off Linux, a thread gone). */
function allowedList(status) {
  try {
    return /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(status, 'utf8'))?.[1].trim() ?? null;
  } catch {
    return null;
  }
}

const affinity = {
  name: 'affinity-cell',
  description: 'test cell: the CPUs the cell process and its threads may run on',
  params: [
    { key: 'x', kind: 'int', default: 0, min: 0, max: 1000, doc: 'cell number' },
    { key: 'crash', kind: 'int', default: 0, min: 0, max: 1, doc: '1: the process kills itself' },
  ],
  async run(params, ctx) {
    if (params.crash === 1) process.kill(process.pid, 'SIGKILL');
    const { eigvalsh } = await import('../dist/linalg/index.js');
    await eigvalsh({ data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 });
    const tids = existsSync('/proc/self/task') ? readdirSync('/proc/self/task') : [];
    const lists = new Set();
    for (const tid of tids) {
      const list = allowedList(`/proc/self/task/${tid}/status`);
      if (list !== null) lists.add(list);
    }
    mkdirSync(ctx.out, { recursive: true });
    return {
      dir: ctx.out,
      figures: {
        pid: process.pid,
        cpus: allowedList('/proc/self/status'),
        threads: [...lists].sort().join('|'),
        threadCount: tids.length,
      },
      summary: [],
    };
  },
};

/** The resolver the sweep's cell processes call. */
export async function getExperiment(name) {
  if (name === 'teacher-student-cell') return hanging;
  if (name === 'flaky-cell') return flaky;
  if (name === 'affinity-cell') return affinity;
  throw new Error(
    `Expected one of the experiments 'teacher-student-cell', 'flaky-cell', 'affinity-cell' for experiment but received '${name}'`,
  );
}
