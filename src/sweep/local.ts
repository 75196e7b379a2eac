/**
 * The local runner: the cells of a sweep (or of one shard of it) on this machine, `jobs` cell
 * processes at a time. Complete cells are skipped, so a re-run (after a crash, a failed cell, a
 * pre-empted array task) does only what is missing. Failed cells get a failure record under the
 * root and the run goes on; the result lists them.
 */
import os from 'node:os';
import { AbortError } from '../errors.js';
import { readCell, removeStaleTemps, writeFailure, writeManifest } from './cells.js';
import { CellPool, type CellPoolOptions } from './pool.js';
import { shardCells, type Cell, type ExpandedSweep, type Shard } from './spec.js';

/** Options of {@link runSweep}. */
export interface RunSweepOptions {
  /** The sweep root (shared by every shard). */
  root: string;
  /** Cell processes at once (default: the CPU count). */
  jobs?: number;
  /** Run only this shard's cells. */
  shard?: Shard;
  /** Extra attempts of a failed cell (default 0). */
  retries?: number;
  /** Resolver module for experiments outside the registry (see load.ts). */
  resolver?: string;
  /** CPU pinning of the cell processes (see {@link CellPoolOptions.pin}; default automatic). */
  pin?: boolean;
  /** Notes of the runner (the pinning decision). */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Called as cells start, finish, fail or are skipped. */
  onEvent?: (e: SweepEvent) => void;
}

/** What {@link runSweep} reports as it goes. */
export type SweepEvent =
  | { type: 'skip'; cell: Cell }
  | { type: 'start'; cell: Cell; attempt: number; pid: number }
  | { type: 'done'; cell: Cell; seconds: number }
  | { type: 'fail'; cell: Cell; attempt: number; error: string; final: boolean };

/** What {@link runSweep} did. */
export interface RunSweepResult {
  root: string;
  /** Cells in the whole sweep. */
  total: number;
  /** Cells of this shard (all of them without a shard). */
  assigned: number;
  /** Keys of the cells found complete and not run. */
  skipped: string[];
  /** Keys of the cells run to completion now, in order of completion. */
  ran: string[];
  /** Cells that failed every attempt. */
  failed: { key: string; index: number; error: string }[];
  seconds: number;
}

/**
 * Runs a sweep's cells (or a shard's) locally; see the module doc.
 * @throws SweepSpecError when the root holds another sweep; AbortError when `signal` aborts
 *   (complete cells stay, the running ones are dropped).
 */
export async function runSweep(sweep: ExpandedSweep, options: RunSweepOptions): Promise<RunSweepResult> {
  const t0 = performance.now();
  const { root } = options;
  const jobs = options.jobs ?? Math.max(1, os.availableParallelism());
  const retries = options.retries ?? 0;
  writeManifest(root, sweep);
  removeStaleTemps(root);
  const mine = shardCells(sweep.cells, options.shard);
  const result: RunSweepResult = {
    root,
    total: sweep.cells.length,
    assigned: mine.length,
    skipped: [],
    ran: [],
    failed: [],
    seconds: 0,
  };
  const todo: Cell[] = [];
  for (const c of mine) {
    if (readCell(root, c.key)) {
      result.skipped.push(c.key);
      options.onEvent?.({ type: 'skip', cell: c });
    } else todo.push(c);
  }
  const pool = new CellPool(Math.max(1, Math.min(jobs, todo.length)), {
    resolver: options.resolver,
    pin: options.pin,
    log: options.log,
  });
  const emit = options.onEvent ?? (() => {});
  try {
    await Promise.all(
      todo.map(async (cell) => {
        for (let attempt = 1; ; attempt++) {
          try {
            const { record } = await pool.run(root, cell, sweep.spec.experiment, {
              signal: options.signal,
              onStart: (pid) => emit({ type: 'start', cell, attempt, pid }),
            });
            result.ran.push(cell.key);
            emit({ type: 'done', cell, seconds: record.seconds });
            return;
          } catch (err) {
            if (err instanceof AbortError || options.signal?.aborted) throw err;
            const final = attempt > retries;
            const message = (err as Error).message;
            emit({ type: 'fail', cell, attempt, error: message, final });
            if (final) {
              writeFailure(root, cell, err, attempt);
              result.failed.push({ key: cell.key, index: cell.index, error: message });
              return;
            }
          }
        }
      }),
    );
  } finally {
    pool.close();
  }
  result.failed.sort((a, b) => a.index - b.index);
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
