import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { hardwareFigures, type LayerDesc, March, mobileNetV2Layers } from "@hqat/march-bayes";
import {
  channelBytesAligned,
  featureBytesPerFrame,
  gemmOf,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  weightBytes,
} from "./native_layout.ts";

const F = hardwareFigures(March.BAYES);

Deno.test("featureBytesPerFrame() pads H to 2, W to 16 and C to 8, times the element size", () => {
  assertEquals(featureBytesPerFrame({ shape: [1, 32, 16, 16], dtype: "qint8" }, F), 8192);
  assertEquals(featureBytesPerFrame({ shape: [7, 24, 8, 8], dtype: "qint8" }, F), 8 * 16 * 24);
  assertEquals(featureBytesPerFrame({ shape: [1, 3, 5, 17], dtype: "qint16" }, F), 6 * 32 * 8 * 2);
  assertEquals(featureBytesPerFrame({ shape: [1, 1280], dtype: "qint8" }, F), 2 * 16 * 1280);
});

Deno.test("featureBytesPerFrame() never shrinks when a dimension grows", () => {
  fc.assert(
    fc.property(
      fc.tuple(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
      ),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 1, max: 50 }),
      ([c, h, w], dim, grow) => {
        const base = [1, c, h, w];
        const grown = [...base];
        grown[dim + 1] += grow;
        const a = featureBytesPerFrame({ shape: base, dtype: "qint8" }, F);
        const b = featureBytesPerFrame({ shape: grown, dtype: "qint8" }, F);
        return b >= a && a >= c * h * w;
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("channelBytesAligned() pads to 256·k plus 0, 16, 32, 64 or 128", () => {
  assertEquals([1, 16, 17, 40, 100, 129, 256, 257, 320, 576, 960].map((b) => channelBytesAligned(b, F)), [
    16,
    16,
    32,
    64,
    128,
    256,
    256,
    272,
    320,
    576,
    1024,
  ]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100000 }), (b) => {
      const a = channelBytesAligned(b, F);
      return a >= b && [0, 16, 32, 64, 128].includes(a % 256) && channelBytesAligned(a, F) === a;
    }),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("modelInputBytesPerFrame() counts an NV12 or YUV444 image from the pyramid and an aligned map from DDR", () => {
  const img = { shape: [1, 3, 32, 32], dtype: "qint8" } as const;
  assertEquals(modelInputBytesPerFrame(img, "pyramid", "nv12", F), 32 * 32 * 3 / 2);
  assertEquals(modelInputBytesPerFrame(img, "resizer", "nv12", F), 1536);
  assertEquals(modelInputBytesPerFrame(img, "pyramid", "yuv444", F), 3072);
  assertEquals(
    modelInputBytesPerFrame({ shape: [1, 3, 30, 20], dtype: "qint8" }, "pyramid", "nv12", F),
    30 * 32 * 3 / 2,
  );
  assertEquals(
    modelInputBytesPerFrame({ shape: [1, 1, 32, 32], dtype: "qint8" }, "pyramid", "nv12", F),
    1024,
  );
  // From DDR, C ≤ 4 pads H to 2 and W to 32; larger C pads the channel bytes.
  assertEquals(
    modelInputBytesPerFrame({ shape: [1, 3, 31, 20], dtype: "qint8" }, "ddr", "nv12", F),
    32 * 32 * 3,
  );
  assertEquals(modelInputBytesPerFrame({ shape: [1, 24, 8, 8], dtype: "qint8" }, "ddr", "nv12", F), 64 * 32);
});

Deno.test("modelOutputBytesPerFrame() aligns the channel bytes of each position", () => {
  assertEquals(modelOutputBytesPerFrame({ shape: [1, 10], dtype: "qint32" }, F), 64);
  assertEquals(modelOutputBytesPerFrame({ shape: [1, 10, 4, 4], dtype: "qint8" }, F), 16 * 16);
});

Deno.test("gemmOf() and weightBytes() count MobileNetV2's MACs and weights", () => {
  const layers = mobileNetV2Layers();
  const first = gemmOf(layers[1])!;
  assertEquals(first.m * first.n * first.k * first.groups, 221184);
  let macs = 0, weights = 0, params = 0, raw = 0;
  for (const l of layers) {
    const g = gemmOf(l);
    if (g === undefined) continue;
    macs += g.m * g.n * g.k * g.groups;
    raw += g.n * g.k * g.groups;
    const w = weightBytes(l, F);
    weights += w.weights;
    params += w.params;
  }
  assertEquals(macs, 6124928);
  assertEquals(raw, 2202560);
  assert(weights >= raw && weights < raw * 1.05);
  assertEquals(params, 17072 * 8);
});

Deno.test("weightBytes() pads output channels and reduction to blocks of 8 and is zero without weights", () => {
  const linear: LayerDesc = {
    name: "fc",
    op: "linear",
    inputs: [{ shape: [1, 1280], dtype: "qint8" }],
    output: { shape: [1, 10], dtype: "qint32" },
    attrs: { inFeatures: 1280, outFeatures: 10 },
  };
  assertEquals(weightBytes(linear, F), { weights: 16 * 1280, params: 16 * 8 });
  assertEquals(gemmOf(linear), { m: 1, n: 10, k: 1280, groups: 1 });
  assertEquals(weightBytes({ ...linear, op: "relu" }, F), { weights: 0, params: 0 });
});
