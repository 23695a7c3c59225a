/**
 * Quantized integer types, their ranges, and the `QTensor` value type.
 * @module
 */

/** The quantized integer types of SPEC.md. Quantization is symmetric (zero point 0). */
export type QDType = "qint8" | "qint16" | "qint32";

/** An inclusive integer range `[qmin, qmax]`. */
export interface QRange {
  /** Smallest representable integer. */
  readonly qmin: number;
  /** Largest representable integer. */
  readonly qmax: number;
}

/** The storage array of each quantized type. */
export interface QDTypeArray {
  /** Storage of `qint8`. */
  qint8: Int8Array;
  /** Storage of `qint16`. */
  qint16: Int16Array;
  /** Storage of `qint32`. */
  qint32: Int32Array;
}

/** Any storage array of quantized integers. */
export type QArray = QDTypeArray[QDType];

/**
 * The range of each quantized type: qint8 [-128, 127], qint16 [-32768, 32767], qint32 the int32 range.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QDTYPE_RANGES } from "@hqat/qtensor";
 * assert(QDTYPE_RANGES.qint8.qmin === -128 && QDTYPE_RANGES.qint16.qmax === 32767);
 * ```
 */
export const QDTYPE_RANGES: Readonly<Record<QDType, QRange>> = Object.freeze({
  qint8: Object.freeze({ qmin: -128, qmax: 127 }),
  qint16: Object.freeze({ qmin: -32768, qmax: 32767 }),
  qint32: Object.freeze({ qmin: -2147483648, qmax: 2147483647 }),
});

/**
 * The range of `dtype`; throws a TypeError for anything that is not a quantized type.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qrange } from "@hqat/qtensor";
 * assert(qrange("qint16").qmin === -32768);
 * ```
 */
export function qrange(dtype: QDType): QRange {
  const r = (QDTYPE_RANGES as Record<string, QRange | undefined>)[dtype];
  if (r === undefined) {
    throw new TypeError(`Unknown quantized dtype "${dtype}": expected qint8, qint16 or qint32`);
  }
  return r;
}

/** Either a dtype or an explicit `[qmin, qmax]` range; the dtype's range wins when both are absent. */
export interface RangeOptions {
  /** The quantized type whose range to use (default qint8 when no qmin/qmax are given). */
  readonly dtype?: QDType;
  /** Lower bound; needs `qmax` too. */
  readonly qmin?: number;
  /** Upper bound; needs `qmin` too. */
  readonly qmax?: number;
}

/**
 * Resolves `{ dtype }` or `{ qmin, qmax }` to a checked range (integers, qmin ≤ 0 ≤ qmax, within int32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resolveRange } from "@hqat/qtensor";
 * assert(resolveRange({ qmin: -8, qmax: 7 }).qmax === 7);
 * assert(resolveRange({}).qmin === -128);
 * ```
 */
export function resolveRange(options: RangeOptions): QRange {
  const { dtype, qmin, qmax } = options;
  if (qmin === undefined && qmax === undefined) return qrange(dtype ?? "qint8");
  if (qmin === undefined || qmax === undefined) {
    throw new TypeError(`A quantization range needs both qmin and qmax (got qmin ${qmin}, qmax ${qmax})`);
  }
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin > 0 || qmax < 0 || qmin >= qmax) {
    throw new RangeError(
      `Invalid quantization range [${qmin}, ${qmax}]: need integers with qmin ≤ 0 ≤ qmax and qmin < qmax`,
    );
  }
  if (qmin < -2147483648 || qmax > 2147483647) {
    throw new RangeError(`Invalid quantization range [${qmin}, ${qmax}]: it exceeds int32`);
  }
  if (dtype !== undefined) {
    const r = qrange(dtype);
    if (qmin < r.qmin || qmax > r.qmax) {
      throw new RangeError(`Quantization range [${qmin}, ${qmax}] exceeds ${dtype} [${r.qmin}, ${r.qmax}]`);
    }
  }
  return { qmin, qmax };
}

/**
 * Allocates the narrowest storage array (Int8Array, Int16Array or Int32Array) that holds `range`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { allocForRange } from "@hqat/qtensor";
 * assert(allocForRange({ qmin: -128, qmax: 127 }, 3) instanceof Int8Array);
 * assert(allocForRange({ qmin: -200, qmax: 200 }, 3) instanceof Int16Array);
 * ```
 */
export function allocForRange(range: QRange, size: number): QArray {
  if (range.qmin >= -128 && range.qmax <= 127) return new Int8Array(size);
  if (range.qmin >= -32768 && range.qmax <= 32767) return new Int16Array(size);
  return new Int32Array(size);
}

