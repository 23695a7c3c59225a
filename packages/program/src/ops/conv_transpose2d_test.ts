import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { convTransposeScales, dequantizeTensor, qtensor } from "@hqat/qtensor";
import { convTransposeFake, fromArray, WebGpuDevice } from "@hqat/tensor";
import { type ConvTranspose2dInstr, type Program, requantOf, verifyProgram } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import {
  assertBits,
  assertEveryLevel,
  assertGpuEqualsCpu,
  assertTwinGpuEqualsCpu,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const pair = (lo: number, hi: number) =>
  fc.integer({ min: lo, max: hi }).map((v) => [v, v] as [number, number]);

Deno.test("conv_transpose2d equals convTransposeFake() on dequantized integers, weights and biases", () => {
  fc.assert(
    fc.property(
      fc.record({
        stride: pair(1, 3),
        padding: pair(0, 1),
        dilation: pair(1, 2),
        op: fc.nat(),
        groups: fc.integer({ min: 1, max: 2 }),
        cig: fc.integer({ min: 1, max: 2 }),
        cog: fc.integer({ min: 1, max: 2 }),
        h: fc.integer({ min: 1, max: 4 }),
        w: fc.integer({ min: 1, max: 4 }),
        k: fc.integer({ min: 1, max: 3 }),
      }),
      fc.tuple(scaleArb(fc), scaleArb(fc)),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.constantFrom("qint8" as const, "qint16" as const, "qint32" as const),
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.integer(),
      (g, [sx, so], din, dout, act, seed) => {
        const m = Math.max(g.stride[0], g.dilation[0]), op = g.op % m;
        const size = (v: number) =>
          (v - 1) * g.stride[0] - 2 * g.padding[0] + g.dilation[0] * (g.k - 1) + op + 1;
        const [oh, ow] = [size(g.h), size(g.w)];
        if (oh < 1 || ow < 1) return;
        const cin = g.cig * g.groups, cout = g.cog * g.groups, r = prng(seed);
        const wShape = [cin, g.cog, g.k, g.k] as [number, number, number, number];
        const weight = Int8Array.from(qvalues("qint8", cin * g.cog * g.k * g.k, seed + 2));
        const weightScale = Float32Array.from({ length: cout }, () => Math.fround(0.001 + r() / 50));
        const bias = Int32Array.from({ length: cout }, () => Math.round((r() * 2 - 1) * 1e5));
        const x = intValue(qvalues(din, 2 * cin * g.h * g.w, seed), [2, cin, g.h, g.w], din, sx);
        const numerator = Float64Array.from(weightScale, (s) => Math.fround(sx) * s);
        const output = dout === "qint32" ? { dtype: dout } : { dtype: dout, scale: so };
        const instr: ConvTranspose2dInstr = {
          op: "conv_transpose2d",
          name: "y",
          inputs: [0],
          output: 1,
          weight,
          weightShape: wShape,
          weightScale,
          bias,
          stride: g.stride,
          padding: g.padding,
          outputPadding: [op, op],
          dilation: g.dilation,
          groups: g.groups,
          epilogue: dout === "qint32" && !act
            ? []
            : [{ kind: "requant", ...requantOf(numerator, 1, output, act, "y") }],
        };
        const outScale = dout === "qint32" ? Float32Array.from(numerator) : Float32Array.of(so);
        const y = runInstruction(instr, [x], {
          name: "y",
          shape: [2, cout, oh, ow],
          dtype: dout,
          scale: outScale,
        });
        // Float weights and biases on the integer grid: fake quantization gives the integers back.
        const rows = convTransposeScales(weightScale, cin, g.groups), kk = g.k * g.k;
        const wf = Float32Array.from(weight, (q, i) => q * rows[Math.floor(i / kk)]);
        const bf = Float32Array.from(bias, (q, c) => q * numerator[c]);
        const twin = convTransposeFake(
          fromArray(dequantizeTensor(qtensor(x.data as Int8Array, { shape: x.shape, scale: sx })), x.shape),
          fromArray(wf, wShape),
          fromArray(bf, [cout]),
          { ...instr, sx, dtypeIn: din, sw: Array.from(weightScale), output, activation: act },
        );
        assertBits(
          twin.data as Float32Array,
          dequantizeTensor(
            qtensor(y.data as Int8Array, {
              shape: y.shape,
              scale: y.scale,
              axis: y.scale.length > 1 ? 1 : undefined,
            }),
          ),
          "conv_transpose2d",
        );
      },
    ),
    { seed: 141, numRuns: 200 },
  );
});

function upModel(seed: number, din: "qint8" | "qint16"): Program {
  const b = new ProgramBuilder(prng(seed), [2, 4, 3, 5]);
  const q = b.quantize("quant", 1 / 64, din);
  const u = b.convTranspose("up", q, { cout: 6, k: 2, s: 2 }, { dtype: din, scale: 1 / 30 }, "relu");
  const v = b.convTranspose("up2", u, { cout: 4, k: 3, s: 2, p: 1, op: 1, g: 2 }, {
    dtype: "qint8",
    scale: 1 / 20,
  });
  b.dequantize("dequant", v);
  return b.build();
}

Deno.test("conv_transpose2d runs the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    assertEveryLevel(upModel(1, din), randomInput([3, 4, 3, 5], 1), [3, 4, 3, 5]);
  }
});

Deno.test("conv_transpose2d's rule refuses accumulators that may leave int32 and scales that do not fit", () => {
  const m = upModel(1, "qint16");
  const fail = (x: string): never => {
    throw new Error(x);
  };
  const edit = (patch: Partial<ConvTranspose2dInstr>) =>
    ({
      ...m,
      instructions: m.instructions.map((i) => (i.name === "up" ? { ...i, ...patch } : i)),
    }) as Program;
  assertThrows(
    () =>
      verifyProgram(
        edit({ weight: new Int8Array(4 * 6 * 4).fill(-128), bias: new Int32Array(6).fill(2 ** 31 - 1) }),
        {
          fail,
        },
      ),
    Error,
    "outside int32",
  );
  assertThrows(
    () => verifyProgram(edit({ weightScale: Float32Array.of(1, 2) }), { fail }),
    Error,
    "needs 6 positive weight scales",
  );
  assertThrows(() => verifyProgram(edit({ outputPadding: [2, 2] }), { fail }), Error, "below the stride");
});

Deno.test({
  name: "conv_transpose2d and convTransposeFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu(
      (["qint8", "qint16"] as const).map((din, k) => ({
        model: upModel(k + 2, din),
        x: randomInput([2, 4, 3, 5], k),
        shape: [2, 4, 3, 5],
      })),
    );
    const device = await WebGpuDevice.create();
    try {
      const x = fromArray(randomInput([2, 4, 3, 3], 1).map((v) => Math.round(v * 100) / 64), [2, 4, 3, 3]);
      const w = fromArray(randomInput([4, 3, 3, 3], 2).map((v) => v / 10), [4, 3, 3, 3]);
      const bias = fromArray(Float32Array.of(0.1, -0.2, 0.3, 0, 0.05, -0.4), [6]);
      await assertTwinGpuEqualsCpu(device, "convTransposeFake", [x, w, bias], {
        sx: 1 / 64,
        dtypeIn: "qint8",
        sw: [0.001, 0.002, 0.003, 0.001, 0.002, 0.003],
        output: { dtype: "qint8", scale: 1 / 40 },
        activation: "relu6",
        stride: [2, 2],
        padding: [1, 1],
        outputPadding: [1, 1],
        dilation: [1, 1],
        groups: 2,
      });
    } finally {
      device.destroy();
    }
  },
});
