import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { March } from "@hqat/march-bayes";
import {
  BatchNorm2d,
  Conv2d,
  createTrainState,
  DeQuantStub,
  forward,
  initState,
  makeTrainStep,
  modelState,
  QuantStub,
  ReLU,
  Sequential,
  sgd,
} from "@hqat/nn";
import { runIntModel } from "@hqat/program";
import {
  default_qat_8bit_fake_quant_qconfig as q8,
  default_qat_8bit_lsq_fake_quant_qconfig as lsq,
  FakeQuantState,
} from "@hqat/qtensor";
import { mean, mul, randomKey, randomNormal, sub } from "@hqat/tensor";
import { convertFx } from "./convert.ts";
import { initLearnedScales } from "./lsq.ts";
import { calibrateBatches } from "./ptq.ts";
import { prepareQatFx, qatStateFromFloat, setFakeQuantize } from "./qat_model.ts";

const float = new Sequential(
  new QuantStub({ scale: 1 / 64 }),
  new Conv2d(3, 8, 3, { padding: 1 }),
  new BatchNorm2d(8),
  new ReLU(),
  new Conv2d(8, 4, 1),
  new DeQuantStub(),
);
const x = randomNormal(randomKey(1), [8, 3, 6, 6]);
const opts = { march: March.BAYES, exampleInput: x, warn: () => {} };

function calibrated() {
  const calib = prepareQatFx(float, { "": q8 }, opts);
  const state = calibrateBatches(calib, qatStateFromFloat(calib, initState(float, randomKey(0))), [x]);
  return { calib, state };
}

Deno.test("an LSQ model starts at the calibrated scales: its VALIDATION and int model equal the observers'", () => {
  const { calib, state } = calibrated();
  const model = prepareQatFx(float, { "": lsq }, opts);
  const lstate = initLearnedScales(model, state);
  const learned = model.quantizers().filter((p) => model.learnsScale(p));
  assert(learned.length >= 2, learned.join());
  for (const p of learned) assertEquals(lstate[`${p}.scale`].data, calib.scaleOf(state, p));
  const v = (m: typeof model, s: typeof state) =>
    forward(setFakeQuantize(m, FakeQuantState.VALIDATION), s, x).y.data;
  assertEquals(v(model, lstate), v(calib, state));
  const int = convertFx(setFakeQuantize(model, FakeQuantState.VALIDATION), lstate);
  assertEquals(runIntModel(int, x.data as Float32Array, x.shape).output, v(model, lstate));
});

Deno.test("LSQ trains the activation scales, and the fixed-point model computes with the trained ones", () => {
  const { state } = calibrated();
  const model = prepareQatFx(float, { "": lsq }, opts);
  const start = initLearnedScales(model, state);
  const optimizer = sgd({ lr: 0.05 });
  // A regression to a fixed target, so that every activation scale gets a gradient.
  const step = makeTrainStep(model, optimizer, { loss: (y, t) => mean(mul(sub(y, t), sub(y, t))) });
  let ts = createTrainState(model, start, optimizer);
  const target = randomNormal(randomKey(7), [8, 4, 6, 6]);
  for (let i = 0; i < 3; i++) ts = step(ts, x, target, { key: randomKey(10 + i) }).state;
  const trained = modelState(model, ts);
  const prefix = model.quantizers().find((p) => model.learnsScale(p) && p.startsWith("1."))!;
  assertNotEquals(trained[`${prefix}.scale`].item(), start[`${prefix}.scale`].item());
  assertEquals(model.scaleOf(trained, prefix)[0], trained[`${prefix}.scale`].item());
  const validation = forward(setFakeQuantize(model, FakeQuantState.VALIDATION), trained, x).y.data;
  const int = convertFx(setFakeQuantize(model, FakeQuantState.VALIDATION), trained);
  assertEquals(int.buffers.find((b) => b.name === "1")!.scale[0], trained[`${prefix}.scale`].item());
  assertEquals(runIntModel(int, x.data as Float32Array, x.shape).output, validation);
});
