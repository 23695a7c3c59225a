/**
 * QDQ export rules of the kinds that move or look up integers: the model input and output, constants,
 * table lookups (an exact Gather of the table on the integers), reshape, transpose, slice, pad, resize,
 * max pooling and concatenation. Data movement runs on the dequantized values and is quantized again at
 * the same scale — exact, and onnxruntime drops the Q/DQ pair and moves the int8 values.
 * @module
 */
import type {
  CatInstr,
  ConstantInstr,
  DequantizeInstr,
  LutInstr,
  MaxPool2dInstr,
  MoveInstr,
  PadInstr,
  QuantizeInstr,
  ResizeInstr,
  SliceInstr,
  TransposeInstr,
} from "@hqat/program";
import { type OrtNote, type QdqRule, type QdqValue, REQUANT_REASON } from "./export_qdq_rule.ts";

const moved: OrtNote = {
  integer: true,
  exact: true,
  reason:
    "data movement, quantized again at the same scale: onnxruntime drops the Q/DQ pair and moves the integers",
};

/** MaxPool and nearest Resize: onnxruntime drops their Q/DQ pair for 8-bit values only. */
const moved8 = (op: string, dtype: string): OrtNote =>
  dtype === "qint8"
    ? { integer: true, exact: true, reason: `${op} on the int8 values (onnxruntime drops the Q/DQ pair)` }
    : {
      integer: false,
      exact: true,
      reason:
        `float ${op} between DequantizeLinear and QuantizeLinear (onnxruntime moves 16-bit values as floats); exact`,
    };

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** A movement of `ctx.ins[0]` by `op`: the result stays on the input's grid. */
const movedValue = (v: QdqValue, float: string): QdqValue => ({ float, grid: v.grid, batchOne: v.batchOne });

/**
 * `quantize`: QuantizeLinear of the graph input at the QuantStub's scale (float32 division, round half
 * to even, saturating: SPEC.md's quantize), then DequantizeLinear.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QUANTIZE_QDQ } from "./export_qdq_data.ts";
 * assert(QUANTIZE_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const QUANTIZE_QDQ: QdqRule<QuantizeInstr> = {
  emit: (i, ctx) => ctx.quantize(ctx.input, { dtype: ctx.out.dtype, scale: Float32Array.of(i.scale) }),
  ort: () => ({
    integer: true,
    exact: true,
    reason: "QuantizeLinear: SPEC.md's quantize (float32 division, half to even)",
  }),
};

/**
 * `dequantize`: the dequantized value is the graph output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DEQUANTIZE_QDQ } from "./export_qdq_data.ts";
 * assert(DEQUANTIZE_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const DEQUANTIZE_QDQ: QdqRule<DequantizeInstr> = {
  emit: (_i, ctx) => ({ float: ctx.fullBatch(ctx.ins[0], ctx.out.shape) }),
  ort: () => ({ integer: true, exact: true, reason: "DequantizeLinear: q · scale in float32" }),
};

/**
 * `constant`: the frame's integers as an initializer with batch 1, dequantized (broadcast by the ops that
 * read it, expanded where the full batch is needed).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONSTANT_QDQ } from "./export_qdq_data.ts";
 * assert(CONSTANT_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const CONSTANT_QDQ: QdqRule<ConstantInstr> = {
  emit: (i, ctx) => {
    const dtype = i.data instanceof Int16Array ? "qint16" : "qint8";
    const quant = ctx.ints(`${i.name}.quantized`, dtype, [1, ...ctx.out.shape.slice(1)], i.data);
    const grid = { dtype: ctx.out.dtype, scale: ctx.out.scale };
    const zp = ctx.ints("zero_point", dtype, [], [0]);
    return {
      float: ctx.op("DequantizeLinear", [quant, ctx.scale(ctx.out.scale), zp]),
      quant,
      grid,
      batchOne: true,
    };
  },
  ort: () => ({
    integer: false,
    exact: true,
    reason: "the stored integers, dequantized (a constant onnxruntime may fold to float32)",
  }),
};

/**
 * `lut`: the table looked up on the integers — `Gather(table, Cast(q) − qmin)` on the input's int8/int16
 * values, dequantized at the output scale. Exact for every activation, whatever its parameters.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { LUT_QDQ } from "./export_qdq_data.ts";
 * assert(LUT_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const LUT_QDQ: QdqRule<LutInstr> = {
  emit: (i, ctx) => {
    const x = ctx.ins[0];
    const q = x.quant ??
      ctx.quantize(x.float, { dtype: ctx.buffers[0].dtype, scale: ctx.buffers[0].scale }).quant!;
    const inDtype = ctx.buffers[0].dtype === "qint16" ? "qint16" : "qint8";
    const dtype: "qint8" | "qint16" = i.table instanceof Int16Array ? "qint16" : "qint8";
    const table = ctx.ints(`${i.name}.table`, dtype, [i.table.length], i.table);
    // Entry `q − qmin` holds input `q`; the stored input is `q + zeroPoint`.
    const shift = (inDtype === "qint8" ? 128 : 32768) - ctx.stored(inDtype).zeroPoint;
    const cast = ctx.op("Cast", [q], { to: 6 });
    const index = shift === 0
      ? cast
      : ctx.op("Add", [cast, ctx.g.initializer("offset", "int32", [], [shift])]);
    const quant = ctx.op("Gather", [table, index], { axis: 0 });
    const grid = { dtype, scale: ctx.out.scale };
    const zp = ctx.ints("zero_point", dtype, [], [0]);
    return {
      float: ctx.op("DequantizeLinear", [quant, ctx.scale(ctx.out.scale), zp]),
      quant,
      grid,
      batchOne: x.batchOne,
    };
  },
  ort: (i) => ({
    integer: true,
    exact: true,
    reason: `${i.activation}: the program's table gathered on the integers (Cast, Add, Gather)`,
  }),
};

/**
 * `move`: Reshape to the output's shape (the batch dimension kept), or nothing for an identity; its
 * stages are the exporter's.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MOVE_QDQ } from "./export_qdq_data.ts";
 * assert(MOVE_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const MOVE_QDQ: QdqRule<MoveInstr> = {
  emit: (_i, ctx) => {
    const x = ctx.ins[0];
    if (sameShape(ctx.buffers[0].shape, ctx.out.shape)) return x;
    return movedValue(x, ctx.op("Reshape", [x.float, ctx.int64s([0, ...ctx.out.shape.slice(1)])]));
  },
  ort: () => moved,
};

/**
 * `transpose`: Transpose by the permutation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { TRANSPOSE_QDQ } from "./export_qdq_data.ts";
 * assert(TRANSPOSE_QDQ.ort({} as never, { ins: [], out: {} as never }).integer);
 * ```
 */
