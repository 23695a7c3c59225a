import { assert, assertEquals, assertThrows } from "@std/assert";
import { type LayerDesc, nchwOf } from "./layer_desc.ts";
import { mobileNetV2Layers } from "./mobilenet_v2_layers.ts";

const byName = (layers: LayerDesc[], name: string): LayerDesc => {
  const l = layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l;
};

function convWeights(l: LayerDesc): number {
  const [kh, kw] = l.attrs.kernel!;
  return nchwOf(l.output.shape).c * (nchwOf(l.inputs[0].shape).c / (l.attrs.groups ?? 1)) * kh * kw;
}

Deno.test("mobileNetV2Layers() lists torchvision's modules for CIFAR-10 input, in order", () => {
  const layers = mobileNetV2Layers();
  assertEquals(layers.length, 58);
  assertEquals(layers.slice(0, 5).map((l) => l.name), [
    "quant",
    "features.0.0",
    "features.1.conv.0.0",
    "features.1.conv.1",
    "features.2.conv.0.0",
  ]);
  assertEquals(layers.slice(-6).map((l) => l.name), [
    "features.18.0",
    "adaptive_avg_pool2d",
    "flatten",
    "classifier.0",
    "classifier.1",
    "dequant",
  ]);
  assertEquals(layers.filter((l) => l.op === "conv2d").length, 52);
  assertEquals(layers.filter((l) => l.attrs.fusedAdd).length, 10);
});

Deno.test("mobileNetV2Layers() first conv is 3→32 stride 2 with 221,184 MACs per frame", () => {
  const first = byName(mobileNetV2Layers(), "features.0.0");
  assertEquals(first.inputs[0].shape, [1, 3, 32, 32]);
  assertEquals(first.output.shape, [1, 32, 16, 16]);
  assertEquals(first.attrs.stride, [2, 2]);
  const { c, h, w } = nchwOf(first.output.shape);
  assertEquals(c * h * w * 3 * 3 * 3, 221184);
});

Deno.test("mobileNetV2Layers() conv weights match torchvision's 3,504,872 ImageNet parameters", () => {
  // torchvision's mobilenet_v2 has 3,504,872 parameters: conv weights, 2 per BatchNorm channel and a
  // 1280 → 1000 linear layer with bias.
  const layers = mobileNetV2Layers({ inputSize: 224, numClasses: 1000 });
  const convs = layers.filter((l) => l.op === "conv2d");
  const weights = convs.reduce((s, l) => s + convWeights(l), 0);
  const bn = 2 * convs.reduce((s, l) => s + nchwOf(l.output.shape).c, 0);
  assertEquals(weights + bn + 1280 * 1000 + 1000, 3504872);
  assertEquals(byName(layers, "features.18.0").output.shape, [1, 1280, 7, 7]);
});

Deno.test("mobileNetV2Layers() blocks follow the inverted residual settings", () => {
  const layers = mobileNetV2Layers();
  const projects = layers.filter((l) => /^features\.\d+\.conv\.(1|2)$/.test(l.name));
  assertEquals(projects.map((l) => nchwOf(l.output.shape).c), [
    16,
    24,
    24,
    32,
    32,
    32,
    64,
    64,
    64,
    64,
    96,
    96,
    96,
    160,
    160,
    160,
    320,
  ]);
  assertEquals(projects.map((l) => nchwOf(l.output.shape).h), [
    16,
    8,
    8,
    4,
    4,
    4,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    1,
    1,
    1,
    1,
  ]);
  const dw = byName(layers, "features.2.conv.1.0");
  assertEquals([dw.attrs.groups, dw.attrs.stride?.[0], nchwOf(dw.inputs[0].shape).c], [96, 2, 96]);
  const residual = byName(layers, "features.3.conv.2");
  assertEquals(residual.attrs.fusedAdd, true);
  assertEquals(residual.inputs[1].from, "features.2.conv.2");
  assertEquals(byName(layers, "features.4.conv.2").attrs.fusedAdd, undefined);
});

Deno.test("mobileNetV2Layers() ends in a 32-bit classifier that is the model output", () => {
  const layers = mobileNetV2Layers();
  const fc = byName(layers, "classifier.1");
  assertEquals([fc.attrs.inFeatures, fc.attrs.outFeatures, fc.output.dtype], [1280, 10, "qint32"]);
  assert(fc.attrs.isModelOutput && fc.attrs.output32);
  assertEquals(byName(mobileNetV2Layers({ output32: false }), "classifier.1").output.dtype, "qint8");
  assertEquals(byName(layers, "dequant").inputs[0].dtype, "qint32");
});

Deno.test("mobileNetV2Layers() names every input's producer with an earlier layer", () => {
  for (const fused of [true, false]) {
    const layers = mobileNetV2Layers({ fused });
    const seen = new Set<string>();
    for (const l of layers) {
      for (const t of l.inputs) {
        if (t.from !== undefined) assert(seen.has(t.from), `${l.name} reads ${t.from}`);
      }
      seen.add(l.name);
    }
  }
});

Deno.test("mobileNetV2Layers({ fused: false }) lists ReLU6 and residual adds as layers of their own", () => {
  const layers = mobileNetV2Layers({ fused: false });
  assertEquals(layers.filter((l) => l.op === "relu6").length, 35);
  assertEquals(layers.filter((l) => l.op === "add").length, 10);
  assertEquals(layers.filter((l) => l.attrs.fusedRelu || l.attrs.fusedAdd).length, 0);
  assertEquals(byName(layers, "features.0.2").inputs[0].from, "features.0.0");
  assertEquals(byName(layers, "features.3.add").inputs.map((t) => t.from), [
    "features.3.conv.2",
    "features.2.conv.2",
  ]);
});

Deno.test("mobileNetV2Layers() applies width, batch and input size, and rejects bad options", () => {
  const half = mobileNetV2Layers({ widthMult: 0.5, batch: 8 });
  assertEquals(byName(half, "features.0.0").output.shape, [8, 16, 16, 16]);
  assertEquals(nchwOf(byName(half, "features.18.0").output.shape).c, 1280);
  assertEquals(nchwOf(byName(mobileNetV2Layers({ widthMult: 1.4 }), "features.18.0").output.shape).c, 1792);
  assertThrows(() => mobileNetV2Layers({ batch: 0 }), RangeError, "batch must be a positive integer");
  assertThrows(() => mobileNetV2Layers({ widthMult: -1 }), RangeError, "widthMult must be positive");
});
