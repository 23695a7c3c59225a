/**
 * Random single-operator models for the gradient and cross-device tests: for each supported operator
 * that computes, a fast-check arbitrary of small ONNX models exercising its attributes (groups, dilation,
 * asymmetric pads, ceil mode, broadcasting, coordinate modes …) with random weights.
 * @module
 */
import fc from "fast-check";
import { type AttrSpec, modelBytes, type NodeSpec, type TensorSpec } from "./encode_util.ts";

/** One generated model. */
export interface OpCase {
  /** The ONNX file. */
  readonly bytes: Uint8Array;
  /** The input shape (its first dimension is the batch). */
  readonly shape: readonly number[];
  /** Run in training mode (batch statistics). */
  readonly training?: boolean;
  /** A description for failure messages. */
  readonly label: string;
  /** Input values where the operator has a kink, kept clear of by the gradient check. */
  readonly kinks?: readonly number[];
  /** The input needs distinct values (max pooling: no ties within a window). */
  readonly distinct?: boolean;
}

const int = (min: number, max: number) => fc.integer({ min, max });

/** Deterministic weights from a seed (a small linear congruential generator), in [-1, 1) plus `shift`. */
function weights(seed: number, dims: readonly number[], shift = 0): TensorSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  const data = Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 31 - 1) + shift;
  });
  return { dims, data };
}

const ints = (data: readonly number[]): TensorSpec => ({ dims: [data.length], data, type: 7 });

function model(
  shape: readonly number[],
  nodes: readonly NodeSpec[],
  options: { initializers?: Record<string, TensorSpec>; opset?: number } = {},
): Uint8Array {
  return modelBytes({
    opset: options.opset,
    input: { name: "x", shape: ["N", ...shape.slice(1)] },
    output: "y",
    nodes,
    initializers: options.initializers,
  });
}

const node = (
  op: string,
  inputs: string[],
  attrs: Record<string, AttrSpec> = {},
  outputs = ["y"],
): NodeSpec => ({
  op,
  inputs,
  outputs,
  attrs,
  name: op.toLowerCase(),
});

function unary(
  op: string,
  attrs: Record<string, AttrSpec> = {},
  options: { opset?: number; kinks?: readonly number[] } = {},
): fc.Arbitrary<OpCase> {
  return fc.tuple(int(1, 3), int(2, 5)).map(([n, c]) => ({
    bytes: model([n, c, 3], [node(op, ["x"], attrs)], { opset: options.opset }),
    shape: [n, c, 3],
    label: `${op} [${n},${c},3]`,
    kinks: options.kinks,
  }));
}

const conv = fc.record({
  n: int(1, 2),
  g: int(1, 2),
  cin: int(1, 2),
  cout: int(1, 3),
  k: fc.tuple(int(1, 3), int(1, 3)),
  s: fc.tuple(int(1, 2), int(1, 2)),
  d: fc.tuple(int(1, 2), int(1, 2)),
  pads: fc.tuple(int(0, 2), int(0, 1), int(0, 1), int(0, 2)),
  bias: fc.boolean(),
  seed: fc.nat(),
}).map((p) => {
  const [ci, co] = [p.cin * p.g, p.cout * p.g];
  const shape = [p.n, ci, 7, 6];
  const inits: Record<string, TensorSpec> = { "conv.weight": weights(p.seed, [co, p.cin, ...p.k]) };
  if (p.bias) inits["conv.bias"] = weights(p.seed + 1, [co]);
  const attrs = {
    group: { i: p.g },
    strides: { ints: p.s },
    dilations: { ints: p.d },
    pads: { ints: p.pads },
  };
  return {
    bytes: model(shape, [node("Conv", ["x", ...Object.keys(inits)], attrs)], { initializers: inits }),
    shape,
    label: `Conv ${JSON.stringify(p)}`,
  };
});

const convTranspose = fc.record({
  g: int(1, 2),
  k: int(2, 3),
  s: int(1, 2),
  pads: fc.tuple(int(0, 1), int(0, 1), int(0, 1), int(0, 1)),
  outPad: int(0, 1),
  bias: fc.boolean(),
  seed: fc.nat(),
}).map((p) => {
  const shape = [2, 2 * p.g, 3, 4];
  const inits: Record<string, TensorSpec> = { "up.weight": weights(p.seed, [2 * p.g, 2, p.k, p.k]) };
  if (p.bias) inits["up.bias"] = weights(p.seed + 1, [2 * p.g]);
  const attrs = {
    group: { i: p.g },
    strides: { ints: [p.s, p.s] },
    pads: { ints: p.pads },
    output_padding: { ints: [Math.min(p.outPad, p.s - 1), 0] },
  };
  return {
    bytes: model(shape, [node("ConvTranspose", ["x", ...Object.keys(inits)], attrs)], {
      initializers: inits,
    }),
    shape,
    label: `ConvTranspose ${JSON.stringify(p)}`,
  };
});

