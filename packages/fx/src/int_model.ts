/**
 * The fixed-point model that `convertFx` produces: integer nodes with their integer weights, int32
 * biases and scales, run by `@hqat/qtensor`'s integer kernels — the one integer definition the
 * compiled `.hbm` runtime and every backend must equal. Conv2d and Linear accumulate on `@hqat/tensor`'s
 * fast exact kernels (WebAssembly SIMD), which give the reference kernels' integers bit for bit, then
 * requantize with `@hqat/qtensor`'s `finishAccumulator`; `{ reference: true }` runs the reference
 * kernels throughout.
 * @module
 */
import { intConv2dAccumulateFast, intLinearAccumulateFast } from "@hqat/tensor";
import {
  dequantStub,
  finishAccumulator,
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
  prepareIntLayer,
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
  | {
    op: "avg_pool2d";
    kernel: IntPair;
    stride: IntPair;
    padding: IntPair;
    output: { dtype: "qint8" | "qint16"; scale: number };
  }
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

type ConvOp = Extract<IntOp, { op: "conv2d" }>;
type LinearOp = Extract<IntOp, { op: "linear" }>;

function weightOf(k: ConvOp | LinearOp): QTensor {
  return qtensor(k.weight, { shape: k.weightShape, scale: k.weightScale, axis: 0, dtype: "qint8" });
}

/** `intConv2d` with the accumulation on the fast kernels: the same checks, scales and requantization. */
function conv2dFast(x: QTensor, k: ConvOp): QTensor {
  const w = weightOf(k);
  const layer = prepareIntLayer(x, w, { quantizedBias: k.bias, op: "intConv2d()" });
  const geo = { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups };
  const data = intConv2dAccumulateFast(
    x.data as Int8Array | Int16Array,
    x.shape,
    w.data as Int8Array,
    w.shape,
    geo,
    layer.bias,
  );
  const [n, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * k.padding[0] - k.dilation[0] * (kh - 1) - 1) / k.stride[0]) + 1;
  const ow = Math.floor((wd + 2 * k.padding[1] - k.dilation[1] * (kw - 1) - 1) / k.stride[1]) + 1;
  return finishAccumulator(data, {
    shape: [n, o, oh, ow],
    axis: 1,
    accScale: { numerator: layer.accScale, divisor: 1 },
    output: k.output,
    activation: k.act,
  });
}

/** `intLinear` with the accumulation on the fast kernels: the same checks, scales and requantization. */
function linearFast(x: QTensor, k: LinearOp): QTensor {
  const w = weightOf(k);
  const layer = prepareIntLayer(x, w, { quantizedBias: k.bias, op: "intLinear()" });
  const data = intLinearAccumulateFast(
    x.data as Int8Array | Int16Array,
    x.shape,
    w.data as Int8Array,
    w.shape,
    layer.bias,
  );
  const shape = [...x.shape.slice(0, -1), w.shape[0]];
  return finishAccumulator(data, {
    shape,
    axis: shape.length - 1,
    accScale: { numerator: layer.accScale, divisor: 1 },
    output: k.output,
    activation: k.act,
  });
}

/** Options of {@linkcode runIntModel}. */
export interface RunIntModelOptions {
  /** Keep every node's integer output in `all`. */
  readonly keepAll?: boolean;
  /**
   * Run Conv2d and Linear on `@hqat/qtensor`'s reference kernels (`intConv2d`, `intLinear`) instead of
   * the fast accumulators; the integers are the same, only slower. For checking the fast path.
   */
  readonly reference?: boolean;
}

/**
 * Runs the fixed-point model on a float input batch (NCHW), node by node with the integer kernels:
 * Conv2d and Linear accumulate on the fast exact kernels of `@hqat/tensor` unless `reference` is set,
 * which gives the same integers on `@hqat/qtensor`'s reference kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runIntModel, type IntModel } from "@hqat/fx";
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 *   { name: "quant", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "dequant", inputs: ["quant"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 * ] };
 * const r = runIntModel(m, new Float32Array([0.74, -3]), [1, 2]);
 * assert(r.output.join() === "0.5,-3" && r.raw.data.join() === "1,-6");
 * assert(runIntModel(m, new Float32Array([0.74, -3]), [1, 2], { reference: true }).raw.data.join() === "1,-6");
 * ```
 */
export function runIntModel(
  model: IntModel,
  input: Float32Array,
  shape: readonly number[],
  options: RunIntModelOptions = {},
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
        y = options.reference
          ? intConv2d(ins[0], weightOf(k), {
            stride: k.stride,
            padding: k.padding,
            dilation: k.dilation,
            groups: k.groups,
            quantizedBias: k.bias,
            output: k.output,
            activation: k.act,
          })
          : conv2dFast(ins[0], k);
        break;
      case "linear":
        y = options.reference
          ? intLinear(ins[0], weightOf(k), { quantizedBias: k.bias, output: k.output, activation: k.act })
          : linearFast(ins[0], k);
        break;
      case "add":
        y = intAdd(ins[0], ins[1], { output: k.output, activation: k.act });
        break;
      case "cat":
        y = intCat(ins, { axis: k.axis, output: k.output });
        break;
      case "avg_pool2d":
        y = intAvgPool2d(ins[0], {
          kernelSize: k.kernel,
          stride: k.stride,
          padding: k.padding,
          output: k.output,
        });
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
