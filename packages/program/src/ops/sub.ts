/**
 * `sub`: the int32 difference of two int8/int16 buffers on SPEC.md's add alignment, `a − b` with the
 * operand of the larger scale shifted by `2^k` and the other multiplied by `t` (`a · 2^k − b · t`, or
 * `a · t − b · 2^k` when `shiftSecond`), the second input broadcast to the first; its epilogue
 * requantizes the difference.
 * @module
 */

import type { InstrBase, InstrDef } from "../instr.ts";
import { cpuAligned, decodeAligned, encodeAligned, gpuAligned, inferAligned } from "./aligned.ts";
import { perFrame } from "./checks.ts";

/**
 * A `sub` instruction: the fields of `add` (which operand is shifted, SPEC's `k` and `t`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { SubInstr } from "@hqat/program";
 * const s: SubInstr = { op: "sub", name: "s", inputs: [0, 1], output: 2, epilogue: [], shiftSecond: false, k: 14, t: 16384 };
 * assert(s.inputs.length === 2);
 * ```
 */
export interface SubInstr extends InstrBase {
  /** The kind. */
  readonly op: "sub";
  /** Input 1 (not 0) is the shifted operand. */
  readonly shiftSecond: boolean;
  /** The shift of the operand with the larger scale. */
  readonly k: number;
  /** The multiplier of the other operand. */
  readonly t: number;
}

/**
 * The table entry of `sub`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SUB } from "@hqat/program";
 * assert(SUB.code === 10 && SUB.arity.join() === "2,2");
 * ```
 */
export const SUB: InstrDef<SubInstr> = {
  code: 10,
  arity: [2, 2],
  encode: (i, w) => encodeAligned(i, w),
  decode: (r, base, where) => ({ ...base, ...decodeAligned(r, where) }),
  infer: (i, ins, ctx) => inferAligned(i, ins, ctx),
  cpu: (i, ins, ctx) => cpuAligned(i, ins, ctx, true),
  gpu: (i) => gpuAligned(i, true),
  layer: () => ({ op: "sub", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 2 } }),
  label: () => "sub",
};
