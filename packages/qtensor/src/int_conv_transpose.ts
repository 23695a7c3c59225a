/**
 * Integer transposed 2-D convolution (PyTorch's `ConvTranspose2d`): int8 weights `[Cin, Cout/groups, kh,
 * kw]` with one scale per output channel, an int8/int16 input, the exact int32 accumulator
 * `bias[c] + Σ x · w` of scale `sx · sw[c]` — each input cell `iy` adds `x · w[ky]` to output row
 * `iy · stride − padding + ky · dilation` — before requantization.
 * @module
 */

import type { QArray } from "./dtypes.ts";

/** The geometry of a transposed convolution. */
export interface ConvTranspose2dGeometry {
  /** Stride `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** Padding removed from each side of the output `[ph, pw]`. */
  readonly padding: readonly [number, number];
  /** Extra rows and columns on one side of the output `[oph, opw]`, below the stride or the dilation. */
  readonly outputPadding: readonly [number, number];
  /** Dilation `[dh, dw]`. */
  readonly dilation: readonly [number, number];
  /** Groups. */
  readonly groups: number;
}

/**
 * The output shape `[N, Cout, Ho, Wo]` of a transposed convolution of `x` by `w` (`Ho = (H − 1) · s − 2p +
 * d · (kh − 1) + op + 1`), or a `RangeError` naming what does not fit.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convTransposeShape } from "@hqat/qtensor";
 * const g = { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * assert(convTransposeShape([1, 4, 5, 5], [4, 3, 3, 3], g).join() === "1,3,10,10");
 * ```
 */
export function convTransposeShape(
  x: readonly number[],
  w: readonly number[],
  g: ConvTranspose2dGeometry,
): number[] {
  if (x.length !== 4 || w.length !== 4) {
    throw new RangeError(`convTranspose: [${x}] and [${w}] are not [N,C,H,W] and [Cin,Cout/g,kh,kw]`);
  }
  const groups = g.groups;
  if (!Number.isInteger(groups) || groups < 1 || x[1] !== w[0] || w[0] % groups !== 0) {
    throw new RangeError(
      `convTranspose: ${x[1]} input channels, weight [${w}] and ${groups} groups do not fit`,
    );
  }
  const pairs = [g.stride, g.dilation, g.padding, g.outputPadding];
  if (pairs.some((p) => p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0))) {
    throw new RangeError("convTranspose: stride, dilation, padding and output padding are integer pairs");
  }
  const dims = [0, 1].map((a) => {
    const [s, d, p, op] = [g.stride[a], g.dilation[a], g.padding[a], g.outputPadding[a]];
    if (s < 1 || d < 1 || op >= Math.max(s, d)) {
      throw new RangeError(
        `convTranspose: output padding ${op} must be below the stride ${s} or dilation ${d}`,
      );
    }
    return (x[2 + a] - 1) * s - 2 * p + d * (w[2 + a] - 1) + op + 1;
  });
  if (!(dims[0] >= 1 && dims[1] >= 1)) throw new RangeError(`convTranspose: the padding leaves no output`);
  return [x[0], w[1] * groups, dims[0], dims[1]];
}

/**
 * The weights `[Cin, Cout/g, kh, kw]` rearranged per output channel, `[Cout, Cin/g, kh, kw]` — the taps
 * each output channel draws on (for the int32 accumulator bound of `checkAccumulator`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convTransposeByOutput } from "@hqat/qtensor";
 * // Cin 2, Cout 3, 1×1 taps: w[ci][co].
 * const w = Int8Array.of(1, 2, 3, 4, 5, 6);
 * assert(convTransposeByOutput(w, [2, 3, 1, 1], 1).join() === "1,4,2,5,3,6");
 * ```
 */
