/**
 * The bilinear resize of the `resize` instruction on GPU-resident integers: the exact int32 accumulator
 * of fixed-point weights — `@hqat/qtensor`'s `intResizeLinear`, the taps resident as int32 words.
 * @module
 */
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The taps of one axis as the resident kernel reads them: `[i0…, i1…, w1…]`, three int32 words per
 * output index.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { packTaps } from "./int_resize_resident.ts";
 * assert(packTaps({ i0: Int32Array.of(0, 1), i1: Int32Array.of(1, 1), w1: Int32Array.of(64, 0) }).join() === "0,1,1,1,64,0");
 * ```
 */
export function packTaps(
  t: { readonly i0: Int32Array; readonly i1: Int32Array; readonly w1: Int32Array },
): Int32Array {
  const n = t.i0.length, out = new Int32Array(3 * n);
  out.set(t.i0, 0);
  out.set(t.i1, n);
  out.set(t.w1, 2 * n);
  return out;
}

/**
 * The int32 bilinear accumulator of int8/int16 NCHW `x` resized to `[oh, ow]` by the packed taps of its
 * rows and columns ({@linkcode packTaps}; weights of 8 bits per axis).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { packTaps, resizeLinearResident } from "./int_resize_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(0, 4), [1, 1, 1, 2]);
 *   const rows = uploadTensor(dev, packTaps({ i0: Int32Array.of(0), i1: Int32Array.of(0), w1: Int32Array.of(0) }), [3]);
 *   const cols = uploadTensor(dev, packTaps({ i0: Int32Array.of(0, 0, 1), i1: Int32Array.of(0, 1, 1), w1: Int32Array.of(0, 128, 0) }), [9]);
 *   const y = resizeLinearResident(dev, x, { rows, cols });
 *   assert((await readTensor(dev, y)).join() === "0,131072,262144");
 *   dev.destroy();
 * }
 * ```
 */
export function resizeLinearResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly rows: GpuTensor; readonly cols: GpuTensor },
): GpuTensor {
  if ((x.dtype !== "int8" && x.dtype !== "int16") || x.shape.length !== 4) {
    throw new TypeError(
      `resizeLinearResident(): needs an int8/int16 NCHW input, not [${x.shape}] ${x.dtype}`,
    );
  }
  const [n, c, h, w] = x.shape, oh = o.rows.shape[0] / 3, ow = o.cols.shape[0] / 3;
  return runElem(
    dev,
    {
      name: "int_resize_linear",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "r", dtype: "int32" }, { name: "k", dtype: "int32" }],
      out: "int32",
      uniforms: ["h", "w", "oh", "ow"].map((name) => ({ name, type: "u32" as const })),
      elem: `  let ox = i % u_ow(); let t = i / u_ow(); let oy = t % u_oh(); let p = t / u_oh();
  let base = p * u_h() * u_w();
  let r0 = base + u32(ld_r(oy)) * u_w(); let r1 = base + u32(ld_r(u_oh() + oy)) * u_w(); let wy = ld_r(2u * u_oh() + oy);
  let a = u32(ld_k(ox)); let b = u32(ld_k(u_ow() + ox)); let wx = ld_k(2u * u_ow() + ox);
  let top = (256 - wx) * ld_x(r0 + a) + wx * ld_x(r0 + b);
  let bottom = (256 - wx) * ld_x(r1 + a) + wx * ld_x(r1 + b);
  return (256 - wy) * top + wy * bottom;`,
    },
    [x, o.rows, o.cols],
    [n, c, oh, ow],
    { h, w, oh, ow },
  );
}
