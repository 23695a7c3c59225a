/**
 * The integer kernels of the fixed-point model on the GPU, bit-exact with `@hqat/qtensor`'s reference
 * kernels and taking the same operands and options (plus the device): conv2d, linear, add and
 * requantization (the pooling kernels are in `int_pool_kernels.ts`). Validation, the int32 bias, multipliers and
 * clamp bounds are computed by `@hqat/qtensor` itself; the accumulation and the requantization (64-bit
 * product in 32-bit pieces, fused ReLU / ReLU6) run on the GPU.
 * @module
 */
import {
  activationBounds,
  addAlignment,
  allocForRange,
  type IntAddOptions,
  type IntConv2dOptions,
  type IntLinearOptions,
  type Multiplier,
  prepareIntLayer,
  qdtypeOfArray,
  type QTensor,
  qtensor,
  type RequantizeOptions,
  resolveLayout,
  resolveRange,
  size2d,
} from "@hqat/qtensor";
import type { TypedArray } from "../dtype.ts";
import { convDims } from "../cpu/conv2d_shapes.ts";
import type { WebGpuDevice } from "./device.ts";
import { convForward } from "./conv.ts";
import { runElem } from "./elem_kernel.ts";
import { readTensor, uploadTensor, withTensors } from "./gpu_tensor.ts";
import { linearAccumulate, QDTYPE_STORAGE } from "./int_fake_ops.ts";
import { requantGpu, type RequantPlan, requantPlan } from "./requant_kernel.ts";

/** The device option of the GPU integer kernels. */
export interface GpuOption {
  /** The device to run on. */
  readonly device: WebGpuDevice;
}

/** The QTensor of a finished accumulator, with finishAccumulator's scale metadata. */
function outputTensor(
  data: TypedArray,
  shape: readonly number[],
  axis: number,
  plan: RequantPlan,
  output: IntConv2dOptions["output"],
): QTensor {
  const q = data as Int8Array | Int16Array | Int32Array;
  if (output.dtype === "qint32") return qtensor(q, { shape, scale: plan.scale, axis });
  return qtensor(q, { shape, scale: output.scale, dtype: output.dtype });
}

/**
 * `@hqat/qtensor`'s `intConv2d` on the GPU: exact int32 accumulation (implicit GEMM, or direct loops for
 * depthwise), requantization per output channel with the fused activation, or the 32-bit output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intConv2dGpu } from "./int_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(10, 20, 30, 40), { shape: [1, 1, 2, 2], scale: 0.5 });
 *   const w = qtensor(Int8Array.of(2), { shape: [1, 1, 1, 1], scale: [0.25], axis: 0 });
 *   const y = await intConv2dGpu(x, w, { bias: [1], output: { dtype: "qint8", scale: 0.5 }, device });
 *   assert(y.data.join() === "7,12,17,22");
 *   device.destroy();
 * }
 * ```
 */
