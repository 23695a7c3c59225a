/**
 * Float32 arrays handed back for reuse. A fresh multi-megabyte array costs a page fault per 4 KiB page
 * the first time each is written — in a float evaluation pass that is as much time as the convolutions —
 * so the kernels take their results from here when an array of the exact length was handed back, and
 * {@linkcode recycle} (used where a caller knows an intermediate result is dead) hands arrays back.
 * The pool keeps at most {@linkcode POOL_MAX_BYTES}; arrays under 64 KiB are never kept.
 * @module
 */
import { forgetKept } from "./kept.ts";

/** The most bytes the pool keeps. */
export const POOL_MAX_BYTES = 256 * 2 ** 20;
const MIN_FLOATS = 1 << 14;
const PER_LENGTH = 4;
const pool = new Map<number, Float32Array[]>();
let held = 0;

/**
 * A Float32Array of `count` elements whose contents are unspecified (the caller overwrites every element):
 * a handed-back one when the pool has one of that length, else a fresh one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { pooledFloat32 } from "./float_pool.ts";
 * assert(pooledFloat32(3).length === 3);
 * ```
 */
export function pooledFloat32(count: number): Float32Array {
  const a = pool.get(count)?.pop();
  if (!a) return new Float32Array(count);
  held -= a.byteLength;
  return a;
}

/**
 * Keeps `a` for a later {@linkcode pooledFloat32} of its length; returns whether it was kept (arrays that
 * are small, views into a larger buffer, shared, or over the pool's limit are not). The caller guarantees
 * that nothing reads or writes `a` afterwards.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { pooledFloat32, returnFloat32 } from "./float_pool.ts";
 * const a = new Float32Array(1 << 16);
 * assert(returnFloat32(a) && pooledFloat32(1 << 16) === a);
 * ```
 */
export function returnFloat32(a: Float32Array): boolean {
  const n = a.length;
  if (n < MIN_FLOATS || a.byteOffset !== 0 || a.buffer.byteLength !== a.byteLength) return false;
  if (!(a.buffer instanceof ArrayBuffer) || held + a.byteLength > POOL_MAX_BYTES) return false;
  const list = pool.get(n) ?? [];
  if (list.length >= PER_LENGTH || list.includes(a)) return false;
  forgetKept(a);
  list.push(a);
  pool.set(n, list);
  held += a.byteLength;
  return true;
}

/**
 * Empties the pool (its arrays are left to the garbage collector); returns the bytes it held.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { clearFloatPool } from "./float_pool.ts";
 * clearFloatPool();
 * assert(clearFloatPool() === 0);
 * ```
 */
export function clearFloatPool(): number {
  const was = held;
  pool.clear();
  held = 0;
  return was;
}
