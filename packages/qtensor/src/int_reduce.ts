/**
 * Reduction of integers over axes: the exact int32 sum of each group of elements that share the kept
 * coordinates — the main result of the integer mean (`sx / count` its scale, then requantized).
 * @module
 */

import type { QArray } from "./dtypes.ts";

/** Which input elements each output sums: `count` consecutive entries of `index` per output element. */
export interface ReduceMap {
  /** Per output element (row-major over the kept axes), the offsets of its `count` input elements. */
  readonly index: Int32Array;
  /** Elements summed per output. */
  readonly count: number;
  /** The output shape (the reduced axes kept as 1 with `keepDims`, else dropped). */
  readonly shape: number[];
}

/**
 * The reduce map of `shape` over `axes` (distinct, in range; negative count from the end).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { reduceIndex } from "@hqat/qtensor";
 * const m = reduceIndex([2, 3], [1], false);
 * assert(m.count === 3 && m.shape.join() === "2" && m.index.join() === "0,1,2,3,4,5");
 * assert(reduceIndex([2, 3], [0], true).index.join() === "0,3,1,4,2,5");
 * ```
 */
export function reduceIndex(shape: readonly number[], axes: readonly number[], keepDims: boolean): ReduceMap {
  const rank = shape.length;
  const ax = axes.map((a) => (a < 0 ? a + rank : a));
  if (ax.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(ax).size !== ax.length) {
    throw new RangeError(`reduceIndex(): axes [${axes}] are not distinct axes of [${shape}]`);
  }
  const reduced = new Set(ax);
  const strides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const kept = shape.map((_, d) => d).filter((d) => !reduced.has(d));
  const inner = [...ax].sort((a, b) => a - b);
  const count = inner.reduce((p, d) => p * shape[d], 1);
  const outer = kept.reduce((p, d) => p * shape[d], 1);
  const index = new Int32Array(outer * count);
  const offsets = (dims: number[], n: number) => {
    const out = new Int32Array(n), c = new Array<number>(dims.length).fill(0);
    for (let j = 0; j < n; j++) {
      out[j] = dims.reduce((o, d, k) => o + c[k] * strides[d], 0);
      for (let k = dims.length - 1; k >= 0; k--) {
        if (++c[k] < shape[dims[k]]) break;
        c[k] = 0;
      }
    }
    return out;
  };
  const base = offsets(kept, outer), within = offsets(inner, count);
  for (let o = 0; o < outer; o++) for (let k = 0; k < count; k++) index[o * count + k] = base[o] + within[k];
  const outShape = keepDims ? shape.map((d, i) => (reduced.has(i) ? 1 : d)) : kept.map((d) => shape[d]);
  return { index, count, shape: outShape };
}

/**
 * The exact int32 sums of `x` (`shape`) over `axes`, in the order of {@linkcode reduceIndex}. Exact while
 * `count · |x| < 2^31` (a count of at most 65536 for int16 input).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intReduceSum } from "@hqat/qtensor";
 * assert(intReduceSum(Int8Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1]).join() === "6,15");
 * ```
 */
export function intReduceSum(x: QArray, shape: readonly number[], axes: readonly number[]): Int32Array {
  const m = reduceIndex(shape, axes, false);
  if (x.length !== m.index.length) throw new RangeError(`intReduceSum(): ${x.length} values for [${shape}]`);
  const out = new Int32Array(m.index.length / m.count);
  for (let o = 0, j = 0; o < out.length; o++) {
    let s = 0;
    for (let k = 0; k < m.count; k++) s += x[m.index[j++]];
    out[o] = s;
  }
  return out;
}
