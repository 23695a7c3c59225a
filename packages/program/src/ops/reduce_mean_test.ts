import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { fromArray, meanFake, WebGpuDevice } from "@hqat/tensor";
import { type Instr, type Program, type ReduceMeanInstr, requantOf, verifyProgram } from "@hqat/program";
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

Deno.test("reduce_mean equals meanFake() on the dequantized integers, any axes, with ties and saturation", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      scaleArb(fc),
      scaleArb(fc),
      dtype,
      dtype,
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.integer(),
      (shape, pick, keepDims, si, so, din, dout, act, seed) => {
        let axes = shape.map((_, a) => a).filter((a) => a > 0 && pick[a]);
        if (axes.length === 0) axes = [shape.length - 1];
        const count = axes.reduce((p, a) => p * shape[a], 1);
        const out = shape.flatMap((d, a) => (axes.includes(a) ? (keepDims ? [1] : []) : [d]));
        const x = intValue(qvalues(din, shape.reduce((p, q) => p * q, 1), seed), shape, din, si);
        const instr: ReduceMeanInstr = {
          op: "reduce_mean",
          name: "y",
          inputs: [0],
          output: 1,
          axes,
          keepDims,
          epilogue: [{ kind: "requant", ...requantOf([si], count, { dtype: dout, scale: so }, act, "y") }],
        };
        const y = runInstruction(instr, [x], {
          name: "y",
          shape: out,
          dtype: dout,
          scale: Float32Array.of(so),
        });
        const twin = meanFake(fromArray(dequantized(x), shape), {
          axes,
          keepDims,
          scaleIn: si,
          dtypeIn: din,
          outScale: so,
          dtype: dout,
          activation: act,
        });
        assertBits(twin.data as Float32Array, dequantized(y), `mean over [${axes}]`);
      },
    ),
    { seed: 101, numRuns: 250 },
  );
});

function meanModel(seed: number, din: "qint8" | "qint16"): Program {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [2, 4, 3, 5]);
  const q = b.quantize("quant", 1 / 64, din);
  const hw = b.mean("hw", q, [2, 3], true, { dtype: din, scale: 1 / 100 + r() / 200 });
  const c = b.mean("c", q, [1], false, { dtype: "qint8", scale: 1 / 70 }, "relu");
  const w = b.mean("w", c, [2], false, { dtype: "qint16", scale: 1 / 5000 });
  const s = b.sub("s", w, b.mean("all", hw, [1, 2], false, { dtype: "qint8", scale: 1 / 90 }), {
    dtype: "qint8",
    scale: 1 / 60,
  });
  b.dequantize("dequant", s);
  return b.build();
}

Deno.test("reduce_mean runs the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    assertEveryLevel(meanModel(1, din), randomInput([3, 4, 3, 5], 4), [3, 4, 3, 5]);
  }
});

Deno.test("reduce_mean's rule refuses the batch axis, repeated axes and sums that may leave int32", () => {
  const m = meanModel(1, "qint8");
  const fail = (x: string): never => {
    throw new Error(x);
  };
  const edit = (axes: number[]) => ({
    ...m,
    instructions: m.instructions.map((i) => (i.name === "c" ? { ...i, axes } as Instr : i)),
  });
  assertThrows(() => verifyProgram(edit([0]), { fail }), Error, "are not axes 1..3");
  assertThrows(() => verifyProgram(edit([1, 1]), { fail }), Error, "repeat");
  const big = new ProgramBuilder(prng(1), [1, 300, 300]);
  big.dequantize("d", big.mean("m", big.quantize("q", 0.1), [1, 2], false, { dtype: "qint8", scale: 0.1 }));
  assertThrows(() => big.build(), Error, "a mean of 90000 elements");
});

Deno.test({
  name: "reduce_mean and meanFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu((["qint8", "qint16"] as const).map((din, k) => ({
      model: meanModel(k + 2, din),
      x: randomInput([2, 4, 3, 5], k),
      shape: [2, 4, 3, 5],
    })));
    const device = await WebGpuDevice.create();
    try {
      const x = fromArray(randomInput([2, 4, 3, 5], 5).map((v) => Math.round(v * 3000) / 1024), [2, 4, 3, 5]);
      await assertTwinGpuEqualsCpu(device, "meanFake", [x], {
        axes: [1, 3],
        keepDims: false,
        scaleIn: 1 / 1024,
        dtypeIn: "qint16",
        outScale: 1 / 300,
        dtype: "qint8",
      });
    } finally {
      device.destroy();
    }
  },
});
