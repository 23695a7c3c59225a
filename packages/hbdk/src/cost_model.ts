/**
 * The analytic performance model of a compiled model on one BPU core: a roofline per step
 * (compute time against DDR time) plus fixed overheads.
 * @module
 */

import {
  elementsPerFrame,
  type HardwareFigures,
  hardwareFigures,
  type InputSource,
  type LayerDesc,
  type March,
  nchwOf,
  resolveMarch,
} from "@hqat/march-bayes";
import { buildLayerGraph } from "./layer_graph.ts";
import {
  featureBytesPerFrame,
  gemmOf,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  type PyramidFormat,
  weightBytes,
} from "./native_layout.ts";
import { OPT_LEVELS, type OptLevel, type Plan, planSteps, type Step, type TensorRef } from "./schedule.ts";

/**
 * Options of {@linkcode estimatePerformance}: the march (default: the one set with `setMarch`),
 * frames per run (default: dimension 0 of the first layer's input), the optimization level
 * (default `"O1"`, as the quick start compiles), where the input comes from (default `"ddr"`) and
 * the pyramid's image format (default `"nv12"`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PerformanceOptions } from "@hqat/hbdk";
 * const o: PerformanceOptions = { batch: 256, opt: "O2", inputSource: "pyramid" };
 * assert(o.batch === 256);
 * ```
 */
export interface PerformanceOptions {
  /** The march (default: the one set with `setMarch`). */
  readonly march?: March;
  /** Frames per run (default: dimension 0 of the first layer's input). */
  readonly batch?: number;
  /** Optimization level (default `"O1"`). */
  readonly opt?: OptLevel;
  /** Where the model input comes from (default `"ddr"`). */
  readonly inputSource?: InputSource;
  /** The pyramid's image format (default `"nv12"`). */
  readonly pyramidFormat?: PyramidFormat;
}

/**
 * The estimate of one step, for the whole run (all frames): ops (2 per MAC, one per element of a
 * pooling or elementwise step), compute and DDR times, bytes loaded (inputs read from DDR plus
 * weights) and stored, the fixed overhead, and the step's latency `max(compute, DDR) + overhead`.
 * `spilledBytes` is the part of its output that goes to DDR.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { estimatePerformance } from "@hqat/hbdk";
 * import { March, mobileNetV2Layers } from "@hqat/march-bayes";
 * const e = estimatePerformance(mobileNetV2Layers(), { march: March.BAYES });
 * assert(e.layers[0].name === "features.0.0" && e.layers[0].ops === 442368);
 * ```
 */
export interface LayerEstimate {
  /** The step's primary layer. */
  readonly name: string;
  /** Its op. */
  readonly op: string;
  /** The layers folded into the step. */
  readonly merged: readonly string[];
  /** Operations: 2 per MAC, or one per element of a pooling or elementwise step. */
  readonly ops: number;
  /** Multiply-accumulates. */
  readonly macs: number;
  /** Compute time in µs. */
  readonly computeCostUs: number;
  /** Bytes loaded from DDR: inputs read from DDR plus weights and parameters. */
  readonly loadBytes: number;
  /** Bytes stored to DDR. */
  readonly storeBytes: number;
  /** Bytes of weights and per-channel parameters. */
  readonly weightBytes: number;
  /** The part of the output that goes to DDR, in bytes. */
  readonly spilledBytes: number;
  /** DDR time of the loaded plus stored bytes, in µs. */
  readonly loadStoreCostUs: number;
  /** Fixed per-layer overhead in µs. */
  readonly overheadUs: number;
  /** `max(computeCostUs, loadStoreCostUs) + overheadUs`. */
  readonly latencyUs: number;
}

/**
 * The estimate of a run. Frames per second are frames per run over the latency; DDR bytes per
 * frame are the loaded plus stored bytes of a run over its frames.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { estimatePerformance } from "@hqat/hbdk";
 * import { March, mobileNetV2Layers } from "@hqat/march-bayes";
 * const e = estimatePerformance(mobileNetV2Layers(), { march: March.BAYES, inputSource: "pyramid" });
 * assert(Math.abs(e.fps - 1e6 / e.latencyUs) < 1e-6);
 * assert(e.ddrBytesPerFrame === e.loadedBytesPerFrame + e.storedBytesPerFrame);
 * ```
 */
