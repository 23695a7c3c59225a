import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { hardwareFigures, March } from "@hqat/march-bayes";
import { atBatch, type BufferContext, instrDef } from "@hqat/program";
import {
  channelBytesAligned,
  featureBytesPerFrame,
  modelInputBytesPerFrame,
  modelOutputBytesPerFrame,
  weightBytes,
} from "./native_layout.ts";
import { mobileNetV2IntModel } from "../testdata/mobilenet_v2.ts";

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

Deno.test("the cost rules and weightBytes() count MobileNetV2's MACs and weights", () => {
  const model = atBatch(mobileNetV2IntModel(), 1);
  let macs = 0, weights = 0, params = 0, raw = 0, first: number | undefined;
  for (const instr of model.instructions) {
    const ctx: BufferContext = {
      ins: instr.inputs.map((b) => model.buffers[b]),
      out: model.buffers[instr.output],
    };
    const g = instrDef(instr).cost(instr, ctx).gemm;
    if (g === undefined) continue;
    first ??= g.m * g.n * g.k * g.groups;
    macs += g.m * g.n * g.k * g.groups;
    raw += g.n * g.k * g.groups;
    const w = weightBytes(g, F);
    weights += w.weights;
    params += w.params;
  }
  assertEquals(first, 221184);
  assertEquals(macs, 6124928);
  assertEquals(raw, 2202560);
  assert(weights >= raw && weights < raw * 1.05);
  assertEquals(params, 17072 * 8);
});

Deno.test("weightBytes() pads output channels and reduction to blocks of 8", () => {
  assertEquals(weightBytes({ n: 10, k: 1280, groups: 1 }, F), { weights: 16 * 1280, params: 16 * 8 });
  assertEquals(weightBytes({ n: 1, k: 9, groups: 32 }, F), { weights: 32 * 16, params: 32 * 8 });
});
