/**
 * The integer kernels of the fixed-point model on GPU-resident tensors: each records its dispatches on
 * the device and returns a new {@linkcode GpuTensor} the caller owns, with no upload and no readback, so
 * a whole network runs between one input upload and one output read. Weights, biases and requantization
 * parameters are uploaded once ({@linkcode uploadRequant}, `uploadTensor`) and reused by every call.
 * They are exact int32 accumulation (`convForward`, `linearAccumulate`), window sums, max pooling,
 * concatenation and quantization, plus one requantization kernel that reads its parameters from a
 * resident buffer and takes any integer input — the kernels `@hqat/program`'s WebGPU executor runs.
 * @module
 */
import { addAlignment, qrange } from "@hqat/qtensor";
import type { DType } from "../dtype.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { type Conv2dGeometry, convDims } from "../cpu/conv2d_shapes.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { convForward } from "./conv.ts";
import { type GpuTensor, uploadTensor } from "./gpu_tensor.ts";
import { linearAccumulate, quantizeGpu, windowSums } from "./int_fake_ops.ts";
import { concatGpu } from "./movement.ts";
import { maxPoolInto } from "./pool.ts";
import type { RequantPlan } from "./requant_kernel.ts";
import { REQUANT } from "./wgsl_lib.ts";

/** Throws a TypeError unless `dtype` is one of `allowed`. */
function expect(what: string, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype)) {
    throw new TypeError(`${what} must be one of ${allowed.join(", ")}, not ${dtype}`);
  }
}

/** A requantization whose per-channel words (M, n, upper bound, scale bits) live in a GPU buffer. */
export interface ResidentRequant {
  /** Int32 words, four per channel. */
  readonly params: GpuTensor;
  /** Channels of the plan (1 for one multiplier and bound for all). */
  readonly channels: number;
  /** The shared lower clamp bound. */
  readonly lo: number;
}

/**
 * Uploads a {@linkcode RequantPlan} once: four int32 words per channel (M, n, upper bound, float32
 * scale bits), as `requantGpu` packs them. Release it with `releaseTensor(dev, rq.params)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { requantPlan } from "./requant_kernel.ts";
 * import { uploadRequant } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const rq = uploadRequant(dev, requantPlan({ numerator: [0.5, 0.25], divisor: 1 }, { dtype: "qint8", scale: 1 }));
 *   assert(rq.channels === 2 && rq.lo === -128);
 *   dev.destroy();
 * }
 * ```
 */
export function uploadRequant(dev: WebGpuDevice, plan: RequantPlan): ResidentRequant {
  const channels = Math.max(plan.mult.length, plan.hi.length, 1);
  const words = new Int32Array(channels * 4);
  const f = new Float32Array(words.buffer);
  const at = <T>(a: ArrayLike<T>, c: number) => a[a.length === 1 ? 0 : c];
  for (let c = 0; c < channels; c++) {
    const m = at(plan.mult, c);
    words[c * 4] = m.M;
    words[c * 4 + 1] = m.n;
    words[c * 4 + 2] = at(plan.hi, c);
    f[c * 4 + 3] = at(plan.scale, c);
  }
  return { params: uploadTensor(dev, words, [channels * 4]), channels, lo: plan.lo };
}

/** An int32 bias added per channel before requantization. */
export interface ResidentBias {
  /** The int32 biases, one per channel. */
  readonly tensor: GpuTensor;
  /** Elements after the channel axis (bias channel `(i / inner) % channels`). */
  readonly inner: number;
}

/** Options of {@linkcode requantResident}. */
export interface RequantResidentOptions {
  /** The uploaded requantization. */
  readonly requant: ResidentRequant;
  /** Elements after the channel axis (channel `(i / inner) % channels`). */
  readonly inner: number;
  /** Output dtype: int8, int16 or int32. */
  readonly out: DType;
  /** An int32 bias added first (with int32 wrap-around). */
  readonly bias?: ResidentBias;
}

