/**
 * `@hqat/program`: the integer program — the one executable form of a fixed-point model. Buffers and
 * instructions (`src/program.ts`), one table entry per instruction kind (`src/ops/`, collected in
 * `src/op_table.ts`) and per epilogue stage (`src/stage.ts`), the checks every program passes
 * (`verifyProgram`), lowering (`lowerProgram`), the container that `int_model` and `.hbm` files are
 * (`encodeProgram`, `decodeProgram`, `saveIntModel`, `loadIntModel`), and one executor per backend
 * (`runIntModel` on the CPU, `runIntModelGpu` on WebGPU).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lowerProgram, type Program, runIntModel } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "quant", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "relu", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "dequant", shape: [1, 2], dtype: "float32", scale: s(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "quant", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "relu", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "dequant", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * const x = Float32Array.of(0.74, -3);
 * assert(runIntModel(p, x, [1, 2]).output.join() === "0.5,0");
 * assert(runIntModel(lowerProgram(p, { opt: "O1" }), x, [1, 2]).output.join() === "0.5,0");
 * ```
 * @module
 */
export * from "./src/program.ts";
export * from "./src/value.ts";
export * from "./src/fields.ts";
export * from "./src/stage.ts";
export * from "./src/stage_rules.ts";
export * from "./src/gpu_types.ts";
export * from "./src/instr.ts";
export * from "./src/ops/checks.ts";
export * from "./src/ops/quantize.ts";
export * from "./src/ops/conv2d.ts";
export * from "./src/ops/linear.ts";
export * from "./src/ops/add.ts";
export * from "./src/ops/avg_pool2d.ts";
export * from "./src/ops/max_pool2d.ts";
export * from "./src/ops/cat.ts";
export * from "./src/ops/move.ts";
export * from "./src/ops/dequantize.ts";
export * from "./src/ops/mul.ts";
export * from "./src/ops/sub.ts";
export * from "./src/ops/constant.ts";
export * from "./src/ops/lut.ts";
export * from "./src/ops/transpose.ts";
export * from "./src/ops/slice.ts";
export * from "./src/ops/pad.ts";
export * from "./src/ops/resize.ts";
export * from "./src/ops/reduce_mean.ts";
export * from "./src/ops/matmul.ts";
export * from "./src/ops/conv_transpose2d.ts";
export * from "./src/ops/softmax.ts";
export * from "./src/op_table.ts";
export * from "./src/lifetime.ts";
export * from "./src/verify.ts";
export * from "./src/lower.ts";
export * from "./src/container_io.ts";
export * from "./src/container.ts";
export * from "./src/files.ts";
export * from "./src/cpu_executor.ts";
export * from "./src/gpu_executor.ts";

// The types of other `@hqat` packages that this package's signatures name.
export type { InputSource, LayerAttrs } from "@hqat/march-bayes";
export type {
  FusedActivation,
  IntOutput,
  Multiplier,
  PadFill,
  QArray,
  QDType,
  QDTypeArray,
  QTensor,
} from "@hqat/qtensor";
export type {
  AdapterSummary,
  BufferDecl,
  BufferKind,
  BufferPool,
  CoordinateTransformation,
  DispatchArgs,
  DType,
  GpuTensor,
  KernelSpec,
  NearestMode,
  PoolStats,
  RequantPlan,
  ResidentBias,
  ResidentRequant,
  Shape,
  UniformDecl,
  WebGpuDevice,
  WgslFn,
  WgslType,
} from "@hqat/tensor";
