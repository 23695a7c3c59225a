import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { lutTable, qrange } from "@hqat/qtensor";
import {
  clamp,
  fakeQuantize,
  fromArray,
  hardSigmoid,
  hardSwish,
  leakyRelu,
  lutFake,
  sigmoid,
  silu,
  tanh,
  type Tensor,
} from "@hqat/tensor";
import { type LutInstr, type Program, verifyProgram } from "@hqat/program";
import { WebGpuDevice } from "@hqat/tensor";
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

/** The activations as `@hqat/tensor` computes them, by the name the `lut` instruction carries. */
const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  sigmoid,
  tanh,
  hardswish: hardSwish,
  hardsigmoid: (x) => hardSigmoid(x, { alpha: 1 / 6, beta: 0.5 }),
  silu,
  leaky_relu: (x) => leakyRelu(x, 0.1),
  clip: (x) => clamp(x, -1.5, 2),
};
const onArray = (f: (x: Tensor) => Tensor) => (x: Float32Array) =>
  f(fromArray(x, [x.length])).data as Float32Array;

Deno.test("lut equals the float activation on the fake-quantized input, fake-quantized (the QAT form)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(ACTIVATIONS)),
      scaleArb(fc),
      scaleArb(fc),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.integer(),
      (name, si, so, din, dout, seed) => {
        const f = ACTIVATIONS[name];
        const table = lutTable(onArray(f), { inDtype: din, inScale: si, outDtype: dout, outScale: so });
        const { qmin, qmax } = qrange(din);
        // The whole int8 grid; for int16, random points with the ends.
        const q = din === "qint8" ? Array.from({ length: 256 }, (_, i) => i - 128) : qvalues(din, 300, seed);
        const x = intValue(q, [1, q.length], din, si);
        const instr: LutInstr = {
          op: "lut",
          name: "y",
          inputs: [0],
          output: 1,
          epilogue: [],
          activation: name,
          table,
        };
        const y = runInstruction(instr, [x], {
          name: "y",
          shape: [1, q.length],
          dtype: dout,
          scale: Float32Array.of(so),
        });
        const o = qrange(dout);
        const twin = fakeQuantize(
          f(fromArray(dequantized(x), [1, q.length])),
          fromArray(Float32Array.of(so), [1]),
          {
            qmin: o.qmin,
            qmax: o.qmax,
          },
        );
        assertBits(twin.data as Float32Array, dequantized(y), `${name} ${din}→${dout} [${qmin}, ${qmax}]`);
      },
    ),
    { seed: 51, numRuns: 120 },
  );
});

function lutModel(seed: number, din: "qint8" | "qint16"): Program {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [2, 3, 4]);
  const q = b.quantize("quant", 1 / 16 + r() / 32, din);
  const s = b.lut("sig", q, onArray(sigmoid), "sigmoid", { dtype: "qint16", scale: 1 / 32768 });
  const h = b.lut("hsw", s, onArray(hardSwish), "hardswish", { dtype: "qint8", scale: 1 / 200 });
  b.dequantize("dequant", h);
  return b.build();
}

Deno.test("lut runs the same at every opt level and through the container, int8 and int16 grids", () => {
  for (const seed of [1, 2]) {
    for (const din of ["qint8", "qint16"] as const) {
      assertEveryLevel(lutModel(seed, din), randomInput([3, 3, 4], seed).map((v) => v * 9), [3, 3, 4]);
    }
  }
});

Deno.test("lut's rule refuses a table that does not cover the input grid or write the output dtype", () => {
  const m = lutModel(1, "qint8");
  const fail = (x: string): never => {
    throw new Error(x);
  };
  const edit = (patch: Partial<LutInstr>) => ({
    ...m,
    instructions: m.instructions.map((i) => (i.name === "sig" ? { ...i, ...patch } as LutInstr : i)),
  });
  assertThrows(() => verifyProgram(edit({ table: new Int16Array(65536) }), { fail }), Error, "(needs 256)");
  assertThrows(
    () => verifyProgram(edit({ table: new Int8Array(256) }), { fail }),
    Error,
    "qint8 table writes a qint16",
  );
  assertThrows(
    () => verifyProgram(edit({ activation: "Sigmoid()" }), { fail }),
    Error,
    "not a lower-case name",
  );
});

Deno.test({
  name: "lut on WebGPU equals the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu((["qint8", "qint16"] as const).map((din) => ({
      model: lutModel(3, din),
      x: randomInput([2, 3, 4], 7).map((v) => v * 9),
      shape: [2, 3, 4],
    })));
  },
});

/** A lut case: its table, input integers and the instruction's dequantized output. */
function lutCase(
  name: string,
  si: number,
  so: number,
  din: "qint8" | "qint16",
  dout: "qint8" | "qint16",
  seed: number,
) {
  const table = lutTable(onArray(ACTIVATIONS[name]), {
    inDtype: din,
    inScale: si,
    outDtype: dout,
    outScale: so,
  });
  const q = qvalues(din, 200, seed);
  const x = intValue(q, [2, 100], din, si);
  const instr: LutInstr = {
    op: "lut",
    name: "y",
    inputs: [0],
    output: 1,
    epilogue: [],
    activation: name,
    table,
  };
  const y = runInstruction(instr, [x], {
    name: "y",
    shape: [2, 100],
    dtype: dout,
    scale: Float32Array.of(so),
  });
  return {
    x: fromArray(dequantized(x), [2, 100]),
    table: fromArray(Int32Array.from(table), [table.length]),
    y,
  };
}

Deno.test("lutFake() equals the lut instruction's dequantized integers bit for bit", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(ACTIVATIONS)),
      scaleArb(fc),
      scaleArb(fc),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.integer(),
      (name, si, so, din, dout, seed) => {
        const c = lutCase(name, si, so, din, dout, seed);
        const twin = lutFake(c.x, c.table, { scaleIn: si, dtypeIn: din, outScale: so });
        assertBits(twin.data as Float32Array, dequantized(c.y), name);
      },
    ),
    { seed: 52, numRuns: 80 },
  );
});

Deno.test({
  name: "lutFake() on WebGPU equals the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const device = await WebGpuDevice.create();
    try {
      for (const [k, name] of Object.keys(ACTIVATIONS).entries()) {
        const [din, dout] = k % 2 ? ["qint16", "qint8"] as const : ["qint8", "qint16"] as const;
        const c = lutCase(name, 0.01 * (k + 1), 1 / 300, din, dout, k);
        await assertTwinGpuEqualsCpu(device, "lutFake", [c.x, c.table], {
          scaleIn: 0.01 * (k + 1),
          dtypeIn: din,
          outScale: 1 / 300,
        });
      }
    } finally {
      device.destroy();
    }
  },
});
