/**
 * The entry of a SpectralMonitor's analysis worker thread (snapshot-analysis.ts): an `init`
 * message builds the {@link SnapshotAnalyzer} and caps this thread's BLAS calls; `open` opens
 * the run writer here (createRun); each `analyse` message is analysed synchronously, committed
 * to the run (appended and flushed) and answered with `{ id, result }` (the figures, copied
 * back) or `{ id, error }`; `closeRun` closes the run. Requests are handled one at a time, in
 * arrival order, so the snapshots reach the run in the order they were captured. A worker kept
 * for the next monitor (snapshot-analysis.ts) gets that monitor's `init` in turn, after every
 * request of the one before: a new analyzer, its trajectories empty, no run open.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { setThreadIdle, setThreadLimit } from '../linalg/index.js';
import {
  jobBuffers,
  postError,
  SnapshotAnalyzer,
  SnapshotRecorder,
  type AnalyzedSnapshot,
  type WorkerReply,
  type WorkerRequest,
} from './snapshot-analysis.js';

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
  let recorder: SnapshotRecorder | undefined;
  let initError: unknown;
  /**
   * The first analysis of this session that failed: the monitor posts snapshots ahead and stops
   * at a failure, so the ones posted after it are answered with its error, neither analysed nor
   * committed (the run holds what it would hold had they never been posted).
   */
  let failed: unknown;
  let chain: Promise<void> = Promise.resolve();

  /** The reply to one request, and the buffers it hands back (an analysed job's inputs, for the next capture). */
  const handle = async (m: Exclude<WorkerRequest, { type: 'init' }>): Promise<[WorkerReply, ArrayBuffer[]]> => {
    try {
      if (!recorder) throw initError;
      let result: AnalyzedSnapshot | null = null;
      let recycled: ArrayBuffer[] = [];
      if (m.type === 'open') await recorder.openRun(m.dir, m.options);
      else if (m.type === 'closeRun') await recorder.closeRun(m.end);
      else {
        if (failed !== undefined) throw failed;
        const r = await recorder.record(m.job, true);
        result = m.figures ? r : { ...r, omd: {}, weights: [] };
        // Nothing here keeps the job's buffers once it is analysed and committed.
        recycled = jobBuffers(m.job);
      }
      return [{ id: m.id, result, recycled }, recycled];
    } catch (err) {
      if (m.type === 'analyse') failed ??= err;
      return [{ id: m.id, error: postError(err) }, []];
    }
  };

  let prioritySet = false;
  const init = (m: Extract<WorkerRequest, { type: 'init' }>): void => {
    recorder = undefined;
    initError = undefined;
    failed = undefined;
    try {
      // Once per worker: a kept worker serves only monitors of the same priority.
      if (!prioritySet) {
        prioritySet = true;
        if (m.priority.nice > 0) lowerPriority(m.priority.nice);
        // The idle class (a no-op where unsupported: the nice value above then applies).
        if (m.priority.idle) setThreadIdle();
      }
      setThreadLimit(m.threadLimit);
      recorder = new SnapshotRecorder(new SnapshotAnalyzer(m.config));
    } catch (err) {
      initError = err; // answered at every request
    }
  };

  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'init') chain = chain.then(() => init(m));
    else
      chain = chain.then(async () => {
        const [reply, transfer] = await handle(m);
        port.postMessage(reply, transfer);
      });
  });
}
