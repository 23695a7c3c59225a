/**
 * The seed's quick start ("快速上手") as a TypeScript program, stage by stage, with the packages used
 * directly: float model → calibration → QAT → fixed-point model → (deployment with `hqat check`,
 * `hqat compile`, `hqat perf`, `hqat visualize` on the saved int model).
 *
 *   deno run -A examples/mobilenetv2_quickstart.ts [--limit 2048] [--eval-limit 500] [--out DIR]
 *
 * Without arguments it uses the whole Fashion-MNIST training and test sets (about an hour on two cores).
 * @module
 */
import { parseArgs } from "@std/cli";
import { createLoader, loadFashionMnist, transforms } from "@hqat/data";
import { convertFx, prepareQatFx, runIntModel, saveIntModel, setFakeQuantize } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import {
  adam,
  type Batch,
  createTrainState,
  evaluate,
  forward,
  initState,
  loadState,
  makeTrainStep,
  mobilenetV2,
  modelState,
  saveState,
  trainOneEpoch,
} from "@hqat/nn";
import {
  default_calib_8bit_fake_quant_qconfig,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
  default_qat_8bit_fake_quant_qconfig,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
  FakeQuantState,
} from "@hqat/qtensor";
import { foldIn, fromArray, randomKey } from "@hqat/tensor";

const args = parseArgs(Deno.args, {
  string: ["limit", "eval-limit", "out", "epochs", "qat-epochs", "batch-size"],
});
const limit = args.limit ? Number(args.limit) : undefined;
const evalLimit = args["eval-limit"] ? Number(args["eval-limit"]) : limit;
const modelPath = args.out ?? "model/mobilenetv2"; // 1. where checkpoints and the int model go
const batchSize = Number(args["batch-size"] ?? 256); // 2. batch size for training and evaluation
const epochNum = Number(args.epochs ?? 3); // 3. float epochs
const qatEpochNum = Number(args["qat-epochs"] ?? 1); // 4. QAT epochs
await Deno.mkdir(modelPath, { recursive: true });

// Data: the seed's collate turns uint8 RGB into centered YUV444 / 128, the format the BPU's pyramid
// delivers; Fashion-MNIST's 28×28 gray images are padded to 32×32 and replicated to three channels.
const trainSet = await loadFashionMnist({ split: "train" });
const testSet = await loadFashionMnist({ split: "test" });
const trainLoader = createLoader(trainSet, {
  batchSize,
  shuffle: true,
  seed: 0,
  limit,
  transforms: [transforms.randomHorizontalFlip({ p: 0.5 })],
});
const evalLoader = createLoader(testSet, { batchSize, limit: evalLimit });
async function* batches(loader: typeof trainLoader, epoch: number, max = Infinity): AsyncGenerator<Batch> {
  let i = 0;
  for await (const b of loader.epoch(epoch)) {
    if (i++ >= max) return;
    yield { x: fromArray(b.x, b.shape), y: fromArray(b.y, [b.y.length]) };
  }
}

// ---- Float model -----------------------------------------------------------------------------------
// FxQATReadyMobileNetV2: torchvision's MobileNetV2 with a QuantStub (fixed scale 1/128, so the
// quantized input equals the pyramid's pixels) before and a DeQuantStub after.
const floatModel = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
const floatOpt = adam({ lr: 0.001, weightDecay: 1e-3 });
const floatStep = makeTrainStep(floatModel, floatOpt);
let ts = createTrainState(floatModel, initState(floatModel, randomKey(0)), floatOpt);
let bestAcc = -1;
for (let epoch = 0; epoch < epochNum; epoch++) {
  ts = (await trainOneEpoch(floatStep, ts, batches(trainLoader, epoch), {
    key: foldIn(randomKey(1), epoch),
    total: trainLoader.size,
    progress: false,
  })).state;
  const state = modelState(floatModel, ts);
  const { top1, top5 } = await evaluate(floatModel, state, batches(evalLoader, 0), { progress: false });
  console.log(`Float Epoch ${epoch}: evaluation Acc@1 ${top1.toFixed(3)} Acc@5 ${top5.toFixed(3)}`);
  if (top1 > bestAcc) {
    bestAcc = top1;
    await saveState(`${modelPath}/float-checkpoint.safetensors`, floatModel, state); // the best float model
  }
}

