/**
 * CPU kernels of fake quantization and its gradients: the arithmetic itself is `@hqat/qtensor`'s, the
 * one definition of SPEC.md's rules.
 * @module
 */
import { fakeQuantize, fakeQuantizeGrad, lsqFakeQuantizeGrad } from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import type { Tensor } from "../tensor.ts";

const layout = (x: Tensor, axis: number) => (axis < 0 ? {} : { axis, shape: x.shape });

/** Fake quantization of x with per-tensor or per-channel scales. */
export function fakeQuantizeKernel(x: Tensor, scale: Tensor, a: OpAttrs["fakeQuantize"]): Float32Array {
  return fakeQuantize(x.data, scale.data, { qmin: a.qmin, qmax: a.qmax, ...layout(x, a.axis) });
}

/** [dx, dscale] of fake quantization for the upstream gradient dy. */
export function fakeQuantizeBackwardKernel(
  dy: Tensor,
  x: Tensor,
  scale: Tensor,
  a: OpAttrs["fakeQuantizeBackward"],
): [Float32Array, Float32Array] {
  const opts = { qmin: a.qmin, qmax: a.qmax, dy: dy.data, ...layout(x, a.axis) };
  if (!a.scaleGrad) return [fakeQuantizeGrad(x.data, scale.data, opts), new Float32Array(scale.size)];
  const g = lsqFakeQuantizeGrad(x.data, scale.data, { ...opts, gradScale: "lsq" });
  return [g.dx, g.dscale];
}
