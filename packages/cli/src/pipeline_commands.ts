/**
 * The pipeline commands: `train`, `eval`, `calibrate`, `qat`, `convert`, `predict-int`.
 * @module
 */
import {
  convertFx,
  debugQuantization,
  formatDebugReport,
  loadIntModel,
  prepareQatFx,
  runIntModel,
  runIntModelGpu,
  setFakeQuantize,
} from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { atomicWriteFile } from "@hqat/nn";
import { basename } from "node:path";
import { FakeQuantState } from "@hqat/qtensor";
import { evaluate, loadNpy, loadState, saveNpy } from "@hqat/nn";
import { fromArray, stateToDevice } from "@hqat/tensor";
import {
  type Command,
  DEVICE_HELP,
  deviceChoice,
  deviceOption,
  intOption,
  onSelectedDevice,
  parse,
  required,
} from "./commands.ts";
import { checkNumClasses, loadDataset, seedLoader, tensorBatches } from "./data_source.ts";
import { trainFloat } from "./float_stage.ts";
import { checkClassifier, chooseModel, CliError, defaultOut } from "./models.ts";
import {
  BN_REESTIMATE_BATCHES,
  calibrate,
  convertStage,
  hasLearnedScales,
  qatQConfig,
  qatTrain,
} from "./quant_stage.ts";
import { quickstart } from "./quickstart.ts";
import { deployStages } from "./deploy_stages.ts";
import { checkFiles, claimOut } from "./outputs.ts";

const COMMON = [
  "arch",
  "onnx",
  "num-classes",
  "dataset",
  "data-dir",
  "batch-size",
  "limit",
  "eval-limit",
  "seed",
  "out",
];
const COMMON_HELP =
  `  --arch mobilenetv2|resnet18   architecture (default mobilenetv2, with the quick start's Quant/DeQuant stubs)
  --onnx M.onnx                 a network of your own, imported from ONNX (a classifier of [N,3,32,32] images;
                                Quant/DeQuant stubs are added; the output folder defaults to model/<name>)
  --num-classes N               classes (default 10)
  --dataset fashion-mnist|cifar10  data set (default fashion-mnist)
  --data-dir D                  folder searched first for the data set
  --batch-size B                batch size (default 256)
  --limit N                     use the first N training images
  --eval-limit N                evaluate on the first N test images
  --seed S                      seed (default 0)
  --out DIR                     output folder (default model/mobilenetv2, or model/<name> with --onnx)
  --no-progress                 no progress display`;

function floatOption(a: Record<string, unknown>, name: string, fallback: number): number {
  const v = a[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`--${name} must be a non-negative number, got "${v}"`);
  return n;
}

async function common(a: Record<string, unknown>) {
  if (a.arch !== undefined && a.onnx !== undefined) throw new CliError("Give --arch or --onnx, not both");
  const choice = {
    arch: (a.arch as string | undefined) ?? "mobilenetv2",
    onnx: a.onnx as string | undefined,
    numClasses: intOption(a, "num-classes", 10),
    quantStubScale: 1 / 128,
    // The data sets' batches: grayscale padded to 32×32 and replicated to three channels.
    inputShape: [1, 3, 32, 32],
  };
  const dataset = (a.dataset as string | undefined) ?? "fashion-mnist";
  checkNumClasses(choice.numClasses, ""); // the cap, before a head of that size is built
  let model;
  try {
    model = await chooseModel(choice);
  } catch (e) {
    if (!(e instanceof RangeError) || !choice.onnx) throw e;
    throw new CliError(`${e.message} (${dataset} batches are [N,3,32,32])`, 1);
  }
  checkClassifier(model, dataset, choice.numClasses);
  checkNumClasses(choice.numClasses, dataset);
  return {
    model,
    dataset,
    dataDir: a["data-dir"] as string | undefined,
    batchSize: intOption(a, "batch-size", 256),
    limit: a.limit === undefined ? undefined : intOption(a, "limit", 1),
    evalLimit: a["eval-limit"] === undefined
      ? (a.limit === undefined ? undefined : intOption(a, "limit", 1))
      : intOption(a, "eval-limit", 1),
    seed: a.seed === undefined ? 0 : Number(a.seed),
    out: (a.out as string | undefined) ?? defaultOut(choice),
    progress: a.progress === false ? false as const : undefined,
  };
}

function helpOr<T>(a: Record<string, unknown>, usage: string, run: () => Promise<T>): Promise<number> {
  if (a.help) {
    console.log(usage);
    return Promise.resolve(0);
  }
  return run().then(() => 0);
}

const TRAIN_USAGE =
  `Usage: hqat train [options] --epochs N [--lr 1e-3] [--weight-decay 1e-3] [--resume] [--rand-augment]
Trains the float model with the quick start's recipe (Adam, random flip, centered YUV / 128 input),
writes OUT/float-checkpoint.safetensors (best epoch) and OUT/float-last.safetensors (for --resume).
${COMMON_HELP}
${DEVICE_HELP}`;

