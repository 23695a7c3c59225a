/**
 * Splitting a tensor into consecutive pieces along an axis (ONNX Split, PyTorch `split`).
 * @module
 */
import { normalizeAxis } from "./shape.ts";
import { slice } from "./shape_ops.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Splits `x` along `axis` (default 0) into pieces of the given lengths, or into `parts` pieces of
 * ⌈length / parts⌉ (the last one shorter when the length does not divide, as ONNX Split's
 * `num_outputs`). Each piece is a differentiable slice.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { split, tensor } from "@hqat/tensor";
 * assertEquals(split(tensor([1, 2, 3, 4, 5]), [2, 3]).map((t) => Array.from(t.data)), [[1, 2], [3, 4, 5]]);
 * assertEquals(split(tensor([1, 2, 3, 4, 5]), 2).map((t) => t.size), [3, 2]);
 * ```
 */
export function split(
  x: Tensor,
  sizes: number | readonly number[],
  options: { axis?: number } = {},
): Tensor[] {
  const axis = normalizeAxis(options.axis ?? 0, x.rank);
  const d = x.shape[axis];
  let lengths: number[];
  if (typeof sizes === "number") {
    if (!Number.isInteger(sizes) || sizes < 1 || sizes > Math.max(1, d)) {
      throw new RangeError(`split(): cannot split an axis of length ${d} into ${sizes} pieces`);
    }
    const chunk = Math.ceil(d / sizes);
    lengths = Array.from({ length: sizes }, (_, k) => Math.max(0, Math.min(chunk, d - k * chunk)));
  } else {
    lengths = [...sizes];
    if (lengths.some((n) => !Number.isInteger(n) || n < 0) || lengths.reduce((a, b) => a + b, 0) !== d) {
      throw new RangeError(`split(): lengths [${lengths.join(",")}] must be non-negative and sum to ${d}`);
    }
  }
  let offset = 0;
  return lengths.map((n) => {
    const begin = x.shape.map((_, i) => (i === axis ? offset : 0));
    const end = x.shape.map((e, i) => (i === axis ? offset + n : e));
    offset += n;
    return slice(x, begin, end);
  });
}
