// OMD band significance against the per-snapshot shuffle null, label-aware figures, validity
// flags, and the input defects fixed with them (empty regimes, a width change mid-trajectory,
// the correlation metric). Expected values come from independent computations in this file
// (iidResampleNull's full analyses of the same shuffles, class means computed directly).
import { describe, expect, it } from 'vitest';
import { distanceMatrixSync, eigshSync } from '../src/linalg/index.js';
import type { Mat } from '../src/matrix.js';
import { Rng } from '../src/random.js';
import {
  analyzeObservable,
  analyzeObservableSync,
  clusterTemplate,
  iidResampleNullSync,
  manifoldNoiseTemplate,
  noiseTemplate,
  OMD_POINT_COLUMNS,
  OMD_SNAPSHOT_COLUMNS,
  OmdTrajectory,
  omdSnapshotToRow,
  sphereTemplate,
  type ObservableSnapshot,
} from '../src/omd/index.js';
import { NULL_CARRY_TOLERANCE, shuffleColumns } from '../src/omd/significance.js';

/** Every figure flagged valid is finite and in range (the validity contract). */
function expectValidFiguresSound(s: ObservableSnapshot): void {
  if (s.ambient.valid) {
    for (const v of [s.ambient.dimension, s.ambient.sigma, s.ambient.ratio, s.ambient.ks, s.ambient.scale])
      expect(Number.isFinite(v)).toBe(true);
    expect(s.ambient.dimension).toBeGreaterThanOrEqual(1);
    expect(s.ambient.ks).toBeLessThanOrEqual(0.15);
  }
  if (s.band.dimensionValid) {
    expect(Number.isFinite(s.band.dimension)).toBe(true);
    expect(s.band.dimension).toBeGreaterThanOrEqual(1);
    expect(s.band.fingerprint).toBe('smooth-manifold');
  }
  if (s.labels) {
    expect(s.labels.explained).toBeGreaterThanOrEqual(0);
    expect(s.labels.explained).toBeLessThanOrEqual(1);
  }
}

