/**
 * The aligned sum and difference of the `add` and `sub` instructions on GPU-resident tensors:
 * SPEC.md's `a · 2^k ± b · t` (the shifted operand's term first), `b` broadcast to `a`'s shape —
 * `@hqat/qtensor`'s `intAlignedSum`.
 * @module
 */
import type { AlignedSumOptions } from "@hqat/qtensor";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The exact int32 aligned sum (or difference) of int8/int16 `a` and `b`, `b` of the same rank with
 * each dimension equal to `a`'s or 1 (broadcast).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { alignedSumResident } from "./int_sum_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 2, 2]), b = uploadTensor(dev, Int8Array.of(10, -10), [1, 2, 1]);
 *   const y = alignedSumResident(dev, a, b, { shiftSecond: false, k: 2, t: 1 });
 *   assert((await readTensor(dev, y)).join() === "14,18,2,6");
 *   dev.destroy();
 * }
 * ```
 */
export function alignedSumResident(
  dev: WebGpuDevice,
  a: GpuTensor,
  b: GpuTensor,
  o: AlignedSumOptions,
): GpuTensor {
  for (const [what, t] of [["a", a], ["b", b]] as const) {
    if (t.dtype !== "int8" && t.dtype !== "int16") {
      throw new TypeError(`alignedSumResident(): ${what} must be int8 or int16, not ${t.dtype}`);
    }
  }
  if (a.shape.length !== b.shape.length || b.shape.some((d, i) => d !== a.shape[i] && d !== 1)) {
    throw new RangeError(`alignedSumResident(): [${b.shape}] does not broadcast to [${a.shape}]`);
  }
  const names = ["a", "b"];
  const it = coalesce(a.shape, [broadcastStrides(a.shape, a.shape), broadcastStrides(b.shape, a.shape)]);
  const offs = stridedOffsets(it.shape.length, names);
  const pk = 2 ** o.k;
  return runElem(
    dev,
    {
      name: `int_aligned_sum_r${it.shape.length}`,
      inputs: [{ name: "a", dtype: a.dtype }, { name: "b", dtype: b.dtype }],
      out: "int32",
      uniforms: [...offs.uniforms, { name: "fa", type: "i32" }, { name: "fb", type: "i32" }],
      elem: `${offs.code}\n  return ld_a(o_a) * u_fa() + ld_b(o_b) * u_fb();`,
    },
    [a, b],
    a.shape,
    {
      ...stridedValues(it.shape, names.map((nm, k) => ({ name: nm, base: 0, strides: it.strides[k] }))),
      fa: o.shiftSecond ? o.t : pk,
      fb: (o.subtract ? -1 : 1) * (o.shiftSecond ? pk : o.t),
    },
  );
}
