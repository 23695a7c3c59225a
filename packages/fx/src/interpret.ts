/**
 * Runs float and fake-quantized graphs with the tensor functions (so autodiff works through them).
 * Hooks let the quantization passes transform weights and node outputs.
 * @module
 */
import type { Scope } from "@hqat/nn";
import {
  adaptiveAvgPool2d,
  add,
  apply1,
  avgPool2d,
  batchNormEval,
  batchNormTrain,
  conv2d,
  conv2dAffine,
  div,
  dropout,
  flatten,
  fromArray,
  matmul,
  maxPool2d,
  mul,
  relu,
  relu6,
  reshape,
  rsqrt,
  stopGradient,
  sub,
  type Tensor,
  zeros,
} from "@hqat/tensor";
import type { Graph, GraphNode } from "./graph.ts";
import { ruleOf } from "./node_rules.ts";

/** Transformations the quantization passes plug into {@linkcode runGraph}. */
export interface RunHooks {
  /** Transforms a conv/linear weight (already BN-folded for fused convs) before use. */
  weight?(node: GraphNode, w: Tensor, s: Scope): Tensor;
  /** Transforms a node's output (observers, fake quantization). */
  output?(node: GraphNode, y: Tensor, s: Scope): Tensor;
  /** Replaces an add node with the integer model's add of its (fake-quantized) inputs; undefined keeps float. */
  intAdd?(node: GraphNode, a: Tensor, b: Tensor, s: Scope): Tensor | undefined;
  /**
   * Computes a conv/linear node (BN folded, with its activation) the way the fixed-point model does;
   * undefined keeps the float path.
   */
  intLayer?(
    node: GraphNode,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | undefined,
    s: Scope,
  ): Tensor | undefined;
  /** Replaces an average-pooling node with the integer model's pooling; undefined keeps float. */
  intPool?(node: GraphNode, x: Tensor, s: Scope): Tensor | undefined;
  /** Replaces a node of `NODE_RULES` with its integer twin; undefined keeps float. */
  intNode?(node: GraphNode, ins: readonly Tensor[], s: Scope): Tensor | undefined;
}

function act(y: Tensor, a: "relu" | "relu6" | undefined): Tensor {
  return a === "relu" ? relu(y) : a === "relu6" ? relu6(y) : y;
}

const perChannel = (t: Tensor) => reshape(t, [-1, 1, 1, 1]);

/** The parameters of a conv node with its batch norm folded in (the QAT and the integer model share them). */
export interface FoldedConv {
  /** Folded weight w · γ / √(running_var + ε). */
  weight: Tensor;
  /** Folded bias β − mean · γ / √(var + ε) (+ conv bias scaled), or the conv bias, or none. */
  bias?: Tensor;
  /** γ / √(running_var + ε) per channel (only with batch norm). */
  scale?: Tensor;
}

/**
 * Folds a conv node's batch norm (if any) from the state, with running statistics.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { foldConvBn } from "@hqat/fx";
 * assert(typeof foldConvBn === "function");
 * ```
 */
export function foldConvBn(n: GraphNode, s: Scope): FoldedConv {
  const k = n.kind;
  if (k.op !== "conv2d") throw new TypeError(`foldConvBn() needs a conv2d node, got ${k.op}`);
  const w = s.get(`${k.module}.weight`);
  const b = k.bias ? s.get(`${k.module}.bias`) : undefined;
  if (!k.bn) return { weight: w, bias: b };
  const m = k.bn.module;
  const scale = bnScale(m, k.bn.eps, s);
  const shift = sub(s.get(`${m}.bias`), mul(s.get(`${m}.running_mean`), scale));
  return { weight: mul(w, perChannel(scale)), bias: b ? add(shift, mul(b, scale)) : shift, scale };
}

/** γ / √(running_var + ε) of batch norm module `m`. */
function bnScale(m: string, eps: number, s: Scope): Tensor {
  return mul(s.get(`${m}.weight`), rsqrt(add(s.get(`${m}.running_var`), eps)));
}

