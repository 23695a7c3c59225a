/**
 * Malformed and unsupported files: each gives one clear error naming the file and the problem (the node
 * where there is one), before any work.
 * @module
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { fixtureData } from "./fixture_util.ts";
import { modelBytes, type NodeSpec, singleNode } from "./encode_util.ts";
import { loadOnnx } from "./load.ts";
import { decodeOnnx } from "./proto.ts";
import { SUPPORTED_OPS } from "./op_table.ts";

const SRC = { source: "bad.onnx" };

/** Loads `bytes` and returns the error's class and message (the test fails if it loads). */
function failure(bytes: Uint8Array): { type: string; message: string } {
  try {
    loadOnnx(bytes, SRC);
  } catch (e) {
    const err = e as Error;
    assert(err.message.startsWith("bad.onnx"), `the message does not name the file: ${err.message}`);
    assertEquals(err.message.split("\n").length, 1, "one line");
    return { type: err.constructor.name, message: err.message };
  }
  throw new Error("the file loaded");
}

const relu = (inputs: string[], outputs: string[], name?: string): NodeSpec => ({
  op: "Relu",
  inputs,
  outputs,
  name,
});

Deno.test("loadOnnx() refuses an unsupported operator with one error naming the node, its operator and the supported list", () => {
  const bytes = modelBytes({
    input: { name: "x", shape: ["N", 4, 8] },
    output: "y",
    nodes: [relu(["x"], ["a"]), { op: "LSTM", inputs: ["a"], outputs: ["b"], name: "rnn" }, {
      op: "Erf",
      inputs: ["b"],
      outputs: ["y"],
    }],
  });
  const e = failure(bytes);
  assertEquals(e.type, "TypeError");
  assert(e.message.includes(`node "rnn" uses operator LSTM`), e.message);
  assert(e.message.includes("(and 1 more: Erf)"), e.message);
  assert(e.message.includes(`Supported operators: ${SUPPORTED_OPS.join(", ")}`), e.message);
  const custom = failure(modelBytes({
    input: { name: "x", shape: ["N", 4] },
    output: "y",
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"], domain: "com.microsoft", name: "r" }],
  }));
  assert(custom.message.includes("operator com.microsoft::Relu"), custom.message);
});

Deno.test("decodeOnnx() gives one SyntaxError for truncated files, at every length", async () => {
  const { bytes } = await fixtureData("mobilenetv3_block");
  let syntax = 0;
  for (let n = 0; n < bytes.length; n += 97) {
    const cut = bytes.subarray(0, n);
    try {
      loadOnnx(cut, SRC);
    } catch (e) {
      assert((e as Error).message.startsWith("bad.onnx"), (e as Error).message);
      if (e instanceof SyntaxError) syntax++;
    }
  }
  assert(syntax > 0);
  assertThrows(() => decodeOnnx(new Uint8Array(0), SRC), SyntaxError, "bad.onnx: the file has no graph");
});

Deno.test("decodeOnnx() refuses wrong wire types, bad tags and nesting beyond the protobuf limit", () => {
  // Field 7 (graph) as a varint, a tag of field 0, and 200 nested graphs in attributes.
  assertThrows(() => decodeOnnx(Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0x0f), SRC), SyntaxError, "bad.onnx");
  assertThrows(() => decodeOnnx(Uint8Array.of(0x00, 0x01), SRC), SyntaxError, "bad.onnx");
  let inner = new Uint8Array(0);
  for (let i = 0; i < 200; i++) {
    // GraphProto.node (1) { NodeProto.attribute (5) { AttributeProto.g (6) { inner } } }
    const attr = Uint8Array.of(0x32, ...varint(inner.length), ...inner);
    const node = Uint8Array.of(0x2a, ...varint(attr.length), ...attr);
    inner = Uint8Array.of(0x0a, ...varint(node.length), ...node);
  }
  const model = Uint8Array.of(0x3a, ...varint(inner.length), ...inner);
  assertThrows(() => decodeOnnx(model, SRC), SyntaxError, "max depth");
});

