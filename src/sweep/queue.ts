/**
 * The queue runner on BullMQ (Redis): {@link enqueueSweep} adds one job per missing cell,
 * {@link runWorker} takes jobs and runs each cell in a cell process, {@link queueStatus} counts
 * and lists them. Delivery is at-least-once and cell writes are idempotent (cells.ts), so a job
 * that runs twice costs time, never correctness.
 *
 * Failure handling, and the settings that tune it (docs/scale-out.md):
 * - a cell that throws is retried `attempts` times in all, with exponential backoff from
 *   `backoffMs`; after the last attempt it is failed (visible in `sweep status`) and a failure
 *   record is written under the sweep root;
 * - a worker that dies mid-cell (SIGKILL, a lost node) stops renewing its job's lock; the lock
 *   expires after `lockDurationMs`, and the next stalled-job check of any live worker (every
 *   `stalledIntervalMs`) moves the job back to waiting, where a live worker takes it: recovery
 *   within about lockDuration + stalledInterval (7 s at the defaults). A job stalled more than
 *   `maxStalledCount` times is failed. The cell runs in a child process, so the worker's event
 *   loop is always free to renew locks, which is what lets the lock be this short.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { SpecdynError, expected } from '../errors.js';
import { requirePeers } from '../peers.js';
import { readCell, removeStaleTemps, writeFailure, writeManifest } from './cells.js';
import { CellPool, type CellPoolOptions } from './pool.js';
import type { Cell, ExpandedSweep } from './spec.js';

/** Default queue name. */
export const DEFAULT_QUEUE = 'specdyn-sweep';

/** The queue's failure-handling settings (see the module doc); all in milliseconds except counts. */
export interface QueueSettings {
  /** How long a job's lock lives without renewal (renewed every half of it). Default 5000. */
  lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired. Default 2000. */
  stalledIntervalMs: number;
  /** How many stalls a job survives before it is failed. Default 2. */
  maxStalledCount: number;
  /** Attempts of a cell that throws (1 = no retry). Default 3. */
  attempts: number;
  /** First retry delay; doubles per attempt. Default 1000. */
  backoffMs: number;
}

/** The defaults of {@link QueueSettings}. */
export const QUEUE_DEFAULTS: Readonly<QueueSettings> = {
  lockDurationMs: 5000,
  stalledIntervalMs: 2000,
  maxStalledCount: 2,
  attempts: 3,
  backoffMs: 1000,
};

/** A job's data: where to write, which experiment and which cell. */
export interface CellJobData {
  root: string;
  experiment: string;
  cell: Cell;
}

type Bull = typeof import('bullmq');

/** The bullmq and ioredis ranges specdyn supports (optional peers: only the queue commands need them). */
export const QUEUE_RANGES = { bullmq: '^6.7.0', ioredis: '^6.0.0' } as const;
/** The command that installs them. */
export const QUEUE_INSTALL = `npm install bullmq@${QUEUE_RANGES.bullmq} ioredis@${QUEUE_RANGES.ioredis}`;

/** Checks that the queue's peers are installed. @throws SpecdynError naming them and the install command. */
function requireQueuePeers(): void {
  requirePeers(['bullmq', 'ioredis'], { entry: "specdyn's sweep queue", install: QUEUE_INSTALL });
}

/**
 * Checks a Redis URL and connects once with no retry, so that an unreachable server fails at
 * once with one clear message instead of retrying forever.
 * @throws SpecdynError naming the URL and the cause (refused, unknown host, timeout, auth).
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url))
    throw new SpecdynError(expected('a redis:// or rediss:// URL (e.g. redis://localhost:6379)', '--redis', url));
  requireQueuePeers();
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, ...) arrives as an event; connect() then
  // rejects with a generic "Connection is closed".
  let cause: unknown;
  client.on('error', (err) => {
    cause ??= err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const e = (cause ?? err) as NodeJS.ErrnoException;
    const why =
      e.code === 'ECONNREFUSED'
        ? 'connection refused (is redis-server running there?)'
        : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
          ? 'unknown host'
          : e.code === 'ETIMEDOUT' || /timeout/i.test(e.message)
            ? `no answer within ${timeoutMs} ms`
            : e.message;
    throw new SpecdynError(`Cannot reach Redis at ${url}: ${why}`, { cause: cause ?? err });
  } finally {
    client.disconnect();
  }
}

/** Connection options BullMQ hands to ioredis: reconnect with backoff (a restarted Redis is waited for), no per-command retry limit (BullMQ's requirement for workers). */
function connection(url: string) {
  return { url, maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(200 * times, 5000) };
}

