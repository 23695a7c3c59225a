import { assert, assertEquals } from "@std/assert";
import {
  convertFx,
  type IntModel,
  prepareQatFx,
  qatStateFromFloat,
  runIntModel,
  setFakeQuantize,
} from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { forward, initState, mobilenetV2 } from "@hqat/nn";
import {
  default_calib_16bit_fake_quant_qconfig as c16,
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
  type QConfig,
} from "@hqat/qtensor";
import { randomKey, randomUniform } from "@hqat/tensor";

/** A calibrated MobileNetV2 (CIFAR-10 head) converted to the fixed-point model. */
function mobilenetIntModel(moduleName: Record<string, QConfig>): IntModel {
  setMarch(March.BAYES);
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { ...moduleName, classifier: c32 } });
  let s = qatStateFromFloat(calib, initState(float, randomKey(0)));
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 2; i++) {
    s = forward(cm, s, randomUniform(randomKey(10 + i), [4, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  return convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), s);
}

function checkSameIntegers(model: IntModel): void {
  const x = randomUniform(randomKey(20), [3, 3, 32, 32], { min: -1, max: 1 });
  const input = x.data as Float32Array;
  const fast = runIntModel(model, input, x.shape, { keepAll: true });
  const ref = runIntModel(model, input, x.shape, { keepAll: true, reference: true });
  assertEquals([...fast.all!.keys()], [...ref.all!.keys()]);
  for (const [name, q] of ref.all!) assertEquals(fast.all!.get(name), q, `node ${name}`);
  assertEquals(fast.output, ref.output);
  assertEquals(fast.shape, [3, 10]);
}

Deno.test("runIntModel() gives the reference kernels' integers at every node of an int8 MobileNetV2", () => {
  const model = mobilenetIntModel({});
  assert(model.nodes.some((n) => n.kind.op === "conv2d" && n.kind.groups > 1), "has depthwise layers");
  assert(model.nodes.some((n) => n.kind.op === "linear"), "has a linear layer");
  checkSameIntegers(model);
});

Deno.test("runIntModel() gives the reference kernels' integers with int16 activations", () => {
  const model = mobilenetIntModel({ "features.1": c16, "features.2": c16 });
  assert(model.nodes.some((n) => n.dtype === "qint16"), "has int16 activations");
  checkSameIntegers(model);
});
