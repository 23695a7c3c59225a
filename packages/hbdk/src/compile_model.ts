/**
 * `compileProgram`: the compilation behind `compileModel` — the model checked against the operator
 * table, lowered (`lowerProgram`), placed (layout choice, O3 tiling, memory plan), checked again as
 * every loaded file is, and encoded as a `.hbm` (the program container) in memory; writing the file is
 * `compile_model_file.ts`'s.
 * @module
 */

import { checkLayers, hardwareFigures, type InputSource, type March } from "@hqat/march-bayes";
import {
  atBatch,
  bufferBytes,
  decodeProgram,
  encodeProgram,
  type IntModel,
  lifetimes,
  lowerProgram,
  MAX_ARENA_BYTES,
  OPT_LEVELS,
  type OptLevel,
  type Program,
  rawOutput,
  verifyProgram,
} from "@hqat/program";
import { estimatePerformance, type PerformanceEstimate } from "./cost_model.ts";
import { deployMarch } from "./deploy_march.ts";
import { exampleBatch, type ExampleInput } from "./example_inputs.ts";
import { chooseLayouts } from "./layout_choice.ts";
import { planMemory } from "./memory_plan.ts";
import { programLayers } from "./program_layers.ts";
import { searchTiles, type TilePlan } from "./tiling.ts";

/**
 * An error in compilation: the model cannot be compiled (the message names the node or the limit).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CompileError } from "@hqat/hbdk";
 * const e = new CompileError("conv: conv2d kernel 33×33 exceeds the BAYES limit");
 * assert(e instanceof RangeError && e.name === "CompileError");
 * ```
 */
export class CompileError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

/**
 * Options of {@linkcode compileModel}: the output file (must end in `.hbm`), where the input
 * comes from (default `"ddr"`), the optimization level (default `"O1"`), the model name (default
 * `"model"`), the march (default: the model's, else the one set with `setMarch`) and where the
 * report lines go (default `console.log`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CompileOptions } from "@hqat/hbdk";
 * const o: CompileOptions = { hbm: "model.hbm", inputSource: "pyramid", opt: "O1" };
 * assert(o.hbm?.endsWith(".hbm"));
 * ```
 */
export interface CompileOptions {
  /** The output file (must end in `.hbm`). */
  readonly hbm?: string;
  /** Where the input comes from (default `"ddr"`). */
  readonly inputSource?: InputSource;
  /** The optimization level (default `"O1"`). */
  readonly opt?: OptLevel;
  /** The model name (default `"model"`). */
  readonly name?: string;
  /** The march (default: the model's, else the one set with `setMarch`). */
  readonly march?: March;
  /** Where the report lines go (default `console.log`). */
  readonly log?: (line: string) => void;
}

/**
 * What a compilation gives: the program, its `.hbm` bytes, the cost model's estimate at the same
 * level, the tiling of each convolution (O3), and the warnings printed.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CompileResult } from "@hqat/hbdk";
 * const tiles: CompileResult["tiles"] = [{ name: "conv", tileRows: 4, tiles: 2, workingSetBytes: 1, ddrBytes: 2 }];
 * assert(tiles[0].tiles === 2);
 * ```
 */
export interface CompileResult {
  /** The compiled program. */
  readonly program: Program;
  /** The `.hbm` file bytes. */
  readonly bytes: Uint8Array;
  /** The cost model's estimate at the same level. */
  readonly estimate: PerformanceEstimate;
  /** The tiling of each convolution, by layer name (O3). */
  readonly tiles: readonly (TilePlan & { readonly name: string })[];
  /** The warnings printed. */
  readonly warnings: readonly string[];
}

/**
 * The QuantStub scale the pyramid and the resizer need: their pixels are the int8 input.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PYRAMID_INPUT_SCALE } from "@hqat/hbdk";
 * assert(PYRAMID_INPUT_SCALE === 0.0078125);
 * ```
 */
export const PYRAMID_INPUT_SCALE = 1 / 128;

function withTiles(program: Program, tileRows: Map<number, number>): Program {
  return {
    ...program,
    instructions: program.instructions.map((instr, i) =>
      instr.op === "conv2d" && tileRows.has(i) ? { ...instr, tileRows: tileRows.get(i)! } : instr
    ),
  };
}

/**
 * Compiles `intModel` for the batch of the example input into a program and its `.hbm` bytes
 * without writing a file (see {@linkcode compileModel}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compileProgram } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const m: Program = {
 *   name: "model", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "r", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "r", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "d", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * const r = compileProgram(m, [{ shape: [4, 2] }], { opt: "O1", log: () => {} });
 * assert(r.program.instructions.length === 2 && r.program.inputShape[0] === 4 && r.program.placement !== undefined);
 * ```
 */
