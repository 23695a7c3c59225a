/**
 * Quantize, dequantize and fake quantize (SPEC.md "Rounding, quantize, dequantize"), per tensor or
 * per channel, on float32 arrays.
 *
 * `quantize(x, s) = clamp(round(x / s), qmin, qmax)` with `x / s` a float32 division;
 * `dequantize(q, s) = q · s` as float32; `fakeQuantize = dequantize ∘ quantize`, bit for bit.
 * @module
 */

import {
  allocForRange,
  type QArray,
  type QTensor,
  qtensor,
  type RangeOptions,
  resolveRange,
  toScaleArray,
} from "./dtypes.ts";
import { type PerChannelOptions, resolveLayout } from "./layout.ts";
import { bpuRound, roundHalfToEven, roundingFunction, type RoundingMode } from "./rounding.ts";

/** Options shared by {@linkcode quantize}, {@linkcode fakeQuantize} and the gradient kernels. */
export interface QuantizeOptions extends RangeOptions, PerChannelOptions {
  /** Rounding of `x / s` (default `"halfToEven"`). */
  readonly rounding?: RoundingMode;
  /**
   * Reproduce PyTorch's CPU `fake_quantize_per_{tensor,channel}_affine` instead of SPEC.md: `x · inv`
   * with `inv = float32(1 / s)` in place of `x / s`, always ties to even, and a non-finite or huge
   * (|v| ≥ 2^63) quotient maps to `qmin` (the x86 int64 conversion result) instead of saturating or
   * throwing. Only for comparisons with PyTorch; the project's arithmetic is SPEC.md's.
   */
  readonly pytorchCompatible?: boolean;
}

const TWO_63 = 9223372036854775808;

/** How {@linkcode roundedQuotient} rounds: 0 half to even, 1 BPU, 2 PyTorch-compatible. */
export type QuotientMode = 0 | 1 | 2;

/**
 * The quotient mode of `options` (see {@linkcode QuantizeOptions}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quotientMode } from "@hqat/qtensor";
 * assert(quotientMode({}) === 0 && quotientMode({ rounding: "bpu" }) === 1);
 * ```
 */
export function quotientMode(options: QuantizeOptions): QuotientMode {
  if (options.pytorchCompatible === true) return 2;
  roundingFunction(options.rounding);
  return options.rounding === "bpu" ? 1 : 0;
}

/**
 * The rounded value of one element before clamping: `round(float32(x / s))` (SPEC.md), or PyTorch's
 * `nearbyint(float32(x · inv))` in mode 2 where a non-finite or huge result becomes -Infinity (so that
 * it clamps to `qmin`). `inv` must be `float32(1 / s)`. NaN throws a RangeError in modes 0 and 1.
 * Every quantizing kernel of this package goes through this one function.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { roundedQuotient } from "@hqat/qtensor";
 * assert(roundedQuotient(1.25, 0.5, 2, 0) === 2 && roundedQuotient(1.25, 0.5, 2, 1) === 3);
 * ```
 */
export function roundedQuotient(x: number, s: number, inv: number, mode: QuotientMode): number {
  if (mode === 2) {
    const r = roundHalfToEven(Math.fround(Math.fround(x) * inv));
    return Math.abs(r) < TWO_63 ? r : -Infinity;
  }
  const v = Math.fround(Math.fround(x) / s);
  if (v !== v) throw new RangeError(`Cannot quantize NaN (value ${x}, scale ${s})`);
  return mode === 0 ? roundHalfToEven(v) : bpuRound(v);
}

/**
 * Round half to even of `float32(x / s)` for the default mode, written out for the hot loops
 * (bit-identical to {@linkcode roundedQuotient} in mode 0; a `.5` fraction needs |v| < 2^23, so
 * `r & 1` is exact wherever it is used). NaN throws a RangeError.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { roundedQuotientEven } from "@hqat/qtensor";
 * assert(roundedQuotientEven(1.25, 0.5) === 2 && roundedQuotientEven(-0.75, 0.5) === -2);
 * ```
 */
export function roundedQuotientEven(x: number, s: number): number {
  const v = Math.fround(Math.fround(x) / s);
  const r = Math.round(v);
  if (r - v === 0.5) return (r & 1) !== 0 ? r - 1 : r;
  if (v !== v) throw new RangeError(`Cannot quantize NaN (value ${x}, scale ${s})`);
  return r;
}

/** Everything a quantizing kernel needs, resolved and checked once. */
export interface QuantizePlan {
  /** Smallest integer of the range. */
  readonly qmin: number;
  /** Largest integer of the range. */
  readonly qmax: number;
  /** Float32 scales, one per channel. */
  readonly scale: Float32Array;
  /** `float32(1 / scale[c])`, for the PyTorch-compatible mode. */
  readonly inverse: Float32Array;
  /** How quotients are rounded (see {@linkcode QuotientMode}). */
  readonly mode: QuotientMode;
  /** Product of the dimensions before the channel axis (1 for a per-tensor scale). */
  readonly outer: number;
  /** Number of scales. */
  readonly channels: number;
  /** Product of the dimensions after the channel axis (the length for a per-tensor scale). */
  readonly inner: number;
}

/**
 * Resolves the range, scales, rounding and per-channel layout for an array of `length` elements.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { planQuantize } from "@hqat/qtensor";
 * const p = planQuantize(0.5, 8, { dtype: "qint16" });
 * assert(p.qmax === 32767 && p.inner === 8 && p.inverse[0] === 2);
 * ```
 */
