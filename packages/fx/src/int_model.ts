/**
 * The fixed-point model that `convertFx` produces: integer nodes with their integer weights, int32
 * biases and scales, run by `@hqat/qtensor`'s integer reference kernels — the one integer definition
 * the compiled `.hbm` runtime and every backend must equal.
 * @module
 */
import {
  dequantStub,
  type FusedActivation,
  intAdaptiveAvgPool2d,
  intAdd,
  intAvgPool2d,
  intCat,
  intConv2d,
  intLinear,
  intMaxPool2d,
  type IntOutput,
  intRelu,
  intRelu6,
  type QDType,
  type QTensor,
  qtensor,
  quantStub,
} from "@hqat/qtensor";

/** A pair of sizes. */
export type IntPair = readonly [number, number];

/** Integer node kinds and their fields. */
export type IntOp =
  | { op: "input" }
  | { op: "quantize"; scale: number; dtype: "qint8" | "qint16" }
  | {
    op: "conv2d";
    weight: Int8Array;
    weightShape: readonly number[];
    weightScale: Float32Array;
    bias?: Int32Array;
    stride: IntPair;
    padding: IntPair;
    dilation: IntPair;
    groups: number;
    output: IntOutput;
    act?: FusedActivation;
  }
  | {
    op: "linear";
    weight: Int8Array;
    weightShape: readonly number[];
    weightScale: Float32Array;
    bias?: Int32Array;
    output: IntOutput;
    act?: FusedActivation;
  }
  | { op: "add"; output: { dtype: "qint8" | "qint16"; scale: number }; act?: FusedActivation }
  | { op: "cat"; axis: number; output: { dtype: "qint8" | "qint16"; scale: number } }
  | { op: "avg_pool2d"; kernel: IntPair; stride: IntPair; padding: IntPair; output: { dtype: "qint8" | "qint16"; scale: number } }
  | { op: "adaptive_avg_pool2d"; outputSize: IntPair; output: { dtype: "qint8" | "qint16"; scale: number } }
  | { op: "max_pool2d"; kernel: IntPair; stride: IntPair; padding: IntPair }
  | { op: "relu" }
  | { op: "relu6" }
  | { op: "flatten"; startDim: number }
  | { op: "identity" }
  | { op: "dequantize" };

/** One integer node. */
export interface IntNode {
  /** Unique name (the float graph's node name). */
  readonly name: string;
  /** Input node names. */
  readonly inputs: readonly string[];
  /** What it computes. */
  readonly kind: IntOp;
  /** Output shape for the example batch. */
  readonly shape: readonly number[];
  /** Output dtype ("float32" after dequantize). */
  readonly dtype: QDType | "float32";
  /** Output scale (one value, or one per channel along axis 1 for 32-bit outputs). */
  readonly scale: Float32Array;
}

/** The fixed-point model. */
export interface IntModel {
  /** Format tag. */
  readonly format: "hqat-int-model";
  /** Format version. */
  readonly version: 1;
  /** The target the model was prepared for. */
  readonly march: string;
  /** Nodes in topological order; the first is the input, the last the output. */
  readonly nodes: readonly IntNode[];
}

/** What {@linkcode runIntModel} returns. */
export interface IntRunResult {
  /** The dequantized output (float32), as the model's DeQuantStub gives it. */
  output: Float32Array;
  /** The output shape. */
  shape: number[];
  /** The integer output before DeQuantStub (the node feeding it). */
  raw: QTensor;
  /** Every node's integer output, when asked for (`keepAll`). */
  all?: Map<string, QTensor>;
}

function reshapeQ(q: QTensor, shape: number[]): QTensor {
  return { ...q, shape };
}

/**
 * Runs the fixed-point model on a float input batch (NCHW), node by node with the integer reference
 * kernels.
 *
 * @example
 * ```ts
 * import { runIntModel, type IntModel } from "@hqat/fx";
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 *   { name: "quant", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "dequant", inputs: ["quant"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 * ] };
 * const r = runIntModel(m, new Float32Array([0.74, -3]), [1, 2]);
 * console.assert(r.output.join() === "0.5,-3" && r.raw.data.join() === "1,-6");
 * ```
 */
export function runIntModel(
  model: IntModel,
  input: Float32Array,
  shape: readonly number[],
  options: { keepAll?: boolean } = {},
): IntRunResult {
  const values = new Map<string, QTensor>();
  let output: Float32Array | undefined, raw: QTensor | undefined, outShape: number[] = [];
  for (const n of model.nodes) {
    const k = n.kind;
    if (k.op === "input") continue;
    const ins = k.op === "quantize" ? [] : n.inputs.map((i) => {
      const v = values.get(i);
      if (!v) throw new RangeError(`Int model node "${n.name}" reads "${i}", which has no integer value`);
      return v;
    });
    let y: QTensor | undefined;
    switch (k.op) {
      case "quantize":
        y = quantStub(input, { shape, scale: k.scale, dtype: k.dtype });
        break;
      case "conv2d":
        y = intConv2d(ins[0], qtensor(k.weight, { shape: k.weightShape, scale: k.weightScale, axis: 0, dtype: "qint8" }), {
          stride: k.stride,
          padding: k.padding,
          dilation: k.dilation,
          groups: k.groups,
          quantizedBias: k.bias,
          output: k.output,
          activation: k.act,
        });
        break;
      case "linear":
        y = intLinear(ins[0], qtensor(k.weight, { shape: k.weightShape, scale: k.weightScale, axis: 0, dtype: "qint8" }), {
          quantizedBias: k.bias,
          output: k.output,
          activation: k.act,
        });
        break;
      case "add":
        y = intAdd(ins[0], ins[1], { output: k.output, activation: k.act });
        break;
      case "cat":
        y = intCat(ins, { axis: k.axis, output: k.output });
        break;
      case "avg_pool2d":
        y = intAvgPool2d(ins[0], { kernelSize: k.kernel, stride: k.stride, padding: k.padding, output: k.output });
        break;
      case "adaptive_avg_pool2d":
        y = intAdaptiveAvgPool2d(ins[0], { outputSize: k.outputSize, output: k.output });
        break;
      case "max_pool2d":
        y = intMaxPool2d(ins[0], { kernelSize: k.kernel, stride: k.stride, padding: k.padding });
        break;
      case "relu":
        y = intRelu(ins[0]);
        break;
      case "relu6":
        y = intRelu6(ins[0]);
        break;
      case "flatten": {
        const s = ins[0].shape;
        y = reshapeQ(ins[0], [...s.slice(0, k.startDim), s.slice(k.startDim).reduce((a, b) => a * b, 1)]);
        break;
      }
      case "identity":
        y = ins[0];
        break;
      case "dequantize":
        raw = ins[0];
        output = dequantStub(ins[0]);
        outShape = [...ins[0].shape];
        continue;
    }
    values.set(n.name, y);
  }
  if (!output || !raw) throw new RangeError("Int model has no dequantize node");
  const result: IntRunResult = { output, shape: outShape, raw };
  if (options.keepAll) result.all = values;
  return result;
}
