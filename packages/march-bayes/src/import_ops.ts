/**
 * The BAYES operator-table entries of the operators that imported networks add (constants, table
 * activations, data movement, resize, reductions, matmul, transposed convolution, softmax), each with
 * where its dtypes and limits come from: a row of the plugin's supported-operator table, or "hqat
 * choice" with the reason where nothing public fixes it.
 * @module
 */

import { channelsIn, channelsOut, maxLimit, type OpEntry, pairOf, row, times } from "./limit.ts";

/**
 * The entry of an activation the integer model computes by table lookup (`lut`): qint8 or qint16 in and
 * out, as the plugin's Bayes column gives for its table-lookup rows ("底层查表实现", e.g. torch.acos).
 */
const lookup = (op: string, torch: string): OpEntry => ({
  op,
  torch,
  minInputs: 1,
  maxInputs: 1,
  inputDtypes: ["qint8", "qint16"],
  outputDtypes: ["qint8", "qint16"],
  dtypeSource: `${
    row(torch)
  }; a table lookup over the input grid, as the plugin's table-lookup rows (torch.acos) state`,
  limits: [],
});

/** The entry of a data movement: the values move, dtype and scale are kept; no published limit. */
const movement = (op: string, torch: string): OpEntry => ({
  op,
  torch,
  minInputs: 1,
  maxInputs: 1,
  inputDtypes: ["qint8", "qint16", "qint32"],
  outputDtypes: "same-as-input",
  dtypeSource: "hqat choice: data movement copies integers and keeps dtype and scale; hqat knows no " +
    "published limit of it beyond the general ones",
  limits: [],
});

/**
 * The entries, keyed by op name; `BAYES_OP_TABLE` includes them.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { IMPORT_OP_ENTRIES } from "./import_ops.ts";
 * assert(IMPORT_OP_ENTRIES.constant.minInputs === 0);
 * ```
 */
export const IMPORT_OP_ENTRIES: Readonly<Record<string, OpEntry>> = {
  constant: {
    op: "constant",
    torch: "a constant tensor operand (torch.Tensor)",
    minInputs: 0,
    maxInputs: 0,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource: "hqat choice: a constant operand of add, sub or mul, quantized with its own scale and " +
      "loaded like a feature (the plugin's add row asks for add_scalar when an operand is a scalar)",
    limits: [],
  },
  sigmoid: lookup("sigmoid", "torch.nn.Sigmoid"),
  tanh: lookup("tanh", "torch.nn.Tanh"),
  hardswish: lookup("hardswish", "torch.nn.Hardswish"),
  hardsigmoid: lookup("hardsigmoid", "torch.nn.Hardsigmoid"),
  silu: lookup("silu", "torch.nn.SiLU"),
  leaky_relu: lookup("leaky_relu", "torch.nn.LeakyReLU"),
  clip: lookup("clip", "torch.clamp"),
  exp: lookup("exp", "torch.exp"),
  transpose: movement("transpose", "torch.Tensor.permute"),
  slice: movement("slice", "torch.Tensor.__getitem__"),
  matmul: {
    op: "matmul",
    torch: "torch.matmul",
    minInputs: 2,
    maxInputs: 2,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16", "qint32"],
    dtypeSource: "hqat choice: a product of two activations on the MAC array, taking and giving what " +
      "Conv2d takes and gives (" + row("torch.nn.Conv2d") + ")",
    limits: [
      maxLimit(
        "matmul.k",
        "reduction length",
        "k ≤ 8192",
        8192,
        "hqat choice: the reduction of a Linear layer (in_features ≤ 8192, " + row("torch.nn.Linear") +
          "), as a matmul runs on the same MAC array",
        (l) => [l.inputs[0]?.shape.at(-1) ?? 1],
      ),
    ],
  },
  conv_transpose2d: {
    op: "conv_transpose2d",
    torch: "torch.nn.ConvTranspose2d",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16", "qint32"],
    dtypeSource: `hqat choice: what Conv2d takes and gives (${row("torch.nn.Conv2d")}), as a transposed ` +
      "convolution runs as a convolution of the zero-inserted input",
    limits: [
      maxLimit(
        "conv_transpose2d.kernel",
        "kernel",
        "kernel < 32 per side",
        31,
        `hqat choice: the Conv2d kernel bound (${row("torch.nn.Conv2d")})`,
        (l) => pairOf(l.attrs.kernel, 1),
        times,
      ),
      maxLimit(
        "conv_transpose2d.channels",
        "channels",
        "input and output channels ≤ 8192",
        8192,
        `hqat choice: the Conv2d channel bound (${row("torch.nn.Conv2d")})`,
        (l) => [channelsIn(l), channelsOut(l)],
      ),
      maxLimit(
        "conv_transpose2d.stride",
        "stride",
        "stride ≤ 16",
        16,
        "hqat choice: a zero-inserted input of at most 16× per side, the Conv2d dilation bound",
        (l) => pairOf(l.attrs.stride, 1),
        times,
      ),
    ],
  },
  softmax: {
    op: "softmax",
    torch: "torch.nn.Softmax",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource:
      "hqat choice: the integer softmax is hqat's (an exp table of the input scale, an int32 sum " +
      "and a division into 16-bit probabilities), taking and giving int8 and int16 as the table-lookup rows",
    limits: [
      maxLimit(
        "softmax.row",
        "row length",
        "at most 65535 elements along the axis",
        65535,
        "hqat choice: the int32 sum of 2^15-scaled exp values",
        (l) => l.attrs.axes?.map((a) => l.inputs[0]?.shape[a] ?? 1),
      ),
    ],
  },
  mean: {
    op: "mean",
    torch: "torch.mean",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource: "hqat choice: the mean is computed as SPEC.md's average pooling (an int32 sum, then a " +
      "requantization), taking int8 and int16 as the integer add and pooling do",
    limits: [
      maxLimit(
        "mean.count",
        "elements per mean",
        "at most 65536 elements per mean",
        65536,
        "hqat choice: the int32 sum of int16 values (count · 32768 ≤ 2^31)",
        (l) =>
          l.attrs.axes ? [l.attrs.axes.reduce((p, a) => p * (l.inputs[0]?.shape[a] ?? 1), 1)] : undefined,
      ),
    ],
  },
};