export const TRANSPOSE_QDQ: QdqRule<TransposeInstr> = {
  emit: (i, ctx) => movedValue(ctx.ins[0], ctx.op("Transpose", [ctx.ins[0].float], { perm: [...i.perm] })),
  ort: () => moved,
};

/**
 * `slice`: Slice on every axis but the batch (an end of −1 with a negative step, through index 0, is
 * written below `-dim` as ONNX wants).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SLICE_QDQ } from "./export_qdq_data.ts";
 * assert(SLICE_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const SLICE_QDQ: QdqRule<SliceInstr> = {
  emit: (i, ctx) => {
    const shape = ctx.buffers[0].shape, axes = shape.map((_, a) => a).slice(1);
    const ends = axes.map((a) => (i.steps[a] < 0 && i.ends[a] < 0 ? -(shape[a] + 1) : i.ends[a]));
    const y = ctx.op("Slice", [
      ctx.ins[0].float,
      ctx.int64s(axes.map((a) => i.starts[a])),
      ctx.int64s(ends),
      ctx.int64s(axes),
      ctx.int64s(axes.map((a) => i.steps[a])),
    ]);
    return movedValue(ctx.ins[0], y);
  },
  ort: () => moved,
};

/**
 * `pad`: Pad with the mode; a constant fill is the integer fill dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PAD_QDQ } from "./export_qdq_data.ts";
 * assert(PAD_QDQ.ort({} as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const PAD_QDQ: QdqRule<PadInstr> = {
  emit: (i, ctx) => {
    const pads = ctx.int64s([...i.pads.map((p) => p[0]), ...i.pads.map((p) => p[1])]);
    const fill = i.mode === "constant" ? [ctx.float(Math.fround(i.value * ctx.out.scale[0]))] : [];
    return movedValue(ctx.ins[0], ctx.op("Pad", [ctx.ins[0].float, pads, ...fill], { mode: i.mode }));
  },
  ort: () => ({
    integer: false,
    exact: true,
    reason: "float Pad between DequantizeLinear and QuantizeLinear (onnxruntime fuses no QDQ Pad); exact",
  }),
};

/**
 * `resize`: Resize with the rule's coordinate transformation and nearest rounding, given the model's
 * scales (`[1, 1, sh, sw]`) or the output size (the input's batch and channels, then `[oh, ow]`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { RESIZE_QDQ } from "./export_qdq_data.ts";
 * assert(!RESIZE_QDQ.ort({ mode: "linear" } as never, { ins: [], out: {} as never }).exact);
 * ```
 */
