/**
 * `add`: SPEC.md's int32 sum of two int8/int16 buffers of one shape, `a · 2^k + b · t`, where `a` is the
 * operand with the larger scale (input 1 when `shiftSecond`); its epilogue requantizes the sum. The
 * lowering folds it into the convolution producing one operand (a residual add).
 * @module
 */

import { addSumResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import type { Stage } from "../stage.ts";
import { addSum, checkAddRule } from "../stage_rules.ts";
import { perFrame } from "./checks.ts";

/**
 * An `add` instruction: which operand is shifted, and SPEC's alignment `k`, `t`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { AddInstr } from "@hqat/program";
 * const a: AddInstr = { op: "add", name: "a", inputs: [0, 1], output: 2, epilogue: [], shiftSecond: false, k: 14, t: 16384 };
 * assert(a.inputs.length === 2);
 * ```
 */
export interface AddInstr extends InstrBase {
  /** The kind. */
  readonly op: "add";
  /** Input 1 (not 0) is the shifted operand. */
  readonly shiftSecond: boolean;
  /** The shift of the operand with the larger scale. */
  readonly k: number;
  /** The multiplier of the other operand. */
  readonly t: number;
}

/**
 * The table entry of `add`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ADD } from "@hqat/program";
 * assert(ADD.code === 3 && ADD.arity.join() === "2,2");
 * ```
 */
export const ADD: InstrDef<AddInstr> = {
  code: 3,
  arity: [2, 2],
  encode: (i, w) => {
    w.u8(i.shiftSecond ? 1 : 0);
    w.u8(i.k);
    w.u16(0);
    w.i32(i.t);
  },
  decode: (r, base, where) => {
    const shiftSecond = r.u8(where) !== 0, k = r.u8(where);
    r.u16(where);
    return { ...base, shiftSecond, k, t: r.i32(where) };
  },
  infer: (i, [a, b], ctx) => {
    const [shifted, other] = i.shiftSecond ? [b, a] : [a, b];
    checkAddRule(shifted, other, i, ctx);
    return { dtype: "qint32", shape: a.shape, scale: Float32Array.of(shifted.scale[0] / 2 ** i.k) };
  },
  cpu: (i, [a, b]) => {
    const [x, y] = i.shiftSecond ? [b, a] : [a, b];
    return {
      data: addSum(x.data, y.data, i.k, i.t),
      shape: a.shape,
      dtype: "qint32",
      scale: Float32Array.of(x.scale[0] / 2 ** i.k),
    };
  },
  gpu: (i) => (dev, [a, b]) => ({ t: addSumResident(dev, i.shiftSecond ? [b, a] : [a, b], i) }),
  layer: () => ({ op: "add", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 2 } }),
  label: () => "add",
  fold: (i, operand): Stage[] => [
    // The value is operand `operand`; the other one is read as the addend.
    {
      kind: "add",
      addend: i.inputs[1 - operand],
      shiftAddend: (i.shiftSecond ? 1 : 0) === 1 - operand,
      k: i.k,
      t: i.t,
    },
    ...i.epilogue,
  ],
};
