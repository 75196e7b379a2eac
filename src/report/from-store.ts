/**
 * Reads a run directory (store/) into the report's {@link ReportRun}. Column names are those of
 * the registries (rmt/columns.ts, omd/columns.ts); arrays: weights `evals` (eigenvalues of W Wᵀ,
 * ascending), OMD `values` (the spectrum of M, ascending; drawn as λ/(N⟨d⟩) with the row's `n` and
 * `mean_distance`) and `cloud` (aligned MDS, N x 3; else `mds`), probe labels as a `labels` array of any OMD
 * observable, or `meta.probeLabels` / `meta.monitor.probeLabels` (SpectralMonitor) in run.json.
 */
import { basename } from 'node:path';
import type { Mat } from '../matrix.js';
import type { Run, StepRow, StoredArrayValue } from '../store/index.js';
import type { OmdLayer, ReportRun, WeightLayer, WeightRow, OmdRow } from './model.js';

const KEYS = new Set(['step', 'family', 'observable', 'session']);

function numeric(row: StepRow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (!KEYS.has(k) && typeof v === 'number') out[k] = v;
  return out;
}

function vector(v: StoredArrayValue | undefined): Float64Array | undefined {
  if (!v) return undefined;
  if (v instanceof Float64Array) return v;
  if (v instanceof Float32Array) return Float64Array.from(v);
  return Float64Array.from((v as Mat).data);
}

function firstArray(
  run: Run,
  family: 'weights' | 'omd',
  observable: string,
  names: string[],
): Map<number, StoredArrayValue> {
  for (const name of names) {
    const found = run.arrays({ family, observable, name });
    if (found.length > 0) return new Map(found.map((a) => [a.step, a.value]));
  }
  return new Map();
}

const n = (x: unknown): number => (typeof x === 'number' ? x : NaN);

/** The report's view of a stored run. `name` defaults to the directory's base name. */
export function fromRun(run: Run, name = basename(run.dir)): ReportRun {
  const training = run.rows({ family: 'logs' }).map((r) => ({ step: r.step, ...numeric(r) }));
  const weights: WeightLayer[] = run.observables('weights').map((obs) => {
    const rows = run.rows({ family: 'weights', observable: obs });
    const spectra = [...firstArray(run, 'weights', obs, ['evals', 'values']).entries()]
      .map(([step, v]) => ({ step, evals: vector(v)! }))
      .sort((a, b) => a.step - b.step);
    const last = rows[rows.length - 1];
    const shape: [number, number] | undefined =
      last && typeof last.N === 'number' && typeof last.M === 'number' ? [last.N, last.M] : undefined;
    return {
      layer: obs,
      shape,
      rows: rows.map(
        (r) =>
          ({
            step: r.step,
            ...numeric(r),
            ...(typeof r.warning === 'string' ? { warning: r.warning } : {}),
          }) as unknown as WeightRow,
      ),
      spectra,
    };
  });
  let labels: ArrayLike<number> | undefined;
  const meta0 = run.meta.meta as Record<string, unknown>;
  const monitorMeta = meta0.monitor as Record<string, unknown> | undefined;
  const metaLabels = meta0.probeLabels ?? monitorMeta?.probeLabels;
  if (Array.isArray(metaLabels) && metaLabels.every((x) => typeof x === 'number')) labels = metaLabels as number[];
  const omd: OmdLayer[] = run.observables('omd').map((obs) => {
    const rows = run.rows({ family: 'omd', observable: obs });
    const byStep = new Map(rows.map((r) => [r.step, r]));
    const spectra: OmdLayer['spectra'] = [];
    for (const [step, v] of firstArray(run, 'omd', obs, ['values'])) {
      const r = byStep.get(step);
      const scale = r ? n(r.n) * n(r.mean_distance) : NaN; // λ/(N⟨d⟩)
      if (Number.isFinite(scale) && scale !== 0) spectra.push({ step, normalized: vector(v)!.map((x) => x / scale) });
    }
    spectra.sort((a, b) => a.step - b.step);
    const clouds = [...firstArray(run, 'omd', obs, ['cloud', 'mds']).entries()]
      .filter(([, v]) => !(v instanceof Float64Array || v instanceof Float32Array))
      .map(([step, v]) => ({ step, coords: Float64Array.from((v as Mat).data), dims: (v as Mat).cols }))
      .sort((a, b) => a.step - b.step);
    const stored = firstArray(run, 'omd', obs, ['labels']);
    const own = stored.size > 0 ? vector([...stored.values()][0]) : undefined;
    if (own) labels = own;
    let regimes: ReturnType<ReturnType<Run['trajectory']>['regimes']> | undefined;
    try {
      regimes = run.trajectory(obs).regimes();
    } catch {
      regimes = undefined; // rows without the band columns regimes() needs: no timeline
    }
    const omdRows: OmdRow[] = rows.map((r) => ({
      ...numeric(r),
      step: r.step,
      perronRatio: n(r.perron_ratio),
      bandSize: n(r.band_size),
      overlap: n(r.overlap),
      participationRatio: n(r.participation_ratio),
      entropyDimension: n(r.entropy_dimension),
    }));
    return { layer: obs, rows: omdRows, spectra, clouds, regimes, ...(own ? { labels: own } : {}) };
  });
  if (labels) for (const l of omd) l.labels ??= labels;
  const meta = run.meta;
  const end = meta.finishedAt ?? meta.updatedAt;
  const durationSeconds = (Date.parse(end) - Date.parse(meta.createdAt)) / 1000;
  const facts: Record<string, string | number | boolean> = { specdyn: meta.versions.specdyn, node: meta.versions.node };
  if (meta.seed !== null) facts.seed = meta.seed;
  if (meta.versions.tfjs) facts.tfjs = meta.versions.tfjs;
  const blas = (meta.native as Record<string, unknown>).blas;
  if (typeof blas === 'string') facts.BLAS = blas;
  if (meta.error) facts.error = meta.error;
  return {
    dir: run.dir,
    name,
    status: run.status,
    backend: meta.tfBackend ?? undefined,
    startedAt: meta.createdAt,
    endedAt: meta.finishedAt ?? undefined,
    durationSeconds: Number.isFinite(durationSeconds) ? durationSeconds : undefined,
    training,
    weights,
    omd,
    facts,
  };
}
