/**
 * Admission control of the analysis service: a bounded number of requests admitted at once
 * (`maxConcurrent` running analyses plus `queueLength` places for requests uploading or waiting),
 * and the FIFO of requests waiting for a running slot, each cancellable while it waits.
 *
 * A request takes its place when it arrives, before its body is read, so the memory held by
 * uploads and queued matrices is bounded by (maxConcurrent + queueLength) uploads. A request that
 * finds every place taken waits for one in the hold line (FIFO, at most `holdLength` requests,
 * none of whose bodies has been read: each costs its headers), and a place freed goes to the
 * head of that line before anyone else; a request that finds the hold line full too is refused
 * at once (the caller answers 429 with Retry-After).
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
  /** Requests waiting for a place, bodies unread (≤ holdLength). */
  held: number;
  maxConcurrent: number;
  queueLength: number;
  holdLength: number;
}

interface Holder {
  admit: () => void;
  refuse: () => void;
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
  /** Requests that may wait for a place, an integer ≥ 0 (0: refuse as soon as every place is taken). */
  readonly holdLength: number;
  private admittedCount = 0;
  private activeCount = 0;
  private readonly waiters: Waiter[] = [];
  private readonly holders: Holder[] = [];

  /**
   * @throws TypeError/RangeError when maxConcurrent is not an integer ≥ 1, or queueLength or
   * holdLength not an integer ≥ 0.
   */
  constructor(maxConcurrent: number, queueLength: number, holdLength = 0) {
    this.maxConcurrent = checkInteger(maxConcurrent, 'maxConcurrent', { min: 1 });
    this.queueLength = checkInteger(queueLength, 'queueLength', { min: 0 });
    this.holdLength = checkInteger(holdLength, 'holdLength', { min: 0 });
  }

  /** The current state (counts, limits). */
  state(): QueueState {
    const waiting = this.waiters.length;
    return {
      active: this.activeCount,
      waiting,
      uploading: this.admittedCount - this.activeCount - waiting,
      admitted: this.admittedCount,
      held: this.holders.length,
      maxConcurrent: this.maxConcurrent,
      queueLength: this.queueLength,
      holdLength: this.holdLength,
    };
  }

  /**
   * Takes a place for a new request: true when one was free (the caller must {@link leave}
   * exactly once when the request is over, whatever its outcome), false when all are taken.
   * Never waits (see {@link enter}).
   */
  admit(): boolean {
    if (this.admittedCount >= this.maxConcurrent + this.queueLength || this.holders.length > 0) return false;
    this.admittedCount++;
    return true;
  }

  /**
   * Takes a place, waiting in the hold line while every place is taken: resolves true once the
   * request has its place (then {@link leave} exactly once, as after {@link admit}), false at
   * once when the hold line is full too, or later when {@link refuseHeld} empties it. When
   * `signal` aborts while the request waits it leaves the line (no place is taken) and the
   * Promise rejects with an {@link AbortError}.
   */
  enter(signal?: AbortSignal): Promise<boolean> {
    if (this.admit()) return Promise.resolve(true);
    if (this.holders.length >= this.holdLength) return Promise.resolve(false);
    const cancelled = () =>
      new AbortError('The request was cancelled while it waited for a place', { cause: signal?.reason });
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = () => {
        const i = this.holders.indexOf(holder);
        if (i >= 0) this.holders.splice(i, 1);
        reject(cancelled());
      };
      const settle = (admitted: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(admitted);
      };
      const holder: Holder = { admit: () => settle(true), refuse: () => settle(false) };
      this.holders.push(holder);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Refuses every request in the hold line (their {@link enter} resolves false), e.g. when the service closes. */
  refuseHeld(): void {
    for (const h of this.holders.splice(0)) h.refuse();
  }

  /** Gives back the place taken by {@link admit} or {@link enter}: to the head of the hold line if anyone waits. */
  leave(): void {
    if (this.admittedCount <= 0) throw new Error('internal: AdmissionQueue.leave without admit');
    const next = this.holders.shift();
    if (next) next.admit();
    else this.admittedCount--;
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