/** Conv with optional fused BN, folded the way QAT needs it (PyTorch's ConvBn2d). */
function runConv(n: GraphNode, x: Tensor, other: Tensor | undefined, s: Scope, hooks: RunHooks): Tensor {
  const k = n.kind;
  if (k.op !== "conv2d") throw new TypeError("runConv() needs a conv2d node");
  const geo = { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups };
  let y: Tensor;
  if (k.bn && s.ctx.training) {
    // Convolve with the folded weight, undo the scale (a multiply by its per-channel reciprocal, with the
    // conv's own bias, in the convolution's epilogue: no full-size pass forward, and none beyond the
    // convolution's gradients backward), then batch-normalize with batch statistics (which also updates the
    // running ones). The folded bias is not needed here.
    const m = k.bn.module;
    const scale = bnScale(m, k.bn.eps, s);
    const w = mul(s.get(`${k.module}.weight`), perChannel(scale));
    const wq = hooks.weight ? hooks.weight(n, w, s) : w;
    const b = k.bias ? s.get(`${k.module}.bias`) : undefined;
    const withBias = conv2dAffine(x, wq, { ...geo, scale: div(1, scale), shift: b ?? zeros(scale.shape) });
    // A ReLU6 right after the batch norm (no residual add between) runs in the normalization's pass.
    const relu6InBn = k.act === "relu6" && !k.add;
    y = batchNormTrainUpdating(withBias, m, k.bn.eps, k.bn.momentum, s, relu6InBn ? 6 : undefined);
    if (relu6InBn) return y;
  } else {
    const f = foldConvBn(n, s);
    if (!k.add && !s.ctx.training && hooks.intLayer) {
      const r = hooks.intLayer(n, x, f.weight, f.bias, s);
      if (r) return r;
    }
    const wq = hooks.weight ? hooks.weight(n, f.weight, s) : f.weight;
    y = conv2d(x, wq, { ...geo, bias: f.bias });
  }
  if (k.add) y = add(y, other!);
  return act(y, k.act);
}

/** Training-mode batch norm of module `m` that records the running-statistics updates. */
function batchNormTrainUpdating(
  x: Tensor,
  m: string,
  eps: number,
  momentum: number,
  s: Scope,
  clampMax?: number,
): Tensor {
  const r = batchNormTrain(x, s.get(`${m}.weight`), s.get(`${m}.bias`), eps, { clampMax });
  const cnt = x.size / x.shape[1];
  s.setBuffer(
    `${m}.running_mean`,
    add(mul(s.get(`${m}.running_mean`), 1 - momentum), mul(stopGradient(r.mean), momentum)),
  );
  s.setBuffer(
    `${m}.running_var`,
    add(
      mul(s.get(`${m}.running_var`), 1 - momentum),
      mul(stopGradient(r.variance), (momentum * cnt) / Math.max(cnt - 1, 1)),
    ),
  );
  s.setBuffer(
    `${m}.num_batches_tracked`,
    fromArray(new Int32Array([s.get(`${m}.num_batches_tracked`).item() + 1]), []),
  );
  return r.y;
}

