/**
 * The fake twins of the integer program's kinds added for imported networks: each takes fake-quantized
 * floats, computes the integer model's arithmetic of its kind on their integers (the same reference
 * kernels and requantization as the fixed-point model) and dequantizes, so that a QAT model in
 * VALIDATION gives the fixed-point model's values bit for bit, on every backend.
 * @module
 */
import { apply1 } from "./engine.ts";
import type { OpAttrs } from "./ops.ts";
import type { Tensor } from "./tensor.ts";

/**
 * The `lut` instruction on a tensor fake-quantized with `scaleIn`: its integers looked up in `table` (an
 * int32 tensor of the instruction's 256 or 65536 entries), dequantized with `outScale`. The float
 * activation on fake-quantized values gives the same numbers on the CPU; this twin gives them on every
 * backend (WebGPU's float transcendental functions are not the CPU's). No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fromArray, lutFake, tensor } from "@hqat/tensor";
 * const table = fromArray(Int32Array.from({ length: 256 }, (_, i) => Math.max(0, i - 128)), [256]);
 * const y = lutFake(tensor([-1, 1.5]), table, { scaleIn: 0.5, dtypeIn: "qint8", outScale: 0.25 });
 * assert(y.toArray().join() === "0,0.75");
 * ```
 */
export function lutFake(x: Tensor, table: Tensor, options: OpAttrs["lutFake"]): Tensor {
  return apply1("lutFake", [x, table], options);
}

/**
 * The `resize` instruction on a tensor fake-quantized with `scaleIn`: nearest (a gather of the integers)
 * or linear (fixed-point bilinear weights of 8 bits per axis, an int32 accumulator of scale
 * `scaleIn / 2^16`), requantized to `outScale` and dequantized — the fixed-point model's values. The
 * coordinate rule is `resize`'s. No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { reshape, resizeFake, tensor } from "@hqat/tensor";
 * const x = reshape(tensor([0, 1]), [1, 1, 1, 2]);
 * const y = resizeFake(x, {
 *   size: [1, 3], mode: "linear", coordinateTransformation: "align_corners", nearestMode: "floor", scales: null,
 *   scaleIn: 0.25, dtypeIn: "qint8", outScale: 0.25, dtype: "qint8",
 * });
 * assert(y.toArray().join() === "0,0.5,1");
 * ```
 */
export function resizeFake(x: Tensor, options: OpAttrs["resizeFake"]): Tensor {
  return apply1("resizeFake", [x], options);
}

/**
 * The `reduce_mean` instruction on a tensor fake-quantized with `scaleIn`: the exact int32 sum of its
 * integers over `axes` (scale `scaleIn / count`), requantized to `outScale` and dequantized — the
 * fixed-point model's mean. No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { meanFake, tensor } from "@hqat/tensor";
 * const y = meanFake(tensor([[1, 2, 3, 4]]), { axes: [1], keepDims: true, scaleIn: 1, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" });
 * assert(y.shape.join() === "1,1" && y.item() === 2.5);
 * ```
 */
export function meanFake(x: Tensor, options: OpAttrs["meanFake"]): Tensor {
  return apply1("meanFake", [x], options);
}

/**
 * The `matmul` instruction on two tensors fake-quantized with `scaleA` and `scaleB`: the exact int32
 * product of their integers (`[..., m, k] × [..., k, n]`, equal ranks, batch dimensions equal or 1; scale
 * `scaleA · scaleB`), requantized to `outScale` with the fused activation and dequantized. No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { matmulFake, tensor } from "@hqat/tensor";
 * const y = matmulFake(tensor([[[1, 2]]]), tensor([[[3], [4]]]), {
 *   scaleA: 1, scaleB: 1, dtypeA: "qint8", dtypeB: "qint8", outScale: 0.5, dtype: "qint8",
 * });
 * assert(y.shape.join() === "1,1,1" && y.item() === 11);
 * ```
 */
