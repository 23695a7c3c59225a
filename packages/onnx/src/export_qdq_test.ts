/**
 * The QDQ export: every instruction kind has a rule, the graph is standard QDQ (int8 weights per
 * channel on axis 0, int32 biases, opset 21), and onnxruntime runs the test programs — the built-in
 * kinds' models and the model of every kind of imported networks — close to the program's output, with
 * the integer kernels the report names.
 * @module
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { type InstrOp, lowerProgram, type Program } from "@hqat/program";
import { decodeOnnx, exportQdq, qdqSidecar, qdqSummary } from "../mod.ts";
import { everyKindModel, everyOpModel, randomInput, tinyIntModel } from "../../program/testdata/programs.ts";
import { prng, ProgramBuilder } from "../../program/testdata/build.ts";
import { QDQ_RULES } from "./export_qdq_table.ts";
import { ORT_AVAILABLE } from "./fixture_util.ts";
import { compareWithOrt } from "./qdq_ort_util.ts";

const ALL_KINDS: InstrOp[] = [
  "quantize",
  "conv2d",
  "linear",
  "add",
  "avg_pool2d",
  "max_pool2d",
  "cat",
  "move",
  "dequantize",
  "mul",
  "sub",
  "constant",
  "lut",
  "transpose",
  "slice",
  "pad",
  "resize",
  "reduce_mean",
  "matmul",
  "conv_transpose2d",
  "softmax",
];

Deno.test("QDQ_RULES has a rule for every instruction kind, and the test programs use them all", () => {
  assertEquals(Object.keys(QDQ_RULES).sort(), [...ALL_KINDS].sort());
  const used = new Set([tinyIntModel(1), everyKindModel()].flatMap((p) => p.instructions.map((i) => i.op)));
  assertEquals([...used].sort(), [...ALL_KINDS].sort());
});

Deno.test("exportQdq() writes int8 weights with per-channel scales on axis 0 and int32 biases", () => {
  const e = exportQdq(tinyIntModel(2));
  const m = decodeOnnx(e.bytes);
  assertEquals(m.opset, 21);
  const init = new Map(m.graph.initializers.map((t) => [t.name, t]));
  const conv = m.graph.nodes.find((n) => n.opType === "Conv")!;
  const dq = (name: string) => m.graph.nodes.find((n) => n.outputs[0] === name)!;
  const w = dq(conv.inputs[1]), b = dq(conv.inputs[2]);
  assertEquals(init.get(w.inputs[0])!.dataType, 3, "int8 weights");
  assertEquals(w.attributes.get("axis"), { kind: "int", value: 0 });
  assertEquals(init.get(w.inputs[1])!.dims, [8], "one scale per output channel");
  assertEquals(init.get(b.inputs[0])!.dataType, 6, "int32 bias");
  assertEquals(m.graph.inputs[0].shape, ["N", 3, 8, 8]);
  assert(qdqSummary(e)[0].startsWith("QDQ export: 17 instructions"));
  assertEquals(JSON.parse(qdqSidecar(e)).report.length, 17);
});

Deno.test("exportQdq() stores int8 activations as uint8 with zero point 128, or as int8 when asked", () => {
  const types = (p: Program, activations?: "uint8" | "int8") => {
    const m = decodeOnnx(exportQdq(p, { activations }).bytes);
    const q = m.graph.nodes.find((n) => n.opType === "QuantizeLinear")!;
    const zp = m.graph.initializers.find((t) => t.name === q.inputs[2])!;
    return [zp.dataType, zp.data[0]];
  };
  assertEquals(types(tinyIntModel(3)), [2, 128]);
  assertEquals(types(tinyIntModel(3), "int8"), [3, 0]);
});

Deno.test("exportQdq() refuses an opset below 18, int16 values below 21, and a program that does not verify", () => {
  assertThrows(() => exportQdq(tinyIntModel(1), { opset: 13 }), RangeError, "opset 18 or later");
  assertThrows(() => exportQdq(tinyIntModel(1), { opset: 19 }), RangeError, "int16");
  const p = tinyIntModel(1);
  const broken = { ...p, instructions: p.instructions.map((i, k) => (k === 2 ? { ...i, inputs: [99] } : i)) };
  assertThrows(() => exportQdq(broken), RangeError, "model: ");
});

const ORT_TEST = { ignore: !ORT_AVAILABLE, sanitizeResources: false, sanitizeOps: false } as const;

for (
  const [name, program, bar] of [
    ["tinyIntModel", () => tinyIntModel(4), 0.999],
    ["everyOpModel", () => everyOpModel(5), 0.999],
    // O1: requantizations, ReLUs and a residual add folded into the convolutions' epilogues.
    ["tinyIntModel at O1", () => lowerProgram(tinyIntModel(6), { opt: "O1" }), 0.999],
    // Power-of-two scale ratios on purpose (requantization ties: BAYES rounds half up, onnxruntime half
    // to even), amplified by the tanh and softmax tables' scales.
    ["everyKindModel", () => everyKindModel(), 0.998],
  ] as const
) {
  Deno.test({
    name:
      `exportQdq() on ${name}: onnxruntime runs it close to runIntModel() with the integer ops the report names`,
    ...ORT_TEST,
    async fn() {
      const p = program();
      const shape = [8, ...p.inputShape.slice(1)];
      const c = await compareWithOrt(p, { data: randomInput(shape, 3), shape });
      assertEquals(c.mismatches, []);
      assert(c.cosine >= bar, `${name}: cosine ${c.cosine}`);
      assert(
        c.integerOps.some((o) => o.startsWith("QLinear") || o.startsWith("Gather")),
        c.integerOps.join(),
      );
    },
  });
}

Deno.test({
  name:
    "exportQdq(): data movement, table lookups, int16 clamps and batch-1 constants give the program's integers",
  ...ORT_TEST,
  async fn() {
    const b = new ProgramBuilder(prng(2), [1, 3, 6, 6]);
    const q = b.quantize("quant", 1 / 64);
    const rev = b.slice("rev", q, [0, 0, 5, 4], [1, 3, -1, 0], [1, 1, -1, -2]);
    const pad = b.pad("pad", rev, [[0, 0], [0, 0], [1, 2], [1, 1]], "reflect");
    const fill = b.pad("fill", pad, [[0, 0], [0, 0], [1, 0], [0, 1]], "constant", -7);
    const t = b.transpose("t", fill, [0, 1, 3, 2]);
    const mp = b.maxPool("mp", t, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true });
    const up = b.resize("up", mp, [9, 7], { mode: "nearest", coordinateTransformation: "half_pixel" });
    const sig = b.lut("sig", up, (x) => x.map((v) => 1 / (1 + Math.exp(-v))), "sigmoid", {
      dtype: "qint16",
      scale: 1 / 32768,
    });
    const r6 = b.activation(
      "r6",
      b.lut("lin", sig, (x) => x.map((v) => 8 * v - 1), "clip", {
        dtype: "qint16",
        scale: 1 / 4096,
      }),
      "relu6",
    );
    const c = b.constant(
      "c",
      Int16Array.from({ length: 63 }, (_, i) => i * 500 - 15000),
      [1, 9, 7],
      1 / 4096,
    );
    const cat = b.cat("cat", [r6, c], 1, { dtype: "qint16", scale: 1 / 4096 });
    b.dequantize("dq", cat);
    const p = b.build("movement");
    const shape = [3, 3, 6, 6];
    const cmp = await compareWithOrt(p, { data: randomInput(shape, 5), shape });
    assertEquals(cmp.mismatches, []);
    assertEquals(cmp.maxAbsDiff, 0, `${cmp.integerOps} / ${cmp.floatOps}`);
  },
});

Deno.test({
  name: "exportQdq() with int8 activations: onnxruntime runs it as closely (as float ops on x86)",
  ...ORT_TEST,
  async fn() {
    for (const p of [tinyIntModel(4), everyKindModel()]) {
      const shape = [4, ...p.inputShape.slice(1)], x = randomInput(shape, 8);
      const u8 = await compareWithOrt(p, { data: x, shape });
      const s8 = await compareWithOrt(p, { data: x, shape }, { activations: "int8" });
      assert(Math.abs(u8.cosine - s8.cosine) < 1e-3, `${p.name}: ${u8.cosine} vs ${s8.cosine}`);
    }
  },
});
