/**
 * Runs from what other frameworks write: a directory of representation snapshots
 * (`step-<n>.npy` / `step-<n>.npz`) becomes an OMD run, safetensors checkpoints become a
 * weight-spectrum run, each through one call.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import {
  OMD_POINT_COLUMNS,
  OmdTrajectory,
  omdPointToRow,
  type TrajectoryOptions,
  type TrajectoryPoint,
} from '../omd/index.js';
import {
  WEIGHT_SPECTRUM_COLUMNS,
  weightSpectrum,
  weightSpectrumToRow,
  type Column,
  type WeightSpectrumOptions,
  type WeightSpectrumRow,
} from '../rmt/index.js';
import { checkOptionsObject } from '../validate.js';
import { toMat, type NdArray } from './ndarray.js';
import { readNpy, readNpz } from './npy.js';
import { readSafetensors, readSafetensorsHeader } from './safetensors.js';
import { expectedPath } from './atomic.js';
import { loadArrow } from './arrow.js';
import { createRun } from './run.js';
import type { ColumnMeta, ObservableRecord, Row, RunWriter } from './types.js';

/** Registry columns as store column metadata (dtype names of run.json: float64, int, string, bool). */
export function columnMetaOf(columns: readonly Column[]): ColumnMeta[] {
  const dtype = { f64: 'float64', i32: 'int', str: 'string', bool: 'bool' } as const;
  return columns.map((c) => ({ name: c.name, unit: c.unit, dtype: dtype[c.dtype], doc: c.doc }));
}

/** OMD point columns as stored (the registry's, without `step`, which every line carries). */
const OMD_STORED_COLUMNS = columnMetaOf(OMD_POINT_COLUMNS.filter((c) => c.name !== 'step'));
const WEIGHT_STORED_COLUMNS: ColumnMeta[] = [
  ...columnMetaOf(WEIGHT_SPECTRUM_COLUMNS),
  { name: 'shape', unit: '', dtype: 'string', doc: "The tensor's shape as stored in the checkpoint, e.g. '16x4x3x3'" },
  { name: 'dtype', unit: '', dtype: 'string', doc: "The tensor's dtype in the checkpoint (F16, BF16, F32, F64)" },
];

/**
 * The record of one OMD trajectory point: row = omdPointToRow (OMD_POINT_COLUMNS without
 * `step`); arrays `values` (the spectrum, ascending), `cloud` (aligned MDS, N x 3) and
 * `eigenvalue_velocity` (Perron, then the ranked non-Perron values).
 */
export function omdRecord(observable: string, p: TrajectoryPoint): ObservableRecord {
  const { step: _step, ...row } = omdPointToRow(p);
  void _step;
  return {
    observable,
    family: 'omd',
    row,
    arrays: { values: p.figures.values, cloud: p.cloud, eigenvalue_velocity: p.eigenvalueVelocity },
  };
}

/**
 * The record of one weight spectrum: row = weightSpectrumToRow (WEIGHT_SPECTRUM_COLUMNS) plus
 * `extra` columns; arrays `evals` (ascending), `spikes` (descending), `snr`.
 */
export function weightRecord(observable: string, w: WeightSpectrumRow, extra: Row = {}): ObservableRecord {
  return {
    observable,
    family: 'weights',
    row: { ...weightSpectrumToRow(w), ...extra },
    arrays: { evals: w.evals, spikes: w.spikes, snr: w.snr },
  };
}

/** Options of {@link importSnapshots}: where to write, and the OMD options of every layer's trajectory. */
export interface ImportSnapshotsOptions extends TrajectoryOptions {
  /** The run directory to create (must not exist or be empty). */
  out: string;
  /** One label per probe (row), kept in run.json meta.probeLabels. */
  probeLabels?: ArrayLike<number | string>;
  /** Layer name of the single array of a `step-<n>.npy` file; default 'reps'. */
  layer?: string;
  /** Kept in run.json. */
  config?: unknown;
  meta?: Record<string, unknown>;
}

/** What an import wrote. */
export interface ImportResult {
  /** The run directory. */
  dir: string;
  /** Steps imported, ascending. */
  steps: number[];
  /** Observables written (layers or tensors), in first-seen order. */
  observables: string[];
  /** Tensors not analysed, with the reason (checkpoints only; also in run.json meta.skipped). */
  skipped: { step: number; tensor: string; shape: number[]; reason: string }[];
}

const STEP_FILE = /^step-(\d+)\.(npy|npz)$/;

