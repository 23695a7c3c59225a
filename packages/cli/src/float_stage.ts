/**
 * The float stage of the quick start: train a float model on a data set with the seed's recipe, keep
 * the best checkpoint (atomically), resume from the last one, and evaluate.
 * @module
 */
import {
  adam,
  createTrainState,
  type EvalResult,
  evaluate,
  firstNonFinite,
  initState,
  loadTrainCheckpoint,
  makeTrainStep,
  modelState,
  type Module,
  saveState,
  saveTrainCheckpoint,
  trainOneEpoch,
  trainStateToCpu,
  trainStateToDevice,
} from "@hqat/nn";
import { foldIn, randomKey, type WebGpuDevice } from "@hqat/tensor";
import { join } from "node:path";
import { loadDataset, seedLoader, tensorBatches } from "./data_source.ts";

/** Options of {@linkcode trainFloat}. */
export interface TrainFloatOptions {
  /** The model to train. */
  model: Module;
  /** Data set name. */
  dataset: string;
  /** Data folder (searched first). */
  dataDir?: string;
  /** Epochs. */
  epochs: number;
  /** Batch size (train and eval). */
  batchSize: number;
  /** Adam learning rate (seed: 1e-3). */
  lr: number;
  /** Adam weight decay (seed: 1e-3). */
  weightDecay: number;
  /** Output folder: float-checkpoint.safetensors (best) and float-last.safetensors (resume). */
  out: string;
  /** Train on the first `limit` training images and evaluate on the first `limit` test images. */
  limit?: number;
  /** Evaluate on the first `evalLimit` test images (default: `limit`). */
  evalLimit?: number;
  /** Seed of initialization, shuffling, augmentation and dropout. */
  seed: number;
  /** Resume from float-last.safetensors when it exists. */
  resume?: boolean;
  /** Add RandAugment to the training transforms. */
  randAugment?: boolean;
  /** Train and evaluate on this WebGPU device (default: the CPU). Checkpoints are read back. */
  gpu?: WebGpuDevice;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** Progress display options (false: none). */
  progress?: false | { live?: boolean; everySeconds?: number };
}

/** What {@linkcode trainFloat} returns. */
export interface FloatResult {
  /** Accuracy per epoch. */
  epochs: { epoch: number; top1: number; top5: number; trainLoss: number; imagesPerSecond: number }[];
  /** Best top-1 and its top-5. */
  best: { top1: number; top5: number };
  /** Path of the best checkpoint. */
  checkpoint: string;
}

/**
 * Trains a float model with Adam and cross-entropy, evaluating after every epoch and printing the seed's
 * `Float Epoch k: evaluation Acc@1 … Acc@5 …` lines.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { trainFloat } from "@hqat/cli";
 * assert(typeof trainFloat === "function");
 * ```
 */
export async function trainFloat(o: TrainFloatOptions): Promise<FloatResult> {
  const log = o.log ?? console.log;
  await Deno.mkdir(o.out, { recursive: true });
  const [train, test] = [await loadDataset(o.dataset, "train", o), await loadDataset(o.dataset, "test", o)];
  const trainLoader = seedLoader(train, {
    batchSize: o.batchSize,
    train: true,
    seed: o.seed,
    limit: o.limit,
    randAugment: o.randAugment,
  });
  const testLoader = seedLoader(test, {
    batchSize: o.batchSize,
    train: false,
    limit: o.evalLimit ?? o.limit,
  });
  const opt = adam({ lr: o.lr, weightDecay: o.weightDecay });
  const step = makeTrainStep(o.model, opt);
  const best = join(o.out, "float-checkpoint.safetensors"), last = join(o.out, "float-last.safetensors");
  let ts = createTrainState(o.model, initState(o.model, randomKey(o.seed)), opt);
  let start = 0, bestTop1 = -1, bestTop5 = 0;
  if (o.resume) {
    try {
      const ck = await loadTrainCheckpoint(last, o.model, opt);
      ts = ck.state;
      start = ck.info.epoch;
      bestTop1 = ck.info.bestTop1;
      log(`Resuming from ${last} after epoch ${start - 1} (best Acc@1 ${bestTop1.toFixed(3)})`);
    } catch (e) {
      if (!(e instanceof Error && /No such file|not found/i.test(e.message))) throw e;
    }
  }
  if (o.gpu) ts = trainStateToDevice(ts, o.gpu);
  const epochs: FloatResult["epochs"] = [];
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const r = await trainOneEpoch(step, ts, tensorBatches(trainLoader, epoch), {
      key: foldIn(randomKey(o.seed + 1), epoch),
      total: trainLoader.size,
      label: `Float Epoch ${epoch} train`,
      progress: o.progress,
      // Where a NaN loss came from: the first module whose output is not finite (read on the CPU).
      locate: (before, x) => firstNonFinite(o.model, modelState(o.model, before), x, { training: true }),
    });
    ts = r.state;
    const host = o.gpu ? await trainStateToCpu(ts) : ts;
    log(
      `Full ${o.dataset} train set: Loss ${r.loss.toFixed(3)} Acc@1 ${r.top1.toFixed(3)} (${
        r.imagesPerSecond.toFixed(1)
      } images/s)`,
    );
    const state = modelState(o.model, host);
    const ev: EvalResult = await evaluate(o.model, modelState(o.model, ts), tensorBatches(testLoader, 0), {
      total: testLoader.size,
      label: `Float Epoch ${epoch} eval`,
      progress: o.progress,
    });
    log(`Float Epoch ${epoch}: evaluation Acc@1 ${ev.top1.toFixed(3)} Acc@5 ${ev.top5.toFixed(3)}`);
    epochs.push({
      epoch,
      top1: ev.top1,
      top5: ev.top5,
      trainLoss: r.loss,
      imagesPerSecond: r.imagesPerSecond,
    });
    if (ev.top1 > bestTop1) {
      bestTop1 = ev.top1;
      bestTop5 = ev.top5;
      await saveState(best, o.model, state, { metadata: { epoch: String(epoch), top1: String(ev.top1) } });
    }
    await saveTrainCheckpoint(last, o.model, host, { epoch: epoch + 1, bestTop1 });
  }
  return { epochs, best: { top1: bestTop1, top5: bestTop5 }, checkpoint: best };
}
