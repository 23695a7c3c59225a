/**
 * Values as the instruction kinds see them: what an operation computes (dtype, shape, scale) and,
 * when executing on the CPU, its elements.
 * @module
 */

import { type QArray, type QTensor, qtensor } from "@hqat/qtensor";
import type { BufferDtype } from "./program.ts";

/**
 * What a value is: dtype, shape and scale (one, or one per channel along axis 1). Accumulators carry
 * their exact scale too (`sx · sw[c]` of a convolution, rounded to float32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ValueInfo } from "@hqat/program";
 * const v: ValueInfo = { dtype: "qint32", shape: [1, 4], scale: Float32Array.of(0.1, 0.2, 0.1, 0.3) };
 * assert(v.scale.length === v.shape[1]);
 * ```
 */
export interface ValueInfo {
  /** The element dtype. */
  readonly dtype: BufferDtype;
  /** The shape. */
  readonly shape: readonly number[];
  /** One scale, or one per channel along axis 1. */
  readonly scale: Float32Array;
}

/**
 * A value with its elements (row-major, NCHW), as the CPU executor passes it between kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { IntValue } from "@hqat/program";
 * const v: IntValue = { data: Int8Array.of(1, -2), dtype: "qint8", shape: [1, 2], scale: Float32Array.of(0.5) };
 * assert(v.data.length === 2);
 * ```
 */
export interface IntValue extends ValueInfo {
  /** The elements. */
  readonly data: QArray | Float32Array;
}

/**
 * `v` as a `QTensor` (per-channel scales along axis 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { asQTensor } from "@hqat/program";
 * const q = asQTensor({ data: Int32Array.of(1, 2), dtype: "qint32", shape: [1, 2], scale: Float32Array.of(1, 2) });
 * assert(q.axis === 1 && q.dtype === "qint32");
 * ```
 */
export function asQTensor(v: IntValue): QTensor {
  if (v.dtype === "float32") throw new TypeError("asQTensor(): a float32 value is not a quantized tensor");
  return qtensor(v.data as QArray, {
    shape: v.shape,
    scale: v.scale,
    axis: v.scale.length > 1 ? 1 : undefined,
    dtype: v.dtype,
  });
}

/**
 * Elements per channel along axis 1 of `shape` (the product of the dimensions after it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { innerOfAxis1 } from "@hqat/program";
 * assert(innerOfAxis1([2, 8, 4, 4]) === 16 && innerOfAxis1([2, 10]) === 1);
 * ```
 */
export function innerOfAxis1(shape: readonly number[]): number {
  let n = 1;
  for (let i = 2; i < shape.length; i++) n *= shape[i];
  return n;
}