const gemm = fc.record({
  linear: fc.boolean(),
  seed: fc.nat(),
  alpha: fc.constantFrom(1, 0.5),
  beta: fc.constantFrom(1, 2),
})
  .map((p) => {
    const inits: Record<string, TensorSpec> = p.linear
      ? { "fc.weight": weights(p.seed, [4, 5]), "fc.bias": weights(p.seed + 1, [4]) }
      : { b: weights(p.seed, [5, 4]), c: weights(p.seed + 1, [1, 4]) };
    const attrs: Record<string, AttrSpec> = p.linear
      ? { transB: { i: 1 } }
      : { alpha: { f: p.alpha }, beta: { f: p.beta } };
    return {
      bytes: model([3, 5], [node("Gemm", ["x", ...Object.keys(inits)], attrs)], { initializers: inits }),
      shape: [3, 5],
      label: `Gemm ${JSON.stringify(p)}`,
    };
  });

const matmul = fc.nat().map((seed) => ({
  bytes: model([2, 3, 5], [node("MatMul", ["x", "w"])], { initializers: { w: weights(seed, [5, 4]) } }),
  shape: [2, 3, 5],
  label: "MatMul [2,3,5]·[5,4]",
}));

const batchNorm = fc.record({ training: fc.boolean(), seed: fc.nat(), rank2: fc.boolean() }).map((p) => {
  const inits = {
    "bn.weight": weights(p.seed, [4], 1),
    "bn.bias": weights(p.seed + 1, [4]),
    "bn.running_mean": weights(p.seed + 2, [4]),
    "bn.running_var": weights(p.seed + 3, [4], 2),
  };
  const shape = p.rank2 ? [5, 4] : [3, 4, 3, 3];
  return {
    bytes: model(
      shape,
      [node("BatchNormalization", ["x", ...Object.keys(inits)], { epsilon: { f: 1e-5 } })],
      {
        initializers: inits,
      },
    ),
    shape,
    training: p.training,
    label: `BatchNormalization ${JSON.stringify(p)}`,
  };
});

function binary(op: string): fc.Arbitrary<OpCase> {
  return fc.record({ seed: fc.nat(), scalar: fc.boolean(), swap: fc.boolean() }).map((p) => {
    const shape = [2, 3, 4];
    const inits: Record<string, TensorSpec> = p.scalar
      ? {}
      : { p: weights(p.seed, [3, 1], op === "Div" ? 3 : 0) };
    const nodes = p.scalar
      ? [
        node("Constant", [], { value: { t: { dims: [], data: [op === "Div" ? 1.7 : 0.6] } } }, ["c"]),
        node(op, p.swap && op !== "Div" ? ["c", "x"] : ["x", "c"]),
      ]
      : [node(op, p.swap && op !== "Div" ? ["p", "x"] : ["x", "p"])];
    return {
      bytes: model(shape, nodes, { initializers: inits }),
      shape,
      label: `${op} ${JSON.stringify(p)}`,
    };
  });
}

const pool = (op: "MaxPool" | "AveragePool") =>
  fc.record({
    k: fc.tuple(int(2, 3), int(1, 3)),
    s: fc.tuple(int(1, 2), int(1, 2)),
    p: int(0, 1),
    ceil: fc.boolean(),
    countPad: fc.boolean(),
  }).map((p) => {
    const pads = [Math.min(p.p, p.k[0] - 1), 0, Math.min(p.p, p.k[0] - 1), 0];
    const attrs: Record<string, AttrSpec> = {
      kernel_shape: { ints: p.k },
      strides: { ints: p.s },
      pads: { ints: pads },
      ceil_mode: { i: p.ceil ? 1 : 0 },
    };
    if (op === "AveragePool") attrs.count_include_pad = { i: p.countPad ? 1 : 0 };
    const shape = [2, 2, 7, 6];
    return {
      bytes: model(shape, [node(op, ["x"], attrs)]),
      shape,
      label: `${op} ${JSON.stringify(p)}`,
      distinct: op === "MaxPool",
    };
  });

const resize = fc.record({
  linear: fc.boolean(),
  coordinates: fc.constantFrom("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"),
  rounding: fc.constantFrom("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"),
  sizes: fc.boolean(),
}).map((p) => {
  const shape = [2, 2, 3, 4];
  const inits: Record<string, TensorSpec> = p.sizes
    ? { sizes: ints([2, 2, 5, 7]) }
    : { scales: { dims: [4], data: [1, 1, 2, 1.5] } };
  const attrs = {
    mode: { s: p.linear ? "linear" : "nearest" },
    coordinate_transformation_mode: { s: p.coordinates },
    nearest_mode: { s: p.rounding },
  };
  const inputs = p.sizes ? ["x", "", "", "sizes"] : ["x", "", "scales"];
  return {
    bytes: model(shape, [node("Resize", inputs, attrs)], { initializers: inits }),
    shape,
    label: `Resize ${JSON.stringify(p)}`,
  };
});

