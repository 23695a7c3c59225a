/**
 * Integer elementwise kernels with the second operand broadcast to the first (each of its dimensions
 * equal or 1, the same rank): SPEC.md's aligned sum and difference `a · 2^k ± b · t` (add and sub, before
 * requantization), and the expansion of a broadcast operand they share.
 * @module
 */

import type { QArray } from "./dtypes.ts";

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/**
 * `b` (shape `bShape`) expanded to `shape`: `b` has the same rank and each of its dimensions equals
 * `shape`'s or is 1. Throws a `RangeError` for shapes that do not broadcast that way or a length that
 * does not match `bShape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { expandTo } from "@hqat/qtensor";
 * assert(expandTo(Int8Array.of(3, -4), [1, 2, 1], [1, 2, 2]).join() === "3,3,-4,-4");
 * ```
 */
export function expandTo(
  b: ArrayLike<number>,
  bShape: readonly number[],
  shape: readonly number[],
): Int32Array {
  if (
    bShape.length !== shape.length || bShape.some((d, i) => d !== shape[i] && d !== 1) ||
    b.length !== size(bShape)
  ) {
    throw new RangeError(`expandTo(): [${bShape}] (${b.length} values) does not broadcast to [${shape}]`);
  }
  const rank = shape.length, n = size(shape);
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = bShape[d] === 1 ? 0 : s;
    s *= bShape[d];
  }
  const out = new Int32Array(n);
  const index = new Array<number>(rank).fill(0);
  let j = 0;
  for (let i = 0; i < n; i++) {
    out[i] = b[j];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      j += strides[d];
      if (index[d] < shape[d]) break;
      j -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** SPEC.md's alignment of an add or sub: which operand is shifted, `k`, `t`, and the operation. */
export interface AlignedSumOptions {
  /** The second operand (not the first) is the shifted one: it has the larger scale. */
  readonly shiftSecond: boolean;
  /** The shift `2^k` of the operand with the larger scale. */
  readonly k: number;
  /** The multiplier of the other operand. */
  readonly t: number;
  /** `a − b` instead of `a + b`. */
  readonly subtract?: boolean;
}

/**
 * The exact int32 sum (or difference) of int8/int16 `a` and `b`, `b` broadcast to `a`'s shape, on
 * SPEC.md's alignment: each operand is scaled to the common grid (the shifted one by `2^k`, the other
 * by `t`), then `A + B` or `A − B` — for `shiftSecond` false `a · 2^k ± b · t`, for true `a · t ± b · 2^k`.
 * With `k ≤ 23` for an int8 shifted operand, `k ≤ 15` for an int16 one and `|t| ≤ 32767`, every result
 * fits int32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAlignedSum } from "@hqat/qtensor";
 * const a = Int8Array.of(1, 2, 3, 4), b = Int8Array.of(10, -10);
 * assert(intAlignedSum(a, [1, 2, 2], b, [1, 2, 1], { shiftSecond: false, k: 2, t: 1 }).join() === "14,18,2,6");
 * assert(intAlignedSum(a, [1, 2, 2], b, [1, 2, 1], { shiftSecond: true, k: 1, t: 3, subtract: true }).join() === "-17,-14,29,32");
 * ```
 */
export function intAlignedSum(
  a: QArray,
  aShape: readonly number[],
  b: QArray,
  bShape: readonly number[],
  options: AlignedSumOptions,
): Int32Array {
  if (a.length !== size(aShape)) {
    throw new RangeError(`intAlignedSum(): ${a.length} values do not fill [${aShape}]`);
  }
  const bx = expandTo(b, bShape, aShape);
  const pk = 2 ** options.k, t = options.t;
  const [fa, fb] = options.shiftSecond ? [t, pk] : [pk, t];
  const sign = options.subtract ? -1 : 1;
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * fa + sign * bx[i] * fb;
  return out;
}