/**
 * Requantizes an integer tensor (int8, int16 or int32) on the GPU: `y = clamp(floor((x · M + 2^(n-1)) /
 * 2^n), lo, hi)` per channel — SPEC.md's rule, `@hqat/qtensor`'s `requantize`; with `M = 1, n = 0` a plain
 * clamp (ReLU / ReLU6 on the integers, or an int32 accumulator kept with its bias added).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { requantPlan } from "./requant_kernel.ts";
 * import { requantResident, uploadRequant } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const requant = uploadRequant(dev, requantPlan({ numerator: [0.5], divisor: 1 }, { dtype: "qint8", scale: 1 }));
 *   const x = uploadTensor(dev, Int16Array.of(3, -3, 1000), [3]);
 *   const y = requantResident(dev, x, { requant, inner: 3, out: "int8" });
 *   assert((await readTensor(dev, y)).join() === "2,-1,127");
 *   dev.destroy();
 * }
 * ```
 */
export function requantResident(dev: WebGpuDevice, x: GpuTensor, o: RequantResidentOptions): GpuTensor {
  const ints = ["int8", "int16", "int32"] as const;
  expect("requantResident(): the output", o.out, ints);
  expect("requantResident(): the input", x.dtype, ints);
  const bias = o.bias;
  const inputs = [{ name: "x", dtype: x.dtype }, { name: "p", dtype: "int32" as const }];
  if (bias) inputs.push({ name: "bias", dtype: "int32" });
  return runElem(
    dev,
    {
      name: `requant_resident${bias ? "_bias" : ""}`,
      inputs,
      out: o.out,
      uniforms: [
        { name: "ch", type: "u32" },
        { name: "inner", type: "u32" },
        { name: "lo", type: "i32" },
        { name: "bch", type: "u32" },
        { name: "binner", type: "u32" },
      ],
      functions: [REQUANT],
      elem: `  let c = (i / u_inner()) % u_ch();
  let a = ld_x(i)${bias ? " + ld_bias((i / u_binner()) % u_bch())" : ""};
  return requant(a, bitcast<u32>(ld_p(c * 4u)), bitcast<u32>(ld_p(c * 4u + 1u)), u_lo(), ld_p(c * 4u + 2u));`,
    },
    bias ? [x, o.requant.params, bias.tensor] : [x, o.requant.params],
    x.shape,
    {
      ch: Math.max(1, o.requant.channels),
      inner: Math.max(1, o.inner),
      lo: o.requant.lo,
      bch: Math.max(1, bias ? sizeOf(bias.tensor.shape) : 1),
      binner: Math.max(1, bias?.inner ?? 1),
    },
  );
}

/**
 * SPEC.md's int32 add sum `a · 2^k + b · t` of two int8/int16 tensors of one shape (`a` is the operand
 * with the larger scale; `k` and `t` from `@hqat/qtensor`'s `addAlignment`), with int32 wrap-around.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { addSumResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, -2), [2]), b = uploadTensor(dev, Int16Array.of(3, 4), [2]);
 *   const s = addSumResident(dev, [a, b], { k: 4, t: 5 });
 *   assert((await readTensor(dev, s)).join() === "31,-12");
 *   dev.destroy();
 * }
 * ```
 */
export function addSumResident(
  dev: WebGpuDevice,
  operands: readonly [GpuTensor, GpuTensor],
  align: { readonly k: number; readonly t: number },
): GpuTensor {
  const [a, b] = operands;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`intAdd(): shapes [${a.shape}] and [${b.shape}] differ`);
  }
  return runElem(
    dev,
    {
      name: "intAddSum",
      inputs: [{ name: "a", dtype: a.dtype }, { name: "b", dtype: b.dtype }],
      out: "int32",
      uniforms: [{ name: "pk", type: "i32" }, { name: "t", type: "i32" }],
      elem: "  return ld_a(i) * u_pk() + ld_b(i) * u_t();",
    },
    [a, b],
    a.shape,
    { pk: 2 ** align.k | 0, t: align.t },
  );
}

