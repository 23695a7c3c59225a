/**
 * The layers, with PyTorch's names, hyperparameters, state names and default initialization.
 * @module
 */
import {
  adaptiveAvgPool2d,
  add,
  apply1,
  avgPool2d,
  batchNormEval,
  batchNormTrain,
  conv2d,
  dropout,
  flatten,
  full,
  matmul,
  maxPool2d,
  mul,
  ones,
  type RandomKey,
  randomUniform,
  relu,
  relu6,
  type Shape,
  type Size2,
  stopGradient,
  type Tensor,
  zeros,
} from "@hqat/tensor";
import { Module, type Scope, type StateSpec } from "./module.ts";

/** Initializes a tensor of a shape. */
export type Initializer = (key: RandomKey, shape: Shape) => Tensor;

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

/** PyTorch's default weight init, kaiming_uniform_(a=√5): U(±1/√fan_in). */
const defaultWeightInit: Initializer = (key, shape) => {
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  return randomUniform(key, shape, { min: -bound, max: bound });
};

const defaultBiasInit = (fanIn: number): Initializer => (key, shape) => {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return randomUniform(key, shape, { min: -bound, max: bound });
};

const param = (name: string, shape: Shape, init: (k: RandomKey) => Tensor): StateSpec => ({
  name,
  shape,
  dtype: "float32",
  kind: "param",
  init,
});

/** Options of {@linkcode Conv2d}. */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** Zero padding (default 0). */
  padding?: Size2;
  /** Dilation (default 1). */
  dilation?: Size2;
  /** Groups (default 1). */
  groups?: number;
  /** Learnable bias (default true). */
  bias?: boolean;
  /** Padding mode; only "zeros" is computed in float (others are recorded for the target check). */
  paddingMode?: "zeros" | "reflect" | "replicate" | "circular";
  /** Weight initializer (default PyTorch's). */
  weightInit?: Initializer;
  /** Bias initializer (default PyTorch's). */
  biasInit?: Initializer;
}

/**
 * 2-D convolution, PyTorch's `nn.Conv2d` (state: `weight` [Co, Ci/groups, kh, kw], `bias` [Co]).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Conv2d, forward, initState } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const c = new Conv2d(3, 8, 3, { stride: 2, padding: 1 });
 * assert(forward(c, initState(c, randomKey(0)), ones([1, 3, 8, 8])).y.shape.join() === "1,8,4,4");
 * ```
 */
export class Conv2d extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Conv2d";
  /** Kernel [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Stride. */
  readonly stride: [number, number];
  /** Padding. */
  readonly padding: [number, number];
  /** Dilation. */
  readonly dilation: [number, number];
  /** Groups. */
  readonly groups: number;
  /** Has a bias. */
  readonly bias: boolean;
  /** Padding mode. */
  readonly paddingMode: "zeros" | "reflect" | "replicate" | "circular";
  readonly #options: Conv2dOptions;

  /** Creates a convolution. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    this.bias = options.bias ?? true;
    this.paddingMode = options.paddingMode ?? "zeros";
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(
        `Conv2d: groups ${this.groups} must divide ${inChannels} and ${outChannels} channels`,
      );
    }
    this.#options = options;
  }

  /** Weight shape. */
  get weightShape(): number[] {
    return [this.outChannels, this.inChannels / this.groups, ...this.kernelSize];
  }

  /** `weight` [Co, Ci/groups, kh, kw], then `bias` [Co] when the layer has one. */
  override ownState(): StateSpec[] {
    const ws = this.weightShape;
    const fanIn = ws[1] * ws[2] * ws[3];
    const wi = this.#options.weightInit ?? defaultWeightInit;
    const bi = this.#options.biasInit ?? defaultBiasInit(fanIn);
    const specs = [param("weight", ws, (k) => wi(k, ws))];
    if (this.bias) specs.push(param("bias", [this.outChannels], (k) => bi(k, [this.outChannels])));
    return specs;
  }

  /** PyTorch's `extra_repr`: channels, kernel, stride, and padding, groups and bias when not the default. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}), stride=(${this.stride})` +
      (this.padding.some((p) => p) ? `, padding=(${this.padding})` : "") +
      (this.groups > 1 ? `, groups=${this.groups}` : "") + (this.bias ? "" : ", bias=False");
  }

  /**
   * Convolves `x` (NCHW) with `weight` and adds `bias`; throws a RangeError for a padding mode other than
   * "zeros".
   */
  forward(s: Scope, x: Tensor): Tensor {
    if (this.paddingMode !== "zeros") {
      throw new RangeError(
        `Conv2d: padding mode "${this.paddingMode}" is not computed in float; use "zeros"`,
      );
    }
    return conv2d(x, s.get("weight"), {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      bias: this.bias ? s.get("bias") : undefined,
    });
  }
}