function runNode(n: GraphNode, ins: Tensor[], s: Scope, hooks: RunHooks): Tensor {
  const k = n.kind;
  switch (k.op) {
    case "input":
    case "output":
      return ins[0];
    case "constant":
      return fromArray(Float32Array.from(k.value), k.shape);
    case "quant_stub":
    case "dequant_stub":
    case "identity":
      return ins[0];
    case "conv2d":
      return runConv(n, ins[0], ins[1], s, hooks);
    case "batch_norm": {
      const m = k.module;
      if (s.ctx.training) return batchNormTrainUpdating(ins[0], m, k.eps, k.momentum, s);
      return batchNormEval(ins[0], {
        mean: s.get(`${m}.running_mean`),
        variance: s.get(`${m}.running_var`),
        gamma: s.get(`${m}.weight`),
        beta: s.get(`${m}.bias`),
        eps: k.eps,
      });
    }
    case "linear": {
      const w = s.get(`${k.module}.weight`);
      const b = k.bias ? s.get(`${k.module}.bias`) : undefined;
      const r = s.ctx.training ? undefined : hooks.intLayer?.(n, ins[0], w, b, s);
      if (r) return r;
      const y0 = matmul(ins[0], hooks.weight ? hooks.weight(n, w, s) : w, { transB: true });
      const y = k.bias ? add(y0, s.get(`${k.module}.bias`)) : y0;
      return act(y, k.act);
    }
    case "relu":
      return relu(ins[0]);
    case "relu6":
      return relu6(ins[0]);
    case "dropout":
      return s.ctx.training && k.p > 0 ? dropout(s.child(k.module ?? n.name).key(), ins[0], k.p) : ins[0];
    case "add":
      return hooks.intAdd?.(n, ins[0], ins[1], s) ?? act(add(ins[0], ins[1]), k.act);
    case "cat":
    case "activation":
    case "mul":
    case "pad":
    case "resize":
    case "transpose":
    case "slice":
    case "mean":
    case "conv_transpose2d":
    case "softmax":
    case "matmul":
    case "scale":
    case "sub":
      return hooks.intNode?.(n, ins, s) ??
        ruleOf(k).float(k as never, ins, {
          get: (name) => s.get(name),
          weight: (w) => (hooks.weight ? hooks.weight(n, w, s) : w),
        });
    case "max_pool2d":
      return maxPool2d(ins[0], k.kernel, k);
    case "avg_pool2d":
      return hooks.intPool?.(n, ins[0], s) ?? avgPool2d(ins[0], k.kernel, k);
    case "adaptive_avg_pool2d":
      return hooks.intPool?.(n, ins[0], s) ?? adaptiveAvgPool2d(ins[0], k.outputSize);
    case "flatten":
      return flatten(ins[0], k.startDim);
    case "reshape":
      return reshape(ins[0], [ins[0].shape[0], ...k.shape.slice(1)]);
    case "prim":
      return apply1(k.prim, ins, k.attrs);
  }
}

/**
 * Runs a graph on inputs, reading parameters from the scope by module name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fuse, runGraph, trace } from "@hqat/fx";
 * import { BatchNorm2d, Conv2d, forward, initState, Scope, Sequential } from "@hqat/nn";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4));
 * const s = initState(m, randomKey(0)), x = randomNormal(randomKey(1), [2, 3, 6, 6]);
 * const g = fuse(trace(m, s, x));
 * const y = runGraph(g, new Scope(s, "", { training: false, updates: new Map() }), [x]);
 * assert(Math.abs(y.data[0] - forward(m, s, x).y.data[0]) < 1e-5);
 * ```
 */
export function runGraph(g: Graph, s: Scope, inputs: readonly Tensor[], hooks: RunHooks = {}): Tensor {
  const values = new Map<string, Tensor>();
  const remaining = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) remaining.set(i, (remaining.get(i) ?? 0) + 1);
  let out: Tensor | undefined;
  for (const n of g.nodes) {
    const ins = n.kind.op === "input" ? [inputs[n.kind.index]] : n.inputs.map((i) => values.get(i)!);
    if (n.kind.op === "input" && !ins[0]) throw new RangeError(`runGraph(): missing input ${n.kind.index}`);
    let y = runNode(n, ins, s, hooks);
    if (hooks.output && n.kind.op !== "output" && n.kind.op !== "input") y = hooks.output(n, y, s);
    if (n.kind.op === "output") out = y;
    values.set(n.name, y);
    // Free values no later node reads.
    for (const i of n.inputs) {
      const r = remaining.get(i)! - 1;
      remaining.set(i, r);
      if (r === 0) values.delete(i);
    }
  }
  return out!;
}
