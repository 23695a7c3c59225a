/**
 * Mixed precision under a budget: promote the layers whose int16 output helps the network's output most
 * to int16, one at a time, until the fixed-point output reaches a cosine target — never accepting a step
 * whose compiled program, as hqat's BAYES performance model estimates it, breaks the latency or FPS
 * budget, that BAYES does not take, or that does not raise the cosine. Every step tried is kept, so the explored accuracy-vs-speed table (and its Pareto front) can be
 * printed.
 * @module
 */
import {
  convertFx,
  type IntModel,
  type NodeQuantSpec,
  QatModel,
  runAnalysisJob,
  SimilarityAccumulator,
} from "@hqat/fx";
import { forward, type StateDict } from "@hqat/nn";
import { runIntModel } from "@hqat/program";
import { FakeQuantState } from "@hqat/qtensor";
import type { Tensor } from "@hqat/tensor";
import { compileProgram } from "./compile_model.ts";

/** The budget: a latency ceiling or an FPS floor (batch 1, the given opt level). */
export interface Int16Budget {
  /** The largest latency allowed, in µs. */
  maxLatencyUs?: number;
  /** The smallest FPS allowed. */
  minFps?: number;
}

/** Options of {@linkcode searchInt16}. */
export interface Int16SearchOptions extends Int16Budget {
  /** The output cosine (fixed-point vs float) to reach. */
  minCosine: number;
  /** The inputs the cosine is measured on, in batches. */
  batches: readonly Tensor[];
  /** Optimization level of the compiled programs the budget is checked on (default O1). */
  opt?: "O0" | "O1" | "O2" | "O3";
  /** At most this many promotions tried (default all candidates). */
  maxSteps?: number;
}

/** One explored configuration. */
export interface Int16Step {
  /** The layers at int16 in this configuration. */
  int16: string[];
  /** Fixed-point output cosine against float. */
  cosine: number;
  /** Estimated FPS (batch 1). */
  fps: number;
  /** Estimated latency (µs). */
  latencyUs: number;
  /** Estimated DDR bytes per frame. */
  ddrBytesPerFrame: number;
  /** Whether the step was kept (false: over the budget, not convertible or compilable, or no gain). */
  accepted: boolean;
  /** Why a step was not kept. */
  reason?: string;
}

/** What {@linkcode searchInt16} gives. */
export interface Int16SearchResult {
  /** The fixed-point model of the last accepted step. */
  intModel: IntModel;
  /** The layers promoted to int16. */
  int16: string[];
  /** Every configuration tried, the all-int8 start first. */
  steps: Int16Step[];
  /** Whether the cosine target was reached. */
  reached: boolean;
  /** The candidates ranked: layer and output cosine with only it at int16. */
  ranking: { node: string; cosine: number }[];
}

function variant(prepared: QatModel, int16: readonly string[]): QatModel {
  const specs = new Map<string, NodeQuantSpec>(prepared.specs);
  for (const n of int16) {
    const s = specs.get(n)!;
    specs.set(n, { ...s, output: { ...s.output!, dtype: "qint16" } });
  }
  return new QatModel(prepared.float, prepared.graph, specs, prepared.march, FakeQuantState.VALIDATION);
}

/**
 * Searches the int16 promotions of a calibrated model under a budget (see the module doc).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptq } from "@hqat/fx";
 * import { searchInt16 } from "@hqat/hbdk";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, ReLU, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 8, 3), new ReLU(), new Conv2d(8, 4, 1), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [4, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const s = searchInt16(r.prepared, r.state, { minCosine: 0.99999999, batches: [x], maxLatencyUs: 1e6 });
 * assert(s.steps[0].int16.length === 0 && s.int16.length >= 1 && s.steps.at(-1)!.cosine >= s.steps[0].cosine);
 * ```
 */
