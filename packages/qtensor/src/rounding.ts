/**
 * Rounding modes of SPEC.md: round half to even (the default) and the BPU's `floor(v + 0.5)`.
 * Both are exact for every finite float64 input.
 * @module
 */

/** A rounding mode: `"halfToEven"` (default) or `"bpu"` (`floor(v + 0.5)`, ties towards +∞). */
export type RoundingMode = "halfToEven" | "bpu";

/**
 * Rounds to the nearest integer, ties to the even neighbour (like `torch.round` / `nearbyint`).
 * Exact for every float64: `Math.round` is exact and `r - v` is computed without rounding error.
 * Non-finite values pass through.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { roundHalfToEven } from "@hqat/qtensor";
 * assert(roundHalfToEven(2.5) === 2 && roundHalfToEven(-1.5) === -2 && roundHalfToEven(0.7) === 1);
 * ```
 */
export function roundHalfToEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The BPU rounding `floor(v + 0.5)`, computed exactly (no rounding error in `v + 0.5`).
 * Non-finite values pass through.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bpuRound } from "@hqat/qtensor";
 * assert(bpuRound(2.5) === 3 && bpuRound(-2.5) === -2 && bpuRound(0.49999999999999994) === 0);
 * ```
 */
export function bpuRound(v: number): number {
  const f = Math.floor(v);
  return v - f >= 0.5 ? f + 1 : f;
}

/**
 * The rounding function of `mode`; throws a TypeError for an unknown mode.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { roundingFunction } from "@hqat/qtensor";
 * assert(roundingFunction("bpu")(0.5) === 1 && roundingFunction("halfToEven")(0.5) === 0);
 * ```
 */
export function roundingFunction(mode: RoundingMode = "halfToEven"): (v: number) => number {
  if (mode === "halfToEven") return roundHalfToEven;
  if (mode === "bpu") return bpuRound;
  throw new TypeError(`Unknown rounding mode "${mode}": expected "halfToEven" or "bpu"`);
}
