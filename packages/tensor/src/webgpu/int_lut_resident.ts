/**
 * The table-lookup activation of the `lut` instruction on GPU-resident tensors: `table[q − qmin]` of
 * every int8/int16 input, the table resident as int32 words — `@hqat/qtensor`'s `intLut`.
 * @module
 */
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * Looks up every element of int8/int16 `x` in `table` (int32 words, 256 entries for int8 input, 65536 for
 * int16), into an `out` (int8 or int16) tensor.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { lutResident } from "./int_lut_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const table = uploadTensor(dev, Int32Array.from({ length: 256 }, (_, i) => (i - 128) >> 1), [256]);
 *   const x = uploadTensor(dev, Int8Array.of(-128, -1, 0, 127), [4]);
 *   assert((await readTensor(dev, lutResident(dev, x, { table, out: "int8" }))).join() === "-64,-1,0,63");
 *   dev.destroy();
 * }
 * ```
 */
export function lutResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly table: GpuTensor; readonly out: "int8" | "int16" },
): GpuTensor {
  const entries = { int8: 256, int16: 65536 }[x.dtype as "int8"];
  if (entries === undefined || o.table.dtype !== "int32" || o.table.shape[0] !== entries) {
    throw new RangeError(
      `lutResident(): a [${o.table.shape}] ${o.table.dtype} table does not fit a ${x.dtype} input`,
    );
  }
  return runElem(
    dev,
    {
      name: "int_lut",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "t", dtype: "int32" }],
      out: o.out,
      uniforms: [{ name: "half", type: "i32" }],
      elem: "  return ld_t(u32(ld_x(i) + u_half()));",
    },
    [x, o.table],
    x.shape,
    { half: entries / 2 },
  );
}
