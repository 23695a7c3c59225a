/**
 * Transposed 2-D convolution (PyTorch's `ConvTranspose2d`, ONNX ConvTranspose), composed from the
 * gradient-of-input primitive of {@linkcode conv2d}: the transposed convolution of x by w is the
 * gradient, with respect to a convolution's input, of an output gradient x. Its VJPs (a convolution for
 * x, the gradient-of-weight primitive for w) make it differentiable in both operands, on every backend.
 * @module
 */
import { apply1 } from "./engine.ts";
import type { Size2 } from "./nn_ops.ts";
import { pad } from "./shape_ops.ts";
import type { Tensor } from "./tensor.ts";

/** Options of {@linkcode convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** Padding removed from each side of the output (default 0); crop for asymmetric padding. */
  padding?: Size2;
  /** Extra rows / columns added to one side of the output (default 0); below the stride or dilation. */
  outputPadding?: Size2;
  /** Dilation (default 1). */
  dilation?: Size2;
  /** Groups (default 1). */
  groups?: number;
}

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/**
 * Transposed 2-D convolution of x [N, Cin, H, W] with w [Cin, Cout / groups, kh, kw], PyTorch's
 * `conv_transpose2d` without bias (add it as `reshape(b, [1, -1, 1, 1])`). The output is
 * [N, Cout, Ho, Wo] with Ho = (H − 1) · stride − 2 · padding + dilation · (kh − 1) + outputPadding + 1.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { convTranspose2d, ones, reshape, tensor } from "@hqat/tensor";
 * const x = reshape(tensor([1, 2]), [1, 1, 1, 2]);
 * const y = convTranspose2d(x, ones([1, 1, 1, 2]), { stride: 2 });
 * assertEquals(y.shape, [1, 1, 1, 4]);
 * assertEquals(Array.from(y.data), [1, 1, 2, 2]);
 * ```
 */
export function convTranspose2d(x: Tensor, w: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  const stride = pair(options.stride ?? 1), padding = pair(options.padding ?? 0);
  const outputPadding = pair(options.outputPadding ?? 0), dilation = pair(options.dilation ?? 1);
  const groups = options.groups ?? 1;
  if (x.rank !== 4) {
    throw new RangeError(`convTranspose2d() needs a 4-D input [N,C,H,W], got ${fmt(x.shape)}`);
  }
  if (w.rank !== 4) {
    throw new RangeError(`convTranspose2d() needs a 4-D weight [Cin,Cout/groups,kh,kw], got ${fmt(w.shape)}`);
  }
  if (!Number.isInteger(groups) || groups < 1 || w.shape[0] % groups !== 0) {
    throw new RangeError(`convTranspose2d(): groups ${groups} must be a positive divisor of ${w.shape[0]}`);
  }
  if (x.shape[1] !== w.shape[0]) {
    throw new RangeError(
      `convTranspose2d(): weight ${fmt(w.shape)} expects ${w.shape[0]} input channels but the input ${
        fmt(x.shape)
      } has ${x.shape[1]}`,
    );
  }
  for (
    const [name, v, min] of [["stride", stride, 1], ["dilation", dilation, 1], [
      "padding",
      padding,
      0,
    ]] as const
  ) {
    if (v.some((s) => !Number.isInteger(s) || s < min)) {
      throw new RangeError(`convTranspose2d(): ${name} must be integers >= ${min}, got ${fmt(v)}`);
    }
  }
  const out = [0, 1].map((i) => {
    const op = outputPadding[i];
    if (!Number.isInteger(op) || op < 0 || op >= Math.max(stride[i], dilation[i])) {
      throw new RangeError(
        `convTranspose2d(): outputPadding ${op} must be a non-negative integer below the stride ${
          stride[i]
        } or the dilation ${dilation[i]}`,
      );
    }
    const size = (x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (w.shape[2 + i] - 1) + op +
      1;
    if (size < 1) throw new RangeError(`convTranspose2d(): padding ${padding[i]} leaves an empty output`);
    return size;
  });
  // With outputPadding at least the stride, the convolution of the output reaches past the input: extend
  // the input by those (zero) rows and columns, which contribute nothing.
  const extra = [0, 1].map((i) => Math.floor(outputPadding[i] / stride[i]));
  const xe = pad(x, [[0, 0], [0, 0], [0, extra[0]], [0, extra[1]]]);
  return apply1("conv2dBackwardInput", [xe, w], {
    stride,
    padding,
    dilation,
    groups,
    xShape: [x.shape[0], w.shape[1] * groups, out[0], out[1]],
  });
}