/** `hqat train`. */
export const trainCommand: Command = {
  summary: "train a float model (writes float-checkpoint.safetensors)",
  usage: TRAIN_USAGE,
  run(args) {
    const a = parse(args, {
      string: [...COMMON, "epochs", "lr", "weight-decay", "device"],
      boolean: ["resume", "rand-augment", "progress"],
    }, TRAIN_USAGE);
    return helpOr(a, TRAIN_USAGE, async () => {
      const c = await common(a);
      await claimOut(c.out, "train", {
        files: [`${c.out}/float-checkpoint.safetensors`, `${c.out}/float-last.safetensors`],
      });
      const device = await deviceOption(a);
      await trainFloat({
        ...c,
        gpu: device.gpu,
        epochs: intOption(a, "epochs", 3),
        lr: floatOption(a, "lr", 1e-3),
        weightDecay: floatOption(a, "weight-decay", 1e-3),
        resume: a.resume,
        randAugment: a["rand-augment"],
      });
    });
  },
};

const EVAL_USAGE = `Usage: hqat eval [options] --weights W.safetensors
Evaluates a float checkpoint on the test set (top-1 and top-5).
${COMMON_HELP}
${DEVICE_HELP}`;

/** `hqat eval`. */
export const evalCommand: Command = {
  summary: "evaluate a float checkpoint on the test set",
  usage: EVAL_USAGE,
  run(args) {
    const a = parse(args, { string: [...COMMON, "weights", "device"], boolean: ["progress"] }, EVAL_USAGE);
    return helpOr(a, EVAL_USAGE, async () => {
      const c = await common(a);
      const loaded = await loadState(required(a, "weights", EVAL_USAGE), c.model);
      const { gpu } = await deviceOption(a);
      const state = gpu ? stateToDevice(loaded, gpu) : loaded;
      const test = seedLoader(await loadDataset(c.dataset, "test", c), {
        batchSize: c.batchSize,
        train: false,
        limit: c.evalLimit,
      });
      const ev = await evaluate(c.model, state, tensorBatches(test, 0), {
        total: test.size,
        progress: c.progress,
      });
      console.log(`Evaluation Acc@1 ${ev.top1.toFixed(3)} Acc@5 ${ev.top5.toFixed(3)} (${ev.images} images)`);
    });
  },
};

const CALIB_USAGE = `Usage: hqat calibrate [options] [--float-checkpoint F] [--calib-batches 20]
Calibrates the float checkpoint (default OUT/float-checkpoint.safetensors) and writes OUT/calib-checkpoint.safetensors.
On WebGPU every observer runs on the device (percentile, MSE and KL ones read back only a few kilobytes
of batch statistics) and keeps the state the CPU's observer computes from the same activations; the
evaluation afterwards runs on the CPU.
${COMMON_HELP}
${DEVICE_HELP}`;

/** `hqat calibrate`. */
export const calibrateCommand: Command = {
  summary: "calibrate observers (writes calib-checkpoint.safetensors)",
  usage: CALIB_USAGE,
  run(args) {
    const a = parse(
      args,
      { string: [...COMMON, "float-checkpoint", "calib-batches", "device"], boolean: ["progress"] },
      CALIB_USAGE,
    );
    return helpOr(a, CALIB_USAGE, async () => {
      const c = await common(a);
      const floatCheckpoint = (a["float-checkpoint"] as string | undefined) ??
        `${c.out}/float-checkpoint.safetensors`;
      await claimOut(c.out, "calibrate", {
        files: [`${c.out}/calib-checkpoint.safetensors`],
        inputs: [floatCheckpoint],
      });
      await calibrate({
        ...c,
        floatCheckpoint,
        calibBatches: intOption(a, "calib-batches", 20),
        gpu: (await deviceOption(a)).gpu,
      });
    });
  },
};

const QAT_USAGE =
  `Usage: hqat qat [options] [--calib-checkpoint C] [--epochs 1] [--lr 1e-3] [--weight-decay 1e-4]
                [--bn-reestimate-batches ${BN_REESTIMATE_BATCHES}] [--lsq]
Quantization-aware training from the calibration state; writes OUT/qat-checkpoint.safetensors (best epoch).
After each epoch, batch-norm statistics are re-estimated from the final weights on that many training
batches (0: keep the moving averages of training, as the seed does) and the epoch is evaluated with
both the statistics of training and the re-estimated ones. --lsq trains the activation scales (LSQ) from
the calibrated ones; convert and debug read them from the checkpoint.
${COMMON_HELP}
${DEVICE_HELP}`;

