/**
 * The quantization stages of the quick start: calibration, QAT and conversion to the fixed-point model,
 * each reading the previous stage's checkpoint and printing the seed's lines.
 * @module
 */
import {
  calibrateBatchesOnDevice,
  convertFx,
  type IntModel,
  prepareQatFx,
  type QatModel,
  reestimateBnStats,
  runIntModel,
  saveIntModel,
  setFakeQuantize,
} from "@hqat/fx";
import { initLearnedScales, qatStateFromFloat, type QConfigDict } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import {
  adam,
  createTrainState,
  type EvalResult,
  evaluate,
  forward,
  loadState,
  makeTrainStep,
  modelState,
  type Module,
  Progress,
  saveState,
  type StateDict,
  trainOneEpoch,
  trainStateToCpu,
  trainStateToDevice,
} from "@hqat/nn";
import {
  default_calib_8bit_fake_quant_qconfig,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
  default_qat_8bit_fake_quant_qconfig,
  default_qat_8bit_lsq_fake_quant_qconfig,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
  FakeQuantState,
} from "@hqat/qtensor";
import { argmax, foldIn, fromArray, randomKey, type Tensor, type WebGpuDevice } from "@hqat/tensor";
import type { Loader } from "@hqat/data";
import { readSafetensors } from "@hqat/io";
import { join } from "node:path";
import { checkObserverState } from "./observer_state.ts";
import { loadDataset, seedLoader, tensorBatches } from "./data_source.ts";
import { outputLayer } from "./models.ts";

/** The quick start's calibration qconfig: 8-bit everywhere, 32-bit output for the classifier. */
export const CALIB_QCONFIG: QConfigDict = {
  "": default_calib_8bit_fake_quant_qconfig,
  moduleName: { classifier: default_calib_8bit_weight_32bit_out_fake_quant_qconfig },
};

/** The quick start's QAT qconfig. */
export const QAT_QCONFIG: QConfigDict = {
  "": default_qat_8bit_fake_quant_qconfig,
  moduleName: { classifier: default_qat_8bit_weight_32bit_out_fake_quant_qconfig },
};

/**
 * The calibration qconfig of a model: 8-bit everywhere, 32-bit output for the layer that computes the
 * logits (`classifier`, or an imported network's last Linear layer; see {@linkcode outputLayer}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel, calibQConfig } from "@hqat/cli";
 * assert(calibQConfig(buildModel("resnet18")).moduleName?.fc !== undefined);
 * ```
 */
export function calibQConfig(model: Module): QConfigDict {
  const out = outputLayer(model);
  return {
    "": default_calib_8bit_fake_quant_qconfig,
    ...(out && { moduleName: { [out]: default_calib_8bit_weight_32bit_out_fake_quant_qconfig } }),
  };
}

/**
 * The QAT qconfig of a model, like {@linkcode calibQConfig}; with `lsq`, activation scales are trained
 * (`default_qat_8bit_lsq_fake_quant_qconfig`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel, qatQConfig } from "@hqat/cli";
 * assert(qatQConfig(buildModel("mobilenetv2")).moduleName?.classifier !== undefined);
 * ```
 */
export function qatQConfig(model: Module, options: { lsq?: boolean } = {}): QConfigDict {
  const out = outputLayer(model);
  return {
    "": options.lsq ? default_qat_8bit_lsq_fake_quant_qconfig : default_qat_8bit_fake_quant_qconfig,
    ...(out && { moduleName: { [out]: default_qat_8bit_weight_32bit_out_fake_quant_qconfig } }),
  };
}

/**
 * Training batches on which `hqat qat` re-estimates batch-norm statistics after each epoch (12,800
 * images at batch 256): enough that the estimate's own noise is far below the moving average's.
 */
export const BN_REESTIMATE_BATCHES = 50;

