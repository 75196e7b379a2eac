/**
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019) over tfjs
 * variables. tfjs ships Adam but no AdamW, and adding `λ·θ` to the gradient (L2 regularisation)
 * is not the same thing under Adam's per-coordinate scaling, so the decoupled step is written out
 * here. With t = 1, 2, … and the moments m₀ = v₀ = 0:
 *
 *   m_t = β₁ m_{t−1} + (1 − β₁) g_t
 *   v_t = β₂ v_{t−1} + (1 − β₂) g_t²
 *   m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ)
 *   θ_t = θ_{t−1} − η·λ·θ_{t−1} − η·m̂_t / (√v̂_t + ε)
 *
 * The decay uses θ_{t−1} (the weights before this step) and is scaled by the learning rate η but
 * not by Adam's 1/√v̂; this is PyTorch's `torch.optim.AdamW` (θ ← θ(1 − ηλ), then the Adam step).
 */
import { expected } from '../errors.js';
import { checkNumber } from '../validate.js';
import type { Tf } from '../tfjs/index.js';

type Variable = import('@tensorflow/tfjs').Variable;
type Tensor = import('@tensorflow/tfjs').Tensor;

/** Hyper-parameters of {@link AdamW}. */
export interface AdamWOptions {
  /** Learning rate η (> 0). */
  lr: number;
  /** Decoupled weight decay λ (≥ 0; per unit learning rate, as in PyTorch). Default 0. */
  weightDecay?: number;
  /** β₁ in [0, 1); default 0.9. */
  beta1?: number;
  /** β₂ in [0, 1); default 0.98 (the grokking literature's choice; PyTorch's default is 0.999). */
  beta2?: number;
  /** ε > 0 added to √v̂; default 1e-8. */
  epsilon?: number;
}

/**
 * Full-batch AdamW over a fixed list of tfjs variables (see the module doc for the update).
 * @throws RangeError for a hyper-parameter out of range (naming it).
 */
export class AdamW {
  /** Optimizer steps taken so far (t of the last update). */
  iterations = 0;
  readonly lr: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly tf: Tf;
  private readonly vars: Variable[];
  private readonly m: Variable[];
  private readonly v: Variable[];

  constructor(tf: Tf, variables: Variable[], options: AdamWOptions) {
    this.tf = tf;
    this.lr = checkNumber(options.lr, 'lr', { min: 0 });
    if (!(this.lr > 0)) throw new RangeError(expected('a learning rate > 0', 'lr', options.lr));
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'weightDecay', { min: 0 });
    this.beta1 = checkNumber(options.beta1 ?? 0.9, 'beta1', { min: 0, max: 1 });
    this.beta2 = checkNumber(options.beta2 ?? 0.98, 'beta2', { min: 0, max: 1 });
    if (this.beta1 >= 1) throw new RangeError(expected('a number in [0, 1)', 'beta1', this.beta1));
    if (this.beta2 >= 1) throw new RangeError(expected('a number in [0, 1)', 'beta2', this.beta2));
    this.epsilon = checkNumber(options.epsilon ?? 1e-8, 'epsilon', { min: 0 });
    if (!(this.epsilon > 0)) throw new RangeError(expected('a number > 0', 'epsilon', this.epsilon));
    this.vars = variables;
    this.m = variables.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = variables.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /**
   * One update with `grads[i]` the gradient of variable i (same shapes; the caller disposes them).
   * @throws RangeError for a gradient list of the wrong length or a gradient of the wrong shape.
   */
  step(grads: readonly Tensor[]): void {
    const tf = this.tf;
    if (grads.length !== this.vars.length)
      throw new RangeError(expected(`${this.vars.length} gradients`, 'grads', `${grads.length} gradients`));
    this.iterations++;
    const t = this.iterations;
    const c1 = 1 / (1 - this.beta1 ** t);
    const c2 = 1 / (1 - this.beta2 ** t);
    const keep = 1 - this.lr * this.weightDecay;
    tf.tidy(() => {
      for (let i = 0; i < this.vars.length; i++) {
        const x = this.vars[i]!;
        const g = grads[i]!;
        if (g.shape.length !== x.shape.length || g.shape.some((d, k) => d !== x.shape[k]))
          throw new RangeError(
            expected(`a gradient of shape [${x.shape.join(', ')}]`, `grads[${i}]`, `shape [${g.shape.join(', ')}]`),
          );
        const m = this.m[i]!;
        const v = this.v[i]!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.mul(m, c1), tf.add(tf.sqrt(tf.mul(v, c2)), this.epsilon));
        x.assign(tf.sub(keep === 1 ? x : tf.mul(x, keep), tf.mul(update, this.lr)));
      }
    });
  }

  /** Frees the moment variables. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
