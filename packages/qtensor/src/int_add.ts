/**
 * Integer addition of two quantized tensors with different scales (SPEC.md "Add").
 * @module
 */

import type { QTensor } from "./dtypes.ts";
import { finishAccumulator } from "./int_output.ts";
import type { FusedActivation } from "./requantize.ts";

/** The alignment of two scales `sx ≥ sy`: `sum = x · 2^k + y · t` has scale `sx / 2^k`. */
export interface AddAlignment {
  /** Left shift `k` applied to `x`. */
  readonly k: number;
  /** Integer multiplier `t` of `y`, in [-32767, 32767]. */
  readonly t: number;
}

function largestShift(sx: number, sy: number, kMax: number): number {
  // The largest k with 2^k · sy ≤ 32767 · sx; both sides are exact in float64.
  const target = 32767 * sx;
  let k = Math.floor(Math.log2(target / sy));
  while (2 ** k * sy > target) k--;
  while (2 ** (k + 1) * sy <= target) k++;
  return Math.min(kMax, k);
}

/**
 * The add rule for scales `sx ≥ sy` (float32): `k = min(kMax, floor(log2(32767 · sx / sy)))` with
 * `kMax` 23 when the shifted operand `x` is qint8 and 15 when it is qint16, and
 * `t = clamp(floor(sy · 2^k / sx + 0.5), -32767, 32767)`, both computed exactly (no float rounding).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { addAlignment } from "@hqat/qtensor";
 * const a = addAlignment(0.5, 0.25, { dtype: "qint8" });
 * assert(a.k === 15 && a.t === 16384);
 * ```
 */
export function addAlignment(
  sx: number,
  sy: number,
  options: { readonly dtype: "qint8" | "qint16" },
): AddAlignment {
  const fx = Math.fround(sx), fy = Math.fround(sy);
  if (!(fy > 0) || !(fx >= fy) || fx === Infinity) {
    throw new RangeError(`addAlignment() needs finite scales sx ≥ sy > 0, got sx ${sx} and sy ${sy}`);
  }
  const k = largestShift(fx, fy, options.dtype === "qint8" ? 23 : 15);
  const a2 = 2 * (fy * 2 ** k);
  let t = Math.floor((fy * 2 ** k) / fx + 0.5);
  // Exact floor((A + sx/2) / sx) with A = sy·2^k: (2t - 1)·sx ≤ 2A < (2t + 1)·sx.
  while ((2 * t - 1) * fx > a2) t--;
  while ((2 * t + 1) * fx <= a2) t++;
  return { k, t: Math.max(-32767, Math.min(32767, t)) };
}

/** Options of {@linkcode intAdd}. */
export interface IntAddOptions {
  /** Output dtype and scale. */
  readonly output: { readonly dtype: "qint8" | "qint16"; readonly scale: number };
  /** Fused activation after requantization. */
  readonly activation?: FusedActivation;
}

/**
 * Adds two quantized tensors of the same shape (qint8/qint16, per-tensor scales): the operands are
 * swapped so that `sx ≥ sy`, then `sum = x · 2^k + y · t` (exact int32, scale `sx / 2^k`, see
 * {@linkcode addAlignment}) is requantized to the output with `m = sx / (2^k · so)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAdd, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(10, -4), { shape: [2], scale: 0.5 });
 * const y = qtensor(Int8Array.of(3, 100), { shape: [2], scale: 0.25 });
 * const z = intAdd(x, y, { output: { dtype: "qint8", scale: 0.25 } });
 * assert(z.data.join() === "23,92"); // 5 + 0.75 = 5.75, -2 + 25 = 23
 * ```
 */
export function intAdd(x: QTensor, y: QTensor, options: IntAddOptions): QTensor {
  for (const [label, q] of [["first", x], ["second", y]] as const) {
    if (q.dtype !== "qint8" && q.dtype !== "qint16") {
      throw new TypeError(`intAdd(): the ${label} operand must be qint8 or qint16, not ${q.dtype}`);
    }
    if (q.scale.length !== 1) {
      throw new RangeError(`intAdd(): the ${label} operand needs one per-tensor scale`);
    }
  }
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new RangeError(`intAdd(): shapes [${x.shape}] and [${y.shape}] differ`);
  }
  const [a, b] = x.scale[0] >= y.scale[0] ? [x, y] : [y, x];
  const sx = a.scale[0];
  const { k, t } = addAlignment(sx, b.scale[0], { dtype: a.dtype as "qint8" | "qint16" });
  const pk = 2 ** k;
  const ad = a.data, bd = b.data;
  const sum = new Int32Array(ad.length);
  for (let i = 0; i < ad.length; i++) sum[i] = ad[i] * pk + bd[i] * t;
  return finishAccumulator(sum, {
    shape: x.shape,
    axis: 0,
    accScale: { numerator: [sx], divisor: pk },
    output: options.output,
    activation: options.activation,
  });
}
