/**
 * The plain record that tensor files hold: a dtype tag, a shape and a typed array in C order.
 * `F16` and `BF16` keep their raw bits in a `Uint16Array`; `BOOL` keeps bytes 0 and 1 in a `Uint8Array`.
 * @module
 */

import { bf16ToFloat32, f16ToFloat32, float32ToBf16, float32ToF16 } from "./float16.ts";

/** The element types that tensor files store. */
export type StoredDType = "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "F64" | "BOOL";

/** The typed array behind each stored dtype. */
export interface StoredArray {
  /** IEEE 754 single precision. */
  F32: Float32Array;
  /** IEEE 754 half precision, as raw bits. */
  F16: Uint16Array;
  /** bfloat16, as raw bits. */
  BF16: Uint16Array;
  /** Signed 64-bit integers. */
  I64: BigInt64Array;
  /** Signed 32-bit integers. */
  I32: Int32Array;
  /** Signed 16-bit integers. */
  I16: Int16Array;
  /** Signed 8-bit integers. */
  I8: Int8Array;
  /** Unsigned bytes. */
  U8: Uint8Array;
  /** IEEE 754 double precision. */
  F64: Float64Array;
  /** Booleans as bytes 0 and 1. */
  BOOL: Uint8Array;
}

/** A tensor as a file stores it: dtype, shape and the elements in C (row-major) order. */
export interface StoredTensor {
  /** Element type. */
  dtype: StoredDType;
  /** Dimensions, outermost first. */
  shape: number[];
  /** The elements in C (row-major) order, in the typed array of `dtype`. */
  data: StoredArray[StoredDType];
}

/**
 * Every stored dtype with its element size in bytes and its typed-array constructor.
 *
 * @example
 * ```ts
 * import { STORED_DTYPES } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(STORED_DTYPES.BF16.itemSize === 2 && STORED_DTYPES.I64.array === BigInt64Array);
 * ```
 */
export const STORED_DTYPES = {
  F32: { itemSize: 4, array: Float32Array },
  F16: { itemSize: 2, array: Uint16Array },
  BF16: { itemSize: 2, array: Uint16Array },
  I64: { itemSize: 8, array: BigInt64Array },
  I32: { itemSize: 4, array: Int32Array },
  I16: { itemSize: 2, array: Int16Array },
  I8: { itemSize: 1, array: Int8Array },
  U8: { itemSize: 1, array: Uint8Array },
  F64: { itemSize: 8, array: Float64Array },
  BOOL: { itemSize: 1, array: Uint8Array },
} as const;

/**
 * Whether `name` is a stored dtype.
 *
 * @example
 * ```ts
 * import { isStoredDType } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(isStoredDType("BF16") && !isStoredDType("U32"));
 * ```
 */
export function isStoredDType(name: unknown): name is StoredDType {
  return typeof name === "string" && Object.hasOwn(STORED_DTYPES, name);
}

/**
 * The number of elements of `shape`, or `undefined` when a dimension is not a non-negative safe integer
 * or the count (times `itemSize`) passes 2^53.
 *
 * @example
 * ```ts
 * import { shapeSize } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(shapeSize([2, 3, 4]) === 24 && shapeSize([]) === 1);
 * assert(shapeSize([2 ** 40, 2 ** 40]) === undefined);
 * ```
 */
export function shapeSize(shape: readonly unknown[], itemSize = 1): number | undefined {
  let n = itemSize;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n / itemSize;
}

/**
 * Checks that `stored` is a well-formed record (known dtype, matching typed array, integer shape whose
 * size equals the array length) and returns it; otherwise throws a `TypeError` or `RangeError` whose
 * message starts with `label`.
 *
 * @example
 * ```ts
 * import { checkStoredTensor } from "@hqat/io";
 * import { assertThrows } from "@std/assert";
 * checkStoredTensor({ dtype: "I32", shape: [2], data: new Int32Array(2) });
 * assertThrows(() => checkStoredTensor({ dtype: "I32", shape: [3], data: new Int32Array(2) }), RangeError);
 * ```
 */
export function checkStoredTensor(stored: StoredTensor, label = "Tensor"): StoredTensor {
  const { dtype, shape, data } = stored ?? {};
  if (!isStoredDType(dtype)) {
    throw new TypeError(`${label} has unknown dtype ${JSON.stringify(dtype)}`);
  }
  const array = STORED_DTYPES[dtype].array;
  if (!(data instanceof array)) {
    throw new TypeError(`${label} has dtype ${dtype}, whose data must be a ${array.name}`);
  }
  if (!Array.isArray(shape)) throw new TypeError(`${label} has a shape that is not an array`);
  const size = shapeSize(shape);
  if (size === undefined) {
    throw new RangeError(
      `${label} has shape ${formatShape(shape)}; dimensions must be non-negative integers`,
    );
  }
  if (size !== data.length) {
    throw new RangeError(
      `${label} has shape ${formatShape(shape)} of ${size} elements but ${data.length} values`,
    );
  }
  return stored;
}