// ---- Calibration -----------------------------------------------------------------------------------
// The target must be set before preparing the model.
setMarch(March.BAYES);
const calibModel = prepareQatFx(floatModel, {
  "": default_calib_8bit_fake_quant_qconfig,
  // The output layer keeps a 32-bit output for precision.
  moduleName: { classifier: default_calib_8bit_weight_32bit_out_fake_quant_qconfig },
});
let calibState = await loadState(`${modelPath}/float-checkpoint.safetensors`, floatModel).then(
  (floatState) => {
    const fresh = initState(calibModel, randomKey(0));
    return Object.fromEntries(Object.entries(fresh).map(([k, v]) => [k, floatState[k] ?? v]));
  },
);
// Observers collect statistics in evaluation mode (BN uses running statistics), no backward pass.
const calibrating = setFakeQuantize(calibModel, FakeQuantState.CALIBRATION);
for await (const { x } of batches(trainLoader, 0, 20)) calibState = forward(calibrating, calibState, x).state;
// Fake-quantized accuracy, observers frozen.
const validating = setFakeQuantize(calibModel, FakeQuantState.VALIDATION);
const calib = await evaluate(validating, calibState, batches(evalLoader, 0), { progress: false });
console.log(`Calibration: evaluation Acc@1 ${calib.top1.toFixed(3)} Acc@5 ${calib.top5.toFixed(3)}`);
await saveState(`${modelPath}/calib-checkpoint.safetensors`, calibModel, calibState);

// ---- Quantization-aware training --------------------------------------------------------------------
const qatModel = prepareQatFx(floatModel, {
  "": default_qat_8bit_fake_quant_qconfig,
  moduleName: { classifier: default_qat_8bit_weight_32bit_out_fake_quant_qconfig },
});
// The seed's qat_model.load_state_dict(calib_model.state_dict()).
const qatStart = await loadState(`${modelPath}/calib-checkpoint.safetensors`, qatModel);
const training = setFakeQuantize(qatModel, FakeQuantState.QAT);
const qatOpt = adam({ lr: 1e-3, weightDecay: 1e-4 }); // fine-tuning: a small learning rate
const qatStep = makeTrainStep(training, qatOpt);
let qts = createTrainState(training, qatStart, qatOpt);
let qatState = qatStart;
for (let epoch = 0; epoch < qatEpochNum; epoch++) {
  qts = (await trainOneEpoch(qatStep, qts, batches(trainLoader, 10 + epoch), {
    key: foldIn(randomKey(2), epoch),
    progress: false,
  })).state;
  qatState = modelState(training, qts);
  const r = await evaluate(
    setFakeQuantize(qatModel, FakeQuantState.VALIDATION),
    qatState,
    batches(evalLoader, 0),
    { progress: false },
  );
  console.log(`QAT Epoch ${epoch}: evaluation Acc@1 ${r.top1.toFixed(3)} Acc@5 ${r.top5.toFixed(3)}`);
  await saveState(`${modelPath}/qat-checkpoint.safetensors`, qatModel, qatState);
}

// ---- Fixed-point model -------------------------------------------------------------------------------
// Convert, measure its accuracy (the fixed-point numbers are what the BPU computes), and save it.
const quantized = convertFx(setFakeQuantize(qatModel, FakeQuantState.VALIDATION), qatState);
const q = await evaluate(qatModel, qatState, batches(evalLoader, 0), {
  progress: false,
  apply: (x) => {
    const r = runIntModel(quantized, x.data as Float32Array, x.shape);
    return fromArray(r.output, r.shape);
  },
});
console.log(`Quantized model: evaluation Acc@1 ${q.top1.toFixed(3)} Acc@5 ${q.top5.toFixed(3)}`);
await saveIntModel(`${modelPath}/int_model`, quantized);
console.log(
  `Saved ${modelPath}/int_model; deploy it with: deno task hqat check --model ${modelPath}/int_model`,
);
