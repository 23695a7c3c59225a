/**
 * Fast exact integer accumulators of quantized Conv2d and Linear layers: int8 or int16 activations
 * times int8 weights, summed in int32 with the int32 bias, on the WebAssembly SIMD kernels (split
 * across the kernel threads), and on plain-TypeScript loops where WebAssembly cannot run them. Both give
 * the same integers as `@hqat/qtensor`'s reference accumulation for every layer it accepts (where the
 * worst case fits int32), and agree with each other modulo 2^32 for any input.
 * @module
 */
import { type Conv2dGeometry, type ConvDims, convDims } from "./conv2d_shapes.ts";
import { intConv2dAccumulateReference, intLinearAccumulateReference } from "./int_conv_reference.ts";
import {
  type ActivationBytes,
  type GemmRequant,
  intConv2dWasm,
  intConvGemmRoute,
  intLinearWasm,
} from "./int_conv_wasm.ts";
import {
  checkResidual,
  checkSecondRequant,
  gemmAdd,
  gemmAgain,
  type IntResidual,
  requantAgain,
  residualAdd,
} from "./int_residual.ts";
import {
  checkRequantParams,
  type IntRequantParams,
  intRequantReference,
  intRequantWasm,
} from "./int_requant.ts";
import { checkIntOutput, intoOrSelf } from "./int_output.ts";
import { KernelMemoryError, type KernelRuntime, kernelRuntime } from "./wasm_runtime.ts";

/** Int8 or int16 activations. */
export type IntActivations = Int8Array | Int16Array;

function checkArrays(op: string, x: IntActivations, w: Int8Array): ActivationBytes {
  if (!(x instanceof Int8Array) && !(x instanceof Int16Array)) {
    throw new TypeError(`${op}: the input must be an Int8Array or Int16Array`);
  }
  if (!(w instanceof Int8Array)) throw new TypeError(`${op}: the weight must be an Int8Array`);
  return x instanceof Int8Array ? 1 : 2;
}

function checkSize(data: ArrayLike<number>, shape: readonly number[], what: string, op: string): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new RangeError(
      `${op}: ${what} has ${data.length} elements but its shape [${shape.join(",")}] needs ${size}`,
    );
  }
}

function checkBias(op: string, bias: Int32Array | undefined, channels: number): void {
  if (bias === undefined) return;
  if (!(bias instanceof Int32Array)) throw new TypeError(`${op}: the bias must be an Int32Array`);
  if (bias.length !== channels) {
    throw new RangeError(`${op}: ${bias.length} biases for ${channels} output channels`);
  }
}

/** Runs `fast` on the kernel runtime, or `slow` when there is none or the operation outgrows its memory. */
function withKernels<T>(fast: (rt: KernelRuntime) => T, slow: () => T): T {
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
  return d.n * d.co * d.ho * d.wo === 0 || d.cg * d.kh * d.kw === 0;
}

/**
 * The int32 accumulator `acc[N, Co, Ho, Wo] = bias[o] + Σ x·w` of a quantized 2-D convolution with zero
 * padding: `x` NCHW int8 or int16, `w` int8 `[Co, C / groups, kh, kw]`, `bias` one int32 per output
 * channel. Exact wherever the sum fits int32 (which `@hqat/qtensor`'s `checkAccumulator` guarantees
 * for the layers it accepts); throws a RangeError for inconsistent shapes or lengths.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConv2dAccumulateFast } from "@hqat/tensor";
 * const geo = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * const acc = intConv2dAccumulateFast(Int8Array.of(1, 2, 3, 4), [1, 1, 2, 2], Int8Array.of(1, 1, 1, 1), [1, 1, 2, 2], geo);
 * assert(acc.length === 9 && acc[4] === 10 && acc[0] === 1);
 * const withBias = intConv2dAccumulateFast(Int16Array.of(-32768), [1, 1, 1, 1], Int8Array.of(-128), [1, 1, 1, 1], geo, Int32Array.of(5));
 * assert(withBias[4] === 32768 * 128 + 5);
 * ```
 */
