/**
 * Analysis shards and the report: a shard holds the results of some of an analysis's jobs; merging
 * shards that together hold every job gives the report, the same bytes whichever machines ran them.
 * @module
 */
import {
  type AnalysisInputs,
  type AnalysisJob,
  type AnalysisJobResult,
  analysisJobs,
  type InputDivergence,
  type LayerSimilarity,
  runAnalysisJob,
} from "./analyze.ts";
import type { Similarity } from "./similarity.ts";

/** One shard: which of the jobs it ran and their results. */
export interface AnalysisShard {
  /** Format tag. */
  format: "hqat-analysis-shard";
  /** Every job of the analysis (the same list in every shard). */
  jobs: AnalysisJob[];
  /** This shard's index and the shard count. */
  shard: [number, number];
  /** The results of jobs `index ≡ shard[0] (mod shard[1])`. */
  results: { index: number; result: AnalysisJobResult }[];
}

/** A layer's sensitivity: the output with only it quantized, and with it at int16 (the rest int8). */
export interface LayerSensitivity {
  /** Node name. */
  node: string;
  /** Output similarity with only this node quantized. */
  only: Similarity;
  /** Output similarity with this node's output at int16 and every other node at int8. */
  int16?: Similarity;
}

/** The analysis report (what `analysis.json` holds). */
export interface AnalysisReport {
  /** Format tag. */
  format: "hqat-analysis";
  /** The integer output against float over every input. */
  output: Similarity;
  /** Per-layer similarity, in graph order. */
  layers: LayerSimilarity[];
  /** Sensitivity per quantized node, most sensitive (lowest cosine with only it quantized) first. */
  sensitivity: LayerSensitivity[];
  /** The inputs whose integer output strays furthest from float, worst first. */
  worst: InputDivergence[];
}

/**
 * Runs shard `k` of `n` of the analysis: the jobs whose index is `k` modulo `n`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analysisShard, ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [2, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const s = analysisShard({ ...r, batches: [x] }, 1, 2);
 * assert(s.results.map((e) => e.index).join() === "1,3,5");
 * ```
 */
export function analysisShard(inp: AnalysisInputs, k = 0, n = 1): AnalysisShard {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0 || k >= n) {
    throw new RangeError(`Shard ${k}/${n}: need integers 0 ≤ K < N`);
  }
  const jobs = analysisJobs(inp.prepared);
  const results = jobs.flatMap((job, index) =>
    index % n === k ? [{ index, result: runAnalysisJob(inp, job) }] : []
  );
  return { format: "hqat-analysis-shard", jobs, shard: [k, n], results };
}

/**
 * JSON (one-space indent, final newline) with non-finite numbers — an SQNR of exact agreement — written
 * as strings, which {@linkcode analysisFromJson} reads back.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analysisToJson } from "@hqat/fx";
 * assert(analysisToJson({ sqnr: Infinity }) === '{\n "sqnr": "Infinity"\n}\n');
 * ```
 */
export function analysisToJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    1,
  ) + "\n";
}

/**
 * Reads JSON written by {@linkcode analysisToJson}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analysisFromJson, analysisToJson } from "@hqat/fx";
 * assert(analysisFromJson<{ a: number }>(analysisToJson({ a: Infinity })).a === Infinity);
 * ```
 */
export function analysisFromJson<T>(text: string): T {
  return JSON.parse(
    text,
    (_, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v),
  );
}

/**
 * Merges shards into the report; every job must appear exactly once, and all shards must list the same
 * jobs.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { mergeAnalysisShards } from "@hqat/fx";
 * assertThrows(() => mergeAnalysisShards([]), RangeError, "no shard");
 * ```
 */
export function mergeAnalysisShards(shards: readonly AnalysisShard[]): AnalysisReport {
  if (shards.length === 0) throw new RangeError("mergeAnalysisShards(): no shard given");
  const jobs = JSON.stringify(shards[0].jobs);
  const byIndex = new Map<number, AnalysisJobResult>();
  for (const s of shards) {
    if (s.format !== "hqat-analysis-shard") throw new TypeError("Not an analysis shard");
    if (JSON.stringify(s.jobs) !== jobs) {
      throw new RangeError(`Shard ${s.shard.join("/")} lists other jobs: it comes from another analysis`);
    }
    for (const e of s.results) {
      if (byIndex.has(e.index)) throw new RangeError(`Job ${e.index} appears in more than one shard`);
      byIndex.set(e.index, e.result);
    }
  }
  const all = shards[0].jobs;
  const missing = all.map((_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new RangeError(`${missing.length} of ${all.length} jobs are missing (first: job ${missing[0]})`);
  }
  const results = all.map((_, i) => byIndex.get(i)!);
  const sim = results.find((r) => r.kind === "similarity");
  const worst = results.find((r) => r.kind === "worst");
  if (sim?.kind !== "similarity" || worst?.kind !== "worst") throw new RangeError("Incomplete analysis");
  const sensitivity = new Map<string, LayerSensitivity>();
  for (const r of results) {
    if (r.kind === "only") sensitivity.set(r.node, { node: r.node, only: r.output });
  }
  for (const r of results) {
    if (r.kind === "int16") sensitivity.get(r.node)!.int16 = r.output;
  }
  const order = [...sensitivity.keys()];
  const ranked = [...sensitivity.values()].sort((a, b) =>
    a.only.cosine - b.only.cosine || order.indexOf(a.node) - order.indexOf(b.node)
  );
  return {
    format: "hqat-analysis",
    output: sim.output,
    layers: sim.layers,
    sensitivity: ranked,
    worst: worst.inputs,
  };
}

/**
 * The whole analysis in one run: one shard of one, written and read back as JSON and merged — the path
 * the shards take, so a single run and merged shards give the same report byte for byte.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analyzeQuantization, ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [2, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const report = analyzeQuantization({ ...r, batches: [x] });
 * assert(report.sensitivity.length === 2 && report.worst.length === 2);
 * ```
 */
export function analyzeQuantization(inp: AnalysisInputs): AnalysisReport {
  return mergeAnalysisShards([analysisFromJson<AnalysisShard>(analysisToJson(analysisShard(inp)))]);
}
