/**
 * WGSL kernels of the fake twins of the integer program's kinds that compute over windows, rows or
 * matrices (resize, mean, matmul, transposed convolution, softmax), bit-exact with the CPU kernels: the
 * inputs are quantized back to their integers on the device, the kind's resident integer kernel runs on
 * them, and its requantized result is dequantized.
 * @module
 */
import {
  convTransposeScales,
  fixedPointTaps,
  reduceIndex,
  resizeNearestIndex,
  softmaxExpTable,
} from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import { resizeTaps } from "../resize_geometry.ts";
import { sizeOf } from "../shape.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuKernel } from "./gpu_tensor.ts";
import { quantizeGpu } from "./int_fake_ops.ts";
import { convTransposeResident } from "./int_conv_transpose_resident.ts";
import { gatherResident } from "./int_gather_resident.ts";
import { matmulResident } from "./int_matmul_resident.ts";
import { sumGatherResident } from "./int_reduce_resident.ts";
import { packTaps, resizeLinearResident } from "./int_resize_resident.ts";
import { softmaxResident } from "./int_softmax_resident.ts";
import { requantGpu, requantPlan } from "./requant_kernel.ts";
import { finishGpu, Temps } from "./twin_util.ts";
import { QUANT_BIAS } from "./wgsl_exact.ts";

/**
 * resizeFake: the `resize` instruction on a fake-quantized tensor, requantized and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { resizeFakeGpu } from "./int_twins.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0, 1), [1, 1, 1, 2]);
 *   const attrs = {
 *     size: [1, 3], mode: "linear", coordinateTransformation: "align_corners", nearestMode: "floor", scales: null,
 *     scaleIn: 0.25, dtypeIn: "qint8", outScale: 0.25, dtype: "qint8",
 *   } as const;
 *   const [y] = resizeFakeGpu(dev, [x], attrs, [{ shape: [1, 1, 1, 3], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0,0.5,1");
 *   dev.destroy();
 * }
 * ```
 */
export const resizeFakeGpu: GpuKernel<OpAttrs["resizeFake"]> = (dev, ins, o) => {
  const t = new Temps(dev), x = ins[0], [n, c, h, w] = x.shape, [oh, ow] = o.size;
  try {
    const q = t.ints(x, o.scaleIn, o.dtypeIn), taps = resizeTaps(x.shape, o);
    if (o.mode === "nearest") {
      const ix = resizeNearestIndex([c, h, w], taps.h.i0, taps.w.i0);
      const index = t.up(ix, [ix.length]);
      const moved = t.keep(
        gatherResident(dev, q, { index, inFrame: c * h * w, shape: [n, c, oh, ow], out: "int32" }),
      );
      return [finishGpu(dev, moved, Math.fround(o.scaleIn), 1, o)];
    }
    const rows = t.up(packTaps(fixedPointTaps(taps.h)), [3 * oh]);
    const cols = t.up(packTaps(fixedPointTaps(taps.w)), [3 * ow]);
    const acc = t.keep(resizeLinearResident(dev, q, { rows, cols }));
    return [finishGpu(dev, acc, Math.fround(o.scaleIn), 2 ** 16, o)];
  } finally {
    t.release();
  }
};

/**
 * meanFake: the `reduce_mean` instruction on a fake-quantized tensor, requantized and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { meanFakeGpu } from "./int_twins.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 4]);
 *   const attrs = { axes: [1], keepDims: false, scaleIn: 1, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" } as const;
 *   const [y] = meanFakeGpu(dev, [x], attrs, [{ shape: [1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 2.5);
 *   dev.destroy();
 * }
 * ```
 */
export const meanFakeGpu: GpuKernel<OpAttrs["meanFake"]> = (dev, ins, o) => {
  const t = new Temps(dev), x = ins[0], m = reduceIndex(x.shape, o.axes, o.keepDims);
  try {
    const q = t.ints(x, o.scaleIn, o.dtypeIn), index = t.up(m.index, [m.index.length]);
    const sums = t.keep(
      sumGatherResident(dev, q, { index, count: m.count, inFrame: sizeOf(x.shape), shape: m.shape }),
    );
    return [finishGpu(dev, sums, Math.fround(o.scaleIn), m.count, o)];
  } finally {
    t.release();
  }
};

