/**
 * hqat for browsers: the entry of the `hqat.js` bundle (`deno task build:web`). Everything here takes
 * and gives bytes and values — a file the user opens arrives as a `Uint8Array` (`await file.bytes()`),
 * a result leaves as bytes the page offers for download — so no module with file access (`Deno.*`)
 * is imported: where a package keeps a reader beside its codec, this imports the codec's file
 * (`decodeProgram`, not `loadIntModel`; `compileProgram`, not `compileModel`; `perfJson`, not
 * `perfModel`; `loadOnnx`, not `readOnnx`; `parseNpy`, not `readNpy`).
 *
 * The integer program runs on the CPU (`runIntModel`: WebAssembly SIMD kernels on the page's thread)
 * or on WebGPU (`runIntModelGpu` on a `WebGpuDevice`, after `probeWebGpu`), with the same integers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProgram, encodeProgram, type Program, runIntModel } from "./hqat_browser.ts";
 * const s = (v: number) => Float32Array.of(v);
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const opened = decodeProgram(encodeProgram(p), { fileName: "int_model" });
 * assert(runIntModel(opened, Float32Array.of(0.74, -3), [1, 2]).raw.data.join() === "1,-6");
 * ```
 * @module
 */

// The integer program: the container (int_model and .hbm), the instruction table, the executors.
export {
  decodeProgram,
  encodeProgram,
  PROGRAM_FORMAT,
  ProgramFormatError,
} from "../packages/program/src/container.ts";
export {
  atBatch,
  bufferBytes,
  type BufferDtype,
  elementCount,
  type IntModel,
  type OptLevel,
  type Program,
  type ProgramBuffer,
  withBatch,
} from "../packages/program/src/program.ts";
export type { Instr, InstrDef, InstrOp } from "../packages/program/src/instr.ts";
export { INSTR_TABLE, instrDef, instrReads, isInputTransfer } from "../packages/program/src/op_table.ts";
export { rawOutput, verifyProgram } from "../packages/program/src/verify.ts";
export { lowerProgram } from "../packages/program/src/lower.ts";
export {
  type IntRunResult,
  ProgramRunError,
  runIntModel,
  type RunIntModelOptions,
} from "../packages/program/src/cpu_executor.ts";
export {
  releaseIntModelGpu,
  runIntModelGpu,
  type RunIntModelGpuOptions,
} from "../packages/program/src/gpu_executor.ts";

// Deployment tools over the program, in memory.
export { checkModel, type CheckReport, type NodeCheck } from "../packages/hbdk/src/check_model.ts";
export {
  CompileError,
  type CompileOptions,
  compileProgram,
  type CompileResult,
  PYRAMID_INPUT_SCALE,
} from "../packages/hbdk/src/compile_model.ts";
export {
  estimatePerformance,
  type LayerEstimate,
  type PerformanceEstimate,
} from "../packages/hbdk/src/cost_model.ts";
export { type PerfJson, perfJson } from "../packages/hbdk/src/perf_model.ts";
export { escapeXml, perfHtml } from "../packages/hbdk/src/perf_html.ts";
export { type GraphLayout, type LayoutBox, layoutGraph } from "../packages/hbdk/src/graph_layout.ts";
export { programLayers } from "../packages/hbdk/src/program_layers.ts";
export { loadHbm } from "../packages/hbdk/src/hbm_file.ts";

// The target as data.
export {
  BAYES_OP_TABLE,
  checkLayer,
  GENERAL_LIMITS,
  hardwareFigures,
  type LayerDesc,
  type Limit,
  March,
  type OpEntry,
  opTable,
  type Violation,
} from "@hqat/march-bayes";

// Byte codecs of tensor files.
export { encodeNpy, parseNpy } from "../packages/io/src/npy.ts";
export { encodeSafetensors, parseSafetensors } from "../packages/io/src/safetensors.ts";
export type { StoredTensor } from "../packages/io/src/stored_tensor.ts";

// Float networks: ONNX in, the zoo, state from stored tensors.
export { loadOnnx, type LoadOnnxOptions } from "../packages/onnx/src/load.ts";
export { OnnxModel } from "../packages/onnx/src/onnx_model.ts";
export {
  checkState,
  forward,
  initState,
  type Module,
  namedModules,
  Scope,
  type StateDict,
  stateSpecs,
} from "../packages/nn/src/module.ts";
export { Linear } from "../packages/nn/src/layers.ts";
export { fromStored, stateEntries, toStored } from "../packages/nn/src/checkpoint.ts";
export { mobilenetV2 } from "../packages/nn/src/zoo/mobilenet_v2.ts";
export { resnet18Cifar } from "../packages/nn/src/zoo/resnet.ts";

// Quantization: prepare, calibrate, convert, and the debugger.
export {
  convertFx,
  debugQuantization,
  type DebugReport,
  type DebugRow,
  prepareQatFx,
  QatModel,
  qatStateFromFloat,
  setFakeQuantize,
} from "@hqat/fx";
export {
  default_calib_8bit_fake_quant_qconfig,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
  FakeQuantState,
  type QTensor,
} from "@hqat/qtensor";

// Tensors and WebGPU.
export {
  fromArray,
  probeWebGpu,
  randomKey,
  randomUniform,
  type Tensor,
  WebGpuDevice,
  type WebGpuProbe,
} from "@hqat/tensor";

// Preprocessing.
export { rgb2centeredYuv } from "../packages/data/src/color.ts";
