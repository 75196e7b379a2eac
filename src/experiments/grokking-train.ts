/**
 * One grokking training run: modular addition (a + b) mod p on all p² ordered pairs, a seeded
 * split into a train set (a fraction of the pairs) and a test set (the rest), a fixed held set of
 * test pairs for OMD, an MLP over learned token embeddings, full-batch AdamW, and a
 * SpectralMonitor that records the OMD snapshots of the embedding and hidden layers (and the
 * weight spectra of every kernel) into a run directory.
 *
 * Model: input (a, b) as two one-hot tokens [2, p] → `embed` (bias-free Dense p → d shared by both
 * tokens: row a of its kernel is token a's vector; a pair's output is the two vectors, read as
 * one 2d-vector) → `hidden` (Dense, ReLU) → `logits` (Dense p).
 * Loss: mean softmax cross-entropy over the whole train set (one step = one full-batch AdamW
 * update). Step s = after s updates; step 0 is the initialisation. Logged at every snapshot:
 * `loss` (the train loss of the step's own forward pass, i.e. before its update), `acc` (train
 * accuracy after the update), `val_acc` / `val_loss` (the test set), `embed_fourier_top5` (share of the token
 * embedding's power in its 5 strongest frequencies, see fourierFingerprint).
 */
import { AbortError, SpecdynError } from '../errors.js';
import { Rng } from '../random.js';
import type { Tf } from '../tfjs/index.js';
import { SpectralMonitor } from '../train/index.js';
import { AdamW } from './grokking-adamw.js';
import { fourierFingerprint } from './grokking-detect.js';

type Tensor = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

/** The pairs of one split: tokens a, b and label (a + b) mod p, as parallel integer arrays. */
export interface PairSet {
  a: Int32Array;
  b: Int32Array;
  y: Int32Array;
}

/** The seeded split of the p² pairs. */
export interface ModularSplit {
  p: number;
  train: PairSet;
  test: PairSet;
  /** The OMD held set: `probeCount` pairs of the test set (never trained on), in a fixed order. */
  probes: PairSet;
}

function subset(a: Int32Array, b: Int32Array, p: number, idx: ArrayLike<number>): PairSet {
  const out = { a: new Int32Array(idx.length), b: new Int32Array(idx.length), y: new Int32Array(idx.length) };
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    out.a[i] = a[k]!;
    out.b[i] = b[k]!;
    out.y[i] = (a[k]! + b[k]!) % p;
  }
  return out;
}

/**
 * Splits the p² ordered pairs (a, b), 0 ≤ a, b < p, with a seeded permutation: the first
 * round(trainFraction·p²) pairs train, the rest test; the held set is the first `probeCount`
 * test pairs of a second permutation (so it does not depend on the train fraction's boundary).
 * @throws SpecdynError when the train or test set would be empty or the test set is smaller than
 *   the held set.
 */
export function splitPairs(p: number, trainFraction: number, probeCount: number, seed: number): ModularSplit {
  const n = p * p;
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = Math.floor(i / p);
    b[i] = i % p;
  }
  const rng = new Rng(seed, 7001);
  const perm = rng.permutation(new Int32Array(n));
  const nTrain = Math.round(trainFraction * n);
  if (nTrain < 1 || nTrain >= n)
    throw new SpecdynError(
      `Expected a train fraction leaving both splits non-empty for trainFraction but received ${trainFraction} (${nTrain} of ${n} pairs)`,
    );
  if (n - nTrain < probeCount)
    throw new SpecdynError(
      `Expected at most ${n - nTrain} held-set pairs (the test set of p = ${p} at trainFraction ${trainFraction}) for probes but received ${probeCount}`,
    );
  const testIdx = perm.subarray(nTrain);
  const pick = rng.permutation(new Int32Array(testIdx.length)).subarray(0, probeCount);
  const probeIdx = Int32Array.from(pick, (k) => testIdx[k]!);
  return {
    p,
    train: subset(a, b, p, perm.subarray(0, nTrain)),
    test: subset(a, b, p, testIdx),
    probes: subset(a, b, p, probeIdx),
  };
}

