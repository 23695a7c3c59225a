/**
 * What the fake twins' WGSL kernels share: the tensors one call uploads or makes (released when it is
 * done), the integers of a fake-quantized tensor, and an integer result requantized and dequantized.
 * @module
 */
import { sizeOf } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { type GpuTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { quantizeGpu } from "./int_fake_ops.ts";
import { requantGpu, requantPlan } from "./requant_kernel.ts";

/**
 * Tensors a twin kernel uploads or makes for one call, released when it is done.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Temps } from "./twin_util.ts";
 * assert(new Temps(undefined as never).list.length === 0);
 * ```
 */
export class Temps {
  readonly list: GpuTensor[] = [];
  constructor(readonly dev: WebGpuDevice) {}
  keep(t: GpuTensor): GpuTensor {
    this.list.push(t);
    return t;
  }
  up(data: Int32Array | Float32Array, shape: readonly number[]): GpuTensor {
    return this.keep(uploadTensor(this.dev, data, shape));
  }
  /** The integers of fake-quantized `x` at `scale` in `dtype`. */
  ints(x: GpuTensor, scale: number, dtype: "qint8" | "qint16"): GpuTensor {
    const s = this.up(Float32Array.of(Math.fround(scale)), [1]);
    return this.keep(quantizeGpu(this.dev, x, s, { dtype, channels: 1, inner: sizeOf(x.shape) }));
  }
  release(): void {
    for (const t of this.list) releaseTensor(this.dev, t);
  }
}

/**
 * An integer tensor of real scale `numerator / divisor`, requantized to `o` and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { finishGpu } from "./twin_util.ts";
 * assert(typeof finishGpu === "function");
 * ```
 */
export function finishGpu(
  dev: WebGpuDevice,
  acc: GpuTensor,
  numerator: number,
  divisor: number,
  o: { outScale: number; dtype: "qint8" | "qint16"; activation?: "relu" | "relu6" },
): GpuTensor {
  const plan = requantPlan(
    { numerator: [numerator], divisor },
    { dtype: o.dtype, scale: o.outScale },
    o.activation,
  );
  return requantGpu(dev, acc, plan, { channels: 1, inner: 1, out: "float32" });
}
