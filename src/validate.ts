/**
 * Argument checks shared by every TypeScript layer: numbers with bounds, integers, one-of
 * choices, option objects and arrays of finite numbers. The one implementation of these checks;
 * analysis and training code call them rather than writing their own.
 *
 * Messages follow "Expected <what> for <name> but received <value>" ({@link expected}); a wrong
 * kind raises TypeError, a value of the right kind that is out of range, not finite or not an
 * integer raises RangeError.
 *
 * Optional arguments are checked as `checkNumber(options.x ?? def, 'x', …)`: `undefined` (and
 * `null`) take the default, anything else must pass.
 */
import { expected } from './errors.js';

/** Bounds of {@link checkNumber}; all optional (default: any finite number). */
export interface NumberBounds {
  /** Lower bound (default −∞); inclusive unless minExclusive. */
  min?: number;
  /** Upper bound (default +∞); inclusive unless maxExclusive. */
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /** Require an integer. */
  integer?: boolean;
}

/** The <what> of a bounded number: "a number > 0", "an integer ≥ 1", "a number in (0, 1]", "an integer". */
function describeBounds({
  min = -Infinity,
  max = Infinity,
  minExclusive = false,
  maxExclusive = false,
  integer = false,
}: NumberBounds): string {
  const kind = integer ? 'an integer' : 'a number';
  const hasMin = min !== -Infinity,
    hasMax = max !== Infinity;
  if (hasMin && hasMax) return `${kind} in ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
  if (hasMin) return `${kind} ${minExclusive ? '>' : '≥'} ${min}`;
  if (hasMax) return `${kind} ${maxExclusive ? '<' : '≤'} ${max}`;
  return integer ? 'an integer' : 'a finite number';
}

/**
 * Checks a finite number within bounds and returns it. TypeError when x is not a number;
 * RangeError when it is NaN/±Infinity, out of bounds, or (with `integer`) not an integer.
 */
export function checkNumber(x: unknown, name: string, bounds: NumberBounds = {}): number {
  if (typeof x !== 'number') throw new TypeError(expected(bounds.integer ? 'an integer' : 'a number', name, x));
  const { min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false, integer = false } = bounds;
  if (
    !Number.isFinite(x) ||
    (minExclusive ? x <= min : x < min) ||
    (maxExclusive ? x >= max : x > max) ||
    (integer && !Number.isInteger(x))
  ) {
    throw new RangeError(expected(describeBounds(bounds), name, x));
  }
  return x;
}

/** {@link checkNumber} for an integer (TypeError if not a number, RangeError if not an integer in bounds). */
export function checkInteger(x: unknown, name: string, bounds: Omit<NumberBounds, 'integer'> = {}): number {
  return checkNumber(x, name, { ...bounds, integer: true });
}

/** "'a' or 'b'", "1, 2 or 4", or for more than three choices "one of 'a', 'b', 'c', 'd'". */
function describeChoices(allowed: readonly unknown[]): string {
  const items = allowed.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  if (items.length > 3) return `one of ${items.join(', ')}`;
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}` : items.join('');
}

/**
 * Checks that x is one of `allowed` (compared with ===) and returns it. TypeError when x is not
 * of the kind of any allowed value (e.g. a number where names are expected), RangeError when it
 * is of the right kind but not allowed.
 */
export function checkOneOf<const T extends readonly (string | number | boolean)[]>(
  x: unknown,
  name: string,
  allowed: T,
): T[number] {
  if ((allowed as readonly unknown[]).includes(x)) return x as T[number];
  const rightKind = allowed.some((v) => typeof v === typeof x);
  throw new (rightKind ? RangeError : TypeError)(expected(describeChoices(allowed), name, x));
}

function isObject(x: unknown): x is object {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/**
 * Checks a required object argument (not null, not an array or typed array); TypeError otherwise.
 * `what` names the expected shape, e.g. "an object { ratio, variance }".
 */
export function checkObject<T>(x: T, name: string, what = 'an object'): NonNullable<T> {
  if (!isObject(x)) throw new TypeError(expected(what, name, x));
  return x as NonNullable<T>;
}

/**
 * Checks an optional options argument: undefined (returned as `{}`, so T must have only optional
 * fields) or an object (not null, not an array or typed array). TypeError otherwise.
 */
export function checkOptionsObject<T extends object>(
  options: T | undefined,
  name = 'options',
  what = 'an options object',
): T {
  if (options === undefined) return {} as T;
  return checkObject(options, name, what);
}

/**
 * Checks that values is an array, Float64Array or Float32Array of at least `min` finite numbers
 * and returns a float64 copy sorted ascending. TypeError for a wrong kind (of the array or of an
 * entry); RangeError for too few values or a NaN/Inf entry (naming its index).
 */
export function sortedFinite(values: unknown, name: string, min = 1): Float64Array {
  if (!(Array.isArray(values) || values instanceof Float64Array || values instanceof Float32Array)) {
    throw new TypeError(expected('an array, Float64Array or Float32Array of numbers', name, values));
  }
  const v = values as ArrayLike<unknown>;
  if (v.length < min) throw new RangeError(expected(`at least ${min} values`, name, values));
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number') throw new TypeError(expected('a number', `${name}[${i}]`, x));
    if (!Number.isFinite(x)) throw new RangeError(expected('a finite number', `${name}[${i}]`, x));
    out[i] = x;
  }
  return out.sort();
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions: 'metirc' → 'metric' is 1). */
function editDistance(a: string, b: string): number {
  const m = a.length,
    n = b.length;
  let prev2: number[] = [],
    prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/**
 * Checks the options argument of `fn`: `undefined` or `null` (no options) or a plain object
 * (not an array, typed array or function) whose own keys are all in `allowed`. TypeError
 * otherwise; an unknown key is named with the nearest valid one, e.g.
 * "Unknown option 'precison' for distanceMatrix; did you mean 'precision'?". When no valid key
 * is close (edit distance above max(2, a third of the longer name)), the message lists them
 * all instead: "Unknown option 'k' for svdvals; valid options: 'precision'".
 * @throws TypeError for a non-object options argument or an unknown key.
 */
export function checkOptions(fn: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new TypeError(expected('an options object', `${fn} options`, options));
  }
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    let best = '',
      bestD = Infinity;
    for (const a of allowed) {
      const d = editDistance(key.toLowerCase(), a.toLowerCase());
      if (d < bestD) [best, bestD] = [a, d];
    }
    const close = bestD <= Math.max(2, Math.floor(Math.max(key.length, best.length) / 3));
    const shown = key.length > 40 ? key.slice(0, 40) + '...' : key;
    throw new TypeError(
      close
        ? `Unknown option '${shown}' for ${fn}; did you mean '${best}'?`
        : `Unknown option '${shown}' for ${fn}; valid options: ${allowed.map((a) => `'${a}'`).join(', ') || 'none'}`,
    );
  }
}
