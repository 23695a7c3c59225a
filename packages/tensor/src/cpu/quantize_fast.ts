/**
 * SPEC.md's quantize of float32 values to int8 / int16 with one scale — `clamp(round(float32(x / s)),
 * qmin, qmax)`, ties to even — on the WebAssembly kernels, split across the kernel threads: the same
 * integers as `@hqat/qtensor`'s `quantize` (the reference, which also runs where the kernels cannot and
 * reports a NaN), bit for bit. The model input's QuantStub in the integer executor.
 * @module
 */
import { quantize } from "@hqat/qtensor";
import { checkIntOutput, intoOrSelf } from "./int_output.ts";
import { KernelMemoryError, kernelRuntime } from "./wasm_runtime.ts";

/** Options of {@linkcode quantizeFast}. */
export interface QuantizeFastOptions {
  /** The output type (default qint8). */
  readonly dtype?: "qint8" | "qint16";
  /** Where to write the integers (an array of the input's length and the output type). */
  readonly out?: Int8Array | Int16Array;
}

/** Values below which the quantization stays on one thread. */
const PARALLEL_VALUES = 65536;

/**
 * `x` quantized with the per-tensor `scale` (rounded to float32 first, as the reference does) to
 * `options.dtype`, written to `options.out` when given: `@hqat/qtensor`'s `quantize(x, scale, { dtype })`
 * on the WebAssembly kernels. A NaN throws the reference's RangeError; ±Infinity saturates.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { quantizeFast } from "@hqat/tensor";
 * const q = quantizeFast(Float32Array.of(0.3, -1, 0.25, 0.75, 100), 0.5);
 * assert(q instanceof Int8Array && q.join() === "1,-2,0,2,127");
 * ```
 */
export function quantizeFast(
  x: Float32Array,
  scale: number,
  options: QuantizeFastOptions = {},
): Int8Array | Int16Array {
  const dtype = options.dtype ?? "qint8", into = options.out, bytes = dtype === "qint8" ? 1 : 2;
  const s = Math.fround(scale);
  if (!(x instanceof Float32Array)) throw new TypeError("quantizeFast: the input must be a Float32Array");
  if (dtype !== "qint8" && dtype !== "qint16") throw new TypeError(`quantizeFast: dtype ${dtype}`);
  if (!(s > 0 && s < Infinity)) {
    throw new RangeError(`quantizeFast: scale ${scale} is not positive and finite`);
  }
  checkIntOutput("quantizeFast", into, bytes, x.length);
  const slow = () => intoOrSelf(quantize(x, s, { dtype }) as Int8Array | Int16Array, into);
  const rt = kernelRuntime();
  if (!rt || x.length === 0) return slow();
  try {
    rt.reset();
    const xp = rt.put(x), sp = rt.put(Float32Array.of(s)), flag = rt.putInts([0]);
    const out = rt.outputBytes(into, x.length, bytes);
    const threads = x.length >= PARALLEL_VALUES ? rt.threads() : 1;
    const step = Math.max(16, Math.ceil(x.length / (4 * threads) / 16) * 16);
    const parts: number[][] = [];
    for (let i = 0; i < x.length; i += step) {
      parts.push([xp, out, sp, bytes, flag, i, Math.min(x.length, i + step)]);
    }
    rt.run("quantize_run", parts);
    if (rt.takeInt32(flag, 1)[0] !== 0) return slow();
    return rt.takeBytes(out, x.length, bytes, into);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}