describe('shuffle-null significance', () => {
  it('nullTop equals the strongest non-Perron |λ̃| of the same shuffles analysed in full by iidResampleNull (1 %)', () => {
    const { reps } = clusterTemplate({ n: 400, spread: 1.5, seed: 3 });
    const s = analyzeObservableSync(reps, { nullReplicas: 3, nullSeed: 5 });
    const full = iidResampleNullSync(reps, { replicas: 3, seed: 5 });
    const tops = full.replicas.map((r) => r.topNormalized);
    const mean = tops.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(tops.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(Math.abs(s.band.nullTop - mean) / mean).toBeLessThan(0.01);
    expect(Math.abs(s.band.nullSd - sd)).toBeLessThan(0.01 * mean);
    // threshold = max(top·(1 + margin), top + z·sd) with the defaults 0.25 and 3
    expect(s.band.nullThreshold).toBeCloseTo(Math.max(s.band.nullTop * 1.25, s.band.nullTop + 3 * s.band.nullSd), 12);
  });

  it('pure noise reads noise under the null at several N and D (nothing significant, |z| small)', () => {
    // (With N ≫ D the angular reading of isotropic noise is the uniform sphere S^{D−1} it is, a
    // rank-D band set off by its gap, under the null as well; the calibration found it for D ≤ 20 at N = 100–1000; these cases have D ≥ 60.)
    for (const [n, dim] of [
      [200, 400],
      [300, 300],
      [600, 60],
    ] as const) {
      const s = analyzeObservableSync(noiseTemplate({ n, dim, seed: 4 }).reps);
      expect(s.band.significantCount).toBe(0);
      expect(s.band.decision).toBe('none');
      expect(s.band.fingerprint).toBe('noise');
      expect(Math.abs(s.band.z)).toBeLessThan(10);
      expectValidFiguresSound(s);
    }
  });

  it('a random ReLU layer at initialisation on i.i.d. inputs (nothing to carry) reads noise under the null', () => {
    const rng = new Rng(97);
    const n = 500,
      din = 784,
      d = 128;
    const x = rng.fillNormal(new Float64Array(n * din));
    const lim = Math.sqrt(6 / (din + d)); // Glorot-uniform, as tfjs initialises a Dense kernel
    const w = Float64Array.from({ length: din * d }, () => (2 * rng.uniform() - 1) * lim);
    const h = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let k = 0; k < din; k++) acc += x[i * din + k]! * w[k * d + j]!;
        h[i * d + j] = Math.max(0, acc);
      }
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    const s = analyzeObservableSync({ data: h, rows: n, cols: d }, { labels });
    const ratio = Math.abs(s.band.ranked[0]!) / (s.n * s.meanDistance) / s.band.nullTop;
    expect(ratio).toBeGreaterThan(1); // weak dependence through the shared inputs…
    expect(ratio).toBeLessThan(1.25); // …below the default margin
    expect(s.band.fingerprint).toBe('noise');
    expect(s.labels!.explainsBand).toBe(false);
  });

  it('a cluster band the fixed gap rule misses (gap ratio < 1.5) is significant against the null', () => {
    const { reps } = clusterTemplate({ n: 500, spread: 1.5, seed: 2 });
    const gap = analyzeObservableSync(reps, { significance: 'gap' });
    expect(gap.band.gapRatio).toBeLessThan(1.5);
    expect(gap.band.fingerprint).toBe('noise');
    expect(Number.isNaN(gap.band.nullTop)).toBe(true);
    const s = analyzeObservableSync(reps);
    expect(s.band.decision).toBe('null');
    expect(s.band.clear).toBe(true);
    expect(s.band.size).toBe(s.band.significantCount);
    expect(s.band.size).toBeGreaterThanOrEqual(4);
    expect(s.band.size).toBeLessThanOrEqual(9);
    expect(s.band.z).toBeGreaterThan(20);
    expect(s.band.minZ).toBeGreaterThan(3);
    expect(s.band.fingerprint).not.toBe('noise');
  });

  it('templates read as with the gap rule: spheres by their gap (the null is as strong), clusters by both', () => {
    for (const dim of [1, 2, 3] as const) {
      const { reps } = sphereTemplate({ n: 600, dim, seed: 1 });
      const s = analyzeObservableSync(reps);
      const g = analyzeObservableSync(reps, { significance: 'gap' });
      expect(s.band.size).toBe(dim + 1);
      expect(s.band.decision).toBe('gap');
      expect(s.band.dimensionValid).toBe(true);
      expect(s.band.fingerprint).toBe(g.band.fingerprint);
      expect(s.band.size).toBe(g.band.size);
    }
    const c = clusterTemplate({ seed: 1 });
    const s = analyzeObservableSync(c.reps, { metric: 'euclidean' });
    expect(s.band.size).toBe(9);
    expect(s.band.fingerprint).toBe('clusters');
    expect(s.band.dimensionValid).toBe(false);
  });

  it("the null runs in the snapshot's precision: float32 replicas equal their float32 definition, within 1e-4 of float64", () => {
    const { reps } = clusterTemplate({ n: 300, dim: 24, spread: 1.5, seed: 8 });
    /** Replica `stream`'s top by the definition, in `precision` (distance products and eigensolve). */
    const top = (stream: number, precision: 'float32' | 'float64') => {
      const m = distanceMatrixSync(shuffleColumns(reps, 2, stream), { metric: 'angular', precision });
      let sum = 0;
      for (const v of m.data) sum += v;
      const e = eigshSync(m, { k: 2, which: 'magnitude', tol: 1e-4, vectors: false, precision });
      const v = Array.from(e.values).sort((a, b) => Math.abs(b) - Math.abs(a));
      return Math.abs(v[1]!) / (m.rows * (sum / (m.rows * (m.rows - 1))));
    };
    const opts = { metric: 'angular' as const, nullReplicas: 2, nullSeed: 2 };
    const s32 = analyzeObservableSync(reps, { ...opts, precision: 'float32' });
    const s64 = analyzeObservableSync(reps, opts);
    expect(s32.band.nullTop).toBe((top(0, 'float32') + top(1, 'float32')) / 2);
    expect(s64.band.nullTop).toBe((top(0, 'float64') + top(1, 'float64')) / 2);
    expect(s32.band.nullTop).not.toBe(s64.band.nullTop); // the float32 path was taken
    expect(Math.abs(s32.band.nullTop - s64.band.nullTop)).toBeLessThan(1e-4 * s64.band.nullTop);
    expect(s32.band.significantCount).toBe(s64.band.significantCount);
    expect(s32.band.decision).toBe(s64.band.decision);
  });

  it('async and Sync give the same figures with the null and labels', async () => {
    const c = clusterTemplate({ n: 300, spread: 1.5, seed: 6 });
    const a = await analyzeObservable(c.reps, { labels: c.labels });
    const b = analyzeObservableSync(c.reps, { labels: c.labels });
    expect(omdSnapshotToRow(a)).toEqual(omdSnapshotToRow(b));
  });

  it("significance 'null' needs the representations; a distance matrix with `reps` gets the same null as the reps input", () => {
    const { reps } = clusterTemplate({ n: 200, spread: 1.5, seed: 7 });
    const m = distanceMatrixSync(reps, { metric: 'angular' });
    expect(() => analyzeObservableSync(m, { significance: 'null' })).toThrow(RangeError);
    expect(() => analyzeObservableSync(m, { significance: 'null' })).toThrow(/significance 'null'/);
    const viaM = analyzeObservableSync(m, { reps });
    const viaReps = analyzeObservableSync(reps);
    expect(viaM.band.nullTop).toBe(viaReps.band.nullTop);
    expect(viaM.band.size).toBe(viaReps.band.size);
    expect(Number.isNaN(analyzeObservableSync(m).band.nullTop)).toBe(true);
    const short: Mat = { data: reps.data.subarray(0, 100 * reps.cols), rows: 100, cols: reps.cols };
    expect(() => analyzeObservableSync(m, { reps: short })).toThrow(
      'Expected 200 rows (one per probe of M) for options.reps.rows but received 100',
    );
  });
});

