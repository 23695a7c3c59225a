/**
 * The squared fake-quantization errors of the MSE observer's candidate ranges, summed in a fixed order:
 * float64 sums of {@linkcode SQUARED_ERROR_BLOCK} consecutive terms, then sums of those sums in blocks of
 * the same size, until one value is left. The order is part of the definition, so that a device summing
 * blocks in parallel (with float64 emulated exactly) gets the same float64 sums bit for bit.
 * @module
 */

import type { QRange } from "./dtypes.ts";
import { roundingFunction, type RoundingMode } from "./rounding.ts";
import { determineScale } from "./scale.ts";

/** The number of candidate factors `1 - 0.01 i`, i = 0..94. */
export const MSE_CANDIDATES = 95;

/** Terms per block of the squared-error sums (see the module doc). */
export const SQUARED_ERROR_BLOCK = 256;

/**
 * The candidate factors `1 - 0.01 i` (float64) for i = 0, stride, 2·stride, … ≤ 94.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mseFactors } from "@hqat/qtensor";
 * assert(mseFactors(1).length === 95 && mseFactors(50).join() === "1,0.5");
 * ```
 */
export function mseFactors(stride: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < MSE_CANDIDATES; i += stride) out.push(1 - 0.01 * i);
  return Float64Array.from(out);
}

/**
 * Sums `parts` in blocks of {@linkcode SQUARED_ERROR_BLOCK} (each block left to right, in float64), then
 * the block sums the same way, until one value is left; 0 for no parts.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { blockedSum } from "@hqat/qtensor";
 * assert(blockedSum(Float64Array.of(1, 2, 3)) === 6 && blockedSum(new Float64Array(0)) === 0);
 * ```
 */
export function blockedSum(parts: Float64Array): number {
  let level = parts;
  while (level.length > 1) {
    const next = new Float64Array(Math.ceil(level.length / SQUARED_ERROR_BLOCK));
    for (let b = 0; b < next.length; b++) {
      let acc = 0;
      const end = Math.min(level.length, (b + 1) * SQUARED_ERROR_BLOCK);
      for (let j = b * SQUARED_ERROR_BLOCK; j < end; j++) acc += level[j];
      next[b] = acc;
    }
    level = next;
  }
  return level.length ? level[0] : 0;
}

/** Which values of a per-channel array form one channel: `outer` runs of `inner` values, `stride` apart. */
export interface ChannelSlice {
  /** Runs. */
  readonly outer: number;
  /** Values per run. */
  readonly inner: number;
  /** Distance between runs. */
  readonly stride: number;
  /** Start of the first run. */
  readonly offset: number;
}

/** The blocked squared error `Σ (float32(q · s) - v)²` of one channel's values for scale `s`. */
function squaredError(
  x: ArrayLike<number>,
  s: number,
  slice: ChannelSlice,
  range: QRange,
  round: (v: number) => number,
): number {
  const parts = new Float64Array(Math.ceil((slice.outer * slice.inner) / SQUARED_ERROR_BLOCK));
  let acc = 0, k = 0, p = 0;
  for (let o = 0; o < slice.outer; o++) {
    const base = o * slice.stride + slice.offset;
    for (let j = base; j < base + slice.inner; j++) {
      const v = Math.fround(x[j]);
      const r = round(Math.fround(v / s));
      const q = r < range.qmin ? range.qmin : r > range.qmax ? range.qmax : r;
      // Both are float32 values within 2^20 of each other (or q is 0): the difference is exact.
      const d = Math.fround(q * s) - v;
      acc += d * d;
      if (++k === SQUARED_ERROR_BLOCK) {
        parts[p++] = acc;
        acc = 0;
        k = 0;
      }
    }
  }
  if (k > 0) parts[p] = acc;
  return blockedSum(parts);
}

/** Options of {@linkcode candidateErrors}. */
export interface CandidateErrorOptions extends QRange {
  /** The channel's batch minimum (float32). */
  readonly min: number;
  /** The channel's batch maximum (float32). */
  readonly max: number;
  /** The candidate factors ({@linkcode mseFactors}). */
  readonly factors: ArrayLike<number>;
  /** Rounding of the trial fake quantization (default half to even). */
  readonly rounding?: RoundingMode;
  /** The channel's values (default all of `x`). */
  readonly slice?: ChannelSlice;
}

/**
 * The squared fake-quantization error of each candidate range of one channel: candidate `k` is
 * `[float32(min · f), float32(max · f)]` with `f = factors[k]`, its scale the SPEC.md rule, its error
 * `Σ (fakeQuantize(v, s) - v)²` over the channel's float32 values, summed as the module doc says.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { candidateErrors } from "@hqat/qtensor";
 * const e = candidateErrors(Float32Array.of(-1, 0.5, 1), { min: -1, max: 1, factors: [1, 0.5], qmin: -128, qmax: 127 });
 * assert(e.length === 2 && e[0] < e[1]);
 * ```
 */
export function candidateErrors(x: ArrayLike<number>, options: CandidateErrorOptions): Float64Array {
  const range = { qmin: options.qmin, qmax: options.qmax };
  const round = roundingFunction(options.rounding);
  const slice = options.slice ?? { outer: 1, inner: x.length, stride: x.length, offset: 0 };
  const out = new Float64Array(options.factors.length);
  for (let k = 0; k < out.length; k++) {
    const f = options.factors[k];
    const lo = Math.fround(options.min * f), hi = Math.fround(options.max * f);
    out[k] = squaredError(x, determineScale(lo, hi, range), slice, range, round);
  }
  return out;
}
