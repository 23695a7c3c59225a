/**
 * Element types of tensors and their typed-array storage.
 * @module
 */

/** The element types a tensor can hold. `uint8` also serves as boolean (0 or 1). */
export type DType = "float32" | "int32" | "int16" | "int8" | "uint8";

/** The typed array that stores each dtype. */
export interface DTypeArray {
  /** Storage of `float32`. */
  float32: Float32Array;
  /** Storage of `int32`. */
  int32: Int32Array;
  /** Storage of `int16`. */
  int16: Int16Array;
  /** Storage of `int8`. */
  int8: Int8Array;
  /** Storage of `uint8`. */
  uint8: Uint8Array;
}

/** Any storage array. */
export type TypedArray = DTypeArray[DType];

/** The typed-array constructors, by dtype. */
export const ARRAY_TYPES = {
  float32: Float32Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
} as const;

/** Every dtype, in a stable order. */
export const DTYPES: readonly DType[] = ["float32", "int32", "int16", "int8", "uint8"];

/**
 * Allocates a zeroed array for `size` elements of `dtype`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { allocArray } from "@hqat/tensor";
 * const a = allocArray("int8", 4);
 * assert(a instanceof Int8Array && a.length === 4);
 * ```
 */
export function allocArray<D extends DType>(dtype: D, size: number): DTypeArray[D] {
  return new ARRAY_TYPES[dtype](size) as DTypeArray[D];
}

/**
 * The dtype whose storage is `data`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dtypeOfArray } from "@hqat/tensor";
 * assert(dtypeOfArray(new Int16Array(2)) === "int16");
 * ```
 */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  throw new TypeError(`Unsupported array type ${(data as object).constructor?.name}`);
}

/**
 * Whether `dtype` is an integer type.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isIntegerDType } from "@hqat/tensor";
 * assert(isIntegerDType("int8") && !isIntegerDType("float32"));
 * ```
 */
export function isIntegerDType(dtype: DType): boolean {
  return dtype !== "float32";
}
