/**
 * A fixed pool of analysis worker threads (worker.ts), so that the TypeScript part of each
 * analysis (the Marchenko–Pastur and power-law fits, the bootstrap, the OMD band and ambient
 * fits) runs off the event loop that reads uploads and answers requests. Each worker loads the
 * native core and runs one analysis at a time; the native work still passes the process-wide
 * BLAS gate and libuv pool of its worker. A worker that dies is replaced; its job fails with 500.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Mat } from '../matrix.js';
import type { Analysis } from './analysis.js';
import type { AnalysisKind, ParsedQuery } from './decode.js';
import { HttpError } from './http-error.js';
import type { WorkerJob } from './worker.js';
import { checkInteger } from '../validate.js';
import { startWorker } from '../concurrency.js';

interface Pending {
  resolve: (a: Analysis) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending?: { id: number } & Pending;
}

/** The worker script: worker.js beside this module (from src/*.ts under a test runner: the built dist/ copy). */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/server/worker.js', import.meta.url);
}

/** A pool of `size` analysis workers (see the module doc). */
export class WorkerPool {
  /** Number of workers. */
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly idle: Slot[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;
  private closed = false;

  /** @throws RangeError when size is not an integer ≥ 1. */
  constructor(size: number) {
    this.size = checkInteger(size, 'workers', { min: 1 });
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  private spawn(): Slot {
    const slot: Slot = { worker: startWorker(workerUrl()) };
    slot.worker.on(
      'message',
      (m: { id: number; row?: Analysis['row']; arrays?: Analysis['arrays']; status?: number; message?: string }) => {
        const p = slot.pending;
        if (!p || p.id !== m.id) return;
        slot.pending = undefined;
        this.release(slot);
        if (m.status !== undefined) p.reject(new HttpError(m.status, m.message ?? 'analysis failed'));
        else p.resolve({ row: m.row!, arrays: m.arrays! });
      },
    );
    const fail = (err: Error) => {
      const p = slot.pending;
      slot.pending = undefined;
      p?.reject(new HttpError(500, `Internal error: the analysis worker failed (${err.message})`));
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const j = this.idle.indexOf(slot);
      if (j >= 0) this.idle.splice(j, 1);
      if (!this.closed) this.release(this.spawn());
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) fail(new Error(`exit code ${code}`));
    });
    slot.worker.unref();
    this.slots.push(slot);
    this.idle.push(slot);
    return slot;
  }

  private release(slot: Slot): void {
    if (!this.idle.includes(slot)) this.idle.push(slot);
    this.waiting.shift()?.();
  }

  /**
   * Runs one analysis in a free worker (waiting for one when all are busy). The matrix's buffer
   * is transferred when the data spans all of it (the decoded uploads do), else copied.
   */
  async run(kind: AnalysisKind, mat: Mat, options: ParsedQuery['options']): Promise<Analysis> {
    if (this.closed) throw new HttpError(503, 'The service is shutting down; retry on another instance');
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    const slot = this.idle.shift()!;
    const id = this.nextId++;
    const whole = mat.data.byteOffset === 0 && mat.data.byteLength === mat.data.buffer.byteLength;
    const data = whole ? mat.data : mat.data.slice();
    const job: WorkerJob = { id, kind, data, rows: mat.rows, cols: mat.cols, options };
    return new Promise<Analysis>((resolve, reject) => {
      slot.pending = { id, resolve, reject };
      slot.worker.postMessage(job, [data.buffer as ArrayBuffer]);
    });
  }

  /** Terminates the workers (after the running analyses: call it once the queue is empty). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
    this.idle.length = 0;
  }
}