export const RESIZE_QDQ: QdqRule<ResizeInstr> = {
  emit: (i, ctx) => {
    const x = ctx.ins[0];
    // Full-rank scales or sizes: onnxruntime's layout optimizer mishandles Resize's `axes`.
    const rule = i.scales
      ? ["", ctx.g.initializer(`${i.name}.scales`, "float32", [4], [1, 1, ...i.scales])]
      : [
        "",
        "",
        ctx.shapeOp("Concat", [
          ctx.shapeOp("Shape", [x.float], { start: 0, end: 2 }),
          ctx.int64s([...i.size]),
        ], {
          axis: 0,
        }),
      ];
    const y = ctx.op("Resize", [x.float, ...rule], {
      mode: i.mode,
      coordinate_transformation_mode: i.coordinateTransformation,
      nearest_mode: i.nearestMode,
    });
    return i.mode === "nearest" ? movedValue(x, y) : { float: y, batchOne: x.batchOne };
  },
  ort: (i, { ins }) =>
    i.mode === "nearest" ? moved8("nearest Resize", ins[0].dtype) : {
      integer: false,
      exact: false,
      reason: `float linear Resize (hqat weighs each axis with 8-bit fixed-point weights); ${REQUANT_REASON}`,
    },
};

/**
 * `max_pool2d`: MaxPool with PyTorch's ceil mode.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_POOL2D_QDQ } from "./export_qdq_data.ts";
 * const b = { name: "x", shape: [1, 1, 4, 4], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(MAX_POOL2D_QDQ.ort({} as never, { ins: [b], out: b }).integer);
 * ```
 */
export const MAX_POOL2D_QDQ: QdqRule<MaxPool2dInstr> = {
  emit: (i, ctx) =>
    movedValue(
      ctx.ins[0],
      ctx.op("MaxPool", [ctx.ins[0].float], {
        kernel_shape: [...i.kernel],
        strides: [...i.stride],
        pads: [i.padding[0], i.padding[1], i.padding[0], i.padding[1]],
        ceil_mode: i.ceilMode ? 1 : 0,
      }),
    ),
  ort: (_i, { ins }) => moved8("MaxPool", ins[0].dtype),
};

/**
 * `cat`: Concat of the dequantized inputs (each with its requantization's clamp), quantized once to the
 * output scale (QLinearConcat for int8).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CAT_QDQ } from "./export_qdq_data.ts";
 * const b = { name: "x", shape: [1, 2], dtype: "qint8" as const, scale: Float32Array.of(0.1) };
 * assert(CAT_QDQ.ort({} as never, { ins: [b, b], out: b }).integer);
 * ```
 */
export const CAT_QDQ: QdqRule<CatInstr> = {
  emit: (i, ctx) => {
    const parts = ctx.ins.map((v, k) => {
      const x = ctx.fullBatch(v, ctx.buffers[k].shape), act = i.requants[k].act;
      if (act === "relu") return ctx.op("Relu", [x]);
      return act === "relu6" ? ctx.op("Clip", [x, ctx.float(0), ctx.float(6)]) : x;
    });
    return { float: ctx.op("Concat", parts, { axis: i.axis }) };
  },
  ort: (_i, { ins, out }) =>
    ins.every((b) => b.dtype === "qint8") && out.dtype === "qint8"
      ? {
        integer: true,
        exact: false,
        reason:
          `QLinearConcat; the program requantizes each input to the output scale (M·2^-n, half up), onnxruntime rounds each value once`,
      }
      : {
        integer: false,
        exact: false,
        reason: `float Concat between DequantizeLinear and QuantizeLinear; ${REQUANT_REASON}`,
      },
};
