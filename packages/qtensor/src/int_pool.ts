/**
 * Integer pooling (SPEC.md): average pooling as a window sum with scale `sx / (kh · kw)` (padding
 * counted) then requantized, adaptive average pooling to 1×1, and max pooling on the integers.
 * @module
 */

import { type QTensor, qtensor } from "./dtypes.ts";
import { type Size2d, size2d } from "./int_conv.ts";
import { finishAccumulator } from "./int_output.ts";
import type { FusedActivation } from "./requantize.ts";

/** Window geometry of a pooling kernel. */
export interface Pool2dGeometry {
  /** Window [kh, kw], or one size for both. */
  readonly kernelSize: Size2d;
  /** Stride (default: the kernel size). */
  readonly stride?: Size2d;
  /** Padding on each side (default 0), at most half the kernel. */
  readonly padding?: Size2d;
}

interface Window {
  N: number;
  C: number;
  H: number;
  W: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  OH: number;
  OW: number;
}

function poolWindow(x: QTensor, g: Pool2dGeometry, op: string, dil: [number, number] = [1, 1]): Window {
  if (x.shape.length !== 4) throw new RangeError(`${op}: the input [${x.shape}] must be 4-d (NCHW)`);
  const [N, C, H, W] = x.shape;
  const [kh, kw] = size2d(g.kernelSize, "kernelSize", 1);
  const [sh, sw] = size2d(g.stride ?? g.kernelSize, "stride", 1);
  const [ph, pw] = size2d(g.padding ?? 0, "padding", 0);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(`${op}: padding ${ph}x${pw} exceeds half the ${kh}x${kw} kernel`);
  }
  const OH = Math.floor((H + 2 * ph - dil[0] * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dil[1] * (kw - 1) - 1) / sw) + 1;
  if (OH < 1 || OW < 1) throw new RangeError(`${op}: a ${kh}x${kw} window does not fit the ${H}x${W} input`);
  return { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW };
}

/** Options of {@linkcode intAvgPool2d}. */
export interface IntAvgPool2dOptions extends Pool2dGeometry {
  /** Output dtype and scale. */
  readonly output: { readonly dtype: "qint8" | "qint16"; readonly scale: number };
  /** Fused activation after requantization. */
  readonly activation?: FusedActivation;
}

function checkPoolInput(x: QTensor, op: string): void {
  if (x.dtype !== "qint8" && x.dtype !== "qint16") {
    throw new TypeError(`${op}: the input must be qint8 or qint16`);
  }
  if (x.scale.length !== 1) throw new RangeError(`${op}: the input needs one per-tensor scale`);
}

/**
 * Integer average pooling (NCHW, floor mode): the int32 window sum, padding counted as zeros, with scale
 * `sx / (kh · kw)`, requantized with `m = sx / (kh · kw · so)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAvgPool2d, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(1, 2, 3, 5), { shape: [1, 1, 2, 2], scale: 1 });
 * const y = intAvgPool2d(x, { kernelSize: 2, output: { dtype: "qint8", scale: 1 } });
 * assert(y.data.join() === "3" && y.shape.join() === "1,1,1,1"); // 11 / 4 = 2.75
 * ```
 */
export function intAvgPool2d(x: QTensor, options: IntAvgPool2dOptions): QTensor {
  const op = "intAvgPool2d()";
  checkPoolInput(x, op);
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW } = poolWindow(x, options, op);
  if (kh * kw > 65535) throw new RangeError(`${op}: a ${kh}x${kw} window sum may overflow int32`);
  const xd = x.data;
  const sum = new Int32Array(N * C * OH * OW);
  let o = 0;
  for (let p = 0; p < N * C; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const y0 = Math.max(0, oh * sh - ph), y1 = Math.min(H, oh * sh - ph + kh);
      for (let ow = 0; ow < OW; ow++) {
        const x0 = Math.max(0, ow * sw - pw), x1 = Math.min(W, ow * sw - pw + kw);
        let s = 0;
        for (let yy = y0; yy < y1; yy++) {
          const row = base + yy * W;
          for (let xx = x0; xx < x1; xx++) s += xd[row + xx];
        }
        sum[o++] = s;
      }
    }
  }
  return finishAccumulator(sum, {
    shape: [N, C, OH, OW],
    axis: 1,
    accScale: { numerator: [x.scale[0]], divisor: kh * kw },
    output: options.output,
    activation: options.activation,
  });
}

