/**
 * Integer elementwise multiplication of two quantized tensors (the product before requantization):
 * `a · b` is exact in int32 for int8 and int16 operands (|a · b| ≤ 2^30) and has the scale `sa · sb`.
 * @module
 */

import type { QArray } from "./dtypes.ts";

/**
 * The exact int32 products `a[i] · b[j(i)]` of `a` (shape `aShape`) and `b` broadcast to it: `b` has the
 * same rank, and each of its dimensions equals `a`'s or is 1. Throws a `RangeError` for shapes that do
 * not broadcast that way or lengths that do not match them.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intMulProduct } from "@hqat/qtensor";
 * // [1, 2, 2] times a per-channel [1, 2, 1]: channel 0 by 3, channel 1 by -4.
 * const p = intMulProduct(Int8Array.of(1, 2, 3, 4), [1, 2, 2], Int8Array.of(3, -4), [1, 2, 1]);
 * assert(p.join() === "3,6,-12,-16");
 * assert(intMulProduct(Int16Array.of(-32768), [1], Int16Array.of(-32768), [1])[0] === 2 ** 30);
 * ```
 */
export function intMulProduct(
  a: QArray,
  aShape: readonly number[],
  b: QArray,
  bShape: readonly number[],
): Int32Array {
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  if (
    aShape.length !== bShape.length || bShape.some((d, i) => d !== aShape[i] && d !== 1) ||
    a.length !== size(aShape) || b.length !== size(bShape)
  ) {
    throw new RangeError(
      `intMulProduct(): [${bShape}] (${b.length} values) does not broadcast to [${aShape}] (${a.length} values)`,
    );
  }
  const rank = aShape.length;
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = bShape[d] === 1 ? 0 : s;
    s *= bShape[d];
  }
  const out = new Int32Array(a.length);
  const index = new Array<number>(rank).fill(0);
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    out[i] = a[i] * b[j];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      j += strides[d];
      if (index[d] < aShape[d]) break;
      j -= strides[d] * aShape[d];
      index[d] = 0;
    }
  }
  return out;
}
