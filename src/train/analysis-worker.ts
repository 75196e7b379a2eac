/**
 * The entry of a SpectralMonitor's analysis worker thread (snapshot-analysis.ts): an `init`
 * message builds the {@link SnapshotAnalyzer} and caps this thread's BLAS calls; each `analyse`
 * message is answered with `{ id, result }` (the figures, copied back) or `{ id, error }`.
 * Snapshots are analysed in arrival order, synchronously, one at a time.
 */
import { parentPort } from 'node:worker_threads';
import { setThreadLimit } from '../linalg/index.js';
import { SnapshotAnalyzer, type WorkerReply, type WorkerRequest } from './snapshot-analysis.js';

const port = parentPort;
if (port) {
  let analyzer: SnapshotAnalyzer | undefined;
  let initError: unknown;
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'init') {
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
