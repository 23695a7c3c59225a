/**
 * The output arrays callers may hand to the integer kernels (`into`): checked once, the same way, by every
 * kernel that takes one, and filled from the reference path's result where the kernels are not used.
 * @module
 */

/**
 * Checks an output array handed in for `count` int8 (`bytes` 1) or int16 (2) results: it must be of that
 * type and length; a RangeError naming `op` otherwise. Nothing to check without one.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkIntOutput } from "./int_output.ts";
 * checkIntOutput("example", new Int8Array(4), 1, 4);
 * assertThrows(() => checkIntOutput("example", new Int16Array(4), 1, 4), RangeError, "Int8Array of 4");
 * ```
 */
export function checkIntOutput(
  op: string,
  out: Int8Array | Int16Array | undefined,
  bytes: 1 | 2,
  count: number,
): void {
  if (!out) return;
  const want = bytes === 1 ? Int8Array : Int16Array;
  if (!(out instanceof want) || out.length !== count) {
    throw new RangeError(`${op}: the output must be an ${want.name} of ${count} elements`);
  }
}

/**
 * `result` copied into `into` (and `into` returned) when an output array was handed in, else `result` itself.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intoOrSelf } from "./int_output.ts";
 * const into = new Int8Array(2);
 * assert(intoOrSelf(Int8Array.of(1, 2), into) === into && into.join() === "1,2");
 * ```
 */
export function intoOrSelf(
  result: Int8Array | Int16Array,
  into: Int8Array | Int16Array | undefined,
): Int8Array | Int16Array {
  if (!into) return result;
  into.set(result);
  return into;
}
