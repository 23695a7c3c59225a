import { assert, assertEquals, assertLessOrEqual, assertThrows } from "@std/assert";
import {
  convertFx,
  debugQuantization,
  formatDebugReport,
  fuse,
  prepareQatFx,
  printGraph,
  qatStateFromFloat,
  runGraph,
  runIntModel,
  setFakeQuantize,
  trace,
  verifyGraph,
} from "@hqat/fx";
import { clearMarch, March, setMarch } from "@hqat/march-bayes";
import { decodeProgram, encodeProgram } from "@hqat/program";
import {
  Conv2d,
  DeQuantStub,
  forward,
  initState,
  loadState,
  mobilenetV2,
  QuantStub,
  resnet18Cifar,
  Scope,
  Sequential,
  splitState,
} from "@hqat/nn";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  default_qat_8bit_fake_quant_qconfig as q8,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig as q32,
  FakeQuantState,
} from "@hqat/qtensor";
import {
  argmax,
  crossEntropy,
  randomKey,
  randomNormal,
  randomUniform,
  type Tensor,
  tensor,
  valueAndGrad,
} from "@hqat/tensor";

const FIXTURE = new URL("../../nn/testdata/mobilenet_v2_c10.safetensors", import.meta.url).pathname;
const maxDiff = (a: Tensor | Float32Array, b: Tensor | Float32Array) => {
  const x = "data" in a ? a.data : a, y = "data" in b ? b.data : b;
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
};

Deno.test("trace() names nodes by module path and printGraph() is stable", () => {
  const m = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const g = trace(m, initState(m, randomKey(0)), randomNormal(randomKey(1), [1, 3, 32, 32]));
  const text = printGraph(g);
  assertEquals(g.nodes.length, 157);
  assert(
    text.startsWith(
      "%x: float32[1,3,32,32] = input(0)\n%quant: float32[1,3,32,32] = quant_stub[quant](%x) scale=0.0078125\n",
    ),
  );
  assert(text.includes("%add: float32[1,24,8,8] = add(%features.2.conv.3, %features.3.conv.3)"), text);
  assert(text.includes("%flatten: float32[1,1280] = flatten(%adaptive_avg_pool2d) startDim=1"));
  assert(text.endsWith("return %dequant\n"));
  assertEquals(
    printGraph(trace(m, initState(m, randomKey(5)), randomNormal(randomKey(2), [1, 3, 32, 32]))),
    text,
  );
});

Deno.test("fuse() keeps the numerics of MobileNetV2 and ResNet-18 (eval mode)", async () => {
  for (
    const [m, s] of [
      [mobilenetV2({ numClasses: 10 }), await loadState(FIXTURE, mobilenetV2({ numClasses: 10 }))],
      [resnet18Cifar(), initState(resnet18Cifar(), randomKey(3))],
    ] as const
  ) {
    const x = randomNormal(randomKey(4), [2, 3, 32, 32]);
    const g = fuse(trace(m, s, x));
    assert(g.nodes.every((n) => n.kind.op !== "batch_norm"), "every BN is fused");
    const y = runGraph(g, new Scope(s, "", { training: false, updates: new Map() }), [x]);
    const ref = forward(m, s, x).y;
    assertLessOrEqual(maxDiff(y, ref) / Math.max(1, maxDiff(ref, new Float32Array(ref.size))), 1e-5);
  }
});

Deno.test("verifyGraph() rejects use before definition, duplicates and a missing output", () => {
  const n = (name: string, inputs: string[]) => ({
    name,
    kind: { op: "relu" as const },
    inputs,
    shape: [1],
    dtype: "float32" as const,
  });
  const x = {
    name: "x",
    kind: { op: "input" as const, index: 0 },
    inputs: [],
    shape: [1],
    dtype: "float32" as const,
  };
  const out = (i: string) => ({
    name: "output",
    kind: { op: "output" as const },
    inputs: [i],
    shape: [1],
    dtype: "float32" as const,
  });
  assertThrows(
    () => verifyGraph({ nodes: [x, n("a", ["b"]), n("b", ["x"]), out("a")] }),
    Error,
    "before it is defined",
  );
  assertThrows(() => verifyGraph({ nodes: [x, n("a", ["x"]), n("a", ["x"]), out("a")] }), Error, "Duplicate");
  assertThrows(() => verifyGraph({ nodes: [x, n("a", ["x"])] }), Error, "no output");
});

