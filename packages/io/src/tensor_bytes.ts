/**
 * Little-endian element bytes of stored tensors, and typed arrays read back from file bytes.
 * @module
 */

import { STORED_DTYPES, type StoredArray, type StoredDType } from "./stored_tensor.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
}

/**
 * A new, aligned typed array of `dtype` holding `count` little-endian elements that start at byte `begin`
 * of `bytes` (which may sit at any alignment). The caller has checked the bounds.
 *
 * @example
 * ```ts
 * import { readElements } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = new Uint8Array([9, 0, 0, 128, 63]); // 1.0f at an odd offset
 * assert(readElements(bytes, 1, "F32", 1)[0] === 1);
 * ```
 */
export function readElements<D extends StoredDType>(
  bytes: Uint8Array,
  begin: number,
  dtype: D,
  count: number,
): StoredArray[D] {
  const { itemSize, array } = STORED_DTYPES[dtype];
  const copy = bytes.slice(begin, begin + count * itemSize);
  if (!LITTLE_ENDIAN) swapInPlace(copy, itemSize);
  return new array(copy.buffer, 0, count) as StoredArray[D];
}

/**
 * The little-endian bytes of a typed array: a view of it on little-endian hosts, a swapped copy otherwise.
 *
 * @example
 * ```ts
 * import { littleEndianBytes } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(littleEndianBytes(new Uint16Array([0x0102]))[0] === 2);
 * ```
 */
export function littleEndianBytes(data: StoredArray[StoredDType]): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapInPlace(copy, data.BYTES_PER_ELEMENT);
  return copy;
}
