/**
 * Requantization (SPEC.md "Integer operators"): a real multiplier `m` written `M · 2^-n`, and
 * `y = clamp(floor((acc · M + 2^(n-1)) / 2^n), qmin, qmax)` computed exactly in float64.
 * @module
 */

import { allocForRange, type QArray, type RangeOptions, resolveRange } from "./dtypes.ts";
import { type PerChannelOptions, resolveLayout } from "./layout.ts";
import { roundHalfToEven } from "./rounding.ts";

/** A fixed-point multiplier: the real value `M · 2^-n`. */
export interface Multiplier {
  /** Integer mantissa, in [2^14, 2^15) unless `n` is 0 (large multipliers) or 62 (tiny ones). */
  readonly M: number;
  /** Right shift, 0 ≤ n ≤ 62. */
  readonly n: number;
}

/** Largest shift; with n ≥ 48 every int32 accumulator already requantizes to 0, so the cap changes nothing. */
export const MAX_SHIFT = 62;
/** `acc · M` stays below 2^53 for every int32 `acc` while `M < 2^22`. */
export const MAX_MANTISSA = 4194303;

function floorLog2(m: number): number {
  let e = Math.floor(Math.log2(m));
  while (2 ** e > m) e--;
  while (2 ** (e + 1) <= m) e++;
  return e;
}

/**
 * Writes a positive real multiplier `m` as `M · 2^-n`: `n = 14 - floor(log2 m)` so that
 * `M = round(m · 2^n)` (ties to even) lies in [2^14, 2^15); if rounding reaches 2^15, `n` drops by one
 * (M = 2^14). Where `n` would be negative (m ≥ 2^15), `n = 0` and `M = round(m)`; `n` is capped at 62.
 * Throws a RangeError for m ≤ 0, non-finite m, or `M` of 2^22 or more (not exact in float64).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { computeMultiplier } from "@hqat/qtensor";
 * assert(JSON.stringify(computeMultiplier(0.5)) === '{"M":16384,"n":15}');
 * assert(JSON.stringify(computeMultiplier(40000)) === '{"M":40000,"n":0}');
 * ```
 */
export function computeMultiplier(m: number): Multiplier {
  if (!(m > 0) || m === Infinity) {
    throw new RangeError(`Cannot requantize with multiplier ${m}: it must be positive and finite`);
  }
  let n = Math.min(MAX_SHIFT, Math.max(0, 14 - floorLog2(m)));
  let M = roundHalfToEven(m * 2 ** n);
  if (M === 32768 && n > 0) {
    n -= 1;
    M = roundHalfToEven(m * 2 ** n);
  }
  if (M > MAX_MANTISSA) {
    throw new RangeError(
      `Cannot requantize with multiplier ${m}: M = ${M} needs 2^22 or more, so acc · M would not be exact`,
    );
  }
  return { M, n };
}

/**
 * Requantizes one accumulator exactly: `floor((acc · M + 2^(n-1)) / 2^n)` without clamping
 * (for n = 0 the result is `acc · M`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantizeValue } from "@hqat/qtensor";
 * assert(requantizeValue(3, { M: 16384, n: 15 }) === 2); // 1.5 rounds up
 * assert(requantizeValue(-3, { M: 16384, n: 15 }) === -1); // -1.5 rounds up too
 * ```
 */
export function requantizeValue(acc: number, multiplier: Multiplier): number {
  const pow = 2 ** multiplier.n;
  const p = acc * multiplier.M;
  const q = Math.floor(p / pow);
  return p - q * pow >= pow / 2 ? q + 1 : q;
}

/** A fused activation applied after requantization. */
export type FusedActivation = "relu" | "relu6";

/**
 * The ReLU6 upper bound on the integer grid of scale `s`: `min(qmax, round(float32(6 / s)))`, i.e.
 * the quantized value of 6.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { relu6Bound } from "@hqat/qtensor";
 * assert(relu6Bound(0.1, 127) === 60 && relu6Bound(0.01, 127) === 127);
 * ```
 */
