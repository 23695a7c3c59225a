/**
 * Neural-network functions: matmul, convolution, pooling, batch normalization, softmax,
 * cross-entropy and dropout.
 * @module
 */
import { apply, apply1, tracing } from "./engine.ts";
import { add, mul, neg, rsqrt, sub } from "./math.ts";
import type { ConvAffineAttrs, PoolAttrs } from "./ops.ts";
import { type RandomKey, randomUniform } from "./random.ts";
import { mean, sum } from "./reduce.ts";
import { oneHot, reshape } from "./shape_ops.ts";
import { exp } from "./math.ts";
import { greaterEqual, where } from "./math.ts";
import type { Tensor } from "./tensor.ts";

/** A size given once for both spatial axes, or per axis. */
export type Size2 = number | readonly [number, number];

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

/**
 * Batched matrix product of [..., m, k] and [..., k, n] (batch dimensions broadcast).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { matmul, tensor } from "@hqat/tensor";
 * const c = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
 * assert(c.item() === 11);
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean } = {}): Tensor {
  return apply1("matmul", [a, b], { transA: options.transA ?? false, transB: options.transB ?? false });
}

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** Zero padding on each side (default 0). */
  padding?: Size2;
  /** Dilation (default 1). */
  dilation?: Size2;
  /** Groups (default 1). */
  groups?: number;
  /** Per-output-channel bias. */
  bias?: Tensor;
}

/**
 * 2-D convolution of x [N,C,H,W] with w [Co, C/groups, kh, kw] (PyTorch's `conv2d`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2d, ones } from "@hqat/tensor";
 * const y = conv2d(ones([1, 1, 3, 3]), ones([1, 1, 3, 3]), { padding: 1 });
 * assert(y.shape.join() === "1,1,3,3" && y.data[4] === 9);
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const y = apply1("conv2d", [x, w], {
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
    groups: options.groups ?? 1,
  });
  return options.bias ? add(y, reshape(options.bias, [1, -1, 1, 1])) : y;
}

/** Options of the pooling functions. */
export interface PoolOptions {
  /** Stride (default: the kernel). */
  stride?: Size2;
  /** Padding (default 0). */
  padding?: Size2;
  /** Ceil mode for the output size (default false). */
  ceilMode?: boolean;
  /** Average pooling counts padded cells (default true). */
  countIncludePad?: boolean;
}

function poolAttrs(kernel: Size2, o: PoolOptions): PoolAttrs {
  return {
    kernel: pair(kernel),
    stride: pair(o.stride ?? kernel),
    padding: pair(o.padding ?? 0),
    ceilMode: o.ceilMode ?? false,
    countIncludePad: o.countIncludePad ?? true,
  };
}

/**
 * 2-D max pooling.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { maxPool2d, arange, reshape } from "@hqat/tensor";
 * const y = maxPool2d(reshape(arange(0, 16), [1, 1, 4, 4]), 2);
 * assert(y.toArray().join() === "5,7,13,15");
 * ```
 */
export function maxPool2d(x: Tensor, kernel: Size2, options: PoolOptions = {}): Tensor {
  return apply1("maxPool2d", [x], poolAttrs(kernel, options));
}

/**
 * 2-D average pooling.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { avgPool2d, arange, reshape } from "@hqat/tensor";
 * const y = avgPool2d(reshape(arange(0, 4), [1, 1, 2, 2]), 2);
 * assert(y.item() === 1.5);
 * ```
 */
export function avgPool2d(x: Tensor, kernel: Size2, options: PoolOptions = {}): Tensor {
  return apply1("avgPool2d", [x], poolAttrs(kernel, options));
}

/**
 * Adaptive average pooling to `outputSize` (PyTorch's bins).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adaptiveAvgPool2d, ones } from "@hqat/tensor";
 * assert(adaptiveAvgPool2d(ones([2, 3, 4, 4]), 1).shape.join() === "2,3,1,1");
 * ```
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  const [oh, ow] = pair(outputSize);
  const [h, w] = [x.shape[2], x.shape[3]];
  if (h % oh === 0 && w % ow === 0) {
    return avgPool2d(x, [h / oh, w / ow]);
  }
  if (oh === 1 && ow === 1) return mean(x, { axes: [2, 3], keepDims: true });
  throw new RangeError(`adaptiveAvgPool2d(): input ${h}x${w} is not a multiple of output ${oh}x${ow}`);
}

/**
 * Batch normalization with batch statistics over N, H, W (training mode). Returns the output and the
 * batch mean and biased variance (for running-statistics updates). With `options.clampMax` the output is
 * clamped to [0, clampMax] in the same pass (a fused ReLU6 with 6: `relu6`'s values and gradient).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { batchNormTrain, tensor, ones, zeros } from "@hqat/tensor";
 * const x = tensor([[1], [3]]);
 * const { y, mean } = batchNormTrain(x, ones([1]), zeros([1]), 0);
 * assert(mean.item() === 2 && y.toArray().join() === "-1,1");
 * ```
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  eps = 1e-5,
  options: { clampMax?: number } = {},
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const attrs = options.clampMax === undefined ? { eps } : { eps, clampMax: options.clampMax };
  const [y, m, v] = apply("batchNormTrain", [x, gamma, beta], attrs);
  return { y, mean: m, variance: v };
}

/**
 * Batch normalization with given statistics (evaluation mode).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { batchNormEval, tensor, ones, zeros } from "@hqat/tensor";
 * const y = batchNormEval(tensor([[2]]), { mean: ones([1]), variance: ones([1]), gamma: ones([1]), beta: zeros([1]), eps: 0 });
 * assert(y.item() === 1);
 * ```
 */
