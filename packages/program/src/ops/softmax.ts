/**
 * `softmax`: the integer softmax along `axis` (hqat choice; Horizon publishes no integer form): per row,
 * an exp table of the input scale (`round_half_even(exp(−d · sx) · 2^15)`, `d` the distance below the row's
 * maximum), the exact int32 sum `S` of the row's entries, and `floor((E · 2^16 + floor(S / 2)) / S)` — an
 * int32 of scale 2^-16 that the epilogue requantizes to the output. The batch axis is never the axis.
 * @module
 */

import { intSoftmax, type QArray, SOFTMAX_PROB_BITS, softmaxExpTable } from "@hqat/qtensor";
import { softmaxResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { activationInput, perFrame } from "./checks.ts";

/**
 * A `softmax` instruction: the axis it normalizes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { SoftmaxInstr } from "@hqat/program";
 * const s: SoftmaxInstr = { op: "softmax", name: "prob", inputs: [0], output: 1, epilogue: [], axis: 1 };
 * assert(s.axis === 1);
 * ```
 */
export interface SoftmaxInstr extends InstrBase {
  /** The kind. */
  readonly op: "softmax";
  /** The axis the probabilities sum over (not 0). */
  readonly axis: number;
}

/** The longest row: `S ≤ 2^15 · 65535` fits int32. */
const MAX_ROW = 65535;
const SCALE = 2 ** -SOFTMAX_PROB_BITS;
const tables = new Map<string, Int32Array>();
/** The exp table of an input, computed once per dtype and scale (read only). */
function tableOf(x: { dtype: string; scale: Float32Array }): Int32Array {
  const key = `${x.dtype} ${x.scale[0]}`;
  let t = tables.get(key);
  if (!t) {
    if (tables.size > 64) tables.clear();
    tables.set(key, t = softmaxExpTable(x.scale[0], x.dtype as "qint8" | "qint16"));
  }
  return t;
}

/**
 * The table entry of `softmax`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SOFTMAX } from "@hqat/program";
 * assert(SOFTMAX.code === 20 && SOFTMAX.arity.join() === "1,1");
 * ```
 */
export const SOFTMAX: InstrDef<SoftmaxInstr> = {
  code: 20,
  arity: [1, 1],
  encode: (i, w) => w.u32(i.axis),
  decode: (r, base, where) => ({ ...base, axis: r.u32(`the axis of ${where}`) }),
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    if (!(Number.isInteger(i.axis) && i.axis >= 1 && i.axis < x.shape.length)) {
      ctx.fail(`${ctx.where}: axis ${i.axis} is not an axis 1..${x.shape.length - 1} of [${x.shape}]`);
    }
    if (x.shape[i.axis] > MAX_ROW) ctx.fail(`${ctx.where}: a row of ${x.shape[i.axis]} (at most ${MAX_ROW})`);
    return { dtype: "qint32", shape: x.shape, scale: Float32Array.of(SCALE) };
  },
  cpu: (i, [x]) => ({
    data: intSoftmax(x.data as QArray, x.shape, i.axis, tableOf(x)),
    shape: x.shape,
    dtype: "qint32",
    scale: Float32Array.of(SCALE),
  }),
  gpu: (i, ctx) => {
    const t = tableOf(ctx.ins[0]), table = ctx.u.up(t, [t.length]);
    return (dev, [x]) => ({ t: softmaxResident(dev, x, { axis: i.axis, table }) });
  },
  layer: (i) => ({ op: "softmax", attrs: { axes: [i.axis] } }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 4 } }),
  label: (i) => `softmax axis ${i.axis}`,
};
