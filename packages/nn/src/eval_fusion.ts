/**
 * Evaluation-mode fusion inside a {@linkcode Sequential}: a bias-free `Conv2d`, the `BatchNorm2d` after it
 * and an optional `ReLU6` run as one op, `conv2dBatchNormEval`, whose kernel applies the batch norm's
 * fixed-statistics affine map and the clamp where the convolution's sums are made — the values and
 * gradients of the three layers bit for bit, without two passes over (and two fresh copies of) the
 * activation. Training mode, an interceptor (tracing, debugging hooks) and any other layer keep the
 * layer-by-layer path.
 * @module
 */
import { conv2dBatchNormEval, type Tensor } from "@hqat/tensor";
import { BatchNorm2d, Conv2d, ReLU6 } from "./layers.ts";
import type { Module, Scope } from "./module.ts";

/** The fused run of `layers[i]` onwards and how many layers it stands for; undefined when nothing fuses. */
export interface FusedRun {
  /** The output of the fused layers. */
  y: Tensor;
  /** How many layers, from `i` on, it replaces. */
  count: number;
}

/**
 * Runs `layers[i]` (a bias-free zero-padded `Conv2d`), `layers[i + 1]` (a `BatchNorm2d`) and, when it is
 * one, `layers[i + 2]` (a `ReLU6`) as one op in evaluation mode; undefined where they do not fuse.
 * Children are named by their index, as in `Sequential`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d, Conv2d, ReLU6, Sequential, forward, initState } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(2, 4, 1, { bias: false }), new BatchNorm2d(4), new ReLU6());
 * const { y } = forward(m, initState(m, randomKey(0)), ones([1, 2, 3, 3]));
 * assert(y.shape.join() === "1,4,3,3");
 * ```
 */
export function fuseConvBnEval(
  layers: readonly Module[],
  i: number,
  s: Scope,
  x: Tensor,
): FusedRun | undefined {
  if (s.ctx.training || s.ctx.intercept) return undefined;
  const conv = layers[i], bn = layers[i + 1];
  if (!(conv instanceof Conv2d) || conv.constructor !== Conv2d || conv.bias || conv.paddingMode !== "zeros") {
    return undefined;
  }
  if (!(bn instanceof BatchNorm2d) || bn.constructor !== BatchNorm2d || bn.numFeatures !== conv.outChannels) {
    return undefined;
  }
  const act = layers[i + 2];
  const relu6 = act instanceof ReLU6 && act.constructor === ReLU6;
  const cs = s.child(String(i)), bs = s.child(String(i + 1));
  const y = conv2dBatchNormEval(x, cs.get("weight"), {
    stride: conv.stride,
    padding: conv.padding,
    dilation: conv.dilation,
    groups: conv.groups,
    bn: {
      mean: bs.get("running_mean"),
      variance: bs.get("running_var"),
      gamma: bs.get("weight"),
      beta: bs.get("bias"),
      eps: bn.eps,
    },
    clamp: relu6 ? { min: 0, max: 6, openGrad: true } : undefined,
  });
  return { y, count: relu6 ? 3 : 2 };
}
