/**
 * steps.jsonl codec. JSON has no NaN or ±Infinity, so a non-finite number is written as `null`
 * and named in the line's `_nonfinite` object (`{"alpha": "NaN", "xmin": "-Infinity"}`); a reader
 * that ignores `_nonfinite` sees a missing value, which is what pandas and polars make of NaN
 * anyway, and {@link decodeLine} restores the exact value. A plain `null` (no `_nonfinite`
 * entry) is a real null.
 */
import type { Scalar } from './types.js';

/** Key of the per-line map of non-finite numbers. */
export const NONFINITE_KEY = '_nonfinite';

const NAMES = new Map<number, string>([
  [Infinity, 'Infinity'],
  [-Infinity, '-Infinity'],
]);

/** One JSON line (no trailing newline) for a flat record; non-finite numbers encoded as above. */
export function encodeLine(record: Record<string, Scalar>): string {
  let nonfinite: Record<string, string> | undefined;
  const out: Record<string, Scalar | Record<string, string>> = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      nonfinite ??= {};
      nonfinite[k] = Number.isNaN(v) ? 'NaN' : NAMES.get(v)!;
      out[k] = null;
    } else {
      out[k] = v;
    }
  }
  if (nonfinite) out[NONFINITE_KEY] = nonfinite;
  return JSON.stringify(out);
}

/**
 * Parses one line written by {@link encodeLine}; undefined when it is not a JSON object (a torn
 * line). Non-finite numbers are restored and `_nonfinite` removed.
 */
export function decodeLine(line: string): Record<string, Scalar> | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  const nf = rec[NONFINITE_KEY];
  delete rec[NONFINITE_KEY];
  if (nf && typeof nf === 'object') {
    for (const [k, name] of Object.entries(nf as Record<string, unknown>)) {
      rec[k] = name === 'NaN' ? NaN : name === 'Infinity' ? Infinity : name === '-Infinity' ? -Infinity : rec[k];
    }
  }
  return rec as Record<string, Scalar>;
}