/**
 * Fully connected layer, PyTorch's `nn.Linear` (state: `weight` [out, in], `bias` [out]).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear } from "@hqat/nn";
 * assert(new Linear(1280, 10).ownState()[0].shape.join() === "10,1280");
 * ```
 */
export class Linear extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Linear";
  /** Has a bias. */
  readonly bias: boolean;
  readonly #options: { weightInit?: Initializer; biasInit?: Initializer };

  /** Creates a linear layer. */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean; weightInit?: Initializer; biasInit?: Initializer } = {},
  ) {
    super();
    this.bias = options.bias ?? true;
    this.#options = options;
  }

  /** `weight` [out, in], then `bias` [out] when the layer has one. */
  override ownState(): StateSpec[] {
    const ws = [this.outFeatures, this.inFeatures];
    const wi = this.#options.weightInit ?? defaultWeightInit;
    const bi = this.#options.biasInit ?? defaultBiasInit(this.inFeatures);
    const specs = [param("weight", ws, (k) => wi(k, ws))];
    if (this.bias) specs.push(param("bias", [this.outFeatures], (k) => bi(k, [this.outFeatures])));
    return specs;
  }

  /** PyTorch's `extra_repr`: in and out features and whether there is a bias. */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${
      this.bias ? "True" : "False"
    }`;
  }

  /** x · weightᵀ + bias over the last axis. */
  forward(s: Scope, x: Tensor): Tensor {
    const y = matmul(x, s.get("weight"), { transB: true });
    return this.bias ? add(y, s.get("bias")) : y;
  }
}

/**
 * Batch normalization over [N, C, H, W], PyTorch's `nn.BatchNorm2d` (state: `weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked`). Training mode uses batch statistics and
 * updates the running ones with `momentum` (unbiased variance, as PyTorch does).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d } from "@hqat/nn";
 * assert(new BatchNorm2d(16).ownState().length === 5);
 * ```
 */
export class BatchNorm2d extends Module {
  /** The PyTorch class name. */
  readonly typeName: string = "BatchNorm2d";
  /** Creates a batch-norm layer. */
  constructor(readonly numFeatures: number, readonly options: { eps?: number; momentum?: number } = {}) {
    super();
  }

  /** Epsilon added to the variance. */
  get eps(): number {
    return this.options.eps ?? 1e-5;
  }

  /** Running-statistics momentum. */
  get momentum(): number {
    return this.options.momentum ?? 0.1;
  }

  /**
   * `weight` (ones), `bias` (zeros), then the buffers `running_mean`, `running_var` and
   * `num_batches_tracked`.
   */
  override ownState(): StateSpec[] {
    const c = [this.numFeatures];
    return [
      param("weight", c, () => ones(c)),
      param("bias", c, () => zeros(c)),
      { name: "running_mean", shape: c, dtype: "float32", kind: "buffer", init: () => zeros(c) },
      { name: "running_var", shape: c, dtype: "float32", kind: "buffer", init: () => ones(c) },
      {
        name: "num_batches_tracked",
        shape: [],
        dtype: "int32",
        kind: "buffer",
        torchDType: "int64",
        init: () => zeros([], "int32"),
      },
    ];
  }

  /** PyTorch's `extra_repr`: features, eps and momentum. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }

  /**
   * Normalizes with the running statistics in evaluation; in training with the batch statistics, recording
   * the updated running ones.
   */
  forward(s: Scope, x: Tensor): Tensor {
    return this.forwardClamped(s, x);
  }

  /**
   * {@linkcode BatchNorm2d.forward}, then in training a clamp to [0, clampMax] fused into the normalization's
   * pass when `clampMax` is given (a following ReLU6: the same values and gradients as the two layers).
   */
  forwardClamped(s: Scope, x: Tensor, clampMax?: number): Tensor {
    const gamma = s.get("weight"), beta = s.get("bias");
    if (!s.ctx.training) {
      const y = batchNormEval(x, {
        mean: s.get("running_mean"),
        variance: s.get("running_var"),
        gamma,
        beta,
        eps: this.eps,
      });
      return clampMax === undefined ? y : apply1("clamp", [y], { min: 0, max: clampMax, openGrad: true });
    }
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.eps, { clampMax });
    const n = x.size / this.numFeatures;
    const m = this.momentum;
    const unbiased = mul(stopGradient(variance), n / Math.max(n - 1, 1));
    s.setBuffer("running_mean", add(mul(s.get("running_mean"), 1 - m), mul(stopGradient(mean), m)));
    s.setBuffer("running_var", add(mul(s.get("running_var"), 1 - m), mul(unbiased, m)));
    s.setBuffer("num_batches_tracked", full([], s.get("num_batches_tracked").item() + 1, "int32"));
    return y;
  }
}