/**
 * The quantized type stored by `data`: Int8Array → qint8, Int16Array → qint16, Int32Array → qint32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qdtypeOfArray } from "@hqat/qtensor";
 * assert(qdtypeOfArray(new Int16Array(1)) === "qint16");
 * ```
 */
export function qdtypeOfArray(data: QArray): QDType {
  if (data instanceof Int8Array) return "qint8";
  if (data instanceof Int16Array) return "qint16";
  if (data instanceof Int32Array) return "qint32";
  throw new TypeError(
    `Quantized data must be an Int8Array, Int16Array or Int32Array, not ${
      (data as object)?.constructor?.name ?? typeof data
    }`,
  );
}

/**
 * An immutable quantized tensor: integers `data` in row-major `shape`, real value `data[i] · scale[c]`,
 * where `c` is the index along `axis` for a per-channel scale (length > 1), or 0 for a per-tensor scale.
 */
export interface QTensor {
  /** The integers, row-major. */
  readonly data: QArray;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The quantized type; matches the storage array of `data`. */
  readonly dtype: QDType;
  /** Float32 scales: length 1 (per tensor) or `shape[axis]` (per channel). */
  readonly scale: Float32Array;
  /** The channel axis of a per-channel scale (non-negative); absent for a per-tensor scale. */
  readonly axis?: number;
}

/** Options of {@linkcode qtensor}. */
export interface QTensorOptions {
  /** Dimensions, outermost first; their product must equal the length of `data`. */
  readonly shape: readonly number[];
  /** Positive finite scales (rounded to float32): one number, or one per channel along `axis`. */
  readonly scale: number | ArrayLike<number>;
  /** Channel axis of a per-channel scale; negative values count from the end. */
  readonly axis?: number;
  /** Expected dtype; must match the storage array of `data`. */
  readonly dtype?: QDType;
}

/**
 * Normalizes `axis` for `rank` (negative counts from the end); throws a RangeError when out of range.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { normalizeAxis } from "@hqat/qtensor";
 * assert(normalizeAxis(-1, 4) === 3);
 * ```
 */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`Axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Product of the dimensions of `shape`, checking that they are non-negative integers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { shapeSize } from "@hqat/qtensor";
 * assert(shapeSize([2, 3]) === 6);
 * ```
 */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`Invalid shape [${shape.join(", ")}]: dimensions must be non-negative integers`);
    }
    n *= d;
  }
  return n;
}

/**
 * Converts `scale` to a Float32Array of positive finite float32 values, or throws a RangeError.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { toScaleArray } from "@hqat/qtensor";
 * assert(toScaleArray(0.1)[0] === Math.fround(0.1));
 * ```
 */
export function toScaleArray(scale: number | ArrayLike<number>): Float32Array {
  const s = typeof scale === "number" ? Float32Array.of(scale) : Float32Array.from(scale);
  if (s.length === 0) throw new RangeError("A scale array must not be empty");
  for (let i = 0; i < s.length; i++) {
    if (!(s[i] > 0) || s[i] === Infinity) {
      throw new RangeError(`Scale ${i} is ${s[i]}: scales must be positive finite float32 values`);
    }
  }
  return s;
}

/**
 * Builds a validated {@linkcode QTensor}: the data length must equal the shape's size, a per-channel
 * scale needs an axis with `scale.length === shape[axis]`, and `dtype` (if given) must match the array.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * const q = qtensor(Int8Array.of(1, -2, 3, 4), { shape: [2, 2], scale: [0.5, 0.25], axis: 0 });
 * assert(q.dtype === "qint8" && q.axis === 0 && q.scale[1] === 0.25);
 * ```
 */
export function qtensor(data: QArray, options: QTensorOptions): QTensor {
  const dtype = qdtypeOfArray(data);
  if (options.dtype !== undefined && options.dtype !== dtype) {
    throw new TypeError(`QTensor dtype ${options.dtype} does not match its ${data.constructor.name} data`);
  }
  const shape = Object.freeze([...options.shape]);
  const size = shapeSize(shape);
  if (data.length !== size) {
    throw new RangeError(
      `QTensor data has ${data.length} elements but shape [${shape.join(", ")}] needs ${size}`,
    );
  }
  const scale = toScaleArray(options.scale);
  if (options.axis === undefined) {
    if (scale.length !== 1) {
      throw new RangeError(`A QTensor with ${scale.length} scales needs a channel axis`);
    }
    return Object.freeze({ data, shape, dtype, scale });
  }
  const axis = normalizeAxis(options.axis, shape.length);
  if (scale.length !== 1 && scale.length !== shape[axis]) {
    throw new RangeError(
      `QTensor has ${scale.length} scales but dimension ${axis} of shape [${shape.join(", ")}] is ${
        shape[axis]
      }`,
    );
  }
  return Object.freeze({ data, shape, dtype, scale, axis });
}