export function planQuantize(
  scale: number | ArrayLike<number>,
  length: number,
  options: QuantizeOptions,
): QuantizePlan {
  const { qmin, qmax } = resolveRange(options);
  const s = toScaleArray(scale);
  const { outer, channels, inner } = resolveLayout(s.length, length, options);
  const inverse = new Float32Array(s.length);
  for (let c = 0; c < s.length; c++) inverse[c] = 1 / s[c];
  return { qmin, qmax, scale: s, inverse, mode: quotientMode(options), outer, channels, inner };
}

/**
 * Quantizes float values: `clamp(round(float32(x / s)), qmin, qmax)`. The result is the narrowest
 * integer array that holds the range (Int8Array for qint8). NaN throws a RangeError; ±Infinity saturates.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantize } from "@hqat/qtensor";
 * const q = quantize(Float32Array.of(0.3, -1, 0.25, 100), 0.5, { dtype: "qint8" });
 * assert(q instanceof Int8Array && q.join() === "1,-2,0,127");
 * const pc = quantize(Float32Array.of(1, 1, 1, 1), [0.5, 0.25], { axis: 0, shape: [2, 2] });
 * assert(pc.join() === "2,2,4,4");
 * ```
 */
export function quantize(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: QuantizeOptions = {},
): QArray {
  const p = planQuantize(scale, x.length, options);
  const { qmin, qmax, mode } = p;
  const out = allocForRange(p, x.length);
  let i = 0;
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.channels; c++) {
      const sc = p.scale[c], inv = p.inverse[c], end = i + p.inner;
      if (mode === 0) {
        for (; i < end; i++) {
          const r = roundedQuotientEven(x[i], sc);
          out[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      } else {
        for (; i < end; i++) {
          const r = roundedQuotient(x[i], sc, inv, mode);
          out[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      }
    }
  }
  return out;
}

/**
 * Dequantizes integers: `float32(q · s)`, per tensor or per channel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dequantize } from "@hqat/qtensor";
 * const x = dequantize(Int8Array.of(1, -2, 127), 0.5);
 * assert(x.join() === "0.5,-1,63.5");
 * ```
 */
export function dequantize(
  q: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: PerChannelOptions = {},
): Float32Array {
  const s = toScaleArray(scale);
  const { outer, channels, inner } = resolveLayout(s.length, q.length, options);
  const out = new Float32Array(q.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const sc = s[c];
      const end = i + inner;
      for (; i < end; i++) out[i] = q[i] * sc;
    }
  }
  return out;
}

/**
 * Fake quantization: bit for bit `dequantize(quantize(x, s), s)` (a zero result is +0), without
 * materializing the integers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantize } from "@hqat/qtensor";
 * const y = fakeQuantize(Float32Array.of(0.3, -0.75, 1000), 0.5);
 * assert(y.join() === "0.5,-1,63.5");
 * ```
 */
export function fakeQuantize(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: QuantizeOptions = {},
): Float32Array {
  const p = planQuantize(scale, x.length, options);
  const { qmin, qmax, mode } = p;
  const out = new Float32Array(x.length);
  let i = 0;
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.channels; c++) {
      const sc = p.scale[c], inv = p.inverse[c], end = i + p.inner;
      // `+ 0` turns a -0 into +0, as storing the integer would.
      if (mode === 0) {
        for (; i < end; i++) {
          const r = roundedQuotientEven(x[i], sc);
          out[i] = ((r < qmin ? qmin : r > qmax ? qmax : r) + 0) * sc;
        }
      } else {
        for (; i < end; i++) {
          const r = roundedQuotient(x[i], sc, inv, mode);
          out[i] = ((r < qmin ? qmin : r > qmax ? qmax : r) + 0) * sc;
        }
      }
    }
  }
  return out;
}

/** Options of {@linkcode quantizeTensor}. */
export interface QuantizeTensorOptions extends QuantizeOptions {
  /** Dimensions of the input, outermost first. */
  readonly shape: readonly number[];
  /** The quantized type (default qint8). */
  readonly dtype?: "qint8" | "qint16" | "qint32";
}

/**
 * Quantizes into a {@linkcode QTensor} of `dtype` (default qint8); a per-channel scale needs `axis`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantizeTensor } from "@hqat/qtensor";
 * const q = quantizeTensor(Float32Array.of(0.5, -0.5), 0.25, { shape: [2], dtype: "qint16" });
 * assert(q.dtype === "qint16" && q.data.join() === "2,-2");
 * ```
 */
export function quantizeTensor(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: QuantizeTensorOptions,
): QTensor {
  const dtype = options.dtype ?? "qint8";
  if (options.qmin !== undefined || options.qmax !== undefined) {
    throw new TypeError("quantizeTensor() takes a dtype, not a custom qmin/qmax range");
  }
  const data = quantize(x, scale, { ...options, dtype });
  return qtensor(data, { shape: options.shape, scale, axis: options.axis, dtype });
}

/**
 * Dequantizes a {@linkcode QTensor} with its own scale and axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dequantizeTensor, qtensor } from "@hqat/qtensor";
 * const x = dequantizeTensor(qtensor(Int8Array.of(2, 2), { shape: [2, 1], scale: [0.5, 2], axis: 0 }));
 * assert(x.join() === "1,4");
 * ```
 */
export function dequantizeTensor(q: QTensor): Float32Array {
  return dequantize(q.data, q.scale, { axis: q.axis, shape: q.shape });
}