export function compileProgram(
  intModel: IntModel,
  exampleInputs: readonly ExampleInput[],
  options: CompileOptions = {},
): CompileResult {
  const log = options.log ?? ((line: string) => console.log(line));
  const march = deployMarch(intModel, { march: options.march, tool: "compileModel" });
  const opt = options.opt ?? "O1";
  if (!OPT_LEVELS.includes(opt)) {
    throw new RangeError(`compileModel: unknown opt ${JSON.stringify(opt)}; expected O0, O1, O2 or O3`);
  }
  const inputSource = options.inputSource ?? "ddr";
  if (!["ddr", "pyramid", "resizer"].includes(inputSource)) {
    throw new RangeError(
      `compileModel: unknown input source ${JSON.stringify(inputSource)}; expected ddr, pyramid or resizer`,
    );
  }
  const batch = exampleBatch(exampleInputs, { tool: "compileModel", model: intModel });
  const model = atBatch(intModel, batch);
  const violations = checkLayers(programLayers(model), { march, inputSource });
  if (violations.length > 0) {
    throw new CompileError(
      `compileModel: the model is not supported by ${march}: ${violations[0].message}` +
        (violations.length > 1 ? ` (and ${violations.length - 1} more; run checkModel)` : ""),
    );
  }
  const quant = model.instructions.find((i) => i.op === "quantize");
  if (inputSource !== "ddr" && (quant?.op !== "quantize" || quant.scale !== PYRAMID_INPUT_SCALE)) {
    const scale = quant?.op === "quantize" ? quant.scale : undefined;
    throw new CompileError(
      `compileModel: input source ${inputSource} needs the QuantStub scale 1/128 (the pixels are the int8 input), got ${scale}`,
    );
  }
  const figures = hardwareFigures(march);
  let lowered: Program;
  try {
    lowered = lowerProgram(model, { opt });
  } catch (e) {
    throw new CompileError(`compileModel: ${(e as Error).message}`);
  }
  const { layouts, inputNotNchw } = chooseLayouts(lowered, { opt, inputSource, figures });
  const warnings = inputNotNchw
    ? [
      `WARNING: arg0 can not be assigned to NCHW_NATIVE layout because it's input source is ${
        inputSource === "pyramid" ? "pyramid" : "resizer"
      }.`,
    ]
    : [];
  for (const w of warnings) log(w);
  const tiles: (TilePlan & { name: string })[] = [];
  const tileRows = new Map<number, number>();
  if (opt === "O3") {
    lowered.instructions.forEach((instr, i) => {
      if (instr.op !== "conv2d") return;
      const x = lowered.buffers[instr.inputs[0]], y = lowered.buffers[instr.output];
      const [o, , kh, kw] = instr.weightShape;
      const plan = searchTiles({
        input: x.shape,
        inputDtype: x.dtype,
        output: [y.shape[0], o, y.shape[2], y.shape[3]],
        outputDtype: y.dtype,
        kernel: [kh, kw],
        stride: instr.stride,
        dilation: instr.dilation,
        padding: instr.padding,
        weightBytes: instr.weight.length + 8 * o,
      }, { sramBytes: figures.featureSramBytes.value });
      tiles.push({ name: instr.name, ...plan });
      tileRows.set(i, plan.tileRows);
    });
  }
  const tiled = withTiles(lowered, tileRows);
  const sizes = tiled.buffers.map(bufferBytes);
  const life = lifetimes(tiled.instructions, {
    bufferCount: sizes.length,
    live: [tiled.output, rawOutput(tiled)],
  });
  const { offsets, arenaBytes } = planMemory(sizes, life, { opt });
  if (arenaBytes > MAX_ARENA_BYTES) {
    throw new CompileError(
      `compileModel: the arena would take ${arenaBytes} bytes (at most ${MAX_ARENA_BYTES}); use a smaller batch or a higher opt level`,
    );
  }
  const program: Program = {
    ...tiled,
    name: options.name ?? "model",
    march,
    placement: {
      inputSource,
      arenaBytes,
      buffers: layouts.map((layout, i) => ({ layout, offset: offsets[i] })),
    },
  };
  verifyProgram(program, {
    fail: (m) => {
      throw new CompileError(`compileModel: the compiled program is invalid: ${m}`);
    },
  });
  const bytes = encodeProgram(program);
  try {
    // What compile writes, the .hbm loader reads: the bytes are read back through the same validator.
    decodeProgram(bytes, { fileName: program.name });
  } catch (e) {
    throw new CompileError(`compileModel: the .hbm would not load: ${(e as Error).message}`);
  }
  const estimate = estimatePerformance(program, { march, inputSource });
  log("HBDK model compilation SUCCESS");
  return { program, bytes, estimate, tiles, warnings };
}
