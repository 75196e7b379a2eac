/**
 * The entry of a SpectralMonitor's analysis worker thread (snapshot-analysis.ts): an `init`
 * message builds the {@link SnapshotAnalyzer} and caps this thread's BLAS calls; each `analyse`
 * message is answered with `{ id, result }` (the figures, copied back) or `{ id, error }`.
 * Snapshots are analysed in arrival order, synchronously, one at a time.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { setThreadLimit } from '../linalg/index.js';
import { SnapshotAnalyzer, type WorkerReply, type WorkerRequest } from './snapshot-analysis.js';

/**
 * Lowers this thread's scheduling priority (Linux: setpriority on the thread id, which
 * /proc/thread-self names; a no-op elsewhere or when refused): when the analysis and training
 * want the same core, the training thread gets it.
 */
function lowerPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the analysis runs at the process's priority
  }
}

const port = parentPort;
if (port) {
  let analyzer: SnapshotAnalyzer | undefined;
  let initError: unknown;
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'init') {
      if (m.nice > 0) lowerPriority(m.nice);
      try {
        setThreadLimit(m.threadLimit);
        analyzer = new SnapshotAnalyzer(m.config);
      } catch (err) {
        initError = err; // answered at every analyse
      }
      return;
    }
    let reply: WorkerReply;
    try {
      if (!analyzer) throw initError;
      reply = { id: m.id, result: analyzer.analyseSync(m.step, m.reps, m.kernels) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: m.id, error: { name: e.name, message: e.message, stack: e.stack } };
    }
    port.postMessage(reply);
  });
}
