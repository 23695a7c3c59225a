/**
 * `add`: SPEC.md's int32 sum of two int8/int16 buffers, `a · 2^k + b · t`, where `a` is the operand with
 * the larger scale (input 1 when `shiftSecond`), the second input broadcast to the first (each of its
 * dimensions equal or 1); its epilogue requantizes the sum. The lowering folds an add of equal shapes
 * into the convolution producing one operand (a residual add).
 * @module
 */

import type { InstrBase, InstrDef } from "../instr.ts";
import type { Stage } from "../stage.ts";
import { cpuAligned, decodeAligned, encodeAligned, gpuAligned, inferAligned } from "./aligned.ts";
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
  encode: (i, w) => encodeAligned(i, w),
  decode: (r, base, where) => ({ ...base, ...decodeAligned(r, where) }),
  infer: (i, ins, ctx) => inferAligned(i, ins, ctx),
  cpu: (i, ins, ctx) => cpuAligned(i, ins, ctx, false),
  gpu: (i) => gpuAligned(i, false),
  layer: () => ({ op: "add", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 2 } }),
  label: () => "add",
  fold: (i, operand, { ins }): Stage[] | undefined => {
    // The fused add (a stage) takes operands of one shape.
    const [a, b] = ins;
    if (a.shape.length !== b.shape.length || a.shape.some((d, k) => d !== b.shape[k])) return undefined;
    // The value is operand `operand`; the other one is read as the addend.
    return [{
      kind: "add",
      addend: i.inputs[1 - operand],
      shiftAddend: (i.shiftSecond ? 1 : 0) === 1 - operand,
      k: i.k,
      t: i.t,
    }, ...i.epilogue];
  },
};
