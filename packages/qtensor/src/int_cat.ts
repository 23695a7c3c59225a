/**
 * Integer concatenation: each input is requantized to the output scale, then concatenated.
 * @module
 */

import { normalizeAxis, type QTensor, qtensor } from "./dtypes.ts";
import { outputMultipliers } from "./int_output.ts";
import { requantize } from "./requantize.ts";

/** Options of {@linkcode intCat}. */
export interface IntCatOptions {
  /** Concatenation axis (negative counts from the end). */
  readonly axis: number;
  /** Output dtype and scale. */
  readonly output: { readonly dtype: "qint8" | "qint16"; readonly scale: number };
}

/**
 * Concatenates quantized tensors along `axis`: input `i` (scale `s_i`, per tensor or per channel) is
 * requantized with `m = s_i / so` (an input already on the output grid maps to itself), then the
 * integers are concatenated.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intCat, qtensor } from "@hqat/qtensor";
 * const a = qtensor(Int8Array.of(1, 2), { shape: [1, 2], scale: 0.5 });
 * const b = qtensor(Int8Array.of(3), { shape: [1, 1], scale: 1 });
 * const y = intCat([a, b], { axis: 1, output: { dtype: "qint8", scale: 0.5 } });
 * assert(y.data.join() === "1,2,6" && y.shape.join() === "1,3");
 * ```
 */
export function intCat(inputs: readonly QTensor[], options: IntCatOptions): QTensor {
  if (inputs.length === 0) throw new RangeError("intCat() needs at least one input");
  const rank = inputs[0].shape.length;
  const axis = normalizeAxis(options.axis, rank);
  const shape = [...inputs[0].shape];
  shape[axis] = 0;
  for (const [i, x] of inputs.entries()) {
    if (x.shape.length !== rank || x.shape.some((d, j) => j !== axis && d !== inputs[0].shape[j])) {
      throw new RangeError(
        `intCat(): input ${i} [${x.shape}] does not match [${inputs[0].shape}] off axis ${axis}`,
      );
    }
    shape[axis] += x.shape[axis];
  }
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < rank; d++) inner *= shape[d];
  const parts = inputs.map((x) => {
    const mult = outputMultipliers({ numerator: x.scale, divisor: 1 }, options.output.scale);
    return requantize(x.data, mult.length === 1 ? mult[0] : mult, {
      dtype: options.output.dtype,
      axis: x.axis,
      shape: x.shape,
    });
  });
  const out = options.output.dtype === "qint8"
    ? new Int8Array(outer * shape[axis] * inner)
    : new Int16Array(outer * shape[axis] * inner);
  let o = 0;
  for (let r = 0; r < outer; r++) {
    for (const [i, x] of inputs.entries()) {
      const len = x.shape[axis] * inner;
      out.set(parts[i].subarray(r * len, (r + 1) * len), o);
      o += len;
    }
  }
  return qtensor(out, { shape, scale: options.output.scale, dtype: options.output.dtype });
}
