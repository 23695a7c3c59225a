/**
 * Every ONNX operator an imported network may use, as the `@hqat/tensor` computation that implements it,
 * with seeded inputs (kept away from kinks where the function has them, so that finite differences
 * are meaningful). The gradient tests and the WebGPU-versus-CPU tests both run this table.
 * @module
 */
import { hardSigmoid, hardSwish, leakyRelu, silu } from "./activations.ts";
import { convTranspose2d } from "./conv_transpose.ts";
import { add, clamp, div, mul, relu, sigmoid, sub, tanh } from "./math.ts";
import { avgPool2d, batchNormEval, conv2d, dropout, matmul, maxPool2d, softmax } from "./nn_ops.ts";
import { padMode } from "./pad_modes.ts";
import { randomKey, randomNormal, randomUniform } from "./random.ts";
import { mean } from "./reduce.ts";
import { resize } from "./resize.ts";
import { concat, expandDims, flatten, pad, reshape, slice, squeeze, transpose } from "./shape_ops.ts";
import { split } from "./split.ts";
import { fromArray, ones, type Tensor } from "./tensor.ts";

/** One ONNX operator and its computation here. */
export interface ImportOpCase {
  /** The ONNX operator (and the variant exercised). */
  readonly onnx: string;
  /** The `@hqat/tensor` functions that compute it. */
  readonly via: string;
  /** Inputs for a seed. */
  inputs(seed: number): Tensor[];
  /** The computation. */
  f(xs: readonly Tensor[]): Tensor;
}

/** Standard normal values times `scale`. */
function normal(seed: number, shape: readonly number[], scale = 1): Tensor {
  return mul(randomNormal(randomKey(seed), shape), scale);
}

/** Uniform values in [lo, hi), each at least `gap` away from every kink. */
function awayFrom(
  seed: number,
  shape: readonly number[],
  kinks: number[],
  lo = -5,
  hi = 5,
  gap = 0.05,
): Tensor {
  const x = randomUniform(randomKey(seed), shape, { min: lo, max: hi }).data as Float32Array;
  return fromArray(
    x.map((v) => {
      for (const k of kinks) if (Math.abs(v - k) < gap) v = k + (v < k ? -gap : gap);
      return v;
    }),
    shape,
  );
}

/** Distinct values 0.1 apart in random order, so that a maximum does not switch under perturbation. */
function separated(seed: number, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = randomUniform(randomKey(seed), [n]).data as Float32Array;
  const order = Array.from(u.keys()).sort((i, j) => u[i] - u[j]);
  const vals = new Float32Array(n);
  order.forEach((idx, rank) => (vals[idx] = rank * 0.1 - n * 0.05));
  return fromArray(vals, shape);
}

const positive = (seed: number, shape: readonly number[]) =>
  randomUniform(randomKey(seed), shape, { min: 0.5, max: 2 });

const unary = (onnx: string, via: string, f: (x: Tensor) => Tensor, kinks: number[] = []): ImportOpCase => ({
  onnx,
  via,
  inputs: (s) => [kinks.length ? awayFrom(s, [2, 3, 4], kinks) : normal(s, [2, 3, 4], 2)],
  f: ([x]) => f(x),
});

const binary = (onnx: string, via: string, f: (a: Tensor, b: Tensor) => Tensor): ImportOpCase => ({
  onnx,
  via,
  inputs: (s) => [normal(s, [2, 3, 4]), onnx === "Div" ? positive(s + 1, [3, 1]) : normal(s + 1, [3, 1])],
  f: ([a, b]) => f(a, b),
});

/**
 * The ONNX operators of imported networks and how `@hqat/tensor` computes each.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { IMPORT_OP_CASES } from "./import_op_cases.ts";
 * const resize = IMPORT_OP_CASES.find((c) => c.onnx.startsWith("Resize"))!;
 * assert(resize.f(resize.inputs(1)).shape.length === 4);
 * ```
 */