export function intConv2dAccumulateFast(
  x: IntActivations,
  xShape: readonly number[],
  w: Int8Array,
  wShape: readonly number[],
  geo: Conv2dGeometry,
  bias?: Int32Array,
): Int32Array {
  return intConv2d("intConv2dAccumulateFast", { x, xShape, w, wShape, geo, bias }) as Int32Array;
}

/** An integer operand: its elements and shape. */
export interface IntOperand<T> {
  /** The elements, row-major. */
  readonly data: T;
  /** The shape. */
  readonly shape: readonly number[];
}

/** Options of {@linkcode intConv2dRequantFast} and {@linkcode intLinearRequantFast}. */
export interface IntRequantKernelOptions {
  /** The requantization (see `IntRequantParams`). */
  readonly requant: IntRequantParams;
  /** One int32 bias per output channel. */
  readonly bias?: Int32Array;
  /** Where to write the output (an array of the output's length and type), instead of a fresh one. */
  readonly out?: Int8Array | Int16Array;
  /**
   * A residual add after the requantization (convolutions only): the output is then the add's, requantized
   * by `residual.requant` — in the GEMM's epilogue where the convolution is one and both requantizations
   * give the same type.
   */
  readonly residual?: IntResidual;
  /**
   * A second requantization of the outputs (one multiplier for the whole tensor; convolutions only, not
   * with `residual`): in the GEMM's epilogue where the convolution is one and both give the same type.
   */
  readonly requant2?: IntRequantParams;
}

/**
 * The convolution of {@linkcode intConv2dAccumulateFast} requantized in the kernels' epilogue (see
 * `IntRequantParams`): the int8 or int16 output, without the int32 accumulator ever leaving the kernels,
 * written to `options.out` when given. The same integers as requantizing `intConv2dAccumulateFast`'s
 * result with `@hqat/qtensor`'s `requantize`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConv2dRequantFast } from "@hqat/tensor";
 * const geometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: 0, hi: [127], bytes: 1 } as const;
 * const x = { data: Int8Array.of(3, -3, 100), shape: [1, 1, 1, 3] };
 * const y = intConv2dRequantFast(x, { data: Int8Array.of(1), shape: [1, 1, 1, 1] }, { geometry, requant });
 * assert(y instanceof Int8Array && y.join() === "2,0,50");
 * ```
 */
export function intConv2dRequantFast(
  x: IntOperand<IntActivations>,
  w: IntOperand<Int8Array>,
  options: IntRequantKernelOptions & { readonly geometry: Conv2dGeometry },
): Int8Array | Int16Array {
  const a = {
    x: x.data,
    xShape: x.shape,
    w: w.data,
    wShape: w.shape,
    geo: options.geometry,
    bias: options.bias,
  };
  return intConv2d("intConv2dRequantFast", a, options) as Int8Array | Int16Array;
}

interface ConvOperands {
  x: IntActivations;
  xShape: readonly number[];
  w: Int8Array;
  wShape: readonly number[];
  geo: Conv2dGeometry;
  bias?: Int32Array;
}

/** The GEMM's requantization in the kernels' memory: (M, n, lo, hi) per output channel, and room for `size` outputs. */
function gemmRequant(
  rt: KernelRuntime,
  rq: IntRequantKernelOptions,
  channels: number,
  size: number,
): GemmRequant {
  const p = rq.requant, one = p.multiplier.length === 1, oneHi = p.hi.length === 1;
  if (rowScratch.length < 4 * channels) rowScratch = new Int32Array(4 * channels);
  for (let c = 0; c < channels; c++) {
    const k = one ? 0 : c;
    rowScratch[4 * c] = p.multiplier[k];
    rowScratch[4 * c + 1] = p.shift[k];
    rowScratch[4 * c + 2] = p.lo;
    rowScratch[4 * c + 3] = p.hi[oneHi ? 0 : c];
  }
  const rows = rt.putBytes(rowScratch.subarray(0, 4 * channels));
  return { rows, out: rt.outputBytes(rq.out, size, p.bytes), bytes: p.bytes };
}

