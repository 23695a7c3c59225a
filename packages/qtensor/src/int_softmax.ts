/**
 * Integer softmax (hqat choice; Horizon publishes no integer form): along an axis, each integer's
 * distance below the row's maximum indexes an exp table of 2^15-scaled values computed once from the input
 * scale, the entries are summed exactly in int32, and each is divided by the sum into a probability of 16
 * fractional bits — an int32 of scale 2^-16 that a requantization brings to the output.
 * @module
 */

import type { QArray } from "./dtypes.ts";
import { roundHalfToEven } from "./rounding.ts";

/**
 * Fractional bits of the exp table: `E[d] = round_half_even(exp(−d · sx) · 2^15)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SOFTMAX_EXP_BITS } from "@hqat/qtensor";
 * assert(SOFTMAX_EXP_BITS === 15);
 * ```
 */
export const SOFTMAX_EXP_BITS = 15;

/**
 * Fractional bits of the probabilities: the main result has scale `2^-16`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SOFTMAX_PROB_BITS } from "@hqat/qtensor";
 * assert(SOFTMAX_PROB_BITS === 16);
 * ```
 */
export const SOFTMAX_PROB_BITS = 16;

/**
 * The exp table of an input of scale `sx` and `dtype`: entry `d` (0 … qmax − qmin) is
 * `round_half_even(exp(−d · sx) · 2^15)`, with `sx` as float32 and `d · sx` exact.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { softmaxExpTable } from "@hqat/qtensor";
 * const t = softmaxExpTable(Math.LN2, "qint8");
 * assert(t.length === 256 && t[0] === 32768 && t[1] === 16384 && t[255] === 0);
 * ```
 */
export function softmaxExpTable(sx: number, dtype: "qint8" | "qint16"): Int32Array {
  const s = Math.fround(sx);
  if (!(s > 0) || s === Infinity) {
    throw new RangeError(`softmaxExpTable(): scale ${sx} is not positive and finite`);
  }
  const n = dtype === "qint8" ? 256 : 65536;
  return Int32Array.from({ length: n }, (_, d) => roundHalfToEven(Math.exp(-d * s) * 2 ** SOFTMAX_EXP_BITS));
}

/**
 * The integer softmax of `x` (`shape`) along `axis`: per row, `E = table[max − x]`, `S = ΣE` (int32), and
 * `floor((E · 2^16 + floor(S / 2)) / S)` — probabilities of scale `2^-16` in [0, 2^16]. Exact for rows of
 * at most 65535 elements.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intSoftmax, softmaxExpTable } from "@hqat/qtensor";
 * const table = softmaxExpTable(Math.LN2, "qint8");
 * // exp(0), exp(-ln 2): 2/3 and 1/3 of 2^16, rounded.
 * assert(intSoftmax(Int8Array.of(5, 4), [1, 2], 1, table).join() === "43691,21845");
 * ```
 */
export function intSoftmax(x: QArray, shape: readonly number[], axis: number, table: Int32Array): Int32Array {
  const rank = shape.length;
  const n = shape.reduce((a, b) => a * b, 1);
  if (!(axis >= 0 && axis < rank) || x.length !== n || shape[axis] > 65535) {
    throw new RangeError(
      `intSoftmax(): axis ${axis} of [${shape}] (${x.length} values, at most 65535 along the axis)`,
    );
  }
  const len = shape[axis],
    inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1),
    outer = n / (len * inner);
  const out = new Int32Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let mx = -Infinity;
      for (let l = 0; l < len; l++) mx = Math.max(mx, x[base + l * inner]);
      let sum = 0;
      for (let l = 0; l < len; l++) sum += table[mx - x[base + l * inner]];
      const half = Math.floor(sum / 2);
      for (let l = 0; l < len; l++) {
        const e = table[mx - x[base + l * inner]];
        out[base + l * inner] = Math.floor((e * 2 ** SOFTMAX_PROB_BITS + half) / sum);
      }
    }
  }
  return out;
}
