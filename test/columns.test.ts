// Column registries: every registry column is in its family's toRow output with the declared
// dtype, every toRow key is in the registry, and the values are the result's own fields.
import { describe, expect, it } from 'vitest';
import { randn } from './helpers.js';
import {
  OMD_POINT_COLUMNS,
  OMD_SNAPSHOT_COLUMNS,
  OmdTrajectory,
  WEIGHT_SPECTRUM_COLUMNS,
  analyzeObservableSync,
  omdPointToRow,
  omdSnapshotToRow,
  weightSpectrum,
  weightSpectrumToRow,
  type Column,
  type FigureRow,
} from '../src/index.js';

/** Asserts row and registry agree: same key set, in registry order, each value of its dtype. */
function expectRowMatches(columns: readonly Column[], row: FigureRow): void {
  expect(Object.keys(row)).toEqual(columns.map((c) => c.name));
  for (const c of columns) {
    const v = row[c.name];
    const ok =
      c.dtype === 'f64'
        ? typeof v === 'number'
        : c.dtype === 'i32'
          ? typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31
          : c.dtype === 'str'
            ? typeof v === 'string'
            : typeof v === 'boolean';
    expect(ok, `${c.name}: ${String(v)} is not ${c.dtype}`).toBe(true);
  }
}

function expectWellFormed(columns: readonly Column[]): void {
  const names = columns.map((c) => c.name);
  expect(new Set(names).size).toBe(names.length);
  for (const c of columns) {
    expect(c.name).toMatch(/^([a-z][a-z0-9_]*|N|M)$/);
    expect(['f64', 'i32', 'str', 'bool']).toContain(c.dtype);
    expect(typeof c.unit).toBe('string');
    expect(c.doc.length).toBeGreaterThan(5);
  }
  expect(Object.isFrozen(columns)).toBe(true);
}

describe('weight-spectrum columns', () => {
  it('are well formed and follow the WeightWatcher names', () => {
    expectWellFormed(WEIGHT_SPECTRUM_COLUMNS);
    const names = WEIGHT_SPECTRUM_COLUMNS.map((c) => c.name);
    for (const ww of [
      'alpha',
      'sigma_mp',
      'bulk_max',
      'num_spikes',
      'mp_softrank',
      'stable_rank',
      'spectral_norm',
      'entropy',
    ]) {
      expect(names).toContain(ww);
    }
    for (const arr of ['evals', 'spikes', 'snr', 'variance_mp_ci']) expect(names).not.toContain(arr);
  });

  it("toRow of a full row with the randomised baseline: every column, right dtype, the row's own values", async () => {
    const w = randn(60, 120, 3);
    const res = await weightSpectrum(w, { randomize: { replicas: 2, seed: 1 }, bootstrap: 20 });
    const row = weightSpectrumToRow(res);
    expectRowMatches(WEIGHT_SPECTRUM_COLUMNS, row);
    expect(row.N).toBe(60);
    expect(row.M).toBe(120);
    expect(row.route).toBe('full');
    expect(row.lambda_max).toBe(res.lambda_max);
    expect(row.variance_mp_ci_low).toBe(res.variance_mp_ci[0]);
    expect(row.variance_mp_ci_high).toBe(res.variance_mp_ci[1]);
    expect(row.rand_ks).toBe(res.rand_ks);
    expect(Number.isFinite(row.rand_distance as number)).toBe(true);
  });

  it('toRow without randomize and below minEvals: the same columns, NaN where nothing was computed', async () => {
    const res = await weightSpectrum(randn(5, 40, 2));
    const row = weightSpectrumToRow(res);
    expectRowMatches(WEIGHT_SPECTRUM_COLUMNS, row);
    expect(row.num_evals).toBe(5);
    for (const k of ['sigma_mp', 'num_spikes', 'alpha', 'rand_num_spikes', 'rand_ks', 'variance_mp_ci_low'])
      expect(row[k]).toBeNaN();
    expect(row.lambda_max).toBeGreaterThan(0);
  });
});

describe('OMD columns', () => {
  it('are well formed; the point columns are the link columns then the snapshot columns', () => {
    expectWellFormed(OMD_SNAPSHOT_COLUMNS);
    expectWellFormed(OMD_POINT_COLUMNS);
    expect(OMD_POINT_COLUMNS.slice(-OMD_SNAPSHOT_COLUMNS.length)).toEqual(OMD_SNAPSHOT_COLUMNS);
    expect(OMD_POINT_COLUMNS.slice(0, 2).map((c) => c.name)).toEqual(['step', 'index']);
  });

  it("snapshot toRow: every column, right dtype, the snapshot's own values", () => {
    const s = analyzeObservableSync(randn(80, 20, 5));
    const row = omdSnapshotToRow(s);
    expectRowMatches(OMD_SNAPSHOT_COLUMNS, row);
    expect(row.n).toBe(80);
    expect(row.metric).toBe('angular');
    expect(row.perron).toBe(s.perron);
    expect(row.band_gap_ratio).toBe(s.band.gapRatio);
    expect(row.band_fingerprint).toBe(s.band.fingerprint);
    expect(row.bbs_proper).toBe(s.bbsProper);
    expect(row.ambient_ks).toBe(s.ambient.ks);
    expect(row.band_top_multiplet).toBe(s.band.multiplets[0]);
  });

  it('point toRow: the links and the retained figures of each trajectory point', async () => {
    const t = new OmdTrajectory();
    await t.push(0, randn(40, 10, 1));
    await t.push(10, randn(40, 10, 2));
    for (const p of t.points) {
      const row = omdPointToRow(p);
      expectRowMatches(OMD_POINT_COLUMNS, row);
      expect(row.step).toBe(p.step);
      expect(row.band_size).toBe(p.figures.band.size);
    }
    const [first, second] = t.points.map(omdPointToRow);
    expect(first!.overlap).toBeNaN();
    expect(first!.perron_velocity).toBeNaN();
    expect(second!.matrix_velocity).toBe(t.points[1]!.matrixVelocity);
    expect(second!.perron_velocity).toBe(t.points[1]!.eigenvalueVelocity[0]);
  });
});
