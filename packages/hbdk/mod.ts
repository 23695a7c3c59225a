/**
 * `@hqat/hbdk`: deployment tools for the BPU over the integer program of `@hqat/program` —
 * `checkModel` (every instruction against the march's operator table), `compileModel` (lowering,
 * placement, the `.hbm` file; `loadHbm` reads it back), `perfModel` (JSON and HTML report) and
 * `visualizeModel` (SVG) — and the analytic performance model (`estimatePerformance`) that costs a
 * compiled program step by step with the native DDR layouts.
 * @module
 */

export {
  estimatePerformance,
  type LayerEstimate,
  type PerformanceEstimate,
  type PerformanceOptions,
} from "./src/cost_model.ts";
export {
  channelBytesAligned,
  featureBytesPerFrame,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  type PyramidFormat,
  weightBytes,
} from "./src/native_layout.ts";
export { programLayers } from "./src/program_layers.ts";
export { exampleBatch, type ExampleInput } from "./src/example_inputs.ts";
export { deployMarch } from "./src/deploy_march.ts";
export {
  type CheckableModel,
  checkModel,
  type CheckModelOptions,
  type CheckReport,
  modelLayers,
  type NodeCheck,
} from "./src/check_model.ts";
export { planMemory } from "./src/memory_plan.ts";
export { type ConvGeometry, inputRows, searchTiles, type TilePlan } from "./src/tiling.ts";
export { chooseLayouts, ioLayoutBytes } from "./src/layout_choice.ts";
export { loadHbm, readHbm } from "./src/hbm_file.ts";
export {
  CompileError,
  type CompileOptions,
  compileProgram,
  type CompileResult,
  PYRAMID_INPUT_SCALE,
} from "./src/compile_model.ts";
export { compileModel } from "./src/compile_model_file.ts";
export { type PerfJson, perfJson } from "./src/perf_model.ts";
export { perfModel, type PerfOptions, type PerfReport } from "./src/perf_model_file.ts";
export { escapeXml, perfHtml } from "./src/perf_html.ts";
export {
  type GraphLayout,
  type LayoutBox,
  type LayoutEdge,
  layoutGraph,
  type LayoutNode,
} from "./src/graph_layout.ts";
export { type Visualization, visualizeModel, type VisualizeOptions } from "./src/visualize_model.ts";
export {
  formatInt16Steps,
  type Int16Budget,
  type Int16SearchOptions,
  type Int16SearchResult,
  type Int16Step,
  searchInt16,
} from "./src/int16_search.ts";

// The types of other `@hqat` packages that this package's signatures name.
export type {
  BnRef,
  DeviceBatchSink,
  Graph,
  GraphDType,
  GraphNode,
  NodeOp,
  NodeQuantSpec,
  Pair as FxPair,
  QatModel,
} from "@hqat/fx";
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
  Figure,
  HardwareFigures,
  InputSource,
  IoAlignment,
  LayerAttrs,
  LayerDesc,
  MacArrayShape,
  March,
  QDtype,
  TensorDesc,
  Violation,
} from "@hqat/march-bayes";
export type * from "@hqat/program";
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
  Tensor,
  TensorInfo,
  TypedArray,
  UniformDecl,
  WebGpuDevice,
  WebGpuDeviceOptions,
  WgslFn,
  WgslType,
} from "@hqat/tensor";
export type {
  BatchStats,
  BatchStatsPlan,
  FakeQuantState,
  ObserveOptions,
  Observer,
  ObserverConfig,
  ObserverKind,
  ObserverState,
  QRange,
  RoundingMode,
} from "@hqat/qtensor";