/** Where gemmRequant lays out its rows before they go to the kernels (a JS array grown by push cost more). */
let rowScratch = new Int32Array(0);

/** Takes the `size` int32 accumulators at `acc` out of the kernels, requantized when `rq` is given. */
function finish(
  rt: KernelRuntime,
  acc: number,
  dims: { outer: number; channels: number; inner: number },
  rq?: IntRequantKernelOptions,
): Int32Array | Int8Array | Int16Array {
  const size = dims.outer * dims.channels * dims.inner;
  if (!rq) return rt.takeInt32(acc, size);
  const out = rt.outputBytes(rq.out, size, rq.requant.bytes);
  intRequantWasm(rt, acc, dims, rq.requant, out);
  return rt.takeBytes(out, size, rq.requant.bytes, rq.out);
}

/** The requantized output of `slow`'s accumulators, written to `rq.out` when given. */
function reference(acc: Int32Array, channels: number, inner: number, rq: IntRequantKernelOptions) {
  return intoOrSelf(intRequantReference(acc, channels, inner, rq.requant), rq.out);
}

function checkOut(op: string, rq: IntRequantKernelOptions | undefined, size: number): void {
  if (rq) checkIntOutput(op, rq.out, rq.requant.bytes, size);
}

function intConv2d(
  op: string,
  a: ConvOperands,
  rq?: IntRequantKernelOptions,
): Int32Array | Int8Array | Int16Array {
  const { x, xShape, w, wShape, geo, bias } = a;
  const xBytes = checkArrays(op, x, w);
  const d = convDims(xShape, wShape, geo, op);
  checkSize(x, xShape, "x", op);
  checkSize(w, wShape, "w", op);
  checkBias(op, bias, d.co);
  if (rq) checkRequantParams(op, rq.requant, d.co);
  const dims = { outer: d.n, channels: d.co, inner: d.ho * d.wo };
  const size = d.n * d.co * d.ho * d.wo, res = rq?.residual, again = rq?.requant2;
  if (res && again) throw new TypeError(`${op}: a residual add or a second requantization, not both`);
  if (res) checkResidual(op, res, size, rq!.requant.bytes);
  if (again) checkSecondRequant(op, again);
  const last = res?.requant ?? again;
  checkOut(op, last ? { ...rq!, requant: last } : rq, size);
  // the residual add or second requantization on the first's outputs
  const then = (v: Int8Array | Int16Array) =>
    res ? residualAdd(v, res, rq!.out) : requantAgain(v, again!, rq!.out);
  if (last && (last.bytes !== rq!.requant.bytes || !intConvGemmRoute(d, xBytes))) {
    return then(
      intConv2d(op, a, { ...rq!, residual: undefined, requant2: undefined, out: undefined }) as Int8Array,
    );
  }
  const slow = () => {
    const acc = intConv2dAccumulateReference(x, w, d, bias);
    if (!rq) return acc;
    if (!last) return reference(acc, dims.channels, dims.inner, rq);
    return then(intRequantReference(acc, dims.channels, dims.inner, rq.requant));
  };
  if (isEmpty(d)) return slow();
  return withKernels((rt) => {
    const ptrs = {
      x: rt.putBytes(x),
      xBytes,
      w: rt.putBytes(w),
      bias: bias ? rt.putBytes(bias) : 0,
      y: rt.alloc(size),
    };
    const rqOut = rq && gemmRequant(rt, rq, d.co, size);
    const add = res ? gemmAdd(rt, res) : again && gemmAgain(rt, again);
    const out = rqOut && add ? { ...rqOut, add } : rqOut;
    if (intConv2dWasm(rt, d, ptrs, out)) return rt.takeBytes(out!.out, size, out!.bytes, rq!.out);
    return finish(rt, ptrs.y, dims, rq);
  }, slow);
}

