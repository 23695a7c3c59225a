/**
 * The analytic performance model of a compiled program on one BPU core: a roofline per step (compute
 * time against DDR time) plus fixed overheads. A step is one instruction of the program — its main
 * operation and the stages fused into it — and its work is the instruction table's cost rule, so the
 * estimate is of exactly what the compiler lowered.
 * @module
 */

import {
  type HardwareFigures,
  hardwareFigures,
  type InputSource,
  type March,
  resolveMarch,
} from "@hqat/march-bayes";
import {
  type BufferContext,
  instrDef,
  instrReads,
  type OptLevel,
  type Program,
  type Work,
} from "@hqat/program";
import {
  featureBytesPerFrame,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  type PyramidFormat,
  weightBytes,
} from "./native_layout.ts";

/**
 * Options of {@linkcode estimatePerformance}: the march (default: the program's, else the one set with
 * `setMarch`), where the input comes from (default: the program's placement, else `"ddr"`) and the
 * pyramid's image format (default `"nv12"`). The batch and the opt level are the program's.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PerformanceOptions } from "@hqat/hbdk";
 * const o: PerformanceOptions = { inputSource: "pyramid", pyramidFormat: "yuv444" };
 * assert(o.inputSource === "pyramid");
 * ```
 */
export interface PerformanceOptions {
  /** The march (default: the program's, else the one set with `setMarch`). */
  readonly march?: March;
  /** Where the model input comes from (default: the program's placement, else `"ddr"`). */
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
 * import type { LayerEstimate } from "@hqat/hbdk";
 * const l = { name: "features.0.0", op: "conv2d", ops: 442368 } as LayerEstimate;
 * assert(l.ops === 2 * 221184);
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
 * import type { PerformanceEstimate } from "@hqat/hbdk";
 * const e = { fps: 2000, latencyUs: 500 } as PerformanceEstimate;
 * assert(Math.abs(e.fps - 1e6 / e.latencyUs) < 1e-6);
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
  work: Work,
  inputDtype: string,
  batch: number,
  figures: HardwareFigures,
): { cycles: number; macs: number; ops: number } {
  const g = work.gemm;
  if (g !== undefined) {
    const lanes = figures.macArray.value[inputDtype === "qint16" ? "qint16" : "qint8"];
    const m = g.m * batch;
    const cycles = g.groups * Math.ceil(m / lanes.pixels) * Math.ceil(g.n / lanes.outputs) *
      Math.ceil(g.k / lanes.reduction);
    const macs = g.groups * m * g.n * g.k;
    return { cycles, macs, ops: 2 * macs };
  }
  const elements = (work.vector?.elements ?? 0) * batch * (work.vector?.work ?? 1);
  return { cycles: Math.ceil(elements / figures.vectorElementsPerCycle.value), macs: 0, ops: elements };
}

/**
 * Estimates frames per second, latency and DDR traffic of a compiled (or lowered) `program` at its
 * batch and opt level.
 *
 * Each step — every instruction but the input and output transfers — costs `max(compute, DDR) + layer
 * overhead`, and a run adds the run overhead. Compute is the instruction's GEMM (its table entry's cost
 * rule) over the MAC array, each dimension rounded up to whole array lanes (so misaligned channels and
 * pixels waste lanes); other work goes through the vector unit. Stages fused into an instruction ride
 * its output pipeline. DDR time is the step's loaded plus stored bytes over the bandwidth. Weights and
 * per-channel parameters are loaded once per run. The model input is read from DDR (an NV12 / YUV444
 * image for `pyramid` and `resizer`) by each step that reads it, the raw output is written to DDR, and
 * every other buffer stays in the feature memory when the run's copy of it fits the share its level
 * allows (O0: nothing stays; O1: a quarter; O2: half; O3: half, and the rest is tiled through DDR) —
 * otherwise it is stored once and loaded by each reader.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compileProgram, estimatePerformance } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const m: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
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
 * const e = estimatePerformance(compileProgram(m, [{ shape: [4, 2] }], { opt: "O0", log: () => {} }).program);
 * assert(e.framesPerRun === 4 && e.layers.length === 1 && e.layers[0].op === "relu");
 * ```
 */
export function estimatePerformance(program: Program, options: PerformanceOptions = {}): PerformanceEstimate {
  const march = resolveMarch(options.march ?? (program.march as March), "estimatePerformance");
  const figures = hardwareFigures(march);
  const opt = program.opt;
  const inputSource = options.inputSource ?? program.placement?.inputSource ?? "ddr";
  if (inputSource !== "ddr" && inputSource !== "pyramid" && inputSource !== "resizer") {
    throw new RangeError(`estimatePerformance: unknown inputSource ${JSON.stringify(inputSource)}`);
  }
  const format = options.pyramidFormat ?? "nv12";
  const batch = program.inputShape[0];
  const clock = figures.clockHz.value;
  const bandwidth = figures.ddrBytesPerSecond.value;
  const overheadUs = (figures.layerOverheadCycles.value / clock) * 1e6;
  const { buffers } = program;
  const frame = (id: number) => ({ shape: [1, ...buffers[id].shape.slice(1)], dtype: buffers[id].dtype });
  const raw = new Set(
    program.instructions.filter((i) => i.output === program.output).flatMap((i) => i.inputs),
  );
  const steps = program.instructions.filter((i) => !instrDef(i).boundary);
  const modelInput = new Set(
    program.instructions.filter((i) => instrDef(i).boundary && i.output !== program.output)
      .map((i) => i.output),
  );
  const spill = new Map<number, number>();
  for (const s of steps) {
    const bytes = batch *
      (raw.has(s.output)
        ? modelOutputBytesPerFrame(frame(s.output), figures)
        : featureBytesPerFrame(frame(s.output), figures));
    spill.set(s.output, raw.has(s.output) ? bytes : spilledBytes(bytes, opt, figures));
  }
  const readBytes = (id: number): number =>
    modelInput.has(id)
      ? batch * modelInputBytesPerFrame(frame(id), inputSource, format, figures)
      : spill.get(id) ?? 0;

  let loaded = 0, stored = 0, weightTotal = 0, latencyUs = 0, ops = 0, macs = 0;
  const layers = steps.map((instr): LayerEstimate => {
    const def = instrDef(instr);
    const ctx: BufferContext = { ins: instr.inputs.map((b) => buffers[b]), out: buffers[instr.output] };
    const work = def.cost(instr, ctx);
    const w = work.gemm ? weightBytes(work.gemm, figures) : { weights: 0, params: 0 };
    const weights = w.weights + w.params;
    const loadBytes = weights + instrReads(instr).reduce((sum, id) => sum + readBytes(id), 0);
    const storeBytes = spill.get(instr.output)!;
    const c = computeCycles(work, ctx.ins[0]?.dtype ?? "qint8", batch, figures);
    const computeCostUs = (c.cycles / clock) * 1e6;
    const loadStoreCostUs = ((loadBytes + storeBytes) / bandwidth) * 1e6;
    const stepUs = Math.max(computeCostUs, loadStoreCostUs) + overheadUs;
    loaded += loadBytes;
    stored += storeBytes;
    weightTotal += weights;
    latencyUs += stepUs;
    ops += c.ops;
    macs += c.macs;
    return {
      name: instr.name,
      op: def.layer(instr, ctx).op,
      merged: instr.merged ?? [],
      ops: c.ops,
      macs: c.macs,
      computeCostUs,
      loadBytes,
      storeBytes,
      weightBytes: weights,
      spilledBytes: storeBytes,
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
    layers,
  };
}