export function relu6Bound(scale: number, qmax: number): number {
  const s = Math.fround(scale);
  if (!(s > 0) || s === Infinity) throw new RangeError(`ReLU6 needs a positive finite scale, got ${scale}`);
  return Math.min(qmax, roundHalfToEven(Math.fround(6 / s)));
}

/**
 * The clamp bounds for an output range and fused activation: none `[qmin, qmax]`, ReLU `[0, qmax]`,
 * ReLU6 `[0, relu6Bound(scale, qmax)]` (one bound per output channel scale).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { activationBounds } from "@hqat/qtensor";
 * const b = activationBounds({ qmin: -128, qmax: 127 }, { activation: "relu6", scale: [0.1] });
 * assert(b.lo === 0 && b.hi[0] === 60);
 * ```
 */
export function activationBounds(
  range: { readonly qmin: number; readonly qmax: number },
  options: { readonly activation?: FusedActivation; readonly scale?: number | ArrayLike<number> },
): { lo: number; hi: Float64Array } {
  const { activation } = options;
  if (activation === undefined) return { lo: range.qmin, hi: Float64Array.of(range.qmax) };
  if (activation === "relu") return { lo: 0, hi: Float64Array.of(range.qmax) };
  if (activation !== "relu6") {
    throw new TypeError(`Unknown fused activation "${activation}": expected "relu" or "relu6"`);
  }
  const { scale } = options;
  if (scale === undefined) throw new TypeError("A fused ReLU6 needs the output scale");
  const s = typeof scale === "number" ? [scale] : scale;
  const hi = new Float64Array(s.length);
  for (let c = 0; c < s.length; c++) hi[c] = relu6Bound(s[c], range.qmax);
  return { lo: 0, hi };
}

/** Options of {@linkcode requantize}. */
export interface RequantizeOptions extends RangeOptions, PerChannelOptions {
  /** Fused activation clamped after requantization. */
  readonly activation?: FusedActivation;
  /** Output scale (per tensor, or per channel); needed by ReLU6 only. */
  readonly scale?: number | ArrayLike<number>;
}

/**
 * Requantizes int32 accumulators with per-tensor or per-channel multipliers (channels along
 * `axis` of `shape`): `clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi)`, where `[lo, hi]` is the output
 * range narrowed by the fused activation. Exact: `|acc · M| < 2^53`. The result is the narrowest
 * integer array holding the range.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { computeMultiplier, requantize } from "@hqat/qtensor";
 * const y = requantize(Int32Array.of(1000, -1000, 100000), computeMultiplier(0.01), { dtype: "qint8" });
 * assert(y instanceof Int8Array && y.join() === "10,-10,127");
 * ```
 */
export function requantize(
  acc: ArrayLike<number>,
  multiplier: Multiplier | readonly Multiplier[],
  options: RequantizeOptions = {},
): QArray {
  const range = resolveRange(options);
  const mult = "M" in multiplier ? [multiplier] : multiplier as readonly Multiplier[];
  if (mult.length === 0) throw new RangeError("requantize() needs at least one multiplier");
  const { outer, channels, inner } = resolveLayout(mult.length, acc.length, options);
  const { lo, hi } = activationBounds(range, options);
  if (hi.length !== 1 && hi.length !== channels) {
    throw new RangeError(`requantize(): ${hi.length} output scales for ${channels} channels`);
  }
  const out = allocForRange(range, acc.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const { M, n } = mult[c];
      const pow = 2 ** n, inv = 2 ** -n, half = pow / 2;
      const top = hi.length === 1 ? hi[0] : hi[c];
      const end = i + inner;
      for (; i < end; i++) {
        const p = acc[i] * M;
        const q = Math.floor(p * inv);
        const y = p - q * pow >= half ? q + 1 : q;
        out[i] = y < lo ? lo : y > top ? top : y;
      }
    }
  }
  return out;
}