async function listSteps(dir: string, re: RegExp, what: string): Promise<{ step: number; file: string }[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    throw new RangeError(
      expectedPath(`a directory of ${what}`, 'dir', dir) + ` (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const byStep = new Map<number, string>();
  for (const n of names.sort()) {
    const m = re.exec(n);
    if (!m) continue;
    const step = Number(m[1]);
    const prev = byStep.get(step);
    if (prev) throw new RangeError(expected(`one file per step`, `step ${step} in ${dir}`, `both ${prev} and ${n}`));
    byStep.set(step, n);
  }
  if (byStep.size === 0) throw new RangeError(expectedPath(`${what}`, 'dir', dir) + ' (no matching files)');
  return [...byStep].sort((a, b) => a[0] - b[0]).map(([step, n]) => ({ step, file: path.join(dir, n) }));
}

/**
 * Imports a directory of representation snapshots: `step-<n>.npy` (one N x D array, layer
 * `options.layer`) or `step-<n>.npz` (one N x D array per layer, keyed by layer name). Arrays of
 * more than 2 dimensions are read as N x prod(rest) (e.g. N x C x H x W activations). Every layer
 * runs through its own {@link OmdTrajectory} (options as given) in step order, and each step is
 * written and flushed as one snapshot ({@link omdRecord}; run.json `columns.omd` lists the columns).
 *
 * @throws RangeError when the directory has no step files, two files share a step, a step lacks a
 * layer of the first step, or an array's N differs from the first step's (naming both files), plus
 * everything the readers and analyzeObservable reject. The run is then closed as `failed`.
 */
export async function importSnapshots(dir: string, options: ImportSnapshotsOptions): Promise<ImportResult> {
  checkOptionsObject(options);
  const { out, probeLabels, layer = 'reps', config, meta, ...trajectoryOptions } = options;
  if (typeof out !== 'string' || out.length === 0)
    throw new TypeError(expected('a run directory path', 'options.out', out));
  await loadArrow(); // before any file is read: the run store needs it
  const files = await listSteps(dir, STEP_FILE, 'representation snapshots (step-<n>.npy or step-<n>.npz)');
  new OmdTrajectory(trajectoryOptions); // validates the options before anything is written
  const writer = await createRun(out, {
    config,
    meta: { ...meta, source: { kind: 'snapshots', dir: path.resolve(dir) } },
    columns: { omd: OMD_STORED_COLUMNS },
  });
  const trajectories = new Map<string, OmdTrajectory>();
  let first: { file: string; layer: string; n: number; layers: string[] } | undefined;
  try {
    for (const { step, file } of files) {
      const arrays: Record<string, NdArray> = file.endsWith('.npz')
        ? await readNpz(file)
        : { [layer]: await readNpy(file) };
      const layers = Object.keys(arrays);
      const mats = new Map<string, Mat>();
      for (const name of layers) {
        const m = toMat(arrays[name]!, `${path.basename(file)}:${name}`);
        if (!first) {
          first = { file, layer: name, n: m.rows, layers };
          if (probeLabels !== undefined) {
            if (probeLabels.length !== m.rows)
              throw new RangeError(
                expected(
                  `one probe label per row (N = ${m.rows} in ${path.basename(file)})`,
                  'options.probeLabels',
                  `${probeLabels.length} labels`,
                ),
              );
            writer.setMeta({ probeLabels: Array.from(probeLabels) });
          }
        }
        if (m.rows !== first.n) {
          throw new RangeError(
            expected(
              `the probe count of ${path.basename(first.file)}:${first.layer} (N = ${first.n})`,
              `${path.basename(file)}:${name}`,
              `N = ${m.rows}`,
            ),
          );
        }
        mats.set(name, m);
      }
      const missing = first!.layers.filter((l) => !mats.has(l));
      if (missing.length > 0)
        throw new RangeError(
          expected(
            `the layers of ${path.basename(first!.file)} (${first!.layers.join(', ')})`,
            path.basename(file),
            `no ${missing.join(', ')}`,
          ),
        );
      // Layers are independent trajectories: analyse them side by side on the native pool.
      const observables: ObservableRecord[] = await Promise.all(
        [...mats].map(async ([name, m]) => {
          let t = trajectories.get(name);
          if (!t) {
            t = new OmdTrajectory(trajectoryOptions);
            trajectories.set(name, t);
          }
          return omdRecord(name, await t.push(step, m));
        }),
      );
      writer.append({ step, observables });
      await writer.flush();
    }
    await writer.close();
  } catch (e) {
    await writer.close({ status: 'failed', error: e });
    throw e;
  }
  return { dir: out, steps: files.map((f) => f.step), observables: [...trajectories.keys()], skipped: [] };
}

/** Options of {@link importCheckpoints}: where to write, and the weight-spectrum options. */
export interface ImportCheckpointsOptions extends WeightSpectrumOptions {
  /** The run directory to create (must not exist or be empty). */
  out: string;
  /** Kept in run.json. */
  config?: unknown;
  meta?: Record<string, unknown>;
}

/** Step of a checkpoint file: the last run of digits in its name (`step-1200.safetensors` → 1200). */
function stepOf(file: string): number | undefined {
  const m = /(\d+)(?!.*\d)/.exec(path.basename(file).replace(/\.safetensors$/, ''));
  return m ? Number(m[1]) : undefined;
}

const FLOAT_DTYPES = new Set(['F16', 'BF16', 'F32', 'F64']);

/**
 * Imports safetensors checkpoints as a weight-spectrum run: one file (step from its name, else 0)
 * or a directory of `*.safetensors` files, one per step (step = the last run of digits of the
 * file name; a name without digits, or two files with one step, is an error). Every float tensor
 * of 2 or more dimensions is analysed with {@link weightSpectrum} as a matrix W = shape[0] x
 * prod(rest): PyTorch Linear weights [out, in] as they are, conv kernels [out, in, kh, kw] as
 * out x in·kh·kw (each output channel's flattened filter: the matrix the unfolded convolution
 * multiplies). With `kernel: true` (Keras/Flax layout [in, out], conv [kh, kw, in, out]) the
 * tensor is read as prod(leading) x last and transposed. Skipped, with the reason recorded in the
 * result and run.json meta.skipped: tensors of fewer than 2 dimensions (biases, norms), integer
 * or bool tensors, and tensors the analysis rejects (e.g. too few eigenvalues for a fit).
 * @throws RangeError for a path with no checkpoints or steps that cannot be told apart, plus what
 * the safetensors reader rejects (naming the file). The run is then closed as `failed`.
 */
export async function importCheckpoints(pathOrDir: string, options: ImportCheckpointsOptions): Promise<ImportResult> {
  checkOptionsObject(options);
  const { out, config, meta, ...spectrumOptions } = options;
  if (typeof out !== 'string' || out.length === 0)
    throw new TypeError(expected('a run directory path', 'options.out', out));
  if (typeof pathOrDir !== 'string' || pathOrDir.length === 0)
    throw new TypeError(expected('a safetensors file or directory', 'pathOrDir', pathOrDir));
  await loadArrow(); // before any file is read: the run store needs it
  const stat = await fs.stat(pathOrDir);
  let files: { step: number; file: string }[];
  if (stat.isDirectory()) {
    const names = (await fs.readdir(pathOrDir)).filter((n) => n.endsWith('.safetensors')).sort();
    if (names.length === 0)
      throw new RangeError(
        expectedPath('a directory of .safetensors checkpoints', 'pathOrDir', pathOrDir) + ' (none found)',
      );
    const seen = new Map<number, string>();
    files = names.map((n) => {
      const step = stepOf(n);
      if (step === undefined)
        throw new RangeError(
          expectedPath('a checkpoint name with its step (e.g. step-100.safetensors)', 'file', path.join(pathOrDir, n)),
        );
      if (seen.has(step))
        throw new RangeError(
          expected('one checkpoint per step', `step ${step} in ${pathOrDir}`, `both ${seen.get(step)} and ${n}`),
        );
      seen.set(step, n);
      return { step, file: path.join(pathOrDir, n) };
    });
    files.sort((a, b) => a.step - b.step);
  } else {
    files = [{ step: stepOf(pathOrDir) ?? 0, file: pathOrDir }];
  }
  const headers = await Promise.all(files.map((f) => readSafetensorsHeader(f.file)));
  const writer: RunWriter = await createRun(out, {
    config,
    meta: { ...meta, source: { kind: 'checkpoints', path: path.resolve(pathOrDir) } },
    columns: { weights: WEIGHT_STORED_COLUMNS },
  });
  const skipped: ImportResult['skipped'] = [];
  const seen = new Set<string>();
  try {
    for (let i = 0; i < files.length; i++) {
      const { step, file } = files[i]!;
      const observables: ObservableRecord[] = [];
      for (const t of headers[i]!.tensors) {
        const skip = (reason: string) => skipped.push({ step, tensor: t.name, shape: t.shape, reason });
        if (t.shape.length < 2) {
          skip(`${t.shape.length}-D tensor (bias, norm or scalar): no matrix spectrum`);
          continue;
        }
        if (!FLOAT_DTYPES.has(t.dtype)) {
          skip(`${t.dtype} tensor: not a weight matrix`);
          continue;
        }
        const nd = (await readSafetensors(file, { filter: (e) => e.name === t.name })).tensors[t.name]!;
        const kernel = spectrumOptions.kernel === true;
        const w: Mat = kernel
          ? { data: nd.data, rows: nd.data.length / t.shape[t.shape.length - 1]!, cols: t.shape[t.shape.length - 1]! }
          : toMat(nd, `${t.name} of ${file}`);
        let row: WeightSpectrumRow;
        try {
          row = await weightSpectrum(w, spectrumOptions);
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          skip(`analysis refused it: ${e.message}`);
          continue;
        }
        seen.add(t.name);
        observables.push(weightRecord(t.name, row, { shape: t.shape.join('x'), dtype: t.dtype }));
      }
      writer.append({ step, observables });
      writer.setMeta({ skipped });
      await writer.flush();
    }
    await writer.close();
  } catch (e) {
    await writer.close({ status: 'failed', error: e });
    throw e;
  }
  return { dir: out, steps: files.map((f) => f.step), observables: [...seen], skipped };
}
