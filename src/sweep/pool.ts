/**
 * A pool of cell processes ({@link ./child.ts}): `size` children, one cell each at a time; a
 * cell waits for a free child. A child that dies mid-cell (killed, out of memory, a crash in
 * native code) fails that cell with {@link CellProcessError} and is replaced for the next one.
 *
 * On Linux a pool of 2 or more processes, no more than the CPUs this process may run on, pins
 * process i (all its threads) to the i-th allowed CPU, and a replacement to the same CPU
 * (affinity.ts says why; `pin: false` turns it off).
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, SpecdynError } from '../errors.js';
import { packageRoot } from '../native.js';
import { pinEnvironment, planPinning, type PinPlan } from './affinity.js';
import type { CellRecord } from './cells.js';
import type { RunMessage } from './child.js';
import type { Cell } from './spec.js';

/** A cell process ended while it ran a cell (the cell is not written; it may be run again). */
export class CellProcessError extends SpecdynError {}

/** The compiled child entry: beside this module, or in dist/ when this module runs from the TypeScript sources (tests). */
function childEntry(): string {
  const here = fileURLToPath(new URL('./child.js', import.meta.url));
  if (fs.existsSync(here)) return here;
  const built = path.join(packageRoot, 'dist', 'sweep', 'child.js');
  if (fs.existsSync(built)) return built;
  throw new SpecdynError(
    `Expected the compiled cell process at ${built} but it is missing: run npx tsc (or node scripts/bootstrap.mjs)`,
  );
}

/** What a pool reports while cells run. */
export interface PoolHooks {
  signal?: AbortSignal;
  onStart?: (pid: number) => void;
  progress?: (done: number, total: number, label?: string) => void;
  log?: (line: string) => void;
}

interface Task {
  id: number;
  message: RunMessage;
  hooks: PoolHooks;
  resolve: (r: { record: CellRecord; ran: boolean }) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  proc: ChildProcess;
  task?: Task;
}

/** Options of {@link CellPool}. */
export interface CellPoolOptions {
  /** Module resolving experiment names in the children (exports `getExperiment(name)`); default: the registry. */
  resolver?: string;
  /**
   * CPU pinning of the processes: undefined (default) pins when it helps and can be done (Linux,
   * taskset, 2 ≤ size ≤ allowed CPUs) and is silent otherwise; false never pins; true pins when
   * it can and tells `log` why not when it cannot.
   */
  pin?: boolean;
  /** Notes of the pool (the pinning decision, a child that could not pin itself). */
  log?: (line: string) => void;
}

/** The pool (see the module doc). */
export class CellPool {
  readonly size: number;
  /** The CPU of each process (index = process slot), or undefined when the pool does not pin. */
  readonly cpus: readonly number[] | undefined;
  private readonly plan: PinPlan;
  private readonly log: (line: string) => void;
  private pinFailureLogged = false;
  private readonly resolver: string | undefined;
  private readonly slots: (Slot | undefined)[];
  private readonly waiting: Task[] = [];
  private nextId = 0;
  private closed = false;

