/**
 * The sweep root on disk, shared by every runner (local processes, array-job shards, queue
 * workers on other machines):
 *
 * ```
 * <root>/sweep.json              the manifest: the sweep description and its ordered cells
 * <root>/<cell key>/             one complete cell: the experiment's run directory + cell.json
 * <root>/.sweep/tmp/<key>.<host>.<pid>.<n>/   a cell being written (renamed into place when done)
 * <root>/.sweep/failed/<key>.json            the last failure of a cell that is not complete
 * ```
 *
 * A cell is written under a temporary name and renamed to its key when the experiment returned
 * and `cell.json` is on disk: a cell directory is complete or absent, never half. Two writers of
 * the same cell (a redelivered queue job, a worker thought dead) are harmless: the first rename
 * wins and the later one discards its copy, since the same parameters and seed give the same
 * numbers. Everything here is plain files on a shared file system (NFS, Lustre, a Kubernetes
 * volume): no locks, only rename(2) within one directory tree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpecdynError, expected } from '../errors.js';
import type { Experiment, ExperimentResult } from '../experiments/types.js';
import { syncDir, writeFileAtomic } from '../store/atomic.js';
import { pidAlive } from '../store/lock.js';
import type { Cell, ExpandedSweep, SweepSpec } from './spec.js';
import { SweepSpecError } from './spec.js';

/** File name of the manifest in a sweep root. */
export const MANIFEST_FILE = 'sweep.json';
/** File name of the cell record inside a complete cell directory. */
export const CELL_FILE = 'cell.json';
const WORK_DIR = '.sweep';

/** The manifest: what a root is a sweep of, and its cells in order. */
export interface SweepManifest {
  format: 'specdyn-sweep';
  formatVersion: 1;
  spec: SweepSpec;
  axes: string[];
  cells: Cell[];
}

/** What `cell.json` holds: the cell, the experiment's figures and summary, and where and how long it ran. */
export interface CellRecord {
  format: 'specdyn-sweep-cell';
  formatVersion: 1;
  experiment: string;
  index: number;
  key: string;
  params: Cell['params'];
  figures: ExperimentResult['figures'];
  summary: string[];
  /** The report the experiment wrote, relative to the cell directory. */
  report: string | null;
  seconds: number;
  host: string;
  pid: number;
  finishedAt: string;
}

/** What a failure record holds. */
export interface FailureRecord {
  key: string;
  index: number;
  error: string;
  attempts: number;
  host: string;
  pid: number;
  at: string;
}

/** The directory of a cell under a root. */
export function cellDir(root: string, key: string): string {
  return path.join(root, key);
}

function failedFile(root: string, key: string): string {
  return path.join(root, WORK_DIR, 'failed', `${key}.json`);
}

/** The manifest of an expanded sweep. */
export function manifestOf(sweep: ExpandedSweep): SweepManifest {
  return { format: 'specdyn-sweep', formatVersion: 1, spec: sweep.spec, axes: sweep.axes, cells: sweep.cells };
}

/**
 * Writes the manifest into `root` (created if needed), or checks that the one there describes
 * the same cells (shards and workers all write it; the content is the same).
 * @throws SweepSpecError when `root` holds the manifest of a different sweep.
 */
export function writeManifest(root: string, sweep: ExpandedSweep): SweepManifest {
  const manifest = manifestOf(sweep);
  fs.mkdirSync(root, { recursive: true });
  const existing = readManifestIfAny(root);
  if (existing) {
    const keys = (m: SweepManifest) => m.cells.map((c) => c.key).join('\n');
    if (keys(existing) !== keys(manifest))
      throw new SweepSpecError(
        expected(
          `a new directory or the root of this same sweep (${manifest.cells.length} cells of '${manifest.spec.experiment}')`,
          'the sweep root',
          root,
        ) + ` (it holds a sweep of ${existing.cells.length} cells of '${existing.spec.experiment}'; use another --out)`,
      );
    return existing;
  }
  writeFileAtomic(path.join(root, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function readManifestIfAny(root: string): SweepManifest | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const m = JSON.parse(text) as SweepManifest;
  if (m?.format !== 'specdyn-sweep' || m.formatVersion !== 1 || !Array.isArray(m.cells))
    throw new SpecdynError(
      expected(`a sweep manifest (format 'specdyn-sweep', version 1)`, path.join(root, MANIFEST_FILE), m?.format),
    );
  return m;
}

/**
 * Reads the manifest of a sweep root.
 * @throws SpecdynError naming the root when it has no manifest (not a sweep root).
 */
export function readManifest(root: string): SweepManifest {
  const m = readManifestIfAny(root);
  if (!m)
    throw new SpecdynError(
      `Expected a sweep root (with ${MANIFEST_FILE}) for root but received '${root}' (${fs.existsSync(root) ? `it has no ${MANIFEST_FILE}` : 'it does not exist'})`,
    );
  return m;
}

/** The record of a complete cell, or undefined when the cell is absent. */
export function readCell(root: string, key: string): CellRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(cellDir(root, key), CELL_FILE), 'utf8')) as CellRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The failure record of a cell, or undefined. */
export function readFailure(root: string, key: string): FailureRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(failedFile(root, key), 'utf8')) as FailureRecord;
  } catch {
    return undefined;
  }
}

