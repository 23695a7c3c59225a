/**
 * Plain-TypeScript 2-D convolution by direct loops: the definition the fast kernels are tested
 * against, and the fallback where WebAssembly is unavailable. Sizes come from `convDims`, unchecked.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";

/**
 * Visits every (output, input, weight) index triple of the convolution: `visit(yi, xi, wi)`.
 * The innermost loop runs along the output width.
 */
function eachTap(d: ConvDims, visit: (yi: number, xi: number, wi: number) => void): void {
  const { n, c, h, w, co, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw, cg, cog } = d;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      const g = Math.floor(o / cog);
      for (let ci = 0; ci < cg; ci++) {
        const xPlane = (b * c + g * cg + ci) * h * w;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wi = ((o * cg + ci) * kh + ky) * kw + kx;
            for (let oy = 0; oy < ho; oy++) {
              const iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const yRow = ((b * co + o) * ho + oy) * wo;
              for (let ox = 0; ox < wo; ox++) {
                const ix = ox * sw - pw + kx * dw;
                if (ix >= 0 && ix < w) visit(yRow + ox, xPlane + iy * w + ix, wi);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * y = conv(x, w) (+ bias), by direct loops.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dForwardReference } from "./conv2d_reference.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([1, 1, 2, 2], [1, 1, 2, 2], geo, "conv2d");
 * const y = conv2dForwardReference(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 1, 1, 1]), d);
 * assert(y[0] === 10);
 * ```
 */
export function conv2dForwardReference(
  x: Float32Array,
  w: Float32Array,
  d: ConvDims,
  bias?: Float32Array,
): Float32Array {
  const y = new Float32Array(d.n * d.co * d.ho * d.wo);
  eachTap(d, (yi, xi, wi) => (y[yi] += x[xi] * w[wi]));
  if (bias) {
    const p = d.ho * d.wo;
    for (let i = 0; i < y.length; i++) y[i] += bias[Math.floor(i / p) % d.co];
  }
  return y;
}

/**
 * dL/dx of the convolution given dL/dy, by direct loops (the adjoint of the forward pass in x).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBackwardInputReference } from "./conv2d_reference.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([1, 1, 2, 2], [1, 1, 2, 2], geo, "conv2d");
 * const dx = conv2dBackwardInputReference(new Float32Array([2]), new Float32Array([1, 2, 3, 4]), d);
 * assert(dx.join() === "2,4,6,8");
 * ```
 */
export function conv2dBackwardInputReference(dy: Float32Array, w: Float32Array, d: ConvDims): Float32Array {
  const dx = new Float32Array(d.n * d.c * d.h * d.w);
  eachTap(d, (yi, xi, wi) => (dx[xi] += dy[yi] * w[wi]));
  return dx;
}

/**
 * dL/dw of the convolution given dL/dy and x, by direct loops (summed over the batch).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBackwardWeightReference } from "./conv2d_reference.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([1, 1, 2, 2], [1, 1, 2, 2], geo, "conv2d");
 * const dw = conv2dBackwardWeightReference(new Float32Array([2]), new Float32Array([1, 2, 3, 4]), d);
 * assert(dw.join() === "2,4,6,8");
 * ```
 */
export function conv2dBackwardWeightReference(dy: Float32Array, x: Float32Array, d: ConvDims): Float32Array {
  const dw = new Float32Array(d.co * d.cg * d.kh * d.kw);
  eachTap(d, (yi, xi, wi) => (dw[wi] += dy[yi] * x[xi]));
  return dw;
}