describe('label-aware figures', () => {
  it('η² and per-class separation equal a direct computation; labels decide clusters with K − 1', () => {
    const c = clusterTemplate({ n: 500, spread: 1.5, seed: 2 });
    const s = analyzeObservableSync(c.reps, { labels: c.labels });
    const L = s.labels!;
    expect(L.classes).toBe(10);
    expect(L.vectors).toBe(9);
    expect(L.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // Direct η² of the 9 band vectors (ranked 0..8 = ascending 0..8 for a proper metric).
    const v = s.bandVectors;
    expect(v.rows).toBe(9);
    let num = 0,
      den = 0;
    for (let r = 0; r < 9; r++) {
      const u = v.data.subarray(r * 500, (r + 1) * 500);
      const mu = u.reduce((a, b) => a + b, 0) / 500;
      for (let k = 0; k < 10; k++) {
        let sum = 0,
          cnt = 0;
        for (let i = 0; i < 500; i++)
          if (c.labels[i] === k) {
            sum += u[i]! - mu;
            cnt++;
          }
        num += (sum * sum) / cnt;
      }
      for (let i = 0; i < 500; i++) den += (u[i]! - mu) ** 2;
    }
    expect(L.explained).toBeCloseTo(num / den, 10);
    // Separation of class 0 from M directly.
    const n = 500;
    let w = 0,
      nw = 0,
      b = 0,
      nb = 0;
    for (let i = 0; i < n; i++) {
      if (c.labels[i] !== 0) continue;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        if (c.labels[j] === 0) {
          w += s.matrix.data[i * n + j]!;
          nw++;
        } else {
          b += s.matrix.data[i * n + j]!;
          nb++;
        }
      }
    }
    expect(L.separation[0]).toBeCloseTo(1 - w / nw / (b / nb), 10);
    expect(L.explained).toBeGreaterThan(0.5);
    expect(L.explainsBand).toBe(true);
    expect(s.band.decision).toBe('labels');
    expect(s.band.size).toBe(9);
    expect(s.band.candidateSize).toBe(9);
    expect(s.band.fingerprint).toBe('clusters');
    expect(Number.isFinite(s.band.clusterScore)).toBe(true);
    expectValidFiguresSound(s);
  });

  it('labels that do not explain the band leave the reading alone (S² with random labels: η² near chance)', () => {
    const { reps } = sphereTemplate({ n: 600, dim: 2, seed: 1 });
    const labels = Array.from({ length: 600 }, (_, i) => ['a', 'b', 'c', 'd'][(i * 7919) % 4]!);
    const s = analyzeObservableSync(reps, { labels });
    expect(s.labels!.classes).toBe(4);
    expect(s.labels!.explained).toBeLessThan(0.05); // chance ≈ (K − 1)/(N − 1) = 0.005
    expect(s.labels!.explainsBand).toBe(false);
    expect(s.band.decision).toBe('gap');
    expect(s.band.size).toBe(3);
    expect(s.band.fingerprint).toBe('smooth-manifold');
  });

  it('bad labels: wrong length, wrong kind, non-finite entries; one class gives no label figures', () => {
    const { reps } = noiseTemplate({ n: 50, dim: 10, seed: 1 });
    expect(() => analyzeObservableSync(reps, { labels: [1, 2, 3] })).toThrow(
      'Expected 50 labels (one per probe) for labels.length but received 3',
    );
    expect(() => analyzeObservableSync(reps, { labels: 'abc' as never })).toThrow(TypeError);
    const bad = Array.from({ length: 50 }, (_, i) => (i === 7 ? NaN : i % 2));
    expect(() => analyzeObservableSync(reps, { labels: bad })).toThrow(/labels\[7\]/);
    expect(analyzeObservableSync(reps, { labels: new Array(50).fill(1) }).labels).toBeUndefined();
    expect(() => analyzeObservableSync(reps, { labelThreshold: 2 })).toThrow(RangeError);
  });
});

