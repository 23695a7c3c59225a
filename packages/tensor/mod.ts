/**
 * `@hqat/tensor`: immutable tensors, a closed set of primitive ops with CPU kernels, and reverse-mode
 * autodiff as function transformations.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2d, mean, randomKey, randomNormal, valueAndGrad } from "@hqat/tensor";
 * const x = randomNormal(randomKey(0), [2, 3, 8, 8]);
 * const w = randomNormal(randomKey(1), [4, 3, 3, 3]);
 * const { value, grad } = valueAndGrad((w: typeof x) => mean(conv2d(x, w, { padding: 1 })))(w);
 * assert(value.size === 1 && grad.shape.join() === "4,3,3,3");
 * ```
 * @module
 */
export * from "./src/dtype.ts";
export * from "./src/shape.ts";
export * from "./src/tensor.ts";
export * from "./src/scope.ts";
export * from "./src/host.ts";
export type * from "./src/ops.ts";
export type { Backend } from "./src/backend.ts";
export { apply, apply1, observeOps, profileOps, recycle } from "./src/engine.ts";
export type { OpObserver, OpProfile } from "./src/engine.ts";
export * from "./src/math.ts";
export * from "./src/reduce.ts";
export * from "./src/shape_ops.ts";
export * from "./src/nn_ops.ts";
export * from "./src/activations.ts";
export * from "./src/conv_transpose.ts";
export * from "./src/resize.ts";
export { type AxisTaps, axisTaps, resizeShape, type ResizeTaps, resizeTaps } from "./src/resize_geometry.ts";
export * from "./src/pad_modes.ts";
export * from "./src/split.ts";
export * from "./src/random.ts";
export * from "./src/autodiff.ts";
export { sumTo } from "./src/vjp.ts";
export * from "./src/grad_check.ts";
export * from "./src/optim_update.ts";
export * from "./src/quant.ts";
export * from "./src/quant_twins.ts";
export {
  type IntActivations,
  intConv2dAccumulateFast,
  intConv2dRequantFast,
  intLinearAccumulateFast,
  intLinearRequantFast,
  type IntOperand,
  type IntRequantKernelOptions,
} from "./src/cpu/int_conv.ts";
export {
  intAddRequantFast,
  type IntAddRequantOptions,
  intRequantFast,
  type IntRequantFastOptions,
  type IntRequantParams,
  intRequantReference,
} from "./src/cpu/int_requant.ts";
export type { IntResidual } from "./src/cpu/int_residual.ts";
export { quantizeFast, type QuantizeFastOptions } from "./src/cpu/quantize_fast.ts";
export { residentBytes } from "./src/cpu/resident.ts";
export type { Conv2dGeometry } from "./src/cpu/conv2d_shapes.ts";
export * from "./src/webgpu/mod.ts";
