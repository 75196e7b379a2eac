// Comparing the 'specdyn-native' tfjs backend with the cpu backend: the error measure and the
// same-error check shared by the backend test files.
import { expect } from 'vitest';
import type { Tf } from '../src/tfjs/index.js';

/**
 * max |got - want| / max(|want|) over the finite entries of want; a non-finite entry must be
 * matched exactly (NaN by NaN), else Infinity.
 */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) return Infinity;
      continue;
    }
    err = Math.max(err, Math.abs(g - w) / (scale || 1));
  }
  return err;
}

/** fn throws on both backends, with the same error class and message. */
export function expectSameError(tf: Tf, fn: () => unknown, backend: string, reference = 'cpu'): void {
  const grab = (name: string): Error => {
    tf.setBackend(name);
    try {
      tf.tidy(() => {
        fn();
      });
    } catch (e) {
      return e as Error;
    }
    throw new Error(`no error on ${name}`);
  };
  const want = grab(reference);
  const got = grab(backend);
  expect(got.constructor).toBe(want.constructor);
  expect(got.message).toBe(want.message);
}
