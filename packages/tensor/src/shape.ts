/**
 * Shape arithmetic: sizes, strides, broadcasting and axis normalization.
 * @module
 */

/** A tensor shape. */
export type Shape = readonly number[];

/**
 * The number of elements of a shape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sizeOf } from "@hqat/tensor";
 * assert(sizeOf([2, 3, 4]) === 24 && sizeOf([]) === 1);
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides of a shape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stridesOf } from "@hqat/tensor";
 * assert(stridesOf([2, 3, 4]).join() === "12,4,1");
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Checks that `shape` holds non-negative integers; throws a RangeError naming `what` otherwise.
 *
 * @example
 * ```ts
 * import { checkShape } from "@hqat/tensor";
 * checkShape([2, 3]);
 * ```
 */
export function checkShape(shape: Shape, what = "shape"): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`Invalid ${what} [${shape.join(",")}]: dimensions must be non-negative integers`);
    }
  }
}

/**
 * The broadcast of two shapes (NumPy rules).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { broadcastShapes } from "@hqat/tensor";
 * assert(broadcastShapes([2, 1, 4], [3, 1]).join() === "2,3,4");
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `Cannot broadcast shapes [${a.join(",")}] and [${
          b.join(",")
        }]: dimension ${i} differs (${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Normalizes possibly negative axes against a rank, sorted and deduplicated.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { normalizeAxes } from "@hqat/tensor";
 * assert(normalizeAxes([-1, 0], 3).join() === "0,2");
 * ```
 */
export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const out = new Set<number>();
  for (const a of list) out.add(normalizeAxis(a, rank));
  return [...out].sort((x, y) => x - y);
}

/**
 * Normalizes one possibly negative axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { normalizeAxis } from "@hqat/tensor";
 * assert(normalizeAxis(-1, 4) === 3);
 * ```
 */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new RangeError(`Axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Whether two shapes are equal.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { shapesEqual } from "@hqat/tensor";
 * assert(shapesEqual([1, 2], [1, 2]) && !shapesEqual([1], [1, 1]));
 * ```
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
