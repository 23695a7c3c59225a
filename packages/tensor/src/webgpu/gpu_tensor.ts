/**
 * Tensors resident on a {@linkcode WebGpuDevice}: a pooled buffer with a shape and dtype. float32 and
 * int32 take one 32-bit word per element; int16 packs two and int8/uint8 four elements per word, in the
 * little-endian byte order of the typed arrays, so uploads and reads copy the bytes as they are.
 * @module
 */
import { ARRAY_TYPES, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { type Shape, sizeOf } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import type { WgslFn, WgslType } from "./kernel_spec.ts";
import type { TensorInfo } from "../tensor.ts";

/** A tensor whose data lives in a GPU buffer. */
export interface GpuTensor {
  /** The buffer (from the device's pool); at least {@linkcode byteSize} bytes. */
  readonly buffer: GPUBuffer;
  /** The shape. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
}

/**
 * A GPU kernel of a primitive op: it records dispatches on `dev` reading `ins` and returns new tensors
 * described by `outs` (fresh buffers the caller owns); temporaries go back to the pool.
 */
export type GpuKernel<A> = (
  dev: WebGpuDevice,
  ins: readonly GpuTensor[],
  attrs: A,
  outs: readonly TensorInfo[],
) => GpuTensor[];

/**
 * Elements per 32-bit word: 1 for float32/int32, 2 for int16, 4 for int8/uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { perWord } from "./gpu_tensor.ts";
 * assert(perWord("int8") === 4 && perWord("int16") === 2 && perWord("float32") === 1);
 * ```
 */
export function perWord(dtype: DType): 1 | 2 | 4 {
  return dtype === "int16" ? 2 : dtype === "int8" || dtype === "uint8" ? 4 : 1;
}

/**
 * Bytes that `n` elements of `dtype` occupy on the GPU: whole words, at least one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { byteSize } from "./gpu_tensor.ts";
 * assert(byteSize("int8", 5) === 8 && byteSize("float32", 0) === 4);
 * ```
 */
export function byteSize(dtype: DType, n: number): number {
  return Math.max(1, Math.ceil(n / perWord(dtype))) * 4;
}

/**
 * The WGSL element type of the storage array: f32, i32, or u32 words of packed elements.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { storageType } from "./gpu_tensor.ts";
 * assert(storageType("int8") === "u32" && storageType("int32") === "i32");
 * ```
 */
export function storageType(dtype: DType): WgslType {
  return dtype === "float32" ? "f32" : dtype === "int32" ? "i32" : "u32";
}

/**
 * The WGSL type kernels compute in: f32 for float32, i32 for every integer dtype.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { valueType } from "./gpu_tensor.ts";
 * assert(valueType("uint8") === "i32" && valueType("float32") === "f32");
 * ```
 */
export function valueType(dtype: DType): "f32" | "i32" {
  return dtype === "float32" ? "f32" : "i32";
}

/**
 * The WGSL loader `fn ld_<name>(j: u32) -> f32|i32` of element `j` of the storage array `name`,
 * sign-extending int8/int16 and zero-extending uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loader } from "./gpu_tensor.ts";
 * assert(loader("x", "int8").code.includes("extractBits(bitcast<i32>(x[j >> 2u])"));
 * ```
 */
export function loader(name: string, dtype: DType): WgslFn {
  const vt = valueType(dtype);
  const body = dtype === "float32" || dtype === "int32"
    ? `${name}[j]`
    : dtype === "int16"
    ? `extractBits(bitcast<i32>(${name}[j >> 1u]), (j & 1u) * 16u, 16u)`
    : dtype === "int8"
    ? `extractBits(bitcast<i32>(${name}[j >> 2u]), (j & 3u) * 8u, 8u)`
    : `i32(extractBits(${name}[j >> 2u], (j & 3u) * 8u, 8u))`;
  return { code: `fn ld_${name}(j: u32) -> ${vt} { return ${body}; }` };
}

/**
 * Copies `data` to a new GPU tensor of `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const t = uploadTensor(dev, Int8Array.of(-1, 2, -3), [3]);
 *   assert((await readTensor(dev, t)).join() === "-1,2,-3");
 *   releaseTensor(dev, t);
 *   dev.destroy();
 * }
 * ```
 */
export function uploadTensor(dev: WebGpuDevice, data: TypedArray, shape: Shape): GpuTensor {
  if (data.length !== sizeOf(shape)) {
    throw new RangeError(`Data of length ${data.length} does not fit shape [${shape.join(",")}]`);
  }
  return { buffer: dev.upload(data), shape: [...shape], dtype: dtypeOfArray(data) };
}

/**
 * A new GPU tensor of `shape` and `dtype` whose contents are undefined until a kernel writes them.
 *
 * @example
 * ```ts
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { allocTensor, releaseTensor } from "./gpu_tensor.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   releaseTensor(dev, allocTensor(dev, { shape: [2, 3], dtype: "int16" }));
 *   dev.destroy();
 * }
 * ```
 */
export function allocTensor(dev: WebGpuDevice, info: { shape: Shape; dtype: DType }): GpuTensor {
  return {
    buffer: dev.acquire(byteSize(info.dtype, sizeOf(info.shape))),
    shape: [...info.shape],
    dtype: info.dtype,
  };
}

/**
 * Reads a GPU tensor back as a typed array (submitting the recorded work first).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const t = uploadTensor(dev, Float32Array.of(1.5), []);
 *   assert((await readTensor(dev, t))[0] === 1.5);
 *   releaseTensor(dev, t);
 *   dev.destroy();
 * }
 * ```
 */
export async function readTensor(dev: WebGpuDevice, t: GpuTensor): Promise<TypedArray> {
  const n = sizeOf(t.shape);
  const Ctor = ARRAY_TYPES[t.dtype];
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  if (n === 0) return new Ctor(0);
  const raw = await dev.read(t.buffer, bytes);
  return new Ctor(raw, 0, n);
}

/**
 * Returns a GPU tensor's buffer to the pool.
 *
 * @example
 * ```ts
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { releaseTensor, uploadTensor } from "./gpu_tensor.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   releaseTensor(dev, uploadTensor(dev, new Float32Array(4), [4]));
 *   dev.destroy();
 * }
 * ```
 */
export function releaseTensor(dev: WebGpuDevice, t: GpuTensor): void {
  dev.release(t.buffer);
}

/**
 * Runs `body` with `keep`, which collects GPU tensors; every kept tensor is released when `body` settles.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor, withTensors } from "./gpu_tensor.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const y = await withTensors(dev, (keep) => readTensor(dev, keep(uploadTensor(dev, Float32Array.of(2), [1]))));
 *   assert(y[0] === 2 && dev.stats().inUse === 0);
 *   dev.destroy();
 * }
 * ```
 */
export async function withTensors<T>(
  dev: WebGpuDevice,
  body: (keep: (t: GpuTensor) => GpuTensor) => Promise<T>,
): Promise<T> {
  const kept: GpuTensor[] = [];
  try {
    return await body((t) => (kept.push(t), t));
  } finally {
    for (const t of kept) releaseTensor(dev, t);
  }
}
