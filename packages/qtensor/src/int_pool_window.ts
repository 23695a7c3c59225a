/**
 * Pooling windows with PyTorch's ceil mode and divisor rules, on integers: the output size (a last
 * window must start inside the input or its left padding), max pooling (padded and outside cells never
 * win), and the window sums of average pooling rescaled to one divisor — where a window's divisor `c`
 * (the cells PyTorch counts: clipped to the padded input, or to the input without `countIncludePad`) is
 * not the kernel area `K`, the sum becomes `round_half_up(sum · K / c)`, so every output has the scale
 * `sx / K` and one requantization serves them all (hqat choice).
 * @module
 */

import type { QArray } from "./dtypes.ts";

/** A pooling window with PyTorch's modes. */
export interface PoolWindowSpec {
  /** Window `[kh, kw]`. */
  readonly kernel: readonly [number, number];
  /** Stride `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** Padding per side `[ph, pw]`, at most half the kernel. */
  readonly padding: readonly [number, number];
  /** Round the output size up (a last window must start inside the input or the left padding). */
  readonly ceilMode?: boolean;
  /** Average pooling: divide by the window clipped to the padded input (default), or only by real cells. */
  readonly countIncludePad?: boolean;
}

/**
 * PyTorch's pooling output size along one axis (dilation 1): `floor` or `ceil` of
 * `(size + 2p − k) / s` plus one, less one when ceil mode would start the last window past the input
 * and its left padding; 0 when the window does not fit.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { poolOutputSize } from "@hqat/qtensor";
 * assert(poolOutputSize(5, 2, 2, 0, false) === 2 && poolOutputSize(5, 2, 2, 0, true) === 3);
 * assert(poolOutputSize(5, 2, 2, 1, true) === 3); // a fourth window would start in the right padding
 * ```
 */
export function poolOutputSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  const num = size + 2 * p - k;
  if (num < 0) return 0;
  let out = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function geometry(shape: readonly number[], g: PoolWindowSpec, op: string) {
  if (shape.length !== 4) throw new RangeError(`${op}: the input [${shape}] must be 4-d (NCHW)`);
  const [n, c, h, w] = shape, [kh, kw] = g.kernel, [sh, sw] = g.stride, [ph, pw] = g.padding;
  if (!(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && ph >= 0 && pw >= 0) || 2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(
      `${op}: a ${kh}x${kw} window, stride ${sh}x${sw}, padding ${ph}x${pw} (at most half)`,
    );
  }
  const oh = poolOutputSize(h, kh, sh, ph, g.ceilMode ?? false);
  const ow = poolOutputSize(w, kw, sw, pw, g.ceilMode ?? false);
  if (oh < 1 || ow < 1) throw new RangeError(`${op}: a ${kh}x${kw} window does not fit the ${h}x${w} input`);
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

/**
 * The window sums of integer average pooling with PyTorch's divisor rules, each on the grid of scale
 * `sx / (kh · kw)`: the plain sum where the window's divisor is the kernel area, else
 * `round_half_up(sum · K / c)` (exact: `|sum · K| < 2^31` is the caller's bound). Returns the int32 values and
 * the output shape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAvgPoolWindowSum } from "@hqat/qtensor";
 * // A 2x2 window over a 3x3 plane in ceil mode: the last row and column see 2 or 1 real cells.
 * const x = Int8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
 * const y = intAvgPoolWindowSum(x, [1, 1, 3, 3], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true });
 * assert(y.shape.join() === "1,1,2,2" && y.data.join() === "12,18,30,36"); // 9·4/2, 15·4/2, 9·4/1
 * ```
 */
export function intAvgPoolWindowSum(
  x: QArray,
  shape: readonly number[],
  g: PoolWindowSpec,
): { data: Int32Array; shape: number[] } {
  const { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = geometry(shape, g, "intAvgPoolWindowSum()");
  if (x.length !== n * c * h * w) {
    throw new RangeError(`intAvgPoolWindowSum(): ${x.length} values for [${shape}]`);
  }
  const K = kh * kw, include = g.countIncludePad ?? true;
  const out = new Int32Array(n * c * oh * ow);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - ph, ys = Math.max(y0, 0), ye = Math.min(y0 + kh, h);
      const rows = include ? Math.min(y0 + kh, h + ph) - y0 : ye - ys;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - pw, xs = Math.max(x0, 0), xe = Math.min(x0 + kw, w);
        const cells = rows * (include ? Math.min(x0 + kw, w + pw) - x0 : xe - xs);
        let s = 0;
        for (let yy = ys; yy < ye; yy++) for (let xx = xs; xx < xe; xx++) s += x[base + yy * w + xx];
        if (cells === K) {
          out[o++] = s;
        } else {
          const t = s * K, q = Math.floor(t / cells), r = t - q * cells;
          out[o++] = q + (2 * r >= cells ? 1 : 0);
        }
      }
    }
  }
  return { data: out, shape: [n, c, oh, ow] };
}

/**
 * Integer max pooling with PyTorch's ceil mode: the largest real cell of each window (padding and cells
 * past the input never win); dtype kept.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intMaxPoolWindow } from "@hqat/qtensor";
 * const x = Int8Array.of(1, -2, 3, -4, 5, -6, 7, -8, 9);
 * const y = intMaxPoolWindow(x, [1, 1, 3, 3], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true });
 * assert(y.data.join() === "5,3,7,9" && y.shape.join() === "1,1,2,2");
 * ```
 */
export function intMaxPoolWindow<T extends QArray>(
  x: T,
  shape: readonly number[],
  g: PoolWindowSpec,
): { data: T; shape: number[] } {
  const { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = geometry(shape, g, "intMaxPoolWindow()");
  if (x.length !== n * c * h * w) {
    throw new RangeError(`intMaxPoolWindow(): ${x.length} values for [${shape}]`);
  }
  const out = new (x.constructor as new (k: number) => T)(n * c * oh * ow);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const ys = Math.max(oy * sh - ph, 0), ye = Math.min(oy * sh - ph + kh, h);
      for (let ox = 0; ox < ow; ox++) {
        const xs = Math.max(ox * sw - pw, 0), xe = Math.min(ox * sw - pw + kw, w);
        let m = -Infinity;
        for (let yy = ys; yy < ye; yy++) {
          for (let xx = xs; xx < xe; xx++) m = Math.max(m, x[base + yy * w + xx]);
        }
        out[o++] = m;
      }
    }
  }
  return { data: out, shape: [n, c, oh, ow] };
}
