/**
 * Gradient kernels of fake quantization: the saturating straight-through estimator, and LSQ
 * (Esser et al., "Learned Step Size Quantization") with the gradient with respect to the scale.
 * @module
 */

import { planQuantize, type QuantizeOptions, roundedQuotient, roundedQuotientEven } from "./quantize.ts";

/**
 * 1 where the rounded value `round(x / s)` lies in `[qmin, qmax]` (the straight-through estimator
 * passes the gradient there), 0 outside (saturated, including ±Infinity).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantizeMask } from "@hqat/qtensor";
 * const m = fakeQuantizeMask(Float32Array.of(0, 127.4, 127.5, -128.5, -128.6), 1);
 * assert(m.join() === "1,1,0,1,0");
 * ```
 */
export function fakeQuantizeMask(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: QuantizeOptions = {},
): Uint8Array {
  const p = planQuantize(scale, x.length, options);
  const { qmin, qmax, mode } = p;
  const mask = new Uint8Array(x.length);
  let i = 0;
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.channels; c++) {
      const sc = p.scale[c], inv = p.inverse[c], end = i + p.inner;
      if (mode === 0) {
        for (; i < end; i++) {
          const r = roundedQuotientEven(x[i], sc);
          mask[i] = r >= qmin && r <= qmax ? 1 : 0;
        }
      } else {
        for (; i < end; i++) {
          const r = roundedQuotient(x[i], sc, inv, mode);
          mask[i] = r >= qmin && r <= qmax ? 1 : 0;
        }
      }
    }
  }
  return mask;
}

/** Options of {@linkcode fakeQuantizeGrad}. */
export interface FakeQuantizeGradOptions extends QuantizeOptions {
  /** Upstream gradient, one per element (default all ones, which gives the mask as floats). */
  readonly dy?: ArrayLike<number>;
}

function checkDy(dy: ArrayLike<number> | undefined, length: number, fn: string): void {
  if (dy !== undefined && dy.length !== length) {
    throw new RangeError(`${fn}: dy has ${dy.length} elements but x has ${length}`);
  }
}

/**
 * The gradient of {@linkcode fakeQuantize} with respect to `x` (straight-through, saturating):
 * `dx = dy` where the rounded value is in range, 0 elsewhere.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantizeGrad } from "@hqat/qtensor";
 * const dx = fakeQuantizeGrad(Float32Array.of(0.3, 500), 0.5, { dy: Float32Array.of(2, 2) });
 * assert(dx.join() === "2,0");
 * ```
 */
export function fakeQuantizeGrad(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: FakeQuantizeGradOptions = {},
): Float32Array {
  const { dy } = options;
  checkDy(dy, x.length, "fakeQuantizeGrad()");
  const mask = fakeQuantizeMask(x, scale, options);
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = mask[i] === 0 ? 0 : dy === undefined ? 1 : dy[i];
  return dx;
}

/** Options of {@linkcode lsqFakeQuantizeGrad}. */
export interface LsqGradOptions extends FakeQuantizeGradOptions {
  /**
   * Factor on the scale gradient: a number (default 1), or `"lsq"` for the paper's
   * `1 / sqrt(numel · qmax)` (numel = all elements of x, as PyTorch's learnable fake quantize does).
   */
  readonly gradScale?: number | "lsq";
}

/** Result of {@linkcode lsqFakeQuantizeGrad}. */
export interface LsqGrad {
  /** Gradient with respect to x (the straight-through mask times dy). */
  readonly dx: Float32Array;
  /** Gradient with respect to each scale (length 1 or channels), summed in float64. */
  readonly dscale: Float32Array;
}

/**
 * LSQ gradients of `fakeQuantize(x, s)`. With `q = round(x / s)`: where `q` is in range,
 * `dx = dy` and the scale gets `dy · (q - x / s)`; where `q < qmin` (or `> qmax`), `dx = 0` and the
 * scale gets `dy · qmin` (or `dy · qmax`). Per-element scale terms are summed per channel in float64
 * (with the exact float64 quotient `x / s`) and multiplied by the grad-scale factor.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lsqFakeQuantizeGrad } from "@hqat/qtensor";
 * const { dx, dscale } = lsqFakeQuantizeGrad(Float32Array.of(0.3, 100), 0.5, { dy: Float32Array.of(1, 1) });
 * // q = 1 for 0.3 (1 - 0.6 = 0.4), and 100 saturates at 127
 * assert(dx.join() === "1,0" && Math.abs(dscale[0] - 127.4) < 1e-4);
 * ```
 */
export function lsqFakeQuantizeGrad(
  x: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  options: LsqGradOptions = {},
): LsqGrad {
  const { dy } = options;
  checkDy(dy, x.length, "lsqFakeQuantizeGrad()");
  const p = planQuantize(scale, x.length, options);
  const { qmin, qmax, mode } = p;
  let g = 1;
  if (options.gradScale === "lsq") {
    g = x.length === 0 ? 1 : 1 / Math.sqrt(x.length * qmax);
  } else if (options.gradScale !== undefined) {
    g = options.gradScale;
    if (!Number.isFinite(g)) throw new RangeError(`lsqFakeQuantizeGrad(): gradScale ${g} is not finite`);
  }
  const dx = new Float32Array(x.length);
  const sums = new Float64Array(p.channels);
  let i = 0;
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.channels; c++) {
      const sc = p.scale[c], inv = p.inverse[c], end = i + p.inner;
      let acc = 0;
      for (; i < end; i++) {
        const r = roundedQuotient(x[i], sc, inv, mode);
        const d = dy === undefined ? 1 : dy[i];
        if (r < qmin) {
          acc += d * qmin;
        } else if (r > qmax) {
          acc += d * qmax;
        } else {
          dx[i] = d;
          acc += d * (r - Math.fround(x[i]) / sc);
        }
      }
      sums[c] += acc;
    }
  }
  const dscale = new Float32Array(p.channels);
  for (let c = 0; c < p.channels; c++) dscale[c] = sums[c] * g;
  return { dx, dscale };
}
