/**
 * 2-D convolution kernels on Float32Arrays (NCHW, weights [Co, C / groups, kh, kw]): forward, input
 * gradient and weight gradient. They run on the WebAssembly kernels (SIMD, split across the kernel
 * threads) and fall back to the plain-TypeScript loops where WebAssembly cannot run them. Inputs are
 * never modified; every result is a fresh array.
 * @module
 */
import {
  conv2dBackwardInputReference,
  conv2dBackwardWeightReference,
  conv2dForwardReference,
} from "./conv2d_reference.ts";
import {
  checkLength,
  checkOutputShape,
  type Conv2dGeometry,
  type ConvDims,
  convDims,
} from "./conv2d_shapes.ts";
import { conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm } from "./conv2d_wasm.ts";
import { clampKernel } from "./elementwise.ts";
import { channelAffineKernel } from "./norm.ts";
import { KernelMemoryError, type KernelRuntime, kernelRuntime } from "./wasm_runtime.ts";

export { type Conv2dGeometry, conv2dOutputSize } from "./conv2d_shapes.ts";

/** Runs `fast` on the kernel runtime, or `slow` when there is none or the operation outgrows its memory. */
function withKernels(fast: (rt: KernelRuntime) => Float32Array, slow: () => Float32Array): Float32Array {
  const rt = kernelRuntime();
  if (!rt) return slow();
  try {
    rt.reset();
    return fast(rt);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

function isEmpty(d: ConvDims): boolean {
  return d.n * d.co * d.ho * d.wo === 0 || d.c * d.kh * d.kw === 0;
}

/**
 * y[N, Co, Ho, Wo] = conv(x[N, C, H, W], w[Co, C / groups, kh, kw]) (+ bias[Co] if given), with zero
 * padding. Throws a RangeError for inconsistent shapes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dForward } from "./conv2d.ts";
 * const geo = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * const x = new Float32Array(9).fill(1); // 1×1×3×3 ones
 * const w = new Float32Array(9).fill(1); // 1×1×3×3 box filter
 * const y = conv2dForward(x, [1, 1, 3, 3], w, [1, 1, 3, 3], geo);
 * assert(y.join() === "4,6,4,6,9,6,4,6,4");
 * ```
 */
export function conv2dForward(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  geo: Conv2dGeometry & { bias?: Float32Array },
): Float32Array {
  const op = "conv2dForward";
  const d = convDims(xShape, wShape, geo, op);
  checkLength(x, xShape, "x", op);
  checkLength(w, wShape, "w", op);
  const bias = geo.bias;
  if (bias && bias.length !== d.co) {
    throw new RangeError(
      `${op}: bias has ${bias.length} elements but the weight has ${d.co} output channels`,
    );
  }
  const size = d.n * d.co * d.ho * d.wo;
  if (isEmpty(d)) return conv2dForwardReference(x, w, d, bias);
  return withKernels((rt) => {
    const xp = rt.put(x), wp = rt.put(w), yp = rt.alloc(size);
    conv2dForwardWasm(rt, d, xp, wp, yp, bias ? rt.put(bias) : undefined);
    return rt.take(yp, size);
  }, () => conv2dForwardReference(x, w, d, bias));
}

/** The epilogue of {@linkcode conv2dForwardAffine}: per-output-channel scale and shift, then a clamp. */
export interface ConvAffine {
  /** scale[Co]. */
  scale: Float32Array;
  /** shift[Co]. */
  shift: Float32Array;
  /** Lower clamp bound (−∞ for none). */
  min: number;
  /** Upper clamp bound (+∞ for none). */
  max: number;
}

/**
 * y = clamp(conv(x, w) · scale[c] + shift[c], min, max): an inference convolution with its batch norm
 * (fixed statistics) and activation in the epilogue, equal bit for bit to `conv2dForward`, then
 * `channelAffineKernel`, then `clampKernel`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dForwardAffine } from "./conv2d.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const affine = { scale: Float32Array.of(2), shift: Float32Array.of(-5), min: 0, max: 6 };
 * const y = conv2dForwardAffine(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2], Float32Array.of(1), [1, 1, 1, 1], {
 *   ...geo,
 *   affine,
 * });
 * assert(y.join() === "0,0,1,3");
 * ```
 */
export function conv2dForwardAffine(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  geo: Conv2dGeometry & { affine: ConvAffine },
): Float32Array {
  const op = "conv2dForwardAffine";
  const d = convDims(xShape, wShape, geo, op);
  checkLength(x, xShape, "x", op);
  checkLength(w, wShape, "w", op);
  const { scale, shift, min, max } = geo.affine;
  if (scale.length !== d.co || shift.length !== d.co) {
    throw new RangeError(
      `${op}: scale and shift must have ${d.co} elements, got ${scale.length} and ${shift.length}`,
    );
  }
  const size = d.n * d.co * d.ho * d.wo;
  const slow = () => {
    const yShape = [d.n, d.co, d.ho, d.wo];
    const y = channelAffineKernel(conv2dForwardReference(x, w, d), yShape, scale, shift);
    return clampKernel(y, min, max, "float32") as Float32Array;
  };
  if (isEmpty(d)) return slow();
  return withKernels((rt) => {
    const xp = rt.put(x), wp = rt.put(w), yp = rt.alloc(size);
    const ep = { scale: rt.put(scale), shift: rt.put(shift), clamp: rt.put(Float32Array.of(min, max)) };
    conv2dForwardWasm(rt, d, xp, wp, yp, undefined, ep);
    return rt.take(yp, size);
  }, slow);
}

/**
 * dL/dx[N, C, H, W] of the convolution, given dy = dL/dy[N, Co, Ho, Wo] and the weight.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBackwardInput } from "./conv2d.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, xShape: [1, 1, 2, 2] } as const;
 * const dx = conv2dBackwardInput(new Float32Array([2]), [1, 1, 1, 1], new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2], geo);
 * assert(dx.join() === "2,4,6,8");
 * ```
 */
export function conv2dBackwardInput(
  dy: Float32Array,
  dyShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  geo: Conv2dGeometry & { xShape: readonly number[] },
): Float32Array {
  const op = "conv2dBackwardInput";
  const d = convDims(geo.xShape, wShape, geo, op);
  checkOutputShape(dyShape, d, op);
  checkLength(dy, dyShape, "dy", op);
  checkLength(w, wShape, "w", op);
  const size = d.n * d.c * d.h * d.w;
  if (isEmpty(d)) return conv2dBackwardInputReference(dy, w, d);
  return withKernels((rt) => {
    const dyp = rt.put(dy), wp = rt.put(w), dxp = rt.alloc(size);
    conv2dBackwardInputWasm(rt, d, dyp, wp, dxp);
    return rt.take(dxp, size);
  }, () => conv2dBackwardInputReference(dy, w, d));
}

/**
 * dL/dw[Co, C / groups, kh, kw] of the convolution, given dy = dL/dy and the input x (summed over
 * the batch).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dBackwardWeight } from "./conv2d.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, wShape: [1, 1, 2, 2] } as const;
 * const dw = conv2dBackwardWeight(new Float32Array([2]), [1, 1, 1, 1], new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2], geo);
 * assert(dw.join() === "2,4,6,8");
 * ```
 */
export function conv2dBackwardWeight(
  dy: Float32Array,
  dyShape: readonly number[],
  x: Float32Array,
  xShape: readonly number[],
  geo: Conv2dGeometry & { wShape: readonly number[] },
): Float32Array {
  const op = "conv2dBackwardWeight";
  const d = convDims(xShape, geo.wShape, geo, op);
  checkOutputShape(dyShape, d, op);
  checkLength(dy, dyShape, "dy", op);
  checkLength(x, xShape, "x", op);
  const size = d.co * d.cg * d.kh * d.kw;
  if (isEmpty(d)) return conv2dBackwardWeightReference(dy, x, d);
  return withKernels((rt) => {
    const dyp = rt.put(dy), xp = rt.put(x), dwp = rt.alloc(size);
    conv2dBackwardWeightWasm(rt, d, dyp, xp, dwp);
    return rt.take(dwp, size);
  }, () => conv2dBackwardWeightReference(dy, x, d));
}
