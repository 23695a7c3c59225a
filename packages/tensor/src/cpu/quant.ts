/**
 * CPU kernels of fake quantization and its gradients: the arithmetic itself is `@hqat/qtensor`'s, the
 * one definition of SPEC.md's rules.
 * @module
 */
import {
  addAlignment,
  dequantizeTensor,
  fakeQuantize,
  fakeQuantizeGrad,
  finishAccumulator,
  intAdaptiveAvgPool2d,
  intAlignedSum,
  intAvgPool2d,
  intAvgPoolWindowSum,
  lsqFakeQuantizeGrad,
  qtensor,
  quantize,
  quantizeBias,
} from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import { intConv2dAccumulateFast, intLinearAccumulateFast } from "./int_conv.ts";
import { fakeQuantizeGradWasm, fakeQuantizeWasm, type QuantKernelPlan } from "./quant_wasm.ts";
import type { Tensor } from "../tensor.ts";

const layout = (x: Tensor, axis: number) => (axis < 0 ? {} : { axis, shape: x.shape });

/**
 * The wasm kernels' plan for x with the scales of `scale` along `axis` (a single scale is one run, as
 * the reference takes it); undefined where the data are not float32 or the layout does not fit.
 */
function planOf(
  x: Tensor,
  scale: Tensor,
  a: { qmin: number; qmax: number; axis: number },
): QuantKernelPlan | undefined {
  if (!(x.data instanceof Float32Array && scale.data instanceof Float32Array)) return undefined;
  const channels = scale.size, { qmin, qmax, axis } = a;
  if (channels === 1) return { scale: scale.data, qmin, qmax, outer: 1, channels: 1, inner: x.size };
  if (axis < 0 || axis >= x.rank || x.shape[axis] !== channels) return undefined;
  let outer = 1, inner = 1;
  for (let d = 0; d < axis; d++) outer *= x.shape[d];
  for (let d = axis + 1; d < x.rank; d++) inner *= x.shape[d];
  return { scale: scale.data, qmin, qmax, outer, channels, inner };
}

/** Fake quantization of x with per-tensor or per-channel scales. */
export function fakeQuantizeKernel(x: Tensor, scale: Tensor, a: OpAttrs["fakeQuantize"]): Float32Array {
  const plan = planOf(x, scale, a);
  const fast = plan && fakeQuantizeWasm(x.data as Float32Array, plan);
  if (fast) return fast;
  return fakeQuantize(x.data, scale.data, { qmin: a.qmin, qmax: a.qmax, ...layout(x, a.axis) });
}

/** [dx, dscale] of fake quantization for the upstream gradient dy. */
export function fakeQuantizeBackwardKernel(
  dy: Tensor,
  x: Tensor,
  scale: Tensor,
  a: OpAttrs["fakeQuantizeBackward"],
): [Float32Array, Float32Array] {
  const opts = { qmin: a.qmin, qmax: a.qmax, dy: dy.data, ...layout(x, a.axis) };
  if (!a.scaleGrad) {
    const plan = dy.data instanceof Float32Array ? planOf(x, scale, a) : undefined;
    const fast = plan && fakeQuantizeGradWasm(x.data as Float32Array, dy.data as Float32Array, plan);
    if (fast) return [fast, new Float32Array(scale.size)];
    return [fakeQuantizeGrad(x.data, scale.data, opts), new Float32Array(scale.size)];
  }
  const g = lsqFakeQuantizeGrad(x.data, scale.data, { ...opts, gradScale: "lsq" });
  return [g.dx, g.dscale];
}

