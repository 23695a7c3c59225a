/**
 * Shared rules of the integer conv and linear kernels: bias quantization, the worst-case int32
 * accumulator check, and operand validation.
 * @module
 */

import { QDTYPE_RANGES, type QTensor } from "./dtypes.ts";
import { roundHalfToEven } from "./rounding.ts";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * The int32 bias of a conv / linear layer: `bq[c] = round(b[c] / (sx · sw[c]))` (ties to even), with
 * `b` as float32, `sx · sw[c]` exact in float64 and one float64 division. A per-tensor weight scale
 * (length 1) applies to every channel. Throws a RangeError when a value does not fit int32.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantizeBias } from "@hqat/qtensor";
 * const bq = quantizeBias([0.5, -0.3], 0.25, [0.5, 0.1]);
 * assert(bq.join() === "4,-12");
 * ```
 */
export function quantizeBias(
  bias: ArrayLike<number>,
  inputScale: number,
  weightScale: ArrayLike<number>,
): Int32Array {
  const sx = Math.fround(inputScale);
  if (weightScale.length !== 1 && weightScale.length !== bias.length) {
    throw new RangeError(`quantizeBias(): ${bias.length} biases but ${weightScale.length} weight scales`);
  }
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const sw = Math.fround(weightScale.length === 1 ? weightScale[0] : weightScale[c]);
    const b = Math.fround(bias[c]);
    const v = roundHalfToEven(b / (sx * sw));
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      throw new RangeError(
        `Bias ${c} (${b}) divided by its scale ${sx * sw} is ${b / (sx * sw)}, which does not fit int32`,
      );
    }
    out[c] = v;
  }
  return out;
}

/** Options of {@linkcode checkAccumulator}. */
export interface AccumulatorCheckOptions {
  /** Number of output channels; the weights hold `channels` consecutive rows of equal length. */
  readonly channels: number;
  /** The int32 bias per channel, if any. */
  readonly bias?: Int32Array;
  /** Range of the input integers (e.g. qint8 [-128, 127]). */
  readonly inputRange: { readonly qmin: number; readonly qmax: number };
  /** Layer name for the error message. */
  readonly layer?: string;
}

/**
 * Rejects a layer whose accumulator can leave int32 for some input in `inputRange`. Per output channel
 * the extremes are `bq + Σ_{w>0} w · qmax + Σ_{w<0} w · qmin` and `bq + Σ_{w>0} w · qmin +
 * Σ_{w<0} w · qmax` (exact bounds: some input reaches each one). Every partial sum of a kernel that
 * starts from the bias lies between them, so a layer that passes never overflows.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkAccumulator } from "@hqat/qtensor";
 * checkAccumulator(new Int8Array(9).fill(127), { channels: 1, inputRange: { qmin: -128, qmax: 127 } });
 * let threw = false;
 * try {
 *   checkAccumulator(new Int8Array(70000).fill(-128), { channels: 1, inputRange: { qmin: -32768, qmax: 32767 } });
 * } catch (e) {
 *   threw = e instanceof RangeError;
 * }
 * assert(threw);
 * ```
 */
export function checkAccumulator(weights: ArrayLike<number>, options: AccumulatorCheckOptions): void {
  const { channels, bias, inputRange } = options;
  const per = weights.length / channels;
  if (!Number.isInteger(per)) {
    throw new RangeError(`${weights.length} weights do not split into ${channels} output channels`);
  }
  const { qmin, qmax } = inputRange;
  for (let c = 0; c < channels; c++) {
    let pos = 0, neg = 0;
    for (let j = c * per; j < (c + 1) * per; j++) {
      const w = weights[j];
      if (w > 0) pos += w;
      else neg += w;
    }
    const b = bias === undefined ? 0 : bias[c];
    const hi = b + pos * qmax + neg * qmin;
    const lo = b + pos * qmin + neg * qmax;
    if (hi > INT32_MAX || lo < INT32_MIN) {
      throw new RangeError(
        `${options.layer ?? "Layer"}: output channel ${c} can reach an accumulator in [${lo}, ${hi}], ` +
          `outside int32 (inputs in [${qmin}, ${qmax}], Σw>0 = ${pos}, Σw<0 = ${neg}, bias ${b})`,
      );
    }
  }
}

/** What {@linkcode prepareIntLayer} resolves for a conv / linear layer. */
export interface IntLayer {
  /** Per-tensor input scale. */
  readonly sx: number;
  /** The int32 bias per output channel, if any. */
  readonly bias?: Int32Array;
  /** Exact accumulator scales `sx · sw[c]` (float64 products of float32 values), one per channel. */
  readonly accScale: Float64Array;
}

/** Bias options of conv / linear: a float bias to quantize, or an int32 bias as stored in a model. */
export interface LayerBiasOptions {
  /** Float bias per output channel, quantized with {@linkcode quantizeBias}. */
  readonly bias?: ArrayLike<number>;
  /** Already quantized int32 bias per output channel. */
  readonly quantizedBias?: Int32Array;
}

/**
 * Validates the operands of a conv / linear kernel (qint8 or qint16 input with one scale; qint8 weight,
 * per tensor or per output channel on axis 0), resolves the int32 bias, the accumulator scales, and
 * runs {@linkcode checkAccumulator} with the input's dtype range.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareIntLayer, qtensor } from "@hqat/qtensor";
 * const x = qtensor(new Int8Array(4), { shape: [1, 4], scale: 0.5 });
 * const w = qtensor(new Int8Array(8), { shape: [2, 4], scale: [0.25, 0.125], axis: 0 });
 * const l = prepareIntLayer(x, w, { bias: [1, 1], op: "fc" });
 * assert(l.bias?.join() === "8,16" && l.accScale[1] === 0.0625);
 * ```
 */
export function prepareIntLayer(
  x: QTensor,
  w: QTensor,
  options: LayerBiasOptions & { readonly op: string },
): IntLayer {
  const { op } = options;
  if (x.dtype !== "qint8" && x.dtype !== "qint16") {
    throw new TypeError(`${op}: the input must be qint8 or qint16, not ${x.dtype}`);
  }
  if (w.dtype !== "qint8") throw new TypeError(`${op}: the weight must be qint8, not ${w.dtype}`);
  if (x.scale.length !== 1) throw new RangeError(`${op}: the input must have one per-tensor scale`);
  const channels = w.shape[0];
  if (w.scale.length !== 1 && (w.axis !== 0 || w.scale.length !== channels)) {
    throw new RangeError(`${op}: weight scales must be per tensor or per output channel (axis 0)`);
  }
  const sx = x.scale[0];
  if (options.bias !== undefined && options.quantizedBias !== undefined) {
    throw new TypeError(`${op}: give either bias or quantizedBias, not both`);
  }
  const bias = options.quantizedBias ??
    (options.bias === undefined ? undefined : quantizeBias(options.bias, sx, w.scale));
  if (bias !== undefined && bias.length !== channels) {
    throw new RangeError(`${op}: ${bias.length} biases for ${channels} output channels`);
  }
  checkAccumulator(w.data, { channels, bias, inputRange: QDTYPE_RANGES[x.dtype], layer: op });
  const accScale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) accScale[c] = sx * (w.scale.length === 1 ? w.scale[0] : w.scale[c]);
  return bias === undefined ? { sx, accScale } : { sx, bias, accScale };
}