function varint(n: number): number[] {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

Deno.test("loadOnnx() refuses attributes and tensors of the wrong type", () => {
  const e = failure(singleNode("Concat", [2, 3], { attrs: { axis: { f: 1 } }, extraInputs: ["x"] }));
  assert(e.message.includes(`node "concat" (Concat): attribute "axis" should be int, not float`), e.message);
  const t = failure(singleNode("Add", [2, 3], { initializers: { b: { dims: [3], data: [1, 2], type: 1 } } }));
  assert(t.message.includes(`"b": 2 values for [3] (3 expected)`), t.message);
  const s = failure(
    singleNode("Add", [2, 3], { initializers: { b: { dims: [3], data: [1, 2, 3], type: 8 } } }),
  );
  assert(s.message.includes("element type 8 is not supported"), s.message);
});

Deno.test("loadOnnx() refuses cycles, values nobody defines and values defined twice", () => {
  const cycle = failure(modelBytes({
    input: { name: "x", shape: ["N", 2] },
    output: "y",
    nodes: [
      { op: "Add", inputs: ["x", "b"], outputs: ["a"], name: "p" },
      relu(["a"], ["b"], "q"),
      relu(["b"], ["y"]),
    ],
  }));
  assert(cycle.message.includes(`nodes "p", "q" form a cycle`), cycle.message);
  const missing = failure(singleNode("Conv", [1, 3, 8, 8], { extraInputs: ["conv.weight"] }));
  assert(
    missing.message.includes(`node "conv" (Conv) reads "conv.weight", which no initializer`),
    missing.message,
  );
  const twice = failure(modelBytes({
    input: { name: "x", shape: ["N", 2] },
    output: "y",
    nodes: [relu(["x"], ["y"], "a"), relu(["x"], ["y"], "b")],
  }));
  assert(twice.message.includes(`value "y" of node "b" is defined twice`), twice.message);
});

Deno.test("loadOnnx() refuses shapes that disagree, naming the node", () => {
  const add = failure(singleNode("Add", [2, 3], { initializers: { b: { dims: [4], data: [1, 2, 3, 4] } } }));
  assert(add.message.includes(`node "add" (Add): cannot broadcast shapes [2,3] and [4]`), add.message);
  const w = { dims: [4, 2, 3, 3], data: new Array(72).fill(0.1) };
  const conv = failure(singleNode("Conv", [1, 3, 8, 8], { initializers: { w } }));
  assert(conv.message.includes("do not fit 3 input channels"), conv.message);
  const reshape = failure(
    singleNode("Reshape", [2, 3], { initializers: { s: { dims: [2], data: [5, -1], type: 7 } } }),
  );
  assert(
    reshape.message.includes(`node "reshape" (Reshape): cannot reshape [2,3] to [5,-1]`),
    reshape.message,
  );
  const gemm = failure(
    singleNode("Gemm", [2, 3], { initializers: { w: { dims: [4, 4], data: new Array(16).fill(0) } } }),
  );
  assert(gemm.message.includes("cannot multiply [2,3] by [4,4]"), gemm.message);
});

Deno.test("loadOnnx() refuses absurd sizes before allocating them", () => {
  const huge = failure(singleNode("Add", [2, 3], { initializers: { b: { dims: [1e9, 1e9], data: [1] } } }));
  assert(huge.message.includes("absurdly many"), huge.message);
  const fill = failure(modelBytes({
    input: { name: "x", shape: ["N", 2] },
    output: "y",
    nodes: [
      { op: "ConstantOfShape", inputs: ["s"], outputs: ["c"], name: "big" },
      { op: "Add", inputs: ["x", "c"], outputs: ["y"] },
    ],
    initializers: { s: { dims: [3], data: [60000, 60000, 2], type: 7 } },
  }));
  assert(
    fill.message.includes(`node "big" (ConstantOfShape): 60000×60000×2 elements is absurdly many`),
    fill.message,
  );
  const resize = failure(singleNode("Resize", [1, 1, 4, 4], {
    extraInputs: ["", "scales"],
    initializers: { scales: { dims: [4], data: [1, 1, 1e6, 1e6] } },
  }));
  assert(resize.message.includes("is absurd"), resize.message);
});

Deno.test("loadOnnx() refuses opsets, interfaces and storage it does not support", () => {
  assert(failure(singleNode("Relu", [2, 3], { opset: 8 })).message.includes("opset 8 of the default domain"));
  const two = failure(modelBytes({
    input: { name: "x", shape: ["N", 2] },
    output: "y",
    nodes: [{ op: "Add", inputs: ["x", "z"], outputs: ["y"] }],
  }));
  assert(two.message.includes(`reads "z"`), two.message);
  const fixedDim = failure(
    modelBytes({ input: { name: "x", shape: ["N", "C"] }, output: "y", nodes: [relu(["x"], ["y"])] }),
  );
  assert(
    fixedDim.message.includes(`dimension 1 of input "x" is "C"; give the input shape`),
    fixedDim.message,
  );
  const m = loadOnnx(
    modelBytes({ input: { name: "x", shape: ["N", "C"] }, output: "y", nodes: [relu(["x"], ["y"])] }),
    {
      inputShape: [1, 7],
    },
  );
  assertEquals(m.info.inputShape, [-1, 7]);
});