/** The integer model's add (or sub) of two fake-quantized tensors, dequantized (see the op's doc). */
export function addFakeKernel(a: Tensor, b: Tensor, o: OpAttrs["addFake"]): Float32Array {
  // Fake-quantized values are exact multiples of their scales: quantizing them again recovers the integers.
  const qa = quantize(a.data, o.scaleA, { dtype: o.dtypeIn }),
    qb = quantize(b.data, o.scaleB, { dtype: o.dtypeIn });
  const sa = Math.fround(o.scaleA), sb = Math.fround(o.scaleB);
  const shiftSecond = !(sa >= sb);
  const [sx, sy] = shiftSecond ? [sb, sa] : [sa, sb];
  const { k, t } = addAlignment(sx, sy, { dtype: o.dtypeIn });
  const sum = intAlignedSum(qa, a.shape, qb, b.shape, { shiftSecond, k, t, subtract: o.subtract });
  const y = finishAccumulator(sum, {
    shape: a.shape,
    axis: 0,
    accScale: { numerator: [sx], divisor: 2 ** k },
    output: { dtype: o.dtype, scale: o.outScale },
    activation: o.activation,
  });
  const out = new Float32Array(a.size), so = Math.fround(o.outScale);
  for (let i = 0; i < out.length; i++) out[i] = y.data[i] * so;
  return out;
}

/** The integer model's average pooling of a fake-quantized tensor, dequantized (see the op's doc). */
export function avgPoolFakeKernel(x: Tensor, o: OpAttrs["avgPoolFake"]): Float32Array {
  const q = qtensor(quantize(x.data, o.scaleIn, { dtype: o.dtypeIn }), { shape: x.shape, scale: o.scaleIn });
  const output = { dtype: o.dtype, scale: o.outScale };
  if (o.kernel[0] !== 0 && (o.ceilMode || o.countIncludePad === false)) {
    // PyTorch's windows and divisors: sums on the grid of scale sx / K, one requantization.
    const sums = intAvgPoolWindowSum(q.data, x.shape, o);
    const K = o.kernel[0] * o.kernel[1];
    const r = finishAccumulator(sums.data, {
      shape: sums.shape,
      axis: 1,
      accScale: { numerator: [Math.fround(o.scaleIn)], divisor: K },
      output,
    });
    return dequantizeTensor(r);
  }
  const y = o.kernel[0] === 0
    ? intAdaptiveAvgPool2d(q, { outputSize: 1, output })
    : intAvgPool2d(q, { kernelSize: o.kernel, stride: o.stride, padding: o.padding, output });
  const out = new Float32Array(y.data.length), so = Math.fround(o.outScale);
  for (let i = 0; i < out.length; i++) out[i] = y.data[i] * so;
  return out;
}

/** The integer model's conv/linear on fake-quantized input, dequantized (see the op's doc). */
export function intLayerFakeKernel(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  o: OpAttrs["intLayerFake"],
): Float32Array {
  const sw = Float32Array.from(o.sw);
  const xq = quantize(x.data, o.sx, { dtype: o.dtypeIn }) as Int8Array | Int16Array;
  const wq = quantize(w.data, sw, { dtype: "qint8", axis: 0, shape: w.shape }) as Int8Array;
  const bq = bias ? quantizeBias(bias.data, o.sx, sw) : undefined;
  const sx = Math.fround(o.sx);
  const accScale = new Float64Array(sw.length);
  for (let c = 0; c < sw.length; c++) accScale[c] = sx * sw[c];
  const acc = o.linear
    ? intLinearAccumulateFast(xq, x.shape, wq, w.shape, bq)
    : intConv2dAccumulateFast(xq, x.shape, wq, w.shape, o, bq);
  const shape = o.linear ? [...x.shape.slice(0, -1), w.shape[0]] : outShapeOf(x.shape, w.shape, o);
  const q = finishAccumulator(acc, {
    shape,
    axis: o.linear ? shape.length - 1 : 1,
    accScale: { numerator: accScale, divisor: 1 },
    output: o.output,
    activation: o.activation,
  });
  return dequantizeTensor(q);
}

function outShapeOf(x: readonly number[], w: readonly number[], o: OpAttrs["intLayerFake"]): number[] {
  const size = (n: number, k: number, s: number, p: number, d: number) =>
    Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  return [
    x[0],
    w[0],
    size(x[2], w[2], o.stride[0], o.padding[0], o.dilation[0]),
    size(x[3], w[3], o.stride[1], o.padding[1], o.dilation[1]),
  ];
}