/** What every stage needs to find data and print. */
export interface StageOptions {
  /** The float model (architecture with quant stubs). */
  model: Module;
  /** Data set name. */
  dataset: string;
  /** Data folder. */
  dataDir?: string;
  /** Batch size. */
  batchSize: number;
  /** Evaluate on the first `evalLimit` test images. */
  evalLimit?: number;
  /** Train/calibrate on the first `limit` training images. */
  limit?: number;
  /** Seed. */
  seed: number;
  /** Output folder. */
  out: string;
  /** Where lines go. */
  log?: (line: string) => void;
  /** Progress display (false: none). */
  progress?: false | { live?: boolean; everySeconds?: number };
}

async function testLoader(o: StageOptions) {
  return seedLoader(await loadDataset(o.dataset, "test", o), {
    batchSize: o.batchSize,
    train: false,
    limit: o.evalLimit,
  });
}

/**
 * Calibration: observers collect statistics over `calibBatches` training batches (evaluation mode,
 * CALIBRATION) — with `gpu`, on that WebGPU device (`calibrateBatchesOnDevice`: the same calibrated
 * state as on the CPU, up to the float kernels' last bits in the activations) — then the fake-quantized
 * model is evaluated (VALIDATION) and its state saved as `calib-checkpoint.safetensors`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibrate } from "@hqat/cli";
 * assert(typeof calibrate === "function");
 * ```
 */
export async function calibrate(
  o: StageOptions & {
    floatCheckpoint: string;
    calibBatches: number;
    /** Calibrate on this WebGPU device (every observer's statistics computed there). */
    gpu?: WebGpuDevice;
  },
): Promise<EvalResult & { checkpoint: string }> {
  const log = o.log ?? console.log;
  setMarch(March.BAYES);
  const calib = prepareQatFx(o.model, calibQConfig(o.model));
  let state = qatStateFromFloat(calib, await loadState(o.floatCheckpoint, o.model));
  const train = seedLoader(await loadDataset(o.dataset, "train", o), {
    batchSize: o.batchSize,
    train: true,
    seed: o.seed,
    limit: o.limit,
  });
  let n = 0;
  async function* images() {
    for await (const b of tensorBatches(train, 0, o.calibBatches)) {
      n += b.x.shape[0];
      yield b.x;
    }
  }
  if (o.gpu) state = await calibrateBatchesOnDevice(calib, state, images(), o.gpu);
  else {
    const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
    for await (const x of images()) state = forward(cm, state, x).state;
  }
  log(`Calibrated on ${n} images (${o.calibBatches} batches)`);
  const vm = setFakeQuantize(calib, FakeQuantState.VALIDATION);
  const test = await testLoader(o);
  const ev = await evaluate(vm, state, tensorBatches(test, 0), {
    total: test.size,
    label: "Calibration eval",
    progress: o.progress,
  });
  log(`Calibration: evaluation Acc@1 ${ev.top1.toFixed(3)} Acc@5 ${ev.top5.toFixed(3)}`);
  const checkpoint = join(o.out, "calib-checkpoint.safetensors");
  await Deno.mkdir(o.out, { recursive: true });
  await saveState(checkpoint, calib, state);
  return { ...ev, checkpoint };
}

/**
 * QAT: a QAT-prepared model loads the calibration state, trains with fake quantization (Adam), and is
 * evaluated in VALIDATION after each epoch; the best state is saved as `qat-checkpoint.safetensors`.
 *
 * After each epoch (unless `bnReestimateBatches` is 0) the batch-norm running statistics are
 * re-estimated from the epoch's final weights on that many training batches
 * ({@linkcode reestimateBnStats}); the epoch is evaluated with the statistics training left (printed
 * for comparison) and with the re-estimated ones, which are the ones evaluated, compared and saved.
 * Training itself continues from its own state.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qatTrain } from "@hqat/cli";
 * assert(typeof qatTrain === "function");
 * ```
 */
