/**
 * `@hqat/onnx`: networks trained elsewhere, read from ONNX files (opsets 9–21; what PyTorch 1.13–2.x
 * exports) into ordinary `@hqat/nn` modules. Initializers become state (layer weights under their module
 * paths, other parameters under their ONNX names), shape computations are folded for the input shape
 * with a dynamic batch dimension kept, and Conv, BatchNormalization and Gemm become `Conv2d`,
 * `BatchNorm2d` and `Linear`, so `forward`, `makeTrainStep`, `trace` and `prepareQatFx` take the model
 * like a built-in one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readOnnx } from "@hqat/onnx";
 * import { forward } from "@hqat/nn";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const model = await readOnnx(new URL("./testdata/mobilenetv3_block.onnx", import.meta.url).pathname);
 * const { y } = forward(model, model.initialState(), randomNormal(randomKey(0), [4, 3, 32, 32]));
 * assert(y.shape.join() === "4,10");
 * ```
 * @module
 */
export * from "./src/load.ts";
export * from "./src/read_onnx.ts";
export * from "./src/onnx_model.ts";
export { decodeOnnx } from "./src/proto.ts";
export { exportQdq, type QdqExport, type QdqExportOptions, type QdqInstrReport } from "./src/export_qdq.ts";
export type { OrtNote } from "./src/export_qdq_rule.ts";
export { qdqSidecar, qdqSummary } from "./src/export_qdq_report.ts";
export type { OnnxAttribute, OnnxGraph, OnnxModelProto, OnnxNode, OnnxValueInfo } from "./src/proto.ts";
export type { OnnxTensor } from "./src/tensor_proto.ts";
export { isSupportedOp, SUPPORTED_OPS } from "./src/op_table.ts";
export { OPSETS } from "./src/graph_check.ts";
export type { ModelPlan, PlannedStep, Source } from "./src/build.ts";
export type { RunContext, Step } from "./src/rule.ts";

// The types of other `@hqat` packages that this package's signatures name.
export type * from "@hqat/program";
export type { CallInterceptor, ForwardContext, Module, Scope, StateDict, StateSpec } from "@hqat/nn";
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
  PoolAttrs,
  PoolStats,
  RandomKey,
  ResizeAttrs,
  Shape,
  Tensor,
  TensorInfo,
  TypedArray,
  UniformDecl,
  WebGpuDevice,
  WebGpuDeviceOptions,
  WgslFn,
  WgslType,
} from "@hqat/tensor";
