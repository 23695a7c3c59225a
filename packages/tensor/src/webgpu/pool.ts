/**
 * 2-D pooling kernels (NCHW): max pooling (any dtype; padded cells never win; optional dilation for the
 * integer model), average pooling with PyTorch's divisor rules, and both gradients as gathers, each
 * input cell summing the windows that cover it in the CPU's order.
 * @module
 */
import type { OpAttrs, PoolAttrs } from "../ops.ts";
import type { Shape } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { type GpuKernel, type GpuTensor, valueType } from "./gpu_tensor.ts";
import type { UniformDecl, WgslFn } from "./kernel_spec.ts";
import { FBITS } from "./wgsl_lib.ts";

const GEO = ["h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "planes"] as const;
const GEO_UNIFORMS: UniformDecl[] = GEO.map((name) => ({ name, type: "u32" }));

/** Window geometry of a pooling over input `x` to output `out`. */
export interface PoolGeometry {
  /** Kernel [kh, kw]. */
  readonly kernel: readonly [number, number];
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Padding [ph, pw]. */
  readonly padding: readonly [number, number];
  /** Dilation [dh, dw] (1 for the float ops). */
  readonly dilation?: readonly [number, number];
}

/** Uniform values of a pooling from input shape `x` to output shape `out`. */
function poolValues(x: Shape, out: Shape, g: PoolGeometry): Record<string, number> {
  const [dh, dw] = g.dilation ?? [1, 1];
  return {
    h: x[2],
    w: x[3],
    ho: out[2],
    wo: out[3],
    kh: g.kernel[0],
    kw: g.kernel[1],
    sh: g.stride[0],
    sw: g.stride[1],
    ph: g.padding[0],
    pw: g.padding[1],
    dh,
    dw,
    planes: x[0] * x[1],
  };
}

/** Decodes output element `i` into its plane and window origin (y0, x0). */
const OUT_WINDOW = `let ox = i % u_wo(); let t = i / u_wo(); let oy = t % u_ho(); let pl = t / u_ho();
  let xb = pl * u_h() * u_w();
  let y0 = i32(oy * u_sh()) - i32(u_ph()); let x0 = i32(ox * u_sw()) - i32(u_pw());`;

/**
 * Max pooling of `x` (any dtype) with optional dilation; an empty window gives -Inf (float) or 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxPoolInto } from "./pool.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(-5, -2, -7, -1), [1, 1, 2, 2]);
 *   const y = maxPoolInto(dev, x, [1, 1, 1, 1], { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
 *   assert((await readTensor(dev, y))[0] === -1);
 *   dev.destroy();
 * }
 * ```
 */
export function maxPoolInto(dev: WebGpuDevice, x: GpuTensor, outShape: Shape, g: PoolGeometry): GpuTensor {
  const float = x.dtype === "float32";
  const vt = valueType(x.dtype);
  return runElem(
    dev,
    {
      name: "maxPool",
      inputs: [{ name: "x", dtype: x.dtype }],
      out: x.dtype,
      uniforms: GEO_UNIFORMS,
      functions: [FBITS],
      elem: `  ${OUT_WINDOW}
  var best: ${vt} = ${float ? "bitcast<f32>(0xff800000u)" : "0"}; var found = false;
  for (var ky = 0u; ky < u_kh(); ky++) {
    let yy = y0 + i32(ky * u_dh());
    if (yy < 0 || yy >= i32(u_h())) { continue; }
    for (var kx = 0u; kx < u_kw(); kx++) {
      let xx = x0 + i32(kx * u_dw());
      if (xx < 0 || xx >= i32(u_w())) { continue; }
      let v = ld_x(xb + u32(yy) * u_w() + u32(xx));
      ${
        float
          ? "if (!is_nan(best) && (v > best || is_nan(v))) { best = v; }"
          : "if (!found || v > best) { best = v; }"
      }
      found = true;
    }
  }
  return best;`,
    },
    [x],
    outShape,
    poolValues(x.shape, outShape, g),
  );
}

/** The first cell (row-major) holding the window's maximum, as a flat index into the plane, or -1. */
const WINDOW_ARGMAX: WgslFn = {
  code: `fn window_argmax(xb: u32, oy: u32, ox: u32) -> i32 {
  let y0 = i32(oy * u_sh()) - i32(u_ph()); let x0 = i32(ox * u_sw()) - i32(u_pw());
  let y1 = min(y0 + i32(u_kh()), i32(u_h())); let x1 = min(x0 + i32(u_kw()), i32(u_w()));
  var bi = -1; var best = ld_x(xb);
  for (var y = max(y0, 0); y < y1; y++) {
    for (var xx = max(x0, 0); xx < x1; xx++) {
      let v = ld_x(xb + u32(y) * u_w() + u32(xx));
      if (bi < 0 || v > best) { best = v; bi = y * i32(u_w()) + xx; }
    }
  }
  return bi;
}`,
};

/** The output rows/columns whose windows cover input cell (y, x): [first, last]. */
const COVER = `let ix = i % u_w(); let t = i / u_w(); let iy = t % u_h(); let pl = t / u_h();
  let oyl = max(0, (i32(iy + u_ph()) - i32(u_kh()) + i32(u_sh())) / i32(u_sh()));
  let oyh = min(i32(u_ho()) - 1, i32(iy + u_ph()) / i32(u_sh()));
  let oxl = max(0, (i32(ix + u_pw()) - i32(u_kw()) + i32(u_sw())) / i32(u_sw()));
  let oxh = min(i32(u_wo()) - 1, i32(ix + u_pw()) / i32(u_sw()));`;

/**
 * The gradient of max pooling: each window's dy goes to its first maximum.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxPool2dBackwardGpu } from "./pool.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(5), [1, 1, 1, 1]);
 *   const x = uploadTensor(dev, Float32Array.of(1, 4, 2, 3), [1, 1, 2, 2]);
 *   const [dx] = maxPool2dBackwardGpu(dev, [dy, x], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false, countIncludePad: true } as const, []);
 *   assert((await readTensor(dev, dx)).join() === "0,5,0,0");
 *   dev.destroy();
 * }
 * ```
 */
export const maxPool2dBackwardGpu: GpuKernel<OpAttrs["maxPool2dBackward"]> = (dev, ins, a) => {
  const [dy, x] = ins;
  return [runElem(
    dev,
    {
      name: "maxPoolBackward",
      inputs: [{ name: "dy", dtype: "float32" }, { name: "x", dtype: x.dtype }],
      out: "float32",
      uniforms: GEO_UNIFORMS,
      functions: [WINDOW_ARGMAX],
      elem: `  ${COVER}
  let xb = pl * u_h() * u_w(); let me = i32(iy * u_w() + ix);
  var acc = 0.0;
  for (var oy = oyl; oy <= oyh; oy++) {
    for (var ox = oxl; ox <= oxh; ox++) {
      if (window_argmax(xb, u32(oy), u32(ox)) == me) {
        acc = acc + ld_dy((pl * u_ho() + u32(oy)) * u_wo() + u32(ox));
      }
    }
  }
  return acc;`,
    },
    [dy, x],
    x.shape,
    poolValues(x.shape, dy.shape, a),
  )];
};

/** PyTorch's divisor of the window starting at (y0, x0). */
const DIVISOR: WgslFn = {
  code: `fn divisor(y0: i32, x0: i32) -> f32 {
  if (u_incpad() != 0u) {
    return f32((min(y0 + i32(u_kh()), i32(u_h() + u_ph())) - y0) * (min(x0 + i32(u_kw()), i32(u_w() + u_pw())) - x0));
  }
  return f32((min(y0 + i32(u_kh()), i32(u_h())) - max(y0, 0)) * (min(x0 + i32(u_kw()), i32(u_w())) - max(x0, 0)));
}`,
};

/**
 * Average pooling (float32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { avgPool2dGpu } from "./pool.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 4, 2, 3), [1, 1, 2, 2]);
 *   const [y] = avgPool2dGpu(dev, [x], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false, countIncludePad: true } as const, [{ shape: [1, 1, 1, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 2.5);
 *   dev.destroy();
 * }
 * ```
 */
export const avgPool2dGpu: GpuKernel<OpAttrs["avgPool2d"]> = (dev, ins, a, outs) => [
  runElem(
    dev,
    {
      name: "avgPool",
      inputs: [{ name: "x", dtype: "float32" }],
      out: "float32",
      uniforms: [...GEO_UNIFORMS, { name: "incpad", type: "u32" }],
      functions: [DIVISOR],
      elem: `  ${OUT_WINDOW}
  let y1 = min(y0 + i32(u_kh()), i32(u_h())); let x1 = min(x0 + i32(u_kw()), i32(u_w()));
  var s = 0.0;
  for (var y = max(y0, 0); y < y1; y++) {
    for (var xx = max(x0, 0); xx < x1; xx++) { s = s + ld_x(xb + u32(y) * u_w() + u32(xx)); }
  }
  return s / divisor(y0, x0);`,
    },
    ins,
    outs[0].shape,
    { ...poolValues(ins[0].shape, outs[0].shape, a), incpad: +a.countIncludePad },
  ),
];

/**
 * The gradient of average pooling for an input of `xShape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { avgPool2dBackwardGpu } from "./pool.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(4), [1, 1, 1, 1]);
 *   const [dx] = avgPool2dBackwardGpu(dev, [dy], { ...{ kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false, countIncludePad: true }, xShape: [1, 1, 2, 2] }, []);
 *   assert((await readTensor(dev, dx)).join() === "1,1,1,1");
 *   dev.destroy();
 * }
 * ```
 */
export const avgPool2dBackwardGpu: GpuKernel<OpAttrs["avgPool2dBackward"]> = (dev, ins, a) => [
  runElem(
    dev,
    {
      name: "avgPoolBackward",
      inputs: [{ name: "dy", dtype: "float32" }],
      out: "float32",
      uniforms: [...GEO_UNIFORMS, { name: "incpad", type: "u32" }],
      functions: [DIVISOR],
      elem: `  ${COVER}
  var acc = 0.0;
  for (var oy = oyl; oy <= oyh; oy++) {
    for (var ox = oxl; ox <= oxh; ox++) {
      let y0 = oy * i32(u_sh()) - i32(u_ph()); let x0 = ox * i32(u_sw()) - i32(u_pw());
      acc = acc + ld_dy((pl * u_ho() + u32(oy)) * u_wo() + u32(ox)) / divisor(y0, x0);
    }
  }
  return acc;`,
    },
    ins,
    a.xShape,
    { ...poolValues(a.xShape, ins[0].shape, a as PoolAttrs), incpad: +a.countIncludePad },
  ),
];

/**
 * Max pooling.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxPool2dGpu } from "./pool.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 4, 2, 3), [1, 1, 2, 2]);
 *   const [y] = maxPool2dGpu(dev, [x], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false, countIncludePad: true } as const, [{ shape: [1, 1, 1, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 4);
 *   dev.destroy();
 * }
 * ```
 */
export const maxPool2dGpu: GpuKernel<OpAttrs["maxPool2d"]> = (dev, ins, a, outs) => [
  maxPoolInto(dev, ins[0], outs[0].shape, a),
];