/** Options of {@linkcode intAdaptiveAvgPool2d}. */
export interface IntAdaptiveAvgPool2dOptions {
  /** Output size; only 1 (1×1) is defined by SPEC.md. */
  readonly outputSize?: Size2d;
  /** Output dtype and scale. */
  readonly output: { readonly dtype: "qint8" | "qint16"; readonly scale: number };
  /** Fused activation after requantization. */
  readonly activation?: FusedActivation;
}

/**
 * Integer adaptive average pooling to 1×1: the average pool whose window is the whole `H × W` plane.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAdaptiveAvgPool2d, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(1, 2, 3, 4, 5, 6), { shape: [1, 2, 1, 3], scale: 0.5 });
 * const y = intAdaptiveAvgPool2d(x, { output: { dtype: "qint8", scale: 0.5 } });
 * assert(y.data.join() === "2,5" && y.shape.join() === "1,2,1,1");
 * ```
 */
export function intAdaptiveAvgPool2d(x: QTensor, options: IntAdaptiveAvgPool2dOptions): QTensor {
  const [oh, ow] = size2d(options.outputSize ?? 1, "outputSize", 1);
  if (oh !== 1 || ow !== 1) {
    throw new RangeError(`intAdaptiveAvgPool2d(): only a 1x1 output is supported, not ${oh}x${ow}`);
  }
  if (x.shape.length !== 4) {
    throw new RangeError(`intAdaptiveAvgPool2d(): the input [${x.shape}] must be 4-d`);
  }
  return intAvgPool2d(x, {
    kernelSize: [x.shape[2], x.shape[3]],
    output: options.output,
    activation: options.activation,
  });
}

/** Options of {@linkcode intMaxPool2d}. */
export interface IntMaxPool2dOptions extends Pool2dGeometry {
  /** Dilation (default 1). */
  readonly dilation?: Size2d;
}

/**
 * Integer max pooling (NCHW, floor mode): padded positions never win; dtype and scale are kept.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intMaxPool2d, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(-5, -2, -7, -1), { shape: [1, 1, 2, 2], scale: 0.5 });
 * const y = intMaxPool2d(x, { kernelSize: 2, stride: 1, padding: 1 });
 * assert(y.data.join() === "-5,-2,-2,-5,-1,-1,-7,-1,-1");
 * ```
 */
export function intMaxPool2d(x: QTensor, options: IntMaxPool2dOptions): QTensor {
  const op = "intMaxPool2d()";
  if (x.scale.length !== 1 && x.axis !== 1) {
    throw new RangeError(`${op}: per-channel scales must be on axis 1 (channels), not ${x.axis}`);
  }
  const [dh, dw] = size2d(options.dilation ?? 1, "dilation", 1);
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW } = poolWindow(x, options, op, [dh, dw]);
  const xd = x.data;
  const out = new (xd.constructor as new (n: number) => typeof xd)(N * C * OH * OW);
  let o = 0;
  for (let p = 0; p < N * C; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let m = -Infinity;
        for (let ky = 0; ky < kh; ky++) {
          const yy = oh * sh - ph + ky * dh;
          if (yy < 0 || yy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const xx = ow * sw - pw + kx * dw;
            if (xx < 0 || xx >= W) continue;
            const v = xd[base + yy * W + xx];
            if (v > m) m = v;
          }
        }
        out[o++] = m;
      }
    }
  }
  return qtensor(out, { shape: [N, C, OH, OW], scale: x.scale, axis: x.axis, dtype: x.dtype });
}