/** The job id of a cell: one job per (root, cell), so enqueueing a sweep twice adds nothing. */
export function cellJobId(root: string, key: string): string {
  return `${createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 10)}.${key}`;
}

/** Options of {@link enqueueSweep}. */
export interface EnqueueOptions {
  redis: string;
  /** The sweep root as the workers see it (a shared file system). */
  root: string;
  queue?: string;
  settings?: Partial<QueueSettings>;
}

/** What {@link enqueueSweep} did. */
export interface EnqueueResult {
  queue: string;
  root: string;
  total: number;
  /** Cells already complete (not enqueued). */
  complete: number;
  /** Jobs added now. */
  added: number;
  /** Failed jobs of earlier enqueues, retried now. */
  retried: number;
  /** Jobs already waiting, delayed or active (left as they are). */
  pending: number;
}

/**
 * Writes the manifest into the root and enqueues every cell that is not complete. Idempotent:
 * cells already queued are left alone, failed ones are retried.
 * @throws SpecdynError when Redis is unreachable (before anything is written); SweepSpecError
 *   when the root holds another sweep.
 */
export async function enqueueSweep(sweep: ExpandedSweep, options: EnqueueOptions): Promise<EnqueueResult> {
  await checkRedis(options.redis);
  const root = path.resolve(options.root);
  const s = { ...QUEUE_DEFAULTS, ...options.settings };
  writeManifest(root, sweep);
  requireQueuePeers();
  const { Queue } = (await import('bullmq')) as Bull;
  const name = options.queue ?? DEFAULT_QUEUE;
  const queue = new Queue<CellJobData>(name, { connection: connection(options.redis) });
  const result: EnqueueResult = {
    queue: name,
    root,
    total: sweep.cells.length,
    complete: 0,
    added: 0,
    retried: 0,
    pending: 0,
  };
  try {
    const fresh: { name: string; data: CellJobData; opts: Record<string, unknown> }[] = [];
    for (const cell of sweep.cells) {
      if (readCell(root, cell.key)) {
        result.complete++;
        continue;
      }
      const jobId = cellJobId(root, cell.key);
      const job = await queue.getJob(jobId);
      if (job) {
        const state = await job.getState();
        if (state === 'failed') {
          await job.retry('failed');
          result.retried++;
          continue;
        }
        if (state === 'completed')
          await job.remove(); // the cell was deleted since: run it again
        else {
          result.pending++;
          continue;
        }
      }
      fresh.push({
        name: 'cell',
        data: { root, experiment: sweep.spec.experiment, cell },
        opts: {
          jobId,
          attempts: s.attempts,
          backoff: { type: 'exponential', delay: s.backoffMs },
          removeOnComplete: false,
          removeOnFail: false,
        },
      });
    }
    if (fresh.length > 0) await queue.addBulk(fresh);
    result.added = fresh.length;
  } finally {
    await queue.close();
  }
  return result;
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  redis: string;
  queue?: string;
  /** Cells at once (cell processes). Default 1. */
  jobs?: number;
  settings?: Partial<QueueSettings>;
  /** Resolver module for experiments outside the registry (load.ts). */
  resolver?: string;
  /** CPU pinning of the cell processes (see {@link CellPoolOptions.pin}; default automatic). */
  pin?: boolean;
  /** Notes of the worker (the pinning decision). */
  log?: (line: string) => void;
  /** Leave once the queue has nothing waiting, delayed or active. */
  untilEmpty?: boolean;
  /** Stops taking jobs; running cells finish first. */
  signal?: AbortSignal;
  onEvent?: (e: WorkerEvent) => void;
}

/** What a worker reports. */
export type WorkerEvent =
  | { type: 'ready'; queue: string; pid: number }
  | { type: 'start'; key: string; attempt: number; childPid: number }
  | { type: 'done'; key: string; seconds: number; ran: boolean }
  | { type: 'fail'; key: string; attempt: number; final: boolean; error: string }
  | { type: 'error'; error: string };

/** What a worker did before it stopped. */
export interface WorkerResult {
  completed: number;
  failed: number;
}

