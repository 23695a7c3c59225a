import { assertEquals, assertThrows } from "@std/assert";
import { type Program, runIntModel, verifyProgram } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import { assertEveryLevel, assertGpuEqualsCpu, HAS_GPU } from "../../testdata/check_kind.ts";

/** quant and a constant, multiplied (the constant is the second operand of a mul). */
function constantModel(data: Int8Array | Int16Array): Program {
  const b = new ProgramBuilder(prng(1), [2, 2, 3]);
  const q = b.quantize("quant", 1 / 32);
  const c = b.constant("c", data, [2, 3], 0.5);
  const y = b.mul("y", q, c, { dtype: "qint16", scale: 1 / 64 });
  b.dequantize("dequant", y);
  return b.build();
}

const fail = (m: string): never => {
  throw new Error(m);
};

Deno.test("constant writes its frame at every frame of any run batch, int8 and int16", () => {
  for (const data of [Int8Array.of(-128, 127, 0, 1, -1, 5), Int16Array.of(-32768, 32767, 0, 300, -2, 9)]) {
    const m = constantModel(data);
    const r = runIntModel(m, randomInput([3, 2, 3], 4), [3, 2, 3], { keepAll: true });
    const c = r.all!.get("c")!;
    assertEquals(c.shape, [3, 2, 3]);
    assertEquals(Array.from(c.data), [...data, ...data, ...data]);
    assertEquals(c.dtype, data instanceof Int16Array ? "qint16" : "qint8");
    assertEveryLevel(m, randomInput([3, 2, 3], 5), [3, 2, 3]);
  }
});

Deno.test("constant's rule refuses values of another dtype or another frame size", () => {
  const m = constantModel(Int8Array.of(1, 2, 3, 4, 5, 6));
  const edit = (data: Int8Array | Int16Array) => ({
    ...m,
    instructions: m.instructions.map((i) => (i.op === "constant" ? { ...i, data } : i)),
  });
  assertThrows(
    () => verifyProgram(edit(new Int16Array(6)), { fail }),
    Error,
    "holds qint16 values for a qint8 buffer",
  );
  assertThrows(() => verifyProgram(edit(new Int8Array(5)), { fail }), Error, "5 values for a frame of [2,3]");
});

Deno.test({
  name: "constant on WebGPU equals the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu(
      [Int8Array.of(-128, 127, 0, 1, -1, 5), Int16Array.of(-32768, 32767, 0, 300, -2, 9)].map(
        (d) => ({ model: constantModel(d), x: randomInput([3, 2, 3], 2), shape: [3, 2, 3] }),
      ),
    );
  },
});
