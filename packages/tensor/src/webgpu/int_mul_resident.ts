/**
 * The integer product of the `mul` instruction on GPU-resident tensors: `a · b` as int32 (exact for
 * int8 and int16 operands), `b` broadcast to `a`'s shape — `@hqat/qtensor`'s `intMulProduct`.
 * @module
 */
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The exact int32 products of int8/int16 `a` and `b`, `b` of the same rank with each dimension equal to
 * `a`'s or 1 (broadcast).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { mulProductResident } from "./int_mul_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 2, 2]), b = uploadTensor(dev, Int16Array.of(3, -4), [1, 2, 1]);
 *   assert((await readTensor(dev, mulProductResident(dev, a, b))).join() === "3,6,-12,-16");
 *   dev.destroy();
 * }
 * ```
 */
export function mulProductResident(dev: WebGpuDevice, a: GpuTensor, b: GpuTensor): GpuTensor {
  for (const [what, t] of [["a", a], ["b", b]] as const) {
    if (t.dtype !== "int8" && t.dtype !== "int16") {
      throw new TypeError(`mulProductResident(): ${what} must be int8 or int16, not ${t.dtype}`);
    }
  }
  if (a.shape.length !== b.shape.length || b.shape.some((d, i) => d !== a.shape[i] && d !== 1)) {
    throw new RangeError(`mulProductResident(): [${b.shape}] does not broadcast to [${a.shape}]`);
  }
  const names = ["a", "b"];
  const it = coalesce(a.shape, [broadcastStrides(a.shape, a.shape), broadcastStrides(b.shape, a.shape)]);
  const offs = stridedOffsets(it.shape.length, names);
  return runElem(
    dev,
    {
      name: `int_mul_product_r${it.shape.length}`,
      inputs: [{ name: "a", dtype: a.dtype }, { name: "b", dtype: b.dtype }],
      out: "int32",
      uniforms: offs.uniforms,
      elem: `${offs.code}\n  return ld_a(o_a) * ld_b(o_b);`,
    },
    [a, b],
    a.shape,
    stridedValues(it.shape, names.map((nm, k) => ({ name: nm, base: 0, strides: it.strides[k] }))),
  );
}
