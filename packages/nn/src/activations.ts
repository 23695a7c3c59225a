/**
 * The smooth and piecewise activations of imported networks as stateless layers with PyTorch's names
 * (`Sigmoid`, `Tanh`, `Hardsigmoid`, `Hardswish`, `SiLU`, `LeakyReLU`, `Hardtanh`), and `Softmax`. Tracing records each as one node,
 * so that quantization sees the function whole (one table lookup on the integer model) rather than the
 * primitive ops it is computed with.
 * @module
 */
import {
  clamp,
  hardSigmoid,
  hardSwish,
  leakyRelu,
  sigmoid,
  silu,
  softmax,
  tanh,
  type Tensor,
} from "@hqat/tensor";
import { Module, type Scope } from "./module.ts";

/** The activation functions, by the names the integer model's table lookups carry. */
export type ActivationName =
  | "sigmoid"
  | "tanh"
  | "hardsigmoid"
  | "hardswish"
  | "silu"
  | "leaky_relu"
  | "clip";

/** The parameters of an activation: `alpha` (slope of `hardsigmoid`, `leaky_relu`), `beta` (`hardsigmoid`'s offset). */
export interface ActivationParams {
  /** `hardsigmoid`'s slope (default 0.2, ONNX's) or `leaky_relu`'s negative slope (default 0.01). */
  readonly alpha?: number;
  /** `hardsigmoid`'s offset (default 0.5). */
  readonly beta?: number;
  /** `clip`'s lower bound (default −∞). */
  readonly min?: number;
  /** `clip`'s upper bound (default +∞). */
  readonly max?: number;
}

/**
 * Applies activation `name` with its parameters.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { applyActivation } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * assertEquals(Array.from(applyActivation("leaky_relu", tensor([-2, 4]), { alpha: 0.5 }).data), [-1, 4]);
 * ```
 */
export function applyActivation(name: ActivationName, x: Tensor, params: ActivationParams = {}): Tensor {
  switch (name) {
    case "sigmoid":
      return sigmoid(x);
    case "tanh":
      return tanh(x);
    case "hardsigmoid":
      return hardSigmoid(x, { alpha: params.alpha, beta: params.beta });
    case "hardswish":
      return hardSwish(x);
    case "silu":
      return silu(x);
    case "leaky_relu":
      return leakyRelu(x, params.alpha ?? 0.01);
    case "clip":
      return clamp(x, params.min ?? -Infinity, params.max ?? Infinity);
  }
}

/**
 * A stateless activation layer; tracing records it as one `activation` node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ActivationLayer, Hardswish } from "@hqat/nn";
 * const a: ActivationLayer = new Hardswish();
 * assert(a.activation === "hardswish");
 * ```
 */
export abstract class ActivationLayer extends Module {
  /** The function. */
  abstract readonly activation: ActivationName;
  /** Its parameters. */
  readonly params: ActivationParams = {};
  /** Applies the function. */
  forward(_s: Scope, x: Tensor): Tensor {
    return applyActivation(this.activation, x, this.params);
  }
}

/**
 * 1 / (1 + e^−x).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Sigmoid } from "@hqat/nn";
 * assert(new Sigmoid().typeName === "Sigmoid");
 * ```
 */
export class Sigmoid extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "Sigmoid";
  /** The function. */
  readonly activation = "sigmoid";
}

/**
 * tanh(x).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Tanh } from "@hqat/nn";
 * assert(new Tanh().activation === "tanh");
 * ```
 */
export class Tanh extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "Tanh";
  /** The function. */
  readonly activation = "tanh";
}

/**
 * max(0, min(1, alpha · x + beta)); PyTorch's `Hardsigmoid` is alpha 1/6, beta 1/2 (the default here),
 * ONNX's HardSigmoid defaults are 0.2 and 0.5.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Hardsigmoid } from "@hqat/nn";
 * assert(new Hardsigmoid().params.alpha === 1 / 6);
 * ```
 */
export class Hardsigmoid extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "Hardsigmoid";
  /** The function. */
  readonly activation = "hardsigmoid";
  /** Its parameters. */
  override readonly params: ActivationParams;
  /** Creates the layer. */
  constructor(alpha = 1 / 6, beta = 0.5) {
    super();
    this.params = { alpha, beta };
  }
}

/**
 * x · relu6(x + 3) / 6.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Hardswish } from "@hqat/nn";
 * assert(new Hardswish().typeName === "Hardswish");
 * ```
 */
export class Hardswish extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "Hardswish";
  /** The function. */
  readonly activation = "hardswish";
}

/**
 * x · sigmoid(x).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SiLU } from "@hqat/nn";
 * assert(new SiLU().typeName === "SiLU");
 * ```
 */
export class SiLU extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "SiLU";
  /** The function. */
  readonly activation = "silu";
}

/**
 * x where x > 0, else `negativeSlope` · x.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { LeakyReLU } from "@hqat/nn";
 * assert(new LeakyReLU(0.2).params.alpha === 0.2);
 * ```
 */
export class LeakyReLU extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "LeakyReLU";
  /** The function. */
  readonly activation = "leaky_relu";
  /** Its parameters. */
  override readonly params: ActivationParams;
  /** Creates the layer with negative slope `negativeSlope` (default 0.01). */
  constructor(negativeSlope = 0.01) {
    super();
    this.params = { alpha: negativeSlope };
  }
}

/**
 * min(max(x, minVal), maxVal) (PyTorch's `nn.Hardtanh`, ONNX Clip with bounds other than ReLU's and
 * ReLU6's).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Hardtanh } from "@hqat/nn";
 * assert(new Hardtanh(-1.5, 2).params.max === 2);
 * ```
 */
export class Hardtanh extends ActivationLayer {
  /** The PyTorch class name. */
  readonly typeName = "Hardtanh";
  /** The function. */
  readonly activation = "clip";
  /** Its parameters. */
  override readonly params: ActivationParams;
  /** Creates the layer (defaults −1 and 1, PyTorch's). */
  constructor(minVal = -1, maxVal = 1) {
    super();
    this.params = { min: minVal, max: maxVal };
  }
}

/**
 * exp(x) / Σ exp(x) along `dim` (PyTorch's `nn.Softmax`); tracing records it as one `softmax` node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forward, Softmax } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * assert(forward(new Softmax(-1), {}, tensor([[0, 0]])).y.toArray().join() === "0.5,0.5");
 * ```
 */
export class Softmax extends Module {
  /** The PyTorch class name. */
  readonly typeName = "Softmax";
  /** Creates the layer. */
  constructor(readonly dim: number) {
    super();
  }
  /** Normalizes `x` along `dim`. */
  forward(_s: Scope, x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}