/**
 * The operand order and alignment of `@hqat/qtensor`'s `intAdd`: the operand with the larger scale is
 * shifted by `2^k` (`swap` when that is the second one), the other multiplied by `t`; the sum has scale
 * `shiftedScale / 2^k`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { addPlan } from "./int_resident.ts";
 * const p = addPlan({ scale: 0.25, dtype: "qint8" }, { scale: 0.5, dtype: "qint8" });
 * assert(p.swap && p.k === 15 && p.t === 16384 && p.shiftedScale === 0.5);
 * ```
 */
export function addPlan(
  a: { readonly scale: number; readonly dtype: "qint8" | "qint16" },
  b: { readonly scale: number; readonly dtype: "qint8" | "qint16" },
): { swap: boolean; k: number; t: number; shiftedScale: number } {
  const swap = !(a.scale >= b.scale);
  const [x, y] = swap ? [b, a] : [a, b];
  const { k, t } = addAlignment(x.scale, y.scale, { dtype: x.dtype });
  return { swap, k, t, shiftedScale: x.scale };
}

/**
 * The exact int32 accumulator (no bias) of a convolution of int8/int16 `x` [N, C, H, W] by the resident
 * int8 weight [O, C / groups, kh, kw]: implicit GEMM, or direct loops for depthwise and narrow groups.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convAccResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 1, 2, 2]), w = uploadTensor(dev, Int8Array.of(2), [1, 1, 1, 1]);
 *   const geometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   assert((await readTensor(dev, convAccResident(dev, x, { weight: w, geometry }))).join() === "2,4,6,8");
 *   dev.destroy();
 * }
 * ```
 */
export function convAccResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly weight: GpuTensor; readonly geometry: Conv2dGeometry },
): GpuTensor {
  expect("intConv2d(): the input", x.dtype, ["int8", "int16"]);
  return convForward(dev, x, o.weight, convDims(x.shape, o.weight.shape, o.geometry, "intConv2d()"));
}

/**
 * The exact int32 accumulator (no bias) of a linear layer: int8/int16 `x` [..., K] by the resident int8
 * weight [O, K], giving [..., O].
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { linearAccResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3), [1, 3]), w = uploadTensor(dev, Int8Array.of(1, 1, 1, -1, 0, 1), [2, 3]);
 *   assert((await readTensor(dev, linearAccResident(dev, x, { weight: w }))).join() === "6,2");
 *   dev.destroy();
 * }
 * ```
 */
export function linearAccResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly weight: GpuTensor },
): GpuTensor {
  const K = o.weight.shape[1];
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== K) {
    throw new RangeError(`intLinear(): input [${x.shape}] does not end in the weight's ${K} input features`);
  }
  expect("intLinear(): the input", x.dtype, ["int8", "int16"]);
  return linearAccumulate(dev, x, o.weight);
}

/** Window geometry of the integer pooling kernels. */
export interface PoolWindow {
  /** Window [kh, kw]. */
  readonly kernel: readonly [number, number];
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Padding [ph, pw] on each side, at most half the window. */
  readonly padding: readonly [number, number];
  /** Dilation [dh, dw] (max pooling only; default 1). */
  readonly dilation?: readonly [number, number];
}

