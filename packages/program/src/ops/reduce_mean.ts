/**
 * `reduce_mean`: the mean over `axes` of an int8/int16 buffer as SPEC.md's pooling does it — the exact
 * int32 sum of the `count` elements of each group, with scale `sx / count`, which the epilogue
 * requantizes to the output (hqat choice, the global average pooling rule on any axes). The batch axis is
 * never reduced.
 * @module
 */

import { intReduceSum, type QArray, reduceIndex } from "@hqat/qtensor";
import { sumGatherResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { activationInput, perFrame } from "./checks.ts";
import { readInts, writeInts } from "./moves.ts";

/**
 * A `reduce_mean` instruction: the axes reduced and whether they stay as size-1 dimensions.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ReduceMeanInstr } from "@hqat/program";
 * const m: ReduceMeanInstr = { op: "reduce_mean", name: "gap", inputs: [0], output: 1, epilogue: [], axes: [2, 3], keepDims: true };
 * assert(m.axes.length === 2);
 * ```
 */
export interface ReduceMeanInstr extends InstrBase {
  /** The kind. */
  readonly op: "reduce_mean";
  /** The reduced axes (not 0). */
  readonly axes: readonly number[];
  /** Keep the reduced axes as size-1 dimensions. */
  readonly keepDims: boolean;
}

/** The most elements one sum may take: `count · 32768 ≤ 2^31`. */
const MAX_COUNT = 65536;

/**
 * The table entry of `reduce_mean`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { REDUCE_MEAN } from "@hqat/program";
 * assert(REDUCE_MEAN.code === 17 && REDUCE_MEAN.arity.join() === "1,1");
 * ```
 */
export const REDUCE_MEAN: InstrDef<ReduceMeanInstr> = {
  code: 17,
  arity: [1, 1],
  encode: (i, w) => {
    w.u8(i.keepDims ? 1 : 0);
    w.u8(0);
    w.u16(0);
    writeInts(w, i.axes);
  },
  decode: (r, base, where) => {
    const keep = r.u8(`the keepDims flag of ${where}`);
    r.u8(where);
    r.u16(where);
    if (keep > 1) r.fail(`the keepDims flag of ${where} is ${keep}`);
    return { ...base, keepDims: keep === 1, axes: readInts(r, `the axes of ${where}`) };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    const rank = x.shape.length;
    if (i.axes.length === 0 || i.axes.some((a) => !Number.isInteger(a) || a < 1 || a >= rank)) {
      ctx.fail(`${ctx.where}: axes [${i.axes}] are not axes 1..${rank - 1} of [${x.shape}]`);
    }
    if (new Set(i.axes).size !== i.axes.length) ctx.fail(`${ctx.where}: axes [${i.axes}] repeat`);
    const count = i.axes.reduce((p, a) => p * x.shape[a], 1);
    if (count > MAX_COUNT) ctx.fail(`${ctx.where}: a mean of ${count} elements (at most ${MAX_COUNT})`);
    const shape = x.shape.flatMap((d, a) => (i.axes.includes(a) ? (i.keepDims ? [1] : []) : [d]));
    return { dtype: "qint32", shape, scale: Float32Array.of(x.scale[0] / count) };
  },
  cpu: (i, [x]) => {
    const m = reduceIndex(x.shape, i.axes, i.keepDims);
    return {
      data: intReduceSum(x.data as QArray, x.shape, i.axes),
      shape: m.shape,
      dtype: "qint32",
      scale: Float32Array.of(x.scale[0] / m.count),
    };
  },
  gpu: (i, ctx) => {
    const x = ctx.ins[0], m = reduceIndex([1, ...x.shape.slice(1)], i.axes, i.keepDims);
    const index = ctx.u.up(m.index, [m.index.length]);
    return (dev, [t]) => ({
      t: sumGatherResident(dev, t, {
        index,
        count: m.count,
        inFrame: perFrame(x.shape),
        shape: [t.shape[0], ...m.shape.slice(1)],
      }),
    });
  },
  layer: (i) => ({ op: "mean", attrs: { axes: [...i.axes] } }),
  cost: (_i, { ins }) => ({ vector: { elements: perFrame(ins[0].shape), work: 1 } }),
  label: (i) => `mean axes ${i.axes.join(",")}${i.keepDims ? " keep" : ""}`,
};
