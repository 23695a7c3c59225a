import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { addAlignment } from "@hqat/qtensor";
import { addFake, fromArray, WebGpuDevice } from "@hqat/tensor";
import { type Instr, requantOf, verifyProgram } from "@hqat/program";
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
const shapes = fc.tuple(
  fc.integer({ min: 1, max: 3 }),
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
  fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
).map(([n, rest, ones]) => ({ a: [n, ...rest], b: [n, ...rest.map((d, i) => (ones[i] ? 1 : d))] }));

Deno.test("sub and add equal their fake twin (addFake, with subtract for sub) on dequantized integers", () => {
  fc.assert(
    fc.property(
      shapes,
      scaleArb(fc),
      scaleArb(fc),
      scaleArb(fc),
      dtype,
      dtype,
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.boolean(),
      fc.integer(),
      (s, sa, sb, so, din, dout, act, subtract, seed) => {
        const n = (x: number[]) => x.reduce((p, q) => p * q, 1);
        const qa = intValue(qvalues(din, n(s.a), seed), s.a, din, sa);
        const qb = intValue(qvalues(din, n(s.b), seed + 1), s.b, din, sb);
        const shiftSecond = !(sa >= sb);
        const [sx, sy] = shiftSecond ? [sb, sa] : [sa, sb];
        const { k, t } = addAlignment(sx, sy, { dtype: din });
        const out = { name: "y", shape: s.a, dtype: dout, scale: Float32Array.of(so) };
        const instr = {
          op: subtract ? "sub" : "add",
          name: "y",
          inputs: [0, 1],
          output: 2,
          shiftSecond,
          k,
          t,
          epilogue: [{ kind: "requant", ...requantOf([sx], 2 ** k, { dtype: dout, scale: so }, act, "y") }],
        } as Instr;
        const y = runInstruction(instr, [qa, qb], out);
        const twin = addFake(fromArray(dequantized(qa), s.a), fromArray(dequantized(qb), s.b), {
          scaleA: sa,
          scaleB: sb,
          dtypeIn: din,
          outScale: so,
          dtype: dout,
          activation: act,
          subtract,
        });
        assertBits(twin.data as Float32Array, dequantized(y), subtract ? "sub" : "add");
      },
    ),
    { seed: 31, numRuns: 300 },
  );
});

/** quant, a per-channel constant, a whole-frame int16 constant and a pooled gate, subtracted and added. */
function subModel(seed: number, din: "qint8" | "qint16" = "qint8") {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [2, 3, 4, 5]);
  const q = b.quantize("quant", 1 / 64, din);
  const c = b.constant(
    "c",
    Int8Array.from({ length: 3 }, () => Math.round(r() * 254 - 127)),
    [3, 1, 1],
    0.02,
  );
  const gate = b.globalAvgPool("gate", q, { dtype: din, scale: 0.003 + 0.01 * r() });
  const full = b.constant("full", Int16Array.from({ length: 60 }, () => Math.round(r() * 60000 - 30000)), [
    3,
    4,
    5,
  ], 1e-4);
  const d = b.sub("d", q, gate, { dtype: "qint8", scale: 0.01 + 0.01 * r() }, "relu");
  const e = b.sub("e", full, d, { dtype: "qint16", scale: 0.0003 });
  const f = b.add("f", e, c, { dtype: "qint8", scale: 0.02 });
  b.dequantize("dequant", f);
  return b.build();
}

Deno.test("sub and a broadcasting add run the same at every opt level and through the container", () => {
  for (const seed of [1, 2, 3]) {
    for (const din of ["qint8", "qint16"] as const) {
      assertEveryLevel(subModel(seed, din), randomInput([3, 3, 4, 5], seed), [3, 3, 4, 5]);
    }
  }
});

Deno.test("sub's rule refuses an operand that does not broadcast and an add whose shifted operand is wrong", () => {
  const m = subModel(1);
  const broken = {
    ...m,
    instructions: m.instructions.map((
      i,
    ) => (i.op === "sub" && i.name === "d"
      ? { ...i, inputs: [i.inputs[1], i.inputs[0]], shiftSecond: !i.shiftSecond }
      : i)
    ),
  };
  assertThrows(
    () =>
      verifyProgram(broken, {
        fail: (x) => {
          throw new Error(x);
        },
      }),
    Error,
    "does not broadcast",
  );
  const swapped = {
    ...m,
    instructions: m.instructions.map((i) => (i.op === "sub" ? { ...i, shiftSecond: !i.shiftSecond } : i)),
  };
  assertThrows(
    () =>
      verifyProgram(swapped, {
        fail: (x) => {
          throw new Error(x);
        },
      }),
    Error,
    "larger scale",
  );
});

Deno.test({
  name: "sub and a broadcasting add on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu(
      [1, 2].flatMap((seed) =>
        (["qint8", "qint16"] as const).map((din) => ({
          model: subModel(seed, din),
          x: randomInput([2, 3, 4, 5], seed),
          shape: [2, 3, 4, 5],
        }))
      ),
    );
  },
});

Deno.test("add keeps the fused add for operands of one shape only", async () => {
  const { lowerProgram } = await import("@hqat/program");
  const o1 = lowerProgram(subModel(4), { opt: "O1" });
  // f = add(e, c) broadcasts c ([N,3,1,1]) to e: it stays an instruction.
  assertEquals(o1.instructions.some((i) => i.op === "add"), true);
});

Deno.test({
  name: "addFake() with a broadcast operand and subtract on WebGPU equals the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const device = await WebGpuDevice.create();
    try {
      const a = fromArray(Float32Array.from(qvalues("qint16", 60, 1), (q) => q / 512), [2, 3, 10]);
      const b = fromArray(Float32Array.from(qvalues("qint16", 6, 2), (q) => q / 128), [2, 3, 1]);
      for (const subtract of [false, true]) {
        await assertTwinGpuEqualsCpu(device, "addFake", [a, b], {
          scaleA: 1 / 512,
          scaleB: 1 / 128,
          dtypeIn: "qint16",
          outScale: 1 / 200,
          dtype: "qint8",
          activation: "relu6",
          subtract,
        });
      }
    } finally {
      device.destroy();
    }
  },
});
