/**
 * The geometry of a resize: its output shape (with the checks of its attributes) and the sampling taps
 * along each axis — ONNX Resize's coordinate transformations and
 * nearest-neighbour rounding — computed once on the host and shared by the CPU and WGSL kernels, so that
 * both backends read the same input cells with the same weights.
 *
 * Without `scales`, the input coordinate is computed exactly as a fraction of integers (for example
 * `half_pixel`: x = ((2o + 1) · in − out) / (2 · out)), so rounding at exact halves and integers never
 * depends on floating-point error. With `scales`, it is `(o + 0.5) / scale − 0.5` (or `o / scale`) in
 * float64, as the ONNX reference computes it. The coordinate is clamped to [0, in − 1], which gives the
 * same values as ONNX's edge padding.
 * @module
 */
import type { CoordinateTransformation, NearestMode, ResizeAttrs } from "./ops.ts";
import type { TensorInfo } from "./tensor.ts";

const COORDINATE_MODES = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"];
const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/**
 * The output shape [N, C, oh, ow] of a resize of `x` by `attrs`, or a `RangeError`/`TypeError` naming
 * `op` and what does not fit.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { resizeShape } from "./resize_geometry.ts";
 * const attrs = {
 *   size: [5, 6], mode: "linear", coordinateTransformation: "half_pixel", nearestMode: "floor", scales: null,
 * } as const;
 * assertEquals(resizeShape("resize", { shape: [2, 3, 4, 4], dtype: "float32" }, attrs), [2, 3, 5, 6]);
 * assertThrows(() => resizeShape("resize", { shape: [2, 3, 4, 4], dtype: "int8" }, attrs), TypeError);
 * ```
 */
export function resizeShape(op: string, x: TensorInfo, a: ResizeAttrs): number[] {
  const s = x.shape;
  if (s.length !== 4) throw new RangeError(`${op}() needs a 4-D input [N,C,H,W], got ${fmt(s)}`);
  if (a.mode === "linear") {
    if (x.dtype !== "float32") throw new TypeError(`${op}() needs a float32 tensor, got ${x.dtype}`);
  } else if (a.mode !== "nearest") throw new RangeError(`${op}(): unknown mode "${a.mode}"`);
  if (!COORDINATE_MODES.includes(a.coordinateTransformation)) {
    throw new RangeError(`${op}(): unknown coordinate transformation "${a.coordinateTransformation}"`);
  }
  if (!NEAREST_MODES.includes(a.nearestMode)) {
    throw new RangeError(`${op}(): unknown nearest mode "${a.nearestMode}"`);
  }
  if (a.size.length !== 2 || a.size.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`${op}(): size must be two positive integers, got ${fmt(a.size)}`);
  }
  if (a.scales !== null && (a.scales.length !== 2 || a.scales.some((v) => !(v > 0 && v < Infinity)))) {
    throw new RangeError(`${op}(): scales must be two positive finite numbers, got ${fmt(a.scales)}`);
  }
  if (s[2] < 1 || s[3] < 1) throw new RangeError(`${op}(): cannot resize the empty input ${fmt(s)}`);
  return [s[0], s[1], a.size[0], a.size[1]];
}

/** The taps of one axis: output index o reads input cells i0[o] and i1[o] with weights w0[o] and w1[o]. */
export interface AxisTaps {
  /** Per output index, the first input index. */
  readonly i0: Int32Array;
  /** Per output index, the second input index (linear between two cells; else equal to i0). */
  readonly i1: Int32Array;
  /** Per output index, the weight of i0 (1 for nearest). */
  readonly w0: Float32Array;
  /** Per output index, the weight of i1 (0 for nearest). */
  readonly w1: Float32Array;
  /** Per input index, the first output index whose taps include it. */
  readonly lo: Int32Array;
  /** Per input index, one past the last output index whose taps include it (lo = hi: none). */
  readonly hi: Int32Array;
}

/** An input coordinate `floor + num / den` with 0 ≤ num < den. */
interface Coordinate {
  floor: number;
  num: number;
  den: number;
}

function fraction(p: number, q: number): Coordinate {
  const floor = Math.floor(p / q);
  return { floor, num: p - floor * q, den: q };
}

function fromFloat(v: number): Coordinate {
  const floor = Math.floor(v);
  return { floor, num: v - floor, den: 1 };
}

/** The input coordinate of output index `o`, before clamping. */
function coordinate(
  o: number,
  inSize: number,
  outSize: number,
  mode: CoordinateTransformation,
  scale: number | null,
): Coordinate {
  switch (mode) {
    case "align_corners":
      return outSize === 1 ? fraction(0, 1) : fraction(o * (inSize - 1), outSize - 1);
    case "asymmetric":
      return scale === null ? fraction(o * inSize, outSize) : fromFloat(o / scale);
    case "pytorch_half_pixel":
    case "half_pixel":
      // pytorch_half_pixel differs from half_pixel only for an output of length one.
      if (mode === "pytorch_half_pixel" && outSize === 1) return fraction(0, 1);
      return scale === null
        ? fraction((2 * o + 1) * inSize - outSize, 2 * outSize)
        : fromFloat((o + 0.5) / scale - 0.5);
  }
}