describe('validity flags', () => {
  it('the ambient fit is valid on pure noise (D̂ within 10 %) and flagged invalid, never NaN-as-valid, on a noiseless sphere', () => {
    const noise = analyzeObservableSync(noiseTemplate({ n: 800, dim: 1600, seed: 1 }).reps);
    expect(noise.ambient.valid).toBe(true);
    expect(Math.abs(noise.ambient.dimension - 1600) / 1600).toBeLessThan(0.1);
    const sphere = analyzeObservableSync(sphereTemplate({ n: 600, dim: 3, seed: 2 }).reps);
    expect(sphere.ambient.valid).toBe(false);
    for (const s of [
      noise,
      sphere,
      analyzeObservableSync(manifoldNoiseTemplate({ seed: 1 }).reps),
      analyzeObservableSync(clusterTemplate({ n: 400, seed: 1 }).reps),
      analyzeObservableSync(noiseTemplate({ n: 100, dim: 3, seed: 1 }).reps),
    ])
      expectValidFiguresSound(s);
  });

  it('the columns carry the new figures, with the snapshot and point registries in step', () => {
    const names = OMD_SNAPSHOT_COLUMNS.map((c) => c.name);
    for (const k of [
      'band_decision',
      'band_null_top',
      'band_null_threshold',
      'band_significant_count',
      'band_z',
      'band_min_z',
      'band_dimension_valid',
      'ambient_valid',
      'label_classes',
      'label_explained',
      'label_band_explained',
      'label_separation',
      'label_explains_band',
    ])
      expect(names).toContain(k);
    const pointNames = OMD_POINT_COLUMNS.map((c) => c.name);
    for (const k of names) expect(pointNames).toContain(k);
    const row = omdSnapshotToRow(analyzeObservableSync(noiseTemplate({ n: 60, dim: 10, seed: 1 }).reps));
    expect(row.label_classes).toBe(0);
    expect(Number.isNaN(row.label_explained)).toBe(true);
    expect(row.label_explains_band).toBe(false);
  });
});

describe('trajectory input defects', () => {
  it("regimes() of an empty or too short trajectory says 'insufficient' with no windows", () => {
    const tr = new OmdTrajectory();
    expect(tr.regimes()).toEqual({ windows: [], transitions: [], verdict: 'insufficient' });
    const { reps } = sphereTemplate({ n: 60, dim: 2, seed: 1 });
    tr.pushSync(0, reps);
    tr.pushSync(1, reps);
    expect(tr.regimes().verdict).toBe('insufficient');
    expect(tr.regimes({ minWindow: 2 }).verdict).not.toBe('insufficient');
  });

  it('a push of a different width D is refused naming both widths; so are per-push reps of another width', async () => {
    const tr = new OmdTrajectory();
    tr.pushSync(0, noiseTemplate({ n: 40, dim: 8, seed: 1 }).reps);
    const wide = noiseTemplate({ n: 40, dim: 16, seed: 2 }).reps;
    expect(() => tr.pushSync(1, wide)).toThrow(RangeError);
    expect(() => tr.pushSync(1, wide)).toThrow(
      'Expected the representation width of the earlier snapshots (D = 8; a trajectory follows one layer) for input.cols but received 16',
    );
    await expect(tr.push(1, wide)).rejects.toThrow(/D = 8.*received 16/);
    expect(tr.points.length).toBe(1);
    const m = new OmdTrajectory();
    const a = noiseTemplate({ n: 40, dim: 8, seed: 3 }).reps;
    m.pushSync(0, distanceMatrixSync(a, { metric: 'angular' }), { reps: a });
    expect(Number.isFinite(m.points[0]!.figures.band.nullTop)).toBe(true);
    expect(() => m.pushSync(1, distanceMatrixSync(wide, { metric: 'angular' }), { reps: wide })).toThrow(
      /D = 8.*for reps\.cols but received 16/,
    );
    expect(() => new OmdTrajectory({ reps: a })).toThrow(TypeError);
  });

  it("'correlation' (accepted by distanceMatrix) is refused by the OMD functions saying why and what to use", () => {
    const { reps } = noiseTemplate({ n: 20, dim: 5, seed: 1 });
    expect(distanceMatrixSync(reps, { metric: 'correlation' }).rows).toBe(20);
    for (const f of [
      () => analyzeObservableSync(reps, { metric: 'correlation' as never }),
      () => new OmdTrajectory({ metric: 'correlation' as never }),
    ]) {
      expect(f).toThrow(RangeError);
      expect(f).toThrow(/does not read 'correlation'.*coordinate basis.*'cosine'.*'angular'/);
      expect(f).toThrow(/for metric but received 'correlation'/);
    }
  });
});

