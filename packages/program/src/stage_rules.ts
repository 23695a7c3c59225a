/**
 * The rules the epilogue stages share: the container records of a requantization, the checks of a
 * requantization and of SPEC's add alignment, the CPU arithmetic of both, building a requantization from
 * real scales (`requantOf`) and appending stages to an epilogue.
 * @module
 */

import {
  type FusedActivation,
  type IntOutput,
  MAX_MANTISSA,
  MAX_SHIFT,
  type Multiplier,
  outputMultipliers,
  requantize,
} from "@hqat/qtensor";
import type { FieldReader, FieldWriter } from "./fields.ts";
import type { Activation, Requant, Stage, StageCheckContext } from "./stage.ts";
import type { IntValue, ValueInfo } from "./value.ts";

/**
 * The dtype codes of the container (index = code).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DTYPE_CODES } from "@hqat/program";
 * assert(DTYPE_CODES.indexOf("qint32") === 2);
 * ```
 */
export const DTYPE_CODES = ["qint8", "qint16", "qint32", "float32"] as const;

/**
 * The activation codes of the container (index = code).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ACTIVATION_CODES } from "@hqat/program";
 * assert(ACTIVATION_CODES[2] === "relu6");
 * ```
 */
export const ACTIVATION_CODES = ["none", "relu", "relu6"] as const;

const goodScales = (s: Float32Array) => s.length > 0 && s.every((v) => v > 0 && v < Infinity);
const isAct = (d: string) => d === "qint8" || d === "qint16";

/**
 * Writes a requantization record (dtype, activation, multipliers, shifts, scale).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { writeRequant } from "@hqat/program";
 * assert(typeof writeRequant === "function");
 * ```
 */
export function writeRequant(w: FieldWriter, r: Requant): void {
  w.u8(DTYPE_CODES.indexOf(r.dtype));
  w.u8(ACTIVATION_CODES.indexOf(r.act));
  w.u16(0);
  w.ref(r.M);
  w.ref(r.n);
  w.ref(r.scale);
}

/**
 * Reads a requantization record written by {@linkcode writeRequant}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readRequant } from "@hqat/program";
 * assert(typeof readRequant === "function");
 * ```
 */
export function readRequant(r: FieldReader, what: string): Requant {
  const d = r.u8(`the dtype of ${what}`), a = r.u8(`the activation of ${what}`);
  r.u16(what);
  if (d >= 3) r.fail(`${what} requantizes to ${DTYPE_CODES[d] ?? `unknown dtype code ${d}`}`);
  if (a >= ACTIVATION_CODES.length) r.fail(`the activation of ${what} has unknown code ${a}`);
  const M = r.i32s(`the multipliers of ${what}`), n = r.u8s(`the shifts of ${what}`);
  return {
    M,
    n,
    dtype: DTYPE_CODES[d] as Requant["dtype"],
    scale: r.f32s(`the scale of ${what}`),
    act: ACTIVATION_CODES[a],
  };
}

/**
 * Checks that `r` can requantize `v` (multipliers per channel or one, in range; output scales
 * positive, one or one per multiplier for qint32) and returns the value it gives.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkRequant } from "@hqat/program";
 * const r = { M: Int32Array.of(16384), n: Uint8Array.of(15), dtype: "qint8" as const, scale: Float32Array.of(1), act: "none" as const };
 * const v = checkRequant(r, { dtype: "qint32", shape: [1, 2], scale: Float32Array.of(0.5) }, { where: "x", fail: (m) => { throw new Error(m); } });
 * assert(v.dtype === "qint8");
 * ```
 */
export function checkRequant(r: Requant, v: ValueInfo, ctx: StageCheckContext): ValueInfo {
  if (v.dtype === "float32") ctx.fail(`${ctx.where}: follows a float32 value`);
  const channels = v.shape.length >= 2 ? v.shape[1] : 1;
  const m = r.M.length;
  if (m !== r.n.length || (m !== 1 && m !== channels) || (v.scale.length > 1 && m !== v.scale.length)) {
    ctx.fail(`${ctx.where}: ${m} multipliers and ${r.n.length} shifts for ${channels} channels`);
  }
  if (!r.M.every((x) => x >= 0 && x <= MAX_MANTISSA) || !r.n.every((x) => x <= MAX_SHIFT)) {
    ctx.fail(`${ctx.where}: a multiplier is outside [0, ${MAX_MANTISSA}] or a shift above ${MAX_SHIFT}`);
  }
  if (!goodScales(r.scale) || (r.scale.length !== 1 && (r.dtype !== "qint32" || r.scale.length !== m))) {
    ctx.fail(
      `${ctx.where}: ${r.scale.length} output scales (need positive values: one, or one per multiplier for qint32)`,
    );
  }
  return { dtype: r.dtype, shape: v.shape, scale: r.scale };
}

/**
 * Checks SPEC's add rule for a shifted operand and the other one (the shifted one has the larger scale,
 * `k ≤ 23` for int8 or `15` for int16, `|t| ≤ 32767`) and, unless `shapes` is `"checked"` (an
 * instruction that broadcasts checks its own), that both have one shape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkAddRule } from "@hqat/program";
 * const a = { dtype: "qint8" as const, shape: [1], scale: Float32Array.of(0.5) };
 * checkAddRule(a, a, { k: 14, t: 16384 }, { where: "x", fail: (m) => { throw new Error(m); } });
 * assert(true);
 * ```
 */
