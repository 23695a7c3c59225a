/**
 * `perfJson`: the JSON report of a performance estimate, with HBDK's summary keys — what `perfModel`
 * (in `perf_model_file.ts`) writes beside the HTML report. Touches no file.
 * @module
 */

import type { PerformanceEstimate } from "./cost_model.ts";

/**
 * The JSON report: HBDK's summary keys, and with `layerDetails` one entry per BPU step.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PerfJson } from "@hqat/hbdk";
 * const key: keyof PerfJson["summary"] = "DDR bytes per frame";
 * assert(key.startsWith("DDR"));
 * ```
 */
export interface PerfJson {
  /** HBDK's summary keys and their values. */
  readonly summary: {
    readonly "model name": string;
    readonly "BPU march": string;
    readonly "BPU core number": number;
    readonly "compiling options": string;
    readonly "input features": readonly (readonly string[])[];
    readonly "frame per run": number;
    readonly FPS: number;
    readonly "frame per second": number;
    readonly "latency (us)": number;
    readonly "latency (ms)": number;
    readonly "DDR bytes per frame": number;
    readonly "DDR bytes per run": number;
    readonly "DDR bytes per second": number;
    readonly "DDR megabytes per frame": number;
    readonly "DDR megabytes per run": number;
    readonly "DDR megabytes per second": number;
    readonly "loaded bytes per frame": number;
    readonly "loaded bytes per run": number;
    readonly "stored bytes per frame": number;
    readonly "stored bytes per run": number;
    readonly "BPU OPs per frame (effective)": number;
    readonly "BPU OPs per run (effective)": number;
  };
  /** One entry per BPU step, present with `layerDetails`. */
  readonly "layer details"?: readonly {
    readonly "layer name": string;
    readonly op: string;
    readonly "merged layers": readonly string[];
    readonly ops: number;
    readonly "computing cost (no DDR) (us)": number;
    readonly "load/store cost (us)": number;
    readonly "loaded bytes": number;
    readonly "stored bytes": number;
    readonly "latency (us)": number;
  }[];
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The JSON report of an estimate (see {@linkcode PerfJson}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compileProgram, perfJson } from "@hqat/hbdk";
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
 * const e = compileProgram(m, [{ shape: [1, 2] }], { opt: "O0", log: () => {} }).estimate;
 * const j = perfJson(e, { name: "m", inputShape: [1, 2], layerDetails: false });
 * assert(j.summary["DDR bytes per frame"] === Math.round(e.ddrBytesPerFrame) && !j["layer details"]);
 * ```
 */
export function perfJson(
  e: PerformanceEstimate,
  options: { readonly name: string; readonly inputShape: readonly number[]; readonly layerDetails: boolean },
): PerfJson {
  const [n, ...rest] = options.inputShape;
  const nhwc = rest.length === 3 ? [n, rest[1], rest[2], rest[0]] : options.inputShape;
  const summary: PerfJson["summary"] = {
    "model name": options.name,
    "BPU march": e.march.toUpperCase().replace("-", "_"),
    "BPU core number": 1,
    "compiling options": `--march ${e.march} --${e.opt} -i ${e.inputSource} -n ${options.name}`,
    "input features": [["input name", "input size"], ["arg0", nhwc.join("x")]],
    "frame per run": e.framesPerRun,
    FPS: r2(e.fps),
    "frame per second": r2(e.fps),
    "latency (us)": r2(e.latencyUs),
    "latency (ms)": r3(e.latencyMs),
    "DDR bytes per frame": Math.round(e.ddrBytesPerFrame),
    "DDR bytes per run": Math.round(e.ddrBytesPerRun),
    "DDR bytes per second": Math.round(e.ddrBytesPerSecond),
    "DDR megabytes per frame": r3(e.ddrBytesPerFrame / 2 ** 20),
    "DDR megabytes per run": r3(e.ddrBytesPerRun / 2 ** 20),
    "DDR megabytes per second": r3(e.ddrBytesPerSecond / 2 ** 20),
    "loaded bytes per frame": Math.round(e.loadedBytesPerFrame),
    "loaded bytes per run": Math.round(e.loadedBytesPerFrame * e.framesPerRun),
    "stored bytes per frame": Math.round(e.storedBytesPerFrame),
    "stored bytes per run": Math.round(e.storedBytesPerFrame * e.framesPerRun),
    "BPU OPs per frame (effective)": Math.round(e.opsPerFrame),
    "BPU OPs per run (effective)": Math.round(e.opsPerFrame * e.framesPerRun),
  };
  if (!options.layerDetails) return { summary };
  return {
    summary,
    "layer details": e.layers.map((l) => ({
      "layer name": l.name,
      op: l.op,
      "merged layers": l.merged,
      ops: l.ops,
      "computing cost (no DDR) (us)": r3(l.computeCostUs),
      "load/store cost (us)": r3(l.loadStoreCostUs),
      "loaded bytes": l.loadBytes,
      "stored bytes": l.storeBytes,
      "latency (us)": r3(l.latencyUs),
    })),
  };
}
