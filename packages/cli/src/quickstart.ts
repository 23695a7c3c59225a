/**
 * The quick start end to end: float training → calibration → QAT → convert → save the int model →
 * check → compile (pyramid input, O1) → perf (layer details) → visualize, printing the seed's lines and
 * writing the seed's artifacts. The default budget is a subset that finishes in about 15 minutes on two
 * cores; the options give the seed's full recipe.
 * @module
 */
import { atomicWriteFile, type Module } from "@hqat/nn";
import type { WebGpuDevice } from "@hqat/tensor";
import { trainFloat } from "./float_stage.ts";
import { buildModel } from "./models.ts";
import { calibrate, convertStage, qatTrain } from "./quant_stage.ts";

/** Options of {@linkcode quickstart}. */
export interface QuickstartOptions {
  /** The float model (default MobileNetV2 with the quick start's stubs), e.g. an imported classifier. */
  model?: Module;
  /** The model's name in the first line (default "MobileNetV2"). */
  modelName?: string;
  /** Data set (default fashion-mnist). */
  dataset?: string;
  /** Data folder. */
  dataDir?: string;
  /** Output folder (default model/mobilenetv2). */
  out?: string;
  /** Float epochs (default 3). */
  floatEpochs?: number;
  /** QAT epochs (default 1). */
  qatEpochs?: number;
  /** Calibration batches (default 20). */
  calibBatches?: number;
  /** Training images per epoch (default 20,000; 0 = all). */
  limit?: number;
  /** Test images evaluated (default 0 = all). */
  evalLimit?: number;
  /** Batch size (default 256). */
  batchSize?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Write every stage's accuracy and artifact path here as JSON. */
  summary?: string;
  /** Float training, evaluation and calibration on this WebGPU device (QAT runs on the CPU). */
  gpu?: WebGpuDevice;
  /** Where lines go. */
  log?: (line: string) => void;
  /** Progress display (false: none). */
  progress?: false | { live?: boolean; everySeconds?: number };
  /** The deployment stages (check, compile, perf, visualize), given the int model path; returns artifact paths. */
  deploy?: (
    intModelPath: string,
    out: string,
    log: (line: string) => void,
  ) => Promise<Record<string, string>>;
}

/** The summary the quick start writes. */
export interface QuickstartSummary {
  /** Float accuracy (best epoch). */
  float: { top1: number; top5: number };
  /** Calibrated fake-quant accuracy. */
  calibration: { top1: number; top5: number };
  /** QAT accuracy (best epoch, batch-norm statistics re-estimated). */
  qat: { top1: number; top5: number };
  /** The same epoch's QAT accuracy with the moving-average batch-norm statistics of training. */
  qatTrainingStatistics?: { top1: number; top5: number };
  /** Fixed-point accuracy. */
  quantized: { top1: number; top5: number; agreementWithQat: number };
  /** Artifact paths. */
  artifacts: Record<string, string>;
  /** The budget used. */
  budget: Record<string, number | string>;
  /** Seconds per stage. */
  seconds: Record<string, number>;
}

/**
 * Runs the quick start.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quickstart } from "@hqat/cli";
 * assert(typeof quickstart === "function");
 * ```
 */
export async function quickstart(o: QuickstartOptions = {}): Promise<QuickstartSummary> {
  const log = o.log ?? console.log;
  const out = o.out ?? "model/mobilenetv2";
  const budget = {
    dataset: o.dataset ?? "fashion-mnist",
    floatEpochs: o.floatEpochs ?? 3,
    qatEpochs: o.qatEpochs ?? 1,
    calibBatches: o.calibBatches ?? 20,
    limit: o.limit ?? 20000,
    evalLimit: o.evalLimit ?? 0,
    batchSize: o.batchSize ?? 256,
    seed: o.seed ?? 0,
    device: o.gpu ? "webgpu" : "cpu",
  };
  const limit = budget.limit > 0 ? budget.limit : undefined,
    evalLimit = budget.evalLimit > 0 ? budget.evalLimit : undefined;
  log(
    `hqat quick start: ${
      o.modelName ?? "MobileNetV2"
    } on ${budget.dataset}; ${budget.floatEpochs} float epoch(s), ${budget.calibBatches} calibration batches, ` +
      `${budget.qatEpochs} QAT epoch(s), ${limit ?? "all"} training and ${
        evalLimit ?? "all"
      } test images, batch ${budget.batchSize}` +
      (limit || evalLimit
        ? " (a subset of the training set: pass --limit 0 --float-epochs 30 --qat-epochs 3 for the seed's full recipe)"
        : ""),
  );
  const model = o.model ?? buildModel("mobilenetv2", { numClasses: 10, quantStubScale: 1 / 128 });
  const common = {
    model,
    dataset: budget.dataset,
    dataDir: o.dataDir,
    batchSize: budget.batchSize,
    limit,
    evalLimit,
    seed: budget.seed,
    out,
    log,
    progress: o.progress,
  };
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      seconds[name] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };
  const fl = await timed(
    "float",
    () => trainFloat({ ...common, gpu: o.gpu, epochs: budget.floatEpochs, lr: 1e-3, weightDecay: 1e-3 }),
  );
  const cal = await timed(
    "calibration",
    () =>
      calibrate({ ...common, gpu: o.gpu, floatCheckpoint: fl.checkpoint, calibBatches: budget.calibBatches }),
  );
  if (o.gpu) log("QAT runs on the CPU backend here (hqat qat --device webgpu trains on the device)");
  const qat = await timed(
    "qat",
    () =>
      qatTrain({
        ...common,
        calibCheckpoint: cal.checkpoint,
        epochs: budget.qatEpochs,
        lr: 1e-3,
        weightDecay: 1e-4,
      }),
  );
  const conv = await timed("convert", () => convertStage({ ...common, checkpoint: qat.checkpoint }));
  const artifacts: Record<string, string> = {
    floatCheckpoint: fl.checkpoint,
    calibCheckpoint: cal.checkpoint,
    qatCheckpoint: qat.checkpoint,
    intModel: conv.path,
  };
  if (o.deploy) Object.assign(artifacts, await timed("deploy", () => o.deploy!(conv.path, out, log)));
  const summary: QuickstartSummary = {
    float: fl.best,
    calibration: { top1: cal.top1, top5: cal.top5 },
    qat: { top1: qat.best.top1, top5: qat.best.top5 },
    ...(qat.bestTrainingStatistics &&
      {
        qatTrainingStatistics: {
          top1: qat.bestTrainingStatistics.top1,
          top5: qat.bestTrainingStatistics.top5,
        },
      }),
    quantized: { top1: conv.top1, top5: conv.top5, agreementWithQat: conv.agreement },
    artifacts,
    budget,
    seconds,
  };
  if (o.summary) {
    await atomicWriteFile(o.summary, new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"));
    log(`Summary written to ${o.summary}`);
  }

  return summary;
}