export function intConv2dGpu(
  x: QTensor,
  w: QTensor,
  options: IntConv2dOptions & GpuOption,
): Promise<QTensor> {
  const op = "intConv2d()";
  if (x.shape.length !== 4 || w.shape.length !== 4) {
    throw new RangeError(`${op}: input [${x.shape}] and weight [${w.shape}] must both be 4-d (NCHW, OIHW)`);
  }
  const [, C] = x.shape;
  const [O, Cg] = w.shape;
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || C / groups !== Cg) {
    throw new RangeError(
      `${op}: ${C} input channels, ${O} output channels and weight [${w.shape}] do not fit ${groups} groups`,
    );
  }
  const geo = {
    stride: size2d(options.stride ?? 1, "stride", 1),
    padding: size2d(options.padding ?? 0, "padding", 0),
    dilation: size2d(options.dilation ?? 1, "dilation", 1),
    groups,
  };
  const [kh, kw] = [w.shape[2], w.shape[3]];
  const OH = Math.floor((x.shape[2] + 2 * geo.padding[0] - geo.dilation[0] * (kh - 1) - 1) / geo.stride[0]) +
    1;
  const OW = Math.floor((x.shape[3] + 2 * geo.padding[1] - geo.dilation[1] * (kw - 1) - 1) / geo.stride[1]) +
    1;
  if (OH < 1 || OW < 1) {
    throw new RangeError(
      `${op}: a ${kh}x${kw} kernel does not fit the padded ${x.shape[2]}x${x.shape[3]} input`,
    );
  }
  const layer = prepareIntLayer(x, w, { ...options, op });
  const plan = requantPlan({ numerator: layer.accScale, divisor: 1 }, options.output, options.activation);
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const xg = keep(uploadTensor(dev, x.data, x.shape)), wg = keep(uploadTensor(dev, w.data, w.shape));
    const bias = layer.bias ? keep(uploadTensor(dev, layer.bias, [O])) : undefined;
    const acc = keep(convForward(dev, xg, wg, convDims(x.shape, w.shape, geo, op)));
    const out = QDTYPE_STORAGE[options.output.dtype];
    const data = await readTensor(
      dev,
      keep(requantGpu(dev, acc, plan, { channels: O, inner: OH * OW, out, bias })),
    );
    return outputTensor(data, acc.shape, 1, plan, options.output);
  });
}

/**
 * `@hqat/qtensor`'s `intLinear` on the GPU: `[..., K]` by `[O, K]`, exact int32 accumulation (tiled GEMM),
 * requantization per output feature, or the 32-bit output along the last axis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intLinearGpu } from "./int_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(1, 2, 3), { shape: [1, 3], scale: 1 });
 *   const w = qtensor(Int8Array.of(1, 1, 1, -1, 0, 1), { shape: [2, 3], scale: [1, 0.5], axis: 0 });
 *   const y = await intLinearGpu(x, w, { output: { dtype: "qint32" }, device });
 *   assert(y.data.join() === "6,2" && y.scale.join() === "1,0.5" && y.axis === 1);
 *   device.destroy();
 * }
 * ```
 */
export function intLinearGpu(
  x: QTensor,
  w: QTensor,
  options: IntLinearOptions & GpuOption,
): Promise<QTensor> {
  const op = "intLinear()";
  if (w.shape.length !== 2 || x.shape.length < 1) {
    throw new RangeError(`${op}: weight [${w.shape}] must be 2-d and the input at least 1-d`);
  }
  const [O, K] = w.shape;
  if (x.shape[x.shape.length - 1] !== K) {
    throw new RangeError(`${op}: input [${x.shape}] does not end in the weight's ${K} input features`);
  }
  const layer = prepareIntLayer(x, w, { ...options, op });
  const plan = requantPlan({ numerator: layer.accScale, divisor: 1 }, options.output, options.activation);
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const xg = keep(uploadTensor(dev, x.data, x.shape)), wg = keep(uploadTensor(dev, w.data, w.shape));
    const bias = layer.bias ? keep(uploadTensor(dev, layer.bias, [O])) : undefined;
    const acc = keep(linearAccumulate(dev, xg, wg));
    const out = QDTYPE_STORAGE[options.output.dtype];
    const data = await readTensor(
      dev,
      keep(requantGpu(dev, acc, plan, { channels: O, inner: 1, out, bias })),
    );
    return outputTensor(data, acc.shape, acc.shape.length - 1, plan, options.output);
  });
}

/**
 * `@hqat/qtensor`'s `intAdd` on the GPU: `x · 2^k + y · t` (operands swapped so that `sx ≥ sy`) in int32,
 * requantized to the output with the fused activation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qtensor } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { intAddGpu } from "./int_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const x = qtensor(Int8Array.of(10, -4), { shape: [2], scale: 0.5 });
 *   const y = qtensor(Int8Array.of(3, 100), { shape: [2], scale: 0.25 });
 *   const z = await intAddGpu(x, y, { output: { dtype: "qint8", scale: 0.25 }, device });
 *   assert(z.data.join() === "23,92");
 *   device.destroy();
 * }
 * ```
 */
