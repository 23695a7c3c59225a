/**
 * Shape and movement functions: reshape, flatten, transpose, broadcast, slice, pad, concat, stack.
 * @module
 */
import { apply1 } from "./engine.ts";
import { normalizeAxis, type Shape, sizeOf } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Reshapes; one dimension may be -1 (inferred).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { reshape, arange } from "@hqat/tensor";
 * assert(reshape(arange(0, 6), [2, -1]).shape.join() === "2,3");
 * ```
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const infer = shape.indexOf(-1);
  let s = [...shape];
  if (infer >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== infer));
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(`Cannot reshape [${x.shape.join(",")}] to [${shape.join(",")}]`);
    }
    s = s.map((d, i) => (i === infer ? x.size / known : d));
  }
  if (s.length === x.rank && s.every((d, i) => d === x.shape[i])) return x;
  return apply1("reshape", [x], { shape: s });
}

/**
 * Flattens dimensions `startDim..endDim` into one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { flatten, zeros } from "@hqat/tensor";
 * assert(flatten(zeros([2, 3, 4]), 1).shape.join() === "2,12");
 * ```
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const s = normalizeAxis(startDim, x.rank), e = normalizeAxis(endDim, x.rank);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/**
 * Permutes axes (reverses them by default).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { transpose, zeros } from "@hqat/tensor";
 * assert(transpose(zeros([2, 3, 4]), [0, 2, 1]).shape.join() === "2,4,3");
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? perm.map((a) => normalizeAxis(a, x.rank)) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((v, i) => v === i)) return x;
  return apply1("transpose", [x], { perm: p });
}

/**
 * Broadcasts to `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { broadcastTo, tensor } from "@hqat/tensor";
 * assert(broadcastTo(tensor([1, 2]), [2, 2]).toArray().join() === "1,2,1,2");
 * ```
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return apply1("broadcastTo", [x], { shape: [...shape] });
}

/**
 * Inserts a size-1 axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { expandDims, zeros } from "@hqat/tensor";
 * assert(expandDims(zeros([3]), 0).shape.join() === "1,3");
 * ```
 */
export function expandDims(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/**
 * Removes size-1 axes (all, or the given ones).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { squeeze, zeros } from "@hqat/tensor";
 * assert(squeeze(zeros([1, 3, 1])).shape.join() === "3");
 * ```
 */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const ax = axes === undefined
    ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
    : (typeof axes === "number" ? [axes] : axes).map((a) => normalizeAxis(a, x.rank));
  for (const a of ax) {
    if (x.shape[a] !== 1) throw new RangeError(`squeeze(): axis ${a} has size ${x.shape[a]}`);
  }
  return reshape(x, x.shape.filter((_, i) => !ax.includes(i)));
}

/**
 * Slices with NumPy's (and ONNX Slice's) rules: `begin`/`end` per leading axis (negative counts from the
 * end; out-of-range values are clamped; `end` may be omitted), and optional per-axis `steps` (default 1;
 * a negative step walks backwards from `begin`, and an omitted `end` then runs to the first element).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { slice, arange, reshape } from "@hqat/tensor";
 * const x = reshape(arange(0, 6), [2, 3]);
 * assert(slice(x, [0, 1], [2, 3]).toArray().join() === "1,2,4,5");
 * assert(slice(x, [0, -1], [2, undefined], { steps: [1, -2] }).toArray().join() === "2,0,5,3");
 * ```
 */
export function slice(
  x: Tensor,
  begin: readonly number[],
  end?: readonly (number | undefined)[],
  options: { steps?: readonly number[] } = {},
): Tensor {
  const steps = x.shape.map((_, i) => options.steps?.[i] ?? 1);
  steps.forEach((s, i) => {
    if (!Number.isInteger(s) || s === 0) {
      throw new RangeError(`slice(): step ${s} of axis ${i} must be a non-zero integer`);
    }
  });
  const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const starts = x.shape.map((d, i) => {
    const b = begin[i] ?? (steps[i] > 0 ? 0 : d - 1);
    return steps[i] > 0 ? clampTo(b < 0 ? b + d : b, 0, d) : clampTo(b < 0 ? b + d : b, -1, d - 1);
  });
  const ends = x.shape.map((d, i) => {
    const e = end?.[i];
    if (steps[i] > 0) return clampTo(e === undefined ? d : e < 0 ? e + d : e, starts[i], d);
    return clampTo(e === undefined ? -1 : e < 0 ? e + d : e, -1, starts[i]);
  });
  if (steps.every((s) => s === 1)) {
    if (starts.every((s) => s === 0) && ends.every((e, i) => e === x.shape[i])) return x;
    return apply1("slice", [x], { starts, ends });
  }
  return apply1("slice", [x], { starts, ends, steps });
}

/**
 * Constant padding: `pads[i] = [before, after]` for each axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { pad, tensor } from "@hqat/tensor";
 * assert(pad(tensor([1, 2]), [[1, 0]]).toArray().join() === "0,1,2");
 * ```
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.every(([a, b]) => a === 0 && b === 0)) return x;
  return apply1("pad", [x], { pads, value });
}

/**
 * Concatenates along an axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { concat, tensor } from "@hqat/tensor";
 * assert(concat([tensor([1]), tensor([2, 3])], 0).toArray().join() === "1,2,3");
 * ```
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 1) return xs[0];
  return apply1("concat", xs, { axis: normalizeAxis(axis, xs[0]?.rank ?? 0) });
}

/**
 * Stacks equal-shaped tensors along a new axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stack, tensor } from "@hqat/tensor";
 * assert(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray().join() === "1,3,2,4");
 * ```
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new TypeError("stack() needs at least one tensor");
  const a = normalizeAxis(axis, xs[0].rank + 1);
  return concat(xs.map((x) => reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)])), a);
}

/**
 * One-hot float32 rows from integer labels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { oneHot, tensor } from "@hqat/tensor";
 * assert(oneHot(tensor([1], { dtype: "int32" }), 3).toArray().join() === "0,1,0");
 * ```
 */
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return apply1("oneHot", [labels], { numClasses });
}
