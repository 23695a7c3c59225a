/**
 * WGSL kernels of the spatial resize (ONNX Resize, nearest and linear) and of its gradient. The taps come
 * from {@linkcode resizeTaps} on the host, as on the CPU, and travel in two small buffers: `idx` (int32:
 * per output row and column the two input indices, then per input row and column the range of outputs
 * reading it) and `wt` (float32: the two weights per output row and column).
 * @module
 */
import type { OpAttrs, ResizeAttrs } from "../ops.ts";
import { type ResizeTaps, resizeTaps } from "../resize_geometry.ts";
import type { Shape } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { type GpuKernel, type GpuTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import type { UniformDecl } from "./kernel_spec.ts";

const UNIFORMS: UniformDecl[] = ["h", "w", "oh", "ow"].map((name) => ({ name, type: "u32" }));

/** Offsets into `idx` and `wt`, as WGSL accessors over the uniforms. */
const TABLE = `fn y0_of(o: u32) -> u32 { return u32(ld_idx(o)); }
fn y1_of(o: u32) -> u32 { return u32(ld_idx(u_oh() + o)); }
fn x0_of(o: u32) -> u32 { return u32(ld_idx(2u * u_oh() + o)); }
fn x1_of(o: u32) -> u32 { return u32(ld_idx(2u * u_oh() + u_ow() + o)); }
fn ylo_of(i: u32) -> u32 { return u32(ld_idx(2u * (u_oh() + u_ow()) + i)); }
fn yhi_of(i: u32) -> u32 { return u32(ld_idx(2u * (u_oh() + u_ow()) + u_h() + i)); }
fn xlo_of(i: u32) -> u32 { return u32(ld_idx(2u * (u_oh() + u_ow() + u_h()) + i)); }
fn xhi_of(i: u32) -> u32 { return u32(ld_idx(2u * (u_oh() + u_ow() + u_h()) + u_w() + i)); }
fn wy0_of(o: u32) -> f32 { return ld_wt(o); }
fn wy1_of(o: u32) -> f32 { return ld_wt(u_oh() + o); }
fn wx0_of(o: u32) -> f32 { return ld_wt(2u * u_oh() + o); }
fn wx1_of(o: u32) -> f32 { return ld_wt(2u * u_oh() + u_ow() + o); }
fn wy_at(o: u32, i: u32) -> f32 { return select(0.0, wy0_of(o), y0_of(o) == i) + select(0.0, wy1_of(o), y1_of(o) == i); }
fn wx_at(o: u32, i: u32) -> f32 { return select(0.0, wx0_of(o), x0_of(o) == i) + select(0.0, wx1_of(o), x1_of(o) == i); }`;

/** The tables of `taps` in the layout {@linkcode TABLE} reads. */
function tables(t: ResizeTaps): { idx: Int32Array; wt: Float32Array } {
  const idx = new Int32Array(
    [t.h.i0, t.h.i1, t.w.i0, t.w.i1, t.h.lo, t.h.hi, t.w.lo, t.w.hi].flatMap((a) => Array.from(a)),
  );
  const wt = new Float32Array([t.h.w0, t.h.w1, t.w.w0, t.w.w1].flatMap((a) => Array.from(a)));
  return { idx, wt };
}

/** Runs an element kernel over `x` with the taps of a resize of `xShape` uploaded beside it. */
function withTables(
  dev: WebGpuDevice,
  xShape: Shape,
  attrs: ResizeAttrs,
  run: (idx: GpuTensor, wt: GpuTensor) => GpuTensor,
): GpuTensor {
  const { idx, wt } = tables(resizeTaps(xShape, attrs));
  const ig = uploadTensor(dev, idx, [idx.length]), wg = uploadTensor(dev, wt, [wt.length]);
  try {
    return run(ig, wg);
  } finally {
    releaseTensor(dev, ig);
    releaseTensor(dev, wg);
  }
}

const sizes = (x: Shape, a: ResizeAttrs) => ({ h: x[2], w: x[3], oh: a.size[0], ow: a.size[1] });

/**
 * Resizes the two spatial axes of NCHW `x`: nearest (any dtype) or linear (float32), summed like the CPU.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { resizeGpu } from "./resize.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0, 4), [1, 1, 1, 2]);
 *   const attrs = {
 *     size: [1, 3], mode: "linear", coordinateTransformation: "align_corners", nearestMode: "floor", scales: null,
 *   } as const;
 *   const [y] = resizeGpu(dev, [x], attrs, [{ shape: [1, 1, 1, 3], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0,2,4");
 *   dev.destroy();
 * }
 * ```
 */
export const resizeGpu: GpuKernel<OpAttrs["resize"]> = (dev, ins, a, outs) => {
  const x = ins[0];
  const linear = a.mode === "linear";
  const elem = `  let ox = i % u_ow(); let t = i / u_ow(); let oy = t % u_oh(); let pl = t / u_oh();
  let b = pl * u_h() * u_w();
  let r0 = b + y0_of(oy) * u_w();
  ${
    linear
      ? `let r1 = b + y1_of(oy) * u_w();
  let c0 = x0_of(ox); let c1 = x1_of(ox); let wx0 = wx0_of(ox); let wx1 = wx1_of(ox);
  let top = wx0 * ld_x(r0 + c0) + wx1 * ld_x(r0 + c1);
  let bottom = wx0 * ld_x(r1 + c0) + wx1 * ld_x(r1 + c1);
  return wy0_of(oy) * top + wy1_of(oy) * bottom;`
      : "return ld_x(r0 + x0_of(ox));"
  }`;
  return [withTables(dev, x.shape, a, (idx, wt) =>
    runElem(
      dev,
      {
        name: `resize_${a.mode}`,
        inputs: [{ name: "x", dtype: x.dtype }, { name: "idx", dtype: "int32" }, {
          name: "wt",
          dtype: "float32",
        }],
        out: x.dtype,
        uniforms: UNIFORMS,
        functions: [{ code: TABLE }],
        elem,
      },
      [x, idx, wt],
      outs[0].shape,
      sizes(x.shape, a),
    ))];
};

/**
 * The gradient of {@linkcode resizeGpu}: each input cell sums `wy · wx · dy` over the outputs that read
 * it, in the CPU's order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { resizeBackwardGpu } from "./resize.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 1, 4]);
 *   const attrs = {
 *     size: [1, 4], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor", scales: null,
 *     xShape: [1, 1, 1, 2],
 *   } as const;
 *   const [dx] = resizeBackwardGpu(dev, [dy], attrs, [{ shape: [1, 1, 1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, dx)).join() === "3,7");
 *   dev.destroy();
 * }
 * ```
 */
export const resizeBackwardGpu: GpuKernel<OpAttrs["resizeBackward"]> = (dev, ins, a, outs) => {
  const elem = `  let ix = i % u_w(); let t = i / u_w(); let iy = t % u_h(); let pl = t / u_h();
  let b = pl * u_oh() * u_ow();
  let xlo = xlo_of(ix); let xhi = xhi_of(ix);
  var acc = 0.0;
  for (var oy = ylo_of(iy); oy < yhi_of(iy); oy++) {
    let wy = wy_at(oy, iy); let row = b + oy * u_ow();
    for (var ox = xlo; ox < xhi; ox++) { acc = acc + wy * wx_at(ox, ix) * ld_dy(row + ox); }
  }
  return acc;`;
  return [withTables(dev, a.xShape, a, (idx, wt) =>
    runElem(
      dev,
      {
        name: "resizeBackward",
        inputs: [{ name: "dy", dtype: "float32" }, { name: "idx", dtype: "int32" }, {
          name: "wt",
          dtype: "float32",
        }],
        out: "float32",
        uniforms: UNIFORMS,
        functions: [{ code: TABLE }],
        elem,
      },
      [ins[0], idx, wt],
      outs[0].shape,
      sizes(a.xShape, a),
    ))];
};