/**
 * The int32 accumulator `acc[..., O] = bias[o] + Σ_k x[..., k] · w[o, k]` of a quantized linear layer:
 * `x` int8 or int16 `[..., K]`, `w` int8 `[O, K]`, `bias` one int32 per output. Exact wherever the sum
 * fits int32; throws a RangeError for inconsistent shapes or lengths.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLinearAccumulateFast } from "@hqat/tensor";
 * const acc = intLinearAccumulateFast(Int8Array.of(1, 2, 3), [1, 3], Int8Array.of(1, 1, 1, -1, 0, 1), [2, 3], Int32Array.of(10, 0));
 * assert(acc.join() === "16,2");
 * ```
 */
export function intLinearAccumulateFast(
  x: IntActivations,
  xShape: readonly number[],
  w: Int8Array,
  wShape: readonly number[],
  bias?: Int32Array,
): Int32Array {
  return intLinear("intLinearAccumulateFast", x, xShape, w, wShape, bias) as Int32Array;
}

/**
 * The linear layer of {@linkcode intLinearAccumulateFast} requantized in the kernels' epilogue (see
 * `IntRequantParams`; the channels are the outputs, the last dimension), written to `options.out` when
 * given.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLinearRequantFast } from "@hqat/tensor";
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(14), lo: -128, hi: [127], bytes: 1 } as const;
 * const x = { data: Int8Array.of(1, 2, 3), shape: [1, 3] }, w = { data: Int8Array.of(1, 1, 1, -1, 0, 1), shape: [2, 3] };
 * assert(intLinearRequantFast(x, w, { requant }).join() === "6,2");
 * ```
 */
export function intLinearRequantFast(
  x: IntOperand<IntActivations>,
  w: IntOperand<Int8Array>,
  options: IntRequantKernelOptions,
): Int8Array | Int16Array {
  return intLinear("intLinearRequantFast", x.data, x.shape, w.data, w.shape, options.bias, options) as
    | Int8Array
    | Int16Array;
}

function intLinear(
  op: string,
  x: IntActivations,
  xShape: readonly number[],
  w: Int8Array,
  wShape: readonly number[],
  bias?: Int32Array,
  rq?: IntRequantKernelOptions,
): Int32Array | Int8Array | Int16Array {
  const xBytes = checkArrays(op, x, w);
  if (wShape.length !== 2 || xShape.length < 1) {
    throw new RangeError(`${op}: weight [${wShape}] must be 2-d and the input at least 1-d`);
  }
  if (![...xShape, ...wShape].every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RangeError(`${op}: shapes [${xShape}] and [${wShape}] must be non-negative integers`);
  }
  const [o, k] = wShape;
  if (xShape[xShape.length - 1] !== k) {
    throw new RangeError(`${op}: input [${xShape}] does not end in the weight's ${k} input features`);
  }
  checkSize(x, xShape, "x", op);
  checkSize(w, wShape, "w", op);
  checkBias(op, bias, o);
  if (rq) checkRequantParams(op, rq.requant, o);
  if (rq?.residual || rq?.requant2) {
    throw new TypeError(`${op}: a residual add or requant2 is for convolutions`);
  }
  const dims = { rows: xShape.slice(0, -1).reduce((a, b) => a * b, 1), k, o };
  const layout = { outer: dims.rows, channels: o, inner: 1 };
  checkOut(op, rq, dims.rows * o);
  const slow = () => {
    const acc = intLinearAccumulateReference(x, w, dims, bias);
    return rq ? reference(acc, o, 1, rq) : acc;
  };
  if (dims.rows * o === 0 || k === 0) return slow();
  return withKernels((rt) => {
    const ptrs = {
      x: rt.putBytes(x),
      xBytes,
      w: rt.putBytes(w),
      bias: bias ? rt.putBytes(bias) : 0,
      y: rt.alloc(dims.rows * o),
    };
    const out = rq && gemmRequant(rt, rq, o, dims.rows * o);
    intLinearWasm(rt, dims, ptrs, out);
    return out ? rt.takeBytes(out.out, dims.rows * o, out.bytes, rq!.out) : finish(rt, ptrs.y, layout, rq);
  }, slow);
}