/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ReLU } from "@hqat/nn";
 * assert(new ReLU().typeName === "ReLU");
 * ```
 */
export class ReLU extends Module {
  /** The PyTorch class name. */
  readonly typeName = "ReLU";
  /** max(x, 0). */
  forward(_s: Scope, x: Tensor): Tensor {
    return relu(x);
  }
}

/**
 * min(max(x, 0), 6).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ReLU6 } from "@hqat/nn";
 * assert(new ReLU6().typeName === "ReLU6");
 * ```
 */
export class ReLU6 extends Module {
  /** The PyTorch class name. */
  readonly typeName = "ReLU6";
  /** min(max(x, 0), 6). */
  forward(_s: Scope, x: Tensor): Tensor {
    return relu6(x);
  }
}

/**
 * Inverted dropout in training mode; identity in evaluation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Dropout } from "@hqat/nn";
 * assert(new Dropout(0.2).p === 0.2);
 * ```
 */
export class Dropout extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Dropout";
  /** Creates a dropout layer with drop probability `p`. */
  constructor(readonly p: number = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  /** PyTorch's `extra_repr`: the drop probability. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
  /**
   * Zeroes each element with probability `p` and scales the rest by 1 / (1 − p) in training; identity in
   * evaluation.
   */
  forward(s: Scope, x: Tensor): Tensor {
    return s.ctx.training && this.p > 0 ? dropout(s.key(), x, this.p) : x;
  }
}

/**
 * Passes the input through.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Identity } from "@hqat/nn";
 * assert(new Identity().typeName === "Identity");
 * ```
 */
export class Identity extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Identity";
  /** Returns `x` unchanged. */
  forward(_s: Scope, x: Tensor): Tensor {
    return x;
  }
}

/**
 * Flattens dimensions from `startDim` (default 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Flatten } from "@hqat/nn";
 * assert(new Flatten().startDim === 1);
 * ```
 */
export class Flatten extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Flatten";
  /** Creates a flatten layer. */
  constructor(readonly startDim: number = 1, readonly endDim: number = -1) {
    super();
  }
  /** Flattens dimensions `startDim` to `endDim` into one. */
  forward(_s: Scope, x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Options of the pooling layers. */
export interface PoolLayerOptions {
  /** Stride (default: the kernel). */
  stride?: Size2;
  /** Padding (default 0). */
  padding?: Size2;
  /** Ceil mode (default false). */
  ceilMode?: boolean;
  /** AvgPool2d: count padding in the divisor (default true). */
  countIncludePad?: boolean;
}

/**
 * 2-D max pooling.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MaxPool2d } from "@hqat/nn";
 * assert(new MaxPool2d(3, { stride: 2, padding: 1 }).kernelSize[0] === 3);
 * ```
 */
export class MaxPool2d extends Module {
  /** The PyTorch class name. */
  readonly typeName = "MaxPool2d";
  /** Window. */
  readonly kernelSize: [number, number];
  /** Creates a max-pooling layer. */
  constructor(kernelSize: Size2, readonly options: PoolLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
  }
  /** Max-pools `x` (NCHW) over the window. */
  forward(_s: Scope, x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/**
 * 2-D average pooling.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AvgPool2d } from "@hqat/nn";
 * assert(new AvgPool2d(2).kernelSize[1] === 2);
 * ```
 */
export class AvgPool2d extends Module {
  /** The PyTorch class name. */
  readonly typeName = "AvgPool2d";
  /** Window. */
  readonly kernelSize: [number, number];
  /** Creates an average-pooling layer. */
  constructor(kernelSize: Size2, readonly options: PoolLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
  }
  /** Average-pools `x` (NCHW) over the window. */
  forward(_s: Scope, x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

/**
 * Adaptive average pooling to a fixed output size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AdaptiveAvgPool2d } from "@hqat/nn";
 * assert(new AdaptiveAvgPool2d(1).outputSize[0] === 1);
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** The PyTorch class name. */
  readonly typeName = "AdaptiveAvgPool2d";
  /** Output size. */
  readonly outputSize: [number, number];
  /** Creates an adaptive average-pooling layer. */
  constructor(outputSize: Size2) {
    super();
    this.outputSize = pair(outputSize);
  }
  /** Average-pools `x` (NCHW) to `outputSize`. */
  forward(_s: Scope, x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
