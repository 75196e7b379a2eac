// Training parity across tfjs backends: 300 Adam steps of a small MLP on specdyn-native, cpu and
// wasm reach the same losses (a few seconds: the slow suite, `npm run test:slow`).
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { loadTf, NATIVE_BACKEND_NAME, type Tf } from '../../src/tfjs/index.js';

let tf: Tf;

beforeAll(async () => {
  // Load (register) all three backends once; train() then switches between them.
  await loadTf({ backend: 'wasm' });
  await loadTf({ backend: 'cpu' });
  tf = (await loadTf({ backend: 'specdyn-native' })).tf;
});

describe('training', () => {
  /** A seeded 16-32-32-4 MLP on a fixed synthetic task; returns the loss after each epoch. */
  async function train(backend: string, steps: number): Promise<number[]> {
    await tf.setBackend(backend);
    const data = new Rng(7);
    const n = 64;
    const x = tf.tensor2d(data.fillNormal(new Float32Array(n * 16)), [n, 16]);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4).toFloat();
    const model = tf.sequential();
    model.add(
      tf.layers.dense({
        units: 32,
        inputShape: [16],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
    );
    model.add(
      tf.layers.dense({ units: 32, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    );
    model.add(
      tf.layers.dense({
        units: 4,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    );
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const l = await model.trainOnBatch(x, y);
      if ((s + 1) % 50 === 0) losses.push(Number(l));
    }
    model.dispose();
    tf.dispose([x, y]);
    return losses;
  }

  it('300 Adam steps of an MLP reach the same losses on specdyn-native, cpu and wasm', async () => {
    const steps = 300;
    const native = await train(NATIVE_BACKEND_NAME, steps);
    const cpu = await train('cpu', steps);
    const wasm = await train('wasm', steps);
    await tf.setBackend(NATIVE_BACKEND_NAME);
    expect(native[native.length - 1]!).toBeLessThan(0.5 * native[0]!); // it actually learns
    for (let i = 0; i < native.length; i++) {
      // float32 round-off differs between backends and grows along the trajectory.
      expect(Math.abs(native[i]! - cpu[i]!)).toBeLessThanOrEqual(2e-3 + 1e-2 * cpu[i]!);
      expect(Math.abs(native[i]! - wasm[i]!)).toBeLessThanOrEqual(2e-3 + 1e-2 * wasm[i]!);
    }
  });
});
