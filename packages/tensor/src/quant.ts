/**
 * Fake quantization on tensors, differentiable: straight-through for x (zero where the rounded value
 * saturates) and, when the scale is a parameter, the learnable-scale (LSQ) gradient for it.
 * @module
 */
import { apply1 } from "./engine.ts";
import { normalizeAxis } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * SPEC.md's fake quantization, dequantize(quantize(x, s), s) bit for bit; `scale` is [1] (per tensor)
 * or [C] along `axis` (per channel).
 *
 * @example
 * ```ts
 * import { fakeQuantize, tensor } from "@hqat/tensor";
 * const y = fakeQuantize(tensor([0.24, 0.25, 0.26, 9]), tensor([0.5]), { qmin: -128, qmax: 127 });
 * console.assert(y.toArray().join() === "0,0,0.5,9");
 * ```
 */
export function fakeQuantize(
  x: Tensor,
  scale: Tensor,
  options: { qmin: number; qmax: number; axis?: number },
): Tensor {
  const axis = options.axis === undefined || options.axis < 0 ? -1 : normalizeAxis(options.axis, x.rank);
  return apply1("fakeQuantize", [x, scale], { qmin: options.qmin, qmax: options.qmax, axis });
}
