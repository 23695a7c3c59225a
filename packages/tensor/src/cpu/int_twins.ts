/**
 * CPU kernels of the fake twins of the integer program's kinds added for imported networks: each
 * recovers the integers of its fake-quantized inputs, runs `@hqat/qtensor`'s reference kernel of the
 * kind and its requantization, and dequantizes — the integer model's values as floats.
 * @module
 */
import {
  convTransposeScales,
  dequantizeTensor,
  finishAccumulator,
  fixedPointTaps,
  gatherFrames,
  intConvTranspose2dAccumulate,
  intLut,
  intMatmul,
  intMulProduct,
  intReduceSum,
  intResizeLinear,
  intSoftmax,
  quantize,
  quantizeBias,
  reduceIndex,
  resizeNearestIndex,
  softmaxExpTable,
} from "@hqat/qtensor";
import { resizeTaps } from "../resize_geometry.ts";
import type { OpAttrs } from "../ops.ts";
import type { Tensor } from "../tensor.ts";

/** The integers of a fake-quantized tensor (exact multiples of the scale quantize back to themselves). */
function ints(x: Tensor, scale: number, dtype: "qint8" | "qint16"): Int8Array | Int16Array {
  return quantize(x.data, scale, { dtype }) as Int8Array | Int16Array;
}

/** `q · scale` as float32 (SPEC.md's dequantize). */
function floats(q: ArrayLike<number>, scale: number): Float32Array {
  const out = new Float32Array(q.length), s = Math.fround(scale);
  for (let i = 0; i < out.length; i++) out[i] = q[i] * s;
  return out;
}

/** lutFake: the table lookup of the fake-quantized input, dequantized (see the op's doc). */
export function lutFakeKernel(x: Tensor, table: Tensor, o: OpAttrs["lutFake"]): Float32Array {
  // int16 holds every int8 or int16 table entry; the lookup's values do not depend on the table's type.
  return floats(intLut(ints(x, o.scaleIn, o.dtypeIn), Int16Array.from(table.data as Int32Array)), o.outScale);
}

/** The requantized integers of an int32 value of scale `numerator / divisor`, dequantized at `outScale`. */
function finish(
  acc: Int32Array,
  shape: readonly number[],
  numerator: number,
  divisor: number,
  o: { outScale: number; dtype: "qint8" | "qint16"; activation?: "relu" | "relu6" },
): Float32Array {
  const y = finishAccumulator(acc, {
    shape,
    axis: 0,
    accScale: { numerator: [numerator], divisor },
    output: { dtype: o.dtype, scale: o.outScale },
    activation: o.activation,
  });
  return floats(y.data, o.outScale);
}

/** resizeFake: the `resize` instruction on the fake-quantized input, requantized and dequantized. */
export function resizeFakeKernel(x: Tensor, o: OpAttrs["resizeFake"]): Float32Array {
  const q = ints(x, o.scaleIn, o.dtypeIn), [n, c, h, w] = x.shape, [oh, ow] = o.size;
  const taps = resizeTaps(x.shape, o), shape = [n, c, oh, ow];
  if (o.mode === "nearest") {
    const index = resizeNearestIndex([c, h, w], taps.h.i0, taps.w.i0);
    const moved = gatherFrames(q, { frames: n, inFrame: c * h * w, index });
    return finish(Int32Array.from(moved), shape, Math.fround(o.scaleIn), 1, o);
  }
  const acc = intResizeLinear(q, x.shape, fixedPointTaps(taps.h), fixedPointTaps(taps.w));
  return finish(acc, shape, Math.fround(o.scaleIn), 2 ** 16, o);
}

/** meanFake: the `reduce_mean` instruction on the fake-quantized input, requantized and dequantized. */
export function meanFakeKernel(x: Tensor, o: OpAttrs["meanFake"]): Float32Array {
  const m = reduceIndex(x.shape, o.axes, o.keepDims);
  const sums = intReduceSum(ints(x, o.scaleIn, o.dtypeIn), x.shape, o.axes);
  return finish(sums, m.shape, Math.fround(o.scaleIn), m.count, o);
}

/** matmulFake: the `matmul` instruction on the fake-quantized operands, requantized and dequantized. */
export function matmulFakeKernel(a: Tensor, b: Tensor, o: OpAttrs["matmulFake"]): Float32Array {
  const y = intMatmul(ints(a, o.scaleA, o.dtypeA), a.shape, ints(b, o.scaleB, o.dtypeB), b.shape);
  return finish(y.data, y.shape, Math.fround(o.scaleA) * Math.fround(o.scaleB), 1, o);
}

/** convTransposeFake: the `conv_transpose2d` instruction on fake-quantized input, requantized, dequantized. */
export function convTransposeFakeKernel(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  o: OpAttrs["convTransposeFake"],
): Float32Array {
  const sw = Float32Array.from(o.sw), [cin, cog, kh, kw] = w.shape;
  const rows = convTransposeScales(sw, cin, o.groups);
  const wq = quantize(w.data, rows, { dtype: "qint8", axis: 0, shape: [cin * cog, kh * kw] }) as Int8Array;
  const bq = bias ? quantizeBias(bias.data, o.sx, sw) : undefined;
  const acc = intConvTranspose2dAccumulate(ints(x, o.sx, o.dtypeIn), x.shape, wq, w.shape, o, bq);
  const sx = Math.fround(o.sx);
  const q = finishAccumulator(acc.data, {
    shape: acc.shape,
    axis: 1,
    accScale: { numerator: Float64Array.from(sw, (s) => sx * s), divisor: 1 },
    output: o.output,
    activation: o.activation,
  });
  return dequantizeTensor(q);
}

/** softmaxFake: the `softmax` instruction on the fake-quantized input, requantized and dequantized. */
export function softmaxFakeKernel(x: Tensor, o: OpAttrs["softmaxFake"]): Float32Array {
  const table = softmaxExpTable(o.scaleIn, o.dtypeIn);
  return finish(intSoftmax(ints(x, o.scaleIn, o.dtypeIn), x.shape, o.axis, table), x.shape, 1, 2 ** 16, o);
}

/** requantFake: the integers of the fake-quantized input requantized to the output, dequantized. */
export function requantFakeKernel(x: Tensor, o: OpAttrs["requantFake"]): Float32Array {
  const q = ints(x, o.scaleIn, o.dtypeIn);
  return finish(Int32Array.from(q), x.shape, Math.fround(o.scaleIn), 1, o);
}

/** mulFake: the `mul` instruction on the fake-quantized operands, requantized and dequantized. */
export function mulFakeKernel(a: Tensor, b: Tensor, o: OpAttrs["mulFake"]): Float32Array {
  const p = intMulProduct(ints(a, o.scaleA, o.dtypeA), a.shape, ints(b, o.scaleB, o.dtypeB), b.shape);
  return finish(p, a.shape, Math.fround(o.scaleA) * Math.fround(o.scaleB), 1, o);
}
