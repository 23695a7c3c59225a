/**
 * `@hqat/hbdk`: deployment tools for the BPU — `checkModel`, `compileModel` (the `.hbm` container of
 * docs/hbm_format.md), the `.hbm` runtime (`loadHbm`, `runHbm`), `perfModel` (JSON and HTML report),
 * `visualizeModel` (SVG) — and the analytic performance model (`estimatePerformance`) with what it is
 * built from: the layer dataflow, the steps each optimization level runs, and the native DDR layouts.
 * @module
 */

export {
  estimatePerformance,
  type LayerEstimate,
  type PerformanceEstimate,
  type PerformanceOptions,
} from "./src/cost_model.ts";
export { buildLayerGraph, type LayerGraph, type Source } from "./src/layer_graph.ts";
export {
  channelBytesAligned,
  featureBytesPerFrame,
  gemmOf,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  type PyramidFormat,
  weightBytes,
} from "./src/native_layout.ts";
export {
  OPT_LEVELS,
  type OptLevel,
  type Plan,
  planSteps,
  type Step,
  type TensorRef,
} from "./src/schedule.ts";
export { type IntModelLayerOptions, intModelLayers, withBatch } from "./src/int_model_layers.ts";
export { type GraphLayerOptions, graphLayers } from "./src/graph_layers.ts";
export { exampleBatch, type ExampleInput } from "./src/example_inputs.ts";
export {
  type CheckableModel,
  checkModel,
  type CheckModelOptions,
  type CheckReport,
  modelLayers,
  type NodeCheck,
} from "./src/check_model.ts";
export {
  type Activation,
  type BufferDtype,
  bufferDtypeBytes,
  type BufferLayout,
  type HbmBuffer,
  type HbmProgram,
  type Instr,
  INSTR_OPS,
  type InstrBase,
  type Pair,
  type Requant,
  type Stage,
} from "./src/hbm_program.ts";
export { CompileError, type DraftBuffer, type LoweredProgram, lowerIntModel } from "./src/lower.ts";
export {
  ARENA_ALIGNMENT,
  instrReads,
  type Lifetime,
  lifetimes,
  overlaps,
  planMemory,
} from "./src/memory_plan.ts";
export { type ConvGeometry, inputRows, searchTiles, type TilePlan } from "./src/tiling.ts";
export { chooseLayouts, ioLayoutBytes } from "./src/layout_choice.ts";
export { crc32 } from "./src/crc32.ts";
export { encodeHbm, HBM_FORMAT } from "./src/hbm_encode.ts";
export { HbmFormatError, loadHbm } from "./src/hbm_decode.ts";
export { MAX_ARENA_BYTES, verifyProgram } from "./src/hbm_verify.ts";
export { type HbmRunResult, HbmRuntimeError, runHbm } from "./src/hbm_run.ts";
export { releaseHbmGpu, runHbmGpu, type RunHbmGpuOptions } from "./src/hbm_run_gpu.ts";
export {
  compileModel,
  type CompileOptions,
  compileProgram,
  type CompileResult,
  deployMarch,
  PYRAMID_INPUT_SCALE,
} from "./src/compile_model.ts";
export { type PerfJson, perfJson, perfModel, type PerfOptions, type PerfReport } from "./src/perf_model.ts";
export { escapeXml, perfHtml } from "./src/perf_html.ts";
export {
  type GraphLayout,
  type LayoutBox,
  type LayoutEdge,
  layoutGraph,
  type LayoutNode,
} from "./src/graph_layout.ts";
export { type Visualization, visualizeModel, type VisualizeOptions } from "./src/visualize_model.ts";

// The types of other `@hqat` packages that this package's signatures name.
export type {
  BnRef,
  Graph,
  GraphDType,
  GraphNode,
  IntModel,
  IntNode,
  IntOp,
  IntPair,
  NodeOp,
  Pair as FxPair,
} from "@hqat/fx";
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
export type { FusedActivation, IntOutput, QArray, QDType, QDTypeArray } from "@hqat/qtensor";
export type {
  AdapterSummary,
  Backend,
  BufferDecl,
  BufferKind,
  BufferPool,
  ConvAttrs,
  Device,
  DeviceStorage,
  DispatchArgs,
  DType,
  DTypeArray,
  KernelSpec,
  None,
  OpAttrs,
  OpName,
  PoolAttrs,
  PoolStats,
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
