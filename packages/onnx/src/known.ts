/**
 * Values known when a model loads (constants, shapes, the results of shape computations) and the small
 * evaluator that folds them: broadcasting arithmetic, gather, concat, slice with steps, transpose and
 * casts over plain arrays. Folding is bounded: no folded value may hold more than
 * {@linkcode MAX_FOLDED} elements.
 * @module
 */

/** The element kinds the loader distinguishes. */
export type ElemKind = "float" | "int" | "bool";

/** A value's kind and shape at load time, and its elements when they are known. */
export interface ValueInfo {
  /** Element kind. */
  readonly kind: ElemKind;
  /** Shape. */
  readonly shape: readonly number[];
  /** The elements, when known (float32 for floats, float64 for integers and booleans). */
  readonly value?: Float32Array | Float64Array;
}

/** A value whose elements are known. */
export type Known = ValueInfo & { readonly value: Float32Array | Float64Array };

/** The most elements a folded value may have. */
export const MAX_FOLDED = 1 << 20;

/**
 * A known value from elements.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { known } from "./known.ts";
 * assert(known("int", [2], [3, 4]).value instanceof Float64Array);
 * ```
 */
export function known(kind: ElemKind, shape: readonly number[], data: ArrayLike<number>): Known {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_FOLDED) throw new RangeError(`a folded value of ${n} elements exceeds ${MAX_FOLDED}`);
  if (data.length !== n) throw new RangeError(`${data.length} values for shape [${shape.join(",")}]`);
  return {
    kind,
    shape: [...shape],
    value: kind === "float" ? Float32Array.from(data) : Float64Array.from(data),
  };
}

/** Strides of a row-major shape. */
function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * Normalizes a possibly negative axis for `rank`, or throws a RangeError.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { axisOf } from "./known.ts";
 * assert(axisOf(-1, 4) === 3);
 * ```
 */
export function axisOf(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/**
 * NumPy broadcasting of two shapes, or a RangeError naming the dimension that differs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { broadcastShapes } from "./known.ts";
 * assert(broadcastShapes([2, 1, 4], [3, 1]).join() === "2,3,4");
 * ```
 */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new RangeError(
        `cannot broadcast shapes [${a.join(",")}] and [${b.join(",")}]: dimension ${i} differs`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * Elementwise binary arithmetic of known values with broadcasting (integer division truncates).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { binaryKnown, known } from "./known.ts";
 * assert(binaryKnown("Mul", known("int", [2], [3, 4]), known("int", [], [2])).value.join() === "6,8");
 * ```
 */
export function binaryKnown(op: "Add" | "Sub" | "Mul" | "Div", a: Known, b: Known): Known {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = shape.reduce((p, d) => p * d, 1);
  if (n > MAX_FOLDED) throw new RangeError(`a folded value of ${n} elements exceeds ${MAX_FOLDED}`);
  const st = strides(shape);
  const index = (s: readonly number[], flat: number) => {
    const off = shape.length - s.length, ss = strides(s);
    let k = 0;
    for (let i = 0; i < s.length; i++) {
      const c = Math.floor(flat / st[i + off]) % shape[i + off];
      k += (s[i] === 1 ? 0 : c) * ss[i];
    }
    return k;
  };
  const out = new Array<number>(n);
  const intDiv = a.kind !== "float";
  for (let i = 0; i < n; i++) {
    const x = a.value[index(a.shape, i)], y = b.value[index(b.shape, i)];
    out[i] = op === "Add"
      ? x + y
      : op === "Sub"
      ? x - y
      : op === "Mul"
      ? x * y
      : intDiv
      ? Math.trunc(x / y)
      : x / y;
  }
  return known(a.kind, shape, out);
}

/**
 * ONNX Gather along `axis` of known data with known indices (negative indices count from the end).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gatherKnown, known } from "./known.ts";
 * assert(gatherKnown(known("int", [3], [7, 8, 9]), known("int", [], [-1]), 0).value.join() === "9");
 * ```
 */
export function gatherKnown(data: Known, indices: Known, axis: number): Known {
  const a = axisOf(axis, data.shape.length);
  const dim = data.shape[a];
  const outer = data.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = data.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices.value) {
      const k = raw < 0 ? raw + dim : raw;
      if (!(k >= 0 && k < dim)) throw new RangeError(`gather index ${raw} is out of range for size ${dim}`);
      for (let j = 0; j < inner; j++) out.push(data.value[(o * dim + k) * inner + j]);
    }
  }
  return known(data.kind, [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)], out);
}

