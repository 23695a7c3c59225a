/**
 * The gradient of a strided slice, composed from differentiable movement ops (so it runs on every
 * backend and has gradients itself): along an axis with step ±a, the cotangent is reversed when the step
 * is negative, spread a cells apart by padding a new axis, cut to the input's length and shifted to the
 * first index taken; step-1 axes are padded as for a plain slice.
 * @module
 */
import type { OpAttrs } from "./ops.ts";
import { pad, reshape, slice } from "./shape_ops.ts";
import type { Shape } from "./shape.ts";
import { type Tensor, zeros } from "./tensor.ts";

type Pads = [number, number][];

const noPads = (rank: number): Pads => Array.from({ length: rank }, () => [0, 0]);

/** Spreads the entries of axis `axis` of `g` `a` cells apart (zeros between): length n becomes n · a. */
function spread(g: Tensor, axis: number, a: number): Tensor {
  const s = g.shape, n = s[axis];
  const widened = reshape(g, [...s.slice(0, axis), n, 1, ...s.slice(axis + 1)]);
  const pads = noPads(s.length + 1);
  pads[axis + 1] = [0, a - 1];
  return reshape(pad(widened, pads), [...s.slice(0, axis), n * a, ...s.slice(axis + 1)]);
}

/**
 * The cotangent of the input of `slice` (of shape `xShape`, attributes `attrs`) given the cotangent `g` of
 * its output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor } from "./tensor.ts";
 * import { stridedSliceGrad } from "./slice_grad.ts";
 * // x of length 6 sliced from index 4 back to index 0 (exclusive) in steps of 2: indices 4 and 2.
 * const dx = stridedSliceGrad(tensor([1, 2]), [6], { starts: [4], ends: [0], steps: [-2] });
 * assert(dx.toArray().join() === "0,0,2,0,1,0");
 * ```
 */
export function stridedSliceGrad(g: Tensor, xShape: Shape, attrs: OpAttrs["slice"]): Tensor {
  if (g.size === 0) return zeros(xShape, g.dtype);
  const { starts, ends } = attrs;
  const steps = attrs.steps ?? xShape.map(() => 1);
  let t = g;
  const rest = noPads(xShape.length);
  for (let i = 0; i < xShape.length; i++) {
    const step = steps[i], d = xShape[i];
    if (step === 1) {
      rest[i] = [starts[i], d - ends[i]];
      continue;
    }
    const n = t.shape[i], a = Math.abs(step);
    let first = starts[i];
    if (step < 0) {
      // Reverse, so that the entries run up from the lowest index taken.
      const begin = t.shape.map(() => 0), end = [...t.shape], by = t.shape.map(() => 1);
      begin[i] = n - 1;
      end[i] = -n - 1;
      by[i] = -1;
      t = slice(t, begin, end, { steps: by });
      first = starts[i] - (n - 1) * a;
    }
    if (a > 1) t = spread(t, i, a);
    const keep = Math.min(t.shape[i], d - first);
    if (keep < t.shape[i]) t = slice(t, [], t.shape.map((e, j) => (j === i ? keep : e)));
    const pads = noPads(xShape.length);
    pads[i] = [first, d - first - keep];
    t = pad(t, pads);
  }
  return pad(t, rest);
}
