/**
 * `@hqat/fx`: the graph IR (typed nodes, a printer, a verifier), tracing of `@hqat/nn` models with
 * module names kept, and the passes of the quantization pipeline, each returning a new graph.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { printGraph, trace } from "@hqat/fx";
 * import { initState, mobilenetV2 } from "@hqat/nn";
 * import { randomKey, zeros } from "@hqat/tensor";
 * const m = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
 * const g = trace(m, initState(m, randomKey(0)), zeros([1, 3, 32, 32]));
 * assert(printGraph(g).includes("quant_stub[quant]"));
 * ```
 * @module
 */
export * from "./src/graph.ts";
export * from "./src/verify.ts";
export * from "./src/printer.ts";
export * from "./src/trace.ts";
export * from "./src/fuse.ts";
export * from "./src/interpret.ts";
export * from "./src/node_rule.ts";
export * from "./src/node_rules.ts";
export * from "./src/qconfig_dict.ts";
export * from "./src/qat_model.ts";
export * from "./src/lsq.ts";
export * from "./src/device_observer.ts";
export * from "./src/device_calibration.ts";
export * from "./src/bn_reestimate.ts";
export * from "./src/convert.ts";
export * from "./src/debug.ts";
export * from "./src/ptq.ts";
export * from "./src/similarity.ts";
export * from "./src/calib_search.ts";
export * from "./src/analyze.ts";
export * from "./src/analysis_report.ts";
export * from "./src/analysis_html.ts";
export * from "./src/equalize.ts";
export * from "./src/bias_correction.ts";
export * from "./src/adaround.ts";
export * from "./src/graph_layers.ts";
// The fixed-point model `convertFx` gives is `@hqat/program`'s program at O0: its seed-flow API.
export {
  type IntModel,
  type IntRunResult,
  loadIntModel,
  releaseIntModelGpu,
  runIntModel,
  runIntModelGpu,
  type RunIntModelGpuOptions,
  type RunIntModelOptions,
  saveIntModel,
} from "@hqat/program";

// The types of other `@hqat` packages that this package's signatures name.
export type {
  InputSource,
  LayerAttrs,
  LayerDesc,
  March,
  QDtype,
  TensorDesc,
  Violation,
} from "@hqat/march-bayes";
export type {
  Activation,
  AddInstr,
  AvgPool2dInstr,
  BufferDtype,
  BufferLayout,
  CatInstr,
  ConstantInstr,
  Conv2dInstr,
  ConvTranspose2dInstr,
  DequantizeInstr,
  Instr,
  InstrBase,
  LinearInstr,
  LutInstr,
  MatmulInstr,
  MaxPool2dInstr,
  MoveInstr,
  MulInstr,
  OptLevel,
  PadFill,
  PadInstr,
  Pair as ProgramPair,
  Placement,
  Program,
  ProgramBuffer,
  QuantizeInstr,
  ReduceMeanInstr,
  Requant,
  ResizeInstr,
  SliceInstr,
  SoftmaxInstr,
  Stage,
  SubInstr,
  TransposeInstr,
} from "@hqat/program";
export type {
  ActivationName,
  ActivationParams,
  CallInterceptor,
  ForwardContext,
  Module,
  Scope,
  StateDict,
  StateSpec,
} from "@hqat/nn";
export type {
  ActivationQConfig,
  BatchStats,
  BatchStatsPlan,
  CalibMethod,
  FakeQuantState,
  FakeQuantSwitch,
  FusedActivation,
  IntOutput,
  ObserveOptions,
  Observer,
  ObserverConfig,
  ObserverKind,
  ObserverState,
  QArray,
  QConfig,
  QDType,
  QDTypeArray,
  QRange,
  QTensor,
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
export type { PadMode } from "@hqat/tensor";