export const IMPORT_OP_CASES: readonly ImportOpCase[] = [
  {
    onnx: "Conv (groups, dilation, stride, asymmetric pads, bias)",
    via: "conv2d(pad(x))",
    inputs: (s) => [normal(s, [2, 4, 7, 6]), normal(s + 1, [6, 2, 3, 2]), normal(s + 2, [6])],
    f: ([x, w, b]) =>
      conv2d(pad(x, [[0, 0], [0, 0], [1, 0], [2, 1]]), w, {
        stride: [1, 2],
        dilation: [2, 1],
        groups: 2,
        bias: b,
      }),
  },
  {
    onnx: "ConvTranspose (stride, output padding, groups, asymmetric pads)",
    via: "convTranspose2d() then slice()",
    inputs: (s) => [normal(s, [2, 4, 3, 4]), normal(s + 1, [4, 3, 3, 2])],
    f: ([x, w]) => {
      const y = convTranspose2d(x, w, { stride: 2, padding: [1, 0], outputPadding: 1, groups: 2 });
      return slice(y, [0, 0, 0, 1], [undefined, undefined, -1, undefined]);
    },
  },
  {
    onnx: "Gemm (transB, alpha, beta)",
    via: "matmul({ transB }) + mul() + add()",
    inputs: (s) => [normal(s, [3, 5]), normal(s + 1, [4, 5]), normal(s + 2, [4])],
    f: ([a, b, c]) => add(mul(matmul(a, b, { transB: true }), 0.5), mul(c, 2)),
  },
  {
    onnx: "MatMul (batch broadcasting)",
    via: "matmul()",
    inputs: (s) => [normal(s, [2, 3, 4]), normal(s + 1, [4, 5])],
    f: ([a, b]) => matmul(a, b),
  },
  {
    onnx: "BatchNormalization (inference)",
    via: "batchNormEval()",
    inputs: (s) => [normal(s, [2, 3, 4, 4]), normal(s + 1, [3]), positive(s + 2, [3]), normal(s + 3, [3])],
    f: ([x, m, v, g]) => batchNormEval(x, { mean: m, variance: v, gamma: g, beta: m, eps: 1e-5 }),
  },
  unary("Relu", "relu()", relu, [0]),
  unary("Clip", "clamp()", (x) => clamp(x, -1, 2), [-1, 2]),
  unary("LeakyRelu", "leakyRelu()", (x) => leakyRelu(x, 0.1), [0]),
  unary("Sigmoid", "sigmoid()", sigmoid),
  unary("HardSigmoid (ONNX defaults)", "hardSigmoid()", (x) => hardSigmoid(x), [-2.5, 2.5]),
  unary("HardSigmoid (PyTorch's alpha 1/6)", "hardSigmoid()", (x) => hardSigmoid(x, { alpha: 1 / 6 }), [
    -3,
    3,
  ]),
  unary("HardSwish", "hardSwish()", hardSwish, [-3, 3]),
  unary("Tanh", "tanh()", tanh),
  unary("SiLU (Mul of Sigmoid)", "silu()", silu),
  unary("Softmax", "softmax()", (x) => softmax(x, 1)),
  binary("Add", "add()", add),
  binary("Sub", "sub()", sub),
  binary("Mul", "mul()", mul),
  binary("Div", "div()", div),
  {
    onnx: "Concat",
    via: "concat()",
    inputs: (s) => [normal(s, [2, 3, 4]), normal(s + 1, [2, 1, 4])],
    f: ([a, b]) => concat([a, b], 1),
  },
  {
    onnx: "Split",
    via: "split()",
    inputs: (s) => [normal(s, [2, 5, 3])],
    // Weigh the pieces differently so that each one's gradient is seen.
    f: ([x]) => concat(split(x, [2, 3], { axis: 1 }).map((p, k) => mul(p, k + 1)).reverse(), 1),
  },
  {
    onnx: "Slice (steps, negative steps)",
    via: "slice({ steps })",
    inputs: (s) => [normal(s, [3, 7, 6])],
    f: ([x]) => slice(x, [1, -1, 0], [undefined, undefined, 5], { steps: [1, -2, 2] }),
  },
  {
    onnx: "Reshape",
    via: "reshape()",
    inputs: (s) => [normal(s, [2, 3, 4])],
    f: ([x]) => reshape(x, [4, -1]),
  },
  {
    onnx: "Transpose",
    via: "transpose()",
    inputs: (s) => [normal(s, [2, 3, 4])],
    f: ([x]) => transpose(x, [2, 0, 1]),
  },
  { onnx: "Flatten", via: "flatten()", inputs: (s) => [normal(s, [2, 3, 2, 2])], f: ([x]) => flatten(x, 1) },
  {
    onnx: "Squeeze",
    via: "squeeze()",
    inputs: (s) => [normal(s, [2, 1, 3, 1])],
    f: ([x]) => squeeze(x, [1, 3]),
  },
  {
    onnx: "Unsqueeze",
    via: "expandDims()",
    inputs: (s) => [normal(s, [2, 3])],
    f: ([x]) => expandDims(x, 1),
  },
  {
    onnx: "MaxPool (pads, ceil mode)",
    via: "maxPool2d()",
    inputs: (s) => [separated(s, [2, 2, 6, 7])],
    f: ([x]) => maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
  },
  {
    onnx: "MaxPool (asymmetric pads)",
    via: "maxPool2d(pad(x, -Infinity))",
    inputs: (s) => [separated(s, [1, 2, 5, 5])],
    f: ([x]) => maxPool2d(pad(x, [[0, 0], [0, 0], [0, 1], [1, 0]], -Infinity), 2),
  },
  {
    onnx: "AveragePool (pads, ceil mode, count_include_pad 0)",
    via: "avgPool2d()",
    inputs: (s) => [normal(s, [2, 2, 6, 7])],
    f: ([x]) => avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  {
    onnx: "AveragePool (count_include_pad 1)",
    via: "avgPool2d()",
    inputs: (s) => [normal(s, [2, 2, 6, 7])],
    f: ([x]) => avgPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 1], countIncludePad: true }),
  },
  {
    onnx: "AveragePool (asymmetric pads, count_include_pad 0)",
    via: "avgPool2d(pad(x)) / avgPool2d(pad(ones))",
    inputs: (s) => [normal(s, [1, 2, 5, 6])],
    f: ([x]) => {
      // Window sums over the zero-padded input, divided by the number of real cells in each window.
      const pads: [number, number][] = [[0, 0], [0, 0], [0, 1], [1, 0]];
      return div(avgPool2d(pad(x, pads), 2), avgPool2d(pad(ones(x.shape), pads), 2));
    },
  },
  {
    onnx: "GlobalAveragePool",
    via: "mean({ axes: [2, 3], keepDims })",
    inputs: (s) => [normal(s, [2, 3, 4, 5])],
    f: ([x]) => mean(x, { axes: [2, 3], keepDims: true }),
  },
  {
    onnx: "ReduceMean",
    via: "mean({ axes, keepDims })",
    inputs: (s) => [normal(s, [2, 3, 4])],
    f: ([x]) => mean(x, { axes: [0, 2], keepDims: false }),
  },
  {
    onnx: "Resize (linear, half_pixel)",
    via: "resize()",
    inputs: (s) => [normal(s, [2, 2, 3, 4])],
    f: ([x]) => resize(x, { size: [5, 7], mode: "linear", coordinateTransformation: "half_pixel" }),
  },
  {
    onnx: "Resize (linear, align_corners)",
    via: "resize()",
    inputs: (s) => [normal(s, [2, 2, 3, 4])],
    f: ([x]) => resize(x, { size: [7, 3], mode: "linear", coordinateTransformation: "align_corners" }),
  },
  {
    onnx: "Resize / Upsample (nearest, asymmetric, floor, scales)",
    via: "resize()",
    inputs: (s) => [normal(s, [2, 2, 3, 4])],
    f: ([x]) =>
      resize(x, {
        size: [6, 8],
        mode: "nearest",
        coordinateTransformation: "asymmetric",
        nearestMode: "floor",
        scales: [2, 2],
      }),
  },
  {
    onnx: "Resize (nearest, half_pixel, round_prefer_floor)",
    via: "resize()",
    inputs: (s) => [normal(s, [1, 2, 5, 4])],
    f: ([x]) => resize(x, { size: [3, 6], mode: "nearest", coordinateTransformation: "half_pixel" }),
  },
  {
    onnx: "Pad (constant)",
    via: "padMode()",
    inputs: (s) => [normal(s, [2, 3, 4])],
    f: ([x]) => padMode(x, [[0, 0], [1, 2], [2, -1]], { value: 0.5 }),
  },
  {
    onnx: "Pad (edge)",
    via: "padMode({ mode: 'edge' })",
    inputs: (s) => [normal(s, [1, 2, 3, 4])],
    f: ([x]) => padMode(x, [[0, 0], [0, 0], [2, 1], [1, 3]], { mode: "edge" }),
  },
  {
    onnx: "Pad (reflect)",
    via: "padMode({ mode: 'reflect' })",
    inputs: (s) => [normal(s, [1, 2, 3, 4])],
    f: ([x]) => padMode(x, [[0, 0], [0, 0], [2, 1], [1, 3]], { mode: "reflect" }),
  },
  { onnx: "Identity", via: "the input itself", inputs: (s) => [normal(s, [2, 3])], f: ([x]) => x },
  {
    onnx: "Dropout (training, fixed key)",
    via: "dropout()",
    inputs: (s) => [normal(s, [4, 5])],
    f: ([x]) => dropout(randomKey(11), x, 0.3),
  },
];
