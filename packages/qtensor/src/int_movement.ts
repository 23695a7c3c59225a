/**
 * Data movement on integers (transpose, strided slice, padding in constant, edge and reflect mode) as
 * one rule: an index map from each output element to the input element it copies (or −1 for the
 * constant fill), applied frame by frame by {@linkcode gatherFrames}. The values are moved, never
 * computed, so dtype and scale are kept.
 * @module
 */

import type { QArray } from "./dtypes.ts";

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d];
  }
  return st;
}

/**
 * The index map of an output of `outShape` whose coordinate `c` reads input coordinate
 * `source(axis, c)` on every axis (−1 on any axis: the fill), for an input of `inShape`.
 */
function indexMap(
  inShape: readonly number[],
  outShape: readonly number[],
  source: (axis: number, c: number) => number,
): Int32Array {
  const st = stridesOf(inShape), rank = outShape.length;
  // Per axis, the input offset of each output coordinate (−1: fill).
  const per = outShape.map((d, a) =>
    Int32Array.from({ length: d }, (_, c) => {
      const s = source(a, c);
      return s < 0 ? -1 : s * st[a];
    })
  );
  const out = new Int32Array(size(outShape));
  const idx = new Array<number>(rank).fill(0);
  for (let j = 0; j < out.length; j++) {
    let o = 0;
    for (let a = 0; a < rank; a++) {
      const v = per[a][idx[a]];
      if (v < 0) {
        o = -1;
        break;
      }
      o += v;
    }
    out[j] = o;
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * The index map of a transpose: output axis `i` is input axis `perm[i]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { transposeIndex } from "@hqat/qtensor";
 * const t = transposeIndex([2, 3], [1, 0]);
 * assert(t.shape.join() === "3,2" && t.index.join() === "0,3,1,4,2,5");
 * ```
 */
export function transposeIndex(
  shape: readonly number[],
  perm: readonly number[],
): { index: Int32Array; shape: number[] } {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new RangeError(`transposeIndex(): ${fmt(perm)} is not a permutation of the ${rank} axes`);
  }
  const outShape = perm.map((p) => shape[p]);
  const st = stridesOf(shape);
  const outSt = perm.map((p) => st[p]);
  const out = new Int32Array(size(shape));
  const idx = new Array<number>(rank).fill(0);
  for (let j = 0, o = 0; j < out.length; j++) {
    out[j] = o;
    for (let a = rank - 1; a >= 0; a--) {
      o += outSt[a];
      if (++idx[a] < outShape[a]) break;
      o -= outSt[a] * outShape[a];
      idx[a] = 0;
    }
  }
  return { index: out, shape: outShape };
}

/** A strided slice: per axis, the indices `starts[i] + k · steps[i]` before `ends[i]`. */
export interface SliceSpec {
  /** First index per axis. */
  readonly starts: readonly number[];
  /** End per axis (exclusive; −1 for a negative step that runs through index 0). */
  readonly ends: readonly number[];
  /** Step per axis (non-zero; negative steps run backwards). */
  readonly steps: readonly number[];
}

/**
 * The output shape of a normalized strided slice of `shape` (0 ≤ start ≤ end ≤ size for a positive step,
 * −1 ≤ end ≤ start < size for a negative one), or a `RangeError` naming the axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sliceOutShape } from "@hqat/qtensor";
 * assert(sliceOutShape([7, 5], { starts: [6, 0], ends: [-1, 5], steps: [-2, 1] }).join() === "4,5");
 * ```
 */
export function sliceOutShape(shape: readonly number[], s: SliceSpec): number[] {
  const rank = shape.length;
  if (s.starts.length !== rank || s.ends.length !== rank || s.steps.length !== rank) {
    throw new RangeError(`slice: starts, ends and steps need ${rank} entries each`);
  }
  return shape.map((d, i) => {
    const [b, e, step] = [s.starts[i], s.ends[i], s.steps[i]];
    const ok = [b, e, step].every(Number.isInteger) && step !== 0 &&
      (step > 0 ? 0 <= b && b <= e && e <= d : -1 <= e && e <= b && b < d);
    if (!ok) {
      throw new RangeError(
        `slice: [${b}, ${e}) with step ${step} is out of range for axis ${i} of size ${d}`,
      );
    }
    return Math.ceil((e - b) / step);
  });
}

/**
 * The index map of a strided slice (see {@linkcode sliceOutShape}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sliceIndex } from "@hqat/qtensor";
 * const s = sliceIndex([2, 4], { starts: [0, 3], ends: [2, -1], steps: [1, -2] });
 * assert(s.shape.join() === "2,2" && s.index.join() === "3,1,7,5");
 * ```
 */
export function sliceIndex(shape: readonly number[], s: SliceSpec): { index: Int32Array; shape: number[] } {
  const outShape = sliceOutShape(shape, s);
  return { index: indexMap(shape, outShape, (a, c) => s.starts[a] + c * s.steps[a]), shape: outShape };
}

/** How padding fills: a constant, the border cell repeated (`edge`), or mirrored cells (`reflect`). */
export type PadFill = "constant" | "edge" | "reflect";

/**
 * The output shape of padding `shape` by `pads[i] = [before, after]` (negative values crop), or a
 * `RangeError` when a crop takes more than the axis or a reflect pad reaches past the mirrored cells
 * (each pad below the cropped length), or an edge pad has no cell to repeat.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { padOutShape } from "@hqat/qtensor";
 * assert(padOutShape([3, 4], [[1, -1], [2, 2]], "reflect").join() === "3,8");
 * ```
 */
export function padOutShape(
  shape: readonly number[],
  pads: readonly (readonly [number, number])[],
  mode: PadFill,
): number[] {
  if (pads.length !== shape.length || pads.some((p) => p.length !== 2 || !p.every(Number.isInteger))) {
    throw new RangeError(`pad: ${JSON.stringify(pads)} needs one [before, after] integer pair per axis`);
  }
  return shape.map((d, i) => {
    const [lo, hi] = pads[i];
    const kept = d - Math.max(0, -lo) - Math.max(0, -hi);
    if (kept < 1) throw new RangeError(`pad: [${lo}, ${hi}] crops all of axis ${i} (size ${d})`);
    if (mode === "reflect" && (lo >= kept || hi >= kept)) {
      throw new RangeError(`pad: reflect pads [${lo}, ${hi}] of axis ${i} must be below its length ${kept}`);
    }
    return kept + Math.max(0, lo) + Math.max(0, hi);
  });
}

/**
 * The index map of padding (see {@linkcode padOutShape}): `constant` cells read −1 (the fill), `edge`
 * cells the nearest border cell, `reflect` cells the cell mirrored about the border (without repeating
 * it), as ONNX Pad and NumPy do.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { padIndex } from "@hqat/qtensor";
 * assert(padIndex([3], [[2, 1]], "reflect").index.join() === "2,1,0,1,2,1");
 * assert(padIndex([3], [[2, 1]], "edge").index.join() === "0,0,0,1,2,2");
 * assert(padIndex([3], [[1, -1]], "constant").index.join() === "-1,0,1");
 * ```
 */
export function padIndex(
  shape: readonly number[],
  pads: readonly (readonly [number, number])[],
  mode: PadFill,
): { index: Int32Array; shape: number[] } {
  const outShape = padOutShape(shape, pads, mode);
  const source = (a: number, c: number) => {
    const [lo] = pads[a], crop = Math.max(0, -lo);
    const kept = shape[a] - crop - Math.max(0, -pads[a][1]);
    let p = c - Math.max(0, lo); // the coordinate in the cropped axis
    if (p < 0 || p >= kept) {
      if (mode === "constant") return -1;
      if (mode === "edge") p = p < 0 ? 0 : kept - 1;
      else p = p < 0 ? -p : 2 * (kept - 1) - p;
    }
    return p + crop;
  };
  return { index: indexMap(shape, outShape, source), shape: outShape };
}

/** Options of {@linkcode gatherFrames}. */
export interface GatherOptions {
  /** Frames to produce. */
  readonly frames: number;
  /** Input elements per frame (0: every frame reads the same elements). */
  readonly inFrame: number;
  /** Per output element of a frame, the input element it copies within its frame, or −1 for `fill`. */
  readonly index: Int32Array;
  /** The value of −1 cells. */
  readonly fill?: number;
}

/**
 * Applies an index map frame by frame: output element `j` of frame `f` is `x[f · inFrame + index[j]]`,
 * or `fill` where `index[j]` is −1. The result has `x`'s array type. Throws a `RangeError` for an index
 * outside the frame.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gatherFrames } from "@hqat/qtensor";
 * const y = gatherFrames(Int8Array.of(1, 2, 3, 4), { frames: 2, inFrame: 2, index: Int32Array.of(1, -1, 0), fill: 9 });
 * assert(y instanceof Int8Array && y.join() === "2,9,1,4,9,3");
 * ```
 */
export function gatherFrames<T extends QArray>(x: T, o: GatherOptions): T {
  const { frames, inFrame, index } = o, fill = o.fill ?? 0;
  const span = inFrame === 0 ? x.length : inFrame;
  if (index.some((v) => v < -1 || v >= span) || (frames - 1) * inFrame + span > x.length) {
    throw new RangeError(`gatherFrames(): an index leaves the ${span}-element frame of ${x.length} values`);
  }
  const out = new (x.constructor as new (n: number) => T)(frames * index.length);
  for (let f = 0, j = 0; f < frames; f++) {
    const base = f * inFrame;
    for (let k = 0; k < index.length; k++, j++) out[j] = index[k] < 0 ? fill : x[base + index[k]];
  }
  return out;
}
