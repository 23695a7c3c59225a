/**
 * CPU kernels of the spatial resize (ONNX Resize, nearest and linear) and of its gradient. Both read the
 * taps of {@linkcode resizeTaps}; the gradient is a gather, each input cell summing the outputs that read
 * it in the same order as the WGSL kernel.
 * @module
 */
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import type { ResizeAttrs } from "../ops.ts";
import { type AxisTaps, resizeTaps, tapWeight } from "../resize_geometry.ts";
import type { Shape } from "../shape.ts";

/**
 * Resizes the two spatial axes of NCHW `x` to `attrs.size`: nearest (any dtype) or linear (float32),
 * the linear value as PyTorch sums it, `wy0 · (wx0 · x00 + wx1 · x01) + wy1 · (wx0 · x10 + wx1 · x11)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resizeKernel } from "./resize.ts";
 * const attrs = {
 *   size: [1, 3], mode: "linear", coordinateTransformation: "align_corners", nearestMode: "floor", scales: null,
 * } as const;
 * assert(resizeKernel(Float32Array.of(0, 4), [1, 1, 1, 2], attrs, "float32").join() === "0,2,4");
 * ```
 */
export function resizeKernel(x: TypedArray, shape: Shape, attrs: ResizeAttrs, dtype: DType): TypedArray {
  const [n, c, h, w] = shape;
  const [oh, ow] = attrs.size;
  const taps = resizeTaps(shape, attrs);
  const { i0: y0, i1: y1, w0: wy0, w1: wy1 } = taps.h;
  const { i0: x0, i1: x1, w0: wx0, w1: wx1 } = taps.w;
  const out = allocArray(dtype, n * c * oh * ow);
  const linear = attrs.mode === "linear";
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const r0 = base + y0[oy] * w, r1 = base + y1[oy] * w;
      for (let ox = 0; ox < ow; ox++, o++) {
        if (!linear) {
          out[o] = x[r0 + x0[ox]];
          continue;
        }
        const top = wx0[ox] * x[r0 + x0[ox]] + wx1[ox] * x[r0 + x1[ox]];
        const bottom = wx0[ox] * x[r1 + x0[ox]] + wx1[ox] * x[r1 + x1[ox]];
        out[o] = wy0[oy] * top + wy1[oy] * bottom;
      }
    }
  }
  return out;
}

/**
 * The gradient of {@linkcode resizeKernel} for an input of `xShape`: each input cell sums
 * `wy · wx · dy` over the outputs that read it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resizeBackwardKernel } from "./resize.ts";
 * const attrs = {
 *   size: [1, 4], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor", scales: null,
 * } as const;
 * const dx = resizeBackwardKernel(Float32Array.of(1, 2, 3, 4), [1, 1, 1, 2], attrs);
 * assert(dx.join() === "3,7");
 * ```
 */
export function resizeBackwardKernel(dy: TypedArray, xShape: Shape, attrs: ResizeAttrs): Float32Array {
  const [n, c, h, w] = xShape;
  const [oh, ow] = attrs.size;
  const taps = resizeTaps(xShape, attrs);
  const dx = new Float32Array(n * c * h * w);
  // Per input row and column, the weights of the outputs in its range.
  const rowW = weightsByInput(taps.h, h), colW = weightsByInput(taps.w, w);
  let i = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * oh * ow;
    for (let iy = 0; iy < h; iy++) {
      const [ylo, yhi] = [taps.h.lo[iy], taps.h.hi[iy]];
      for (let ix = 0; ix < w; ix++, i++) {
        const [xlo, xhi] = [taps.w.lo[ix], taps.w.hi[ix]];
        let acc = 0;
        for (let oy = ylo; oy < yhi; oy++) {
          const wy = rowW[iy][oy - ylo], row = base + oy * ow;
          for (let ox = xlo; ox < xhi; ox++) acc += wy * colW[ix][ox - xlo] * dy[row + ox];
        }
        dx[i] = acc;
      }
    }
  }
  return dx;
}

function weightsByInput(t: AxisTaps, size: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < size; i++) {
    const ws = new Float32Array(t.hi[i] - t.lo[i]);
    for (let o = t.lo[i]; o < t.hi[i]; o++) ws[o - t.lo[i]] = tapWeight(t, o, i);
    out.push(ws);
  }
  return out;
}
