import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  convertFx,
  type IntModel,
  type IntNode,
  type IntOp,
  prepareQatFx,
  qatStateFromFloat,
  releaseIntModelGpu,
  runIntModel,
  runIntModelGpu,
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
import { probeWebGpu, randomKey, randomUniform, WebGpuDevice } from "@hqat/tensor";

const GPU_TEST = {
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
} as const;

let device: Promise<WebGpuDevice> | undefined;
const testDevice = () => device ??= WebGpuDevice.create({ maxBatch: 1024 });

/** mulberry32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random model over [1, 3, 8, 8] using every node kind: convolutions (ReLU6, depthwise, dilated,
 * int16 output and input, a 32-bit per-channel output), standalone ReLU / ReLU6 (also per channel on
 * int32), an add, max and average pooling, a cat of per-tensor and per-channel inputs, identity,
 * adaptive pooling, flatten, a 32-bit linear layer with ReLU, dequantize.
 */
function everyOpModel(seed: number): IntModel {
  const r = prng(seed);
  const nodes: IntNode[] = [];
  const f32 = (v: number | number[]) => Float32Array.from(typeof v === "number" ? [v] : v);
  const add = (
    name: string,
    inputs: string[],
    kind: IntOp,
    shape: number[],
    dtype: IntNode["dtype"],
    s: number[] | number,
  ) => nodes.push({ name, inputs, kind, shape, dtype, scale: f32(s) });
  const scaleOf = (name: string) => nodes.find((n) => n.name === name)!.scale[0];
  const sc = (base: number) => Math.fround(base * (0.6 + 0.8 * r()));
  const conv = (
    name: string,
    input: string,
    o: { cin: number; cout: number; k: number; hw: number; p?: number; d?: number; g?: number; s?: number },
    output: { dtype: "qint8" | "qint16"; scale: number } | { dtype: "qint32" },
    act?: "relu" | "relu6",
  ) => {
    const [p, d, g, st] = [o.p ?? 0, o.d ?? 1, o.g ?? 1, o.s ?? 1];
    const oh = Math.floor((o.hw + 2 * p - d * (o.k - 1) - 1) / st) + 1;
    const weightScale = Float32Array.from({ length: o.cout }, () => 0.01 * (0.5 + r()));
    const kind: IntOp = {
      op: "conv2d",
      weight: Int8Array.from(
        { length: o.cout * (o.cin / g) * o.k * o.k },
        () => Math.round((r() * 2 - 1) * 40),
      ),
      weightShape: [o.cout, o.cin / g, o.k, o.k],
      weightScale,
      bias: Int32Array.from({ length: o.cout }, () => Math.round((r() * 2 - 1) * 200)),
      stride: [st, st],
      padding: [p, p],
      dilation: [d, d],
      groups: g,
      output,
      act,
    };
    const s = output.dtype === "qint32"
      ? Array.from(weightScale, (w) => Math.fround(scaleOf(input) * w))
      : output.scale;
    add(name, [input], kind, [1, o.cout, oh, oh], output.dtype, s);
  };
  add("x", [], { op: "input" }, [1, 3, 8, 8], "float32", 1);
  add("quant", ["x"], { op: "quantize", scale: 1 / 128, dtype: "qint8" }, [1, 3, 8, 8], "qint8", 1 / 128);
  conv("c1", "quant", { cin: 3, cout: 8, k: 3, p: 1, hw: 8 }, { dtype: "qint8", scale: sc(0.04) }, "relu6");
  conv("c2", "c1", { cin: 8, cout: 8, k: 3, p: 1, g: 8, hw: 8 }, { dtype: "qint8", scale: sc(0.05) });
  add("r1", ["c2"], { op: "relu" }, [1, 8, 8, 8], "qint8", scaleOf("c2"));
  conv("c3", "r1", { cin: 8, cout: 8, k: 1, hw: 8 }, { dtype: "qint8", scale: sc(0.05) });
  const sa = sc(0.06);
  add("a1", ["c1", "c3"], { op: "add", output: { dtype: "qint8", scale: sa } }, [1, 8, 8, 8], "qint8", sa);
  add("r2", ["a1"], { op: "relu6" }, [1, 8, 8, 8], "qint8", sa);
  const pool = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
  add("mp", ["r2"], { op: "max_pool2d", ...pool }, [1, 8, 4, 4], "qint8", sa);
  const sp = sc(0.03);
  const avg = { kernel: [3, 3], stride: [2, 2], padding: [1, 1] } as const;
  add(
    "ap",
    ["r2"],
    { op: "avg_pool2d", ...avg, output: { dtype: "qint8", scale: sp } },
    [1, 8, 4, 4],
    "qint8",
    sp,
  );
  conv("c32", "ap", { cin: 8, cout: 4, k: 1, hw: 4 }, { dtype: "qint32" });
  add("r32", ["c32"], { op: "relu6" }, [1, 4, 4, 4], "qint32", Array.from(nodes.at(-1)!.scale));
  const scat = sc(0.05);
  add(
    "cat",
    ["mp", "ap", "r32"],
    { op: "cat", axis: 1, output: { dtype: "qint8", scale: scat } },
    [
      1,
      20,
      4,
      4,
    ],
    "qint8",
    scat,
  );
  add("id", ["cat"], { op: "identity" }, [1, 20, 4, 4], "qint8", scat);
  conv("c4", "id", { cin: 20, cout: 4, k: 3, p: 2, d: 2, hw: 4 }, { dtype: "qint16", scale: sc(0.0004) });
  conv("c5", "c4", { cin: 4, cout: 8, k: 1, hw: 4 }, { dtype: "qint8", scale: sc(0.05) }, "relu");
  const sg = sc(0.03);
  const gap: IntOp = { op: "adaptive_avg_pool2d", outputSize: [1, 1], output: { dtype: "qint8", scale: sg } };
  add("gap", ["c5"], gap, [1, 8, 1, 1], "qint8", sg);
  add("flat", ["gap"], { op: "flatten", startDim: 1 }, [1, 8], "qint8", sg);
  const ws = Float32Array.from({ length: 5 }, () => 0.01 * (0.5 + r()));
  const fc: IntOp = {
    op: "linear",
    weight: Int8Array.from({ length: 40 }, () => Math.round((r() * 2 - 1) * 40)),
    weightShape: [5, 8],
    weightScale: ws,
    bias: Int32Array.from({ length: 5 }, () => Math.round((r() * 2 - 1) * 200)),
    output: { dtype: "qint32" },
    act: "relu",
  };
  add("fc", ["flat"], fc, [1, 5], "qint32", Array.from(ws, (w) => Math.fround(sg * w)));
  add("dq", ["fc"], { op: "dequantize" }, [1, 5], "float32", 1);
  return { format: "hqat-int-model", version: 1, march: "bayes", nodes };
}