describe('shuffleColumns (the column-shuffle replica)', () => {
  /** The definition: column j gathered through the j-th permutation Rng(seed, stream) draws. */
  function reference(reps: Mat, seed: number, stream: number): Float64Array {
    const { rows: n, cols: d, data: src } = reps;
    const rng = new Rng(seed, stream);
    const out = new Float64Array(n * d);
    for (let j = 0; j < d; j++) {
      const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      for (let i = 0; i < n; i++) out[i * d + j] = src[perm[i]! * d + j]!;
    }
    return out;
  }

  it('equals the definition for float32 and float64 input, on a first call, a cached one and after the cache has turned over', () => {
    const r = new Rng(77);
    const f32: Mat = { data: r.fillNormal(new Float32Array(37 * 11)), rows: 37, cols: 11 };
    const f64: Mat = { data: r.fillNormal(new Float64Array(37 * 11)), rows: 37, cols: 11 };
    for (const reps of [f32, f64]) {
      for (const [seed, stream] of [
        [1, 0],
        [1, 1],
        [-9, 3],
      ] as const) {
        const want = reference(reps, seed, stream);
        expect(Array.from(shuffleColumns(reps, seed, stream).data)).toEqual(Array.from(want));
        // Again (the cached permutations), into a caller's buffer.
        const out = new Float64Array(37 * 11).fill(Number.NaN);
        expect(shuffleColumns(reps, seed, stream, out).data).toBe(out);
        expect(Array.from(out)).toEqual(Array.from(want));
      }
      // Twelve other streams push the first ones out of the cache; the result is the same.
      for (let stream = 10; stream < 22; stream++) shuffleColumns(reps, 1, stream);
      expect(Array.from(shuffleColumns(reps, 1, 0).data)).toEqual(Array.from(reference(reps, 1, 0)));
    }
    // Another shape with the same seeds: its own permutations.
    const other: Mat = { data: r.fillNormal(new Float64Array(11 * 37)), rows: 11, cols: 37 };
    expect(Array.from(shuffleColumns(other, 1, 0).data)).toEqual(Array.from(reference(other, 1, 0)));
  });
});

