/**
 * Shape folding: shape sub-graphs become load-time constants for the input shape, with the batch
 * dimension kept dynamic (affine in the batch size), and what cannot be folded is refused by name.
 * @module
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { forward } from "@hqat/nn";
import { randomKey, randomNormal } from "@hqat/tensor";
import { analyzeGraph } from "./analyze.ts";
import { modelBytes, type NodeSpec } from "./encode_util.ts";
import { checkGraph } from "./graph_check.ts";
import { loadOnnx } from "./load.ts";
import { decodeOnnx } from "./proto.ts";

const ints = (data: number[]) => ({ dims: [data.length], data, type: 7 });

/** x [N,4,2,2] → Shape → Gather(0) → (× factor) → Unsqueeze → Concat with [-1] → Reshape. */
function flattenBySize(factor?: number, square = false): Uint8Array {
  const nodes: NodeSpec[] = [
    { op: "Shape", inputs: ["x"], outputs: ["s"] },
    { op: "Gather", inputs: ["s", "zero"], outputs: ["n"], attrs: { axis: { i: 0 } } },
    ...(factor ? [{ op: "Mul", inputs: ["n", "k"], outputs: ["nk"] }] : []),
    ...(square ? [{ op: "Mul", inputs: ["n", "n"], outputs: ["nk"] }] : []),
    { op: "Unsqueeze", inputs: [factor || square ? "nk" : "n", "axes"], outputs: ["u"] },
    { op: "Concat", inputs: ["u", "rest"], outputs: ["target"], attrs: { axis: { i: 0 } } },
    { op: "Reshape", inputs: ["x", "target"], outputs: ["y"], name: "flatten" },
  ];
  return modelBytes({
    input: { name: "x", shape: ["N", 4, 2, 2] },
    output: "y",
    nodes,
    initializers: {
      zero: { dims: [], data: [0], type: 7 },
      k: { dims: [], data: [factor ?? 1], type: 7 },
      axes: ints([0]),
      rest: ints([-1]),
    },
  });
}

Deno.test("analyzeGraph() folds Shape → Gather → Unsqueeze → Concat into a reshape target that follows the batch", () => {
  const a = analyzeGraph(checkGraph(decodeOnnx(flattenBySize()), "m.onnx"));
  assertEquals(a.values.get("target")!.ints, { base: [0, -1], perBatch: [1, 0] });
  for (const n of ["Shape_0", "Gather_1", "Unsqueeze_2", "Concat_3"]) assert(a.folded.has(n), n);
  assert(!a.folded.has("flatten"));
  assertEquals(a.inputShape, [-1, 4, 2, 2]);
  const m = loadOnnx(flattenBySize());
  for (const batch of [1, 3, 7]) {
    const { y } = forward(m, m.initialState(), randomNormal(randomKey(batch), [batch, 4, 2, 2]));
    assertEquals(y.shape, [batch, 16]);
  }
  assertEquals(m.nodes.map((n) => n.opType), ["Reshape"]);
});

Deno.test("loadOnnx() keeps batch multiples dynamic and refuses shapes that are not affine in the batch", () => {
  const m = loadOnnx(flattenBySize(2));
  assertEquals(forward(m, m.initialState(), randomNormal(randomKey(0), [3, 4, 2, 2])).y.shape, [6, 8]);
  // N · N: no reshape target follows every batch size.
  assertThrows(() => loadOnnx(flattenBySize(undefined, true), { source: "sq.onnx" }), RangeError, "sq.onnx");
});

Deno.test("loadOnnx() refuses a shape computed from data, naming the node", () => {
  const bytes = modelBytes({
    input: { name: "x", shape: ["N", 4] },
    output: "y",
    nodes: [{ op: "Reshape", inputs: ["x", "x"], outputs: ["y"], name: "r" }],
  });
  assertThrows(
    () => loadOnnx(bytes, { source: "m.onnx" }),
    RangeError,
    `node "r" (Reshape): input 1 ("x") must be known`,
  );
});

Deno.test("loadOnnx() with a fixed batch refuses other batch sizes with one clear error", () => {
  const bytes = modelBytes({
    input: { name: "x", shape: [2, 4] },
    output: "y",
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
  });
  const m = loadOnnx(bytes, { source: "fixed.onnx" });
  assertEquals(m.info.inputShape, [2, 4]);
  assertThrows(
    () => forward(m, m.initialState(), randomNormal(randomKey(0), [3, 4])),
    RangeError,
    "fixed.onnx: input [3,4] does not fit the model's [2,4]",
  );
});