/**
 * matmulFake: the `matmul` instruction on fake-quantized operands, requantized and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { matmulFakeGpu } from "./int_twins.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(1, 2), [1, 1, 2]), b = uploadTensor(dev, Float32Array.of(3, 4), [1, 2, 1]);
 *   const attrs = { scaleA: 1, scaleB: 1, dtypeA: "qint8", dtypeB: "qint8", outScale: 1, dtype: "qint8" } as const;
 *   const [y] = matmulFakeGpu(dev, [a, b], attrs, [{ shape: [1, 1, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 11);
 *   dev.destroy();
 * }
 * ```
 */
export const matmulFakeGpu: GpuKernel<OpAttrs["matmulFake"]> = (dev, ins, o) => {
  const t = new Temps(dev);
  try {
    const qa = t.ints(ins[0], o.scaleA, o.dtypeA), qb = t.ints(ins[1], o.scaleB, o.dtypeB);
    const acc = t.keep(matmulResident(dev, qa, qb));
    return [finishGpu(dev, acc, Math.fround(o.scaleA) * Math.fround(o.scaleB), 1, o)];
  } finally {
    t.release();
  }
};

/**
 * convTransposeFake: the `conv_transpose2d` instruction on a fake-quantized input, requantized and
 * dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convTransposeFakeGpu } from "./int_twins.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2), [1, 1, 1, 2]), w = uploadTensor(dev, Float32Array.of(0.5, 1), [1, 1, 1, 2]);
 *   const attrs = {
 *     sx: 1, dtypeIn: "qint8", sw: [0.5], output: { dtype: "qint8", scale: 0.5 },
 *     stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], dilation: [1, 1], groups: 1,
 *   } as const;
 *   const [y] = convTransposeFakeGpu(dev, [x, w], attrs, [{ shape: [1, 1, 1, 4], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0.5,1,1,2");
 *   dev.destroy();
 * }
 * ```
 */
export const convTransposeFakeGpu: GpuKernel<OpAttrs["convTransposeFake"]> = (dev, ins, o) => {
  const t = new Temps(dev), [x, w, bias] = ins, [cin, cog, kh, kw] = w.shape;
  try {
    const sx = Math.fround(o.sx), sw = Float32Array.from(o.sw);
    const rows = t.up(convTransposeScales(sw, cin, o.groups), [cin * cog]);
    const wq = t.keep(quantizeGpu(dev, w, rows, { dtype: "qint8", channels: cin * cog, inner: kh * kw }));
    const swT = t.up(sw, [sw.length]);
    const bq = bias
      ? t.keep(runElem(
        dev,
        {
          name: "quantizeBias",
          inputs: [{ name: "b", dtype: "float32" }, { name: "sw", dtype: "float32" }],
          out: "int32",
          uniforms: [{ name: "sx", type: "f32" }],
          functions: [QUANT_BIAS],
          elem: "  return quantize_bias(ld_b(i), u_sx(), ld_sw(i));",
        },
        [bias, swT],
        bias.shape,
        { sx },
      ))
      : undefined;
    const acc = t.keep(convTransposeResident(dev, t.ints(x, o.sx, o.dtypeIn), { weight: wq, geometry: o }));
    const plan = requantPlan(
      { numerator: Float64Array.from(sw, (s) => sx * s), divisor: 1 },
      o.output,
      o.activation,
    );
    const inner = acc.shape[2] * acc.shape[3];
    return [requantGpu(dev, acc, plan, { channels: sw.length, inner, out: "float32", bias: bq })];
  } finally {
    t.release();
  }
};

/**
 * softmaxFake: the `softmax` instruction on a fake-quantized tensor, requantized and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { softmaxFakeGpu } from "./int_twins.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(2, 2), [1, 2]);
 *   const attrs = { axis: 1, scaleIn: 0.5, dtypeIn: "qint8", outScale: 1 / 128, dtype: "qint8" } as const;
 *   const [y] = softmaxFakeGpu(dev, [x], attrs, [{ shape: [1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0.5,0.5");
 *   dev.destroy();
 * }
 * ```
 */
export const softmaxFakeGpu: GpuKernel<OpAttrs["softmaxFake"]> = (dev, ins, o) => {
  const t = new Temps(dev), table = softmaxExpTable(o.scaleIn, o.dtypeIn);
  try {
    const q = t.ints(ins[0], o.scaleIn, o.dtypeIn);
    const p = t.keep(softmaxResident(dev, q, { axis: o.axis, table: t.up(table, [table.length]) }));
    return [finishGpu(dev, p, 1, 2 ** 16, o)];
  } finally {
    t.release();
  }
};