export function checkAddRule(
  shifted: ValueInfo,
  other: ValueInfo,
  r: { readonly k: number; readonly t: number },
  ctx: StageCheckContext,
  shapes: "equal" | "checked" = "equal",
): void {
  for (const [what, v] of [["the shifted operand", shifted], ["the other operand", other]] as const) {
    if (!isAct(v.dtype) || v.scale.length !== 1) {
      ctx.fail(`${ctx.where}: ${what} must be qint8/qint16 with one scale`);
    }
  }
  if (
    shapes === "equal" &&
    (shifted.shape.length !== other.shape.length || shifted.shape.some((d, i) => d !== other.shape[i]))
  ) {
    ctx.fail(`${ctx.where}: shapes [${shifted.shape}] and [${other.shape}] differ`);
  }
  if (!(shifted.scale[0] >= other.scale[0])) {
    ctx.fail(`${ctx.where}: the shifted operand must have the larger scale`);
  }
  const kMax = shifted.dtype === "qint8" ? 23 : 15;
  if (!(r.k <= kMax) || !(Math.abs(r.t) <= 32767)) {
    ctx.fail(`${ctx.where}: k ${r.k} or t ${r.t} is out of range (k ≤ ${kMax}, |t| ≤ 32767)`);
  }
}

/**
 * SPEC's int32 add sum `shifted · 2^k + other · t`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { addSum } from "@hqat/program";
 * assert(addSum(Int8Array.of(1, -2), Int8Array.of(3, 4), 4, 5).join() === "31,-12");
 * ```
 */
export function addSum(
  shifted: ArrayLike<number>,
  other: ArrayLike<number>,
  k: number,
  t: number,
): Int32Array {
  const pk = 2 ** k, sum = new Int32Array(shifted.length);
  for (let i = 0; i < sum.length; i++) sum[i] = shifted[i] * pk + other[i] * t;
  return sum;
}

const multipliers = (r: Requant): Multiplier | Multiplier[] => {
  const m = Array.from(r.M, (M, c) => ({ M, n: r.n[c] }));
  return m.length === 1 ? m[0] : m;
};

/**
 * The requantized value of `v` (SPEC.md's rule with `@hqat/qtensor`'s `requantize`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantValue } from "@hqat/program";
 * const v = { data: Int32Array.of(3, -3, 1000), dtype: "qint32" as const, shape: [1, 3], scale: Float32Array.of(1) };
 * const r = { M: Int32Array.of(1), n: Uint8Array.of(1), dtype: "qint8" as const, scale: Float32Array.of(2), act: "none" as const };
 * assert(requantValue(v, r).data.join() === "2,-1,127");
 * ```
 */
export function requantValue(v: IntValue, r: Requant): IntValue {
  const data = requantize(v.data, multipliers(r), {
    dtype: r.dtype,
    axis: 1,
    shape: v.shape,
    activation: r.act === "none" ? undefined : r.act,
    scale: r.scale.length === 1 ? r.scale[0] : r.scale,
  });
  return { data, shape: v.shape, dtype: r.dtype, scale: r.scale };
}

/**
 * The requantization of an accumulator whose real scale is `numerator[c] / divisor` to `out` with the
 * activation `act` (SPEC.md: `M · 2^-n` per channel from the real multiplier); for a 32-bit output,
 * multipliers of 1 and the accumulator's per-channel scale. `where` prefixes errors.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantOf } from "@hqat/program";
 * const r = requantOf([0.25], 1, { dtype: "qint8", scale: 0.5 }, "relu", "conv");
 * assert(r.M[0] === 16384 && r.n[0] === 15 && r.act === "relu");
 * assert(requantOf([0.25, 0.5], 2, { dtype: "qint32" }, "none", "fc").scale.join() === "0.125,0.25");
 * ```
 */
export function requantOf(
  numerator: ArrayLike<number>,
  divisor: number,
  out: IntOutput,
  act: Activation | FusedActivation | undefined,
  where: string,
): Requant {
  const a: Activation = act ?? "none";
  if (out.dtype === "qint32") {
    const scale = new Float32Array(numerator.length);
    for (let c = 0; c < scale.length; c++) scale[c] = numerator[c] / divisor;
    return {
      M: new Int32Array(scale.length).fill(1),
      n: new Uint8Array(scale.length),
      dtype: "qint32",
      scale,
      act: a,
    };
  }
  let mult: Multiplier[];
  try {
    mult = outputMultipliers({ numerator, divisor }, out.scale);
  } catch (e) {
    throw new RangeError(`${where}: ${(e as Error).message}`);
  }
  return {
    M: Int32Array.from(mult, (m) => m.M),
    n: Uint8Array.from(mult, (m) => m.n),
    dtype: out.dtype,
    scale: Float32Array.of(out.scale),
    act: a,
  };
}

/**
 * `epilogue` followed by `more`, with a ReLU / ReLU6 that follows a requantization without activation
 * folded into it (the same integers, one stage fewer).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { appendStages, requantOf } from "@hqat/program";
 * const r = requantOf([0.25], 1, { dtype: "qint8", scale: 0.5 }, "none", "c");
 * const e = appendStages([{ kind: "requant", ...r }], [{ kind: "relu6" }]);
 * assert(e.length === 1 && e[0].kind === "requant" && e[0].act === "relu6");
 * ```
 */
export function appendStages(epilogue: readonly Stage[], more: readonly Stage[]): Stage[] {
  const out = [...epilogue];
  for (const s of more) {
    const last = out.at(-1);
    if ((s.kind === "relu" || s.kind === "relu6") && last?.kind === "requant" && last.act === "none") {
      out[out.length - 1] = { ...last, act: s.kind };
    } else out.push(s);
  }
  return out;
}
