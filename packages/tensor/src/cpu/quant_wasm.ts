/**
 * Fake quantization and its saturating straight-through gradient on WebAssembly SIMD128: the same
 * float32 values as `fakeQuantize` / `fakeQuantizeGrad` of `@hqat/qtensor` (SPEC.md's default rounding,
 * half to even), bit for bit, at a small fraction of their time. The module (quant_kernels.wat) has
 * its own memory, which grows to the largest call and is then reused.
 *
 * Each function returns `undefined` where it does not apply, and the caller then runs the reference:
 * no WebAssembly SIMD in this engine, a range wider than ±2^24 (not every such integer is a float32),
 * a scale that is not a positive finite float32, more than 2 GiB of data, or a NaN quotient (the
 * reference reports it).
 * @module
 */
import { pooledFloat32 } from "./float_pool.ts";
import { QUANT_KERNELS_BASE64 } from "./quant_wasm_module.ts";

/**
 * What the kernels need besides the data: the scales, the integer range, and the run structure of the
 * data (`outer` blocks of `channels` runs of `inner` elements; run `c` uses `scale[c]`).
 */
export interface QuantKernelPlan {
  /** Float32 scales, one per channel. */
  readonly scale: Float32Array;
  /** Smallest integer. */
  readonly qmin: number;
  /** Largest integer. */
  readonly qmax: number;
  /** Product of the dimensions before the channel axis (1 per tensor). */
  readonly outer: number;
  /** Number of scales. */
  readonly channels: number;
  /** Product of the dimensions after the channel axis (the length per tensor). */
  readonly inner: number;
}

type Kernel = (...args: number[]) => number;

interface QuantRuntime {
  readonly memory: WebAssembly.Memory;
  readonly fakeQuantize: Kernel;
  readonly fakeQuantizeGrad: Kernel;
}

const PAGE = 65536;
/** Integers up to 2^24 in magnitude are float32 values, so the kernels clamp exactly. */
const MAX_BOUND = 2 ** 24;
/** Addresses stay far below 2^32, where the kernels' unsigned pointer compares would wrap. */
const MAX_BYTES = 2 ** 31;

let runtime: QuantRuntime | null | undefined;

function createRuntime(): QuantRuntime | null {
  try {
    const bytes = Uint8Array.from(atob(QUANT_KERNELS_BASE64), (ch) => ch.charCodeAt(0));
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    return {
      memory: exports.memory as WebAssembly.Memory,
      fakeQuantize: exports.fake_quantize as Kernel,
      fakeQuantizeGrad: exports.fake_quantize_grad as Kernel,
    };
  } catch {
    return null;
  }
}

/**
 * Whether this engine runs the WebAssembly fake quantization kernels (WebAssembly with SIMD128).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantKernelsAvailable } from "./quant_wasm.ts";
 * assert(typeof quantKernelsAvailable() === "boolean");
 * ```
 */
export function quantKernelsAvailable(): boolean {
  if (runtime === undefined) runtime = createRuntime();
  return runtime !== null;
}

const align16 = (bytes: number) => (bytes + 15) & ~15;

/** The runtime with at least `bytes` of memory, or undefined. */
function withMemory(bytes: number): QuantRuntime | undefined {
  if (!quantKernelsAvailable() || bytes > MAX_BYTES) return undefined;
  const rt = runtime!;
  const have = rt.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      rt.memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch {
      return undefined;
    }
  }
  return rt;
}

/** Whether the kernels compute exactly what the reference does for this plan. */
function applies(p: QuantKernelPlan, length: number): boolean {
  const { qmin, qmax, scale } = p;
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || !(qmin <= 0 && qmax >= 0 && qmin < qmax)) {
    return false;
  }
  if (qmin < -MAX_BOUND || qmax > MAX_BOUND) return false;
  if (scale.length !== p.channels || p.outer * p.channels * p.inner !== length) return false;
  for (let c = 0; c < scale.length; c++) {
    const s = scale[c];
    if (!(s > 0) || s === Infinity) return false;
  }
  return true;
}

/** Copies the scales to address 0 and returns the first free address after them. */
function putScales(rt: QuantRuntime, scale: Float32Array): number {
  new Float32Array(rt.memory.buffer, 0, scale.length).set(scale);
  return align16(scale.length * 4);
}

/**
 * `dequantize(quantize(x, s), s)` with round half to even (see the module doc for when it returns
 * undefined).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantizeWasm } from "./quant_wasm.ts";
 * const plan = { scale: Float32Array.of(0.5), qmin: -128, qmax: 127, outer: 1, channels: 1, inner: 3 };
 * const y = fakeQuantizeWasm(Float32Array.of(0.3, -0.75, 1000), plan);
 * assert(y === undefined || y.join() === "0.5,-1,63.5");
 * ```
 */
export function fakeQuantizeWasm(x: Float32Array, plan: QuantKernelPlan): Float32Array | undefined {
  const n = x.length;
  if (!applies(plan, n)) return undefined;
  const xAt = align16(plan.scale.length * 4);
  const rt = withMemory(xAt + n * 4);
  if (!rt) return undefined;
  putScales(rt, plan.scale);
  const f32 = new Float32Array(rt.memory.buffer);
  f32.set(x, xAt >> 2);
  const nan = rt.fakeQuantize(xAt, xAt, plan.outer, plan.channels, plan.inner, 0, plan.qmin, plan.qmax);
  return nan ? undefined : copyOut(f32, xAt >> 2, n);
}

/**
 * The straight-through gradient of fake quantization: `dy` where `round(x / s)` lies in
 * `[qmin, qmax]`, +0 elsewhere (see the module doc for when it returns undefined).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fakeQuantizeGradWasm } from "./quant_wasm.ts";
 * const plan = { scale: Float32Array.of(0.5), qmin: -128, qmax: 127, outer: 1, channels: 1, inner: 2 };
 * const dx = fakeQuantizeGradWasm(Float32Array.of(0.3, 500), Float32Array.of(2, 2), plan);
 * assert(dx === undefined || dx.join() === "2,0");
 * ```
 */
export function fakeQuantizeGradWasm(
  x: Float32Array,
  dy: Float32Array,
  plan: QuantKernelPlan,
): Float32Array | undefined {
  const n = x.length;
  if (dy.length !== n || !applies(plan, n)) return undefined;
  const xAt = align16(plan.scale.length * 4), dyAt = xAt + align16(n * 4);
  const rt = withMemory(dyAt + n * 4);
  if (!rt) return undefined;
  putScales(rt, plan.scale);
  const f32 = new Float32Array(rt.memory.buffer);
  f32.set(x, xAt >> 2);
  f32.set(dy, dyAt >> 2);
  const { outer, channels, inner, qmin, qmax } = plan;
  const nan = rt.fakeQuantizeGrad(xAt, dyAt, dyAt, outer, channels, inner, 0, qmin, qmax);
  return nan ? undefined : copyOut(f32, dyAt >> 2, n);
}

/** A copy of `n` floats from `at` (handed-back arrays spare a fresh one's page faults). */
function copyOut(f32: Float32Array, at: number, n: number): Float32Array {
  const out = pooledFloat32(n);
  out.set(f32.subarray(at, at + n));
  return out;
}
