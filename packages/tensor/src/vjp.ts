/**
 * Reverse-mode rules: for each primitive op, the cotangents of its inputs given those of its
 * outputs. Rules are written with the public functions, so they run on any backend. `null` marks an
 * op without a gradient (comparisons, indices, random numbers, rounding) or a gradient-only op.
 * @module
 */
import { affineVjp, chainVjp } from "./conv_affine_chain.ts";
import { apply, apply1 } from "./engine.ts";
import {
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  mul,
  neg,
  sign,
  sub,
  where,
} from "./math.ts";
import { matmul } from "./nn_ops.ts";
import type { OpAttrs, OpName } from "./ops.ts";
import { sum } from "./reduce.ts";
import { broadcastTo, oneHot, pad, reshape, slice, transpose } from "./shape_ops.ts";
import { type Shape, shapesEqual } from "./shape.ts";
import { stridedSliceGrad } from "./slice_grad.ts";
import { type Tensor, zeros } from "./tensor.ts";

/** What a VJP rule sees. */
export interface VjpContext<A> {
  /** The op's inputs. */
  inputs: readonly Tensor[];
  /** The op's outputs. */
  outputs: readonly Tensor[];
  /** Cotangents of the outputs (null = zero). */
  cts: readonly (Tensor | null)[];
  /** The op's attributes. */
  attrs: A;
  /** Which inputs need a cotangent. */
  needs: readonly boolean[];
}

/** A reverse-mode rule. */
export type VjpRule<A> = (ctx: VjpContext<A>) => (Tensor | null)[];
type None = OpAttrs["neg"];

/**
 * Sums a broadcast cotangent back down to `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ones, sumTo } from "@hqat/tensor";
 * assert(sumTo(ones([2, 3]), [1, 3]).toArray().join() === "2,2,2");
 * ```
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(axes.length ? sum(g, { axes, keepDims: true }) : g, shape);
}

const g0 = <A>(c: VjpContext<A>): Tensor => c.cts[0] ?? zeros(c.outputs[0].shape);

const masked = (mask: Tensor, g: Tensor) => where(mask, g, 0);

const binaryRule = (
  da: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
  db: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
): VjpRule<None> =>
(c) => {
  const [a, b] = c.inputs, g = g0(c), y = c.outputs[0];
  return [
    c.needs[0] ? sumTo(da(g, a, b, y), a.shape) : null,
    c.needs[1] ? sumTo(db(g, a, b, y), b.shape) : null,
  ];
};

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Straight-through mask of a requantized output: inside the activation's clamp (open at an activation's bounds). */
function insideClamp(
  y: Tensor,
  outScale: number,
  dtype: "qint8" | "qint16",
  activation?: "relu" | "relu6",
): Tensor {
  const so = Math.fround(outScale);
  const qmax = dtype === "qint8" ? 127 : 32767, qmin = dtype === "qint8" ? -128 : -32768;
  const hi = activation === "relu6" ? Math.min(qmax, Math.round(Math.fround(6 / so))) : qmax;
  if (!activation) return mul(greaterEqual(y, qmin * so), lessEqual(y, hi * so));
  return mul(greater(y, 0), activation === "relu6" ? less(y, hi * so) : lessEqual(y, hi * so));
}

