/**
 * The option keys of the analysis entry points (rmt/, omd/) as runtime lists for
 * `checkOptions` (an unknown key is a TypeError naming it and the nearest valid one).
 */

/**
 * The keys of an options type T as a list, checked by the compiler against T: the literal must
 * name every key of T (a missing one is a type error) and nothing else (excess property check),
 * so the runtime list cannot drift from the interface.
 */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}
