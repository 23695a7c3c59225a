/**
 * QDQ export rules of the arithmetic kinds: the weighted layers (int8 weights through a per-channel
 * DequantizeLinear, int32 biases through one of scale `sx · sw[c]`), the elementwise kinds, pooling,
 * mean, matmul and softmax — each the float ONNX op on dequantized inputs, whose result the exporter
 * quantizes to the output buffer, so that onnxruntime fuses the int8 ones into its integer kernels.
 * @module
 */
import {
  accumulatorScale,
  type AddInstr,
  type AvgPool2dInstr,
  type Conv2dInstr,
  type ConvTranspose2dInstr,
  type LinearInstr,
  type MatmulInstr,
  type MulInstr,
  type ReduceMeanInstr,
  type SoftmaxInstr,
  type SubInstr,
} from "@hqat/program";
import {
  allInt8,
  arithmeticNote,
  type QdqContext,
  type QdqRule,
  type QdqValue,
  REQUANT_REASON,
} from "./export_qdq_rule.ts";

/** The weights through a DequantizeLinear with one scale per index of `axis`, and the int32 bias. */
function weightAndBias(
  i: Conv2dInstr | LinearInstr | ConvTranspose2dInstr,
  ctx: QdqContext,
  axis: 0 | 1,
): { weight: string; bias?: string; accScale: Float32Array } {
  const w = ctx.g.initializer(`${i.name}.weight_quantized`, "int8", i.weightShape, i.weight);
  const weight = ctx.op("DequantizeLinear", [
    w,
    ctx.scale(i.weightScale),
    zeros(ctx, "int8", i.weightScale.length),
  ], {
    axis,
  });
  const accScale = accumulatorScale(ctx.buffers[0].scale[0], i.weightScale);
  if (!i.bias) return { weight, accScale };
  return { weight, bias: biasOf(i.name, i.bias, accScale, ctx), accScale };
}

/** Zero points of `elem` for `n` scales (a scalar for one). */
const zeros = (ctx: QdqContext, elem: "int8" | "int32", n: number) =>
  ctx.g.initializer("zero_point", elem, n === 1 ? [] : [n], new Array(n).fill(0));

/** The int32 bias through a DequantizeLinear of scale `sx · sw[c]`. */
function biasOf(name: string, bias: Int32Array, accScale: Float32Array, ctx: QdqContext): string {
  const b = ctx.g.initializer(`${name}.bias_quantized`, "int32", [bias.length], bias);
  return ctx.op("DequantizeLinear", [b, ctx.scale(accScale), zeros(ctx, "int32", accScale.length)], {
    axis: 0,
  });
}

const acc = (float: string, scale: Float32Array): QdqValue => ({ float, grid: { dtype: "qint32", scale } });

const pairs = (p: readonly [number, number]) => [p[0], p[1], p[0], p[1]];

/**
 * `conv2d`: Conv on the dequantized input and weights, the bias dequantized (QLinearConv in onnxruntime
 * for int8 input and output).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONV2D_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 1, 4, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(CONV2D_QDQ.ort({} as never, { ins: [b], out: b }).integer);
 * ```
 */
export const CONV2D_QDQ: QdqRule<Conv2dInstr> = {
  emit: (i, ctx) => {
    const { weight, bias, accScale } = weightAndBias(i, ctx, 0);
    const y = ctx.op("Conv", [ctx.ins[0].float, weight, ...(bias ? [bias] : [])], {
      kernel_shape: [i.weightShape[2], i.weightShape[3]],
      strides: [...i.stride],
      pads: pairs(i.padding),
      dilations: [...i.dilation],
      group: i.groups,
    });
    return acc(y, accScale);
  },
  ort: (_i, { ins, out }) => arithmeticNote("QLinearConv", "Conv", ins, out),
};

/**
 * `linear`: Gemm with the `[O, K]` weights transposed (the input flattened to `[N, K]` first when it is
 * not 2-d).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { LINEAR_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(LINEAR_QDQ.ort({} as never, { ins: [b], out: b }).reason.startsWith("QGemm"));
 * ```
 */
export const LINEAR_QDQ: QdqRule<LinearInstr> = {
  emit: (i, ctx) => {
    const { weight, bias, accScale } = weightAndBias(i, ctx, 0);
    const x = flat(ctx);
    const y = ctx.op("Gemm", [x, weight, ...(bias ? [bias] : [])], {
      alpha: { f: 1 },
      beta: { f: 1 },
      transB: 1,
    });
    return acc(y, accScale);
  },
  ort: (_i, { ins, out }) =>
    ins[0].dtype === "qint8" && out.dtype === "qint32"
      ? {
        integer: true,
        exact: false,
        reason:
          "QGemm with a float output (a 32-bit output has no QuantizeLinear); float32 rounding of the scales",
      }
      : arithmeticNote("QGemm", "Gemm", ins, out),
};