export function matmulFake(a: Tensor, b: Tensor, options: OpAttrs["matmulFake"]): Tensor {
  return apply1("matmulFake", [a, b], options);
}

/**
 * The `conv_transpose2d` instruction on an input fake-quantized at scale `sx`: weights `[Cin, Cout/groups,
 * kh, kw]` quantized per output channel at `sw`, the int32 bias, exact accumulation, requantization to
 * `output` with the fused activation, dequantized — the fixed-point model's values (the transposed
 * counterpart of `intLayerFake`). No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convTransposeFake, reshape, tensor } from "@hqat/tensor";
 * const x = reshape(tensor([1, 2]), [1, 1, 1, 2]), w = reshape(tensor([0.5, 1]), [1, 1, 1, 2]);
 * const y = convTransposeFake(x, w, undefined, {
 *   sx: 1, dtypeIn: "qint8", sw: [0.5], output: { dtype: "qint8", scale: 0.5 },
 *   stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], dilation: [1, 1], groups: 1,
 * });
 * assert(y.toArray().join() === "0.5,1,1,2");
 * ```
 */
export function convTransposeFake(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  options: OpAttrs["convTransposeFake"],
): Tensor {
  return apply1("convTransposeFake", bias ? [x, w, bias] : [x, w], options);
}

/**
 * The `softmax` instruction on a tensor fake-quantized with `scaleIn`, along `axis`: the exp table of the
 * input scale at each integer's distance below its row's maximum, an exact int32 sum, probabilities of
 * scale 2^-16, requantized to `outScale` and dequantized — the fixed-point model's softmax. No gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { softmaxFake, tensor } from "@hqat/tensor";
 * const y = softmaxFake(tensor([[2, 2]]), { axis: 1, scaleIn: 0.5, dtypeIn: "qint8", outScale: 1 / 128, dtype: "qint8" });
 * assert(y.toArray().join() === "0.5,0.5");
 * ```
 */
export function softmaxFake(x: Tensor, options: OpAttrs["softmaxFake"]): Tensor {
  return apply1("softmaxFake", [x], options);
}

/**
 * A tensor fake-quantized with `scaleIn` requantized to `outScale`: its integers through SPEC.md's
 * requantization (`M · 2^-n` of `scaleIn / outScale`), dequantized — what a `cat` does to each input
 * before joining them (or a `requant` stage with its fused activation), so that a QAT model's concatenation
 * in VALIDATION gives the fixed-point integers. The gradient is straight through, masked as `addFake`'s.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantFake, tensor } from "@hqat/tensor";
 * const y = requantFake(tensor([0.75, -0.25, 100]), { scaleIn: 0.25, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" });
 * assert(y.toArray().join() === "1,0,32"); // 3 → 1.5 → 2, -1 → -0.5 → 0, 400 saturates to 127 → 63.5 → 64
 * ```
 */
export function requantFake(x: Tensor, options: OpAttrs["requantFake"]): Tensor {
  return apply1("requantFake", [x], options);
}

/**
 * The `mul` instruction on two tensors fake-quantized with `scaleA` and `scaleB` (`b` broadcast to `a`,
 * each dimension equal or 1): the exact int32 product of their integers (scale `scaleA · scaleB`),
 * requantized to `outScale` with the fused activation and dequantized. The gradient is the product rule,
 * straight through, masked as `addFake`'s.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mulFake, tensor } from "@hqat/tensor";
 * const y = mulFake(tensor([[1, 2]]), tensor([[0.5]]), {
 *   scaleA: 1, scaleB: 0.5, dtypeA: "qint8", dtypeB: "qint8", outScale: 0.5, dtype: "qint8",
 * });
 * assert(y.toArray().join() === "0.5,1");
 * ```
 */
export function mulFake(a: Tensor, b: Tensor, options: OpAttrs["mulFake"]): Tensor {
  return apply1("mulFake", [a, b], options);
}
