/**
 * Checks and small helpers the instruction kinds share: operand dtypes, geometry ranges, window
 * sizes, the int32 accumulator bound of a weighted layer, and the drawing of a window's geometry.
 * @module
 */

import { checkAccumulator, QDTYPE_RANGES } from "@hqat/qtensor";
import type { Pair } from "../fields.ts";
import type { InferContext } from "../instr.ts";
import type { BufferDtype } from "../program.ts";
import type { ValueInfo } from "../value.ts";

/**
 * The largest kernel, stride, padding or dilation an instruction may have.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_GEOMETRY } from "@hqat/program";
 * assert(MAX_GEOMETRY === 65535);
 * ```
 */
export const MAX_GEOMETRY = 65535;

/**
 * Whether `d` is an activation dtype (qint8 or qint16).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isActivationDtype } from "@hqat/program";
 * assert(isActivationDtype("qint16") && !isActivationDtype("qint32"));
 * ```
 */
export function isActivationDtype(d: BufferDtype): d is "qint8" | "qint16" {
  return d === "qint8" || d === "qint16";
}

/** Fails unless `x` is qint8/qint16 with one scale. */
export function activationInput(ctx: InferContext, x: ValueInfo, what: string): void {
  if (!isActivationDtype(x.dtype) || x.scale.length !== 1) {
    ctx.fail(`${ctx.where}: ${what} must be qint8/qint16 with one scale`);
  }
}

/** Fails unless `x` is an integer value. */
export function integerInput(ctx: InferContext, x: ValueInfo, what: string): void {
  if (x.dtype === "float32") ctx.fail(`${ctx.where}: ${what} is not an integer buffer`);
}

/** Fails unless every pair is in `min..MAX_GEOMETRY`. */
export function checkPairs(ctx: InferContext, ...pairs: [Pair, number, string][]): void {
  for (const [p, min, what] of pairs) {
    if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min && d <= MAX_GEOMETRY)) {
      ctx.fail(`${ctx.where}: ${what} [${p}] is not in ${min}..${MAX_GEOMETRY}`);
    }
  }
}

/** The output size `[OH, OW]` of a window over a 4-d input, failing when it does not fit. */
export function windowOut(ctx: InferContext, x: ValueInfo, g: {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation?: Pair;
}): [number, number] {
  if (x.shape.length !== 4) ctx.fail(`${ctx.where}: the input [${x.shape}] is not 4-d`);
  const d = g.dilation ?? [1, 1];
  const dims = [0, 1].map((a) =>
    Math.floor((x.shape[2 + a] + 2 * g.padding[a] - d[a] * (g.kernel[a] - 1) - 1) / g.stride[a]) + 1
  );
  if (!(dims[0] >= 1) || !(dims[1] >= 1)) {
    ctx.fail(`${ctx.where}: a ${g.kernel[0]}×${g.kernel[1]} window does not fit the input [${x.shape}]`);
  }
  return [dims[0], dims[1]];
}

/** Fails unless a pooling's padding is at most half its kernel. */
export function halfKernelPadding(ctx: InferContext, kernel: Pair, padding: Pair): void {
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    ctx.fail(`${ctx.where}: padding [${padding}] exceeds half the kernel [${kernel}]`);
  }
}

/**
 * Checks a weighted layer: weight count and range of dimensions, one positive scale per output
 * channel, one bias per channel, and SPEC.md's int32 accumulator bound for the input's dtype.
 */
export function checkWeights(
  ctx: InferContext,
  l: {
    readonly weight: Int8Array;
    readonly weightShape: readonly number[];
    readonly weightScale: Float32Array;
    readonly bias?: Int32Array;
  },
  x: ValueInfo,
): void {
  const o = l.weightShape[0];
  const count = l.weightShape.reduce((a, b) => a * b, 1);
  if (l.weightShape.some((d) => !(d >= 1 && d <= 1 << 24)) || count !== l.weight.length) {
    ctx.fail(`${ctx.where}: weight shape [${l.weightShape}] does not match its ${l.weight.length} weights`);
  }
  if (l.weightScale.length !== o || !l.weightScale.every((s) => s > 0 && s < Infinity)) {
    ctx.fail(`${ctx.where}: needs ${o} positive weight scales`);
  }
  if (l.bias !== undefined && l.bias.length !== o) {
    ctx.fail(`${ctx.where}: ${l.bias.length} biases for ${o} channels`);
  }
  try {
    checkAccumulator(l.weight, { channels: o, bias: l.bias, inputRange: QDTYPE_RANGES[x.dtype as "qint8"] });
  } catch (e) {
    ctx.fail(`${ctx.where}: ${(e as Error).message}`);
  }
}

/**
 * The exact scales `sx · sw[c]` of a weighted layer's accumulator, rounded to float32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { accumulatorScale } from "@hqat/program";
 * assert(accumulatorScale(0.5, Float32Array.of(0.25, 1)).join() === "0.125,0.5");
 * ```
 */
export function accumulatorScale(sx: number, weightScale: Float32Array): Float32Array {
  return Float32Array.from(weightScale, (w) => sx * w);
}

/**
 * A window's geometry as drawn: `3×3 s2`, with `d2` when the dilation is not 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { windowLabel } from "@hqat/program";
 * assert(windowLabel({ kernel: [3, 3], stride: [2, 2] }) === "3×3 s2");
 * assert(windowLabel({ kernel: [3, 3], stride: [1, 1], dilation: [2, 2] }) === "3×3 s1 d2");
 * ```
 */
export function windowLabel(g: {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly dilation?: Pair;
}): string {
  const pair = (p: Pair) => (p[0] === p[1] ? `${p[0]}` : `${p[0]},${p[1]}`);
  const parts = [`${g.kernel[0]}×${g.kernel[1]}`, `s${pair(g.stride)}`];
  if (g.dilation && g.dilation[0] * g.dilation[1] > 1) parts.push(`d${pair(g.dilation)}`);
  return parts.join(" ");
}

/**
 * Elements per frame of `shape` (after dimension 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { perFrame } from "@hqat/program";
 * assert(perFrame([4, 3, 32, 32]) === 3072);
 * ```
 */
export function perFrame(shape: readonly number[]): number {
  let e = 1;
  for (let i = 1; i < shape.length; i++) e *= shape[i];
  return e;
}

/**
 * Whether `b` broadcasts to `a`: the same rank, each dimension equal or 1, dimension 0 (the batch)
 * equal.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { broadcastsTo } from "@hqat/program";
 * assert(broadcastsTo([2, 3, 1, 1], [2, 3, 4, 4]) && !broadcastsTo([1, 3], [2, 3]));
 * ```
 */
export function broadcastsTo(b: readonly number[], a: readonly number[]): boolean {
  return a.length === b.length && b[0] === a[0] && b.every((d, i) => d === a[i] || d === 1);
}
