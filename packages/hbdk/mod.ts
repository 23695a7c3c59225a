/**
 * `@hqat/hbdk`: deployment tools for the BPU. This module holds the analytic performance model
 * (`estimatePerformance`) and what it is built from: the layer dataflow, the steps each
 * optimization level runs, and the native DDR layouts.
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