/** Clamps a coordinate to [0, last]. */
function clampCoordinate(c: Coordinate, last: number): Coordinate {
  if (c.floor < 0) return { floor: 0, num: 0, den: 1 };
  if (c.floor >= last) return { floor: last, num: 0, den: 1 };
  return c;
}

function nearestIndex(c: Coordinate, mode: NearestMode): number {
  const up = mode === "floor"
    ? false
    : mode === "ceil"
    ? c.num > 0
    : mode === "round_prefer_floor"
    ? 2 * c.num > c.den
    : 2 * c.num >= c.den;
  return c.floor + (up ? 1 : 0);
}

/**
 * The taps of one axis of length `inSize` resized to `outSize` by `attrs` (`scale` is that axis's entry
 * of `attrs.scales`, or null).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { axisTaps } from "./resize_geometry.ts";
 * const attrs = {
 *   size: [4, 4], mode: "linear", coordinateTransformation: "half_pixel", nearestMode: "floor", scales: null,
 * } as const;
 * const t = axisTaps(2, 4, attrs, null);
 * // Output 1 sits at input coordinate 0.25: three quarters of cell 0, one quarter of cell 1.
 * assert(t.i0[1] === 0 && t.i1[1] === 1 && t.w0[1] === 0.75 && t.w1[1] === 0.25);
 * assert(t.lo[1] === 1 && t.hi[1] === 4);
 * ```
 */
export function axisTaps(
  inSize: number,
  outSize: number,
  attrs: ResizeAttrs,
  scale: number | null,
): AxisTaps {
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize), w1 = new Float32Array(outSize);
  const last = inSize - 1;
  for (let o = 0; o < outSize; o++) {
    const c = clampCoordinate(coordinate(o, inSize, outSize, attrs.coordinateTransformation, scale), last);
    if (attrs.mode === "nearest") {
      i0[o] = i1[o] = Math.min(nearestIndex(c, attrs.nearestMode), last);
      w0[o] = 1;
    } else {
      // An exact hit reads one cell (i1 = i0 with weight 0).
      i0[o] = c.floor;
      i1[o] = c.num === 0 ? c.floor : Math.min(c.floor + 1, last);
      w1[o] = c.num / c.den;
      w0[o] = 1 - w1[o];
    }
  }
  const lo = new Int32Array(inSize), hi = new Int32Array(inSize);
  for (let o = outSize - 1; o >= 0; o--) {
    for (const i of [i0[o], i1[o]]) {
      if (hi[i] === 0) hi[i] = o + 1;
      lo[i] = o;
    }
  }
  return { i0, i1, w0, w1, lo, hi };
}

/** The taps of both spatial axes of a resize of an input with spatial size [h, w]. */
export interface ResizeTaps {
  /** Rows. */
  readonly h: AxisTaps;
  /** Columns. */
  readonly w: AxisTaps;
}

/**
 * The taps of both spatial axes of a resize of NCHW `xShape` by `attrs`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resizeTaps } from "./resize_geometry.ts";
 * const attrs = {
 *   size: [2, 6], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor", scales: null,
 * } as const;
 * const t = resizeTaps([1, 1, 4, 3], attrs);
 * assert(t.h.i0.join() === "0,2" && t.w.i0.join() === "0,0,1,1,2,2");
 * ```
 */
export function resizeTaps(xShape: readonly number[], attrs: ResizeAttrs): ResizeTaps {
  return {
    h: axisTaps(xShape[2], attrs.size[0], attrs, attrs.scales?.[0] ?? null),
    w: axisTaps(xShape[3], attrs.size[1], attrs, attrs.scales?.[1] ?? null),
  };
}

/**
 * The weight with which output index `o` reads input index `i` along one axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { axisTaps, tapWeight } from "./resize_geometry.ts";
 * const attrs = {
 *   size: [3, 3], mode: "linear", coordinateTransformation: "align_corners", nearestMode: "floor", scales: null,
 * } as const;
 * const t = axisTaps(2, 3, attrs, null);
 * assert(tapWeight(t, 1, 0) === 0.5 && tapWeight(t, 1, 1) === 0.5 && tapWeight(t, 2, 0) === 0);
 * ```
 */
export function tapWeight(t: AxisTaps, o: number, i: number): number {
  return (t.i0[o] === i ? t.w0[o] : 0) + (t.i1[o] === i ? t.w1[o] : 0);
}
