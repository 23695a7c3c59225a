/**
 * `conv_transpose2d`: the exact int32 accumulator `bias[c] + Σ x · w` of PyTorch's ConvTranspose2d on an
 * int8/int16 input, int8 weights `[Cin, Cout/groups, kh, kw]` with one scale per output channel, scale
 * `sx · sw[c]`; its epilogue requantizes it. The verifier bounds the accumulator as SPEC.md does for a
 * convolution (each output channel's taps, at the input's extremes, with its bias).
 * @module
 */

import {
  checkAccumulator,
  convTransposeByOutput,
  convTransposeShape,
  intConvTranspose2dAccumulate,
  type QArray,
  QDTYPE_RANGES,
} from "@hqat/qtensor";
import { convTransposeResident } from "@hqat/tensor";
import type { Pair } from "../fields.ts";
import type { InstrBase, InstrDef } from "../instr.ts";
import { innerOfAxis1 } from "../value.ts";
import { accumulatorScale, activationInput, checkPairs, windowLabel } from "./checks.ts";

/**
 * A `conv_transpose2d` instruction: weights `[Cin, Cout/groups, kh, kw]` with one scale per output
 * channel, an optional int32 bias, and the geometry.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ConvTranspose2dInstr } from "@hqat/program";
 * const c: ConvTranspose2dInstr = {
 *   op: "conv_transpose2d", name: "up", inputs: [0], output: 1, epilogue: [], weight: new Int8Array(16),
 *   weightShape: [2, 2, 2, 2], weightScale: Float32Array.of(0.1, 0.1), stride: [2, 2], padding: [0, 0],
 *   outputPadding: [0, 0], dilation: [1, 1], groups: 1,
 * };
 * assert(c.weightShape[1] === 2);
 * ```
 */
export interface ConvTranspose2dInstr extends InstrBase {
  /** The kind. */
  readonly op: "conv_transpose2d";
  /** The int8 weights. */
  readonly weight: Int8Array;
  /** `[Cin, Cout/groups, kh, kw]`. */
  readonly weightShape: readonly [number, number, number, number];
  /** One scale per output channel. */
  readonly weightScale: Float32Array;
  /** The int32 bias, one per output channel. */
  readonly bias?: Int32Array;
  /** Stride `[sh, sw]`. */
  readonly stride: Pair;
  /** Padding removed from each side of the output `[ph, pw]`. */
  readonly padding: Pair;
  /** Extra rows and columns on one side of the output `[oph, opw]`. */
  readonly outputPadding: Pair;
  /** Dilation `[dh, dw]`. */
  readonly dilation: Pair;
  /** Groups. */
  readonly groups: number;
}

/**
 * The table entry of `conv_transpose2d`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONV_TRANSPOSE2D } from "@hqat/program";
 * assert(CONV_TRANSPOSE2D.code === 19 && CONV_TRANSPOSE2D.arity.join() === "1,1");
 * ```
 */
export const CONV_TRANSPOSE2D: InstrDef<ConvTranspose2dInstr> = {
  code: 19,
  arity: [1, 1],
  encode: (i, w) => {
    for (const d of i.weightShape) w.u32(d);
    w.ref(i.weight);
    w.ref(i.weightScale);
    w.ref(i.bias);
    w.pair(i.stride);
    w.pair(i.padding);
    w.pair(i.outputPadding);
    w.pair(i.dilation);
    w.u32(i.groups);
  },
  decode: (r, base, where) => {
    const weightShape = [0, 1, 2, 3].map(() => r.u32(`the weight shape of ${where}`)) as unknown as [
      number,
      number,
      number,
      number,
    ];
    const weight = r.i8s(`the weights of ${where}`), weightScale = r.f32s(`the weight scales of ${where}`);
    const b = r.i32s(`the bias of ${where}`);
    return {
      ...base,
      weightShape,
      weight,
      weightScale,
      ...(b.length > 0 ? { bias: b } : {}),
      stride: r.pair(`the stride of ${where}`),
      padding: r.pair(`the padding of ${where}`),
      outputPadding: r.pair(`the output padding of ${where}`),
      dilation: r.pair(`the dilation of ${where}`),
      groups: r.u32(`the groups of ${where}`),
    };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    const [cin, cog, kh, kw] = i.weightShape;
    checkPairs(
      ctx,
      [i.stride, 1, "stride"],
      [i.padding, 0, "padding"],
      [i.outputPadding, 0, "output padding"],
      [i.dilation, 1, "dilation"],
      [[kh, kw], 1, "kernel"],
    );
    if (!(i.weightShape.every((d) => d >= 1 && d <= 1 << 24) && cin * cog * kh * kw === i.weight.length)) {
      ctx.fail(`${ctx.where}: weight shape [${i.weightShape}] does not match its ${i.weight.length} weights`);
    }
    let shape: number[] = [];
    try {
      shape = convTransposeShape(x.shape, i.weightShape, i);
    } catch (e) {
      ctx.fail(`${ctx.where}: ${(e as Error).message}`);
    }
    const cout = shape[1];
    if (i.weightScale.length !== cout || !i.weightScale.every((s) => s > 0 && s < Infinity)) {
      ctx.fail(`${ctx.where}: needs ${cout} positive weight scales`);
    }
    if (i.bias !== undefined && i.bias.length !== cout) {
      ctx.fail(`${ctx.where}: ${i.bias.length} biases for ${cout} channels`);
    }
    try {
      checkAccumulator(convTransposeByOutput(i.weight, i.weightShape, i.groups), {
        channels: cout,
        bias: i.bias,
        inputRange: QDTYPE_RANGES[x.dtype as "qint8"],
      });
    } catch (e) {
      ctx.fail(`${ctx.where}: ${(e as Error).message}`);
    }
    return { dtype: "qint32", shape, scale: accumulatorScale(x.scale[0], i.weightScale) };
  },
  cpu: (i, [x]) => {
    const y = intConvTranspose2dAccumulate(x.data as QArray, x.shape, i.weight, i.weightShape, i, i.bias);
    return {
      data: y.data,
      shape: y.shape,
      dtype: "qint32",
      scale: accumulatorScale(x.scale[0], i.weightScale),
    };
  },
  gpu: (i, ctx) => {
    const weight = ctx.u.up(i.weight, i.weightShape);
    const bias = i.bias && ctx.u.up(i.bias, [i.bias.length]);
    return (dev, [x]) => {
      const t = convTransposeResident(dev, x, { weight, geometry: i });
      return { t, bias: bias && { tensor: bias, inner: innerOfAxis1(t.shape) } };
    };
  },
  layer: (i) => ({
    op: "conv_transpose2d",
    attrs: {
      kernel: [i.weightShape[2], i.weightShape[3]],
      stride: [...i.stride],
      padding: [...i.padding],
      dilation: [...i.dilation],
      groups: i.groups,
    },
  }),
  cost: (i, { ins }) => {
    // Each input pixel scatters Cin/g · (Cout/g · kh · kw) products: a GEMM per group.
    const [cin, cog, kh, kw] = i.weightShape;
    return {
      gemm: { m: ins[0].shape[2] * ins[0].shape[3], n: cog * kh * kw, k: cin / i.groups, groups: i.groups },
    };
  },
  label: (i) =>
    [
      "conv_transpose2d",
      windowLabel({ kernel: [i.weightShape[2], i.weightShape[3]], stride: i.stride, dilation: i.dilation }),
      ...(i.groups > 1 ? [`g${i.groups}`] : []),
    ].join(" "),
};
