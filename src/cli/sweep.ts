/**
 * `specdyn sweep run|enqueue|worker|status|collect`: one sweep file, run locally across the cores,
 * as array-job shards (Slurm, Kubernetes Indexed Jobs) or through a Redis queue, then merged.
 * Exit codes: 0 ok, 1 failed or missing cells (or Redis unreachable), 2 a bad sweep file or flag.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { type CliContext, EXIT_INTERRUPTED, examples } from './context.js';
import { UsageError } from './train-config.js';

const sweep = () => import('../sweep/index.js');

function intFlag(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isInteger(n) || n < min)
    throw new UsageError(`Expected an integer ≥ ${min} for ${name} but received '${v}'`);
  return n;
}

function redisUrl(opts: { redis?: string }): string {
  const url = opts.redis ?? process.env.SPECDYN_REDIS;
  if (!url) throw new UsageError('Expected a Redis URL for --redis (or SPECDYN_REDIS) but received none');
  return url;
}

interface QueueFlags {
  lockDuration?: string;
  stalledInterval?: string;
  maxStalled?: string;
  attempts?: string;
  backoff?: string;
}

function settingsOf(o: QueueFlags) {
  const s: Record<string, number> = {};
  const set = (key: string, v: number | undefined) => {
    if (v !== undefined) s[key] = v;
  };
  set('lockDurationMs', intFlag(o.lockDuration, '--lock-duration', 100));
  set('stalledIntervalMs', intFlag(o.stalledInterval, '--stalled-interval', 100));
  set('maxStalledCount', intFlag(o.maxStalled, '--max-stalled', 0));
  set('attempts', intFlag(o.attempts, '--attempts', 1));
  set('backoffMs', intFlag(o.backoff, '--backoff', 0));
  return s;
}

/** Registers the `sweep` command group. */
export function registerSweep(program: Command, context: CliContext): void {
  const { state, out } = context;
  const group = program
    .command('sweep')
    .description(
      'run one experiment over a grid of parameters: locally, as array-job shards or through a Redis queue; merge the cells',
    )
    .addHelpText(
      'after',
      examples([
        'specdyn sweep run sweep.json --out sweeps/pd',
        'specdyn sweep run sweep.json --out /shared/pd --shard 3/16',
        'specdyn sweep enqueue sweep.json --redis redis://queue:6379 --out /shared/pd',
        'specdyn sweep worker --redis redis://queue:6379 --jobs 4',
        'specdyn sweep status --redis redis://queue:6379',
        'specdyn sweep collect /shared/pd',
      ]) + '\nThe sweep file format and the cluster set-ups: docs/scale-out.md.\n',
    );

  group
    .command('run')
    .argument('<sweep.json>', 'the sweep description')
    .option('-o, --out <root>', 'the sweep root, shared by all shards (default sweeps/<file name>)')
    .option('-j, --jobs <n>', 'cell processes at once (default: the CPU count)')
    .option(
      '--shard <i/n>',
      'run only shard i of n (0-based); default: from SLURM_ARRAY_TASK_* or JOB_COMPLETION_INDEX',
    )
    .option('--shards <n>', 'the shard count of a Kubernetes Indexed Job (its completions), with JOB_COMPLETION_INDEX')
    .option('--retries <n>', 'extra attempts of a failing cell (default 0)')
    .option('--experiments <module>', 'module exporting getExperiment(name), for experiments outside the registry')
    .option('--no-pin', 'do not pin the cell processes to one CPU each (Linux; pinned when 2 ≤ jobs ≤ allowed CPUs)')
    .description('run the cells locally across the cores (or one shard of them); complete cells are skipped')
    .addHelpText(
      'after',
      examples([
        'specdyn sweep run sweep.json',
        'specdyn sweep run sweep.json --out /shared/pd --jobs 8',
        'specdyn sweep run sweep.json --out /shared/pd --shard 0/3',
        'SLURM_ARRAY_TASK_ID=5 ... specdyn sweep run sweep.json --out /shared/pd',
        'JOB_COMPLETION_INDEX=2 specdyn sweep run sweep.json --out /shared/pd --shards 8',
      ]),
    )
    .action(
      async (
        file: string,
        opts: {
          out?: string;
          jobs?: string;
          shard?: string;
          shards?: string;
          retries?: string;
          experiments?: string;
          pin?: boolean;
        },
        cmd: Command,
      ) => {
        const o = out(cmd);
        const s = await sweep();
        const jobs = intFlag(opts.jobs, '--jobs', 1);
        const retries = intFlag(opts.retries, '--retries', 0);
        const shards = intFlag(opts.shards, '--shards', 1);
        const shard = opts.shard !== undefined ? s.parseShard(opts.shard) : s.shardFromEnv(process.env, shards);
        const expanded = await s.prepareSweep(s.readSweepFile(file), { resolver: opts.experiments, source: file });
        const root = opts.out ?? path.join('sweeps', path.basename(file).replace(/\.json$/i, ''));
        const mine = s.shardCells(expanded.cells, shard).length;
        o.info(
          `sweep ${expanded.spec.experiment}: ${expanded.cells.length} cells${shard ? `, shard ${shard.index}/${shard.count}: ${mine} cells` : ''} into ${root}`,
        );
        const bar = o.progress('cells', mine);
        let finished = 0;
        const r = await s
          .runSweep(expanded, {
            root,
            shard,
            ...(jobs !== undefined ? { jobs } : {}),
            ...(retries !== undefined ? { retries } : {}),
            ...(opts.experiments ? { resolver: opts.experiments } : {}),
            ...(opts.pin === false ? { pin: false } : {}),
            log: (line) => o.info(line),
            signal: state.abort.signal,
            onEvent: (e) => {
              if (e.type === 'done' || e.type === 'skip' || (e.type === 'fail' && e.final))
                bar.update(++finished, e.cell.key);
              if (e.type === 'fail')
                o.warn(`cell ${e.cell.index} ${e.cell.key} failed (attempt ${e.attempt}): ${e.error}`);
            },
          })
          .catch((err: Error) => {
            if (err.name === 'AbortError') state.exit = EXIT_INTERRUPTED;
            throw err;
          });
        bar.done();
        o.result(r, () =>
          [
            `${r.ran.length} cells run, ${r.skipped.length} already complete, ${r.failed.length} failed (${r.seconds.toFixed(1)} s) in ${r.root}`,
            ...r.failed.map((f) => `failed: ${f.index} ${f.key}: ${f.error}`),
          ].join('\n'),
        );
        if (r.failed.length > 0) state.exit = 1;
      },
    );

  group
    .command('enqueue')
    .argument('<sweep.json>', 'the sweep description')
    .requiredOption('-o, --out <root>', 'the sweep root as the workers see it (a shared file system)')
    .option('--redis <url>', 'Redis URL (default $SPECDYN_REDIS)')
    .option('--queue <name>', 'queue name (default specdyn-sweep)')
    .option('--attempts <n>', 'attempts of a failing cell (default 3)')
    .option('--backoff <ms>', 'first retry delay, doubling (default 1000)')
    .option('--experiments <module>', 'module exporting getExperiment(name), for experiments outside the registry')
    .description('put every cell that is not complete on a BullMQ queue (idempotent; failed cells are retried)')
    .addHelpText(
      'after',
      examples(['specdyn sweep enqueue sweep.json --redis redis://localhost:6379 --out /shared/pd']),
    )
    .action(
      async (
        file: string,
        opts: QueueFlags & { out: string; redis?: string; queue?: string; experiments?: string },
        cmd: Command,
      ) => {
        const o = out(cmd);
        const s = await sweep();
        const expanded = await s.prepareSweep(s.readSweepFile(file), { resolver: opts.experiments, source: file });
        const r = await s.enqueueSweep(expanded, {
          redis: redisUrl(opts),
          root: opts.out,
          ...(opts.queue ? { queue: opts.queue } : {}),
          settings: settingsOf(opts),
        });
        o.result(
          r,
          () =>
            `queue ${r.queue}: ${r.added} cells added, ${r.retried} failed ones retried, ${r.pending} already queued, ${r.complete} of ${r.total} complete (root ${r.root})`,
        );
      },
    );

  group
    .command('worker')
    .option('--redis <url>', 'Redis URL (default $SPECDYN_REDIS)')
    .option('--queue <name>', 'queue name (default specdyn-sweep)')
    .option('-j, --jobs <n>', 'cells at once (cell processes; default 1)')
    .option('--lock-duration <ms>', 'lock of a running cell, renewed every half of it (default 5000)')
    .option('--stalled-interval <ms>', 'how often dead workers’ cells are looked for (default 2000)')
    .option('--max-stalled <n>', 'stalls a cell survives before it fails (default 2)')
    .option('--until-empty', 'leave once nothing is waiting, delayed or running')
    .option('--experiments <module>', 'module exporting getExperiment(name), for experiments outside the registry')
    .option('--no-pin', 'do not pin the cell processes to one CPU each (Linux; pinned when 2 ≤ jobs ≤ allowed CPUs)')
    .description('take cells from the queue and run them until Ctrl-C (or until the queue is empty)')
    .addHelpText(
      'after',
      examples([
        'specdyn sweep worker --redis redis://localhost:6379',
        'specdyn sweep worker --redis redis://queue:6379 --jobs 4 --until-empty',
      ]),
    )
    .action(
      async (
        opts: QueueFlags & {
          redis?: string;
          queue?: string;
          jobs?: string;
          untilEmpty?: boolean;
          experiments?: string;
          pin?: boolean;
        },
        cmd: Command,
      ) => {
        const o = out(cmd);
        const s = await sweep();
        const jobs = intFlag(opts.jobs, '--jobs', 1);
        const r = await s.runWorker({
          redis: redisUrl(opts),
          ...(opts.queue ? { queue: opts.queue } : {}),
          ...(jobs !== undefined ? { jobs } : {}),
          settings: settingsOf(opts),
          ...(opts.experiments ? { resolver: opts.experiments } : {}),
          untilEmpty: !!opts.untilEmpty,
          ...(opts.pin === false ? { pin: false } : {}),
          log: (line) => o.info(line),
          signal: state.abort.signal,
          onEvent: (e) => {
            if (e.type === 'ready') o.info(`worker ${e.pid} on queue ${e.queue}`);
            else if (e.type === 'start')
              o.info(`started cell ${e.key} (attempt ${e.attempt}, cell process ${e.childPid})`);
            else if (e.type === 'done')
              o.info(`done cell ${e.key} (${e.seconds.toFixed(2)} s${e.ran ? '' : ', already complete'})`);
            else if (e.type === 'fail')
              o.warn(`cell ${e.key} failed (attempt ${e.attempt}${e.final ? ', final' : ''}): ${e.error}`);
            else o.warn(`queue: ${e.error}`);
          },
        });
        o.result(r, () => `worker done: ${r.completed} cells completed, ${r.failed} failed`);
      },
    );

  group
    .command('status')
    .option('--redis <url>', 'Redis URL (default $SPECDYN_REDIS)')
    .option('--queue <name>', 'queue name (default specdyn-sweep)')
    .description('counts of the queue’s cells by state; the running and the failed ones with their errors')
    .addHelpText(
      'after',
      examples(['specdyn sweep status --redis redis://localhost:6379', 'specdyn sweep status --json']),
    )
    .action(async (opts: { redis?: string; queue?: string }, cmd: Command) => {
      const o = out(cmd);
      const s = await sweep();
      const r = await s.queueStatus({ redis: redisUrl(opts), ...(opts.queue ? { queue: opts.queue } : {}) });
      o.result(r, () =>
        [
          `queue ${r.queue}: ${Object.entries(r.counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}`,
          ...r.active.map(
            (j) => `running: ${j.key} (attempt ${j.attempts + 1}${j.progress !== null ? `, ${j.progress}%` : ''})`,
          ),
          ...r.failed.map((j) => `failed: ${j.key} after ${j.attempts} attempts: ${j.error ?? ''}`),
        ].join('\n'),
      );
    });

  group
    .command('collect')
    .argument('<root>', 'the sweep root')
    .option('-o, --out <dir>', 'where sweep.arrow, sweep.csv and report.html go (default: the root)')
    .option('--partial', 'write the table of the complete cells even if some are missing or failed (marked partial)')
    .option('--no-report', 'only the table (no vega needed)')
    .description('merge the cells into one table (Arrow and CSV) and one report; refuses a partial sweep')
    .addHelpText(
      'after',
      examples(['specdyn sweep collect sweeps/pd', 'specdyn sweep collect /shared/pd --partial --out pd-so-far']),
    )
    .action(async (root: string, opts: { out?: string; partial?: boolean; report?: boolean }, cmd: Command) => {
      const o = out(cmd);
      const s = await sweep();
      const r = await s.collectSweep(root, {
        ...(opts.out ? { out: opts.out } : {}),
        partial: !!opts.partial,
        report: opts.report !== false,
      });
      o.result(r, () =>
        [
          r.finished
            ? `complete: ${r.total} cells`
            : `PARTIAL: ${r.complete} of ${r.total} cells (${r.missing.length} missing, ${r.failed.length} failed)`,
          `table: ${r.arrow}, ${r.csv}`,
          ...(r.report ? [`report: ${r.report}`] : []),
          ...r.failed.map((c) => `failed: ${c.index} ${c.key}: ${c.error}`),
          ...r.missing.map((c) => `missing: ${c.index} ${c.key}`),
        ].join('\n'),
      );
      if (!r.finished) state.exit = 1;
    });
}
