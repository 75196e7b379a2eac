// analyzeWeights (rmt/weights.ts) and analyzeModel (train/analyze-model.ts): one row per weight
// layer, WeightWatcher's derived columns and convention, the small-layer rows, Conv2D slices.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { SpecdynError } from '../src/errors.js';
import { transpose, type Mat } from '../src/matrix.js';
import { svdvals } from '../src/linalg/index.js';
import { weightSpectrum, weightSpectrumSlices } from '../src/rmt/weight-spectrum.js';
import { analyzeWeights, weightRow } from '../src/rmt/weights.js';
import { powerLawFit } from '../src/rmt/power-law.js';
import { analyzeModel, modelKernels } from '../src/train/analyze-model.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import { randn } from './helpers.js';

/** W (rows x cols) with entries N(0, 1/cols) plus a rank-one spike θ u vᵀ. */
function spiked(rows: number, cols: number, theta: number, seed: number): Mat<Float64Array> {
  const w = randn(rows, cols, seed);
  for (let i = 0; i < w.data.length; i++) w.data[i]! /= Math.sqrt(cols);
  const rng = new Rng(seed, 99);
  const u = rng.fillNormal(new Float64Array(rows)),
    v = rng.fillNormal(new Float64Array(cols));
  const nu = Math.hypot(...u),
    nv = Math.hypot(...v);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) w.data[i * cols + j]! += (theta * u[i]! * v[j]!) / (nu * nv);
  return w;
}

describe('weightSpectrum on small layers', () => {
  it('a 10 x 256 output layer with a spike is a row with NaN MP columns and a warning, not an error', async () => {
    const row = await weightSpectrum(spiked(10, 256, 3, 1), { bootstrap: 0 });
    expect(row.num_evals).toBe(10);
    expect(row.sigma_mp).toBeNaN();
    expect(row.num_spikes).toBeNaN();
    expect(row.warning).toBe('too few bulk eigenvalues for an MP fit (only 9 of 10 are below it); MP columns are NaN');
    // The power law, the norms and the entropy are still read.
    const sv = await svdvals(spiked(10, 256, 3, 1));
    expect(row.lambda_max).toBeCloseTo(sv[0]! ** 2, 10);
    expect(row.alpha).toBe(powerLawFit(row.evals, { minTail: 10 }).alpha);
  });
  it('fewer eigenvalues than minEvals: every fit column NaN, the warning names the count', async () => {
    const row = await weightSpectrum(randn(5, 40, 2), { bootstrap: 0 });
    expect(row.alpha).toBeNaN();
    expect(row.variance_mp).toBeNaN();
    expect(row.warning).toBe('too few eigenvalues: 5 nonzero < minEvals 10; MP and power-law columns are NaN');
    expect(Number.isFinite(row.stable_rank)).toBe(true);
  });
  it('a well-conditioned layer has no warning', async () => {
    expect((await weightSpectrum(spiked(60, 120, 0, 3), { bootstrap: 0 })).warning).toBe('');
  });
});

