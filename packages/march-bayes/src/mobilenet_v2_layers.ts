/**
 * The layer list of torchvision's MobileNetV2 after quantization, as the graph IR describes it:
 * a reference network for the target checks.
 * @module
 */

import type { LayerDesc, QDtype, TensorDesc } from "./layer_desc.ts";

/**
 * Options of {@linkcode mobileNetV2Layers}. Defaults: batch 1, input 32×32, 10 classes, width 1.0,
 * channels rounded to multiples of 8, a 32-bit classifier output, and fused layers (ReLU6 and the
 * residual adds folded into the convolutions, as the fuse pass leaves them). With `fused: false`
 * every ReLU6 and residual add is a layer of its own.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type MobileNetV2LayerOptions, mobileNetV2Layers } from "@hqat/march-bayes";
 * const o: MobileNetV2LayerOptions = { batch: 2, fused: false };
 * assert(mobileNetV2Layers(o)[0].inputs[0].shape[0] === 2);
 * ```
 */
export interface MobileNetV2LayerOptions {
  /** Batch size (default 1). */
  readonly batch?: number;
  /** Input height and width (default 32). */
  readonly inputSize?: number;
  /** Output classes (default 10). */
  readonly numClasses?: number;
  /** Width multiplier (default 1.0). */
  readonly widthMult?: number;
  /** Channels are rounded to multiples of this (default 8). */
  readonly roundNearest?: number;
  /** The classifier writes its 32-bit accumulator (default true). */
  readonly output32?: boolean;
  /** ReLU6 and residual adds folded into the convolutions (default true). */
  readonly fused?: boolean;
}

/** torchvision's `_make_divisible`. */
function makeDivisible(v: number, divisor: number): number {
  let nv = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

/** Python's `round`: half to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision's inverted residual settings `(t, c, n, s)`. */
const SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`mobileNetV2Layers: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The layers of torchvision 0.14's `MobileNetV2` wrapped in a QuantStub and a DeQuantStub (as in
 * the quick start), quantized with int8 activations: `quant`, `features.0.0`, the inverted
 * residual blocks `features.1` … `features.17` (expand `conv.0.0`, depthwise `conv.1.0`, project
 * `conv.2`), `features.18.0`, `adaptive_avg_pool2d`, `flatten`, `classifier.0` (dropout),
 * `classifier.1` (linear, the model output) and `dequant`. Every input names its producer in `from`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * const layers = mobileNetV2Layers();
 * const first = layers.find((l) => l.name === "features.0.0")!;
 * assert(first.output.shape.join() === "1,32,16,16");
 * assert(layers.at(-2)!.name === "classifier.1");
 * ```
 */
export function mobileNetV2Layers(options: MobileNetV2LayerOptions = {}): LayerDesc[] {
  const batch = positiveInteger(options.batch ?? 1, "batch");
  const size = positiveInteger(options.inputSize ?? 32, "inputSize");
  const numClasses = positiveInteger(options.numClasses ?? 10, "numClasses");
  const round = positiveInteger(options.roundNearest ?? 8, "roundNearest");
  const width = options.widthMult ?? 1.0;
  if (!(width > 0)) throw new RangeError(`mobileNetV2Layers: widthMult must be positive, got ${width}`);
  const fused = options.fused ?? true;
  const act: QDtype = "qint8";
  const layers: LayerDesc[] = [];
  let x: TensorDesc = { shape: [batch, 3, size, size], dtype: act, from: "quant" };
  layers.push({
    name: "quant",
    op: "quant",
    inputs: [{ shape: x.shape, dtype: "float32" }],
    output: { shape: x.shape, dtype: act },
    attrs: {},
  });
  const push = (layer: LayerDesc): TensorDesc => {
    layers.push(layer);
    return { shape: layer.output.shape, dtype: layer.output.dtype, from: layer.name };
  };
  const relu6 = (input: TensorDesc, name: string): TensorDesc =>
    push({ name, op: "relu6", inputs: [input], output: { shape: input.shape, dtype: act }, attrs: {} });
  const conv = (
    input: TensorDesc,
    name: string,
    cout: number,
    k: number,
    s: number,
    groups: number,
    relu: string | undefined,
    addend?: TensorDesc,
  ): TensorDesc => {
    const [n, , h, w] = input.shape;
    const p = Math.floor((k - 1) / 2);
    const oh = Math.floor((h + 2 * p - k) / s) + 1, ow = Math.floor((w + 2 * p - k) / s) + 1;
    const out = push({
      name,
      op: "conv2d",
      inputs: addend ? [input, addend] : [input],
      output: { shape: [n, cout, oh, ow], dtype: act },
      attrs: {
        kernel: [k, k],
        stride: [s, s],
        padding: [p, p],
        dilation: [1, 1],
        groups,
        paddingMode: "zeros",
        ...(relu !== undefined && fused ? { fusedRelu: "relu6" as const } : {}),
        ...(addend ? { fusedAdd: true } : {}),
      },
    });
    return relu !== undefined && !fused ? relu6(out, relu) : out;
  };
  let inputChannels = makeDivisible(32 * width, round);
  const lastChannels = makeDivisible(1280 * Math.max(1.0, width), round);
  x = conv(x, "features.0.0", inputChannels, 3, 2, 1, "features.0.2");
  let index = 1;
  for (const [t, c, n, s] of SETTINGS) {
    const outputChannels = makeDivisible(c * width, round);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = roundHalfEven(inputChannels * t);
      const residual = stride === 1 && inputChannels === outputChannels;
      const block = x;
      const pre = `features.${index}.conv`;
      let j = 0;
      if (t !== 1) {
        x = conv(x, `${pre}.0.0`, hidden, 1, 1, 1, `${pre}.0.2`);
        j = 1;
      }
      x = conv(x, `${pre}.${j}.0`, hidden, 3, stride, hidden, `${pre}.${j}.2`);
      if (residual && fused) {
        x = conv(x, `${pre}.${j + 1}`, outputChannels, 1, 1, 1, undefined, block);
      } else {
        x = conv(x, `${pre}.${j + 1}`, outputChannels, 1, 1, 1, undefined);
        if (residual) {
          x = push({
            name: `features.${index}.add`,
            op: "add",
            inputs: [x, block],
            output: { shape: x.shape, dtype: act },
            attrs: {},
          });
        }
      }
      inputChannels = outputChannels;
      index++;
    }
  }
  x = conv(x, `features.${index}.0`, lastChannels, 1, 1, 1, `features.${index}.2`);
  const pooled = push({
    name: "adaptive_avg_pool2d",
    op: "adaptive_avg_pool2d",
    inputs: [x],
    output: { shape: [batch, lastChannels, 1, 1], dtype: act },
    attrs: {},
  });
  const flat = push({
    name: "flatten",
    op: "flatten",
    inputs: [pooled],
    output: { shape: [batch, lastChannels], dtype: act },
    attrs: {},
  });
  const dropped = push({
    name: "classifier.0",
    op: "dropout",
    inputs: [flat],
    output: { shape: flat.shape, dtype: act },
    attrs: {},
  });
  const output32 = options.output32 ?? true;
  const logits = push({
    name: "classifier.1",
    op: "linear",
    inputs: [dropped],
    output: { shape: [batch, numClasses], dtype: output32 ? "qint32" : act },
    attrs: { inFeatures: lastChannels, outFeatures: numClasses, output32, isModelOutput: true },
  });
  push({
    name: "dequant",
    op: "dequant",
    inputs: [logits],
    output: { shape: logits.shape, dtype: "float32" },
    attrs: {},
  });
  return layers;
}