/**
 * A linear layer's input as `[N, K]`: a lowered program reads a 4-d buffer flat, so it is flattened and
 * quantized again at its scale (onnxruntime moves the integers and the Gemm still reads a DequantizeLinear).
 */
function flat(ctx: QdqContext): string {
  const v = ctx.ins[0];
  if (ctx.buffers[0].shape.length === 2) return v.float;
  const f = ctx.op("Flatten", [v.float], { axis: 1 });
  return v.quant && v.grid ? ctx.quantize(f, v.grid).float : f;
}

/** Where a transposed convolution's per-output-channel scales run: axis 1, axis 0, or neither. */
function transposeAxis(i: ConvTranspose2dInstr): 0 | 1 | undefined {
  const [cin, coutG] = i.weightShape;
  if (i.groups === 1) return 1;
  if (coutG === 1 && cin === i.groups) return 0;
  return undefined;
}

/**
 * `conv_transpose2d`: ConvTranspose. The weights `[Cin, Cout/g, kh, kw]` take their per-output-channel
 * scales on axis 1 (one group), axis 0 (one output channel per group of one input channel), or else
 * are written dequantized as float32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONV_TRANSPOSE2D_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 1, 4, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(!CONV_TRANSPOSE2D_QDQ.ort({ groups: 1, weightShape: [1, 1, 2, 2] } as never, { ins: [b], out: b }).integer);
 * ```
 */
export const CONV_TRANSPOSE2D_QDQ: QdqRule<ConvTranspose2dInstr> = {
  emit: (i, ctx) => {
    const axis = transposeAxis(i);
    let weight: string, bias: string | undefined, accScale: Float32Array;
    if (axis !== undefined) ({ weight, bias, accScale } = weightAndBias(i, ctx, axis));
    else {
      const [cin, coutG, kh, kw] = i.weightShape, per = kh * kw, inG = cin / i.groups;
      const w = Float32Array.from(i.weight, (q, e) => {
        const ci = Math.floor(e / (coutG * per)), j = Math.floor(e / per) % coutG;
        return q * i.weightScale[Math.floor(ci / inG) * coutG + j];
      });
      weight = ctx.g.initializer(`${i.name}.weight`, "float32", i.weightShape, w);
      accScale = accumulatorScale(ctx.buffers[0].scale[0], i.weightScale);
      if (i.bias) bias = biasOf(i.name, i.bias, accScale, ctx);
    }
    const y = ctx.op("ConvTranspose", [ctx.ins[0].float, weight, ...(bias ? [bias] : [])], {
      kernel_shape: [i.weightShape[2], i.weightShape[3]],
      strides: [...i.stride],
      pads: pairs(i.padding),
      output_padding: [...i.outputPadding],
      dilations: [...i.dilation],
      group: i.groups,
    });
    return acc(y, accScale);
  },
  ort: (i) => ({
    integer: false,
    exact: false,
    reason:
      "float ConvTranspose between DequantizeLinear and QuantizeLinear (onnxruntime's CPU provider fuses no " +
      `QDQ ConvTranspose)${
        transposeAxis(i) === undefined
          ? ", weights written dequantized (per-channel scales across two axes)"
          : ""
      }; ${REQUANT_REASON}`,
  }),
};

/**
 * `matmul`: MatMul of the two dequantized activations (QLinearMatMul for int8).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MATMUL_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 2, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(MATMUL_QDQ.ort({} as never, { ins: [b, b], out: b }).integer);
 * ```
 */
export const MATMUL_QDQ: QdqRule<MatmulInstr> = {
  emit: (_i, ctx) => {
    const scale = Float32Array.of(ctx.buffers[0].scale[0] * ctx.buffers[1].scale[0]);
    return acc(ctx.op("MatMul", [ctx.ins[0].float, ctx.ins[1].float]), scale);
  },
  ort: (_i, { ins, out }) => arithmeticNote("QLinearMatMul", "MatMul", ins, out),
};

