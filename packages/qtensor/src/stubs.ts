/**
 * QuantStub and DeQuantStub: the float/integer boundary of a quantized model.
 * @module
 */

import { type QDType, qrange, type QTensor } from "./dtypes.ts";
import { dequantizeTensor, quantizeTensor } from "./quantize.ts";

/** Options of {@linkcode quantStub}. */
export interface QuantStubOptions {
  /** Dimensions of the input, outermost first. */
  readonly shape: readonly number[];
  /** The (fixed) scale, e.g. 1/128 for pyramid input. */
  readonly scale: number;
  /** Output dtype (default qint8). */
  readonly dtype?: Exclude<QDType, "qint32">;
}

/**
 * QuantStub: `quantize(x, s)` into a {@linkcode QTensor} with a fixed per-tensor scale.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantStub } from "@hqat/qtensor";
 * const q = quantStub(Float32Array.of(-1, 0.5, 127 / 128), { shape: [3], scale: 1 / 128 });
 * assert(q.data.join() === "-128,64,127");
 * ```
 */
export function quantStub(x: ArrayLike<number>, options: QuantStubOptions): QTensor {
  qrange(options.dtype ?? "qint8");
  return quantizeTensor(x, options.scale, { shape: options.shape, dtype: options.dtype ?? "qint8" });
}

/**
 * DeQuantStub: `dequantize(q)` to float32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dequantStub, qtensor } from "@hqat/qtensor";
 * assert(dequantStub(qtensor(Int8Array.of(-128, 64), { shape: [2], scale: 1 / 128 })).join() === "-1,0.5");
 * ```
 */
export function dequantStub(q: QTensor): Float32Array {
  return dequantizeTensor(q);
}
