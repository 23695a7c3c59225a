/**
 * The integer softmax of the `softmax` instruction on GPU-resident tensors: per row along an axis, the
 * exp table (resident int32) at each integer's distance below the maximum, their exact sum, and the
 * probability of 16 fractional bits — `@hqat/qtensor`'s `intSoftmax`.
 * @module
 */
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The int32 probabilities (scale 2^-16) of int8/int16 `x` along `axis`, with the input's exp `table`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { softmaxExpTable } from "@hqat/qtensor";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { softmaxResident } from "./int_softmax_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const table = uploadTensor(dev, softmaxExpTable(Math.LN2, "qint8"), [256]);
 *   const x = uploadTensor(dev, Int8Array.of(5, 4), [1, 2]);
 *   assert((await readTensor(dev, softmaxResident(dev, x, { axis: 1, table }))).join() === "43691,21845");
 *   dev.destroy();
 * }
 * ```
 */
export function softmaxResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly axis: number; readonly table: GpuTensor },
): GpuTensor {
  if ((x.dtype !== "int8" && x.dtype !== "int16") || !(o.axis >= 0 && o.axis < x.shape.length)) {
    throw new RangeError(
      `softmaxResident(): an int8/int16 input and one of its axes, not ${x.dtype} axis ${o.axis}`,
    );
  }
  const len = x.shape[o.axis], inner = x.shape.slice(o.axis + 1).reduce((a, b) => a * b, 1);
  return runElem(
    dev,
    {
      name: "int_softmax",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "t", dtype: "int32" }],
      out: "int32",
      uniforms: [{ name: "len", type: "u32" }, { name: "inner", type: "u32" }],
      elem: `  let i0 = i % u_inner(); let l0 = (i / u_inner()) % u_len(); let o = i / (u_inner() * u_len());
  let base = o * u_len() * u_inner() + i0;
  var mx = -32768;
  for (var l = 0u; l < u_len(); l++) { mx = max(mx, ld_x(base + l * u_inner())); }
  var s = 0u;
  for (var l = 0u; l < u_len(); l++) { s = s + u32(ld_t(u32(mx - ld_x(base + l * u_inner())))); }
  let e = u32(ld_t(u32(mx - ld_x(base + l0 * u_inner()))));
  return i32((e * 65536u + s / 2u) / s);`,
    },
    [x, o.table],
    x.shape,
    { len, inner: Math.max(1, inner) },
  );
}
