/**
 * `mul`: the exact int32 product of two int8/int16 buffers, the second broadcast to the first's shape
 * (each of its dimensions equal or 1: a per-channel gate, as in squeeze-excitation), with scale
 * `sa · sb`; its epilogue requantizes the product.
 * @module
 */

import { intMulProduct, type QArray } from "@hqat/qtensor";
import { mulProductResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { activationInput, perFrame } from "./checks.ts";

/**
 * A `mul` instruction (no fields: the product's scale follows from its operands).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { MulInstr } from "@hqat/program";
 * const m: MulInstr = { op: "mul", name: "se.mul", inputs: [3, 5], output: 6, epilogue: [] };
 * assert(m.inputs.length === 2);
 * ```
 */
export interface MulInstr extends InstrBase {
  /** The kind. */
  readonly op: "mul";
}

/**
 * The table entry of `mul`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MUL } from "@hqat/program";
 * assert(MUL.code === 9 && MUL.arity.join() === "2,2");
 * ```
 */
export const MUL: InstrDef<MulInstr> = {
  code: 9,
  arity: [2, 2],
  encode: () => {},
  decode: (_r, base) => ({ ...base }),
  infer: (_i, [a, b], ctx) => {
    activationInput(ctx, a, "operand 0");
    activationInput(ctx, b, "operand 1");
    if (a.shape.length !== b.shape.length || b.shape.some((d, k) => d !== a.shape[k] && d !== 1)) {
      ctx.fail(`${ctx.where}: operand 1 [${b.shape}] does not broadcast to operand 0 [${a.shape}]`);
    }
    return { dtype: "qint32", shape: a.shape, scale: Float32Array.of(a.scale[0] * b.scale[0]) };
  },
  cpu: (_i, [a, b]) => ({
    data: intMulProduct(a.data as QArray, a.shape, b.data as QArray, b.shape),
    shape: a.shape,
    dtype: "qint32",
    scale: Float32Array.of(a.scale[0] * b.scale[0]),
  }),
  gpu: () => (dev, [a, b]) => ({ t: mulProductResident(dev, a, b) }),
  layer: () => ({ op: "mul", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 2 } }),
  label: () => "mul",
};