/** Options of {@link trainGrokkingRun}. */
export interface GrokkingRunOptions {
  tf: Tf;
  split: ModularSplit;
  embedDim: number;
  hidden: number;
  lr: number;
  weightDecay: number;
  /** Step budget. */
  steps: number;
  snapshotEvery: number;
  /** Test accuracy that defines the jump (first evaluated step at or above it). */
  jumpThreshold: number;
  /** Steps trained past the jump before stopping early (Infinity: the whole budget). */
  afterJump: number;
  seed: number;
  /** Run directory the monitor writes. */
  run: string;
  /** Extra run.json metadata. */
  meta: Record<string, unknown>;
  config: unknown;
  signal: AbortSignal;
  /** Called after each evaluation (step, test accuracy). */
  onEval?: (step: number, testAcc: number) => void;
}

/** What one run measured (besides its run directory). */
export interface GrokkingRunResult {
  /** Evaluated steps (every snapshot step) with train/test accuracy and losses. */
  curve: { step: number; loss: number; trainAcc: number; testAcc: number; testLoss: number }[];
  /** First evaluated step with test accuracy ≥ jumpThreshold; null if never. */
  jumpStep: number | null;
  /** First evaluated step with train accuracy ≥ 0.99; null if never. */
  memorizeStep: number | null;
  /** Last step trained. */
  lastStep: number;
  /** Token embedding at step 0 and at the end (p x d, row a = token a), float64. */
  embedInit: Float64Array;
  embedFinal: Float64Array;
  /** Mean milliseconds per training step (forward, backward, update; evaluation and capture excluded). */
  msPerStep: number;
}

/** The MLP over token embeddings (see the module doc), weights seeded from `seed`. */
export function buildGrokkingModel(tf: Tf, p: number, embedDim: number, hidden: number, seed: number): LayersModel {
  // The embedding is a bias-free Dense layer on one-hot tokens (row a of its p x d kernel is the
  // vector of token a): its gradient is one matrix product, where tfjs's Embedding layer
  // back-propagates through a per-token segment sum that costs seconds per full-batch step.
  const input = tf.input({ shape: [2, p], name: 'pair' });
  const embed = tf.layers
    .dense({
      units: embedDim,
      useBias: false,
      name: 'embed',
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1 / Math.sqrt(embedDim), seed: seed * 3 + 1 }),
    })
    .apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'concat' }).apply(embed);
  const h = tf.layers
    .dense({
      units: hidden,
      activation: 'relu',
      name: 'hidden',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 3 + 2 }),
    })
    .apply(flat);
  const out = tf.layers
    .dense({
      units: p,
      name: 'logits',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 3 + 3 }),
    })
    .apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'grokking_mlp' });
}

/** The pairs as one-hot tokens, [n, 2, p] float32. */
export function pairTensor(tf: Tf, s: PairSet, p: number): import('@tensorflow/tfjs').Tensor3D {
  const n = s.a.length;
  const x = new Float32Array(n * 2 * p);
  for (let i = 0; i < n; i++) {
    x[2 * i * p + s.a[i]!] = 1;
    x[(2 * i + 1) * p + s.b[i]!] = 1;
  }
  return tf.tensor3d(x, [n, 2, p]);
}