export interface PerformanceEstimate {
  /** The march estimated for. */
  readonly march: March;
  /** The optimization level. */
  readonly opt: OptLevel;
  /** Where the model input comes from. */
  readonly inputSource: InputSource;
  /** Frames per run (the batch). */
  readonly framesPerRun: number;
  /** Frames per second: frames per run over the latency. */
  readonly fps: number;
  /** Latency of a run in µs: the steps' latencies plus the run overhead. */
  readonly latencyUs: number;
  /** The same latency in ms. */
  readonly latencyMs: number;
  /** Operations per frame. */
  readonly opsPerFrame: number;
  /** Multiply-accumulates per frame. */
  readonly macsPerFrame: number;
  /** Bytes loaded plus stored in a run. */
  readonly ddrBytesPerRun: number;
  /** `ddrBytesPerRun` over the frames per run. */
  readonly ddrBytesPerFrame: number;
  /** `ddrBytesPerRun` over the latency. */
  readonly ddrBytesPerSecond: number;
  /** Bytes loaded per frame. */
  readonly loadedBytesPerFrame: number;
  /** Bytes stored per frame. */
  readonly storedBytesPerFrame: number;
  /** Bytes of weights and parameters loaded per run. */
  readonly weightBytesPerRun: number;
  /** Fixed per-run overhead in µs. */
  readonly runOverheadUs: number;
  /** The estimate of each step, in order. */
  readonly layers: readonly LayerEstimate[];
  /** The layers that are not steps, with the reason (see {@linkcode Plan}). */
  readonly removed: Plan["removed"];
}

/**
 * The share of the feature memory one tensor may hold at each level: O1 splits it into four
 * fixed buffers (input, output, addend, spare); O2 reuses buffers by liveness, so a tensor may take
 * half; O3 also tiles, so a tensor larger than half keeps that half on chip and only the rest
 * makes the DDR round trip.
 */
function spilledBytes(batchBytes: number, opt: OptLevel, figures: HardwareFigures): number {
  const sram = figures.featureSramBytes.value;
  switch (opt) {
    case "O0":
      return batchBytes;
    case "O1":
      return batchBytes <= sram / 4 ? 0 : batchBytes;
    case "O2":
      return batchBytes <= sram / 2 ? 0 : batchBytes;
    case "O3":
      return Math.max(0, batchBytes - sram / 2);
  }
}

function computeCycles(
  step: Step,
  batch: number,
  figures: HardwareFigures,
): { cycles: number; macs: number; ops: number } {
  const g = gemmOf(step.layer);
  if (g !== undefined) {
    const lanes = figures.macArray.value[step.layer.inputs[0].dtype === "qint16" ? "qint16" : "qint8"];
    const m = g.m * batch;
    const cycles = g.groups * Math.ceil(m / lanes.pixels) * Math.ceil(g.n / lanes.outputs) *
      Math.ceil(g.k / lanes.reduction);
    const macs = g.groups * m * g.n * g.k;
    return { cycles, macs, ops: 2 * macs };
  }
  const layer = step.layer;
  let work = 1;
  if (layer.op === "avg_pool2d" || layer.op === "max_pool2d") {
    const [kh, kw] = layer.attrs.kernel ?? [1, 1];
    work = kh * kw;
  } else if (layer.op === "adaptive_avg_pool2d") {
    const i = nchwOf(layer.inputs[0].shape), o = nchwOf(layer.output.shape);
    work = Math.ceil(i.h / o.h) * Math.ceil(i.w / o.w);
  } else if (layer.op === "add" || layer.op === "sub" || layer.op === "mul") {
    work = layer.inputs.length;
  } else if (layer.op === "interpolate") {
    work = 4;
  }
  const elements = elementsPerFrame(step.output.shape) * batch * work;
  return { cycles: Math.ceil(elements / figures.vectorElementsPerCycle.value), macs: 0, ops: elements };
}

function positiveBatch(batch: number): number {
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new RangeError(`estimatePerformance: batch must be a positive integer, got ${batch}`);
  }
  return batch;
}

/**
 * Estimates frames per second, latency and DDR traffic of `layers` compiled for the march.
 *
 * Each step (see `planSteps`) costs `max(compute, DDR) + layer overhead`, and a run adds the run
 * overhead. Compute is the step's GEMM over the MAC array, each dimension rounded up to whole
 * array lanes (so misaligned channels and pixels waste lanes); pooling and elementwise steps go
 * through the vector unit. DDR time is the step's loaded plus stored bytes over the bandwidth.
 * Weights and per-channel parameters are loaded once per run. The model input is read from DDR
 * (an NV12 / YUV444 image for `pyramid` and `resizer`), the model output is written to DDR, and
 * every other tensor stays in the feature memory when the run's copy of it fits the share its
 * level allows (O0: nothing stays; O1: a quarter; O2: half; O3: half, and the rest is tiled
 * through DDR) — otherwise it is stored once and loaded by each reader.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { estimatePerformance } from "@hqat/hbdk";
 * import { March, mobileNetV2Layers } from "@hqat/march-bayes";
 * const layers = mobileNetV2Layers();
 * const one = estimatePerformance(layers, { march: March.BAYES, opt: "O1", inputSource: "pyramid" });
 * const many = estimatePerformance(layers, { march: March.BAYES, opt: "O1", inputSource: "pyramid", batch: 256 });
 * assert(many.fps > one.fps && many.ddrBytesPerFrame < one.ddrBytesPerFrame);
 * ```
 */
