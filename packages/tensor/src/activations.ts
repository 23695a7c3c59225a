/**
 * Activations of imported networks, composed from primitive ops so that they run and differentiate on
 * every backend. Each gradient at a kink follows PyTorch's convention: `leakyRelu` takes slope `alpha`
 * at 0, `hardSigmoid` has gradient 0 at both corners, `hardSwish` has −½ at −3 and 3/2 at 3 (PyTorch's
 * `hardswish_backward` includes both ends in the middle piece).
 * @module
 */
import { apply1 } from "./engine.ts";
import { add, clamp, div, greater, mul, sigmoid, where } from "./math.ts";
import type { Tensor } from "./tensor.ts";

/**
 * x where x > 0, else `alpha` · x (ONNX LeakyRelu, PyTorch `leaky_relu`; default slope 0.01). The gradient
 * at 0 is `alpha`, as in PyTorch.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { leakyRelu, tensor } from "@hqat/tensor";
 * assertEquals(Array.from(leakyRelu(tensor([-2, 0, 3]), 0.5).data), [-1, 0, 3]);
 * ```
 */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return where(greater(x, 0), x, mul(x, alpha));
}

/**
 * max(0, min(1, alpha · x + beta)) (ONNX HardSigmoid, defaults alpha 0.2, beta 0.5; PyTorch's
 * `hardsigmoid` is alpha 1/6, beta 1/2). The gradient is `alpha` strictly inside the ramp and 0 at and
 * beyond its corners, as in PyTorch.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { hardSigmoid, tensor } from "@hqat/tensor";
 * assertEquals(Array.from(hardSigmoid(tensor([-5, 0, 1, 5])).data), [0, 0.5, 0.699999988079071, 1]);
 * ```
 */
export function hardSigmoid(x: Tensor, options: { alpha?: number; beta?: number } = {}): Tensor {
  const ramp = add(mul(x, options.alpha ?? 0.2), options.beta ?? 0.5);
  return apply1("clamp", [ramp], { min: 0, max: 1, openGrad: true });
}

/**
 * x · relu6(x + 3) / 6 (PyTorch `hardswish`, ONNX HardSwish), computed in PyTorch's order. The gradient
 * is 0 below −3, x / 3 + ½ on [−3, 3] (so −½ and 3/2 at the ends, as PyTorch's) and 1 above 3.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { hardSwish, tensor } from "@hqat/tensor";
 * assertEquals(Array.from(hardSwish(tensor([-4, 0, 1.5, 4])).data), [-0, 0, 1.125, 4]);
 * ```
 */
export function hardSwish(x: Tensor): Tensor {
  // The closed interval of clamp's gradient gives PyTorch's values at the two corners.
  return div(mul(x, clamp(add(x, 3), 0, 6)), 6);
}

/**
 * x · sigmoid(x) (SiLU, also called swish; EfficientNet's activation).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { silu, tensor } from "@hqat/tensor";
 * const y = silu(tensor([0, 2])).data;
 * assert(y[0] === 0 && Math.abs(y[1] - 2 / (1 + Math.exp(-2))) < 1e-6);
 * ```
 */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}
