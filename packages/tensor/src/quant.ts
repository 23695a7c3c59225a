/**
 * Fake quantization on tensors, differentiable: straight-through for x (zero where the rounded value
 * saturates) and, when the scale is a parameter, the learnable-scale (LSQ) gradient for it.
 * @module
 */
import { apply1 } from "./engine.ts";
import type { OpAttrs } from "./ops.ts";
import { normalizeAxis } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * SPEC.md's fake quantization, dequantize(quantize(x, s), s) bit for bit; `scale` is [1] (per tensor)
 * or [C] along `axis` (per channel).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantize, tensor } from "@hqat/tensor";
 * const y = fakeQuantize(tensor([0.24, 0.25, 0.26, 9]), tensor([0.5]), { qmin: -128, qmax: 127 });
 * assert(y.toArray().join() === "0,0,0.5,9");
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

/**
 * The integer model's add of two fake-quantized tensors (scales `scaleA`, `scaleB`; `b` broadcast to `a`,
 * each of its dimensions equal or 1) — with `subtract`, its sub `a − b`: the integers are recovered,
 * added (or subtracted) by SPEC.md's alignment with the fused activation, and dequantized with
 * `outScale`. Its gradient is straight through, zero where the output saturates.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { addFake, tensor } from "@hqat/tensor";
 * const y = addFake(tensor([0.5]), tensor([0.25]), { scaleA: 0.5, scaleB: 0.25, dtypeIn: "qint8", outScale: 0.25, dtype: "qint8" });
 * assert(y.item() === 0.75);
 * const d = addFake(tensor([[0.5, 1]]), tensor([[0.25]]), { scaleA: 0.5, scaleB: 0.25, dtypeIn: "qint8", outScale: 0.25, dtype: "qint8", subtract: true });
 * assert(d.toArray().join() === "0.25,0.75");
 * ```
 */
export function addFake(
  a: Tensor,
  b: Tensor,
  options: {
    scaleA: number;
    scaleB: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
    subtract?: boolean;
  },
): Tensor {
  return apply1("addFake", [a, b], options);
}

/**
 * The integer model's average pooling of a tensor fake-quantized with `scaleIn` (window sum and SPEC.md's
 * requantization to `outScale`), dequantized; `kernel` [0, 0] pools adaptively to 1×1. `ceilMode` and
 * `countIncludePad` (false) follow PyTorch's windows and divisors as the `avg_pool2d` instruction does.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { avgPoolFake, tensor } from "@hqat/tensor";
 * const x = tensor([[[[1, 2], [3, 4]]]]);
 * const y = avgPoolFake(x, { kernel: [0, 0], stride: [1, 1], padding: [0, 0], scaleIn: 1, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" });
 * assert(y.item() === 2.5);
 * ```
 */
export function avgPoolFake(
  x: Tensor,
  options: {
    kernel: readonly [number, number];
    stride: readonly [number, number];
    padding: readonly [number, number];
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    ceilMode?: boolean;
    countIncludePad?: boolean;
  },
): Tensor {
  return apply1("avgPoolFake", [x], options);
}

/**
 * The integer model's convolution (or fully connected layer, `linear`) on an input fake-quantized at
 * scale `sx`: weights quantized per channel at `sw`, int32 bias, exact accumulation, requantization to
 * `output` with the fused activation, dequantized — the fixed-point model's values. It has no gradient
 * (it is how VALIDATION evaluates).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLayerFake, tensor } from "@hqat/tensor";
 * const y = intLayerFake(tensor([[1, 2]]), tensor([[0.5, 0.25]]), undefined, {
 *   linear: true, sx: 1, dtypeIn: "qint8", sw: [0.25], output: { dtype: "qint32" },
 *   stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1,
 * });
 * assert(y.item() === 1);
 * ```
 */
export function intLayerFake(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  options: OpAttrs["intLayerFake"],
): Tensor {
  return apply1("intLayerFake", bias ? [x, w, bias] : [x, w], options);
}
