/**
 * The scale rule of SPEC.md: `s = max(-min, max, 0) / ((qmax - qmin) / 2)` as a float32, at least
 * the float32 epsilon 2^-23.
 * @module
 */

import { type RangeOptions, resolveRange } from "./dtypes.ts";

/** The float32 machine epsilon 2^-23, the smallest scale. */
export const SCALE_EPSILON = 1.1920928955078125e-7;

function scaleOf(min: number, max: number, half: number): number {
  const absmax = Math.max(-Math.fround(min), Math.fround(max), 0);
  if (absmax !== absmax || absmax === Infinity) {
    throw new RangeError(`Cannot determine a scale from min ${min} and max ${max}: they must be finite`);
  }
  // float64 division of float32 values, rounded once to float32, is the float32 division.
  const s = Math.fround(absmax / half);
  return s < SCALE_EPSILON ? SCALE_EPSILON : s;
}

/**
 * The scale of an observed range `[min, max]` (values taken as float32): `absmax / 127.5` for qint8,
 * `absmax / 32767.5` for qint16, never below 2^-23. Non-finite bounds throw a RangeError.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { determineScale } from "@hqat/qtensor";
 * assert(determineScale(-2.55, 1, { dtype: "qint8" }) === Math.fround(Math.fround(2.55) / 127.5));
 * assert(determineScale(0, 0) === 2 ** -23);
 * ```
 */
export function determineScale(min: number, max: number, options: RangeOptions = {}): number {
  const { qmin, qmax } = resolveRange(options);
  return scaleOf(min, max, (qmax - qmin) / 2);
}

/**
 * Per-channel scales from per-channel ranges (see {@linkcode determineScale}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { determineScalePerChannel } from "@hqat/qtensor";
 * const s = determineScalePerChannel([-1, 0], [0.5, 2.55]);
 * assert(s.length === 2 && s[0] === Math.fround(1 / 127.5));
 * ```
 */
export function determineScalePerChannel(
  min: ArrayLike<number>,
  max: ArrayLike<number>,
  options: RangeOptions = {},
): Float32Array {
  if (min.length !== max.length) {
    throw new RangeError(`determineScalePerChannel(): ${min.length} minimums but ${max.length} maximums`);
  }
  const { qmin, qmax } = resolveRange(options);
  const half = (qmax - qmin) / 2;
  const out = new Float32Array(min.length);
  for (let c = 0; c < min.length; c++) out[c] = scaleOf(min[c], max[c], half);
  return out;
}