describe('weightSpectrumSlices', () => {
  it('pools the eigenvalues of every slice and fits one MP law of ratio N/M', async () => {
    const slices = [0, 1, 2, 3].map((s) => randn(30, 50, 10 + s));
    const row = await weightSpectrumSlices(slices, { bootstrap: 0 });
    const want: number[] = [];
    for (const s of slices) for (const v of await svdvals(s)) want.push(v * v);
    want.sort((a, b) => a - b);
    expect(row.rf).toBe(4);
    expect(row.num_evals).toBe(120);
    expect(row.ratio).toBeCloseTo(0.6, 14);
    for (let i = 0; i < want.length; i++) expect(row.evals[i]).toBeCloseTo(want[i]!, 9);
    // entries N(0,1) → W_ij variance σ²/M with σ² = M = 50
    expect(row.variance_mp / 50).toBeGreaterThan(0.9);
    expect(row.variance_mp / 50).toBeLessThan(1.1);
  });
  it('one slice is exactly weightSpectrum', async () => {
    const w = spiked(40, 90, 2, 5);
    const a = await weightSpectrum(w, { randomize: { replicas: 2, seed: 1 } });
    const b = await weightSpectrumSlices([w], { randomize: { replicas: 2, seed: 1 } });
    expect(b).toEqual(a);
  });
  it('rejects slices of different shapes and partial routes over several slices', async () => {
    await expect(weightSpectrumSlices([randn(4, 5), randn(5, 4)])).rejects.toThrow(
      new RangeError("Expected a 4 x 5 matrix like slices[0] for slices[1] but received '5 x 4'"),
    );
    await expect(weightSpectrumSlices([])).rejects.toThrow(RangeError);
    await expect(weightSpectrumSlices([randn(20, 30), randn(20, 30, 2)], { route: 'partial' })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('analyzeWeights', () => {
  it('one row per named matrix, derived columns from their WeightWatcher definitions', async () => {
    const w1 = spiked(64, 128, 4, 7),
      w2 = randn(32, 64, 8);
    const rows = await analyzeWeights({ fc1: w1, fc2: { matrix: w2, type: 'dense' } }, { bootstrap: 0 });
    expect(rows.map((r) => [r.layer_id, r.name, r.layer_type])).toEqual([
      [0, 'fc1', 'matrix'],
      [1, 'fc2', 'dense'],
    ]);
    for (const r of rows) {
      let sum = 0,
        sumA = 0;
      for (const v of r.evals) {
        sum += v;
        sumA += v ** r.alpha;
      }
      expect(r.log_norm).toBeCloseTo(Math.log10(sum), 12);
      expect(r.log_spectral_norm).toBeCloseTo(Math.log10(r.evals[r.evals.length - 1]!), 12);
      expect(r.alpha_weighted).toBeCloseTo(r.alpha * r.log_spectral_norm, 12);
      expect(r.log_alpha_norm).toBeCloseTo(Math.log10(sumA), 10);
      expect(r.stable_rank).toBeCloseTo(sum / r.lambda_max, 10);
      expect(r.mp_softrank).toBeCloseTo(r.bulk_max / r.lambda_max, 12);
    }
    // fc1: θ = 4 in singular-value units, ratio 0.5: one spike, θ read back from BBP within 10 %
    const fc1 = rows[0]!;
    expect(fc1.num_spikes).toBe(1);
    expect(fc1.theta[0]! / 4).toBeGreaterThan(0.9);
    expect(fc1.theta[0]! / 4).toBeLessThan(1.1);
  });
  it("the warning follows WeightWatcher's α rule: < 2 over-trained, > 6 under-trained", () => {
    const base = {
      evals: Float64Array.of(1, 2),
      lambda_max: 2,
      norm: 3,
      snr: new Float64Array(0),
      variance_mp: 1,
      warning: '',
    };
    const w = (alpha: number, warning = ''): string =>
      weightRow({ ...base, alpha, warning } as never, { layerId: 0, name: 'x', type: 'matrix' }).warning;
    expect(w(1.9)).toBe('over-trained');
    expect(w(2)).toBe('');
    expect(w(6)).toBe('');
    expect(w(6.1)).toBe('under-trained');
    expect(w(NaN, 'too few eigenvalues')).toBe('too few eigenvalues');
    expect(w(7, 'x')).toBe('under-trained; x');
  });
  it("convention 'weightwatcher': N ≥ M, unitless σ ≈ 1 on noise, WW's spike cut and one-sided KS", async () => {
    const w = randn(300, 100, 21); // rows > cols: r = 3 in specdyn's convention
    const [s] = await analyzeWeights({ w }, { bootstrap: 0 });
    const [ww] = await analyzeWeights({ w }, { bootstrap: 0, convention: 'weightwatcher' });
    expect([s!.N, s!.M, s!.ratio]).toEqual([300, 100, 3]);
    expect([ww!.N, ww!.M, ww!.ratio]).toEqual([300, 100, 3]);
    const [wt] = await analyzeWeights({ w: transpose(w) }, { bootstrap: 0, convention: 'weightwatcher' });
    expect([wt!.N, wt!.M, wt!.ratio]).toEqual([300, 100, 3]);
    expect(wt!.sigma_mp).toBeCloseTo(ww!.sigma_mp, 10);
    // mean of the 100 nonzero eigenvalues is σ² r (σ² = cols = 100 for N(0,1) entries): WW's s² = σ² r / mean ≈ 1
    let mean = 0;
    for (const v of s!.evals) mean += v / s!.evals.length;
    expect(ww!.variance_mp).toBeCloseTo((s!.variance_mp * 3) / mean, 12);
    expect(Math.abs(ww!.sigma_mp - 1)).toBeLessThan(0.03);
    expect(ww!.bulk_max).toBe(s!.bulk_max);
    // WW's cut: λ₊' + √(Q^-1/2 λ₊'^(2/3) M^(-2/3)) in units of the mean
    const edge = s!.bulk_max / mean;
    const cut = (edge + Math.sqrt(3 ** -0.5 * edge ** (2 / 3) * 100 ** (-2 / 3))) * mean;
    expect(ww!.num_spikes).toBe(s!.evals.filter((v) => v > cut).length);
    // its α: every candidate, KS below each step only
    const pl = powerLawFit(
      s!.evals.filter((v) => v > 1e-5),
      { minTail: 2, maxCandidates: 1e9, ksSide: 'lower' },
    );
    expect(ww!.alpha).toBe(pl.alpha);
    expect(ww!.alpha_ks).toBeLessThanOrEqual(powerLawFit(s!.evals, { xmin: pl.xmin, minTail: 2 }).ks);
    await expect(analyzeWeights({ w }, { convention: 'ww' as never })).rejects.toThrow(
      new RangeError("Expected 'specdyn' or 'weightwatcher' for convention but received 'ww'"),
    );
  });
  it('bad input names the entry', async () => {
    await expect(analyzeWeights({})).rejects.toThrow(RangeError);
    await expect(analyzeWeights({ fc: { data: [1], rows: 1, cols: 1 } as never })).rejects.toThrow(TypeError);
    await expect(analyzeWeights({ fc: { slices: 3 } as never })).rejects.toThrow(/weights\.fc\.slices/);
  });
});

describe('analyzeModel', async () => {
  const { tf, backend }: { tf: Tf; backend: string } = await loadTf();

  function buildModel(): import('@tensorflow/tfjs').LayersModel {
    const input = tf.input({ shape: [12] });
    const emb = tf.layers
      .embedding({ inputDim: 50, outputDim: 16, name: 'emb' })
      .apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
    const img = tf.layers
      .reshape({ targetShape: [12, 16, 1], name: 'reshape' })
      .apply(emb) as import('@tensorflow/tfjs').SymbolicTensor;
    const conv = tf.layers
      .conv2d({ filters: 24, kernelSize: 3, name: 'conv' })
      .apply(img) as import('@tensorflow/tfjs').SymbolicTensor;
    const conv2 = tf.layers
      .conv2d({ filters: 20, kernelSize: [2, 3], name: 'conv2' })
      .apply(conv) as import('@tensorflow/tfjs').SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flat' }).apply(conv2) as import('@tensorflow/tfjs').SymbolicTensor;
    const h = tf.layers
      .dense({ units: 64, activation: 'relu', name: 'hidden' })
      .apply(flat) as import('@tensorflow/tfjs').SymbolicTensor;
    const out = tf.layers.dense({ units: 10, name: 'out' }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  it(`returns the documented rows for Dense, Conv2D and Embedding layers (backend recorded)`, async () => {
    expect(['specdyn-native', 'wasm', 'cpu', 'tfjs-node']).toContain(backend);
    const model = buildModel();
    const rows = await analyzeModel(model, { bootstrap: 0 });
    // layer ids index every layer of the walk (input 0, emb 1, reshape 2, conv 3, conv2 4, flat 5, hidden 6, out 7)
    expect(rows.map((r) => [r.layer_id, r.name, r.layer_type, r.N, r.M, r.rf, r.num_evals])).toEqual([
      [1, 'emb', 'embedding', 50, 16, 1, 16],
      [3, 'conv', 'conv2d', 24, 1, 9, 9],
      [4, 'conv2', 'conv2d', 20, 24, 6, 120],
      [6, 'hidden', 'dense', 64, 9 * 12 * 20, 1, 64],
      [7, 'out', 'dense', 10, 64, 1, 10],
    ]);
    // the 1-channel conv has 9 eigenvalues < minEvals: flagged, not NaN without a word
    expect(rows[1]!.warning).toMatch(/^too few eigenvalues: 9 nonzero < minEvals 10/);
    for (const r of rows) if (Number.isNaN(r.alpha) || Number.isNaN(r.sigma_mp)) expect(r.warning).not.toBe('');
  });

  it('its Dense rows equal weightSpectrum on the same kernels; its Conv2D rows weightSpectrumSlices on kernel[i, j]ᵀ', async () => {
    const model = buildModel();
    const rows = await analyzeModel(model, { bootstrap: 0, randomize: { replicas: 2, seed: 3 } });
    for (const name of ['hidden', 'out']) {
      const k = model.getLayer(name).getWeights()[0]!;
      const kernel: Mat = { data: Float64Array.from(k.dataSync()), rows: k.shape[0]!, cols: k.shape[1]! };
      const direct = await weightSpectrum(kernel, { kernel: true, bootstrap: 0, randomize: { replicas: 2, seed: 3 } });
      const row = rows.find((r) => r.name === name)!;
      // every weightSpectrum column equal; `warning` adds WeightWatcher's α rule in front of weightSpectrum's own
      for (const [key, value] of Object.entries(direct))
        if (key !== 'warning') expect((row as unknown as Record<string, unknown>)[key], key).toEqual(value);
      const alphaWarning = row.alpha < 2 ? 'over-trained' : row.alpha > 6 ? 'under-trained' : '';
      expect(row.warning).toBe([alphaWarning, direct.warning].filter(Boolean).join('; '));
    }
    const k = model.getLayer('conv2').getWeights()[0]!; // [2, 3, 24, 20]
    const data = k.dataSync();
    const slices: Mat[] = [];
    for (let s = 0; s < 6; s++) {
      const w = new Float64Array(20 * 24);
      for (let c = 0; c < 24; c++) for (let o = 0; o < 20; o++) w[o * 24 + c] = data[(s * 24 + c) * 20 + o]!;
      slices.push({ data: w, rows: 20, cols: 24 });
    }
    const direct = await weightSpectrumSlices(slices, { bootstrap: 0, randomize: { replicas: 2, seed: 3 } });
    const row = rows.find((r) => r.name === 'conv2')!;
    for (let i = 0; i < direct.evals.length; i++) expect(row.evals[i]).toBeCloseTo(direct.evals[i]!, 5);
    expect(row.variance_mp).toBeCloseTo(direct.variance_mp, 5);
  });

  it('layer filter, unknown names and models without weight layers are clear errors', async () => {
    const model = buildModel();
    const rows = await analyzeModel(model, { layers: ['out', 'emb'], bootstrap: 0 });
    expect(rows.map((r) => r.name)).toEqual(['out', 'emb']);
    await expect(analyzeModel(model, { layers: ['nope'] })).rejects.toThrow(
      new RangeError(
        "Expected the name of a weight layer (emb, conv, conv2, hidden, out) for layers but received 'nope'",
      ),
    );
    const bare = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2] })] });
    await expect(analyzeModel(bare)).rejects.toThrow(SpecdynError);
    await expect(analyzeModel({} as never)).rejects.toThrow(TypeError);
    expect(modelKernels(model).map((k) => k.shape)).toEqual([
      [50, 16],
      [3, 3, 1, 24],
      [2, 3, 24, 20],
      [2160, 64],
      [64, 10],
    ]);
  });
});
