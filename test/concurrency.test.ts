import { describe, expect, it } from 'vitest';
import { AbortError } from '../src/errors.js';
import { Limiter, defaultConcurrency, mapConcurrent } from '../src/concurrency.js';
import { nativeInfo } from '../src/linalg/index.js';

/** A promise with its resolve/reject exposed. */
function deferred<T = void>() {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('mapConcurrent', () => {
  it('returns results in input order with at most `concurrency` calls in flight', async () => {
    let active = 0,
      peak = 0;
    const started: number[] = [];
    // Item i finishes after (7 − i) ticks, so completion order is the reverse of input order.
    const out = await mapConcurrent(
      [0, 1, 2, 3, 4, 5, 6],
      async (x, i) => {
        started.push(i);
        active++;
        peak = Math.max(peak, active);
        for (let k = 0; k < 7 - x; k++) await tick();
        active--;
        return x * x;
      },
      { concurrency: 3 },
    );
    expect(out).toEqual([0, 1, 4, 9, 16, 25, 36]);
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('handles empty input, sync functions and concurrency above the item count', async () => {
    expect(await mapConcurrent([], async () => 1, { concurrency: 4 })).toEqual([]);
    expect(await mapConcurrent(['a', 'b'], (s, i) => s + i, { concurrency: 10 })).toEqual(['a0', 'b1']);
  });

  it('the first rejection stops new items, aborts the running ones and rejects once they settled', async () => {
    const boom = new Error('boom');
    const seen: number[] = [];
    let settledRunning = false;
    const p = mapConcurrent(
      [0, 1, 2, 3, 4],
      async (x, _i, signal) => {
        seen.push(x);
        if (x === 0) {
          // The long-running item: ends only when the signal aborts.
          await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
          expect(signal.reason).toBe(boom);
          await tick();
          settledRunning = true;
          throw new AbortError('inner aborted');
        }
        await tick();
        if (x === 1) throw boom;
        return x;
      },
      { concurrency: 2 },
    );
    await expect(p).rejects.toBe(boom);
    expect(seen).toEqual([0, 1]);
    expect(settledRunning).toBe(true);
  });

  it('a synchronous throw of fn is a failure like a rejection', async () => {
    await expect(
      mapConcurrent(
        [1, 2, 3],
        (x) => {
          if (x === 2) throw new RangeError('bad 2');
          return x;
        },
        { concurrency: 1 },
      ),
    ).rejects.toThrow(new RangeError('bad 2'));
  });

  it('an external abort rejects with AbortError (cause = reason) after the running calls settle', async () => {
    const ac = new AbortController();
    const gate = deferred();
    const seen: number[] = [];
    let innerAborted = false;
    const p = mapConcurrent(
      [0, 1, 2, 3],
      async (x, _i, signal) => {
        seen.push(x);
        signal.addEventListener('abort', () => (innerAborted = true), { once: true });
        await gate.promise;
        return x;
      },
      { concurrency: 2, signal: ac.signal },
    );
    await tick();
    ac.abort('user stop');
    gate.resolve();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).name).toBe('AbortError');
    expect((err as AbortError).code).toBe('ABORT_ERR');
    expect((err as AbortError).cause).toBe('user stop');
    expect(seen).toEqual([0, 1]);
    expect(innerAborted).toBe(true);
  });

  it('an already-aborted signal rejects without calling fn', async () => {
    let calls = 0;
    const err = await mapConcurrent([1, 2], async () => calls++, { signal: AbortSignal.abort('early') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toBe('early');
    expect(calls).toBe(0);
  });

  it('rejects bad arguments synchronously with the exact error class', () => {
    const f = async () => 0;
    expect(() => mapConcurrent('abc' as unknown as number[], f)).toThrow(
      new TypeError("Expected an array for items but received 'abc'"),
    );
    expect(() => mapConcurrent([1], 42 as unknown as typeof f)).toThrow(
      new TypeError('Expected a function for fn but received 42'),
    );
    expect(() => mapConcurrent([1], f, { concurrency: 0 })).toThrow(
      new RangeError("Expected an integer ≥ 1 for mapConcurrent option 'concurrency' but received 0"),
    );
    expect(() => mapConcurrent([1], f, { concurrency: 1.5 })).toThrow(RangeError);
    expect(() => mapConcurrent([1], f, { signal: 42 as unknown as AbortSignal })).toThrow(
      new TypeError("Expected an AbortSignal for mapConcurrent option 'signal' but received 42"),
    );
  });
});

describe('Limiter', () => {
  it('admits at most `concurrency` tasks and starts waiters in FIFO order', async () => {
    const lim = new Limiter(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      lim.run(async () => {
        order.push(i);
        await g.promise;
        return i;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(lim.active).toBe(2);
    expect(lim.waiting).toBe(2);
    gates[1]!.resolve();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    gates[0]!.reject(new Error('task 0 failed'));
    await expect(runs[0]).rejects.toThrow('task 0 failed');
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all(runs.slice(1))).toEqual([1, 2, 3]);
    expect(lim.active).toBe(0);
    expect(lim.waiting).toBe(0);
  });

  it('starts a task synchronously when a slot is free and frees the slot after a sync throw', async () => {
    const lim = new Limiter(1);
    let ran = false;
    const p = lim.run(() => {
      ran = true;
      throw new Error('sync');
    });
    expect(ran).toBe(true);
    await expect(p).rejects.toThrow('sync');
    expect(lim.active).toBe(0);
    expect(await lim.run(() => 7)).toBe(7);
  });

  it('rejects a bad bound', () => {
    expect(() => new Limiter(0)).toThrow(new RangeError('Expected an integer ≥ 1 for concurrency but received 0'));
    expect(() => new Limiter('2' as unknown as number)).toThrow(TypeError);
  });
});

describe('defaultConcurrency', () => {
  it('is the hardware thread count of the native core', () => {
    expect(defaultConcurrency()).toBe(Math.max(1, nativeInfo().hardwareThreads));
  });
});
