/**
 * Initializers with the distributions of `torch.nn.init`, drawn from a {@linkcode RandomKey} (our
 * generator, so the values differ from PyTorch's; the distributions match). Each has the shape
 * `(key, shape, options?) → Tensor`.
 * @module
 */
import {
  ones,
  type RandomKey,
  randomNormal,
  randomUniform,
  type Shape,
  splitKey,
  type Tensor,
  zeros,
} from "@hqat/tensor";

/** The nonlinearities of `torch.nn.init.calculate_gain`. */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

const UNIT_GAIN = new Set([
  "linear",
  "conv1d",
  "conv2d",
  "conv3d",
  "conv_transpose1d",
  "conv_transpose2d",
  "conv_transpose3d",
  "sigmoid",
]);

/**
 * `calculate_gain`: the recommended gain of a nonlinearity; `param` is leaky ReLU's negative slope
 * (default 0.01).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calculateGain } from "@hqat/nn";
 * assert(calculateGain("relu") === Math.SQRT2 && calculateGain("tanh") === 5 / 3);
 * assert(calculateGain("leaky_relu", 0) === Math.SQRT2);
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  if (UNIT_GAIN.has(nonlinearity)) return 1;
  switch (nonlinearity) {
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) {
        throw new RangeError(`calculateGain(): negative slope ${slope} is not finite`);
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain(): unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/**
 * `_calculate_fan_in_and_fan_out`: for a weight `[out, in, ...kernel]`, `fanIn = in · ∏kernel` and
 * `fanOut = out · ∏kernel`. Needs at least two dimensions.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fanInOut } from "@hqat/nn";
 * const { fanIn, fanOut } = fanInOut([16, 3, 3, 3]);
 * assert(fanIn === 27 && fanOut === 144);
 * ```
 */
