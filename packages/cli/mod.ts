/**
 * `@hqat/cli`: the command line's pieces, for embedding and tests. The entry point is `main.ts`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel } from "@hqat/cli";
 * assert(buildModel("resnet18").typeName === "ResNet");
 * ```
 * @module
 */
export * from "./src/models.ts";
export * from "./src/commands.ts";
export * from "./src/data_source.ts";
export * from "./src/float_stage.ts";
export * from "./src/quant_stage.ts";
export * from "./src/pipeline_commands.ts";
export * from "./src/quickstart.ts";
export * from "./src/deploy_stages.ts";
export * from "./src/ptq_command.ts";
export * from "./src/analyze_command.ts";

// The `@std/cli` type that `parse` returns.
export type { Args } from "@std/cli";

// The types of other `@hqat` packages that this package's signatures name.
export type { Batch as DataBatch, Dataset, Loader } from "@hqat/data";
export type {
  BnRef,
  DeviceBatchSink,
  Graph,
  GraphDType,
  GraphNode,
  IntModel,
  NodeOp,
  NodeQuantSpec,
  Pair,
  QatModel,
  QConfigDict,
} from "@hqat/fx";
export type { March } from "@hqat/march-bayes";
export type {
  ActivationName,
  ActivationParams,
  Batch,
  CallInterceptor,
  EvalResult,
  ForwardContext,
  Module,
  PadMode,
  Scope,
  StateDict,
  StateSpec,
} from "@hqat/nn";
export type {
  ActivationQConfig,
  BatchStats,
  BatchStatsPlan,
  FakeQuantState,
  FakeQuantSwitch,
  FusedActivation,
  IntOutput,
  ObserveOptions,
  Observer,
  ObserverConfig,
  ObserverKind,
  ObserverState,
  QConfig,
  QDType,
  QRange,
  RoundingMode,
  WeightQConfig,
} from "@hqat/qtensor";
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
  DeviceChoice,
  DeviceSelection,
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
