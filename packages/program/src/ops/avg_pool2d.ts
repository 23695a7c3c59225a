/**
 * `avg_pool2d`: the int32 window sums of average pooling (padding counted as zeros) of an int8/int16
 * buffer, with scale `sx / (kh · kw)`; its epilogue requantizes them. Adaptive pooling to 1×1 is the
 * whole-plane window. With `ceilMode` (PyTorch's output size) or without `countIncludePad`, a window whose
 * PyTorch divisor `c` (its cells clipped to the padded input, or to the input) is not `K = kh · kw` sums to
 * `round_half_up(sum · K / c)`, so every output keeps the scale `sx / K` (hqat choice). A 1×1 window is
 * only a requantization: the lowering folds it into its producer.
 * @module
 */

import {
  intAvgPoolWindowSum,
  intConv2dAccumulate,
  poolOutputSize,
  type QArray,
  QDTYPE_RANGES,
  qtensor,
} from "@hqat/qtensor";
import { avgPoolSumResident, intConv2dAccumulateFast, windowSumResident } from "@hqat/tensor";
import type { Pair } from "../fields.ts";
import type { InstrBase, InstrDef } from "../instr.ts";
import { asQTensor, type IntValue } from "../value.ts";
import {
  activationInput,
  checkPairs,
  halfKernelPadding,
  perFrame,
  windowLabel,
  windowOut,
} from "./checks.ts";

/**
 * An `avg_pool2d` instruction: the window's kernel, stride and padding.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { AvgPool2dInstr } from "@hqat/program";
 * const p: AvgPool2dInstr = { op: "avg_pool2d", name: "gap", inputs: [0], output: 1, epilogue: [], kernel: [4, 4], stride: [4, 4], padding: [0, 0] };
 * assert(p.kernel[0] === 4);
 * ```
 */
export interface AvgPool2dInstr extends InstrBase {
  /** The kind. */
  readonly op: "avg_pool2d";
  /** Window `[kh, kw]`. */
  readonly kernel: Pair;
  /** Stride `[sh, sw]`. */
  readonly stride: Pair;
  /** Zero padding per side `[ph, pw]` (counted in the window unless `countIncludePad` is false). */
  readonly padding: Pair;
  /** PyTorch's ceil mode for the output size (default false). */
  readonly ceilMode?: boolean;
  /** Divide by the window clipped to the padded input (default true), or only by its real cells. */
  readonly countIncludePad?: boolean;
}

/** Whether `i` pools as SPEC.md's plain rule: floor mode, padding counted. */
const plain = (i: AvgPool2dInstr) => !i.ceilMode && i.countIncludePad !== false;

/** The output size of a window in ceil mode. */
const ceilOut = (i: AvgPool2dInstr | { kernel: Pair; stride: Pair; padding: Pair }, x: readonly number[]) =>
  [0, 1].map((a) => poolOutputSize(x[2 + a], i.kernel[a], i.stride[a], i.padding[a], true)) as [
    number,
    number,
  ];

/** The window sums of PyTorch's modes (see the module description). */
function modeSums(i: AvgPool2dInstr, x: IntValue): IntValue {
  const y = intAvgPoolWindowSum(x.data as QArray, x.shape, i);
  return {
    data: y.data,
    shape: y.shape,
    dtype: "qint32",
    scale: Float32Array.of(x.scale[0] / (i.kernel[0] * i.kernel[1])),
  };
}

/** The window sums: a depthwise convolution by all-one weights, on `accumulate`. */
function windowSums(
  i: AvgPool2dInstr,
  x: IntValue,
  accumulate: (
    x: IntValue,
    w: Int8Array,
    wShape: readonly number[],
  ) => { data: Int32Array; shape: readonly number[] },
): IntValue {
  const c = x.shape[1], [kh, kw] = i.kernel;
  const { data, shape } = accumulate(x, new Int8Array(c * kh * kw).fill(1), [c, 1, kh, kw]);
  return { data, shape, dtype: "qint32", scale: Float32Array.of(x.scale[0] / (kh * kw)) };
}

const geometry = (i: AvgPool2dInstr, groups: number) => ({
  stride: i.stride,
  padding: i.padding,
  dilation: [1, 1] as const,
  groups,
});

