/**
 * The last step of every integer kernel: an int32 accumulator with a known real scale becomes an
 * int8/int16 output by requantization (with a fused ReLU / ReLU6), or stays int32 ("32-bit out").
 * @module
 */

import { type QTensor, qtensor } from "./dtypes.ts";
import { computeMultiplier, type FusedActivation, type Multiplier, requantize } from "./requantize.ts";

/**
 * The output of an integer kernel: requantized to qint8/qint16 with a float32 `scale`, or `qint32`
 * (the accumulator itself, with its per-channel dequantization scale; conv and linear only).
 */
export type IntOutput =
  | { readonly dtype: "qint8" | "qint16"; readonly scale: number }
  | { readonly dtype: "qint32" };

/** The real scale of an accumulator, per channel: `numerator[c] / divisor`. */
export interface AccumulatorScale {
  /** Exact float64 numerators (e.g. `sx · sw[c]`, a product of two float32 values, is exact). */
  readonly numerator: ArrayLike<number>;
  /** A positive integer divisor (1 for conv, `2^k` for add, `kh · kw` for average pooling). */
  readonly divisor: number;
}

/**
 * The requantization multipliers from an accumulator scale to the output scale `so`:
 * `m[c] = numerator[c] / (divisor · so)` — one float64 division, so `m` is the correctly rounded
 * value of the exact ratio — then {@linkcode computeMultiplier}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { outputMultipliers } from "@hqat/qtensor";
 * const [m] = outputMultipliers({ numerator: [0.5], divisor: 4 }, 0.25);
 * assert(m.M === 16384 && m.n === 15); // 0.5 / (4 · 0.25) = 0.5
 * ```
 */
export function outputMultipliers(accScale: AccumulatorScale, outScale: number): Multiplier[] {
  const so = Math.fround(outScale);
  if (!(so > 0) || so === Infinity) {
    throw new RangeError(`Output scale ${outScale} must be positive and finite`);
  }
  const out: Multiplier[] = [];
  for (let c = 0; c < accScale.numerator.length; c++) {
    out.push(computeMultiplier(accScale.numerator[c] / (accScale.divisor * so)));
  }
  return out;
}

/** Options of {@linkcode finishAccumulator}. */
export interface FinishOptions {
  /** Shape of the accumulator. */
  readonly shape: readonly number[];
  /** Channel axis of the accumulator (for per-channel scales). */
  readonly axis: number;
  /** Exact scale of each accumulator channel. */
  readonly accScale: AccumulatorScale;
  /** Requantized output (qint8/qint16 with a scale) or `{ dtype: "qint32" }`. */
  readonly output: IntOutput;
  /** Fused activation clamped after requantization. */
  readonly activation?: FusedActivation;
}

/**
 * Turns an int32 accumulator into the kernel's output {@linkcode QTensor}: requantized with
 * {@linkcode outputMultipliers} to qint8/qint16 (per-tensor output scale), or for `qint32` the
 * accumulator itself (ReLU / ReLU6 clamped on its grid) with per-channel float32 scales
 * `float32(numerator[c] / divisor)` along `axis`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { finishAccumulator } from "@hqat/qtensor";
 * const y = finishAccumulator(Int32Array.of(10, -3), {
 *   shape: [2], axis: 0, accScale: { numerator: [0.5], divisor: 1 }, output: { dtype: "qint8", scale: 1 },
 * });
 * assert(y.data.join() === "5,-1" && y.scale[0] === 1);
 * ```
 */
export function finishAccumulator(acc: Int32Array, options: FinishOptions): QTensor {
  const { shape, axis, accScale, output, activation } = options;
  const perChannel = accScale.numerator.length > 1;
  if (output.dtype === "qint32") {
    const scale = new Float32Array(accScale.numerator.length);
    for (let c = 0; c < scale.length; c++) scale[c] = accScale.numerator[c] / accScale.divisor;
    let data = acc;
    if (activation !== undefined) {
      // Multiplier 1 (M = 1, n = 0) leaves the accumulator as it is and applies the activation clamp.
      const ones = Array.from(scale, () => ({ M: 1, n: 0 }));
      data = requantize(acc, perChannel ? ones : ones[0], {
        dtype: "qint32",
        axis,
        shape,
        activation,
        scale,
      }) as Int32Array;
    }
    return qtensor(data, { shape, scale, axis });
  }
  if (output.dtype !== "qint8" && output.dtype !== "qint16") {
    throw new TypeError(`Unknown output dtype "${(output as { dtype: string }).dtype}"`);
  }
  const mult = outputMultipliers(accScale, output.scale);
  const data = requantize(acc, perChannel ? mult : mult[0], {
    dtype: output.dtype,
    axis,
    shape,
    activation,
    scale: output.scale,
  });
  return qtensor(data, { shape, scale: output.scale, dtype: output.dtype });
}
