/**
 * What `add` and `sub` share: SPEC.md's alignment fields in the container, the rule (the operand with
 * the larger scale shifted by `2^k`, the other multiplied by `t`, the second operand broadcast to the
 * first), and the CPU and WebGPU kernels of the aligned int32 sum or difference.
 * @module
 */

import { intAlignedSum, type QArray } from "@hqat/qtensor";
import { addSumResident, alignedSumResident } from "@hqat/tensor";
import type { FieldReader, FieldWriter } from "../fields.ts";
import type { GpuMain } from "../gpu_types.ts";
import type { CpuContext, InferContext, InstrBase } from "../instr.ts";
import { addSum, checkAddRule } from "../stage_rules.ts";
import type { IntValue, ValueInfo } from "../value.ts";
import { broadcastsTo } from "./checks.ts";

/** The alignment fields of an `add` or `sub`. */
export interface AlignedFields {
  /** Input 1 (not 0) is the shifted operand. */
  readonly shiftSecond: boolean;
  /** The shift of the operand with the larger scale. */
  readonly k: number;
  /** The multiplier of the other operand. */
  readonly t: number;
}

/**
 * Writes the alignment fields: `u8 shiftSecond, u8 k, u16 0, i32 t`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeAligned } from "./aligned.ts";
 * const seen: number[] = [];
 * const w = { u8: (v: number) => seen.push(v), u16: (v: number) => seen.push(v), i32: (v: number) => seen.push(v) };
 * encodeAligned({ shiftSecond: true, k: 3, t: 5 }, w as never);
 * assert(seen.join() === "1,3,0,5");
 * ```
 */
export function encodeAligned(i: AlignedFields, w: FieldWriter): void {
  w.u8(i.shiftSecond ? 1 : 0);
  w.u8(i.k);
  w.u16(0);
  w.i32(i.t);
}

/**
 * Reads the alignment fields written by {@linkcode encodeAligned}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeAligned } from "./aligned.ts";
 * const vals = [1, 3, 0, 5];
 * const r = { u8: () => vals.shift()!, u16: () => vals.shift()!, i32: () => vals.shift()! };
 * assert(decodeAligned(r as never, "x").t === 5);
 * ```
 */
export function decodeAligned(r: FieldReader, where: string): AlignedFields {
  const shiftSecond = r.u8(where) !== 0, k = r.u8(where);
  r.u16(where);
  return { shiftSecond, k, t: r.i32(where) };
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The rule of an aligned sum: SPEC's add rule, input 1 broadcast to input 0; the int32 value.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { inferAligned } from "./aligned.ts";
 * const a = { dtype: "qint8" as const, shape: [1, 2], scale: Float32Array.of(0.5) };
 * const ctx = { where: "x", fail: (m: string) => { throw new Error(m); } } as never;
 * assert(inferAligned({ shiftSecond: false, k: 14, t: 16384 }, [a, a], ctx).scale[0] === 0.5 / 16384);
 * ```
 */
export function inferAligned(i: AlignedFields, [a, b]: readonly ValueInfo[], ctx: InferContext): ValueInfo {
  const [shifted, other] = i.shiftSecond ? [b, a] : [a, b];
  checkAddRule(shifted, other, i, ctx, "checked");
  if (!broadcastsTo(b.shape, a.shape)) {
    ctx.fail(`${ctx.where}: operand 1 [${b.shape}] does not broadcast to operand 0 [${a.shape}]`);
  }
  return { dtype: "qint32", shape: a.shape, scale: Float32Array.of(shifted.scale[0] / 2 ** i.k) };
}

/**
 * The CPU kernel of an aligned sum (or difference with `subtract`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cpuAligned } from "./aligned.ts";
 * const v = (d: number[]) => ({ data: Int8Array.from(d), dtype: "qint8" as const, shape: [1, d.length], scale: Float32Array.of(1) });
 * assert(cpuAligned({ shiftSecond: false, k: 1, t: 1 }, [v([3, 4]), v([1, 1])], {} as never, true).data.join() === "5,7");
 * ```
 */
export function cpuAligned(
  i: AlignedFields,
  [a, b]: readonly IntValue[],
  _ctx: CpuContext,
  subtract: boolean,
): IntValue {
  const scale = Float32Array.of((i.shiftSecond ? b : a).scale[0] / 2 ** i.k);
  // The sum of equal shapes keeps the add's fast kernel.
  const data = !subtract && sameShape(a.shape, b.shape)
    ? addSum(...(i.shiftSecond ? [b.data, a.data] : [a.data, b.data]) as [QArray, QArray], i.k, i.t)
    : intAlignedSum(a.data as QArray, a.shape, b.data as QArray, b.shape, { ...i, subtract });
  return { data, shape: a.shape, dtype: "qint32", scale };
}

/**
 * The WebGPU kernel of an aligned sum (or difference with `subtract`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gpuAligned } from "./aligned.ts";
 * const i = { name: "s", inputs: [0, 1], output: 2, epilogue: [], shiftSecond: false, k: 1, t: 1 };
 * assert(typeof gpuAligned(i, true) === "function");
 * ```
 */
export function gpuAligned(i: AlignedFields & InstrBase, subtract: boolean): GpuMain {
  return (dev, [a, b]) => ({
    t: !subtract && sameShape(a.shape, b.shape)
      ? addSumResident(dev, i.shiftSecond ? [b, a] : [a, b], i)
      : alignedSumResident(dev, a, b, { shiftSecond: i.shiftSecond, k: i.k, t: i.t, subtract }),
  });
}
