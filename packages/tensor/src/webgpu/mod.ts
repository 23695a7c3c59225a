/**
 * The WebGPU backend of `@hqat/tensor`: device probing, the device wrapper (buffer pool, pipeline
 * cache, batched submissions), the kernel-spec format, one WGSL kernel per primitive op
 * ({@linkcode GPU_KERNELS}, {@linkcode runOpOnGpu}), and the bit-exact integer kernels of the
 * fixed-point model. The package's `mod.ts` re-exports this file once device-resident tensors are
 * integrated.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu, runOpOnGpu, WebGpuDevice } from "./mod.ts";
 * const probe = await probeWebGpu();
 * if (probe.available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = { data: Float32Array.of(1, -2), shape: [2], dtype: "float32" } as const;
 *   const [y] = await runOpOnGpu(dev, "relu", [x], {}, [{ shape: [2], dtype: "float32" }]);
 *   assert(y.join() === "1,0");
 *   dev.destroy();
 * }
 * ```
 * @module
 */
export { type AdapterSummary, isSoftwareAdapter, probeWebGpu, type WebGpuProbe } from "./probe.ts";
export { type DispatchArgs, grid, MAX_GROUPS, WebGpuDevice, type WebGpuDeviceOptions } from "./device.ts";
export { type BufferKind, BufferPool, type PoolStats, sizeClass } from "./buffer_pool.ts";
export {
  type BufferDecl,
  type KernelSpec,
  packUniforms,
  shaderOf,
  type UniformDecl,
  type UniformLayout,
  uniformLayout,
  type WgslFn,
  type WgslType,
} from "./kernel_spec.ts";
export {
  allocTensor,
  byteSize,
  type GpuKernel,
  type GpuTensor,
  loader,
  perWord,
  readTensor,
  releaseTensor,
  storageType,
  uploadTensor,
  valueType,
  withTensors,
} from "./gpu_tensor.ts";
export { ELEM_GROUP, type ElemInput, elemKernel, type ElemSpec, runElem } from "./elem_kernel.ts";
export { dispatchGemm, gemmKernel, type GemmRun, type GemmSpec, TILE } from "./gemm.ts";
export { GPU_KERNELS, type HostTensor, runOpOnGpu } from "./kernels.ts";
export { requantGpu, type RequantGpuOptions, type RequantPlan, requantPlan } from "./requant_kernel.ts";
export * from "./int_resident.ts";
export { mulProductResident } from "./int_mul_resident.ts";
export { alignedSumResident } from "./int_sum_resident.ts";
export { gatherResident, type GatherResidentOptions } from "./int_gather_resident.ts";
export { lutResident } from "./int_lut_resident.ts";
export { packTaps, resizeLinearResident } from "./int_resize_resident.ts";
export { sumGatherResident } from "./int_reduce_resident.ts";
export { matmulResident } from "./int_matmul_resident.ts";
export { convTransposeResident } from "./int_conv_transpose_resident.ts";
export { softmaxResident } from "./int_softmax_resident.ts";
export { avgPoolSumResident, maxPoolWindowResident } from "./int_pool_resident.ts";
export {
  batchStatsResident,
  readBatchStats,
  type ResidentBatchStats,
  statsHeaderWords,
} from "./observer_stats_resident.ts";
export { squaredErrorsResident } from "./sq_error_resident.ts";
// The quantization types the integer and observer kernels' signatures name.
export type {
  AlignedSumOptions,
  BatchLayout,
  BatchStats,
  BatchStatsPlan,
  Conv2dGeometry as IntConv2dGeometry,
  ConvTranspose2dGeometry,
  FusedActivation,
  IntAdaptiveAvgPool2dOptions,
  IntAddOptions,
  IntAvgPool2dOptions,
  IntConv2dAccumulateOptions,
  IntConv2dOptions,
  IntLinearOptions,
  IntMaxPool2dOptions,
  IntOutput,
  LayerBiasOptions,
  Multiplier,
  PerChannelOptions,
  Pool2dGeometry,
  PoolWindowSpec,
  QArray,
  QDType,
  QDTypeArray,
  QTensor,
  RangeOptions,
  RequantizeOptions,
  RoundingMode,
  Size2d,
} from "@hqat/qtensor";
export { GpuStorage, stateToDevice, toDevice, webgpuBackend } from "./resident.ts";
export {
  DEVICE_CHOICES,
  type DeviceChoice,
  type DeviceSelection,
  parseDeviceChoice,
  selectDevice,
} from "./select.ts";
export { type ResidentCache, residentCache, type ResidentParams } from "./resident_cache.ts";