Deno.test("prepareQatFx() needs a march (an option, or setMarch()) and resolves qconfigs global < type < name", () => {
  clearMarch();
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  assertThrows(() => prepareQatFx(float, { "": q8 }), RangeError, "setMarch");
  assertEquals(prepareQatFx(float, { "": q8 }, { march: March.BAYES_E }).march, "bayes-e");
  setMarch(March.BAYES);
  const m = prepareQatFx(float, { "": q8, moduleType: { Linear: q32 }, moduleName: { "features.18": null } });
  assertEquals(m.march, "bayes");
  assertEquals(m.specs.get("classifier.1")?.out32, true);
  assertEquals(m.specs.has("features.18.0"), false);
  assertEquals(m.specs.get("features.0.0")?.output?.dtype, "qint8");
  assertEquals(m.specs.get("quant")?.output?.observer, { kind: "fixedScale", scale: 1 / 128 });
  assertThrows(() => prepareQatFx(float, { moduleName: { nosuch: q8 } }), RangeError, "nosuch");
});

Deno.test("calibration, QAT and conversion: CALIBRATION equals float, int model agrees with VALIDATION", async () => {
  setMarch(March.BAYES);
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const floatState = await loadState(FIXTURE, mobilenetV2({ numClasses: 10 }));
  const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } });
  let s = qatStateFromFloat(calib, floatState);
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  const x = randomUniform(randomKey(7), [8, 3, 32, 32], { min: -1, max: 1 });
  const r = forward(cm, s, x);
  assertLessOrEqual(maxDiff(r.y, forward(float, floatState, x).y), 1e-4);
  s = r.state;
  for (let i = 0; i < 2; i++) {
    s = forward(cm, s, randomUniform(randomKey(8 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  // The calibrated state loads into a QAT-prepared model (the seed's load_state_dict).
  const qat = prepareQatFx(float, { "": q8, moduleName: { classifier: q32 } });
  assertEquals(Object.keys(s).sort(), Object.keys(initState(qat, randomKey(0))).sort());
  const vm = setFakeQuantize(qat, FakeQuantState.VALIDATION);
  const yq = forward(vm, s, x).y;
  const int = convertFx(vm, s);
  const yi = runIntModel(int, x.data as Float32Array, x.shape);
  const a = argmax(yq, { axis: 1 }).toArray(),
    b = Array.from(argmax(tensor(Array.from(yi.output), { shape: yi.shape }), { axis: 1 }).data);
  assertEquals(a, b);
  // VALIDATION requantizes like the fixed-point model, so only the 32-bit classifier output differs (bias rounding).
  assertLessOrEqual(maxDiff(yq, yi.output), 1e-3);
  // Validation does not move observers; QAT does, and gradients flow through fake quantization.
  assertEquals(forward(vm, s, x).state, s);
  const qm = setFakeQuantize(qat, FakeQuantState.QAT);
  const { params, buffers } = splitState(qm, s);
  const labels = tensor([0, 1, 2, 3, 4, 5, 6, 7], { dtype: "int32" });
  const { grad } = valueAndGrad((p: typeof params) =>
    crossEntropy(forward(qm, { ...p, ...buffers }, x, { training: true, key: randomKey(1) }).y, labels)
  )(params);
  assert(grad["features.0.0.weight"].toArray().some((v) => v !== 0));
  // The int model file round-trips exactly.
  const back = decodeProgram(encodeProgram(int), { fileName: "m" });
  assertEquals(runIntModel(back, x.data as Float32Array, x.shape).raw.data, yi.raw.data);
});

Deno.test("debugQuantization() finds no node where VALIDATION and the fixed-point model differ", async () => {
  setMarch(March.BAYES);
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } });
  let s = qatStateFromFloat(calib, await loadState(FIXTURE, mobilenetV2({ numClasses: 10 })));
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 2; i++) {
    s = forward(cm, s, randomUniform(randomKey(20 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  const vm = setFakeQuantize(calib, FakeQuantState.VALIDATION);
  const report = debugQuantization(
    vm,
    s,
    convertFx(vm, s),
    randomUniform(randomKey(3), [4, 3, 32, 32], { min: -1, max: 1 }),
  );
  assertEquals(report.firstDivergence, undefined);
  for (const r of report.rows) if (r.op !== "linear") assertEquals(r.maxLsbDiff, 0, r.name);
  assert(report.rows.length > 60);
  assert(formatDebugReport(report).includes("agree within one LSB at every node"));
});

Deno.test("prepareQatFx() warns early about what the BAYES table rejects", () => {
  setMarch(March.BAYES);
  const lines: string[] = [];
  const m = new Sequential(new QuantStub({ scale: 1 / 128 }), new Conv2d(3, 4, 33), new DeQuantStub());
  prepareQatFx(m, { "": q8 }, {
    exampleInput: randomUniform(randomKey(0), [1, 3, 40, 40]),
    warn: (l) => lines.push(l),
  });
  assertEquals(lines.length, 1);
  assert(lines[0].includes("kernel 33×33 exceeds the BAYES limit"), lines[0]);
  const ok: string[] = [];
  prepareQatFx(mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 }), { "": q8 }, {
    warn: (l) => ok.push(l),
  });
  assertEquals(ok, []);
});