export async function qatTrain(
  o: StageOptions & {
    calibCheckpoint: string;
    epochs: number;
    lr: number;
    weightDecay: number;
    /** Training batches for the batch-norm re-estimation after each epoch (default {@linkcode BN_REESTIMATE_BATCHES}; 0: none). */
    bnReestimateBatches?: number;
    /** Train the activation scales (LSQ), starting from the calibrated ones. */
    lsq?: boolean;
    /** Train on this WebGPU device (MinMax observers, fake quantization and the BN fold on it). */
    gpu?: WebGpuDevice;
  },
): Promise<{
  epochs: EvalResult[];
  best: EvalResult;
  /** The best epoch evaluated with the statistics training left (when they were re-estimated). */
  bestTrainingStatistics?: EvalResult;
  checkpoint: string;
}> {
  const log = o.log ?? console.log;
  setMarch(March.BAYES);
  const plain = prepareQatFx(o.model, qatQConfig(o.model));
  const calibrated = await loadState(o.calibCheckpoint, plain); // qat_model.load_state_dict(calib_model.state_dict())
  checkObserverState(calibrated, o.calibCheckpoint, { calibrated: true });
  const qat = o.lsq ? prepareQatFx(o.model, qatQConfig(o.model, { lsq: true })) : plain;
  const start = o.lsq ? initLearnedScales(qat, calibrated) : calibrated;
  const qm = setFakeQuantize(qat, FakeQuantState.QAT), vm = setFakeQuantize(qat, FakeQuantState.VALIDATION);
  const opt = adam({ lr: o.lr, weightDecay: o.weightDecay });
  const step = makeTrainStep(qm, opt);
  let ts = createTrainState(qm, start, opt);
  if (o.gpu) ts = trainStateToDevice(ts, o.gpu);
  const train = seedLoader(await loadDataset(o.dataset, "train", o), {
    batchSize: o.batchSize,
    train: true,
    seed: o.seed + 7,
    limit: o.limit,
  });
  const test = await testLoader(o);
  const checkpoint = join(o.out, "qat-checkpoint.safetensors");
  const epochs: EvalResult[] = [];
  const bnBatches = o.bnReestimateBatches ?? BN_REESTIMATE_BATCHES;
  let best: EvalResult | undefined, bestTrainingStatistics: EvalResult | undefined;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const r = await trainOneEpoch(step, ts, tensorBatches(train, epoch), {
      key: foldIn(randomKey(o.seed + 2), epoch),
      total: train.size,
      label: `QAT Epoch ${epoch} train`,
      progress: o.progress,
    });
    ts = r.state;
    log(
      `Full ${o.dataset} train set: Loss ${r.loss.toFixed(3)} Acc@1 ${r.top1.toFixed(3)} (${
        r.imagesPerSecond.toFixed(1)
      } images/s)`,
    );
    let state = modelState(qm, o.gpu ? await trainStateToCpu(ts) : ts), before: EvalResult | undefined;
    if (bnBatches > 0) {
      before = await evaluate(vm, state, tensorBatches(test, 0), {
        total: test.size,
        label: `QAT Epoch ${epoch} eval (training statistics)`,
        progress: o.progress,
      });
      const r = await reestimateBnStatsOnTrain(qat, state, train, epoch, bnBatches, o);
      state = r.state;
      log(
        `QAT Epoch ${epoch}: batch-norm statistics re-estimated on ${r.images} training images ` +
          `(with the statistics of training: Acc@1 ${before.top1.toFixed(3)} Acc@5 ${
            before.top5.toFixed(3)
          })`,
      );
    }
    const ev = await evaluate(vm, state, tensorBatches(test, 0), {
      total: test.size,
      label: `QAT Epoch ${epoch} eval`,
      progress: o.progress,
    });
    log(`QAT Epoch ${epoch}: evaluation Acc@1 ${ev.top1.toFixed(3)} Acc@5 ${ev.top5.toFixed(3)}`);
    epochs.push(ev);
    if (!best || ev.top1 > best.top1) {
      best = ev;
      bestTrainingStatistics = before;
      await saveState(checkpoint, qat, state);
    }
  }
  if (!best) throw new RangeError("qatTrain(): epochs must be at least 1");
  return { epochs, best, bestTrainingStatistics, checkpoint };
}

