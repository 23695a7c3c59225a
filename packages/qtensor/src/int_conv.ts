/**
 * The integer Conv2d and Linear kernels (NCHW): exact int32 accumulation `Σ x·w + bq`, then
 * requantization to int8/int16 or the 32-bit output.
 * @module
 */

import type { QTensor } from "./dtypes.ts";
import { type LayerBiasOptions, prepareIntLayer } from "./int_accumulate.ts";
import { finishAccumulator, type IntOutput } from "./int_output.ts";
import type { FusedActivation } from "./requantize.ts";

/** A size given once for both spatial dimensions, or as `[height, width]`. */
export type Size2d = number | readonly [number, number];

/** Geometry of a 2-d convolution. */
export interface Conv2dGeometry {
  /** Stride (default 1). */
  readonly stride?: Size2d;
  /** Zero padding on each side (default 0). */
  readonly padding?: Size2d;
  /** Dilation (default 1). */
  readonly dilation?: Size2d;
  /** Groups (default 1); `groups = channels` is depthwise. */
  readonly groups?: number;
}

/**
 * Normalizes a {@linkcode Size2d} to `[h, w]`, checking integers with at least `min`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { size2d } from "@hqat/qtensor";
 * assert(size2d(3, "kernel", 1).join() === "3,3");
 * ```
 */
export function size2d(v: Size2d, what: string, min: number): [number, number] {
  const [h, w] = typeof v === "number" ? [v, v] : v;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < min || w < min) {
    throw new RangeError(`${what} ${JSON.stringify(v)} must be integers of at least ${min}`);
  }
  return [h, w];
}

/** Options of {@linkcode intConv2dAccumulate}. */
export type IntConv2dAccumulateOptions = Conv2dGeometry & LayerBiasOptions;

/** Options of {@linkcode intConv2d}. */
export interface IntConv2dOptions extends IntConv2dAccumulateOptions {
  /** Requantized output (qint8/qint16 with a scale) or `{ dtype: "qint32" }`. */
  readonly output: IntOutput;
  /** Fused activation clamped after requantization. */
  readonly activation?: FusedActivation;
}

/** An int32 accumulator with its shape and exact per-channel scales `sx · sw[c]`. */
export interface Accumulator {
  /** The int32 sums, row-major. */
  readonly data: Int32Array;
  /** Dimensions of `data`, outermost first. */
  readonly shape: readonly number[];
  /** Exact float64 scale `sx · sw[c]` of each output channel. */
  readonly accScale: Float64Array;
}

/**
 * The exact int32 accumulator of a quantized 2-d convolution: `x` is `[N, C, H, W]` (qint8/qint16,
 * per-tensor scale), `w` is `[O, C / groups, kh, kw]` (qint8, per-channel on axis 0); the result is
 * `[N, O, OH, OW]` with `OH = floor((H + 2 pad - dil (kh - 1) - 1) / stride) + 1`. The layer is
 * rejected beforehand if its worst case can overflow int32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConv2dAccumulate, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(1, 2, 3, 4), { shape: [1, 1, 2, 2], scale: 0.5 });
 * const w = qtensor(Int8Array.of(1, 1, 1, 1), { shape: [1, 1, 2, 2], scale: [0.25], axis: 0 });
 * const acc = intConv2dAccumulate(x, w, { padding: 1 });
 * assert(acc.shape.join() === "1,1,3,3" && acc.data[4] === 10 && acc.data[0] === 1);
 * ```
 */
export function intConv2dAccumulate(
  x: QTensor,
  w: QTensor,
  options: IntConv2dAccumulateOptions = {},
): Accumulator {
  const op = "intConv2d()";
  if (x.shape.length !== 4 || w.shape.length !== 4) {
    throw new RangeError(`${op}: input [${x.shape}] and weight [${w.shape}] must both be 4-d (NCHW, OIHW)`);
  }
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || C / groups !== Cg) {
    throw new RangeError(
      `${op}: ${C} input channels, ${O} output channels and weight [${w.shape}] do not fit ${groups} groups`,
    );
  }
  const [sh, sw] = size2d(options.stride ?? 1, "stride", 1);
  const [ph, pw] = size2d(options.padding ?? 0, "padding", 0);
  const [dh, dw] = size2d(options.dilation ?? 1, "dilation", 1);
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  if (OH < 1 || OW < 1) {
    throw new RangeError(`${op}: a ${KH}x${KW} kernel does not fit the padded ${H}x${W} input`);
  }
  const layer = prepareIntLayer(x, w, { ...options, op });
  const xd = x.data, wd = w.data, bias = layer.bias;
  const Og = O / groups, plane = OH * OW;
  const acc = new Int32Array(N * O * plane);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      const aBase = (n * O + oc) * plane;
      if (bias !== undefined) acc.fill(bias[oc], aBase, aBase + plane);
      for (let icg = 0; icg < Cg; icg++) {
        const xBase = (n * C + g * Cg + icg) * H * W;
        const wBase = (oc * Cg + icg) * KH * KW;
        for (let ky = 0; ky < KH; ky++) {
          const dy = ky * dh - ph;
          // Output rows whose input row oh·sh + dy lies inside [0, H).
          const ohLo = Math.max(0, Math.ceil(-dy / sh));
          const ohHi = Math.min(OH, Math.floor((H - 1 - dy) / sh) + 1);
          for (let kx = 0; kx < KW; kx++) {
            const wv = wd[wBase + ky * KW + kx];
            if (wv === 0) continue;
            const dx = kx * dw - pw;
            const owLo = Math.max(0, Math.ceil(-dx / sw));
            const owHi = Math.min(OW, Math.floor((W - 1 - dx) / sw) + 1);
            if (sw === 1 && sh === 1 && dx === 0 && OW === W && owLo === 0 && owHi === OW) {
              // Whole rows line up (e.g. a 1x1 stride-1 conv): one run over consecutive rows.
              const xs = xBase + (ohLo + dy) * W, as = aBase + ohLo * OW, len = (ohHi - ohLo) * OW;
              for (let p = 0; p < len; p++) acc[as + p] += wv * xd[xs + p];
              continue;
            }
            for (let oh = ohLo; oh < ohHi; oh++) {
              const xRow = xBase + (oh * sh + dy) * W + dx;
              const aRow = aBase + oh * OW;
              if (sw === 1) {
                for (let ow = owLo; ow < owHi; ow++) acc[aRow + ow] += wv * xd[xRow + ow];
              } else {
                for (let ow = owLo; ow < owHi; ow++) acc[aRow + ow] += wv * xd[xRow + ow * sw];
              }
            }
          }
        }
      }
    }
  }
  return { data: acc, shape: [N, O, OH, OW], accScale: layer.accScale };
}

