/**
 * Evaluation-mode fusion inside a `Sequential`: a bias-free `Conv2d`, the `BatchNorm2d` after it and an
 * optional `ReLU6` run as one op, `conv2dBatchNormEval`, whose kernel applies the batch norm's
 * fixed-statistics affine map and the clamp where the convolution's sums are made — the values and
 * gradients of the three layers bit for bit, without two passes over (and two fresh copies of) the
 * activation; consecutive fused layers run as one `conv2dBatchNormEvalChain`, their intermediate results
 * never leaving the kernels' memory, and an inverted residual block whose layers fuse whole
 * (`Sequential.fusedLayers`) joins the chain of the layers around it (`ChainFusable`), its skip connection
 * added inside that chain (`residualFrom`) — MobileNetV2's features are one chain. Training mode, an interceptor
 * (tracing, debugging hooks) and any other layer keep the layer-by-layer path.
 * @module
 */
import {
  conv2dBatchNormEval,
  conv2dBatchNormEvalChain,
  type Conv2dBatchNormOptions,
  type Tensor,
} from "@hqat/tensor";
import { BatchNorm2d, Conv2d, ReLU6 } from "./layers.ts";
import type { Module, Scope } from "./module.ts";

/**
 * A convolution, its batch norm and clamp as one layer of `conv2dBatchNormEvalChain`; with `residualFrom: j`,
 * the input of layer j of the same list added to its result (a skip connection).
 */
export type FusedLayer = Conv2dBatchNormOptions & { w: Tensor; residualFrom?: number };

/**
 * Appends `layers` (their `residualFrom` counted within them) to the chain `run`, in place.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { appendFused, type FusedLayer } from "./eval_fusion.ts";
 * import { ones, zeros } from "@hqat/tensor";
 * const bn = { mean: zeros([1]), variance: ones([1]), gamma: ones([1]), beta: zeros([1]), eps: 0 };
 * const l: FusedLayer = { w: ones([1, 1, 1, 1]), bn };
 * const run: FusedLayer[] = [l];
 * appendFused(run, [l, { ...l, residualFrom: 0 }]);
 * assert(run.length === 3 && run[2].residualFrom === 1);
 * ```
 */
export function appendFused(run: FusedLayer[], layers: readonly FusedLayer[]): void {
  const base = run.length;
  for (const l of layers) {
    run.push(l.residualFrom === undefined ? l : { ...l, residualFrom: l.residualFrom + base });
  }
}

/** One fused layer standing for `count` layers from `i` on. */
export interface FusedSpec {
  /** The fused layer. */
  layer: FusedLayer;
  /** How many layers, from `i` on, it replaces. */
  count: number;
}

/**
 * `layers[i]` (a bias-free zero-padded `Conv2d`), `layers[i + 1]` (a `BatchNorm2d`) and, when it is one,
 * `layers[i + 2]` (a `ReLU6`) as one fused layer in evaluation mode; undefined where they do not fuse.
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
export function fuseConvBnEval(layers: readonly Module[], i: number, s: Scope): FusedSpec | undefined {
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
  const layer: FusedLayer = {
    w: cs.get("weight"),
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
  };
  return { layer, count: relu6 ? 3 : 2 };
}

/**
 * Runs fused layers on `x`: one `conv2dBatchNormEval`, or a `conv2dBatchNormEvalChain` that keeps the
 * intermediate results inside the kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runFused } from "./eval_fusion.ts";
 * import { ones, zeros } from "@hqat/tensor";
 * const bn = { mean: zeros([2]), variance: ones([2]), gamma: ones([2]), beta: zeros([2]), eps: 0 };
 * const y = runFused(ones([1, 2, 2, 2]), [{ w: ones([2, 2, 1, 1]), bn }, { w: ones([2, 1, 3, 3]), padding: 1, groups: 2, bn }]);
 * assert(y.shape.join() === "1,2,2,2" && y.data[0] === 8);
 * ```
 */
export function runFused(x: Tensor, layers: readonly FusedLayer[]): Tensor {
  return layers.length === 1 && layers[0].residualFrom === undefined
    ? conv2dBatchNormEval(x, layers[0].w, layers[0])
    : conv2dBatchNormEvalChain(x, layers);
}
