import { assertEquals, assertThrows } from "@std/assert";
import { type Instr, type IntModel, lowerProgram, runIntModel } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../testdata/build.ts";
import { tinyIntModel } from "../testdata/programs.ts";

const show = (instrs: readonly Instr[]) =>
  instrs.map((i) =>
    `${i.op}(${i.name})${
      i.epilogue.map((s) => `+${s.kind}${"act" in s && s.act !== "none" ? `:${s.act}` : ""}`).join("")
    }`
  );

Deno.test("lowerProgram() at O0 keeps the converted program: one instruction per node", () => {
  const model = tinyIntModel(1);
  const p = lowerProgram(model, { opt: "O0" });
  assertEquals(show(p.instructions).slice(0, 5), [
    "quantize(quant)",
    "conv2d(c1)+requant:relu6",
    "conv2d(c2)+requant",
    "move(r1)+relu",
    "conv2d(c3)+requant",
  ]);
  assertEquals(p.instructions.length, 17);
  assertEquals(p.buffers.map((b) => b.name), model.buffers.map((b) => b.name));
});

Deno.test("lowerProgram() from O1 fuses activations, 1×1 windows and the residual add, and drops views", () => {
  const p = lowerProgram(tinyIntModel(1), { opt: "O1" });
  assertEquals(show(p.instructions), [
    "quantize(quant)",
    "conv2d(c1)+requant:relu6",
    "conv2d(c2)+requant:relu",
    "conv2d(c3)+requant+add+requant:relu6",
    "max_pool2d(mp)",
    "avg_pool2d(ap)+requant",
    "cat(cat)",
    "conv2d(c4)+requant",
    "conv2d(c5)+requant:relu",
    "avg_pool2d(gap)+requant",
    "linear(fc)+requant:relu",
    "dequantize(dq)",
  ]);
  // The fused conv now writes the add's value, named after the last node folded into it.
  assertEquals(p.buffers[p.instructions[3].output].name, "r2");
  assertEquals(p.instructions[3].merged, ["a1", "r2"]);
  // The flatten read by the linear layer is a view of the pooled buffer.
  assertEquals(p.instructions[10].inputs, [p.instructions[9].output]);
  assertEquals(lowerProgram(p, { opt: "O3" }).instructions.length, 12);
});

/** quant → conv "c0" → conv "c" and a ReLU "r" of c0 (the addend, written after c) → add(c, r) → dequant. */
function lateAddend(): IntModel {
  const b = new ProgramBuilder(prng(2), [1, 3, 8, 8]);
  const q = b.quantize("quant", 1 / 128);
  const c0 = b.conv("c0", q, { cout: 8, k: 3, p: 1 }, { dtype: "qint8", scale: 0.04 }, "relu6");
  const c = b.conv("c", c0, { cout: 8, k: 1 }, { dtype: "qint8", scale: 0.05 });
  const r = b.activation("r", c0, "relu");
  const a = b.add("a1", c, r, { dtype: "qint8", scale: 0.06 });
  b.dequantize("dq", a);
  return b.build();
}

Deno.test("lowerProgram() folds a residual add into the conv only when the other operand is ready", () => {
  const model = lateAddend();
  const p = lowerProgram(model, { opt: "O1" });
  assertEquals(show(p.instructions), [
    "quantize(quant)",
    "conv2d(c0)+requant:relu6",
    "conv2d(c)+requant",
    "move(r)+relu",
    "add(a1)+requant",
    "dequantize(dq)",
  ]);
  const x = randomInput([1, 3, 8, 8], 3);
  const ref = runIntModel(model, x, [1, 3, 8, 8]);
  for (const opt of ["O1", "O2", "O3"] as const) {
    const y = runIntModel(lowerProgram(model, { opt }), x, [1, 3, 8, 8]);
    assertEquals([...y.raw.data], [...ref.raw.data]);
  }
});

Deno.test("lowerProgram() cannot take a lowered program back to O0", () => {
  assertThrows(
    () => lowerProgram(lowerProgram(tinyIntModel(1), { opt: "O1" }), { opt: "O0" }),
    RangeError,
    "already lowered at O1",
  );
});