describe("a trajectory's null in rotation", () => {
  /** Replica `stream`'s top by the definition (shuffle, angular M, strongest non-Perron |λ|/(N⟨d⟩)). */
  function replicaTop(reps: Mat, stream: number, seed = 1): number {
    const m = distanceMatrixSync(shuffleColumns(reps, seed, stream), { metric: 'angular' });
    const n = m.rows;
    let sum = 0;
    for (const v of m.data) sum += v;
    const e = eigshSync(m, { k: 2, which: 'magnitude', tol: 1e-4, vectors: false });
    const v = Array.from(e.values).sort((a, b) => Math.abs(b) - Math.abs(a));
    return Math.abs(v[1]!) / (n * (sum / (n * (n - 1))));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));

  /**
   * A slowly drifting layer: the same clusters, coordinates scaled by 1 + 0.002·t·(1, 2 or 3).
   * N = 400: two replicas' tops then differ by ~1–2 %, well inside the 5 % tolerance (at N ≈ 100
   * they differ by up to ~10 %, and the rotation seldom carries).
   */
  function drifting(t: number): Mat {
    const { reps } = clusterTemplate({ n: 400, dim: 24, spread: 1.5, seed: 9 });
    return { ...reps, data: Float64Array.from(reps.data, (v, i) => v * (1 + 0.002 * t * (1 + (i % 3)))) };
  }

  it('carries the other stream over from the previous snapshot: one fresh replica per snapshot, mean and sd over both', () => {
    const tr = new OmdTrajectory({ metric: 'angular' });
    const snaps = [0, 1, 2, 3].map(drifting);
    for (const [t, x] of snaps.entries()) tr.pushSync(t * 50, x);
    const tops = snaps.map((x) => [replicaTop(x, 0), replicaTop(x, 1)]);
    const first = tr.points[0]!.figures.band;
    expect(first.nullCarried).toBe(0);
    expect(first.nullTop).toBeCloseTo(mean(tops[0]!), 12);
    for (let t = 1; t < 4; t++) {
      const b = tr.points[t]!.figures.band;
      const fresh = t % 2;
      // The premise: the drift keeps the carried top within the tolerance of the fresh one.
      expect(Math.abs(tops[t - 1]![1 - fresh]! - tops[t]![fresh]!)).toBeLessThan(
        NULL_CARRY_TOLERANCE * tops[t]![fresh]!,
      );
      expect(b.nullCarried).toBe(1);
      const pair = [tops[t]![fresh]!, tops[t - 1]![1 - fresh]!];
      expect(b.nullTop).toBeCloseTo(mean(pair), 12);
      expect(b.nullSd).toBeCloseTo(sd(pair), 12);
    }
  });

  it('computes every replica afresh when the null has moved more than the tolerance, and with nullRotation false', () => {
    const tr = new OmdTrajectory({ metric: 'angular' });
    const a = drifting(0);
    // Another layer entirely: two tight clusters (a strong null) after ten wide ones.
    const b = clusterTemplate({ n: 400, dim: 24, k: 2, spread: 0.2, seed: 4 }).reps;
    tr.pushSync(0, a);
    tr.pushSync(50, b);
    const tb = [replicaTop(b, 0), replicaTop(b, 1)];
    expect(Math.abs(replicaTop(a, 0) - tb[1]!)).toBeGreaterThan(NULL_CARRY_TOLERANCE * tb[1]!); // the premise
    const band = tr.points[1]!.figures.band;
    expect(band.nullCarried).toBe(0);
    expect(band.nullTop).toBeCloseTo(mean(tb), 12);

    const off = new OmdTrajectory({ metric: 'angular', nullRotation: false });
    for (const t of [0, 1, 2]) off.pushSync(t * 50, drifting(t));
    for (const [t, p] of off.points.entries()) {
      expect(p.figures.band.nullCarried).toBe(0);
      expect(p.figures.band.nullTop).toBe(analyzeObservableSync(drifting(t), { metric: 'angular' }).band.nullTop);
    }
    expect(() => new OmdTrajectory({ nullRotation: 'yes' as never })).toThrow(
      new TypeError("Expected a boolean for nullRotation but received 'yes'"),
    );
  });

  it('the pipelined push (not awaited one by one) gives the figures of pushSync, and a failed push leaves the next to compute every replica', async () => {
    const sync = new OmdTrajectory({ metric: 'angular' });
    const piped = new OmdTrajectory({ metric: 'angular', concurrency: 3 });
    const snaps = [0, 1, 2, 3, 4].map(drifting);
    for (const [t, x] of snaps.entries()) sync.pushSync(t * 50, x);
    await Promise.all(snaps.map((x, t) => piped.push(t * 50, x)));
    for (let t = 0; t < 5; t++) {
      const [x, y] = [sync.points[t]!.figures.band, piped.points[t]!.figures.band];
      expect([y.nullTop, y.nullSd, y.nullCarried]).toEqual([x.nullTop, x.nullSd, x.nullCarried]);
    }
    expect(piped.points.map((p) => p.figures.band.nullCarried)).toEqual([0, 1, 1, 1, 1]);

    // A push whose analysis fails after admission (all-identical probes: ⟨d⟩ = 0).
    const tr = new OmdTrajectory({ metric: 'euclidean' });
    tr.pushSync(0, drifting(0));
    const same = { data: new Float64Array(400 * 24).fill(1), rows: 400, cols: 24 };
    expect(() => tr.pushSync(50, same)).toThrow(/mean off-diagonal distance > 0/);
    tr.pushSync(100, drifting(2));
    expect(tr.points.at(-1)!.figures.band.nullCarried).toBe(0);
  });
});