function randomInput(shape: number[], seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}

/** Runs `model` on the CPU and the GPU and asserts every node's integers and the output are equal. */
async function assertSameRun(model: IntModel, shape: number[], seed: number, keepAll = true): Promise<void> {
  const x = randomInput(shape, seed);
  const ref = runIntModel(model, x, shape, { keepAll });
  const gpu = await runIntModelGpu(model, x, shape, { device: await testDevice(), keepAll });
  if (keepAll) {
    assertEquals([...gpu.all!.keys()], [...ref.all!.keys()]);
    for (const [name, q] of ref.all!) assertEquals(gpu.all!.get(name), q, `node ${name}`);
  }
  assertEquals(gpu.raw, ref.raw);
  assertEquals(gpu.shape, ref.shape);
  assert(gpu.output.every((v, i) => Object.is(v, ref.output[i])), "dequantized output differs");
}

Deno.test({
  name:
    "runIntModelGpu() gives runIntModel()'s integers at every node of models using every op, batch 1 and 3",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const before = dev.stats().inUse;
    for (const seed of [1, 2, 3]) {
      const model = everyOpModel(seed);
      await assertSameRun(model, [1, 3, 8, 8], seed + 10);
      await assertSameRun(model, [3, 3, 8, 8], seed + 20);
      await assertSameRun(model, [2, 3, 8, 8], seed + 30, false);
      assert(releaseIntModelGpu(model, dev) && !releaseIntModelGpu(model, dev));
    }
    assertEquals(dev.stats().inUse, before, "every buffer went back to the pool");
  },
});

Deno.test({
  name: "runIntModelGpu() rejects what runIntModel() rejects",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    const model = everyOpModel(4);
    const nan = randomInput([1, 3, 8, 8], 1);
    nan[5] = NaN;
    await assertRejects(() => runIntModelGpu(model, nan, [1, 3, 8, 8], { device }), RangeError, "NaN");
    await assertRejects(() => runIntModelGpu(model, nan, [1, 3, 8, 9], { device }), RangeError, "needs 216");
    await assertRejects(
      () => runIntModelGpu(model, new Float32Array(243), [1, 3, 9, 9], { device }),
      RangeError,
    );
    const broken: IntModel = {
      ...model,
      nodes: model.nodes.map((n) => n.name === "c3" ? { ...n, inputs: ["nope"] } : n),
    };
    await assertRejects(() => runIntModelGpu(broken, nan, [1, 3, 8, 8], { device }), RangeError, '"nope"');
    const noDq: IntModel = { ...model, nodes: model.nodes.slice(0, -1) };
    await assertRejects(
      () => runIntModelGpu(noDq, nan, [1, 3, 8, 8], { device }),
      RangeError,
      "no dequantize",
    );
  },
});

/** A calibrated MobileNetV2 (10 classes) at 32×32, converted. */
function mobilenetIntModel(moduleName: Record<string, QConfig>): IntModel {
  setMarch(March.BAYES);
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { ...moduleName, classifier: c32 } });
  let s = qatStateFromFloat(calib, initState(float, randomKey(0)));
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  s = forward(cm, s, randomUniform(randomKey(10), [4, 3, 32, 32], { min: -1, max: 1 })).state;
  return convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), s);
}

Deno.test({
  name: "runIntModelGpu() equals runIntModel() bit for bit on MobileNetV2 at 32×32 (int8, and int16 blocks)",
  ...GPU_TEST,
  async fn() {
    const int8 = mobilenetIntModel({});
    await assertSameRun(int8, [3, 3, 32, 32], 5);
    await assertSameRun(int8, [1, 3, 32, 32], 6, false);
    const int16 = mobilenetIntModel({ "features.1": c16, "features.2": c16 });
    assert(int16.nodes.some((n) => n.dtype === "qint16"), "has int16 activations");
    await assertSameRun(int16, [2, 3, 32, 32], 7, false);
  },
});