export function batchNormEval(x: Tensor, p: BatchNormStats): Tensor {
  const { scale, shift } = batchNormAffine(p);
  return apply1("channelAffine", [x, scale, shift], {});
}

/** Batch normalization's parameters and fixed statistics (per channel). */
export interface BatchNormStats {
  /** Running mean. */
  mean: Tensor;
  /** Running variance. */
  variance: Tensor;
  /** Weight γ. */
  gamma: Tensor;
  /** Bias β. */
  beta: Tensor;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** A batch norm's scale and shift already computed, and the tensors and ε they came from. */
interface AffineFold {
  readonly mean: Tensor;
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly eps: number;
  readonly scale: Tensor;
  readonly shift: Tensor;
}

/**
 * The folds of evaluation's batch norms by their variance tensor: a model's state holds the same tensors from
 * one forward pass to the next, so its 52 folds (four small ops each) are computed once, not on every pass.
 */
const folds = new WeakMap<Tensor, AffineFold>();

/** γ / √(var + ε) and β − mean · that scale (the same tensors again for the same CPU statistics, untraced). */
function batchNormAffine(p: BatchNormStats): { scale: Tensor; shift: Tensor } {
  const eps = p.eps ?? 1e-5;
  const cacheable = !tracing() && [p.mean, p.variance, p.gamma, p.beta].every((t) => t.storage === undefined);
  const hit = cacheable ? folds.get(p.variance) : undefined;
  if (hit && hit.mean === p.mean && hit.gamma === p.gamma && hit.beta === p.beta && hit.eps === eps) {
    return hit;
  }
  const scale = mul(p.gamma, rsqrt(add(p.variance, eps)));
  const shift = sub(p.beta, mul(p.mean, scale));
  if (cacheable) folds.set(p.variance, { mean: p.mean, gamma: p.gamma, beta: p.beta, eps, scale, shift });
  return { scale, shift };
}

/** Options of {@linkcode conv2dBatchNormEval}. */
export interface Conv2dBatchNormOptions extends Omit<Conv2dOptions, "bias"> {
  /** The batch norm that follows the convolution. */
  bn: BatchNormStats;
  /** A clamp after it (ReLU: [0, ∞), ReLU6: [0, 6]); `openGrad` as the `clamp` op's. */
  clamp?: { min: number; max: number; openGrad: boolean };
}

/**
 * An inference convolution (no bias) followed by batch normalization with fixed statistics and an optional
 * clamp, as one op whose kernel applies both in its epilogue: the same values, bit for bit, as
 * `conv2d`, `batchNormEval` and `clamp` in turn, and the same gradients.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBatchNormEval, ones, tensor, zeros } from "@hqat/tensor";
 * const bn = { mean: ones([1]), variance: ones([1]), gamma: tensor([2]), beta: zeros([1]), eps: 0 };
 * const y = conv2dBatchNormEval(tensor([[[[1, 2], [3, 9]]]]), ones([1, 1, 1, 1]), {
 *   bn,
 *   clamp: { min: 0, max: 6, openGrad: true },
 * });
 * assert(y.toArray().flat(3).join() === "0,2,4,6");
 * ```
 */
export function conv2dBatchNormEval(x: Tensor, w: Tensor, options: Conv2dBatchNormOptions): Tensor {
  const { scale, shift } = batchNormAffine(options.bn);
  return apply1("conv2dAffine", [x, w, scale, shift], affineAttrs(options));
}

/** Options of {@linkcode conv2dAffine}. */
export interface Conv2dAffineOptions extends Omit<Conv2dOptions, "bias"> {
  /** Per-output-channel scale. */
  scale: Tensor;
  /** Per-output-channel shift. */
  shift: Tensor;
  /** A clamp after the affine map; `openGrad` as the `clamp` op's. */
  clamp?: { min: number; max: number; openGrad: boolean };
}

/**
 * clamp(conv2d(x, w) · scale[c] + shift[c]) as one op (the `conv2dAffine` primitive): the affine map and the
 * clamp are applied where the convolution's sums are made. Without a clamp its gradient takes no full-size
 * pass beyond the convolution's own — QAT's batch-norm fold rescales its convolution's output this way.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dAffine, ones, tensor } from "@hqat/tensor";
 * const y = conv2dAffine(tensor([[[[1, 2]]]]), ones([1, 1, 1, 1]), { scale: tensor([0.5]), shift: tensor([1]) });
 * assert(y.toArray().flat(3).join() === "1.5,2");
 * ```
 */
export function conv2dAffine(x: Tensor, w: Tensor, options: Conv2dAffineOptions): Tensor {
  return apply1("conv2dAffine", [x, w, options.scale, options.shift], affineAttrs(options));
}

function affineAttrs(options: Omit<Conv2dAffineOptions, "scale" | "shift">): ConvAffineAttrs {
  const c = options.clamp ?? { min: -Infinity, max: Infinity, openGrad: false };
  return {
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
    groups: options.groups ?? 1,
    min: c.min,
    max: c.max,
    openGrad: c.openGrad,
  };
}

/**
 * {@linkcode conv2dBatchNormEval} of each layer in turn (layer i's weight `w` and options), as one op whose
 * kernel keeps the intermediate results in its own memory: the same bits and gradients as the layers one at
 * a time, without copying each intermediate out and back in. A layer with `residualFrom: j` (j ≤ i) adds the
 * input of layer j to its result, and `residual: true` the chain's input to its output — inverted residual
 * blocks' skip connections, the same bits and gradients as `add(x, layers(x))` (the shapes must be equal).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBatchNormEvalChain, ones, tensor, zeros } from "@hqat/tensor";
 * const bn = { mean: zeros([1]), variance: ones([1]), gamma: tensor([2]), beta: zeros([1]), eps: 0 };
 * const layer = { w: ones([1, 1, 1, 1]), bn, clamp: { min: 0, max: 6, openGrad: true } };
 * const y = conv2dBatchNormEvalChain(tensor([[[[0.5, 1, 2, -1]]]]), [layer, layer]);
 * assert(y.toArray().flat(3).join() === "2,4,6,0");
 * const r = conv2dBatchNormEvalChain(tensor([[[[0.5, 1, 2, -1]]]]), [layer, layer], { residual: true });
 * assert(r.toArray().flat(3).join() === "2.5,5,8,-1");
 * const s = conv2dBatchNormEvalChain(tensor([[[[0.5, 1, 2, -1]]]]), [layer, { ...layer, residualFrom: 1 }]);
 * assert(s.toArray().flat(3).join() === "3,6,10,0");
 * ```
 */
export function conv2dBatchNormEvalChain(
  x: Tensor,
  layers: readonly (Conv2dBatchNormOptions & { w: Tensor; residualFrom?: number })[],
  options: { residual?: boolean } = {},
): Tensor {
  const ins: Tensor[] = [x];
  const skips: { from: number; to: number }[] = [];
  layers.forEach((l, i) => {
    const { scale, shift } = batchNormAffine(l.bn);
    ins.push(l.w, scale, shift);
    if (l.residualFrom !== undefined) skips.push({ from: l.residualFrom, to: i });
  });
  // `residual` is the skip from the chain's input to its last layer's result
  if (options.residual) skips.push({ from: 0, to: layers.length - 1 });
  const attrs = { layers: layers.map(affineAttrs) };
  return apply1("conv2dAffineChain", ins, skips.length > 0 ? { ...attrs, skips } : attrs);
}

/**
 * log(softmax(x)) along an axis (default last).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { logSoftmax, tensor } from "@hqat/tensor";
 * const y = logSoftmax(tensor([0, 0]));
 * assert(Math.abs(y.data[0] + Math.LN2) < 1e-6);
 * ```
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply1("logSoftmax", [x], { axis: axis < 0 ? axis + x.rank : axis });
}

/**
 * softmax(x) along an axis (default last).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { softmax, tensor } from "@hqat/tensor";
 * assert(softmax(tensor([1, 1])).toArray().join() === "0.5,0.5");
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return exp(logSoftmax(x, axis));
}

/**
 * Mean cross-entropy of logits [N, K] against integer labels [N] (PyTorch's `cross_entropy`),
 * with optional label smoothing.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { crossEntropy, tensor } from "@hqat/tensor";
 * const loss = crossEntropy(tensor([[0, 0]]), tensor([1], { dtype: "int32" }));
 * assert(Math.abs(loss.item() - Math.LN2) < 1e-6);
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  options: { labelSmoothing?: number } = {},
): Tensor {
  const k = logits.shape[logits.rank - 1];
  const ls = options.labelSmoothing ?? 0;
  let target = oneHot(labels, k);
  if (ls > 0) target = add(mul(target, 1 - ls), ls / k);
  const n = logits.size / k;
  return neg(mul(sum(mul(logSoftmax(logits), target)), 1 / n));
}

/**
 * Inverted dropout: zeroes each value with probability `p` and scales the rest by 1 / (1 - p).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dropout, ones, randomKey } from "@hqat/tensor";
 * const y = dropout(randomKey(0), ones([1000]), 0.5);
 * assert(y.toArray().every((v) => v === 0 || v === 2));
 * ```
 */
export function dropout(key: RandomKey, x: Tensor, p: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout(): p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const keep = greaterEqual(randomUniform(key, x.shape), p);
  return where(keep, mul(x, 1 / (1 - p)), 0);
}