export function fanInOut(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new RangeError(`fanInOut(): fans need a shape of at least 2 dimensions, got [${shape.join(",")}]`);
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Options of {@linkcode kaimingUniform} and {@linkcode kaimingNormal}. */
export interface KaimingOptions {
  /** Which fan preserves the variance: `"fan_in"` (forward pass, default) or `"fan_out"` (backward). */
  mode?: "fan_in" | "fan_out";
  /** The nonlinearity after the layer (default `"leaky_relu"`). */
  nonlinearity?: Nonlinearity;
  /** The negative slope of leaky ReLU (default 0, which makes the gain √2). */
  a?: number;
}

function kaimingStd(who: string, shape: Shape, options: KaimingOptions): number {
  const { mode = "fan_in", nonlinearity = "leaky_relu", a = 0 } = options;
  if (mode !== "fan_in" && mode !== "fan_out") {
    throw new RangeError(`${who}: mode must be "fan_in" or "fan_out", got ${JSON.stringify(mode)}`);
  }
  const fans = fanInOut(shape);
  const fan = mode === "fan_in" ? fans.fanIn : fans.fanOut;
  if (fan === 0) throw new RangeError(`${who}: ${mode} of shape [${shape.join(",")}] is 0`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * `kaiming_uniform_`: U(−b, b) with `b = gain · √(3 / fan)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { kaimingUniform } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const w = kaimingUniform(randomKey(0), [8, 4, 3, 3], { nonlinearity: "relu" });
 * assert(w.toArray().every((v) => Math.abs(v) <= Math.sqrt(6 / 36)));
 * ```
 */
export function kaimingUniform(key: RandomKey, shape: Shape, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd("kaimingUniform()", shape, options);
  return randomUniform(key, shape, { min: -bound, max: bound });
}

/**
 * `kaiming_normal_`: N(0, std²) with `std = gain / √fan`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { kaimingNormal } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const w = kaimingNormal(randomKey(0), [64, 32, 3, 3], { mode: "fan_out", nonlinearity: "relu" });
 * const std = Math.sqrt(w.toArray().reduce((s, v) => s + v * v, 0) / w.size);
 * assert(Math.abs(std / Math.sqrt(2 / 576) - 1) < 0.05);
 * ```
 */
export function kaimingNormal(key: RandomKey, shape: Shape, options: KaimingOptions = {}): Tensor {
  return randomNormal(key, shape, { mean: 0, std: kaimingStd("kaimingNormal()", shape, options) });
}

function xavierStd(who: string, shape: Shape, gain: number): number {
  if (!Number.isFinite(gain)) throw new RangeError(`${who}: gain must be finite, got ${gain}`);
  const { fanIn, fanOut } = fanInOut(shape);
  if (fanIn + fanOut === 0) throw new RangeError(`${who}: shape [${shape.join(",")}] has no fans`);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/**
 * `xavier_uniform_`: U(−b, b) with `b = gain · √(6 / (fanIn + fanOut))`; gain defaults to 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { xavierUniform } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const w = xavierUniform(randomKey(0), [30, 20]);
 * assert(w.toArray().every((v) => Math.abs(v) <= Math.sqrt(6 / 50)));
 * ```
 */
export function xavierUniform(key: RandomKey, shape: Shape, options: { gain?: number } = {}): Tensor {
  const bound = Math.sqrt(3) * xavierStd("xavierUniform()", shape, options.gain ?? 1);
  return randomUniform(key, shape, { min: -bound, max: bound });
}

/**
 * `xavier_normal_`: N(0, std²) with `std = gain · √(2 / (fanIn + fanOut))`; gain defaults to 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { xavierNormal } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * assert(xavierNormal(randomKey(0), [30, 20], { gain: 2 }).shape.join() === "30,20");
 * ```
 */
export function xavierNormal(key: RandomKey, shape: Shape, options: { gain?: number } = {}): Tensor {
  return randomNormal(key, shape, { mean: 0, std: xavierStd("xavierNormal()", shape, options.gain ?? 1) });
}

/**
 * `normal_`: N(mean, std²), default N(0, 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { normal } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * assert(normal(randomKey(0), [10, 4], { std: 0.01 }).toArray().every((v) => Math.abs(v) < 0.1));
 * ```
 */
export function normal(key: RandomKey, shape: Shape, options: { mean?: number; std?: number } = {}): Tensor {
  const { mean = 0, std = 1 } = options;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new RangeError(`normal(): mean and std must be finite and std ≥ 0, got mean ${mean}, std ${std}`);
  }
  return randomNormal(key, shape, { mean, std });
}

/**
 * `uniform_`: U(min, max), default U(0, 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { uniform } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * assert(uniform(randomKey(0), [100], { min: 2, max: 3 }).toArray().every((v) => v >= 2 && v <= 3));
 * ```
 */
export function uniform(key: RandomKey, shape: Shape, options: { min?: number; max?: number } = {}): Tensor {
  const { min = 0, max = 1 } = options;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`uniform(): needs finite min ≤ max, got min ${min}, max ${max}`);
  }
  return randomUniform(key, shape, { min, max });
}

/**
 * `zeros_`: zeros (the key is not used; the signature matches the other initializers).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { zerosInit } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * assert(zerosInit(randomKey(0), [3]).toArray().join() === "0,0,0");
 * ```
 */
export function zerosInit(_key: RandomKey, shape: Shape): Tensor {
  return zeros(shape);
}

/**
 * `ones_`: ones (the key is not used; the signature matches the other initializers).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { onesInit } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * assert(onesInit(randomKey(0), [2]).toArray().join() === "1,1");
 * ```
 */
export function onesInit(_key: RandomKey, shape: Shape): Tensor {
  return ones(shape);
}

/** A layer's initial weight and, when it has one, bias. */
export interface LayerInit {
  /** The weight. */
  weight: Tensor;
  /** The bias `[out]`, absent with `bias: false`. */
  bias?: Tensor;
}

function defaultLayerInit(key: RandomKey, shape: Shape, bias: boolean): LayerInit {
  const [weightKey, biasKey] = splitKey(key);
  const weight = kaimingUniform(weightKey, shape, { a: Math.sqrt(5) });
  if (!bias) return { weight };
  const { fanIn } = fanInOut(shape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return { weight, bias: randomUniform(biasKey, [shape[0]], { min: -bound, max: bound }) };
}

/**
 * PyTorch's default `Conv1d/2d/3d` initialization for a weight of shape `[out, in / groups, ...kernel]`:
 * `kaiming_uniform_(a=√5)`, which is U(±1/√fanIn), and a bias `[out]` from U(±1/√fanIn) unless
 * `bias: false`. The weight and bias use independent keys split from `key`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultConvInit } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const { weight, bias } = defaultConvInit(randomKey(0), [8, 3, 3, 3]);
 * assert(weight.toArray().every((v) => Math.abs(v) <= 1 / Math.sqrt(27)) && bias!.shape[0] === 8);
 * ```
 */
export function defaultConvInit(key: RandomKey, shape: Shape, options: { bias?: boolean } = {}): LayerInit {
  if (shape.length < 3 || shape.length > 5) {
    throw new RangeError(`defaultConvInit(): a conv weight has 3 to 5 dimensions, got [${shape.join(",")}]`);
  }
  return defaultLayerInit(key, shape, options.bias ?? true);
}

/**
 * PyTorch's default `Linear` initialization for a weight `[out, in]`: weight and bias from U(±1/√in)
 * (`kaiming_uniform_(a=√5)` for the weight); no bias with `bias: false`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultLinearInit } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const { weight, bias } = defaultLinearInit(randomKey(0), [10, 64], { bias: false });
 * assert(weight.toArray().every((v) => Math.abs(v) <= 0.125) && bias === undefined);
 * ```
 */
export function defaultLinearInit(key: RandomKey, shape: Shape, options: { bias?: boolean } = {}): LayerInit {
  if (shape.length !== 2) {
    throw new RangeError(`defaultLinearInit(): a linear weight has 2 dimensions, got [${shape.join(",")}]`);
  }
  return defaultLayerInit(key, shape, options.bias ?? true);
}