/** The output shape of a pooling of `shape` (NCHW), checked as `@hqat/qtensor`'s pooling kernels check it. */
function poolOutShape(shape: Shape, g: PoolWindow, op: string): number[] {
  if (shape.length !== 4) throw new RangeError(`${op}: the input [${shape}] must be 4-d (NCHW)`);
  const [N, C, H, W] = shape;
  const [kh, kw] = g.kernel, [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation ?? [1, 1];
  if (2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(`${op}: padding ${ph}x${pw} exceeds half the ${kh}x${kw} kernel`);
  }
  const OH = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (OH < 1 || OW < 1) throw new RangeError(`${op}: a ${kh}x${kw} window does not fit the ${H}x${W} input`);
  return [N, C, OH, OW];
}

/**
 * The int32 window sums of average pooling (padding counted as zeros) of an int8/int16 tensor.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { windowSumResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const s = windowSumResident(dev, x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
 *   assert((await readTensor(dev, s)).join() === "10");
 *   dev.destroy();
 * }
 * ```
 */
export function windowSumResident(dev: WebGpuDevice, x: GpuTensor, g: PoolWindow): GpuTensor {
  const op = "intAvgPool2d()";
  expect(`${op}: the input`, x.dtype, ["int8", "int16"]);
  if (g.kernel[0] * g.kernel[1] > 65535) {
    throw new RangeError(`${op}: a ${g.kernel[0]}x${g.kernel[1]} window sum may overflow int32`);
  }
  return windowSums(dev, x, poolOutShape(x.shape, g, op), g);
}

/**
 * Max pooling on the integers (with dilation): padded cells never win; dtype kept.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxPoolResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(-5, -2, -7, -1), [1, 1, 2, 2]);
 *   const y = maxPoolResident(dev, x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
 *   assert((await readTensor(dev, y)).join() === "-1");
 *   dev.destroy();
 * }
 * ```
 */
export function maxPoolResident(dev: WebGpuDevice, x: GpuTensor, g: PoolWindow): GpuTensor {
  return maxPoolInto(dev, x, poolOutShape(x.shape, g, "intMaxPool2d()"), g);
}

/**
 * Concatenates integer tensors of one dtype along `axis` (the other dimensions equal).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { catResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, 2), [1, 2]), b = uploadTensor(dev, Int8Array.of(3), [1, 1]);
 *   assert((await readTensor(dev, catResident(dev, [a, b], { axis: 1 }))).join() === "1,2,3");
 *   dev.destroy();
 * }
 * ```
 */
export function catResident(
  dev: WebGpuDevice,
  parts: readonly GpuTensor[],
  o: { readonly axis: number },
): GpuTensor {
  if (parts.length === 0) throw new RangeError("intCat() needs at least one input");
  const first = parts[0], rank = first.shape.length;
  const axis = o.axis < 0 ? o.axis + rank : o.axis;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw new RangeError(`Axis ${o.axis} is out of range for rank ${rank}`);
  }
  const shape = [...first.shape];
  shape[axis] = 0;
  for (const [i, t] of parts.entries()) {
    if (t.dtype !== first.dtype) {
      throw new TypeError(`intCat(): input ${i} is ${t.dtype}, not ${first.dtype}`);
    }
    if (t.shape.length !== rank || t.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
      throw new RangeError(
        `intCat(): input ${i} [${t.shape}] does not match [${first.shape}] off axis ${axis}`,
      );
    }
    shape[axis] += t.shape[axis];
  }
  return concatGpu(dev, parts, { axis }, [{ shape, dtype: first.dtype }])[0];
}

/**
 * QuantStub on the GPU: float32 `x` to `round(x / s)` (ties to even, a correctly rounded float32
 * quotient) clamped to `dtype`, with `scale` a resident one-element float32 tensor. NaN inputs are the
 * caller's to reject (the CPU throws).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { quantizeResident } from "./int_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0.3, -1, 0.25, 100), [4]), scale = uploadTensor(dev, Float32Array.of(0.5), [1]);
 *   assert((await readTensor(dev, quantizeResident(dev, x, { scale, dtype: "qint8" }))).join() === "1,-2,0,127");
 *   dev.destroy();
 * }
 * ```
 */
export function quantizeResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly scale: GpuTensor; readonly dtype: "qint8" | "qint16" },
): GpuTensor {
  qrange(o.dtype);
  expect("quantStub(): the input", x.dtype, ["float32"]);
  return quantizeGpu(dev, x, o.scale, { dtype: o.dtype, channels: 1, inner: sizeOf(x.shape) });
}
