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

// The types of other `@hqat` packages that this package's signatures name.
export type { BnRef, Graph, GraphDType, GraphNode, NodeOp, Pair as FxPair } from "@hqat/fx";
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
  ConvAttrs,
  CoordinateTransformation,
  NearestMode,
  None,
  OpAttrs,
  OpName,
  PoolAttrs,
  ResizeAttrs,
} from "@hqat/tensor";
