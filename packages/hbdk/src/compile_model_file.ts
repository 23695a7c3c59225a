/**
 * `compileModel`: hqat's counterpart of `compile_model` — {@linkcode compileProgram} (in
 * `compile_model.ts`, which touches no file) and the `.hbm` it gives written atomically.
 * @module
 */

import { atomicWriteFile } from "@hqat/io";
import type { IntModel } from "@hqat/program";
import { type CompileOptions, compileProgram, type CompileResult } from "./compile_model.ts";
import type { ExampleInput } from "./example_inputs.ts";

/**
 * Compiles `intModel` (as `compile_model(model, [example_input], hbm=, input_source=, opt=)`):
 * checks it against the march's operator table, lowers it at the opt level (O0 node by node; O1
 * fuses requantization, activations, residual adds and 1×1-window pooling, and drops identities
 * and flattens read by linear layers; O2 adds liveness-based buffer reuse and the choice of the
 * model input / output layouts; O3 adds a tiling search for every convolution against the feature
 * memory), and writes the `.hbm` file atomically. A pyramid or resizer input needs the QuantStub
 * scale 1/128 and prints HBDK's layout warning; success prints `HBDK model compilation SUCCESS`.
 * Throws a `RangeError` (a {@linkcode CompileError} for the model's own problems) otherwise.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compileModel, loadHbm } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const m: Program = {
 *   name: "model", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [{ name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) }, { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) }],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const hbm = await Deno.makeTempFile({ suffix: ".hbm" });
 * await compileModel(m, [{ shape: [1, 2] }], { hbm, log: () => {} });
 * assert(loadHbm(await Deno.readFile(hbm)).opt === "O1");
 * await Deno.remove(hbm);
 * ```
 */
export async function compileModel(
  intModel: IntModel,
  exampleInputs: readonly ExampleInput[],
  options: CompileOptions = {},
): Promise<CompileResult> {
  const hbm = options.hbm ?? "model.hbm";
  if (!hbm.endsWith(".hbm")) throw new RangeError(`compileModel: hbm must name a .hbm file, got "${hbm}"`);
  const log = options.log ?? ((line: string) => console.log(line));
  const success: string[] = [];
  const result = compileProgram(intModel, exampleInputs, {
    ...options,
    log: (line) => line.startsWith("HBDK model compilation") ? success.push(line) : log(line),
  });
  await atomicWriteFile(hbm, result.bytes);
  for (const line of success) log(line);
  return result;
}
