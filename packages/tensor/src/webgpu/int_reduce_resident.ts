/**
 * The sums of the `reduce_mean` instruction on GPU-resident integers: each output element the exact int32
 * sum of `count` input elements named by a resident index map, frame by frame — `@hqat/qtensor`'s
 * `intReduceSum`.
 * @module
 */
import type { Shape } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * Output element `j` of frame `f` is `Σ_k x[f · inFrame + index[j · count + k]]` (int32), for int8/int16 `x`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { sumGatherResident } from "./int_reduce_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4, 5, 6), [1, 2, 3]), index = uploadTensor(dev, Int32Array.of(0, 3, 1, 4, 2, 5), [6]);
 *   const y = sumGatherResident(dev, x, { index, count: 2, inFrame: 6, shape: [1, 3] });
 *   assert((await readTensor(dev, y)).join() === "5,7,9");
 *   dev.destroy();
 * }
 * ```
 */
export function sumGatherResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly index: GpuTensor; readonly count: number; readonly inFrame: number; readonly shape: Shape },
): GpuTensor {
  if ((x.dtype !== "int8" && x.dtype !== "int16") || o.index.dtype !== "int32") {
    throw new TypeError(
      `sumGatherResident(): sums int8/int16 by an int32 index, not ${x.dtype} by ${o.index.dtype}`,
    );
  }
  const frame = o.index.shape[0] / o.count;
  return runElem(
    dev,
    {
      name: "int_sum_gather",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "ix", dtype: "int32" }],
      out: "int32",
      uniforms: ["frame", "count", "inframe"].map((name) => ({ name, type: "u32" as const })),
      elem: `  let f = i / u_frame(); let j = (i % u_frame()) * u_count(); let base = f * u_inframe();
  var s = 0;
  for (var k = 0u; k < u_count(); k++) { s = s + ld_x(base + u32(ld_ix(j + k))); }
  return s;`,
    },
    [x, o.index],
    o.shape,
    { frame: Math.max(1, frame), count: o.count, inframe: o.inFrame },
  );
}