/**
 * `[2,3]`-style text of a shape, as error messages print it.
 *
 * @example
 * ```ts
 * import { formatShape } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(formatShape([32, 3, 3, 3]) === "[32,3,3,3]");
 * ```
 */
export function formatShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => (typeof d === "number" ? String(d) : JSON.stringify(d))).join(",")}]`;
}

/** Correctly rounded float32 value of a 64-bit integer (a single rounding, like a C cast). */
function int64ToFloat32(v: bigint): number {
  const limit = 1n << 53n;
  if (v <= limit && v >= -limit) return Math.fround(Number(v));
  const negative = v < 0n;
  const a = negative ? -v : v;
  const shift = BigInt(a.toString(2).length - 24);
  let m = a >> shift;
  const rest = a & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (m & 1n) === 1n)) m += 1n;
  const value = Number(m) * 2 ** Number(shift);
  return negative ? -value : value;
}

/**
 * The elements of `stored` as a new float32 array: float formats convert exactly where float32 can hold
 * the value (F16, BF16 always) and round to nearest otherwise (F64, large I32/I64); `BOOL` gives 0 or 1.
 *
 * @example
 * ```ts
 * import { toFloat32 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const x = toFloat32({ dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0x7c00]) });
 * assert(x[0] === 1 && x[1] === Infinity);
 * ```
 */
export function toFloat32(stored: StoredTensor): Float32Array {
  const { dtype, data } = checkStoredTensor(stored);
  switch (dtype) {
    case "F16":
      return f16ToFloat32(data as Uint16Array);
    case "BF16":
      return bf16ToFloat32(data as Uint16Array);
    case "F32":
      return (data as Float32Array).slice();
    case "I64": {
      const src = data as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = int64ToFloat32(src[i]);
      return out;
    }
    case "BOOL": {
      const src = data as Uint8Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] === 0 ? 0 : 1;
      return out;
    }
    case "F64":
    case "I32":
    case "I16":
    case "I8":
    case "U8":
      return Float32Array.from(data as ArrayLike<number>);
    default: {
      const unknown: never = dtype;
      throw new TypeError(`Unknown dtype ${unknown}`);
    }
  }
}

/** Options of {@linkcode fromFloat32}. */
export interface FromFloat32Options {
  /** The dtype to store (default `"F32"`). */
  dtype?: StoredDType;
}

const INT_RANGES = { I32: [-(2 ** 31), 2 ** 31 - 1], I16: [-32768, 32767], I8: [-128, 127], U8: [0, 255] };

/**
 * A stored tensor of `dtype` holding `values` with `shape`. F16 and BF16 round to nearest, ties to even;
 * F32 copies and F64 widens exactly. Integer dtypes (and BOOL, 0 or 1) need every value to be an integer
 * in range, else a `RangeError` names the first one that is not.
 *
 * @example
 * ```ts
 * import { fromFloat32 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const t = fromFloat32(new Float32Array([1, 1 + 2 ** -9]), [2], { dtype: "BF16" });
 * assert(t.data[0] === 0x3f80 && t.data[1] === 0x3f80);
 * ```
 */
export function fromFloat32(
  values: Float32Array,
  shape: readonly number[],
  options: FromFloat32Options = {},
): StoredTensor {
  const { dtype = "F32" } = options;
  if (!(values instanceof Float32Array)) throw new TypeError("fromFloat32() needs a Float32Array");
  const size = shapeSize(shape);
  if (size !== values.length) {
    throw new RangeError(`Cannot store ${values.length} values with shape ${formatShape(shape)}`);
  }
  const out = { dtype, shape: [...shape] };
  switch (dtype) {
    case "F32":
      return { ...out, data: values.slice() };
    case "F64":
      return { ...out, data: Float64Array.from(values) };
    case "F16":
      return { ...out, data: float32ToF16(values) };
    case "BF16":
      return { ...out, data: float32ToBf16(values) };
    case "I64": {
      checkIntegers(values, -(2 ** 63), 2 ** 63 - 1, dtype);
      return { ...out, data: BigInt64Array.from(values, (v) => BigInt(v)) };
    }
    case "BOOL":
      checkIntegers(values, 0, 1, dtype);
      return { ...out, data: Uint8Array.from(values) };
    case "I32":
    case "I16":
    case "I8":
    case "U8": {
      const [lo, hi] = INT_RANGES[dtype];
      checkIntegers(values, lo, hi, dtype);
      return { ...out, data: STORED_DTYPES[dtype].array.from(values) };
    }
    default: {
      const unknown: never = dtype;
      throw new TypeError(`Cannot store dtype ${JSON.stringify(unknown)}`);
    }
  }
}

function checkIntegers(values: Float32Array, lo: number, hi: number, dtype: StoredDType): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < lo || v >= hi + 1) {
      throw new RangeError(
        `Cannot store value ${v} at index ${i} as ${dtype}: not an integer in [${lo}, ${hi}]`,
      );
    }
  }
}
