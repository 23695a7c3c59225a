import { assertEquals, assertThrows } from "@std/assert";
import { type IntModel, runIntModel } from "@hqat/fx";
import { CompileError, compileProgram, type Instr, loadHbm, lowerIntModel, runHbm } from "@hqat/hbdk";
import { randomInput, tinyIntModel } from "./models_test_util.ts";

const show = (instrs: readonly Instr[]) =>
  instrs.map((i) =>
    `${i.op}(${i.name})${
      i.epilogue.map((s) => `+${s.kind}${"act" in s && s.act !== "none" ? `:${s.act}` : ""}`).join("")
    }`
  );

Deno.test("lowerIntModel() at O0 lowers node by node: accumulators, then a requantizing move", () => {
  const p = lowerIntModel(tinyIntModel(1), { batch: 1, opt: "O0" });
  assertEquals(show(p.instructions).slice(0, 6), [
    "quantize(quant)",
    "conv2d(c1)",
    "move(c1)+requant:relu6",
    "conv2d(c2)",
    "move(c2)+requant",
    "move(r1)+relu",
  ]);
  assertEquals(p.buffers[p.instructions[1].output].dtype, "qint32");
  assertEquals(p.instructions.length, 26);
});

Deno.test("lowerIntModel() from O1 fuses requantization, activations and the residual add, and drops views", () => {
  const p = lowerIntModel(tinyIntModel(1), { batch: 1, opt: "O1" });
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
  // The flatten read by the linear layer is a view of the pooled buffer.
  assertEquals(p.instructions[10].inputs, [p.instructions[9].output]);
});

/** quant → conv "c" → relu "r" (addend, produced after c) → add(c, r) → dequant. */
function lateAddend(): IntModel {
  const t = tinyIntModel(2);
  const get = (n: string) => t.nodes.find((x) => x.name === n)!;
  const c = { ...get("c3"), name: "c", inputs: ["c0"] };
  const nodes = [
    get("x"),
    get("quant"),
    { ...get("c1"), name: "c0" },
    c,
    {
      name: "r",
      inputs: ["c0"],
      kind: { op: "relu" as const },
      shape: [1, 8, 8, 8],
      dtype: "qint8" as const,
      scale: get("c1").scale,
    },
    { ...get("a1"), inputs: ["c", "r"] },
    { ...get("dq"), inputs: ["a1"], shape: [1, 8, 8, 8] },
  ];
  return { ...t, nodes };
}

Deno.test("lowerIntModel() folds a residual add into the conv only when the other operand is ready", () => {
  const model = lateAddend();
  const p = lowerIntModel(model, { batch: 1, opt: "O1" });
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
  for (const opt of ["O0", "O1", "O2"] as const) {
    const y = runHbm(
      loadHbm(compileProgram(model, [{ shape: [1, 3, 8, 8] }], { opt, log: () => {} }).bytes),
      x,
      [1, 3, 8, 8],
      { raw: true },
    );
    assertEquals([...y.data], [...ref.raw.data]);
  }
});

Deno.test("lowerIntModel() names the node that reads a missing input, and needs a final dequantize", () => {
  const t = tinyIntModel(1);
  const broken = { ...t, nodes: t.nodes.map((n) => n.name === "c2" ? { ...n, inputs: ["nope"] } : n) };
  assertThrows(() => lowerIntModel(broken, { batch: 1, opt: "O0" }), CompileError, 'Node "c2" reads "nope"');
  assertThrows(
    () => lowerIntModel({ ...t, nodes: t.nodes.slice(0, -1) }, { batch: 1, opt: "O1" }),
    CompileError,
    "dequantize",
  );
});
