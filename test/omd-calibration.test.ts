// OMD readings on the held-out run of the calibration set (scripts/calibrate-omd.mjs; docs/omd.md
// "Calibration"): a 784-128-128-10 ReLU MLP trained on MNIST (seed 4, never used to choose a
// threshold), its second hidden layer on the first 2000 MNIST test images at initialisation and
// after the last step, stored uint8-quantised under test/fixtures/omd/. Ground truth recorded
// with them (test accuracy, the linear-probe accuracy of the layer, the between-class share of its
// variance) comes from the representations and the network, not from the spectrum.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Mat } from '../src/matrix.js';
import { analyzeObservableSync, type ObservableSnapshot } from '../src/omd/index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'omd');
interface FixtureSnapshot {
  run: string;
  layer: string;
  step: number;
  testAccuracy: number;
  probeAccuracy: number;
  repEta: number;
  file: string;
  rows: number;
  cols: number;
  scale: number;
}
const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as {
  probeLabels: string;
  snapshots: FixtureSnapshot[];
};
const allLabels = Array.from(readFileSync(path.join(dir, meta.probeLabels)));

/** The first n probes of a stored snapshot, dequantised, and their labels. */
function load(s: FixtureSnapshot, n: number): { reps: Mat<Float64Array>; labels: number[] } {
  const q = readFileSync(path.join(dir, s.file));
  expect(q.length).toBe(s.rows * s.cols);
  const data = Float64Array.from(q.subarray(0, n * s.cols), (v) => v * s.scale);
  return { reps: { data, rows: n, cols: s.cols }, labels: allLabels.slice(0, n) };
}

const init = meta.snapshots.find((s) => s.step === 0)!;
const trained = meta.snapshots.reduce((a, b) => (b.step > a.step ? b : a));

function reading(s: ObservableSnapshot) {
  return { fingerprint: s.band.fingerprint, size: s.band.size, decision: s.band.decision };
}

describe('held-out calibration run (MNIST MLP, second hidden layer)', () => {
  it('the fixtures are what the calibration recorded: a trained layer and the same layer at initialisation', () => {
    expect(init).toBeDefined();
    expect(trained.step).toBeGreaterThan(0);
    expect(trained.testAccuracy).toBeGreaterThan(0.85);
    expect(init.testAccuracy).toBeLessThan(0.2);
    expect(trained.repEta).toBeGreaterThan(init.repEta + 0.2);
    expect(allLabels.length).toBe(init.rows);
  });

  it('trained: the labels explain most of the band, which reads clusters with K − 1 = 9, the same at N = 500 and N = 2000', () => {
    const out = [500, 2000].map((n) => {
      const { reps, labels } = load(trained, n);
      return analyzeObservableSync(reps, { labels });
    });
    for (const s of out) {
      expect(s.labels!.classes).toBe(10);
      expect(s.labels!.explained).toBeGreaterThan(0.5);
      expect(s.band.fingerprint).toBe('clusters');
      expect(s.band.size).toBe(9);
      expect(s.band.decision).toBe('labels');
      expect(s.band.z).toBeGreaterThan(10);
      expect(s.labels!.meanSeparation).toBeGreaterThan(0);
    }
    expect(reading(out[0]!)).toEqual(reading(out[1]!));
    // The label figures are intensive: N = 500 and 2000 agree within 0.05.
    expect(Math.abs(out[0]!.labels!.explained - out[1]!.labels!.explained)).toBeLessThan(0.05);
  });

  it('trained, without labels (N = 500): never noise; a band far above the null; no invalid figure flagged valid', () => {
    const out = [analyzeObservableSync(load(trained, 500).reps)];
    for (const s of out) {
      expect(s.band.fingerprint).not.toBe('noise');
      expect(s.band.clear).toBe(true);
      expect(s.band.significantCount).toBeGreaterThanOrEqual(3);
      expect(s.band.z).toBeGreaterThan(10);
      const ratio = Math.abs(s.band.ranked[0]!) / (s.n * s.meanDistance) / s.band.nullTop;
      expect(ratio).toBeGreaterThan(2); // far above the 1.25 margin
    }
    // No fitted figure that is not a reading is flagged valid (the bulk of a learned layer is not MP).
    for (const s of out) {
      if (s.ambient.valid) {
        expect(s.ambient.dimension).toBeGreaterThanOrEqual(1);
        expect(Number.isFinite(s.ambient.sigma)).toBe(true);
      } else expect(s.ambient.ks > 0.15 || !Number.isFinite(s.ambient.dimension) || s.ambient.dimension < 1).toBe(true);
      expect(s.band.dimensionValid).toBe(false);
    }
  });

  it('at initialisation: no label structure (not clusters, η² well below the trained layer and the threshold)', () => {
    const { reps, labels } = load(init, 500);
    const s = analyzeObservableSync(reps, { labels });
    const t = analyzeObservableSync(load(trained, 500).reps, { labels });
    expect(s.labels!.explainsBand).toBe(false);
    expect(s.labels!.explained).toBeLessThan(0.4);
    expect(s.labels!.explained).toBeLessThan(t.labels!.explained - 0.2);
    expect(s.band.fingerprint).not.toBe('clusters');
    expect(s.band.decision).not.toBe('labels');
  });
});
