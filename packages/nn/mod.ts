/**
 * `@hqat/nn`: layers, losses, optimizers and the model zoo, with tensor file I/O (safetensors, NumPy
 * `.npy`) and atomic writes.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "@hqat/nn";
 * import { assert } from "@std/assert";
 * const bytes = encodeSafetensors([["bias", { dtype: "F32", shape: [1], data: new Float32Array([0.5]) }]]);
 * assert(parseSafetensors(bytes).tensors.get("bias")!.data[0] === 0.5);
 * ```
 * @module
 */

// Tensor file I/O and atomic writes, from `@hqat/io`.
export * from "@hqat/io";
export * from "./src/module.ts";
export * from "./src/layers.ts";
export * from "./src/activations.ts";
export * from "./src/conv_transpose.ts";
export * from "./src/pad_layers.ts";
export * from "./src/containers.ts";
export * from "./src/stubs.ts";
export * from "./src/zoo/mobilenet_v2.ts";
export * from "./src/zoo/resnet.ts";
export * from "./src/checkpoint.ts";
export * from "./src/checkpoint_file.ts";
export * from "./src/metrics.ts";
export * from "./src/progress.ts";
export * from "./src/train_step.ts";
export * from "./src/train_loop.ts";
export * from "./src/non_finite.ts";
export * from "./src/train_checkpoint.ts";
export * from "./src/optim.ts";
export * from "./src/optim_sgd.ts";
export * from "./src/optim_adam.ts";
export * from "./src/schedule.ts";
export * from "./src/init.ts";
// The `@hqat/tensor` types that this package's signatures name.
export type {
  AdapterSummary,
  Backend,
  BufferDecl,
  BufferKind,
  BufferPool,
  ConvAffineAttrs,
  ConvAttrs,
  CoordinateTransformation,
  Device,
  DeviceStorage,
  DispatchArgs,
  DType,
  DTypeArray,
  KernelSpec,
  NearestMode,
  None,
  OpAttrs,
  OpName,
  PadMode,
  PoolAttrs,
  PoolStats,
  RandomKey,
  ResizeAttrs,
  Shape,
  Size2,
  Tensor,
  TensorInfo,
  TypedArray,
  UniformDecl,
  WebGpuDevice,
  WebGpuDeviceOptions,
  WgslFn,
  WgslType,
} from "@hqat/tensor";