/**
 * The integer 2-d convolution of SPEC.md: {@linkcode intConv2dAccumulate}, then requantization of
 * channel `c` with `m = sx · sw[c] / so` (and the fused activation), or for `{ dtype: "qint32" }` the
 * accumulator with per-channel scales `float32(sx · sw[c])` along axis 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConv2d, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(10, 20, 30, 40), { shape: [1, 1, 2, 2], scale: 0.5 });
 * const w = qtensor(Int8Array.of(2), { shape: [1, 1, 1, 1], scale: [0.25], axis: 0 });
 * const y = intConv2d(x, w, { bias: [1], output: { dtype: "qint8", scale: 0.5 } });
 * // first element: 0.5 · 5 + 1 = 3.5, which is 7 on the output grid 0.5
 * assert(y.data.join() === "7,12,17,22");
 * ```
 */
export function intConv2d(x: QTensor, w: QTensor, options: IntConv2dOptions): QTensor {
  const acc = intConv2dAccumulate(x, w, options);
  return finishAccumulator(acc.data, {
    shape: acc.shape,
    axis: 1,
    accScale: { numerator: acc.accScale, divisor: 1 },
    output: options.output,
    activation: options.activation,
  });
}

/** Options of {@linkcode intLinear}. */
export interface IntLinearOptions extends LayerBiasOptions {
  /** Requantized output (qint8/qint16 with a scale) or `{ dtype: "qint32" }`. */
  readonly output: IntOutput;
  /** Fused activation clamped after requantization. */
  readonly activation?: FusedActivation;
}

/**
 * The integer linear layer: `x` is `[..., K]`, `w` is `[O, K]` (qint8, per-channel on axis 0); the
 * accumulator `[..., O]` is exact int32, then requantized (or kept as 32-bit output along the last axis).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLinear, qtensor } from "@hqat/qtensor";
 * const x = qtensor(Int8Array.of(1, 2, 3), { shape: [1, 3], scale: 1 });
 * const w = qtensor(Int8Array.of(1, 1, 1, -1, 0, 1), { shape: [2, 3], scale: [1, 0.5], axis: 0 });
 * const y = intLinear(x, w, { output: { dtype: "qint32" } });
 * assert(y.data.join() === "6,2" && y.scale.join() === "1,0.5" && y.axis === 1);
 * ```
 */
export function intLinear(x: QTensor, w: QTensor, options: IntLinearOptions): QTensor {
  const op = "intLinear()";
  if (w.shape.length !== 2 || x.shape.length < 1) {
    throw new RangeError(`${op}: weight [${w.shape}] must be 2-d and the input at least 1-d`);
  }
  const [O, K] = w.shape;
  if (x.shape[x.shape.length - 1] !== K) {
    throw new RangeError(`${op}: input [${x.shape}] does not end in the weight's ${K} input features`);
  }
  const layer = prepareIntLayer(x, w, { ...options, op });
  const rows = x.data.length / K;
  const xd = x.data, wd = w.data, bias = layer.bias;
  const acc = new Int32Array(rows * O);
  for (let r = 0; r < rows; r++) {
    const xBase = r * K;
    for (let o = 0; o < O; o++) {
      let s = bias === undefined ? 0 : bias[o];
      const wBase = o * K;
      for (let k = 0; k < K; k++) s += xd[xBase + k] * wd[wBase + k];
      acc[r * O + o] = s;
    }
  }
  const shape = [...x.shape.slice(0, -1), O];
  return finishAccumulator(acc, {
    shape,
    axis: shape.length - 1,
    accScale: { numerator: layer.accScale, divisor: 1 },
    output: options.output,
    activation: options.activation,
  });
}
