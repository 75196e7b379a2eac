/**
 * How each linalg operation becomes its async function and `*Sync` twin: one helper, so that
 * both forms check the same options, name the operation the same way and type their results
 * from the one binding interface (src/native.ts). Internal: not re-exported.
 */
import { withCallSite } from '../errors.js';
import { native, type NativeBinding, type NativeOp } from '../native.js';
import { checkOptions } from '../validate.js';

/** An operation's async and sync forms, made by {@link twins}. */
export interface Twins<M, O, R> {
  async(input: M, options?: O): Promise<R>;
  sync(input: M, options?: O): R;
}

/**
 * The async/Sync pair of one native operation: both check the options keys ({@link checkOptions},
 * named `fn`), then call the binding. The async form captures the caller's stack before
 * dispatch and gives it to a rejection ({@link withCallSite}), so a failure on the pool still
 * points at the user's code.
 */
export function twins<M, O extends object, R>(
  fn: string,
  keys: readonly string[],
  pick: (b: NativeBinding) => NativeOp<[M, O | undefined], R>,
): Twins<M, O, R> {
  return {
    async async(input: M, options?: O): Promise<R> {
      const site = new Error();
      try {
        checkOptions(fn, options, keys);
        return await pick(native())(input, options, true);
      } catch (err) {
        throw withCallSite(err, site);
      }
    },
    sync(input: M, options?: O): R {
      checkOptions(fn, options, keys);
      return pick(native())(input, options, false);
    },
  };
}