export function searchInt16(
  prepared: QatModel,
  state: StateDict,
  options: Int16SearchOptions,
): Int16SearchResult {
  const floatModel = new QatModel(
    prepared.float,
    prepared.graph,
    new Map(),
    prepared.march,
    FakeQuantState.VALIDATION,
  );
  const reference = options.batches.map((x) => forward(floatModel, state, x).y);
  const example = [{ shape: [1, ...options.batches[0].shape.slice(1)] }];
  const measure = (int16: string[]): { step: Int16Step; intModel?: IntModel } => {
    let intModel: IntModel;
    const refused = (reason: string) => ({
      step: { int16, cosine: NaN, fps: NaN, latencyUs: NaN, ddrBytesPerFrame: NaN, accepted: false, reason },
    });
    try {
      intModel = convertFx(variant(prepared, int16), state);
    } catch (e) {
      return refused(`not convertible: ${(e as Error).message}`);
    }
    let e;
    try {
      e = compileProgram(intModel, example, { opt: options.opt ?? "O1", log: () => {} }).estimate;
    } catch (err) {
      return refused(`does not compile: ${(err as Error).message.split(";")[0]}`);
    }
    const acc = new SimilarityAccumulator();
    options.batches.forEach((x, k) =>
      acc.add(reference[k].data, runIntModel(intModel, x.data as Float32Array, x.shape).output)
    );
    const over = (options.maxLatencyUs !== undefined && e.latencyUs > options.maxLatencyUs) ||
      (options.minFps !== undefined && e.fps < options.minFps);
    return {
      intModel,
      step: {
        int16,
        cosine: acc.result().cosine,
        fps: e.fps,
        latencyUs: e.latencyUs,
        ddrBytesPerFrame: e.ddrBytesPerFrame,
        accepted: !over,
        ...(over && { reason: "over the budget" }),
      },
    };
  };
  const start = measure([]);
  if (!start.intModel) {
    throw new RangeError(`searchInt16(): the int8 model does not convert: ${start.step.reason}`);
  }
  const steps = [start.step];
  let current = start;
  const ranking = [...prepared.specs].filter(([, s]) => s.output?.dtype === "qint8").map(([node]) => ({
    node,
    cosine: (runAnalysisJob({ prepared, state, intModel: start.intModel!, batches: options.batches }, {
      kind: "int16",
      node,
    }) as { output: { cosine: number } }).output.cosine,
  })).sort((a, b) => b.cosine - a.cosine);
  let tried = 0;
  for (const { node } of ranking) {
    if (current.step.cosine >= options.minCosine || tried >= (options.maxSteps ?? Infinity)) break;
    tried++;
    const next = measure([...current.step.int16, node]);
    if (next.step.accepted && !(next.step.cosine > current.step.cosine)) {
      next.step.accepted = false;
      next.step.reason = "no gain";
    }
    steps.push(next.step);
    if (next.step.accepted && next.intModel) current = next;
  }
  return {
    intModel: current.intModel!,
    int16: current.step.int16,
    steps,
    reached: current.step.cosine >= options.minCosine,
    ranking,
  };
}

/**
 * The explored steps as a table (the accepted ones form the accuracy-vs-FPS front).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { formatInt16Steps } from "@hqat/hbdk";
 * const t = formatInt16Steps([{ int16: [], cosine: 0.99, fps: 1000, latencyUs: 1000, ddrBytesPerFrame: 10, accepted: true }]);
 * assert(t.includes("int8 everywhere") && t.includes("1000.0"));
 * ```
 */
export function formatInt16Steps(steps: readonly Int16Step[]): string {
  const head = `${"int16 layers".padEnd(44)} ${"cosine".padStart(10)} ${"FPS".padStart(10)} ${
    "latency µs".padStart(11)
  } ${"DDR B/frame".padStart(12)}  kept`;
  const rows = steps.map((s) =>
    `${(s.int16.length ? `+${s.int16.at(-1)} (${s.int16.length})` : "int8 everywhere").padEnd(44)} ${
      Number.isNaN(s.cosine) ? "—".padStart(10) : s.cosine.toFixed(6).padStart(10)
    } ${s.fps.toFixed(1).padStart(10)} ${s.latencyUs.toFixed(1).padStart(11)} ${
      String(Math.round(s.ddrBytesPerFrame)).padStart(12)
    }  ${s.accepted ? "yes" : `no (${s.reason})`}`
  );
  return [head, ...rows].join("\n");
}