export function intAddGpu(x: QTensor, y: QTensor, options: IntAddOptions & GpuOption): Promise<QTensor> {
  for (const [label, q] of [["first", x], ["second", y]] as const) {
    if (q.dtype !== "qint8" && q.dtype !== "qint16") {
      throw new TypeError(`intAdd(): the ${label} operand must be qint8 or qint16, not ${q.dtype}`);
    }
    if (q.scale.length !== 1) {
      throw new RangeError(`intAdd(): the ${label} operand needs one per-tensor scale`);
    }
  }
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new RangeError(`intAdd(): shapes [${x.shape}] and [${y.shape}] differ`);
  }
  const [a, b] = x.scale[0] >= y.scale[0] ? [x, y] : [y, x];
  const sx = a.scale[0];
  const { k, t } = addAlignment(sx, b.scale[0], { dtype: a.dtype as "qint8" | "qint16" });
  const plan = requantPlan({ numerator: [sx], divisor: 2 ** k }, options.output, options.activation);
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const ag = keep(uploadTensor(dev, a.data, a.shape)), bg = keep(uploadTensor(dev, b.data, b.shape));
    const sum = keep(runElem(
      dev,
      {
        name: "intAddSum",
        inputs: [{ name: "a", dtype: ag.dtype }, { name: "b", dtype: bg.dtype }],
        out: "int32",
        uniforms: [{ name: "pk", type: "i32" }, { name: "t", type: "i32" }],
        elem: "  return ld_a(i) * u_pk() + ld_b(i) * u_t();",
      },
      [ag, bg],
      x.shape,
      { pk: 2 ** k, t },
    ));
    const data = await readTensor(
      dev,
      keep(requantGpu(dev, sum, plan, {
        channels: 1,
        inner: 1,
        out: QDTYPE_STORAGE[options.output.dtype],
      })),
    );
    return qtensor(data as Int8Array | Int16Array, {
      shape: x.shape,
      scale: options.output.scale,
      dtype: options.output.dtype,
    });
  });
}

/**
 * `@hqat/qtensor`'s `requantize` on the GPU: `clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi)` per tensor or
 * per channel (along `axis` of `shape`), into the narrowest integer array holding the range.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { computeMultiplier } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { requantizeGpu } from "./int_kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const y = await requantizeGpu(Int32Array.of(1000, -1000, 100000), computeMultiplier(0.01), { dtype: "qint8", device });
 *   assert(y instanceof Int8Array && y.join() === "10,-10,127");
 *   device.destroy();
 * }
 * ```
 */
export function requantizeGpu(
  acc: Int32Array,
  multiplier: Multiplier | readonly Multiplier[],
  options: RequantizeOptions & GpuOption,
): Promise<Int8Array | Int16Array | Int32Array> {
  const range = resolveRange(options);
  const mult = "M" in multiplier ? [multiplier] : multiplier as readonly Multiplier[];
  if (mult.length === 0) throw new RangeError("requantize() needs at least one multiplier");
  const { channels, inner } = resolveLayout(mult.length, acc.length, options);
  const { lo, hi } = activationBounds(range, options);
  if (hi.length !== 1 && hi.length !== channels) {
    throw new RangeError(`requantize(): ${hi.length} output scales for ${channels} channels`);
  }
  const store = qdtypeOfArray(allocForRange(range, 0));
  const dev = options.device;
  return withTensors(dev, async (keep) => {
    const a = keep(uploadTensor(dev, acc, [acc.length]));
    const plan = { mult, lo, hi, scale: [1] };
    const data = await readTensor(
      dev,
      keep(requantGpu(dev, a, plan, { channels, inner, out: QDTYPE_STORAGE[store] })),
    );
    return data as Int8Array | Int16Array | Int32Array;
  });
}
