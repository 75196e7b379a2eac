/**
 * The cell process: a child of a sweep runner (local pool or queue worker) that runs one cell at
 * a time on request, so a CPU-bound or event-loop-blocking experiment never stalls its parent
 * (which keeps queue locks renewed and answers signals). BLAS runs single-threaded here: cells
 * run side by side, one per process, and every runner computes the same bits.
 *
 * Started as `child.js --specdyn-sweep-child [--pin <cpu> <taskset>]`: with `--pin` the child
 * first pins all its threads to that CPU (affinity.ts), before any native code runs, so the
 * threads it starts later (libuv's pool, BLAS) inherit it.
 *
 * Protocol (IPC messages): parent → child `{ type: 'run', id, root, cell, experiment, resolver }`
 * and `{ type: 'abort', id }`; child → parent `{ type: 'ready', cpus, pinError? }` (its allowed
 * CPUs once set up; what failed when asked to pin), `{ type: 'started', id }`,
 * `{ type: 'progress', id, done, total, label }`, `{ type: 'log', id, line }`,
 * `{ type: 'done', id, record, ran }` and `{ type: 'failed', id, error: { name, message, stack } }`.
 * The child leaves when its parent goes (IPC disconnect).
 */
import { allowedCpus, pinProcess } from './affinity.js';
import { runCell } from './cells.js';
import { loadResolver } from './load.js';
import type { Cell } from './spec.js';

/** A request to run one cell. @internal */
export interface RunMessage {
  type: 'run';
  id: number;
  root: string;
  cell: Cell;
  experiment: string;
  /** Module that resolves experiment names (exports `getExperiment(name)`); default: the registry. */
  resolver?: string;
}

const send = (m: unknown) => process.send?.(m);
const aborts = new Map<number, AbortController>();

async function handle(m: RunMessage): Promise<void> {
  const ac = new AbortController();
  aborts.set(m.id, ac);
  try {
    const experiment = await (await loadResolver(m.resolver))(m.experiment);
    send({ type: 'started', id: m.id });
    const { record, ran } = await runCell(m.root, m.cell, experiment, {
      signal: ac.signal,
      progress: (done, total, label) => send({ type: 'progress', id: m.id, done, total, label }),
      log: (line) => send({ type: 'log', id: m.id, line }),
    });
    send({ type: 'done', id: m.id, record, ran });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ type: 'failed', id: m.id, error: { name: e.name, message: e.message, stack: e.stack } });
  } finally {
    aborts.delete(m.id);
  }
}

/** Where a child pins itself: `cpu`, through the `taskset` executable. @internal */
export interface PinRequest {
  cpu: number;
  taskset: string;
}

/** Pins this process as asked; what went wrong, if anything (the child then runs unpinned). */
function pinSelf(pin: PinRequest): string | undefined {
  const failed = pinProcess(process.pid, pin.cpu, pin.taskset);
  if (failed) return failed;
  const now = allowedCpus();
  if (now?.length !== 1 || now[0] !== pin.cpu)
    return `after ${pin.taskset} the allowed CPUs are ${now ? now.join(',') : 'unknown'}, not ${pin.cpu}`;
  return undefined;
}

/** Starts serving run requests on the IPC channel (the child's entry point). @internal */
export async function serve(pin?: PinRequest): Promise<void> {
  const pinError = pin ? pinSelf(pin) : undefined;
  try {
    const { setThreads } = await import('../linalg/index.js');
    setThreads(1);
  } catch {
    // No native core: experiments that need it fail with the loader's own message.
  }
  process.on('message', (m: RunMessage | { type: 'abort'; id: number }) => {
    if (m.type === 'run') void handle(m);
    else if (m.type === 'abort') aborts.get(m.id)?.abort();
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', cpus: allowedCpus() ?? null, ...(pinError ? { pinError } : {}) });
}

/** `--pin <cpu> <taskset>` from the child's arguments. */
function pinArgument(argv: string[]): PinRequest | undefined {
  const i = argv.indexOf('--pin');
  if (i < 0) return undefined;
  const cpu = Number(argv[i + 1]);
  const taskset = argv[i + 2];
  return Number.isInteger(cpu) && cpu >= 0 && taskset ? { cpu, taskset } : undefined;
}

if (process.send && process.argv[2] === '--specdyn-sweep-child') await serve(pinArgument(process.argv.slice(3)));