export function estimatePerformance(
  layers: readonly LayerDesc[],
  options: PerformanceOptions = {},
): PerformanceEstimate {
  const march = resolveMarch(options.march, "estimatePerformance");
  const figures = hardwareFigures(march);
  const opt = options.opt ?? "O1";
  if (!OPT_LEVELS.includes(opt)) {
    throw new RangeError(
      `estimatePerformance: unknown opt ${JSON.stringify(opt)}; expected one of ${OPT_LEVELS.join(", ")}`,
    );
  }
  const inputSource = options.inputSource ?? "ddr";
  if (inputSource !== "ddr" && inputSource !== "pyramid" && inputSource !== "resizer") {
    throw new RangeError(`estimatePerformance: unknown inputSource ${JSON.stringify(inputSource)}`);
  }
  const format = options.pyramidFormat ?? "nv12";
  if (layers.length === 0) throw new RangeError("estimatePerformance: the model has no layers");
  const batch = positiveBatch(options.batch ?? layers[0].inputs[0]?.shape[0] ?? 1);
  const plan = planSteps(buildLayerGraph(layers), opt);
  const clock = figures.clockHz.value;
  const bandwidth = figures.ddrBytesPerSecond.value;
  const overheadUs = (figures.layerOverheadCycles.value / clock) * 1e6;

  const outputBytes = plan.steps.map((s) =>
    batch *
    (s.modelOutput ? modelOutputBytesPerFrame(s.output, figures) : featureBytesPerFrame(s.output, figures))
  );
  const outputSpill = plan.steps.map((s, i) =>
    s.modelOutput ? outputBytes[i] : spilledBytes(outputBytes[i], opt, figures)
  );
  const readBytes = (ref: TensorRef, desc: Step["inputs"][number]["desc"]): number => {
    if (ref.kind === "step") return outputSpill[ref.index];
    if (ref.kind === "model-input") {
      return batch * modelInputBytesPerFrame(desc, inputSource, format, figures);
    }
    return spilledBytes(batch * featureBytesPerFrame(desc, figures), opt, figures);
  };

  let loaded = 0, stored = 0, weightTotal = 0, latencyUs = 0, ops = 0, macs = 0;
  const estimates = plan.steps.map((step, i): LayerEstimate => {
    const w = weightBytes(step.layer, figures);
    const weights = w.weights + w.params;
    const loadBytes = weights + step.inputs.reduce((sum, input) => sum + readBytes(input.ref, input.desc), 0);
    const storeBytes = outputSpill[i];
    const work = computeCycles(step, batch, figures);
    const computeCostUs = (work.cycles / clock) * 1e6;
    const loadStoreCostUs = ((loadBytes + storeBytes) / bandwidth) * 1e6;
    const stepUs = Math.max(computeCostUs, loadStoreCostUs) + overheadUs;
    loaded += loadBytes;
    stored += storeBytes;
    weightTotal += weights;
    latencyUs += stepUs;
    ops += work.ops;
    macs += work.macs;
    return {
      name: step.name,
      op: step.op,
      merged: step.merged,
      ops: work.ops,
      macs: work.macs,
      computeCostUs,
      loadBytes,
      storeBytes,
      weightBytes: weights,
      spilledBytes: outputSpill[i],
      loadStoreCostUs,
      overheadUs,
      latencyUs: stepUs,
    };
  });
  const runOverheadUs = (figures.runOverheadCycles.value / clock) * 1e6;
  latencyUs += runOverheadUs;
  const ddr = loaded + stored;
  return {
    march,
    opt,
    inputSource,
    framesPerRun: batch,
    fps: batch / (latencyUs * 1e-6),
    latencyUs,
    latencyMs: latencyUs / 1000,
    opsPerFrame: ops / batch,
    macsPerFrame: macs / batch,
    ddrBytesPerRun: ddr,
    ddrBytesPerFrame: ddr / batch,
    ddrBytesPerSecond: ddr / (latencyUs * 1e-6),
    loadedBytesPerFrame: loaded / batch,
    storedBytesPerFrame: stored / batch,
    weightBytesPerRun: weightTotal,
    runOverheadUs,
    layers: estimates,
    removed: plan.removed,
  };
}
