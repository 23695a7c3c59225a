/**
 * The integer pooling kernels of the fixed-point model on the GPU, bit-exact with `@hqat/qtensor`'s
 * `intAvgPool2d`, `intAdaptiveAvgPool2d` and `intMaxPool2d`, with the same operands and options (plus
 * the device): int32 window sums requantized on the GPU, and max pooling on the integers.
 * @module
 */
import {
  type IntAdaptiveAvgPool2dOptions,
  type IntAvgPool2dOptions,
  type IntMaxPool2dOptions,
  type QTensor,
  qtensor,
  size2d,
} from "@hqat/qtensor";
import { readTensor, uploadTensor, withTensors } from "./gpu_tensor.ts";
import { QDTYPE_STORAGE, windowSums } from "./int_fake_ops.ts";
import type { GpuOption } from "./int_kernels.ts";
import { maxPoolInto } from "./pool.ts";
import { requantGpu, requantPlan } from "./requant_kernel.ts";

function poolInput(x: QTensor, op: string): void {
  if (x.dtype !== "qint8" && x.dtype !== "qint16") {
    throw new TypeError(`${op}: the input must be qint8 or qint16`);
  }
  if (x.scale.length !== 1) throw new RangeError(`${op}: the input needs one per-tensor scale`);
}

/** Checked pooling geometry and output size, as `@hqat/qtensor`'s pooling kernels check it. */
function poolGeometry(
  x: QTensor,
  g: {
    kernelSize: number | readonly [number, number];
    stride?: number | readonly [number, number];
    padding?: number | readonly [number, number];
  },
  op: string,
  dil: [number, number] = [1, 1],
) {
  if (x.shape.length !== 4) throw new RangeError(`${op}: the input [${x.shape}] must be 4-d (NCHW)`);
  const [N, C, H, W] = x.shape;
  const kernel = size2d(g.kernelSize, "kernelSize", 1);
  const stride = size2d(g.stride ?? g.kernelSize, "stride", 1);
  const padding = size2d(g.padding ?? 0, "padding", 0);
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    throw new RangeError(
      `${op}: padding ${padding[0]}x${padding[1]} exceeds half the ${kernel[0]}x${kernel[1]} kernel`,
    );
  }
  const OH = Math.floor((H + 2 * padding[0] - dil[0] * (kernel[0] - 1) - 1) / stride[0]) + 1;
  const OW = Math.floor((W + 2 * padding[1] - dil[1] * (kernel[1] - 1) - 1) / stride[1]) + 1;
  if (OH < 1 || OW < 1) {
    throw new RangeError(`${op}: a ${kernel[0]}x${kernel[1]} window does not fit the ${H}x${W} input`);
  }
  return { kernel, stride, padding, dilation: dil, outShape: [N, C, OH, OW] };
}

/**
 * `@hqat/qtensor`'s `intAvgPool2d` on the GPU: int32 window sums (padding counted), requantized with
 * `m = sx / (kh · kw · so)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intAvgPool2dGpu } from "./int_pool_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(1, 2, 3, 5), { shape: [1, 1, 2, 2], scale: 1 });
 *   const y = await intAvgPool2dGpu(x, { kernelSize: 2, output: { dtype: "qint8", scale: 1 }, device });
 *   assert(y.data.join() === "3");
 *   device.destroy();
 * }
 * ```
 */
export function intAvgPool2dGpu(x: QTensor, options: IntAvgPool2dOptions & GpuOption): Promise<QTensor> {
  const op = "intAvgPool2d()";
  poolInput(x, op);
  const g = poolGeometry(x, options, op);
  const [kh, kw] = g.kernel;
  if (kh * kw > 65535) throw new RangeError(`${op}: a ${kh}x${kw} window sum may overflow int32`);
  const plan = requantPlan({ numerator: [x.scale[0]], divisor: kh * kw }, options.output, options.activation);
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const sums = keep(windowSums(dev, keep(uploadTensor(dev, x.data, x.shape)), g.outShape, g));
    const data = await readTensor(
      dev,
      keep(requantGpu(dev, sums, plan, {
        channels: 1,
        inner: 1,
        out: QDTYPE_STORAGE[options.output.dtype],
      })),
    );
    return qtensor(data as Int8Array | Int16Array, {
      shape: g.outShape,
      scale: options.output.scale,
      dtype: options.output.dtype,
    });
  });
}

/**
 * `@hqat/qtensor`'s `intAdaptiveAvgPool2d` on the GPU (1×1 output): the average pool over the whole plane.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intAdaptiveAvgPool2dGpu } from "./int_pool_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(1, 2, 3, 4, 5, 6), { shape: [1, 2, 1, 3], scale: 0.5 });
 *   const y = await intAdaptiveAvgPool2dGpu(x, { output: { dtype: "qint8", scale: 0.5 }, device });
 *   assert(y.data.join() === "2,5");
 *   device.destroy();
 * }
 * ```
 */
export function intAdaptiveAvgPool2dGpu(
  x: QTensor,
  options: IntAdaptiveAvgPool2dOptions & GpuOption,
): Promise<QTensor> {
  const [oh, ow] = size2d(options.outputSize ?? 1, "outputSize", 1);
  if (oh !== 1 || ow !== 1) {
    throw new RangeError(`intAdaptiveAvgPool2d(): only a 1x1 output is supported, not ${oh}x${ow}`);
  }
  if (x.shape.length !== 4) {
    throw new RangeError(`intAdaptiveAvgPool2d(): the input [${x.shape}] must be 4-d`);
  }
  return intAvgPool2dGpu(x, { ...options, kernelSize: [x.shape[2], x.shape[3]] });
}

/**
 * `@hqat/qtensor`'s `intMaxPool2d` on the GPU: max over each window (with dilation) on the integers;
 * dtype and scale are kept.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intMaxPool2dGpu } from "./int_pool_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(-5, -2, -7, -1), { shape: [1, 1, 2, 2], scale: 0.5 });
 *   const y = await intMaxPool2dGpu(x, { kernelSize: 2, stride: 1, padding: 1, device });
 *   assert(y.data.join() === "-5,-2,-2,-5,-1,-1,-7,-1,-1");
 *   device.destroy();
 * }
 * ```
 */
export function intMaxPool2dGpu(x: QTensor, options: IntMaxPool2dOptions & GpuOption): Promise<QTensor> {
  const op = "intMaxPool2d()";
  if (x.scale.length !== 1 && x.axis !== 1) {
    throw new RangeError(`${op}: per-channel scales must be on axis 1 (channels), not ${x.axis}`);
  }
  const g = poolGeometry(x, options, op, size2d(options.dilation ?? 1, "dilation", 1));
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const y = keep(maxPoolInto(dev, keep(uploadTensor(dev, x.data, x.shape)), g.outShape, g));
    const data = (await readTensor(dev, y)) as Int8Array | Int16Array | Int32Array;
    return qtensor(data, { shape: g.outShape, scale: x.scale, axis: x.axis, dtype: x.dtype });
  });
}