const upsample = fc.boolean().map((linear) => ({
  bytes: model([2, 2, 3, 3], [
    node("Upsample", ["x", "scales"], { mode: { s: linear ? "linear" : "nearest" } }),
  ], {
    opset: 9,
    initializers: { scales: { dims: [4], data: [1, 1, 2, 2] } },
  }),
  shape: [2, 2, 3, 3],
  label: `Upsample ${linear ? "linear" : "nearest"}`,
}));

const padCase = fc.record({ mode: fc.constantFrom("constant", "edge", "reflect"), crop: fc.boolean() }).map(
  (p) => {
    const pads = [0, 0, 1, 2, 0, 0, p.crop ? -1 : 2, 1];
    return {
      bytes: model([2, 2, 4, 4], [node("Pad", ["x", "pads", "v"], { mode: { s: p.mode } })], {
        initializers: { pads: ints(pads), v: { dims: [], data: [0.3] } },
      }),
      shape: [2, 2, 4, 4],
      label: `Pad ${JSON.stringify(p)}`,
    };
  },
);

const movement = (
  label: string,
  shape: number[],
  nodes: NodeSpec[],
  initializers: Record<string, TensorSpec> = {},
) => fc.constant({ bytes: model(shape, nodes, { initializers }), shape, label });

/** A generator of models per operator (every operator of the table that computes at run time). */
export const OP_CASES: Readonly<Record<string, fc.Arbitrary<OpCase>>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmul,
  BatchNormalization: batchNorm,
  Relu: unary("Relu", {}, { kinks: [0] }),
  Clip: fc.constantFrom([-0.5, 0.7], [0, 6]).map(([lo, hi]) => ({
    bytes: model([2, 3, 4], [node("Clip", ["x", "lo", "hi"])], {
      initializers: { lo: { dims: [], data: [lo] }, hi: { dims: [], data: [hi] } },
    }),
    shape: [2, 3, 4],
    label: `Clip ${lo} ${hi}`,
    kinks: [lo, hi],
  })),
  LeakyRelu: unary("LeakyRelu", { alpha: { f: 0.1 } }, { kinks: [0] }),
  Sigmoid: unary("Sigmoid"),
  HardSigmoid: unary("HardSigmoid", { alpha: { f: 0.3 }, beta: { f: 0.4 } }, {
    kinks: [-0.4 / 0.3, 0.6 / 0.3],
  }),
  HardSwish: unary("HardSwish", {}, { opset: 14, kinks: [-3, 3] }),
  Tanh: unary("Tanh"),
  Softmax: fc.constantFrom(11, 13).chain((opset) => unary("Softmax", { axis: { i: 1 } }, { opset })),
  Add: binary("Add"),
  Sub: binary("Sub"),
  Mul: binary("Mul"),
  Div: binary("Div"),
  Concat: movement("Concat", [2, 3, 4], [node("Concat", ["x", "x"], { axis: { i: -1 } })]),
  Split: movement("Split + Concat", [2, 5, 3], [
    node("Split", ["x", "s"], { axis: { i: 1 } }, ["a", "b"]),
    node("Concat", ["b", "a"], { axis: { i: 1 } }),
  ], { s: ints([2, 3]) }),
  Slice: movement("Slice with steps", [2, 4, 7], [node("Slice", ["x", "st", "en", "ax", "sp"])], {
    st: ints([3, 5]),
    en: ints([0, -100]),
    ax: ints([1, 2]),
    sp: ints([-1, -2]),
  }),
  Reshape: movement("Reshape", [2, 3, 4], [node("Reshape", ["x", "s"])], { s: ints([0, 2, -1]) }),
  Transpose: movement("Transpose", [2, 3, 4], [node("Transpose", ["x"], { perm: { ints: [2, 0, 1] } })]),
  Flatten: movement("Flatten", [2, 3, 2, 2], [node("Flatten", ["x"], { axis: { i: 2 } })]),
  Squeeze: movement("Squeeze", [2, 1, 4], [node("Squeeze", ["x", "a"])], { a: ints([1]) }),
  Unsqueeze: movement("Unsqueeze", [2, 4], [node("Unsqueeze", ["x", "a"])], { a: ints([1, -1]) }),
  MaxPool: pool("MaxPool"),
  AveragePool: pool("AveragePool"),
  GlobalAveragePool: movement("GlobalAveragePool", [2, 3, 4, 5], [node("GlobalAveragePool", ["x"])]),
  ReduceMean: fc.constantFrom([1], [2, 3], [-1]).map((axes) => ({
    bytes: model([2, 3, 4, 5], [node("ReduceMean", ["x"], { axes: { ints: axes }, keepdims: { i: 0 } })]),
    shape: [2, 3, 4, 5],
    label: `ReduceMean ${axes}`,
  })),
  Resize: resize,
  Upsample: upsample,
  Pad: padCase,
  Dropout: movement("Dropout (evaluation)", [2, 3], [node("Dropout", ["x", "r"])], {
    r: { dims: [], data: [0.3] },
  }),
};