/** `hqat qat`. */
export const qatCommand: Command = {
  summary: "quantization-aware training (writes qat-checkpoint.safetensors)",
  usage: QAT_USAGE,
  run(args) {
    const a = parse(args, {
      string: [
        ...COMMON,
        "calib-checkpoint",
        "epochs",
        "lr",
        "weight-decay",
        "bn-reestimate-batches",
        "device",
      ],
      boolean: ["progress", "lsq"],
    }, QAT_USAGE);
    return helpOr(a, QAT_USAGE, async () => {
      const c = await common(a);
      const calibCheckpoint = (a["calib-checkpoint"] as string | undefined) ??
        `${c.out}/calib-checkpoint.safetensors`;
      await claimOut(c.out, "qat", {
        files: [`${c.out}/qat-checkpoint.safetensors`],
        inputs: [calibCheckpoint],
      });
      await qatTrain({
        ...c,
        calibCheckpoint,
        epochs: intOption(a, "epochs", 1),
        lr: floatOption(a, "lr", 1e-3),
        weightDecay: floatOption(a, "weight-decay", 1e-4),
        bnReestimateBatches: intOption(a, "bn-reestimate-batches", BN_REESTIMATE_BATCHES, 0),
        lsq: a.lsq === true,
        gpu: (await deviceOption(a)).gpu,
      });
    });
  },
};

const CONVERT_USAGE = `Usage: hqat convert [options] [--checkpoint C]
Converts the QAT (default OUT/qat-checkpoint.safetensors) or calibration checkpoint to the fixed-point
model OUT/int_model and evaluates it on the test set.
${COMMON_HELP}`;

/** `hqat convert`. */
export const convertCommand: Command = {
  summary: "convert to the fixed-point model (writes int_model)",
  usage: CONVERT_USAGE,
  run(args) {
    const a = parse(args, { string: [...COMMON, "checkpoint"], boolean: ["progress"] }, CONVERT_USAGE);
    return helpOr(a, CONVERT_USAGE, async () => {
      const c = await common(a);
      const checkpoint = (a.checkpoint as string | undefined) ?? `${c.out}/qat-checkpoint.safetensors`;
      await claimOut(c.out, "convert", { files: [`${c.out}/int_model`], inputs: [checkpoint] });
      await convertStage({
        ...c,
        checkpoint,
      });
    });
  },
};

const PREDICT_INT_USAGE =
  `Usage: hqat predict-int --model INT_MODEL --input X.npy --output Y.npy [--raw] [--device D]
Runs the fixed-point model on X ([N,3,H,W] float32); writes the dequantized output, or with --raw the
integer output before DeQuantStub. The CPU and WebGPU give the same integers.
${DEVICE_HELP}`;

/** `hqat predict-int`. */
export const predictIntCommand: Command = {
  summary: "run the fixed-point model on a .npy batch",
  usage: PREDICT_INT_USAGE,
  run(args) {
    const a = parse(
      args,
      { string: ["model", "input", "output", "device"], boolean: ["raw"] },
      PREDICT_INT_USAGE,
    );
    return helpOr(a, PREDICT_INT_USAGE, async () => {
      deviceChoice(a);
      const modelPath = required(a, "model", PREDICT_INT_USAGE);
      const input = required(a, "input", PREDICT_INT_USAGE),
        output = required(a, "output", PREDICT_INT_USAGE);
      await checkFiles([output], [modelPath, input]);
      const model = await loadIntModel(modelPath);
      const x = await loadNpy(input, { dtype: "float32" });
      if (x.rank !== 4) {
        throw new CliError(`"${input}": expected a [N,C,H,W] batch, got [${x.shape.join(",")}]`, 1);
      }
      const r = await onSelectedDevice(
        a,
        console.error,
        (device) => runIntModelGpu(model, x.data as Float32Array, x.shape, { device }),
        () => runIntModel(model, x.data as Float32Array, x.shape),
      );
      const y = a.raw ? fromArray(r.raw.data, r.raw.shape) : fromArray(r.output, r.shape);
      await saveNpy(output, y);
      console.error(`Wrote ${a.raw ? `${r.raw.dtype} ` : ""}output [${y.shape.join(",")}] to ${output}`);
    });
  },
};

const DEBUG_USAGE = `Usage: hqat debug [options] [--checkpoint C] [--json REPORT.json]
For one test batch (--batch-size, default 8), compares each node's float, fake-quantized and integer
outputs (cosine, SQNR, LSB distance) and names the first node where fake-quant and integer outputs
differ by more than one LSB. The checkpoint defaults to OUT/qat-checkpoint.safetensors.
${COMMON_HELP}`;

