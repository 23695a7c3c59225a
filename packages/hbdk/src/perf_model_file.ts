/**
 * `perfModel`: hqat's counterpart of `perf_model` — the cost model's estimate printed as HBDK
 * prints it and written as `OUT/NAME.json` (see {@linkcode perfJson}) and a self-contained `OUT/NAME.html`.
 * @module
 */

import { atomicWriteFile } from "@hqat/io";
import type { InputSource, March } from "@hqat/march-bayes";
import type { IntModel, OptLevel } from "@hqat/program";
import { compileProgram } from "./compile_model.ts";
import type { PerformanceEstimate } from "./cost_model.ts";
import type { ExampleInput } from "./example_inputs.ts";
import { perfHtml } from "./perf_html.ts";
import { type PerfJson, perfJson } from "./perf_model.ts";

/**
 * Options of {@linkcode perfModel}: the output folder (default `perf_out`), the opt level (default
 * `"O1"`), the input source (default `"ddr"`), whether the JSON lists every layer (default false;
 * the HTML always does), the report name (default `"model"`), the march, and where lines go.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PerfOptions } from "@hqat/hbdk";
 * const o: PerfOptions = { outDir: "perf_out", opt: "O1", inputSource: "pyramid", layerDetails: true };
 * assert(o.layerDetails);
 * ```
 */
export interface PerfOptions {
  /** The output folder (default `perf_out`). */
  readonly outDir?: string;
  /** The optimization level (default `"O1"`). */
  readonly opt?: OptLevel;
  /** Where the input comes from (default `"ddr"`). */
  readonly inputSource?: InputSource;
  /** Whether the JSON lists every layer (default false; the HTML always does). */
  readonly layerDetails?: boolean;
  /** The report name (default `"model"`). */
  readonly name?: string;
  /** The march (default: the model's, else the one set with `setMarch`). */
  readonly march?: March;
  /** Where the report lines go (default `console.log`). */
  readonly log?: (line: string) => void;
}

/**
 * The report of {@linkcode perfModel}: the estimate, the JSON document written, and the paths.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PerfReport } from "@hqat/hbdk";
 * const paths: Pick<PerfReport, "jsonPath" | "htmlPath"> = { jsonPath: "o/m.json", htmlPath: "o/m.html" };
 * assert(paths.htmlPath.endsWith(".html"));
 * ```
 */
export interface PerfReport {
  /** The cost model's estimate. */
  readonly estimate: PerformanceEstimate;
  /** The JSON document written. */
  readonly json: PerfJson;
  /** The path of the JSON file. */
  readonly jsonPath: string;
  /** The path of the HTML file. */
  readonly htmlPath: string;
}

/**
 * Estimates the performance of `intModel` at the batch of the example input (as
 * `perf_model(model, [example_input], out_dir=, input_source=, opt=, layer_details=)`): compiles
 * it in memory (printing the compiler's lines), runs the cost model at the same opt level, prints
 * `FPS=…, latency = … us, DDR = … bytes   (see OUT/NAME.html)`, writes `OUT/NAME.json` and
 * `OUT/NAME.html` atomically, and prints `HBDK performance estimation SUCCESS`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { perfModel } from "@hqat/hbdk";
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
 * const outDir = await Deno.makeTempDir();
 * const lines: string[] = [];
 * const r = await perfModel(m, [{ shape: [1, 2] }], { outDir, name: "tiny", log: (l) => lines.push(l) });
 * assert(lines.at(-1) === "HBDK performance estimation SUCCESS" && r.htmlPath.endsWith("tiny.html"));
 * await Deno.remove(outDir, { recursive: true });
 * ```
 */
export async function perfModel(
  intModel: IntModel,
  exampleInputs: readonly ExampleInput[],
  options: PerfOptions = {},
): Promise<PerfReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const name = options.name ?? "model";
  if (!/^[\w.-]+$/.test(name)) {
    throw new RangeError(`perfModel: the name "${name}" must be letters, digits, ".", "_" or "-"`);
  }
  const outDir = options.outDir ?? "perf_out";
  const compiled = compileProgram(intModel, exampleInputs, { ...options, name, log });
  const e = compiled.estimate;
  const jsonPath = `${outDir}/${name}.json`, htmlPath = `${outDir}/${name}.html`;
  const json = perfJson(e, {
    name,
    inputShape: compiled.program.inputShape,
    layerDetails: options.layerDetails ?? false,
  });
  await Deno.mkdir(outDir, { recursive: true });
  await atomicWriteFile(jsonPath, new TextEncoder().encode(JSON.stringify(json, null, 2) + "\n"));
  await atomicWriteFile(htmlPath, new TextEncoder().encode(perfHtml(e, { name, summary: json.summary })));
  log(
    `FPS=${e.fps.toFixed(2)}, latency = ${e.latencyUs.toFixed(1)} us, DDR = ${
      Math.round(e.ddrBytesPerFrame)
    } bytes   (see ${htmlPath})`,
  );
  log("HBDK performance estimation SUCCESS");
  return { estimate: e, json, jsonPath, htmlPath };
}
