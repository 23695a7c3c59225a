/**
 * Integer pooling with PyTorch's ceil mode and divisor rules on GPU-resident tensors: max pooling, and
 * average pooling's window sums rescaled to the kernel area where a window's divisor differs —
 * `@hqat/qtensor`'s `intMaxPoolWindow` and `intAvgPoolWindowSum`.
 * @module
 */
import { poolOutputSize, type PoolWindowSpec } from "@hqat/qtensor";
import type { Shape } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";
import { maxPoolInto } from "./pool.ts";

/** The output shape of a pooling window over NCHW `shape` (PyTorch's rule), or a RangeError. */
function windowShape(shape: Shape, g: PoolWindowSpec, op: string): number[] {
  const [n, c, h, w] = shape, ceil = g.ceilMode ?? false;
  if (shape.length !== 4 || 2 * g.padding[0] > g.kernel[0] || 2 * g.padding[1] > g.kernel[1]) {
    throw new RangeError(`${op}: [${shape}] with a ${g.kernel} window and padding ${g.padding}`);
  }
  const oh = poolOutputSize(h, g.kernel[0], g.stride[0], g.padding[0], ceil);
  const ow = poolOutputSize(w, g.kernel[1], g.stride[1], g.padding[1], ceil);
  if (oh < 1 || ow < 1) throw new RangeError(`${op}: the window does not fit [${shape}]`);
  return [n, c, oh, ow];
}

/**
 * Max pooling of an integer tensor with PyTorch's ceil mode: padded and outside cells never win.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxPoolWindowResident } from "./int_pool_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, -2, 3, -4, 5, -6, 7, -8, 9), [1, 1, 3, 3]);
 *   const y = maxPoolWindowResident(dev, x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true });
 *   assert((await readTensor(dev, y)).join() === "5,3,7,9");
 *   dev.destroy();
 * }
 * ```
 */
export function maxPoolWindowResident(dev: WebGpuDevice, x: GpuTensor, g: PoolWindowSpec): GpuTensor {
  return maxPoolInto(dev, x, windowShape(x.shape, g, "maxPoolWindowResident()"), g);
}

/**
 * The int32 window sums of average pooling of int8/int16 `x` with PyTorch's divisor rules, each rescaled
 * to the kernel area `K` where its divisor `c` differs: `round_half_up(sum · K / c)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { avgPoolSumResident } from "./int_pool_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), [1, 1, 3, 3]);
 *   const y = avgPoolSumResident(dev, x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true });
 *   assert((await readTensor(dev, y)).join() === "12,18,30,36");
 *   dev.destroy();
 * }
 * ```
 */
export function avgPoolSumResident(dev: WebGpuDevice, x: GpuTensor, g: PoolWindowSpec): GpuTensor {
  if (x.dtype !== "int8" && x.dtype !== "int16") {
    throw new TypeError(`avgPoolSumResident(): the input must be int8 or int16, not ${x.dtype}`);
  }
  const out = windowShape(x.shape, g, "avgPoolSumResident()");
  const names = ["h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "ph", "pw", "incl"];
  return runElem(
    dev,
    {
      name: "int_avg_pool_sum",
      inputs: [{ name: "x", dtype: x.dtype }],
      out: "int32",
      uniforms: names.map((name) => ({ name, type: "i32" as const })),
      elem: `  let ii = i32(i);
  let ox = ii % u_wo(); let t = ii / u_wo(); let oy = t % u_ho(); let pl = t / u_ho();
  let y0 = oy * u_sh() - u_ph(); let x0 = ox * u_sw() - u_pw();
  let ys = max(y0, 0); let ye = min(y0 + u_kh(), u_h()); let xs = max(x0, 0); let xe = min(x0 + u_kw(), u_w());
  var s = 0;
  for (var yy = ys; yy < ye; yy++) {
    for (var xx = xs; xx < xe; xx++) { s = s + ld_x(u32((pl * u_h() + yy) * u_w() + xx)); }
  }
  var c = (ye - ys) * (xe - xs);
  if (u_incl() != 0) { c = (min(y0 + u_kh(), u_h() + u_ph()) - y0) * (min(x0 + u_kw(), u_w() + u_pw()) - x0); }
  let k = u_kh() * u_kw();
  if (c == k) { return s; }
  let p = s * k;
  var q = p / c; var r = p - q * c;
  if (r < 0) { q = q - 1; r = r + c; }
  return q + select(0, 1, 2 * r >= c);`,
    },
    [x],
    out,
    {
      h: x.shape[2],
      w: x.shape[3],
      ho: out[2],
      wo: out[3],
      kh: g.kernel[0],
      kw: g.kernel[1],
      sh: g.stride[0],
      sw: g.stride[1],
      ph: g.padding[0],
      pw: g.padding[1],
      incl: (g.countIncludePad ?? true) ? 1 : 0,
    },
  );
}