/**
 * The table entry of `avg_pool2d`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AVG_POOL2D } from "@hqat/program";
 * assert(AVG_POOL2D.code === 4);
 * ```
 */
export const AVG_POOL2D: InstrDef<AvgPool2dInstr> = {
  code: 4,
  arity: [1, 1],
  encode: (i, w) => {
    w.pair(i.kernel);
    w.pair(i.stride);
    w.pair(i.padding);
    w.u8(i.ceilMode ? 1 : 0);
    w.u8(i.countIncludePad === false ? 0 : 1);
    w.u16(0);
  },
  decode: (r, base, where) => {
    const kernel = r.pair(`the kernel of ${where}`), stride = r.pair(`the stride of ${where}`);
    const padding = r.pair(`the padding of ${where}`);
    const ceil = r.u8(`the ceil mode of ${where}`), count = r.u8(`the divisor mode of ${where}`);
    r.u16(where);
    if (ceil > 1 || count > 1) r.fail(`the modes of ${where} are ${ceil}, ${count}`);
    return {
      ...base,
      kernel,
      stride,
      padding,
      ...(ceil ? { ceilMode: true } : {}),
      ...(count ? {} : { countIncludePad: false }),
    };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    checkPairs(ctx, [i.kernel, 1, "kernel"], [i.stride, 1, "stride"], [i.padding, 0, "padding"]);
    halfKernelPadding(ctx, i.kernel, i.padding);
    let [oh, ow] = windowOut(ctx, x, i);
    if (!plain(i)) {
      if (i.ceilMode) [oh, ow] = ceilOut(i, x.shape);
      // The rescaled sum · K must stay in int32: K · K · |x|max < 2^31.
      const K = i.kernel[0] * i.kernel[1], big = -QDTYPE_RANGES[x.dtype as "qint8"].qmin;
      if (K * K * big > 2 ** 31 - 1) {
        ctx.fail(
          `${ctx.where}: a ${i.kernel[0]}×${i.kernel[1]} window's rescaled ${x.dtype} sums may leave int32`,
        );
      }
    }
    return {
      dtype: "qint32",
      shape: [x.shape[0], x.shape[1], oh, ow],
      scale: Float32Array.of(x.scale[0] / (i.kernel[0] * i.kernel[1])),
    };
  },
  cpu: (i, [x]) =>
    plain(i)
      ? windowSums(i, x, (v, w, wShape) => {
        const c = v.shape[1], [n, , h, wd] = v.shape;
        const data = intConv2dAccumulateFast(
          v.data as Int8Array | Int16Array,
          v.shape,
          w,
          wShape,
          geometry(i, c),
        );
        const oh = Math.floor((h + 2 * i.padding[0] - i.kernel[0]) / i.stride[0]) + 1;
        const ow = Math.floor((wd + 2 * i.padding[1] - i.kernel[1]) / i.stride[1]) + 1;
        return { data, shape: [n, c, oh, ow] };
      })
      : modeSums(i, x),
  reference: (i, [x]) =>
    plain(i)
      ? windowSums(
        i,
        x,
        (v, w, wShape) =>
          intConv2dAccumulate(asQTensor(v), qtensor(w, { shape: wShape, scale: 1 }), geometry(i, v.shape[1])),
      )
      : modeSums(i, x),
  gpu: (i) => (dev, [x]) => ({ t: plain(i) ? windowSumResident(dev, x, i) : avgPoolSumResident(dev, x, i) }),
  layer: (i) => ({
    op: "avg_pool2d",
    attrs: { kernel: [...i.kernel], stride: [...i.stride], padding: [...i.padding] },
  }),
  cost: (i, { out }) => ({ vector: { elements: perFrame(out.shape), work: i.kernel[0] * i.kernel[1] } }),
  label: (i) =>
    [
      `avg_pool2d ${windowLabel(i)}`,
      ...(i.ceilMode ? ["ceil"] : []),
      ...(i.countIncludePad === false ? ["no pad"] : []),
    ]
      .join(" "),
  fold: (i, _operand, { ins, out }) => {
    const x = ins[0].shape;
    const one = i.kernel[0] * i.kernel[1] === 1 && i.padding[0] + i.padding[1] === 0 &&
      out.shape[2] === x[2] &&
      out.shape[3] === x[3];
    return one ? i.epilogue : undefined;
  },
};
