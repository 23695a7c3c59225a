/**
 * Reductions over axes: sum, mean, max, min, variance, argmax and top-k.
 * @module
 */
import { apply, apply1 } from "./engine.ts";
import { div, neg } from "./math.ts";
import { normalizeAxes, normalizeAxis, sizeOf } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** Options of the reductions. */
export interface ReduceOptions {
  /** Axes to reduce (all when omitted); negative counts from the end. */
  axes?: number | readonly number[];
  /** Keep reduced axes with size 1. */
  keepDims?: boolean;
}

/**
 * Sum over axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sum, tensor } from "@hqat/tensor";
 * const x = tensor([[1, 2], [3, 4]]);
 * assert(sum(x).item() === 10);
 * assert(sum(x, { axes: 0 }).toArray().join() === "4,6");
 * ```
 */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  return apply1("sum", [x], {
    axes: normalizeAxes(options.axes, x.rank),
    keepDims: options.keepDims ?? false,
  });
}

/**
 * Mean over axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mean, tensor } from "@hqat/tensor";
 * assert(mean(tensor([1, 2, 3, 6])).item() === 3);
 * ```
 */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  const axes = normalizeAxes(options.axes, x.rank);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  return div(sum(x, { axes, keepDims: options.keepDims }), n);
}

/**
 * Biased variance over axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { variance, tensor } from "@hqat/tensor";
 * assert(variance(tensor([1, 3])).item() === 1);
 * ```
 */
export function variance(x: Tensor, options: ReduceOptions = {}): Tensor {
  const axes = normalizeAxes(options.axes, x.rank);
  const m = mean(x, { axes, keepDims: true });
  const d = apply1("sub", [x, m], {});
  return mean(apply1("mul", [d, d], {}), { axes, keepDims: options.keepDims });
}

/**
 * Maximum over axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { max, tensor } from "@hqat/tensor";
 * assert(max(tensor([[1, 5], [3, 4]]), { axes: 1 }).toArray().join() === "5,4");
 * ```
 */
export function max(x: Tensor, options: ReduceOptions = {}): Tensor {
  return apply1("max", [x], {
    axes: normalizeAxes(options.axes, x.rank),
    keepDims: options.keepDims ?? false,
  });
}

/**
 * Minimum over axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { min, tensor } from "@hqat/tensor";
 * assert(min(tensor([3, -1, 2])).item() === -1);
 * ```
 */
export function min(x: Tensor, options: ReduceOptions = {}): Tensor {
  return neg(max(neg(x), options));
}

/**
 * Index of the maximum along an axis (int32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { argmax, tensor } from "@hqat/tensor";
 * assert(argmax(tensor([[1, 5], [4, 3]]), { axis: 1 }).toArray().join() === "1,0");
 * ```
 */
export function argmax(x: Tensor, options: { axis?: number; keepDims?: boolean } = {}): Tensor {
  const axis = normalizeAxis(options.axis ?? -1, x.rank);
  return apply1("argmax", [x], { axis, keepDims: options.keepDims ?? false });
}

/**
 * The `k` largest values along an axis (default last), descending, and their int32 indices.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor, topk } from "@hqat/tensor";
 * const { values, indices } = topk(tensor([1, 9, 5]), 2);
 * assert(values.toArray().join() === "9,5" && indices.toArray().join() === "1,2");
 * ```
 */
export function topk(
  x: Tensor,
  k: number,
  options: { axis?: number } = {},
): { values: Tensor; indices: Tensor } {
  const axis = normalizeAxis(options.axis ?? -1, x.rank);
  const [values, indices] = apply("topk", [x], { k, axis });
  return { values, indices };
}