  /** @throws RangeError when size is not an integer ≥ 1; TypeError when pin is neither a boolean nor undefined. */
  constructor(size: number, options: CellPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`Expected an integer ≥ 1 for jobs but received ${size}`);
    if (options.pin !== undefined && typeof options.pin !== 'boolean')
      throw new TypeError(`Expected true, false or undefined for pin but received ${JSON.stringify(options.pin)}`);
    this.size = size;
    this.resolver =
      options.resolver && !options.resolver.startsWith('file:') ? path.resolve(options.resolver) : options.resolver;
    this.slots = new Array<Slot | undefined>(size).fill(undefined);
    this.log = options.log ?? (() => {});
    this.plan = planPinning(size, options.pin, pinEnvironment());
    this.cpus = this.plan.cpus;
    if (this.plan.cpus) this.log(`pinning cell processes to CPU ${this.plan.cpus.join(', ')}`);
    else if (options.pin === true) this.log(`cell processes not pinned: ${this.plan.reason}`);
  }

  /** Runs `cell` of `experiment` into `root` in a free child; resolves with the cell's record. */
  run(
    root: string,
    cell: Cell,
    experiment: string,
    hooks: PoolHooks = {},
  ): Promise<{ record: CellRecord; ran: boolean }> {
    if (this.closed) return Promise.reject(new SpecdynError('Expected an open cell pool but it was closed'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const message: RunMessage = {
        type: 'run',
        id,
        root: path.resolve(root),
        cell,
        experiment,
        ...(this.resolver ? { resolver: this.resolver } : {}),
      };
      this.waiting.push({ id, message, hooks, resolve, reject });
      this.dispatch();
    });
  }

  /** Kills every child (a running cell's temporary directory is left for the next run to clear). */
  close(): void {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.reject(new AbortError('the cell pool was closed'));
    for (const s of this.slots) s?.proc.kill('SIGKILL');
  }

  private spawn(i: number): Slot {
    // An experiment's stdout goes to our stderr: stdout may be the one JSON document of --json.
    const pin = this.plan.cpus ? ['--pin', String(this.plan.cpus[i]), this.plan.taskset] : [];
    const proc = fork(childEntry(), ['--specdyn-sweep-child', ...pin], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    proc.stdout?.pipe(process.stderr, { end: false });
    const slot: Slot = { proc };
    proc.on('message', (m: { type: string; id?: number; [k: string]: unknown }) => this.onMessage(slot, m));
    proc.on('exit', (code, signal) => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      const t = slot.task;
      slot.task = undefined;
      if (t)
        t.reject(
          new CellProcessError(
            `The cell process (pid ${proc.pid}) ended with ${signal ? `signal ${signal}` : `exit code ${code}`} while running cell ${t.message.cell.key}`,
          ),
        );
      if (!this.closed) this.dispatch();
    });
    proc.on('error', () => {
      // 'exit' follows and fails the task.
    });
    this.slots[i] = slot;
    return slot;
  }

  private onMessage(slot: Slot, m: { type: string; id?: number; [k: string]: unknown }): void {
    if (m.type === 'ready' && typeof m.pinError === 'string' && !this.pinFailureLogged) {
      this.pinFailureLogged = true;
      this.log(`cell process ${slot.proc.pid} could not pin itself, it runs unpinned: ${m.pinError}`);
    }
    const t = slot.task;
    if (!t || m.id !== t.id) return;
    if (m.type === 'started') t.hooks.onStart?.(slot.proc.pid ?? 0);
    else if (m.type === 'progress')
      t.hooks.progress?.(m.done as number, m.total as number, m.label as string | undefined);
    else if (m.type === 'log') t.hooks.log?.(m.line as string);
    else if (m.type === 'done' || m.type === 'failed') {
      slot.task = undefined;
      if (m.type === 'done') t.resolve({ record: m.record as CellRecord, ran: m.ran as boolean });
      else {
        const e = m.error as { name: string; message: string; stack?: string };
        const err = e.name === 'AbortError' ? new AbortError(e.message) : new SpecdynError(e.message);
        if (e.stack) err.stack = e.stack;
        t.reject(err);
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let i = this.slots.findIndex((s) => s !== undefined && s.task === undefined);
      if (i < 0) i = this.slots.findIndex((s) => s === undefined);
      if (i < 0) return;
      const slot = this.slots[i] ?? this.spawn(i);
      const t = this.waiting.shift()!;
      if (t.hooks.signal?.aborted) {
        t.reject(new AbortError());
        continue;
      }
      slot.task = t;
      const signal = t.hooks.signal;
      if (signal) {
        const onAbort = () => slot.task === t && slot.proc.send({ type: 'abort', id: t.id });
        signal.addEventListener('abort', onAbort, { once: true });
        const { resolve, reject } = t;
        t.resolve = (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        t.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      slot.proc.send(t.message);
    }
  }
}
