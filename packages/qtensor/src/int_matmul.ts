/**
 * Integer matrix product of two quantized activations, `[..., m, k] × [..., k, n]` with the batch
 * dimensions broadcast (each pair equal or one of them 1, the same rank): the exact int32 accumulator
 * `Σ_k a · b` of scale `sa · sb`, before requantization.
 * @module
 */

import type { QArray } from "./dtypes.ts";

/**
 * The output shape of `[..., m, k] × [..., k, n]` (equal ranks of at least 2; batch dimensions equal or
 * 1), or a `RangeError`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { matmulShape } from "@hqat/qtensor";
 * assert(matmulShape([2, 1, 3, 4], [2, 5, 4, 6]).join() === "2,5,3,6");
 * ```
 */
export function matmulShape(a: readonly number[], b: readonly number[]): number[] {
  const r = a.length;
  const fits = r >= 2 && b.length === r && a[r - 1] === b[r - 2] &&
    a.slice(0, -2).every((d, i) => d === b[i] || d === 1 || b[i] === 1);
  if (!fits) throw new RangeError(`matmul: [${a}] and [${b}] do not multiply`);
  return [...a.slice(0, -2).map((d, i) => Math.max(d, b[i])), a[r - 2], b[r - 1]];
}

/**
 * The exact int32 products `Σ_k a[..., i, k] · b[..., k, j]` of int8/int16 `a` and `b` (see
 * {@linkcode matmulShape}); exact while `k · |a| · |b| < 2^31`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intMatmul } from "@hqat/qtensor";
 * const y = intMatmul(Int8Array.of(1, 2, 3, 4), [1, 2, 2], Int8Array.of(5, 6, 7, 8), [1, 2, 2]);
 * assert(y.data.join() === "19,22,43,50" && y.shape.join() === "1,2,2");
 * ```
 */
export function intMatmul(
  a: QArray,
  aShape: readonly number[],
  b: QArray,
  bShape: readonly number[],
): { data: Int32Array; shape: number[] } {
  const shape = matmulShape(aShape, bShape), r = shape.length;
  const [m, k, n] = [aShape[r - 2], aShape[r - 1], bShape[r - 1]];
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  if (a.length !== size(aShape) || b.length !== size(bShape)) {
    throw new RangeError(`intMatmul(): the values do not fill [${aShape}] and [${bShape}]`);
  }
  const batch = shape.slice(0, -2), batches = size(batch);
  const out = new Int32Array(batches * m * n);
  const c = new Array<number>(batch.length).fill(0);
  for (let g = 0; g < batches; g++) {
    let oa = 0, ob = 0;
    for (let d = 0; d < batch.length; d++) {
      oa = oa * aShape[d] + (aShape[d] === 1 ? 0 : c[d]);
      ob = ob * bShape[d] + (bShape[d] === 1 ? 0 : c[d]);
    }
    oa *= m * k;
    ob *= k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a[oa + i * k + t] * b[ob + t * n + j];
        out[(g * m + i) * n + j] = s;
      }
    }
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++c[d] < batch[d]) break;
      c[d] = 0;
    }
  }
  return { data: out, shape };
}
