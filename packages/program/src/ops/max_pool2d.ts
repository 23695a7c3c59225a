/**
 * `max_pool2d`: the window maximum of an integer buffer (padded cells never win); dtype and scale kept.
 * `ceilMode` takes PyTorch's ceil output size (cells past the input never win either).
 * @module
 */

import { intMaxPool2d, intMaxPoolWindow, poolOutputSize, type QArray } from "@hqat/qtensor";
import { maxPoolResident, maxPoolWindowResident } from "@hqat/tensor";
import type { Pair } from "../fields.ts";
import type { InstrBase, InstrDef } from "../instr.ts";
import { asQTensor } from "../value.ts";
import { checkPairs, halfKernelPadding, integerInput, perFrame, windowLabel, windowOut } from "./checks.ts";

/**
 * A `max_pool2d` instruction: the window's kernel, stride and padding.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { MaxPool2dInstr } from "@hqat/program";
 * const p: MaxPool2dInstr = { op: "max_pool2d", name: "mp", inputs: [0], output: 1, epilogue: [], kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
 * assert(p.stride[0] === 2);
 * ```
 */
export interface MaxPool2dInstr extends InstrBase {
  /** The kind. */
  readonly op: "max_pool2d";
  /** Window `[kh, kw]`. */
  readonly kernel: Pair;
  /** Stride `[sh, sw]`. */
  readonly stride: Pair;
  /** Padding per side `[ph, pw]` (never the maximum). */
  readonly padding: Pair;
  /** PyTorch's ceil mode for the output size (default false). */
  readonly ceilMode?: boolean;
}

/**
 * The table entry of `max_pool2d`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_POOL2D } from "@hqat/program";
 * assert(MAX_POOL2D.code === 5);
 * ```
 */
export const MAX_POOL2D: InstrDef<MaxPool2dInstr> = {
  code: 5,
  arity: [1, 1],
  encode: (i, w) => {
    w.pair(i.kernel);
    w.pair(i.stride);
    w.pair(i.padding);
    w.u8(i.ceilMode ? 1 : 0);
    w.u8(0);
    w.u16(0);
  },
  decode: (r, base, where) => {
    const kernel = r.pair(`the kernel of ${where}`), stride = r.pair(`the stride of ${where}`);
    const padding = r.pair(`the padding of ${where}`), ceil = r.u8(`the ceil mode of ${where}`);
    r.u8(where);
    r.u16(where);
    if (ceil > 1) r.fail(`the ceil mode of ${where} is ${ceil}`);
    return { ...base, kernel, stride, padding, ...(ceil ? { ceilMode: true } : {}) };
  },
  infer: (i, [x], ctx) => {
    integerInput(ctx, x, "the input");
    checkPairs(ctx, [i.kernel, 1, "kernel"], [i.stride, 1, "stride"], [i.padding, 0, "padding"]);
    halfKernelPadding(ctx, i.kernel, i.padding);
    let [oh, ow] = windowOut(ctx, x, i);
    if (i.ceilMode) {
      [oh, ow] = [0, 1].map((a) =>
        poolOutputSize(x.shape[2 + a], i.kernel[a], i.stride[a], i.padding[a], true)
      );
    }
    return { dtype: x.dtype, shape: [x.shape[0], x.shape[1], oh, ow], scale: x.scale };
  },
  cpu: (i, [x]) => {
    if (i.ceilMode) {
      const y = intMaxPoolWindow(x.data as QArray, x.shape, i);
      return { data: y.data, shape: y.shape, dtype: x.dtype, scale: x.scale };
    }
    const y = intMaxPool2d(asQTensor(x), { kernelSize: i.kernel, stride: i.stride, padding: i.padding });
    return { data: y.data, shape: y.shape, dtype: x.dtype, scale: x.scale };
  },
  gpu: (i) => (dev, [x]) => ({
    t: i.ceilMode ? maxPoolWindowResident(dev, x, i) : maxPoolResident(dev, x, i),
  }),
  layer: (i) => ({
    op: "max_pool2d",
    attrs: { kernel: [...i.kernel], stride: [...i.stride], padding: [...i.padding] },
  }),
  cost: (i, { out }) => ({ vector: { elements: perFrame(out.shape), work: i.kernel[0] * i.kernel[1] } }),
  label: (i) => `max_pool2d ${windowLabel(i)}${i.ceilMode ? " ceil" : ""}`,
};