export function convTransposeByOutput(w: Int8Array, shape: readonly number[], groups: number): Int8Array {
  const [cin, cog, kh, kw] = shape, cig = cin / groups, k = kh * kw;
  const out = new Int8Array(w.length);
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cig);
    for (let j = 0; j < cog; j++) {
      const co = g * cog + j;
      out.set(w.subarray((ci * cog + j) * k, (ci * cog + j + 1) * k), (co * cig + (ci - g * cig)) * k);
    }
  }
  return out;
}

/**
 * The scale of each weight row `[ci, j]` of `[Cin, Cout/g, kh, kw]` weights: the scale of its output
 * channel `g · (Cout/g) + j`, `g` the group of input channel `ci` (for quantizing the weights per output
 * channel).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convTransposeScales } from "@hqat/qtensor";
 * // Cin 2 in 2 groups, Cout 4: input channel 0 feeds outputs 0 and 1, input channel 1 outputs 2 and 3.
 * assert(convTransposeScales(Float32Array.of(1, 2, 3, 4), 2, 2).join() === "1,2,3,4");
 * assert(convTransposeScales(Float32Array.of(1, 2), 3, 1).join() === "1,2,1,2,1,2");
 * ```
 */
export function convTransposeScales(scales: Float32Array, cin: number, groups: number): Float32Array {
  const cog = scales.length / groups, cig = cin / groups;
  const out = new Float32Array(cin * cog);
  for (let ci = 0; ci < cin; ci++) {
    out.set(scales.subarray(Math.floor(ci / cig) * cog, Math.floor(ci / cig) * cog + cog), ci * cog);
  }
  return out;
}

/**
 * The exact int32 accumulator of a transposed convolution of int8/int16 NCHW `x` by int8 `w`, plus the
 * int32 `bias` per output channel (see {@linkcode convTransposeShape}); exact for layers that pass
 * `checkAccumulator` on {@linkcode convTransposeByOutput}'s weights.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConvTranspose2dAccumulate } from "@hqat/qtensor";
 * const g = { stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const y = intConvTranspose2dAccumulate(Int8Array.of(1, 2), [1, 1, 1, 2], Int8Array.of(1, 1), [1, 1, 1, 2], g, Int32Array.of(10));
 * assert(y.data.join() === "11,11,12,12" && y.shape.join() === "1,1,1,4");
 * ```
 */
export function intConvTranspose2dAccumulate(
  x: QArray,
  xShape: readonly number[],
  w: Int8Array,
  wShape: readonly number[],
  g: ConvTranspose2dGeometry,
  bias?: Int32Array,
): { data: Int32Array; shape: number[] } {
  const shape = convTransposeShape(xShape, wShape, g);
  const [n, cin, h, wd] = xShape, [, cog, kh, kw] = wShape, [, cout, oh, ow] = shape;
  if (x.length !== n * cin * h * wd || w.length !== cin * cog * kh * kw || (bias && bias.length !== cout)) {
    throw new RangeError(`intConvTranspose2dAccumulate(): the values do not fill [${xShape}], [${wShape}]`);
  }
  const cig = cin / g.groups, [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const out = new Int32Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const grp = Math.floor(co / cog), j = co - grp * cog;
      const base = (b * cout + co) * oh * ow;
      if (bias) out.fill(bias[co], base, base + oh * ow);
      for (let ci = grp * cig; ci < (grp + 1) * cig; ci++) {
        const xp = (b * cin + ci) * h * wd, wp = (ci * cog + j) * kh * kw;
        for (let iy = 0; iy < h; iy++) {
          for (let ky = 0; ky < kh; ky++) {
            const oy = iy * sh - ph + ky * dh;
            if (oy < 0 || oy >= oh) continue;
            for (let ix = 0; ix < wd; ix++) {
              const v = x[xp + iy * wd + ix];
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pw + kx * dw;
                if (ox >= 0 && ox < ow) out[base + oy * ow + ox] += v * w[wp + ky * kw + kx];
              }
            }
          }
        }
      }
    }
  }
  return { data: out, shape };
}
