/**
 * Spatial resize of NCHW integers, given the taps of each axis (which input rows and columns an output
 * reads, computed once from the coordinate rule — `@hqat/tensor`'s `resizeTaps`, the float resize's): the
 * nearest resize is a gather (values move, scale kept); the bilinear one weights the four cells with
 * fixed-point weights of {@linkcode RESIZE_WEIGHT_BITS} bits per axis into an exact int32 accumulator of
 * scale `sx / 2^16`, which a requantization brings to the output.
 * @module
 */

import type { QArray } from "./dtypes.ts";
import { roundHalfToEven } from "./rounding.ts";

/**
 * Bits of each axis's interpolation weight: `w1` becomes `round_half_even(w1 · 2^8)` and `w0 = 2^8 − W1`,
 * so the product of the two axes' weights sums to 2^16 and the accumulator of an int16 input fits int32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { RESIZE_WEIGHT_BITS } from "@hqat/qtensor";
 * assert(RESIZE_WEIGHT_BITS === 8);
 * ```
 */
export const RESIZE_WEIGHT_BITS = 8;

/**
 * The fixed-point weight of a float interpolation weight in [0, 1]: `round_half_even(w · 2^8)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resizeWeight } from "@hqat/qtensor";
 * assert(resizeWeight(0.25) === 64 && resizeWeight(1 / 3) === 85 && resizeWeight(0.5 / 256) === 0);
 * ```
 */
export function resizeWeight(w: number): number {
  if (!(w >= 0 && w <= 1)) throw new RangeError(`resizeWeight(): ${w} is not a weight in [0, 1]`);
  return roundHalfToEven(w * 2 ** RESIZE_WEIGHT_BITS);
}

/** The taps of one axis: output `o` reads cells `i0[o]` and `i1[o]` with fixed-point weight `w1[o]` on `i1`. */
export interface IntAxisTaps {
  /** The first cell per output index. */
  readonly i0: Int32Array;
  /** The second cell per output index (equal to `i0` where one cell is read). */
  readonly i1: Int32Array;
  /** The weight of `i1`, 0 … 2^8 (that of `i0` is `2^8 − w1`); unused by the nearest resize. */
  readonly w1: Int32Array;
}

/**
 * The fixed-point taps of an axis from float ones (the same cells, `w1` through {@linkcode resizeWeight}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fixedPointTaps } from "@hqat/qtensor";
 * const t = fixedPointTaps({ i0: Int32Array.of(0, 0), i1: Int32Array.of(0, 1), w1: Float32Array.of(0, 0.75) });
 * assert(t.w1.join() === "0,192" && t.i1.join() === "0,1");
 * ```
 */
export function fixedPointTaps(
  t: { readonly i0: Int32Array; readonly i1: Int32Array; readonly w1: ArrayLike<number> },
): IntAxisTaps {
  return { i0: t.i0, i1: t.i1, w1: Int32Array.from(t.w1, resizeWeight) };
}

/**
 * The index map of a nearest resize over one frame `[C, H, W]` (rows `rows.i0`, columns `cols.i0`), for
 * `gatherFrames`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resizeNearestIndex } from "@hqat/qtensor";
 * const ix = resizeNearestIndex([1, 2, 2], Int32Array.of(0, 0, 1), Int32Array.of(1, 0));
 * assert(ix.join() === "1,0,1,0,3,2");
 * ```
 */
export function resizeNearestIndex(
  frame: readonly [number, number, number],
  rows: Int32Array,
  cols: Int32Array,
): Int32Array {
  const [c, h, w] = frame, oh = rows.length, ow = cols.length;
  if ([...rows].some((r) => r < 0 || r >= h) || [...cols].some((v) => v < 0 || v >= w)) {
    throw new RangeError(`resizeNearestIndex(): a tap lies outside the ${h}×${w} plane`);
  }
  const out = new Int32Array(c * oh * ow);
  let j = 0;
  for (let p = 0; p < c; p++) {
    for (let y = 0; y < oh; y++) {
      const row = (p * h + rows[y]) * w;
      for (let x = 0; x < ow; x++) out[j++] = row + cols[x];
    }
  }
  return out;
}

/**
 * The exact int32 bilinear accumulator of int8/int16 NCHW `x`:
 * `(2^8 − wy) · ((2^8 − wx) · x00 + wx · x01) + wy · ((2^8 − wx) · x10 + wx · x11)` per output, the float
 * resize's order of the two axes; its scale is `sx / 2^16`. Throws a `RangeError` for taps outside `x`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intResizeLinear } from "@hqat/qtensor";
 * // One row [0, 4] to three columns: weights 0, 1/2, 1 on the second cell.
 * const cols = { i0: Int32Array.of(0, 0, 1), i1: Int32Array.of(0, 1, 1), w1: Int32Array.of(0, 128, 0) };
 * const rows = { i0: Int32Array.of(0), i1: Int32Array.of(0), w1: Int32Array.of(0) };
 * assert(intResizeLinear(Int8Array.of(0, 4), [1, 1, 1, 2], rows, cols).join() === "0,131072,262144");
 * ```
 */
export function intResizeLinear(
  x: QArray,
  shape: readonly number[],
  rows: IntAxisTaps,
  cols: IntAxisTaps,
): Int32Array {
  const [n, c, h, w] = shape, one = 2 ** RESIZE_WEIGHT_BITS;
  const oh = rows.i0.length, ow = cols.i0.length;
  const inside = (t: IntAxisTaps, size: number) =>
    [...t.i0, ...t.i1].every((v) => v >= 0 && v < size) && [...t.w1].every((v) => v >= 0 && v <= one);
  if (shape.length !== 4 || x.length !== n * c * h * w || !inside(rows, h) || !inside(cols, w)) {
    throw new RangeError(`intResizeLinear(): the taps do not fit the input [${shape}]`);
  }
  const out = new Int32Array(n * c * oh * ow);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let y = 0; y < oh; y++) {
      const r0 = base + rows.i0[y] * w, r1 = base + rows.i1[y] * w, wy = rows.w1[y];
      for (let z = 0; z < ow; z++) {
        const a = cols.i0[z], b = cols.i1[z], wx = cols.w1[z];
        const top = (one - wx) * x[r0 + a] + wx * x[r0 + b];
        const bottom = (one - wx) * x[r1 + a] + wx * x[r1 + b];
        out[o++] = (one - wy) * top + wy * bottom;
      }
    }
  }
  return out;
}
