/**
 * The MinMax observer on device tensors: the batch's min and max (per tensor, or per channel of axis 0)
 * by reductions, the running state moved by `c · (current − previous)` in float32 as on the CPU, and the
 * SPEC scale `max(−min, max, 0) / ((qmax − qmin) / 2)`, never below 2^-23 — so that QAT runs on WebGPU
 * with the state, the statistics and the scales on the device and no read back per step.
 * @module
 */
import { SCALE_EPSILON } from "@hqat/qtensor";
import {
  add,
  div,
  max,
  maximum,
  min,
  mul,
  neg,
  notEqual,
  reshape,
  stopGradient,
  sub,
  type Tensor,
  where,
} from "@hqat/tensor";

/** What {@linkcode observeMinMax} needs of a MinMax observer. */
export interface MinMaxSpec {
  /** The averaging constant c (a later batch moves the state by c · (current − previous)). */
  readonly averagingConstant: number;
  /** Per channel along axis 0 (weights), or per tensor. */
  readonly perChannel: boolean;
  /** The integer range. */
  readonly qmin: number;
  /** The integer range. */
  readonly qmax: number;
}

/**
 * One MinMax step on `y`: the new state from `state` (NaN before any batch; updated only with `update`)
 * and the scale of the state it returns, all as tensors on `y`'s device. No gradient flows into them.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { observeMinMax } from "@hqat/fx";
 * import { fromArray, tensor } from "@hqat/tensor";
 * const nan = fromArray(Float32Array.of(NaN), [1]);
 * const spec = { averagingConstant: 0.5, perChannel: false, qmin: -128, qmax: 127 };
 * const a = observeMinMax(tensor([-1, 2]), { min: nan, max: nan }, spec, true);
 * const b = observeMinMax(tensor([-3, 4]), a.state, spec, true);
 * assert(b.state.min.item() === -2 && b.state.max.item() === 3 && b.scale.item() === Math.fround(3 / 127.5));
 * ```
 */
export function observeMinMax(
  y: Tensor,
  state: { readonly min: Tensor; readonly max: Tensor },
  spec: MinMaxSpec,
  update: boolean,
): { state: { min: Tensor; max: Tensor }; scale: Tensor } {
  let { min: mn, max: mx } = state;
  if (update) {
    const x = stopGradient(y);
    const axes = spec.perChannel ? x.shape.map((_, i) => i).slice(1) : undefined;
    const n = spec.perChannel ? x.shape[0] : 1;
    const bmin = reshape(min(x, { axes }), [n]), bmax = reshape(max(x, { axes }), [n]);
    const c = Math.fround(spec.averagingConstant);
    const fresh = notEqual(mn, mn); // NaN: no batch seen yet, the batch sets the state
    mn = where(fresh, bmin, add(mn, mul(sub(bmin, mn), c)));
    mx = where(fresh, bmax, add(mx, mul(sub(bmax, mx), c)));
  }
  const absmax = maximum(maximum(neg(mn), mx), 0);
  const scale = maximum(div(absmax, (spec.qmax - spec.qmin) / 2), SCALE_EPSILON);
  return { state: { min: mn, max: mx }, scale };
}