/** An elementwise rule: `op` of the two dequantized inputs (ONNX broadcasting). */
function elementwise<I extends AddInstr | SubInstr | MulInstr>(
  op: string,
  note: (ins: Parameters<QdqRule<I>["ort"]>[1]) => ReturnType<QdqRule<I>["ort"]>,
): QdqRule<I> {
  return {
    emit: (_i, ctx) => ({ float: ctx.op(op, [ctx.ins[0].float, ctx.ins[1].float]) }),
    ort: (_i, c) => note(c),
  };
}

/**
 * `add`: Add (QLinearAdd for int8). SPEC.md's alignment rounds the smaller scale's multiplier `t`;
 * the float sum does not.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ADD_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(ADD_QDQ.ort({} as never, { ins: [b, b], out: b }).reason.startsWith("QLinearAdd"));
 * ```
 */
export const ADD_QDQ: QdqRule<AddInstr> = elementwise(
  "Add",
  ({ ins, out }) => arithmeticNote("QLinearAdd", "Add", ins, out),
);

/**
 * `sub`: Sub, a float op between DequantizeLinear and QuantizeLinear (onnxruntime has no QLinearSub).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SUB_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(!SUB_QDQ.ort({} as never, { ins: [b, b], out: b }).integer);
 * ```
 */
export const SUB_QDQ: QdqRule<SubInstr> = elementwise("Sub", () => ({
  integer: false,
  exact: false,
  reason:
    `float Sub between DequantizeLinear and QuantizeLinear (onnxruntime fuses no QDQ Sub); ${REQUANT_REASON}`,
}));

/**
 * `mul`: Mul (QLinearMul for int8).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MUL_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(MUL_QDQ.ort({} as never, { ins: [b, b], out: b }).integer);
 * ```
 */
export const MUL_QDQ: QdqRule<MulInstr> = elementwise(
  "Mul",
  ({ ins, out }) => arithmeticNote("QLinearMul", "Mul", ins, out),
);

/**
 * `avg_pool2d`: AveragePool with PyTorch's ceil mode and divisor (QLinearAveragePool for int8).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AVG_POOL2D_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 1, 4, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(AVG_POOL2D_QDQ.ort({} as never, { ins: [b], out: b }).integer);
 * ```
 */
export const AVG_POOL2D_QDQ: QdqRule<AvgPool2dInstr> = {
  emit: (i, ctx) => ({
    float: ctx.op("AveragePool", [ctx.ins[0].float], {
      kernel_shape: [...i.kernel],
      strides: [...i.stride],
      pads: pairs(i.padding),
      ceil_mode: i.ceilMode ? 1 : 0,
      count_include_pad: i.countIncludePad === false ? 0 : 1,
    }),
  }),
  ort: (_i, { ins, out }) => arithmeticNote("QLinearAveragePool", "AveragePool", ins, out),
};

/**
 * `reduce_mean`: ReduceMean over the axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { REDUCE_MEAN_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 2, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(!REDUCE_MEAN_QDQ.ort({} as never, { ins: [b], out: b }).integer);
 * ```
 */
export const REDUCE_MEAN_QDQ: QdqRule<ReduceMeanInstr> = {
  emit: (i, ctx) => ({
    float: ctx.op("ReduceMean", [ctx.ins[0].float, ctx.int64s(i.axes)], { keepdims: i.keepDims ? 1 : 0 }),
  }),
  ort: () => ({
    integer: false,
    exact: false,
    reason:
      `float ReduceMean between DequantizeLinear and QuantizeLinear (onnxruntime fuses no QDQ ReduceMean); ${REQUANT_REASON}`,
  }),
};

/**
 * `softmax`: Softmax along the axis. hqat's integer softmax (an exp table of 2^-15 steps, probabilities
 * of 2^-16) is its own, so the float softmax differs from it by about one output step.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SOFTMAX_QDQ } from "./export_qdq_compute.ts";
 * const b = { name: "x", shape: [1, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(!SOFTMAX_QDQ.ort({} as never, { ins: [b], out: b }).exact);
 * ```
 */
export const SOFTMAX_QDQ: QdqRule<SoftmaxInstr> = {
  emit: (i, ctx) => ({ float: ctx.op("Softmax", [ctx.ins[0].float], { axis: i.axis }) }),
  ort: (_i, { ins, out }) => {
    const why = "hqat's integer softmax (exp table, 2^-16 probabilities) is not the float one";
    return allInt8(ins, out) ? { integer: true, exact: false, reason: `QLinearSoftmax; ${why}` } : {
      integer: false,
      exact: false,
      reason: `float Softmax between DequantizeLinear and QuantizeLinear; ${why}`,
    };
  },
};