/** Records the (last) failure of a cell; written atomically. */
export function writeFailure(root: string, cell: Cell, error: unknown, attempts: number): void {
  const file = failedFile(root, cell.key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const record: FailureRecord = {
    key: cell.key,
    index: cell.index,
    error: error instanceof Error ? error.message : String(error),
    attempts,
    host: os.hostname(),
    pid: process.pid,
    at: new Date().toISOString(),
  };
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n');
}

let tempCounter = 0;

/**
 * Removes temporary cell directories left by dead processes of this host (a killed worker); those
 * of live processes and of other hosts are left alone.
 */
export function removeStaleTemps(root: string): number {
  const dir = path.join(root, WORK_DIR, 'tmp');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const host = os.hostname();
  for (const name of names) {
    const m = /^(.+)\.([^.]+)\.(\d+)\.(\d+)$/.exec(name);
    if (!m || m[2] !== safeHost(host) || pidAlive(Number(m[3]))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function safeHost(h: string): string {
  return h.replace(/[^A-Za-z0-9-]/g, '-');
}

/** How a cell runs: the signal that stops it and where its narration goes. */
export interface CellHooks {
  signal: AbortSignal;
  progress?: (done: number, total: number, label?: string) => void;
  log?: (line: string) => void;
}

/**
 * Runs one cell and writes it into place atomically (see the module doc); a cell that is
 * already complete is not run again. Returns the record and whether this call ran the experiment.
 * @throws whatever the experiment throws (its temporary directory is removed); SpecdynError when
 *   the cell's directory name is taken by something that is not a complete cell.
 */
export async function runCell(
  root: string,
  cell: Cell,
  experiment: Experiment,
  hooks: CellHooks,
): Promise<{ record: CellRecord; ran: boolean }> {
  const done = readCell(root, cell.key);
  if (done) return { record: done, ran: false };
  const tmpRoot = path.join(root, WORK_DIR, 'tmp');
  fs.mkdirSync(tmpRoot, { recursive: true });
  const tmp = path.join(tmpRoot, `${cell.key}.${safeHost(os.hostname())}.${process.pid}.${tempCounter++}`);
  const t0 = performance.now();
  try {
    const result = await experiment.run(cell.params, {
      out: tmp,
      signal: hooks.signal,
      progress: hooks.progress ?? (() => {}),
      log: hooks.log ?? (() => {}),
    });
    fs.mkdirSync(tmp, { recursive: true });
    const record: CellRecord = {
      format: 'specdyn-sweep-cell',
      formatVersion: 1,
      experiment: experiment.name,
      index: cell.index,
      key: cell.key,
      params: cell.params,
      figures: result.figures,
      summary: result.summary,
      report: result.report ? path.relative(tmp, path.resolve(result.report)) : null,
      seconds: (performance.now() - t0) / 1000,
      host: os.hostname(),
      pid: process.pid,
      finishedAt: new Date().toISOString(),
    };
    writeFileAtomic(path.join(tmp, CELL_FILE), JSON.stringify(record, null, 2) + '\n');
    syncDir(tmp);
    const final = cellDir(root, cell.key);
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      const other = readCell(root, cell.key);
      if (!other)
        throw new SpecdynError(
          `Expected the cell directory ${final} to be absent or a complete cell but it has no ${CELL_FILE}; remove it and run again`,
        );
      // Another writer completed the same cell first: keep its copy.
      fs.rmSync(tmp, { recursive: true, force: true });
      return { record: other, ran: true };
    }
    syncDir(root);
    fs.rmSync(failedFile(root, cell.key), { force: true });
    return { record, ran: true };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
