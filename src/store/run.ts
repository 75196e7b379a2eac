/**
 * The run directory: {@link createRun} opens a writer session (new run or restart), {@link openRun}
 * reads a run back, {@link repairRun} recovers a crashed run for other readers. Layout and
 * crash-safety argument: docs/formats.md.
 *
 * Commit protocol of a flush: (1) the snapshots' JSONL lines, each tagged with its session and
 * flush number, are appended to steps.jsonl; (2) one record batch (the flush's arrays, possibly
 * none) is appended to the session's shard; (3) run.json is replaced atomically with new counters.
 * The batch is the commit mark: flush f of session s is committed iff shard s holds at least
 * f + 1 complete batches. A crash before (2) completes leaves lines that readers drop as
 * uncommitted; a torn line or batch at the end of a file is dropped and reported.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SpecdynError, expected } from '../errors.js';
import { checkMat, type Mat } from '../matrix.js';
import { packageRoot } from '../native.js';
import { nativeInfo } from '../linalg/index.js';
import { checkNumber, checkObject, checkOneOf, checkOptionsObject } from '../validate.js';
import {
  expectedPath,
  fileSystemError,
  syncDir,
  writeAllAsync,
  writeFileAtomic,
  writeFileAtomicAsync,
} from './atomic.js';
import {
  loadArrow,
  readShardRecords,
  scanShard,
  sealShard,
  ShardWriter,
  type ArrayRecord,
  type ShardScan,
} from './arrow.js';
import { decodeLine, encodeLine, NONFINITE_KEY } from './jsonl.js';
import { acquireLock, LOCK_FILE, lockHeld, pidAlive, readLock, releaseLock, type LockInfo } from './lock.js';
import type {
  ArrayFilter,
  CloseOptions,
  ColumnMeta,
  CreateRunOptions,
  Family,
  Row,
  RowFilter,
  RunMeta,
  RunStatus,
  RunWriter,
  Scalar,
  SessionInfo,
  Snapshot,
  StepRow,
  StoredArray,
  StoredArrayValue,
} from './types.js';
import { StoredTrajectory } from './trajectory.js';

/** File name of a run's metadata inside its directory (docs/formats.md). */
export const RUN_FILE = 'run.json';
/** File name of a run's figure lines (JSON Lines) inside its directory (docs/formats.md). */
export const STEPS_FILE = 'steps.jsonl';

/** Shard file name of a session: spectra-000.arrow, spectra-001.arrow, … */
export function shardName(session: number): string {
  return `spectra-${String(session).padStart(3, '0')}.arrow`;
}
const SHARD_RE = /^spectra-(\d+)\.arrow$/;
/** Temp names of atomic.ts tempName: .<file>.<pid>.<n>.tmp */
const TEMP_RE = /^\..+\.(\d+)\.\d+\.tmp$/;

const RESERVED = new Set(['step', 'family', 'observable', 'session', 'flush', NONFINITE_KEY]);
const FAMILIES: readonly Family[] = ['omd', 'weights'];
const LINE_FAMILIES = new Set<string>([...FAMILIES, 'logs']);
const STATUSES = new Set<string>(['running', 'finished', 'failed', 'interrupted']);

function requireJson(): NodeJS.Require {
  return createRequire(path.join(packageRoot, 'package.json'));
}

function readVersion(pkg: string): string | null {
  try {
    const req = requireJson();
    let dir = path.dirname(req.resolve(pkg));
    for (let i = 0; i < 6; i++) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkg) return j.version ?? null;
      }
      dir = path.dirname(dir);
    }
  } catch {
    // not installed
  }
  return null;
}

function specdynVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function nativeFacts(): Record<string, unknown> {
  try {
    return { ...nativeInfo() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function readMeta(dir: string): RunMeta {
  const file = path.join(dir, RUN_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SpecdynError(
        expectedPath(`a specdyn run directory (with ${RUN_FILE})`, 'dir', dir) +
          (fs.existsSync(dir) ? ` (it has no ${RUN_FILE})` : ' (it does not exist)'),
      );
    }
    throw fileSystemError(e, `a readable ${RUN_FILE}`, 'dir', dir);
  }
  let meta: RunMeta;
  try {
    meta = JSON.parse(text) as RunMeta;
  } catch (e) {
    throw new SpecdynError(`Expected valid JSON in ${file} but it does not parse: ${(e as Error).message}`);
  }
  if (meta?.format !== 'specdyn-run')
    throw new SpecdynError(expected(`a specdyn run.json (format 'specdyn-run')`, file, meta?.format));
  if (meta.formatVersion !== 1) throw new SpecdynError(expected('run format version 1', file, meta.formatVersion));
  // The fields the store itself reads: a damaged run.json is named here, not met as a TypeError later.
  if (!STATUSES.has(meta.status as string))
    throw new SpecdynError(
      expected('a run status (running, finished, failed, interrupted)', `status of ${file}`, meta.status),
    );
  if (
    !Array.isArray(meta.sessions) ||
    !meta.sessions.every((x) => x !== null && typeof x === 'object' && Number.isInteger(x.id) && x.id >= 0)
  )
    throw new SpecdynError(expected('an array of sessions with integer ids', `sessions of ${file}`, meta.sessions));
  if (meta.meta === null || typeof meta.meta !== 'object' || Array.isArray(meta.meta))
    throw new SpecdynError(expected('an object', `meta of ${file}`, meta.meta));
  if (meta.columns === null || typeof meta.columns !== 'object' || Array.isArray(meta.columns))
    throw new SpecdynError(expected('an object', `columns of ${file}`, meta.columns));
  if (typeof meta.timings?.writeSeconds !== 'number' || typeof meta.timings.flushSeconds !== 'number')
    throw new SpecdynError(expected('timings { writeSeconds, flushSeconds }', `timings of ${file}`, meta.timings));
  return meta;
}

function jsonClone<T>(x: T, name: string): T {
  let s: string | undefined;
  try {
    s = JSON.stringify(x);
  } catch (e) {
    throw new TypeError(expected('a JSON-serialisable value', name, x) + `: ${(e as Error).message}`);
  }
  return s === undefined ? (null as T) : (JSON.parse(s) as T);
}

/** Effective status: a `running` run whose writer is not alive is `interrupted`. */
function effectiveStatus(dir: string, meta: RunMeta): RunStatus {
  if (meta.status !== 'running') return meta.status;
  const lock = readLock(dir);
  const last = meta.sessions[meta.sessions.length - 1];
  return lock && last && lock.session === last.id && lockHeld(lock) ? 'running' : 'interrupted';
}

interface Committed {
  /** Complete batches per session. */
  batches: Map<number, number>;
  scans: Map<number, { file: string; scan: ShardScan }>;
  problems: string[];
}

function scanShards(dir: string): Committed {
  const batches = new Map<number, number>();
  const scans = new Map<number, { file: string; scan: ShardScan }>();
  const problems: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const m = SHARD_RE.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const scan = scanShard(file);
    batches.set(Number(m[1]), scan.batches);
    scans.set(Number(m[1]), { file, scan });
    if (scan.tornBytes > 0)
      problems.push(
        `${name}: dropped a torn trailing Arrow message (${scan.tornBytes} bytes) after ${scan.batches} complete batches`,
      );
  }
  return { batches, scans, problems };
}

interface ParsedLines {
  records: Record<string, Scalar>[];
  /** Byte length of the committed, well-formed prefix (for a repair rewrite). */
  keep: string[];
  dropped: number;
  problems: string[];
}

function parseSteps(dir: string, batches: Map<number, number>): ParsedLines {
  const file = path.join(dir, STEPS_FILE);
  const problems: string[] = [];
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the file ends with a newline
  if (last.length > 0) problems.push(`${STEPS_FILE}: dropped a torn last line (${Buffer.byteLength(last)} bytes)`);
  const records: Record<string, Scalar>[] = [];
  const keep: string[] = [];
  let uncommitted = 0,
    corrupt = 0;
  for (const line of lines) {
    if (line.length === 0) continue;
    const rec = decodeLine(line);
    if (
      !rec ||
      typeof rec.session !== 'number' ||
      typeof rec.flush !== 'number' ||
      typeof rec.step !== 'number' ||
      !LINE_FAMILIES.has(rec.family as string) ||
      (rec.family === 'logs' ? rec.observable !== null : typeof rec.observable !== 'string')
    ) {
      corrupt++;
      continue;
    }
    if (rec.flush >= (batches.get(rec.session) ?? 0)) {
      uncommitted++;
      continue;
    }
    records.push(rec);
    keep.push(line);
  }
  if (corrupt > 0) problems.push(`${STEPS_FILE}: skipped ${corrupt} malformed line(s)`);
  if (uncommitted > 0)
    problems.push(`${STEPS_FILE}: dropped ${uncommitted} line(s) of flushes whose Arrow batch was never completed`);
  return { records, keep, dropped: uncommitted + corrupt + (last.length > 0 ? 1 : 0), problems };
}

/** Seals stream shards and drops uncommitted/torn lines; the caller holds the lock. */
/**
 * Removes the temp files of writers killed mid-replace (a dead pid; the caller holds the lock).
 * A live pid's are left alone: a contender for the lock writes its temp lock file before it
 * tries to link it.
 */
function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const t = TEMP_RE.exec(name);
    if (t && Number(t[1]) !== process.pid && !pidAlive(Number(t[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function recover(dir: string, meta: RunMeta): string[] {
  const problems: string[] = [];
  removeStaleTemps(dir);
  for (const name of fs.readdirSync(dir)) {
    const m = SHARD_RE.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const before = scanShard(file);
    if (before.format === 'stream') {
      sealShard(file);
      if (before.tornBytes > 0)
        problems.push(`${name}: dropped a torn trailing Arrow message (${before.tornBytes} bytes)`);
    }
  }
  const { batches } = scanShards(dir);
  const parsed = parseSteps(dir, batches);
  problems.push(...parsed.problems);
  if (parsed.dropped > 0) writeFileAtomic(path.join(dir, STEPS_FILE), parsed.keep.map((l) => l + '\n').join(''));
  let changed = false;
  for (const s of meta.sessions) {
    if (s.status === 'running') {
      s.status = 'interrupted';
      s.flushes = batches.get(s.id) ?? 0;
      changed = true;
    }
  }
  if (meta.status === 'running') {
    meta.status = 'interrupted';
    changed = true;
  }
  if (changed) {
    meta.updatedAt = new Date().toISOString();
    writeFileAtomic(path.join(dir, RUN_FILE), JSON.stringify(meta, null, 2) + '\n');
  }
  return problems;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface PendingSnapshot {
  step: number;
  lines: Record<string, Scalar>[];
  arrays: Omit<ArrayRecord, 'session' | 'flush'>[];
}

function toArrayRecord(
  v: unknown,
  name: string,
): { dtype: 'float64' | 'float32'; rows: number; cols: number | null; values: Float64Array } {
  if (v instanceof Float64Array || v instanceof Float32Array) {
    return {
      dtype: v instanceof Float32Array ? 'float32' : 'float64',
      rows: v.length,
      cols: null,
      values: Float64Array.from(v),
    };
  }
  if (v && typeof v === 'object' && 'data' in v) {
    checkMat(v, name);
    const m = v as Mat;
    return {
      dtype: m.data instanceof Float32Array ? 'float32' : 'float64',
      rows: m.rows,
      cols: m.cols,
      values: Float64Array.from(m.data.subarray(0, m.rows * m.cols)),
    };
  }
  throw new TypeError(expected('a Float64Array, Float32Array or Mat { data, rows, cols }', name, v));
}

function checkSnapshot(snapshot: unknown): PendingSnapshot {
  const s = checkObject(snapshot as Snapshot, 'snapshot');
  const step = checkNumber(s.step, 'snapshot.step');
  const lines: Record<string, Scalar>[] = [];
  const arrays: PendingSnapshot['arrays'] = [];
  if (s.logs !== undefined && s.logs !== null) {
    const logs = checkObject(s.logs, 'snapshot.logs');
    const line: Record<string, Scalar> = { step, family: 'logs', observable: null };
    for (const [k, v] of Object.entries(logs)) {
      if (RESERVED.has(k))
        throw new RangeError(expected('a log name other than a reserved key', `snapshot.logs key`, k));
      if (typeof v !== 'number') throw new TypeError(expected('a number', `snapshot.logs.${k}`, v));
      line[k] = v;
    }
    lines.push(line);
  }
  if (!Array.isArray(s.observables)) throw new TypeError(expected('an array', 'snapshot.observables', s.observables));
  const seen = new Set<string>();
  s.observables.forEach((o, i) => {
    const at = `snapshot.observables[${i}]`;
    checkObject(o, at);
    if (typeof o.observable !== 'string' || o.observable.length === 0)
      throw new TypeError(expected('a non-empty string', `${at}.observable`, o.observable));
    const family = checkOneOf(o.family, `${at}.family`, FAMILIES);
    const key = `${family}\u0000${o.observable}`;
    if (seen.has(key))
      throw new RangeError(
        expected(`one record per (family, observable)`, `${at}`, `a second '${o.observable}' (${family})`),
      );
    seen.add(key);
    const row = checkObject(o.row, `${at}.row`);
    const line: Record<string, Scalar> = { step, family, observable: o.observable };
    for (const [k, v] of Object.entries(row)) {
      if (RESERVED.has(k))
        throw new RangeError(
          expected('a column name other than step, family, observable, session, flush, _nonfinite', `${at}.row key`, k),
        );
      if (v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
        throw new TypeError(expected('a number, string, boolean or null', `${at}.row.${k}`, v));
      }
      line[k] = v;
    }
    lines.push(line);
    if (o.arrays !== undefined) {
      for (const [name, v] of Object.entries(checkObject(o.arrays, `${at}.arrays`))) {
        if (name.length === 0) throw new RangeError(expected('a non-empty array name', `${at}.arrays key`, name));
        arrays.push({ step, family, observable: o.observable, name, ...toArrayRecord(v, `${at}.arrays.${name}`) });
      }
    }
  });
  return { step, lines, arrays };
}

/** "steps 3–7" / "step 3" for messages about a batch of snapshots. */
function stepRange(batch: readonly PendingSnapshot[]): string {
  const first = batch[0]!.step,
    last = batch[batch.length - 1]!.step;
  return batch.length === 1 ? `step ${first}` : `steps ${first}–${last}`;
}

class Writer implements RunWriter {
  readonly dir: string;
  readonly session: number;
  private readonly meta: RunMeta;
  private readonly shard: ShardWriter;
  private readonly stepsFd: number;
  private readonly lock: LockInfo;
  private readonly durable: boolean;
  private readonly openedAt = performance.now();
  private readonly baseWriteSeconds: number;
  private queue: PendingSnapshot[] = [];
  private lastStep = -Infinity;
  private done = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private metaDirty = false;
  /** Set when a failed flush could not be undone: the writer refuses further writes. */
  private broken: SpecdynError | undefined;

  constructor(dir: string, meta: RunMeta, session: number, lock: LockInfo, durable: boolean) {
    this.dir = dir;
    this.meta = meta;
    this.session = session;
    this.lock = lock;
    this.durable = durable;
    this.baseWriteSeconds = meta.timings.writeSeconds;
    this.stepsFd = fs.openSync(path.join(dir, STEPS_FILE), 'a');
    try {
      this.shard = new ShardWriter(path.join(dir, shardName(session)));
    } catch (e) {
      fs.closeSync(this.stepsFd);
      throw e;
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  get committed(): number {
    return this.done;
  }

  private checkOpen(): void {
    if (this.broken) throw this.broken;
    if (this.closed) throw new SpecdynError(`Expected an open run writer for ${this.dir} but it is closed`);
  }

  append(snapshot: Snapshot): void {
    this.checkOpen();
    const p = checkSnapshot(snapshot);
    if (p.step <= this.lastStep)
      throw new RangeError(
        expected(`a step greater than the previous snapshot's (${this.lastStep})`, 'snapshot.step', p.step),
      );
    this.lastStep = p.step;
    this.queue.push(p);
  }

  setMeta(patch: Record<string, unknown>): void {
    this.checkOpen();
    Object.assign(this.meta.meta, jsonClone(checkObject(patch, 'patch'), 'patch'));
    this.metaDirty = true;
  }

  flush(): Promise<void> {
    const run = this.chain.then(() => this.flushNow());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * One flush, all or nothing: if any write fails (a full disk, a read-only remount, an I/O
   * error), steps.jsonl and the shard are cut back to their length before the flush, run.json
   * keeps its previous counters, the snapshots go back to the front of the queue (a later flush
   * or close retries them) and the error names the steps and the cause. Only when the cut-back
   * itself fails is the writer broken (further writes refused; the next session's recovery drops
   * the partial flush).
   */
  private async flushNow(): Promise<void> {
    if (this.broken) throw this.broken;
    if (this.queue.length === 0) {
      if (this.metaDirty) {
        try {
          await this.saveMeta();
        } catch (e) {
          this.metaDirty = true;
          throw fileSystemError(e, `a writable ${RUN_FILE}`, 'the run metadata', path.join(this.dir, RUN_FILE));
        }
      }
      return;
    }
    const t0 = performance.now();
    const batch = this.queue;
    this.queue = [];
    const s = this.meta.sessions[this.meta.sessions.length - 1]!;
    const before = {
      steps: fs.fstatSync(this.stepsFd).size,
      shard: this.shard.mark(),
      flushes: s.flushes,
      snapshots: s.snapshots,
      flushSeconds: this.meta.timings.flushSeconds,
      metaDirty: this.metaDirty,
    };
    const flush = this.shard.count;
    let stage = STEPS_FILE;
    try {
      const text = batch
        .flatMap((p) => p.lines.map((l) => encodeLine({ ...l, session: this.session, flush }) + '\n'))
        .join('');
      await writeAllAsync(this.stepsFd, Buffer.from(text, 'utf8'), this.durable);
      stage = shardName(this.session);
      await this.shard.append(
        batch.flatMap((p) => p.arrays.map((a) => ({ ...a, session: this.session, flush }))),
        this.durable,
      );
      s.flushes = this.shard.count;
      s.snapshots = this.done + batch.length;
      this.meta.timings.flushSeconds += (performance.now() - t0) / 1000;
      stage = RUN_FILE;
      await this.saveMeta();
    } catch (e) {
      this.queue = batch.concat(this.queue);
      s.flushes = before.flushes;
      s.snapshots = before.snapshots;
      this.meta.timings.flushSeconds = before.flushSeconds;
      this.metaDirty = before.metaDirty;
      const what = `${batch.length} snapshot(s) (${stepRange(batch)}) committed to ${this.dir}`;
      try {
        fs.ftruncateSync(this.stepsFd, before.steps);
        this.shard.restore(before.shard);
      } catch (undo) {
        this.broken = new SpecdynError(
          `Expected ${what} but writing ${stage} failed (${(e as Error).message}) and cutting the files back failed too ` +
            `(${(undo as Error).message}): this writer refuses further writes; whether these snapshots were committed is ` +
            `decided by the files (createRun or repairRun on the directory recovers it)`,
          { cause: e },
        );
        throw this.broken;
      }
      throw fileSystemError(
        e,
        `${what}, but writing ${stage} failed`,
        'the run directory',
        this.dir,
        `; nothing of this flush was committed and its snapshots stay pending: free the cause and flush() again, or close()`,
      );
    }
    this.done += batch.length;
  }

  private async saveMeta(): Promise<void> {
    this.metaDirty = false;
    this.meta.updatedAt = new Date().toISOString();
    this.meta.timings.writeSeconds = this.baseWriteSeconds + (performance.now() - this.openedAt) / 1000;
    await writeFileAtomicAsync(path.join(this.dir, RUN_FILE), JSON.stringify(this.meta, null, 2) + '\n', this.durable);
  }

  async close(options: CloseOptions = {}): Promise<void> {
    checkOptionsObject(options);
    const status = checkOneOf(options.status ?? 'finished', 'status', ['finished', 'failed', 'interrupted']);
    if (this.closed) return;
    this.closed = true;
    // Every step below runs whatever failed before it: the lock is always released, the shard
    // sealed if it can be, and the first failure is rethrown at the end.
    let failure: unknown;
    try {
      await this.flush();
    } catch (e) {
      failure = e;
    }
    try {
      fs.closeSync(this.stepsFd);
    } catch {
      // nothing left to lose on a descriptor being closed
    }
    try {
      this.shard.seal();
    } catch (e) {
      this.shard.abandon();
      // The shard stays an IPC stream with its complete batches: readers and the next session cope.
      failure ??= fileSystemError(e, 'a shard sealed as an Arrow IPC file', 'the run directory', this.dir);
    }
    try {
      const now = new Date().toISOString();
      const s = this.meta.sessions[this.meta.sessions.length - 1]!;
      const lost = this.queue.length;
      const final = lost > 0 ? 'failed' : status;
      s.status = final;
      s.endedAt = now;
      this.meta.status = final;
      this.meta.finishedAt = now;
      this.meta.error =
        lost > 0
          ? `${lost} snapshot(s) could not be committed: ${(failure as Error).message}`
          : options.error === undefined
            ? null
            : options.error instanceof Error
              ? options.error.message
              : String(options.error);
      await this.saveMeta();
    } catch (e) {
      failure ??= fileSystemError(e, `a writable ${RUN_FILE}`, 'the run metadata', path.join(this.dir, RUN_FILE));
    } finally {
      try {
        releaseLock(this.dir, this.lock);
      } catch (e) {
        failure ??= fileSystemError(e, 'a removable writer lock', 'the run directory', this.dir);
      }
    }
    if (failure !== undefined) throw failure;
  }
}

/**
 * Opens a writer session on run directory `dir`: a new run (the directory is created if needed;
 * an existing directory must be empty) or a restart of an existing run (run.json present: a new
 * session with its own shard; earlier crashed sessions are recovered first, see
 * {@link repairRun}). Only one live writer per directory: a second one, in this or another
 * process, is refused; a lock left by a dead process is taken over.
 *
 * @throws SpecdynError when another live writer holds the directory, when `dir` is a non-empty
 * directory that is not a run, or when a restart passes a config different from the run's.
 * TypeError for a non-JSON config/meta.
 */
export async function createRun(dir: string, options: CreateRunOptions = {}): Promise<RunWriter> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(expected('a directory path', 'dir', dir));
  checkOptionsObject(options);
  const config = options.config === undefined ? undefined : jsonClone(options.config, 'config');
  const extra = options.meta === undefined ? {} : jsonClone(checkObject(options.meta, 'meta'), 'meta');
  const seed = options.seed === undefined || options.seed === null ? null : checkNumber(options.seed, 'seed');
  await loadArrow();
  try {
    return await openSession(dir, options, config, extra, seed);
  } catch (e) {
    throw fileSystemError(e, 'a writable run directory', 'dir', dir);
  }
}

/** mkdir -p, but with the real cause: a recursive mkdir reports ENOENT on a read-only file system. */
function makeDir(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw e;
    fs.mkdirSync(dir, { recursive: true });
  }
}

/** What a new session on `dir` would be: a restart (run.json present) and its session number. */
function survey(dir: string): { exists: boolean; session: number } {
  // One listing for every question: run.json looked up apart from the listing could appear in
  // between (another writer finishing its first flush) and read as a stranger's file.
  const names = fs.readdirSync(dir);
  const exists = names.includes(RUN_FILE);
  if (!exists) {
    const others = names.filter((n) => n !== LOCK_FILE && !n.startsWith('.'));
    if (others.length > 0) {
      throw new SpecdynError(
        expectedPath(`an empty directory or a specdyn run directory (with ${RUN_FILE})`, 'dir', dir) +
          ` (it holds ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''})`,
      );
    }
  }
  const meta = exists ? readMeta(dir) : undefined;
  const shardIds = names
    .map((n) => SHARD_RE.exec(n))
    .filter((m) => m)
    .map((m) => Number(m![1]));
  return { exists, session: Math.max(-1, ...shardIds, ...(meta?.sessions.map((s) => s.id) ?? [])) + 1 };
}

async function openSession(
  dir: string,
  options: CreateRunOptions,
  config: unknown,
  extra: Record<string, unknown>,
  seed: number | null,
): Promise<RunWriter> {
  makeDir(dir);
  const runFile = path.join(dir, RUN_FILE);
  // The lock names the session, so the directory is surveyed before it is taken, and again
  // under it: a writer that finished in between (its run.json now present, or a newer shard)
  // makes this one start over as a restart instead of writing a second session 0 over it.
  let lock: LockInfo | undefined;
  let exists = false,
    session = 0;
  for (let attempt = 0; lock === undefined; attempt++) {
    const before = survey(dir);
    const held = acquireLock(dir, before.session);
    let after: { exists: boolean; session: number };
    try {
      after = survey(dir);
    } catch (e) {
      releaseLock(dir, held);
      throw e;
    }
    if (after.exists === before.exists && after.session === before.session) {
      lock = held;
      exists = after.exists;
      session = after.session;
    } else {
      releaseLock(dir, held);
      if (attempt >= 4)
        throw new SpecdynError(
          `Expected to open a writer session on run directory ${dir} but other writers kept changing it`,
        );
    }
  }
  let meta: RunMeta | undefined;
  try {
    if (!exists) removeStaleTemps(dir); // a writer killed before it wrote run.json
    if (exists) {
      meta = readMeta(dir);
      if (config !== undefined && meta.config !== undefined && meta.config !== null && !sameJson(config, meta.config)) {
        throw new SpecdynError(
          expected(
            `the run's own config (${JSON.stringify(meta.config).slice(0, 80)})`,
            'config',
            JSON.stringify(config).slice(0, 80),
          ) + `; a restarted run keeps its config`,
        );
      }
      recover(dir, meta);
    }
    const now = new Date().toISOString();
    const info: SessionInfo = {
      id: session,
      shard: shardName(session),
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: now,
      endedAt: null,
      status: 'running',
      flushes: 0,
      snapshots: 0,
    };
    if (!meta) {
      meta = {
        format: 'specdyn-run',
        formatVersion: 1,
        status: 'running',
        error: null,
        config: config ?? null,
        seed,
        meta: extra as Record<string, unknown>,
        versions: {
          specdyn: specdynVersion(),
          node: process.versions.node,
          tfjs: options.tfjsVersion ?? readVersion('@tensorflow/tfjs-core'),
          arrow: readVersion('apache-arrow') ?? 'unknown',
        },
        tfBackend: options.tfBackend ?? null,
        native: nativeFacts(),
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        timings: { writeSeconds: 0, flushSeconds: 0 },
        columns: {},
        sessions: [],
      };
    } else {
      meta.status = 'running';
      meta.error = null;
      meta.finishedAt = null;
      if (options.tfBackend !== undefined) meta.tfBackend = options.tfBackend;
      if (options.tfjsVersion !== undefined) meta.versions.tfjs = options.tfjsVersion;
      meta.native = nativeFacts();
      Object.assign(meta.meta, extra);
    }
    if (options.columns !== undefined) {
      for (const [fam, cols] of Object.entries(checkObject(options.columns, 'columns'))) {
        checkOneOf(fam, 'columns key', FAMILIES);
        meta.columns[fam as Family] = jsonClone(cols as ColumnMeta[], `columns.${fam}`);
      }
    }
    meta.sessions.push(info);
    writeFileAtomic(runFile, JSON.stringify(meta, null, 2) + '\n');
    syncDir(dir);
    return new Writer(dir, meta, session, lock, options.durable ?? true);
  } catch (e) {
    releaseLock(dir, lock);
    throw e;
  }
}

/**
 * Recovers a run whose writer died (takes the writer lock, so it refuses a live writer): seals
 * its stream shards as Arrow IPC files (dropping a torn trailing batch), removes torn and
 * uncommitted lines from steps.jsonl, marks run.json `interrupted`. Afterwards pandas/polars
 * read every shard as a Feather/IPC file. Returns what it dropped (empty when nothing).
 * @throws SpecdynError for a directory that is not a run, a live writer, or a directory it cannot
 * write (read-only, full: the message names the cause); RangeError for a shard that is corrupt
 * beyond a torn tail.
 */
export async function repairRun(dir: string): Promise<string[]> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(expected('a directory path', 'dir', dir));
  await loadArrow();
  try {
    const meta0 = readMeta(dir);
    const lock = acquireLock(dir, meta0.sessions.length > 0 ? meta0.sessions[meta0.sessions.length - 1]!.id : 0);
    try {
      return recover(dir, readMeta(dir));
    } finally {
      releaseLock(dir, lock);
    }
  } catch (e) {
    throw fileSystemError(e, 'a writable run directory', 'dir', dir);
  }
}

function matches(rec: { family: unknown; observable: unknown; step: unknown }, f: RowFilter | ArrayFilter): boolean {
  return (
    (f.family === undefined || rec.family === f.family) &&
    (f.observable === undefined || rec.observable === f.observable) &&
    (f.step === undefined || rec.step === f.step)
  );
}

/**
 * A run read back (read-only; a live writer may keep writing: what is read is what was
 * committed at open time). Rows of a later session supersede rows of an earlier one with the same
 * (family, observable, step) — a restart that repeats steps.
 */
export class Run {
  /** The run directory. */
  readonly dir: string;
  /** run.json as written. */
  readonly meta: RunMeta;
  /** Status accounting for a dead writer (see {@link RunStatus}). */
  readonly status: RunStatus;
  /** What the reader dropped: torn last lines/batches, uncommitted lines (human-readable). */
  readonly problems: readonly string[];
  private readonly lines: StepRow[];
  private readonly scans: Map<number, { file: string; scan: ShardScan }>;
  private arrayCache: StoredArray[] | undefined;

  /** @internal use {@link openRun}. */
  constructor(
    dir: string,
    meta: RunMeta,
    status: RunStatus,
    lines: StepRow[],
    scans: Map<number, { file: string; scan: ShardScan }>,
    problems: string[],
  ) {
    this.dir = dir;
    this.meta = meta;
    this.status = status;
    this.lines = lines;
    this.scans = scans;
    this.problems = problems;
  }

  /** True unless the run finished (status `finished`). */
  get unfinished(): boolean {
    return this.status !== 'finished';
  }

  /** Distinct steps of committed snapshots, ascending. */
  get steps(): number[] {
    return [...new Set(this.lines.map((l) => l.step))].sort((a, b) => a - b);
  }

  /** Names of the observables of a family (default every family except logs), in first-seen order. */
  observables(family?: Family): string[] {
    const out = new Set<string>();
    for (const l of this.lines)
      if (l.family !== 'logs' && (family === undefined || l.family === family)) out.add(l.observable!);
    return [...out];
  }

  /**
   * Committed figure lines matching `filter`, ordered by step (then write order), each the
   * appended row plus step, family, observable (null for logs) and session. NaN/±Infinity as written.
   */
  rows(filter: RowFilter = {}): StepRow[] {
    checkOptionsObject(filter, 'filter');
    return this.lines.filter((l) => matches(l, filter));
  }

  /** Committed arrays matching `filter` (decoded on first call), ordered by step. */
  arrays(filter: ArrayFilter = {}): StoredArray[] {
    checkOptionsObject(filter, 'filter');
    this.arrayCache ??= this.loadArrays();
    return this.arrayCache.filter((a) => matches(a, filter) && (filter.name === undefined || a.name === filter.name));
  }

  /** One array by step, observable and name (undefined when absent). */
  array(step: number, observable: string, name: string, family?: Family): StoredArrayValue | undefined {
    return this.arrays({ step, observable, name, family })[0]?.value;
  }

  /**
   * The OMD trajectory of one observable, rebuilt from its stored rows (and `cloud` arrays, when
   * stored, for msd()): its regimes() can be re-run with other thresholds.
   * @throws RangeError when the run has no OMD rows for `observable`, or they lack the columns
   * regimes() reads (see {@link StoredTrajectory}).
   */
  trajectory(observable: string): StoredTrajectory {
    const rows = this.rows({ family: 'omd', observable });
    if (rows.length === 0) {
      throw new RangeError(
        expected(
          `an OMD observable of this run (${this.observables('omd').join(', ') || 'none'})`,
          'observable',
          observable,
        ),
      );
    }
    const clouds = new Map<number, Mat<Float64Array>>();
    for (const a of this.arrays({ family: 'omd', observable, name: 'cloud' })) {
      if ('rows' in a.value)
        clouds.set(a.step, { data: Float64Array.from(a.value.data), rows: a.value.rows, cols: a.value.cols });
    }
    return new StoredTrajectory(observable, rows, clouds);
  }

  private loadArrays(): StoredArray[] {
    const all: StoredArray[] = [];
    for (const [, { file, scan }] of [...this.scans].sort((a, b) => a[0] - b[0])) {
      for (const batch of readShardRecords(scan, file)) {
        for (const r of batch) {
          const data = r.dtype === 'float32' ? Float32Array.from(r.values) : r.values;
          const value: StoredArrayValue = r.cols === null ? data : { data, rows: r.rows, cols: r.cols };
          all.push({
            step: r.step,
            family: r.family as Family,
            observable: r.observable,
            name: r.name,
            session: r.session,
            value,
          });
        }
      }
    }
    return supersede(
      all,
      (a) => `${a.family}\u0000${a.observable}\u0000${a.step}\u0000${a.name}`,
      (a) => a.session,
    );
  }
}

/** Keeps, per key, the records of the latest session; stable by step. */
function supersede<T extends { step: number }>(recs: T[], key: (r: T) => string, session: (r: T) => number): T[] {
  const latest = new Map<string, number>();
  for (const r of recs) {
    const k = key(r);
    latest.set(k, Math.max(latest.get(k) ?? -1, session(r)));
  }
  return recs.filter((r) => latest.get(key(r)) === session(r)).sort((a, b) => a.step - b.step);
}

/**
 * Reads run directory `dir`: run.json, the committed lines of steps.jsonl and the shards'
 * complete batches. A torn last JSONL line or Arrow batch (a crash mid-write) is skipped and
 * reported in `problems`; the run is then reported unfinished (`interrupted`).
 * @throws SpecdynError when `dir` is not a specdyn run directory (no or invalid run.json) or cannot
 * be read (the message names the cause); RangeError for a shard that is not Arrow IPC at all.
 * {@link Run.arrays} throws RangeError naming the shard when a batch does not decode.
 */
export async function openRun(dir: string): Promise<Run> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(expected('a directory path', 'dir', dir));
  await loadArrow();
  let meta: RunMeta, status: RunStatus, committed: Committed, parsed: ParsedLines;
  try {
    meta = readMeta(dir);
    status = effectiveStatus(dir, meta);
    committed = scanShards(dir);
    parsed = parseSteps(dir, committed.batches);
  } catch (e) {
    throw fileSystemError(e, 'a readable run directory', 'dir', dir);
  }
  const { scans, problems } = committed;
  const lines = parsed.records.map((r) => r as StepRow);
  for (const l of lines) delete (l as Record<string, Scalar>).flush;
  const rows = supersede(
    lines,
    (l) => `${l.family}\u0000${l.observable}\u0000${l.step}`,
    (l) => l.session,
  );
  return new Run(dir, meta, status, rows, scans, [...problems, ...parsed.problems]);
}

export type { Row };
