// The grokking experiment's parts: AdamW's decoupled decay against a hand computation and against
// tfjs's own Adam (no decay), the Fourier fingerprint and token OMD of an exact circulant
// embedding, the onset detector's step arithmetic, the data split, and bad parameters.
// The quick-mode run itself is in test/slow/grokking.slow.test.ts.
import { describe, expect, it } from 'vitest';
import { getExperiment } from '../src/experiments/registry.js';
import { ParamError, resolveParams, type ExperimentContext } from '../src/experiments/types.js';
import { AdamW } from '../src/experiments/grokking-adamw.js';
import {
  detectOnset,
  embeddingOmd,
  firstStepAtLeast,
  fourierFingerprint,
  GROKKING_DETECTOR,
  participationDecline,
} from '../src/experiments/grokking-detect.js';
import { splitPairs } from '../src/experiments/grokking-train.js';
import type { RegimeReport } from '../src/omd/index.js';
import { loadTf } from '../src/tfjs/index.js';

const { tf } = await loadTf();

describe('AdamW', () => {
  it('matches a hand computation of two decoupled-decay steps on a tiny tensor', () => {
    const theta = tf.variable(tf.tensor1d([1, -2]));
    const lr = 0.1,
      wd = 0.5,
      b1 = 0.9,
      b2 = 0.98,
      eps = 1e-8;
    const opt = new AdamW(tf, [theta], { lr, weightDecay: wd, beta1: b1, beta2: b2, epsilon: eps });
    const g1 = [0.5, -1];
    const g2 = [0.1, 0.2];
    opt.step([tf.tensor1d(g1)]);
    // Step 1: m̂ = g, v̂ = g², so the Adam part is sign(g); decay uses θ₀:
    // θ₁ = θ₀ − lr·wd·θ₀ − lr·sign(g₁) = [1 − 0.05 − 0.1, −2 + 0.1 + 0.1].
    const t1 = Array.from(theta.dataSync());
    expect(t1[0]).toBeCloseTo(0.85, 6);
    expect(t1[1]).toBeCloseTo(-1.8, 6);
    opt.step([tf.tensor1d(g2)]);
    // Step 2 by hand: m₂ = 0.09 g₁ + 0.1 g₂, v₂ = 0.0196 g₁² + 0.02 g₂², bias corrections 1 − 0.81 and 1 − 0.9604.
    const want = [0, 1].map((i) => {
      const m = 0.09 * g1[i]! + 0.1 * g2[i]!;
      const v = 0.0196 * g1[i]! ** 2 + 0.02 * g2[i]! ** 2;
      const u = m / 0.19 / (Math.sqrt(v / 0.0396) + eps);
      return t1[i]! - lr * wd * t1[i]! - lr * u;
    });
    const t2 = Array.from(theta.dataSync());
    // float32 arithmetic: 1e-6 relative
    expect(t2[0]).toBeCloseTo(want[0]!, 5);
    expect(t2[1]).toBeCloseTo(want[1]!, 5);
    expect(opt.iterations).toBe(2);
    opt.dispose();
    theta.dispose();
  });

  it('without decay is tfjs Adam (same moments, bias correction and ε), and decay is not an L2 gradient term', () => {
    const init = [0.3, -0.7, 1.2, 0.05];
    const grads = [
      [0.2, -0.1, 0.4, 0.0],
      [-0.3, 0.2, 0.1, 0.5],
      [0.05, 0.05, -0.2, 0.1],
    ];
    const a = tf.variable(tf.tensor1d(init));
    const b = tf.variable(tf.tensor1d(init));
    const c = tf.variable(tf.tensor1d(init));
    const mine = new AdamW(tf, [a], { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    const theirs = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    const decayed = new AdamW(tf, [c], { lr: 0.01, weightDecay: 2, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    for (const g of grads) {
      mine.step([tf.tensor1d(g)]);
      theirs.applyGradients([{ name: b.name, tensor: tf.tensor1d(g) }]);
      decayed.step([tf.tensor1d(g)]);
    }
    const x = Array.from(a.dataSync());
    const y = Array.from(b.dataSync());
    for (let i = 0; i < init.length; i++) expect(x[i]).toBeCloseTo(y[i]!, 6);
    // Decoupled decay shrinks each weight by (1 − lr·wd) per step on top of the same Adam steps:
    // θ_T = (1 − lr·wd)^T θ₀ − lr Σ_t (1 − lr·wd)^(T−t) u_t, with u_t the undecayed run's updates.
    const z = Array.from(c.dataSync());
    const k = 1 - 0.01 * 2;
    // Recover u_t from an undecayed run step by step.
    const d = tf.variable(tf.tensor1d(init));
    const plain = new AdamW(tf, [d], { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    const us: number[][] = [];
    for (const g of grads) {
      const before = Array.from(d.dataSync());
      plain.step([tf.tensor1d(g)]);
      const after = Array.from(d.dataSync());
      us.push(before.map((v, i) => (v - after[i]!) / 0.01));
    }
    for (let i = 0; i < init.length; i++) {
      let want = k ** 3 * init[i]!;
      for (let t = 0; t < 3; t++) want -= 0.01 * k ** (2 - t) * us[t]![i]!;
      expect(z[i]).toBeCloseTo(want, 5);
    }
    for (const v of [a, b, c, d]) v.dispose();
  });

  it('rejects bad hyper-parameters and gradient lists, naming them', () => {
    const v = tf.variable(tf.zeros([2]));
    expect(() => new AdamW(tf, [v], { lr: 0 })).toThrow(RangeError);
    expect(() => new AdamW(tf, [v], { lr: 0.1, beta1: 1 })).toThrow(/beta1/);
    expect(() => new AdamW(tf, [v], { lr: 0.1, weightDecay: -1 })).toThrow(/weightDecay/);
    const opt = new AdamW(tf, [v], { lr: 0.1 });
    expect(() => opt.step([])).toThrow(/1 gradients for grads/);
    expect(() => opt.step([tf.zeros([3])])).toThrow(/shape \[2\]/);
    opt.dispose();
    v.dispose();
  });
});

describe('Fourier fingerprint and token OMD', () => {
  const p = 31;
  /** Rows a = (cos, sin) of 2π k a / p at the key frequencies, amplitude per frequency. */
  const circular = (keys: number[], amps: number[]): Float64Array => {
    const d = keys.length * 2;
    const e = new Float64Array(p * d);
    for (let a = 0; a < p; a++)
      keys.forEach((k, j) => {
        e[a * d + 2 * j] = amps[j]! * Math.cos((2 * Math.PI * k * a) / p);
        e[a * d + 2 * j + 1] = amps[j]! * Math.sin((2 * Math.PI * k * a) / p);
      });
    return e;
  };

  it('puts the power of an exact circulant embedding on its key frequencies', () => {
    // Power of a (cos, sin) pair of amplitude A at frequency k: p²A²/2 at k and at p − k → share ∝ A².
    const f = fourierFingerprint(circular([3, 7], [1, 2]), p, 4);
    expect(f.ranked.slice(0, 2)).toEqual([7, 3]);
    expect(f.power[6]).toBeCloseTo(0.8, 12);
    expect(f.power[2]).toBeCloseTo(0.2, 12);
    expect(f.top5Share).toBeCloseTo(1, 12);
    expect(f.effectiveFrequencies).toBeCloseTo(1 / (0.64 + 0.04), 10);
  });

  it('reads the circulant token embedding as a band of doublets (fourier) and an exactly circulant M', async () => {
    const o = await embeddingOmd(circular([2, 5, 11], [1, 1, 1]), p, 6);
    expect(o.circulantDeviation).toBeLessThan(1e-12);
    expect(o.fingerprint).toBe('fourier');
    expect(o.bandSize % 2).toBe(0);
    expect(o.doubletSplit).toBeLessThan(1e-8);
  });

  it('spreads the power of a random embedding (share of the top 5 of 15 frequencies well below 1)', async () => {
    let s = 12345;
    const e = Float64Array.from({ length: p * 16 }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648 - 0.5;
    });
    const f = fourierFingerprint(e, p, 16);
    expect(f.power.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(f.top5Share).toBeLessThan(0.6);
    expect(f.effectiveFrequencies).toBeGreaterThan(8);
    const o = await embeddingOmd(e, p, 16);
    expect(o.circulantDeviation).toBeGreaterThan(0.05);
  });
});

describe('detector and jump', () => {
  const report = (transitions: RegimeReport['transitions']): RegimeReport => ({
    windows: [],
    transitions,
    verdict: transitions.length ? 'transition' : 'diffusive',
  });

  it('fires at the minWindow-th snapshot of the first band that forms and holds', () => {
    const steps = [0, 50, 100, 150, 200, 250, 300];
    const d = detectOnset(
      report([
        { step: 100, index: 2, bandSize: 4, previousBandSize: 0, fingerprint: 'fourier' },
        { step: 250, index: 5, bandSize: 2, previousBandSize: 4, fingerprint: 'clusters' },
      ]),
      steps,
      GROKKING_DETECTOR.minWindow,
    );
    expect(d).toEqual({ onsetStep: 100, alarmStep: 200, bandSize: 4, fingerprint: 'fourier', verdict: 'transition' });
    expect(detectOnset(report([]), steps, 3)).toMatchObject({ onsetStep: null, alarmStep: null, bandSize: 0 });
    expect(() =>
      detectOnset(report([{ step: 300, index: 6, bandSize: 2, previousBandSize: 0, fingerprint: 'noise' }]), steps, 3),
    ).toThrow(RangeError);
  });

  it('takes the first evaluated step at or above the threshold', () => {
    const c = [0.1, 0.5, 0.89, 0.9, 0.2, 0.95].map((value, i) => ({ step: i * 10, value }));
    expect(firstStepAtLeast(c, 0.9)).toBe(30);
    expect(firstStepAtLeast(c, 0.99)).toBeNull();
  });
});

describe('split', () => {
  it('partitions the p² pairs, labels them (a + b) mod p and holds probes out of training', () => {
    const s = splitPairs(13, 0.3, 40, 5);
    expect(s.train.a.length).toBe(Math.round(0.3 * 169));
    expect(s.train.a.length + s.test.a.length).toBe(169);
    const key = (a: number, b: number): number => a * 13 + b;
    const train = new Set(Array.from(s.train.a, (a, i) => key(a, s.train.b[i]!)));
    const test = new Set(Array.from(s.test.a, (a, i) => key(a, s.test.b[i]!)));
    expect(train.size + test.size).toBe(169);
    for (let i = 0; i < 40; i++) {
      expect(test.has(key(s.probes.a[i]!, s.probes.b[i]!))).toBe(true);
      expect(s.probes.y[i]).toBe((s.probes.a[i]! + s.probes.b[i]!) % 13);
    }
    // Same seed, same split; another seed, another one.
    expect(Array.from(splitPairs(13, 0.3, 40, 5).train.a)).toEqual(Array.from(s.train.a));
    expect(Array.from(splitPairs(13, 0.3, 40, 6).train.a)).not.toEqual(Array.from(s.train.a));
  });
});

describe('parameters', () => {
  const ctx = (out: string): ExperimentContext => ({
    out,
    signal: new AbortController().signal,
    progress: () => {},
    log: () => {},
  });

  it('rejects bad values with ParamError naming the parameter', async () => {
    const exp = await getExperiment('grokking');
    expect(() => resolveParams(exp, { p: 2 })).toThrow(ParamError);
    expect(() => resolveParams(exp, { p: 2 })).toThrow(/grokking\.p/);
    expect(() => resolveParams(exp, { trainFraction: 1.5 })).toThrow(/grokking\.trainFraction/);
    expect(() => resolveParams(exp, { seeds: 0 })).toThrow(ParamError);
    expect(() => resolveParams(exp, { backend: 'gpu' })).toThrow(/grokking\.backend/);
    expect(() => resolveParams(exp, { learningRate: 0.1 })).toThrow(/parameter/);
    expect(resolveParams(exp, { steps: '100' }).steps).toBe(100);
  });

  it('rejects a held set larger than the test set before training anything', async () => {
    const exp = await getExperiment('grokking');
    const params = resolveParams(exp, { p: 7, trainFraction: 0.5, probes: 40 });
    await expect(exp.run(params, ctx('unused'))).rejects.toThrow(ParamError);
    await expect(exp.run(params, ctx('unused'))).rejects.toThrow(/grokking\.trainFraction/);
  });
});

describe('exploratory participation-ratio decline', () => {
  it('finds the peak (step 0 skipped) and the first step after it below 95 % of the peak', () => {
    const pr = [200, 80, 90, 100, 97, 94, 96, 60];
    const rows = pr.map((participation_ratio, i) => ({ step: i * 50, participation_ratio }));
    expect(participationDecline(rows)).toEqual({ peakStep: 150, peakValue: 100, declineStep: 250 });
    expect(participationDecline(rows, 0.5).declineStep).toBeNull();
    expect(participationDecline(rows.slice(0, 2)).peakStep).toBeNull();
  });
});
