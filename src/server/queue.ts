/**
 * Admission control of the analysis service: a bounded number of requests admitted at once
 * (`maxConcurrent` running analyses plus `queueLength` places for requests uploading or waiting),
 * and the FIFO of requests waiting for a running slot, each cancellable while it waits.
 *
 * A request takes its place when it arrives, before its body is read, so the memory held by
 * uploads and queued matrices is bounded by (maxConcurrent + queueLength) uploads; a request that
 * finds every place taken is refused at once (the caller answers 429 with Retry-After).
 */
import { AbortError } from '../errors.js';
import { checkInteger } from '../validate.js';

/** A snapshot of the admission state. */
export interface QueueState {
  /** Analyses running now (≤ maxConcurrent). */
  active: number;
  /** Requests whose body has been read, waiting for a running slot (≤ queueLength). */
  waiting: number;
  /** Admitted requests still reading their body. */
  uploading: number;
  /** Admitted requests in all (active + waiting + uploading). */
  admitted: number;
  maxConcurrent: number;
  queueLength: number;
}

interface Waiter {
  start: () => void;
  cancel: (err: Error) => void;
}

/** Bounded admission and a cancellable FIFO of running slots (see the module doc). */
export class AdmissionQueue {
  /** Analyses run at once, an integer ≥ 1. */
  readonly maxConcurrent: number;
  /** Places for admitted requests beyond the running ones, an integer ≥ 0. */
  readonly queueLength: number;
  private admittedCount = 0;
  private activeCount = 0;
  private readonly waiters: Waiter[] = [];

  /** @throws TypeError/RangeError when maxConcurrent is not an integer ≥ 1 or queueLength not an integer ≥ 0. */
  constructor(maxConcurrent: number, queueLength: number) {
    this.maxConcurrent = checkInteger(maxConcurrent, 'maxConcurrent', { min: 1 });
    this.queueLength = checkInteger(queueLength, 'queueLength', { min: 0 });
  }

  /** The current state (counts, limits). */
  state(): QueueState {
    const waiting = this.waiters.length;
    return {
      active: this.activeCount,
      waiting,
      uploading: this.admittedCount - this.activeCount - waiting,
      admitted: this.admittedCount,
      maxConcurrent: this.maxConcurrent,
      queueLength: this.queueLength,
    };
  }

  /**
   * Takes a place for a new request: true when one was free (the caller must {@link leave}
   * exactly once when the request is over, whatever its outcome), false when all are taken.
   */
  admit(): boolean {
    if (this.admittedCount >= this.maxConcurrent + this.queueLength) return false;
    this.admittedCount++;
    return true;
  }

  /** Gives back the place taken by {@link admit}. */
  leave(): void {
    if (this.admittedCount <= 0) throw new Error('internal: AdmissionQueue.leave without admit');
    this.admittedCount--;
  }

  /**
   * Runs `task` in a running slot of an admitted request, waiting (FIFO) while all slots are
   * busy. When `signal` aborts before the task starts, the request leaves the line and the
   * returned Promise rejects with an {@link AbortError} (the task never runs); once started, the
   * task runs to its end. The slot is freed when the task settles.
   */
  async run<R>(task: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) throw new AbortError('The analysis was cancelled before it started', { cause: signal.reason });
    if (this.activeCount < this.maxConcurrent) this.activeCount++;
    else await this.wait(signal); // the slot is handed over by the task that frees it
    try {
      return await task();
    } finally {
      const next = this.waiters.shift();
      if (next) next.start();
      else this.activeCount--;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.cancel(new AbortError('The analysis was cancelled before it started', { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancel: reject,
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