/**
 * Runs a worker until `signal` aborts (or the queue is empty, with `untilEmpty`).
 * @throws SpecdynError when Redis is unreachable at start.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerResult> {
  await checkRedis(options.redis);
  const s = { ...QUEUE_DEFAULTS, ...options.settings };
  const jobs = options.jobs ?? 1;
  const name = options.queue ?? DEFAULT_QUEUE;
  const emit = options.onEvent ?? (() => {});
  requireQueuePeers();
  const { Queue, Worker } = (await import('bullmq')) as Bull;
  const pool = new CellPool(jobs, { resolver: options.resolver, pin: options.pin, log: options.log });
  const result: WorkerResult = { completed: 0, failed: 0 };
  let running = 0;
  const roots = new Set<string>();
  const worker = new Worker<CellJobData>(
    name,
    async (job) => {
      const { root, experiment, cell } = job.data;
      if (!roots.has(root)) {
        // Temporary cells of this host's dead workers (a worker killed here before) go first.
        roots.add(root);
        removeStaleTemps(root);
      }
      const attempt = job.attemptsMade + 1;
      running++;
      try {
        const { record, ran } = await pool.run(root, cell, experiment, {
          onStart: (childPid) => emit({ type: 'start', key: cell.key, attempt, childPid }),
          progress: (done, total) => {
            // Progress is best effort: a lost lock or a Redis hiccup must not end the worker.
            job.updateProgress(total > 0 ? Math.round((100 * done) / total) : 0).catch(() => {});
          },
        });
        result.completed++;
        emit({ type: 'done', key: cell.key, seconds: record.seconds, ran });
        return { key: cell.key, seconds: record.seconds, host: os.hostname(), ran };
      } catch (err) {
        const final = attempt >= (job.opts.attempts ?? 1);
        const message = (err as Error).message;
        emit({ type: 'fail', key: cell.key, attempt, final, error: message });
        if (final) {
          result.failed++;
          writeFailure(root, cell, err, attempt);
        }
        throw err;
      } finally {
        running--;
      }
    },
    {
      connection: connection(options.redis),
      concurrency: jobs,
      lockDuration: s.lockDurationMs,
      stalledInterval: s.stalledIntervalMs,
      maxStalledCount: s.maxStalledCount,
    },
  );
  worker.on('error', (err) => emit({ type: 'error', error: err.message }));
  await worker.waitUntilReady();
  emit({ type: 'ready', queue: name, pid: process.pid });
  const queue = options.untilEmpty ? new Queue(name, { connection: connection(options.redis) }) : undefined;
  try {
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      options.signal?.addEventListener('abort', stop, { once: true });
      if (options.signal?.aborted) stop();
      if (queue) {
        const poll = async () => {
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
          if (running === 0 && Object.values(c).every((n) => n === 0)) stop();
          else setTimeout(() => void poll().catch(() => setTimeout(() => void poll(), 1000)), 500);
        };
        void poll();
      }
    });
  } finally {
    await worker.close();
    await queue?.close();
    pool.close();
  }
  return result;
}

/** One job as {@link queueStatus} lists it. */
export interface JobSummary {
  id: string;
  key: string;
  root: string;
  attempts: number;
  progress: number | null;
  error?: string;
}

/** What {@link queueStatus} reports. */
export interface QueueStatus {
  queue: string;
  counts: Record<string, number>;
  active: JobSummary[];
  failed: JobSummary[];
}

/**
 * Counts the queue's jobs by state and lists the active and failed ones (with their errors).
 * @throws SpecdynError when Redis is unreachable.
 */
export async function queueStatus(options: { redis: string; queue?: string; limit?: number }): Promise<QueueStatus> {
  await checkRedis(options.redis);
  requireQueuePeers();
  const { Queue } = (await import('bullmq')) as Bull;
  const name = options.queue ?? DEFAULT_QUEUE;
  const queue = new Queue<CellJobData>(name, { connection: connection(options.redis) });
  const limit = options.limit ?? 100;
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    const summary = (j: {
      id?: string;
      data: CellJobData;
      attemptsMade: number;
      progress: unknown;
      failedReason?: string;
    }): JobSummary => ({
      id: j.id ?? '',
      key: j.data.cell.key,
      root: j.data.root,
      attempts: j.attemptsMade,
      progress: typeof j.progress === 'number' ? j.progress : null,
      ...(j.failedReason ? { error: j.failedReason } : {}),
    });
    const active = (await queue.getJobs(['active'], 0, limit - 1, true)).filter(Boolean).map(summary);
    const failed = (await queue.getJobs(['failed'], 0, limit - 1, true)).filter(Boolean).map(summary);
    return { queue: name, counts, active, failed };
  } finally {
    await queue.close();
  }
}