/** Re-estimates batch-norm statistics on the first `batches` training batches of `epoch`, with progress. */
async function reestimateBnStatsOnTrain(
  qat: QatModel,
  state: StateDict,
  train: Loader,
  epoch: number,
  batches: number,
  o: StageOptions,
) {
  const total = Math.min(batches * o.batchSize, train.size);
  const progress = o.progress === false ? null : new Progress(`QAT Epoch ${epoch} BN statistics`, {
    total,
    ...(o.progress ?? {}),
  });
  async function* images() {
    for await (const b of tensorBatches(train, epoch, batches)) yield b.x;
  }
  let seen = 0;
  const r = await reestimateBnStats(qat, state, images(), {
    key: foldIn(randomKey(o.seed + 3), epoch),
    onBatch: (_, n) => {
      progress?.update(n - seen);
      seen = n;
    },
  });
  progress?.done();
  return r;
}

/** Logits of the fixed-point model for a batch. */
export function intLogits(model: IntModel, x: Tensor): Tensor {
  const r = runIntModel(model, x.data as Float32Array, x.shape);
  return fromArray(r.output, r.shape);
}

/**
 * Conversion: the QAT (or calibration) checkpoint becomes the fixed-point model, saved as `int_model`,
 * evaluated on the test set, and compared with the fake-quantized model (top-1 agreement).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convertStage } from "@hqat/cli";
 * assert(typeof convertStage === "function");
 * ```
 */
export async function convertStage(
  o: StageOptions & { checkpoint: string },
): Promise<EvalResult & { intModel: IntModel; path: string; agreement: number; prepared: QatModel }> {
  const log = o.log ?? console.log;
  setMarch(March.BAYES);
  const prepared = prepareQatFx(o.model, qatQConfig(o.model, { lsq: await hasLearnedScales(o.checkpoint) }));
  const state = await loadState(o.checkpoint, prepared);
  const vm = setFakeQuantize(prepared, FakeQuantState.VALIDATION);
  const intModel = convertFx(vm, state);
  const path = join(o.out, "int_model");
  await saveIntModel(path, intModel);
  const test = await testLoader(o);
  let same = 0, total = 0;
  const ev = await evaluate(vm, state, tensorBatches(test, 0), {
    total: test.size,
    label: "Quantized model eval",
    progress: o.progress,
    apply: (x) => {
      const yi = intLogits(intModel, x);
      const yq = forward(vm, state, x).y;
      const a = argmax(yi, { axis: 1 }).data, b = argmax(yq, { axis: 1 }).data;
      for (let i = 0; i < a.length; i++) same += a[i] === b[i] ? 1 : 0;
      total += a.length;
      return yi;
    },
  });
  const agreement = total ? (100 * same) / total : 100;
  log(`Quantized model: evaluation Acc@1 ${ev.top1.toFixed(3)} Acc@5 ${ev.top5.toFixed(3)}`);
  log(
    `Fixed-point and fake-quantized models agree on top-1 for ${agreement.toFixed(2)} % of ${total} images`,
  );
  return { ...ev, intModel, path, agreement, prepared };
}

/**
 * Whether a QAT checkpoint holds trained activation scales (LSQ): entries `….activation_post_process.scale`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hasLearnedScales } from "@hqat/cli";
 * import { encodeSafetensors } from "@hqat/io";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const t = { dtype: "F32" as const, shape: [1], data: Float32Array.of(0.1) };
 * await Deno.writeFile(path, encodeSafetensors([["conv.activation_post_process.scale", t]]));
 * assert(await hasLearnedScales(path));
 * await Deno.remove(path);
 * ```
 */
export async function hasLearnedScales(checkpoint: string): Promise<boolean> {
  const { tensors } = await readSafetensors(checkpoint);
  return [...tensors.keys()].some((k) => k.endsWith(".activation_post_process.scale"));
}
