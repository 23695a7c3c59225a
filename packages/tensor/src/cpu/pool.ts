/**
 * CPU kernels for 2-D max and average pooling and their gradients (NCHW).
 * @module
 */
import { pooledFloat32 } from "./float_pool.ts";
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import type { PoolAttrs } from "../ops.ts";
import type { Shape } from "../shape.ts";

interface Geo {
  planes: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
}

function geo(x: Shape, out: Shape): Geo {
  return { planes: x[0] * x[1], h: x[2], w: x[3], ho: out[2], wo: out[3] };
}

/** Max pooling; padded cells never win. */
export function maxPoolKernel(
  x: TypedArray,
  xShape: Shape,
  outShape: Shape,
  a: PoolAttrs,
  dtype: DType,
): TypedArray {
  const g = geo(xShape, outShape);
  const out = allocArray(dtype, g.planes * g.ho * g.wo);
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  for (let p = 0; p < g.planes; p++) {
    const xb = p * g.h * g.w, ob = p * g.ho * g.wo;
    for (let oy = 0; oy < g.ho; oy++) {
      const y0 = oy * sh - ph, y1 = Math.min(y0 + kh, g.h), ys = Math.max(y0, 0);
      for (let ox = 0; ox < g.wo; ox++) {
        const x0 = ox * sw - pw, x1 = Math.min(x0 + kw, g.w), xs = Math.max(x0, 0);
        let best = -Infinity;
        for (let y = ys; y < y1; y++) {
          for (let xx = xs; xx < x1; xx++) {
            const v = x[xb + y * g.w + xx];
            if (v > best || v !== v) best = v;
          }
        }
        out[ob + oy * g.wo + ox] = best;
      }
    }
  }
  return out;
}

/** Gradient of max pooling: each window's dy goes to its first maximum. */
export function maxPoolBackwardKernel(
  dy: TypedArray,
  x: TypedArray,
  xShape: Shape,
  dyShape: Shape,
  a: PoolAttrs,
): Float32Array {
  const g = geo(xShape, dyShape);
  const dx = new Float32Array(x.length);
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  for (let p = 0; p < g.planes; p++) {
    const xb = p * g.h * g.w, ob = p * g.ho * g.wo;
    for (let oy = 0; oy < g.ho; oy++) {
      const y0 = oy * sh - ph, y1 = Math.min(y0 + kh, g.h), ys = Math.max(y0, 0);
      for (let ox = 0; ox < g.wo; ox++) {
        const x0 = ox * sw - pw, x1 = Math.min(x0 + kw, g.w), xs = Math.max(x0, 0);
        let best = -Infinity, bi = -1;
        for (let y = ys; y < y1; y++) {
          for (let xx = xs; xx < x1; xx++) {
            const v = x[xb + y * g.w + xx];
            if (v > best || bi < 0) {
              best = v;
              bi = xb + y * g.w + xx;
            }
          }
        }
        if (bi >= 0) dx[bi] += dy[ob + oy * g.wo + ox];
      }
    }
  }
  return dx;
}

function divisor(a: PoolAttrs, g: Geo, y0: number, x0: number): number {
  const [kh, kw] = a.kernel, [ph, pw] = a.padding;
  if (a.countIncludePad) {
    // PyTorch: the window clipped to the padded input counts, cells beyond the padding do not.
    const yh = Math.min(y0 + kh, g.h + ph) - y0, xw = Math.min(x0 + kw, g.w + pw) - x0;
    return yh * xw;
  }
  const yh = Math.min(y0 + kh, g.h) - Math.max(y0, 0), xw = Math.min(x0 + kw, g.w) - Math.max(x0, 0);
  return yh * xw;
}

/** Average pooling (PyTorch's divisor rules). */
export function avgPoolKernel(x: TypedArray, xShape: Shape, outShape: Shape, a: PoolAttrs): Float32Array {
  const g = geo(xShape, outShape);
  const out = pooledFloat32(g.planes * g.ho * g.wo); // every element is written below
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  if (isIdentityWindow(a, g)) {
    // A 1×1 window over a plane of one value each (the adaptive pool at the end of a CIFAR network): the
    // window sum 0 + x divided by 1, as the loops below compute it.
    for (let i = 0; i < out.length; i++) out[i] = 0 + x[i];
    return out;
  }
  for (let p = 0; p < g.planes; p++) {
    const xb = p * g.h * g.w, ob = p * g.ho * g.wo;
    for (let oy = 0; oy < g.ho; oy++) {
      const y0 = oy * sh - ph, y1 = Math.min(y0 + kh, g.h), ys = Math.max(y0, 0);
      for (let ox = 0; ox < g.wo; ox++) {
        const x0 = ox * sw - pw, x1 = Math.min(x0 + kw, g.w), xs = Math.max(x0, 0);
        let s = 0;
        for (let y = ys; y < y1; y++) for (let xx = xs; xx < x1; xx++) s += x[xb + y * g.w + xx];
        out[ob + oy * g.wo + ox] = s / divisor(a, g, y0, x0);
      }
    }
  }
  return out;
}

/** Whether every window is the single value at its own position (1×1 kernel, stride 1, no padding, same size). */
function isIdentityWindow(a: PoolAttrs, g: { h: number; w: number; ho: number; wo: number }): boolean {
  return a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 && a.stride[1] === 1 &&
    a.padding[0] === 0 && a.padding[1] === 0 && g.ho === g.h && g.wo === g.w;
}

/** Gradient of average pooling. */
export function avgPoolBackwardKernel(
  dy: TypedArray,
  dyShape: Shape,
  xShape: Shape,
  a: PoolAttrs,
): Float32Array {
  const g = geo(xShape, dyShape);
  const dx = new Float32Array(g.planes * g.h * g.w);
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  if (isIdentityWindow(a, g)) {
    for (let i = 0; i < dx.length; i++) dx[i] = 0 + dy[i] / 1;
    return dx;
  }
  for (let p = 0; p < g.planes; p++) {
    const xb = p * g.h * g.w, ob = p * g.ho * g.wo;
    for (let oy = 0; oy < g.ho; oy++) {
      const y0 = oy * sh - ph, y1 = Math.min(y0 + kh, g.h), ys = Math.max(y0, 0);
      for (let ox = 0; ox < g.wo; ox++) {
        const x0 = ox * sw - pw, x1 = Math.min(x0 + kw, g.w), xs = Math.max(x0, 0);
        const v = dy[ob + oy * g.wo + ox] / divisor(a, g, y0, x0);
        for (let y = ys; y < y1; y++) for (let xx = xs; xx < x1; xx++) dx[xb + y * g.w + xx] += v;
      }
    }
  }
  return dx;
}