/** The reverse-mode rules, one per primitive op. */
export const VJP_RULES: { [K in OpName]: VjpRule<OpAttrs[K]> | null } = {
  neg: (c) => [neg(g0(c))],
  exp: (c) => [mul(g0(c), c.outputs[0])],
  log: (c) => [div(g0(c), c.inputs[0])],
  sqrt: (c) => [div(g0(c), mul(c.outputs[0], 2))],
  rsqrt: (c) => {
    const y = c.outputs[0];
    return [mul(g0(c), mul(mul(y, mul(y, y)), -0.5))];
  },
  abs: (c) => [mul(g0(c), sign(c.inputs[0]))],
  sign: null,
  tanh: (c) => {
    const y = c.outputs[0];
    return [mul(g0(c), sub(1, mul(y, y)))];
  },
  sigmoid: (c) => {
    const y = c.outputs[0];
    return [mul(g0(c), mul(y, sub(1, y)))];
  },
  floor: null,
  ceil: null,
  round: null,
  relu: (c) => [apply1("clampBackward", [g0(c), c.inputs[0]], { min: 0, max: Infinity, openGrad: true })],
  clamp: (c) => [apply1("clampBackward", [g0(c), c.inputs[0]], c.attrs)],
  clampBackward: (c) => [apply1("clampBackward", [g0(c), c.inputs[1]], c.attrs), null],
  cast: null,
  add: binaryRule((g) => g, (g) => g),
  sub: binaryRule((g) => g, (g) => neg(g)),
  mul: binaryRule((g, _a, b) => mul(g, b), (g, a) => mul(g, a)),
  div: binaryRule((g, _a, b) => div(g, b), (g, _a, b, y) => neg(div(mul(g, y), b))),
  maximum: binaryRule(
    (g, a, b) => masked(greaterEqual(a, b), g),
    (g, a, b) => masked(less(a, b), g),
  ),
  minimum: binaryRule(
    (g, a, b) => masked(lessEqual(a, b), g),
    (g, a, b) => masked(greater(a, b), g),
  ),
  pow: binaryRule(
    (g, a, b) => mul(g, mul(b, apply1("pow", [a, sub(b, 1)], {}))),
    (g, a, _b, y) => mul(g, mul(y, log(a))),
  ),
  equal: null,
  notEqual: null,
  less: null,
  lessEqual: null,
  greater: null,
  greaterEqual: null,
  where: (c) => {
    const [cond, a, b] = c.inputs, g = g0(c);
    return [
      null,
      c.needs[1] ? sumTo(masked(cond, g), a.shape) : null,
      c.needs[2] ? sumTo(where(cond, 0, g), b.shape) : null,
    ];
  },
  sum: (c) => {
    const x = c.inputs[0];
    return [broadcastTo(reshape(g0(c), keptShape(x.shape, c.attrs.axes)), x.shape)];
  },
  max: (c) => {
    const x = c.inputs[0], kept = keptShape(x.shape, c.attrs.axes);
    const y = reshape(c.outputs[0], kept);
    const mask = apply1("cast", [equal(x, y)], { dtype: "float32" });
    const count = sum(mask, { axes: c.attrs.axes, keepDims: true });
    return [mul(mask, div(reshape(g0(c), kept), count))];
  },
  argmax: null,
  topk: (c) => {
    const x = c.inputs[0], ax = c.attrs.axis, last = x.rank - 1;
    const g = c.cts[0];
    if (!g) return [null];
    const perm = x.shape.map((_, i) => i);
    perm[ax] = last;
    perm[last] = ax;
    const idx = transpose(c.outputs[1], perm), gt = transpose(g, perm);
    const spread = mul(oneHot(idx, x.shape[ax]), reshape(gt, [...gt.shape, 1]));
    return [transpose(sum(spread, { axes: [last] }), perm)];
  },
  reshape: (c) => [reshape(g0(c), c.inputs[0].shape)],
  transpose: (c) => {
    const inv = new Array<number>(c.attrs.perm.length);
    c.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g0(c), inv)];
  },
  broadcastTo: (c) => [sumTo(g0(c), c.inputs[0].shape)],
  slice: (c) => {
    const s = c.inputs[0].shape;
    if (c.attrs.steps?.some((step) => step !== 1)) return [stridedSliceGrad(g0(c), s, c.attrs)];
    return [pad(g0(c), c.attrs.starts.map((b, i) => [b, s[i] - c.attrs.ends[i]] as [number, number]))];
  },
  pad: (c) => {
    const s = c.inputs[0].shape;
    const begin = c.attrs.pads.map((p) => p[0]);
    return [slice(g0(c), begin, begin.map((b, i) => b + s[i]))];
  },
  concat: (c) => {
    const ax = c.attrs.axis, g = g0(c);
    let off = 0;
    return c.inputs.map((t, i) => {
      const begin = g.shape.map((_, j) => (j === ax ? off : 0));
      const end = g.shape.map((d, j) => (j === ax ? off + t.shape[ax] : d));
      off += t.shape[ax];
      return c.needs[i] ? slice(g, begin, end) : null;
    });
  },
  oneHot: null,
  matmul: (c) => {
    const [a, b] = c.inputs, g = g0(c), { transA: ta, transB: tb } = c.attrs;
    const da = !c.needs[0]
      ? null
      : ta
      ? matmul(b, g, { transA: tb, transB: true })
      : matmul(g, b, { transB: !tb });
    const db = !c.needs[1]
      ? null
      : tb
      ? matmul(g, a, { transA: true, transB: ta })
      : matmul(a, g, { transA: !ta });
    return [da && sumTo(da, a.shape), db && sumTo(db, b.shape)];
  },
  conv2d: (c) => {
    const [x, w] = c.inputs, g = g0(c);
    return [
      c.needs[0] ? apply1("conv2dBackwardInput", [g, w], { ...c.attrs, xShape: x.shape }) : null,
      c.needs[1] ? apply1("conv2dBackwardWeight", [g, x], { ...c.attrs, wShape: w.shape }) : null,
    ];
  },
  conv2dAffine: affineVjp,
  conv2dAffineChain: (c) => chainVjp(c, VJP_RULES.conv2dAffine!),
  conv2dBackwardInput: (c) => {
    const [dy, w] = c.inputs, g = g0(c);
    const { xShape: _x, ...geo } = c.attrs;
    return [
      c.needs[0] ? apply1("conv2d", [g, w], geo) : null,
      c.needs[1] ? apply1("conv2dBackwardWeight", [dy, g], { ...geo, wShape: w.shape }) : null,
    ];
  },
  conv2dBackwardWeight: (c) => {
    const [dy, x] = c.inputs, g = g0(c);
    const { wShape: _w, ...geo } = c.attrs;
    return [
      c.needs[0] ? apply1("conv2d", [x, g], geo) : null,
      c.needs[1] ? apply1("conv2dBackwardInput", [dy, g], { ...geo, xShape: x.shape }) : null,
    ];
  },
  maxPool2d: (c) => [apply1("maxPool2dBackward", [g0(c), c.inputs[0]], c.attrs)],
  maxPool2dBackward: null,
  avgPool2d: (c) => [apply1("avgPool2dBackward", [g0(c)], { ...c.attrs, xShape: c.inputs[0].shape })],
  avgPool2dBackward: (c) => {
    const { xShape: _x, ...attrs } = c.attrs;
    return [apply1("avgPool2d", [g0(c)], attrs)];
  },
  resize: (c) => [apply1("resizeBackward", [g0(c)], { ...c.attrs, xShape: c.inputs[0].shape })],
  resizeBackward: (c) => {
    const { xShape: _x, ...attrs } = c.attrs;
    return [apply1("resize", [g0(c)], attrs)];
  },
  batchNormTrain: (c) => {
    const [x, gamma] = c.inputs, [y, m, v] = c.outputs;
    const ct = (i: number, like: Tensor) => c.cts[i] ?? zeros(like.shape);
    const { clampMax, eps } = c.attrs;
    // A fused clamp to [0, clampMax]: its open-interval gradient reads the same from the clamped output, and
    // the backward kernel applies it as it reads the cotangent (no pass of its own).
    const ins = [ct(0, y), ct(1, m), ct(2, v), x, gamma, m, v];
    const [dx, dgamma, dbeta] = clampMax === undefined
      ? apply("batchNormTrainBackward", ins, { eps })
      : apply("batchNormTrainBackward", [...ins, y], { eps, clampMax });
    return [dx, dgamma, dbeta];
  },
  batchNormTrainBackward: null,
  channelAffine: (c) => {
    const [x, scale, shift] = c.inputs, g = g0(c);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    return [
      c.needs[0] ? apply1("channelAffine", [g, scale, zeros(shift.shape)], {}) : null,
      c.needs[1] ? sum(mul(g, x), { axes }) : null,
      c.needs[2] ? sum(g, { axes }) : null,
    ];
  },
  logSoftmax: (c) => {
    const g = g0(c), ax = c.attrs.axis;
    return [sub(g, mul(exp(c.outputs[0]), sum(g, { axes: [ax], keepDims: true })))];
  },
  fakeQuantize: (c) => {
    const [x, scale] = c.inputs;
    const [dx, dscale] = apply("fakeQuantizeBackward", [g0(c), x, scale], {
      ...c.attrs,
      scaleGrad: c.needs[1],
    });
    return [dx, c.needs[1] ? dscale : null];
  },
  fakeQuantizeBackward: null,
  avgPoolFake: (c) => {
    // Straight through the pooling: the average pool's gradient, masked where the output saturated.
    const { kernel, stride, padding, outScale, dtype, ceilMode, countIncludePad } = c.attrs;
    const x = c.inputs[0];
    const g = masked(insideClamp(c.outputs[0], outScale, dtype), g0(c));
    const attrs = kernel[0] === 0
      ? { kernel: [x.shape[2], x.shape[3]] as const, stride: [1, 1] as const, padding: [0, 0] as const }
      : { kernel, stride, padding };
    return [
      apply1("avgPool2dBackward", [g], {
        ...attrs,
        ceilMode: ceilMode ?? false,
        countIncludePad: countIncludePad ?? true,
        xShape: x.shape,
      }),
    ];
  },
  intLayerFake: null,
  lutFake: null,
  resizeFake: null,
  meanFake: null,
  matmulFake: null,
  convTransposeFake: null,
  softmaxFake: null,
  requantFake: (c) => {
    const { outScale, dtype, activation } = c.attrs;
    return [masked(insideClamp(c.outputs[0], outScale, dtype, activation), g0(c))];
  },
  mulFake: (c) => {
    // The product rule on the fake-quantized operands, masked where the output saturated.
    const [a, b] = c.inputs, { outScale, dtype, activation } = c.attrs;
    const g = masked(insideClamp(c.outputs[0], outScale, dtype, activation), g0(c));
    return [c.needs[0] ? mul(g, b) : null, c.needs[1] ? sumTo(mul(g, a), b.shape) : null];
  },
  addFake: (c) => {
    // Straight through the add (or sub), masked where the output saturated; b's gradient summed over its
    // broadcast dimensions.
    const { outScale, dtype, activation, subtract } = c.attrs;
    const g = masked(insideClamp(c.outputs[0], outScale, dtype, activation), g0(c));
    const gb = c.needs[1] ? sumTo(subtract ? neg(g) : g, c.inputs[1].shape) : null;
    return [c.needs[0] ? g : null, gb];
  },

  randomUniform: null,
  randomNormal: null,
};

/** Checks a cotangent's shape against its primal (used by tests and the autodiff). */
export function checkCotangent(primal: Tensor, ct: Tensor, op: string): void {
  if (!shapesEqual(primal.shape, ct.shape)) {
    throw new Error(
      `VJP of ${op} produced shape [${ct.shape.join(",")}] for input [${primal.shape.join(",")}]`,
    );
  }
}
