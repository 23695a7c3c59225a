/**
 * The transposed convolution of the `conv_transpose2d` instruction on GPU-resident integers: the exact
 * int32 accumulator (no bias) of int8/int16 NCHW input by int8 weights `[Cin, Cout/g, kh, kw]`, each output
 * gathering the taps whose stride lands on it — `@hqat/qtensor`'s `intConvTranspose2dAccumulate`.
 * @module
 */
import { type ConvTranspose2dGeometry, convTransposeShape } from "@hqat/qtensor";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The int32 accumulator of a transposed convolution (the bias is the caller's to add).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convTransposeResident } from "./int_conv_transpose_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2), [1, 1, 1, 2]), w = uploadTensor(dev, Int8Array.of(1, 3), [1, 1, 1, 2]);
 *   const g = { stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   assert((await readTensor(dev, convTransposeResident(dev, x, { weight: w, geometry: g }))).join() === "1,3,2,6");
 *   dev.destroy();
 * }
 * ```
 */
export function convTransposeResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  o: { readonly weight: GpuTensor; readonly geometry: ConvTranspose2dGeometry },
): GpuTensor {
  if ((x.dtype !== "int8" && x.dtype !== "int16") || o.weight.dtype !== "int8") {
    throw new TypeError(
      `convTransposeResident(): int8/int16 input and int8 weights, not ${x.dtype}, ${o.weight.dtype}`,
    );
  }
  const g = o.geometry, shape = convTransposeShape(x.shape, o.weight.shape, g);
  const [, cin, h, w] = x.shape, [, cog, kh, kw] = o.weight.shape, [, cout, oh, ow] = shape;
  const names = [
    "cin",
    "h",
    "w",
    "cog",
    "kh",
    "kw",
    "cout",
    "oh",
    "ow",
    "cig",
    "sh",
    "sw",
    "ph",
    "pw",
    "dh",
    "dw",
  ];
  return runElem(
    dev,
    {
      name: "int_conv_transpose",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "k", dtype: "int8" }],
      out: "int32",
      uniforms: names.map((name) => ({ name, type: "i32" as const })),
      elem: `  let ii = i32(i);
  let ox = ii % u_ow(); let t1 = ii / u_ow(); let oy = t1 % u_oh(); let t2 = t1 / u_oh();
  let co = t2 % u_cout(); let b = t2 / u_cout();
  let grp = co / u_cog(); let j = co - grp * u_cog();
  var s = 0;
  for (var ci = grp * u_cig(); ci < (grp + 1) * u_cig(); ci++) {
    for (var ky = 0; ky < u_kh(); ky++) {
      let ty = oy + u_ph() - ky * u_dh();
      if (ty < 0 || ty % u_sh() != 0 || ty / u_sh() >= u_h()) { continue; }
      let iy = ty / u_sh();
      for (var kx = 0; kx < u_kw(); kx++) {
        let tx = ox + u_pw() - kx * u_dw();
        if (tx < 0 || tx % u_sw() != 0 || tx / u_sw() >= u_w()) { continue; }
        let xv = ld_x(u32(((b * u_cin() + ci) * u_h() + iy) * u_w() + tx / u_sw()));
        s = s + xv * ld_k(u32(((ci * u_cog() + j) * u_kh() + ky) * u_kw() + kx));
      }
    }
  }
  return s;`,
    },
    [x, o.weight],
    shape,
    {
      cin,
      h,
      w,
      cog,
      kh,
      kw,
      cout,
      oh,
      ow,
      cig: cin / g.groups,
      sh: g.stride[0],
      sw: g.stride[1],
      ph: g.padding[0],
      pw: g.padding[1],
      dh: g.dilation[0],
      dw: g.dilation[1],
    },
  );
}
