import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { fromArray, softmaxFake, WebGpuDevice } from "@hqat/tensor";
import { type Program, requantOf, type SoftmaxInstr } from "@hqat/program";
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

const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

Deno.test("softmax equals softmaxFake() on the dequantized integers, any axis but the batch", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }),
      fc.nat(),
      scaleArb(fc),
      fc.oneof(fc.constant(1 / 128), fc.constant(1 / 32768), scaleArb(fc)),
      dtype,
      dtype,
      fc.integer(),
      (shape, a, si, so, din, dout, seed) => {
        const axis = 1 + (a % (shape.length - 1));
        const x = intValue(qvalues(din, shape.reduce((p, q) => p * q, 1), seed), shape, din, si);
        const instr: SoftmaxInstr = {
          op: "softmax",
          name: "y",
          inputs: [0],
          output: 1,
          axis,
          epilogue: [{ kind: "requant", ...requantOf([1], 65536, { dtype: dout, scale: so }, "none", "y") }],
        };
        const y = runInstruction(instr, [x], { name: "y", shape, dtype: dout, scale: Float32Array.of(so) });
        const twin = softmaxFake(fromArray(dequantized(x), shape), {
          axis,
          scaleIn: si,
          dtypeIn: din,
          outScale: so,
          dtype: dout,
        });
        assertBits(twin.data as Float32Array, dequantized(y), `softmax axis ${axis}`);
      },
    ),
    { seed: 161, numRuns: 250 },
  );
});

function softmaxModel(seed: number, din: "qint8" | "qint16"): Program {
  const b = new ProgramBuilder(prng(seed), [2, 10]);
  const q = b.quantize("quant", 1 / 16, din);
  const p = b.softmax("prob", q, 1, { dtype: din, scale: din === "qint8" ? 1 / 128 : 1 / 32768 });
  b.dequantize("dequant", p);
  return b.build();
}

Deno.test("softmax runs the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    assertEveryLevel(softmaxModel(1, din), randomInput([3, 10], 3).map((v) => v * 8), [3, 10]);
  }
});

Deno.test("softmax's rule refuses the batch axis and rows whose sum may leave int32", () => {
  const b = new ProgramBuilder(prng(1), [2, 3]);
  b.dequantize("d", b.softmax("s", b.quantize("q", 0.1), 0, { dtype: "qint8", scale: 1 / 128 }));
  assertThrows(() => b.build(), Error, "axis 0 is not an axis 1..1");
  const c = new ProgramBuilder(prng(1), [1, 70000]);
  c.dequantize("d", c.softmax("s", c.quantize("q", 0.1), 1, { dtype: "qint8", scale: 1 / 128 }));
  assertThrows(() => c.build(), Error, "a row of 70000");
});

Deno.test({
  name: "softmax and softmaxFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu((["qint8", "qint16"] as const).map((din, k) => ({
      model: softmaxModel(k, din),
      x: randomInput([3, 10], k).map((v) => v * 8),
      shape: [3, 10],
    })));
    const device = await WebGpuDevice.create();
    try {
      const x = fromArray(randomInput([2, 5, 3], 4).map((v) => Math.round(v * 3000) / 256), [2, 5, 3]);
      await assertTwinGpuEqualsCpu(device, "softmaxFake", [x], {
        axis: 1,
        scaleIn: 1 / 256,
        dtypeIn: "qint16",
        outScale: 1 / 128,
        dtype: "qint8",
      });
    } finally {
      device.destroy();
    }
  },
});