/** `hqat debug`. */
export const debugCommand: Command = {
  summary: "per-layer float / fake-quant / integer comparison for one batch",
  usage: DEBUG_USAGE,
  run(args) {
    const a = parse(args, { string: [...COMMON, "checkpoint", "json"], boolean: ["progress"] }, DEBUG_USAGE);
    return helpOr(a, DEBUG_USAGE, async () => {
      const c = await common(a);
      setMarch(March.BAYES);
      const checkpoint = (a.checkpoint as string | undefined) ?? `${c.out}/qat-checkpoint.safetensors`;
      await checkFiles([a.json as string | undefined], [checkpoint]);
      const prepared = prepareQatFx(
        c.model,
        qatQConfig(c.model, { lsq: await hasLearnedScales(checkpoint) }),
      );
      const state = await loadState(checkpoint, prepared);
      const vm = setFakeQuantize(prepared, FakeQuantState.VALIDATION);
      const int = convertFx(vm, state);
      const test = seedLoader(await loadDataset(c.dataset, "test", c), {
        batchSize: intOption(a, "batch-size", 8),
        train: false,
      });
      let report;
      for await (const b of tensorBatches(test, 0, 1)) report = debugQuantization(vm, state, int, b.x);
      if (!report) throw new CliError("The test set is empty", 1);
      console.log(formatDebugReport(report));
      if (a.json) {
        await atomicWriteFile(a.json as string, new TextEncoder().encode(JSON.stringify(report, null, 1)));
      }
    });
  },
};

const QUICKSTART_USAGE =
  `Usage: hqat quickstart [--onnx M.onnx] [--dataset fashion-mnist|cifar10] [--data-dir D] [--out model/mobilenetv2]
                       [--float-epochs 3] [--qat-epochs 1] [--calib-batches 20] [--limit 20000]
                       [--eval-limit 0] [--batch-size 256] [--device auto|cpu|webgpu] [--seed 0] [--summary FILE.json]
Runs the quick start end to end: float training, calibration, QAT, conversion to the fixed-point model
(OUT/int_model), then check, compile (pyramid input, O1), perf and visualize, printing each stage's
result like the seed does. The defaults are a budget that finishes in about 15 minutes on two cores
(20,000 training images per epoch, the whole test set); --limit 0 trains on the whole training set.
--onnx runs the same flow on a classifier of your own (see docs/onnx.md), written to model/<name>.`;

/** `hqat quickstart`. */
export const quickstartCommand: Command = {
  summary: "the quick start end to end (train → calibrate → QAT → convert → deploy)",
  usage: QUICKSTART_USAGE,
  run(args) {
    const a = parse(args, {
      string: [
        "onnx",
        "dataset",
        "data-dir",
        "out",
        "float-epochs",
        "qat-epochs",
        "calib-batches",
        "limit",
        "eval-limit",
        "batch-size",
        "device",
        "seed",
        "summary",
      ],
      boolean: ["progress"],
    }, QUICKSTART_USAGE);
    return helpOr(a, QUICKSTART_USAGE, async () => {
      // --limit 0 and --eval-limit 0 mean the whole split here (read below), which common() refuses.
      const onnx = a.onnx === undefined
        ? undefined
        : await common({ ...a, limit: undefined, "eval-limit": undefined });
      const out = (a.out as string | undefined) ?? onnx?.out ?? "model/mobilenetv2";
      await claimOut(out, "quickstart", { files: [a.summary as string | undefined] });
      const { gpu } = await deviceOption(a);
      const nonNeg = (name: string, d: number) => {
        const v = a[name];
        if (v === undefined) return d;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) {
          throw new CliError(`--${name} must be a non-negative integer, got "${v}"`);
        }
        return n;
      };
      await quickstart({
        dataset: a.dataset as string | undefined,
        dataDir: a["data-dir"] as string | undefined,
        out,
        model: onnx?.model,
        modelName: onnx && basename(a.onnx as string),
        floatEpochs: intOption(a, "float-epochs", 3),
        qatEpochs: intOption(a, "qat-epochs", 1),
        calibBatches: intOption(a, "calib-batches", 20),
        limit: nonNeg("limit", 20000),
        evalLimit: nonNeg("eval-limit", 0),
        batchSize: intOption(a, "batch-size", 256),
        seed: nonNeg("seed", 0),
        summary: a.summary as string | undefined,
        progress: a.progress === false ? false : undefined,
        deploy: (path, dir, log) =>
          deployStages(path, dir, log, {
            name: onnx ? basename(a.onnx as string).replace(/\.onnx$/i, "") : undefined,
          }),
        gpu,
      });
    });
  },
};

/** The pipeline commands by name. */
export const pipelineCommands: Record<string, Command> = {
  train: trainCommand,
  eval: evalCommand,
  calibrate: calibrateCommand,
  qat: qatCommand,
  convert: convertCommand,
  "predict-int": predictIntCommand,
  debug: debugCommand,
  quickstart: quickstartCommand,
};