/**
 * Concatenation of known values along `axis`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { concatKnown, known } from "./known.ts";
 * assert(concatKnown([known("int", [1], [1]), known("int", [2], [2, 3])], 0).value.join() === "1,2,3");
 * ```
 */
export function concatKnown(parts: readonly Known[], axis: number): Known {
  const a = axisOf(axis, parts[0].shape.length);
  const outer = parts[0].shape.slice(0, a).reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.shape.slice(a).reduce((x, d) => x * d, 1);
      for (let j = 0; j < block; j++) out.push(p.value[o * block + j]);
    }
  }
  const shape = [...parts[0].shape];
  shape[a] = parts.reduce((s, p) => s + p.shape[a], 0);
  return known(parts[0].kind, shape, out);
}

/** One axis of an ONNX slice: the first index, the step and the count, after ONNX's clamping rules. */
export interface SliceRange {
  /** First index. */
  readonly start: number;
  /** Step (non-zero). */
  readonly step: number;
  /** Number of elements. */
  readonly count: number;
}

/**
 * ONNX's slice range for one axis of size `dim` (negative starts and ends count from the end; they are
 * clamped; the step may be negative).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sliceRange } from "./known.ts";
 * assert(JSON.stringify(sliceRange(5, -1, -9e18, -1)) === '{"start":4,"step":-1,"count":5}');
 * ```
 */
export function sliceRange(dim: number, start: number, end: number, step: number): SliceRange {
  if (step === 0 || !Number.isFinite(step)) throw new RangeError("slice step must be a non-zero integer");
  let s = start < 0 ? start + dim : start, e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  return { start: s, step, count: Math.max(0, Math.ceil((e - s) / step)) };
}

/**
 * Slicing of a known value with one range per axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { known, sliceKnown, sliceRange } from "./known.ts";
 * assert(sliceKnown(known("int", [4], [1, 2, 3, 4]), [sliceRange(4, -1, -9, -2)]).value.join() === "4,2");
 * ```
 */
export function sliceKnown(x: Known, ranges: readonly SliceRange[]): Known {
  const shape = ranges.map((r) => r.count);
  const st = strides(x.shape), ost = strides(shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(i / ost[d]) % shape[d];
      k += (ranges[d].start + c * ranges[d].step) * st[d];
    }
    out[i] = x.value[k];
  }
  return known(x.kind, shape, out);
}

/**
 * Axis permutation of a known value.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { known, transposeKnown } from "./known.ts";
 * assert(transposeKnown(known("int", [2, 2], [1, 2, 3, 4]), [1, 0]).value.join() === "1,3,2,4");
 * ```
 */
export function transposeKnown(x: Known, perm: readonly number[]): Known {
  const shape = perm.map((p) => x.shape[p]);
  const st = strides(x.shape), ost = strides(shape);
  const n = x.value.length;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let d = 0; d < shape.length; d++) k += (Math.floor(i / ost[d]) % shape[d]) * st[perm[d]];
    out[i] = x.value[k];
  }
  return known(x.kind, shape, out);
}

/**
 * The kind of an ONNX `TensorProto.DataType` code, or undefined for types no rule computes with.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { kindOfType } from "./known.ts";
 * assert(kindOfType(7) === "int" && kindOfType(1) === "float" && kindOfType(8) === undefined);
 * ```
 */
export function kindOfType(code: number): ElemKind | undefined {
  if (code === 1 || code === 10 || code === 11 || code === 16) return "float";
  if (code === 9) return "bool";
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(code)) return "int";
  return undefined;
}

/**
 * A known value cast to `kind` (floats to integers truncate, like ONNX's Cast).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { castKnown, known } from "./known.ts";
 * assert(castKnown(known("float", [2], [1.7, -1.7]), "int").value.join() === "1,-1");
 * ```
 */
export function castKnown(x: Known, kind: ElemKind): Known {
  const v = Array.from(
    x.value,
    (e) => (kind === "float" ? e : kind === "bool" ? (e ? 1 : 0) : Math.trunc(e)),
  );
  return known(kind, x.shape, v);
}
