// Test-only experiments for the sweep tests, served through the sweep's resolver option
// (`--experiments test/sweep-cells.mjs`), so they stay out of the registry. Plain JavaScript:
// the cell processes run the compiled sources in dist/.
//
// - 'teacher-student-cell': the real experiment; with SWEEP_TEST_HANG=<file> in the environment,
//   the first cell this process runs writes its run directory, then writes <file> (its temporary run directory) and
//   never returns: a worker caught mid-cell, to be killed.
// - 'flaky-cell': { x, seed, label } → figures { y: x², parity }; prints a line on stdout, appends
//   x.seed to SWEEP_TEST_LOG on every execution and fails when x is in SWEEP_TEST_FAIL (comma list).
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
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

/** The resolver the sweep's cell processes call. */
export async function getExperiment(name) {
  if (name === 'teacher-student-cell') return hanging;
  if (name === 'flaky-cell') return flaky;
  throw new Error(
    `Expected one of the experiments 'teacher-student-cell', 'flaky-cell' for experiment but received '${name}'`,
  );
}
