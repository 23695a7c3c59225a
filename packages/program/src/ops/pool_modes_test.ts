import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { avgPoolFake, fromArray, maxPool2d, WebGpuDevice } from "@hqat/tensor";
import { type AvgPool2dInstr, type MaxPool2dInstr, type Program, requantOf } from "@hqat/program";
import { poolOutputSize } from "@hqat/qtensor";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import {
  assertBits,
  assertEveryLevel,
  assertGpuEqualsCpu,
  assertTwinGpuEqualsCpu,
  dequantized,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const geometry = fc.record({
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(2), fc.nat(2)),
  h: fc.integer({ min: 1, max: 7 }),
  w: fc.integer({ min: 1, max: 7 }),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
});
const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

Deno.test("avg_pool2d with ceil mode and real-cell divisors equals avgPoolFake(); max_pool2d the float max pool", () => {
  fc.assert(
    fc.property(
      geometry,
      scaleArb(fc),
      scaleArb(fc),
      dtype,
      dtype,
      fc.integer(),
      (g, si, so, din, dout, seed) => {
        const padding = [Math.min(g.p[0], g.k[0] >> 1), Math.min(g.p[1], g.k[1] >> 1)] as [number, number];
        const oh = poolOutputSize(g.h, g.k[0], g.s[0], padding[0], g.ceilMode);
        const ow = poolOutputSize(g.w, g.k[1], g.s[1], padding[1], g.ceilMode);
        if (oh < 1 || ow < 1) return;
        const shape = [2, 2, g.h, g.w], out = [2, 2, oh, ow], K = g.k[0] * g.k[1];
        const x = intValue(qvalues(din, 4 * g.h * g.w, seed), shape, din, si);
        const geo = {
          kernel: g.k,
          stride: g.s,
          padding,
          ceilMode: g.ceilMode,
          countIncludePad: g.countIncludePad,
        };
        const avg: AvgPool2dInstr = {
          op: "avg_pool2d",
          name: "y",
          inputs: [0],
          output: 1,
          ...geo,
          epilogue: [{ kind: "requant", ...requantOf([si], K, { dtype: dout, scale: so }, "none", "y") }],
        };
        const y = runInstruction(avg, [x], {
          name: "y",
          shape: out,
          dtype: dout,
          scale: Float32Array.of(so),
        });
        const xf = fromArray(dequantized(x), shape);
        const twin = avgPoolFake(xf, { ...geo, scaleIn: si, dtypeIn: din, outScale: so, dtype: dout });
        assertBits(twin.data as Float32Array, dequantized(y), "avg_pool2d");
        const max: MaxPool2dInstr = {
          op: "max_pool2d",
          name: "m",
          inputs: [0],
          output: 1,
          epilogue: [],
          kernel: g.k,
          stride: g.s,
          padding,
          ceilMode: g.ceilMode,
        };
        const m = runInstruction(max, [x], { name: "m", shape: out, dtype: din, scale: Float32Array.of(si) });
        const float = maxPool2d(xf, g.k, { stride: g.s, padding, ceilMode: g.ceilMode });
        assertBits(float.data as Float32Array, dequantized(m), "max_pool2d");
      },
    ),
    { seed: 181, numRuns: 300 },
  );
});

function poolModel(seed: number, din: "qint8" | "qint16"): Program {
  const b = new ProgramBuilder(prng(seed), [2, 3, 7, 6]);
  const q = b.quantize("quant", 1 / 64, din);
  const m = b.maxPool("max", q, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true });
  const a = b.avgPool("avg", m, {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
    countIncludePad: false,
  }, {
    dtype: din,
    scale: 1 / 70,
  });
  const c = b.avgPool(
    "avg2",
    q,
    { kernel: [3, 2], stride: [1, 2], padding: [1, 1], countIncludePad: false },
    {
      dtype: "qint8",
      scale: 1 / 50,
    },
  );
  b.dequantize(
    "dequant",
    b.add(
      "sum",
      b.globalAvgPool("g1", a, { dtype: "qint8", scale: 1 / 60 }),
      b.globalAvgPool("g2", c, { dtype: "qint8", scale: 1 / 60 }),
      { dtype: "qint8", scale: 1 / 40 },
    ),
  );
  return b.build();
}

Deno.test("the pooling modes run the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    assertEveryLevel(poolModel(1, din), randomInput([3, 3, 7, 6], 2), [3, 3, 7, 6]);
  }
});

Deno.test("avg_pool2d's rule refuses rescaled int16 sums that may leave int32", () => {
  const b = new ProgramBuilder(prng(1), [1, 1, 300, 300]);
  const q = b.quantize("q", 0.1, "qint16");
  b.dequantize(
    "d",
    b.avgPool("a", q, { kernel: [17, 17], stride: [17, 17], padding: [0, 0], ceilMode: true }, {
      dtype: "qint8",
      scale: 1,
    }),
  );
  assertThrows(() => b.build(), Error, "rescaled qint16 sums may leave int32");
});

Deno.test({
  name: "the pooling modes and avgPoolFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu(
      (["qint8", "qint16"] as const).map((din, k) => ({
        model: poolModel(k + 2, din),
        x: randomInput([2, 3, 7, 6], k),
        shape: [2, 3, 7, 6],
      })),
    );
    const device = await WebGpuDevice.create();
    try {
      const x = fromArray(randomInput([2, 3, 7, 6], 9).map((v) => Math.round(v * 120) / 64), [2, 3, 7, 6]);
      for (const countIncludePad of [true, false]) {
        await assertTwinGpuEqualsCpu(device, "avgPoolFake", [x], {
          kernel: [3, 3],
          stride: [2, 2],
          padding: [1, 1],
          ceilMode: true,
          countIncludePad,
          scaleIn: 1 / 64,
          dtypeIn: "qint8",
          outScale: 1 / 50,
          dtype: "qint8",
        });
      }
    } finally {
      device.destroy();
    }
  },
});