/** Trains one run (see the module doc). @throws AbortError when `signal` fires (the run is closed as interrupted). */
export async function trainGrokkingRun(o: GrokkingRunOptions): Promise<GrokkingRunResult> {
  const { tf, split } = o;
  const p = split.p;
  const model = buildGrokkingModel(tf, p, o.embedDim, o.hidden, o.seed);
  const xTrain = pairTensor(tf, split.train, p);
  const yTrain = tf.oneHot(tf.tensor1d(split.train.y, 'int32'), p);
  const xTest = pairTensor(tf, split.test, p);
  const yTestOne = tf.oneHot(tf.tensor1d(split.test.y, 'int32'), p);
  const yTest = tf.tensor1d(split.test.y, 'int32');
  const yTrainIdx = tf.tensor1d(split.train.y, 'int32');
  const probes = pairTensor(tf, split.probes, p);
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const opt = new AdamW(tf, vars, { lr: o.lr, weightDecay: o.weightDecay });
  const monitor = new SpectralMonitor(model, {
    probes,
    probeLabels: split.probes.y,
    layers: ['embed', 'hidden'],
    kernels: 'all',
    schedule: { every: o.snapshotEvery },
    run: o.run,
    config: o.config,
    seed: o.seed,
    meta: o.meta,
    tf,
  });
  const embedOf = (): Float64Array => Float64Array.from(model.getLayer('embed').getWeights()[0]!.dataSync());
  const embedInit = embedOf();
  const curve: GrokkingRunResult['curve'] = [];
  let jumpStep: number | null = null;
  let memorizeStep: number | null = null;
  let trainMs = 0;
  let trained = 0;
  const evaluate = (step: number, loss: number): Record<string, number> => {
    const [trainAcc, testAcc, testLoss] = tf.tidy(() => {
      const acc = (x: Tensor, y: Tensor): number =>
        tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(x) as Tensor, 1), y), 'float32')).dataSync()[0]!;
      const tl = tf.losses.softmaxCrossEntropy(yTestOne, model.predict(xTest) as Tensor).dataSync()[0]!;
      return [acc(xTrain, yTrainIdx), acc(xTest, yTest), tl];
    });
    curve.push({ step, loss, trainAcc, testAcc, testLoss });
    if (jumpStep === null && testAcc >= o.jumpThreshold) jumpStep = step;
    if (memorizeStep === null && trainAcc >= 0.99) memorizeStep = step;
    o.onEval?.(step, testAcc);
    const fourier = fourierFingerprint(embedOf(), p, o.embedDim);
    return { loss, acc: trainAcc, val_acc: testAcc, val_loss: testLoss, embed_fourier_top5: fourier.top5Share };
  };
  const lossFn = (): import('@tensorflow/tfjs').Scalar =>
    tf.losses.softmaxCrossEntropy(
      yTrain,
      model.apply(xTrain, { training: true }) as Tensor,
    ) as import('@tensorflow/tfjs').Scalar;
  let step = 0;
  let status: 'finished' | 'interrupted' | 'failed' = 'finished';
  let failure: unknown;
  try {
    const initLoss = tf.tidy(() => lossFn().dataSync()[0]!);
    await monitor.capture(0, evaluate(0, initLoss));
    while (step < o.steps) {
      if (o.signal.aborted) {
        status = 'interrupted';
        throw new AbortError('The grokking run was aborted', { cause: o.signal.reason });
      }
      const t0 = performance.now();
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(lossFn, vars);
        opt.step(vars.map((v) => grads[v.name]!));
        return value.dataSync()[0]!;
      });
      trainMs += performance.now() - t0;
      trained++;
      step++;
      if (!Number.isFinite(loss))
        throw new SpecdynError(`Expected a finite training loss for loss but received ${loss} at step ${step}`);
      const stop = step === o.steps || (jumpStep !== null && step >= jumpStep + o.afterJump);
      if (monitor.isScheduled(step) || stop) {
        await monitor.capture(step, evaluate(step, loss), { force: true });
      }
      if (stop) break;
      // Let the monitor's analysis (libuv pool) settle its promises between steps.
      if (step % 10 === 0) await new Promise((r) => setImmediate(r));
    }
  } catch (err) {
    if (status !== 'interrupted') status = 'failed';
    failure = err;
  } finally {
    try {
      await monitor.close({ status, ...(failure !== undefined && status === 'failed' ? { error: failure } : {}) });
    } finally {
      opt.dispose();
      for (const t of [xTrain, yTrain, xTest, yTestOne, yTest, yTrainIdx, probes]) t.dispose();
    }
  }
  if (failure !== undefined) throw failure;
  const embedFinal = embedOf();
  model.dispose();
  return {
    curve,
    jumpStep,
    memorizeStep,
    lastStep: step,
    embedInit,
    embedFinal,
    msPerStep: trained > 0 ? trainMs / trained : NaN,
  };
}
