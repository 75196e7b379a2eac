/**
 * The cell process: a child of a sweep runner (local pool or queue worker) that runs one cell at
 * a time on request, so a CPU-bound or event-loop-blocking experiment never stalls its parent
 * (which keeps queue locks renewed and answers signals). BLAS runs single-threaded here: cells
 * run side by side, one per process, and every runner computes the same bits.
 *
 * Protocol (IPC messages): parent → child `{ type: 'run', id, root, cell, experiment, resolver }`
 * and `{ type: 'abort', id }`; child → parent `{ type: 'ready' }`, `{ type: 'started', id }`,
 * `{ type: 'progress', id, done, total, label }`, `{ type: 'log', id, line }`,
 * `{ type: 'done', id, record, ran }` and `{ type: 'failed', id, error: { name, message, stack } }`.
 * The child leaves when its parent goes (IPC disconnect).
 */
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

/** Starts serving run requests on the IPC channel (the child's entry point). @internal */
export async function serve(): Promise<void> {
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
  send({ type: 'ready' });
}

if (process.send && process.argv[2] === '--specdyn-sweep-child') await serve();
