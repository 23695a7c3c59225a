/**
 * The gradients of the 2-D convolution: input gradient (an implicit GEMM whose loader gathers `dy` through
 * the strides, or a direct gather for narrow groups) and weight gradient (an implicit GEMM with K split
 * over several workgroups when it is long, or one workgroup per weight with a tree reduction for narrow
 * groups).
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { type ConvDims, convDims } from "../cpu/conv2d_shapes.ts";
import { grid, type WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { dispatchGemm, TILE } from "./gemm.ts";
import { allocTensor, type GpuKernel, type GpuTensor, loader, releaseTensor } from "./gpu_tensor.ts";
import { CONV_WGSL } from "./conv_geometry.ts";

const { uniforms: DIM_UNIFORMS, values: dimValues, narrow: NARROW, kIndex: KIDX, outPos: OUT_POS, tapX } =
  CONV_WGSL;

/**
 * The input gradient of the convolution (float32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convDims } from "../cpu/conv2d_shapes.ts";
 * import { convBackwardInput } from "./conv_backward.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   const dy = uploadTensor(dev, Float32Array.of(2), [1, 1, 1, 1]);
 *   const w = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const dx = convBackwardInput(dev, dy, w, convDims([1, 1, 2, 2], w.shape, geo, "example"));
 *   assert((await readTensor(dev, dx)).join() === "2,4,6,8");
 *   dev.destroy();
 * }
 * ```
 */
export function convBackwardInput(dev: WebGpuDevice, dy: GpuTensor, w: GpuTensor, d: ConvDims): GpuTensor {
  const shape = [d.n, d.c, d.h, d.w];
  const tap = `let ty = i32(iy + u_ph()) - i32(ky * u_dh()); let tx = i32(ix + u_pw()) - i32(kx * u_dw());
  if (ty < 0 || tx < 0) { return 0.0; }
  let oy = u32(ty) / u_sh(); let ox = u32(tx) / u_sw();
  if (oy * u_sh() != u32(ty) || ox * u_sw() != u32(tx) || oy >= u_ho() || ox >= u_wo()) { return 0.0; }`;
  if (d.cg < NARROW) {
    return runElem(
      dev,
      {
        name: "convdx_direct",
        inputs: [{ name: "dy", dtype: "float32" }, { name: "w", dtype: "float32" }],
        out: "float32",
        uniforms: DIM_UNIFORMS,
        functions: [{
          code: `fn dy_at(b: u32, oc: u32, iy: u32, ix: u32, ky: u32, kx: u32) -> f32 {
  ${tap}
  return ld_dy(((b * u_co() + oc) * u_ho() + oy) * u_wo() + ox);
}`,
        }],
        elem: `  let ix = i % u_w(); let t1 = i / u_w(); let iy = t1 % u_h(); let t2 = t1 / u_h();
  let ch = t2 % u_c(); let b = t2 / u_c(); let g = ch / u_cg(); let m = ch % u_cg();
  var acc = 0.0;
  for (var o = 0u; o < u_cog(); o++) {
    let oc = g * u_cog() + o;
    for (var ky = 0u; ky < u_kh(); ky++) {
      for (var kx = 0u; kx < u_kw(); kx++) {
        acc = acc + dy_at(b, oc, iy, ix, ky, kx) * ld_w(((oc * u_cg() + m) * u_kh() + ky) * u_kw() + kx);
      }
    }
  }
  return acc;`,
      },
      [dy, w],
      shape,
      dimValues(d),
    );
  }
  const out = allocTensor(dev, { shape, dtype: "float32" });
  dispatchGemm(
    dev,
    {
      name: "convdx_gemm",
      vt: "f32",
      inputs: [{ name: "dy", type: "f32" }, { name: "w", type: "f32" }],
      outputs: [{ name: "dx", type: "f32" }],
      uniforms: DIM_UNIFORMS,
      functions: [loader("dy", "float32"), loader("w", "float32")],
      loadA: `  ${KIDX}\n  return ld_w(((z * u_cog() + kc) * u_cg() + m) * khw + kr);`,
      loadB: `  ${KIDX}
  let hw = u_h() * u_w(); let b = n / hw; let p = n % hw; let iy = p / u_w(); let ix = p % u_w();
  ${tap}
  return ld_dy(((b * u_co() + z * u_cog() + kc) * u_ho() + oy) * u_wo() + ox);`,
      store: "  let hw = u_h() * u_w(); dx[(n / hw * u_c() + z * u_cg() + m) * hw + n % hw] = v;",
    },
    { M: d.cg, N: d.n * d.h * d.w, K: d.cog * d.kh * d.kw, batch: d.groups },
    {
      inputs: [dy.buffer, w.buffer],
      outputs: [out.buffer],
    },
    dimValues(d),
  );
  return out;
}

/**
 * The weight gradient of the convolution (float32, summed over the batch).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convDims } from "../cpu/conv2d_shapes.ts";
 * import { convBackwardWeight } from "./conv_backward.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   const dy = uploadTensor(dev, Float32Array.of(2), [1, 1, 1, 1]);
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const dw = convBackwardWeight(dev, dy, x, convDims(x.shape, [1, 1, 2, 2], geo, "example"));
 *   assert((await readTensor(dev, dw)).join() === "2,4,6,8");
 *   dev.destroy();
 * }
 * ```
 */
export function convBackwardWeight(dev: WebGpuDevice, dy: GpuTensor, x: GpuTensor, d: ConvDims): GpuTensor {
  const shape = [d.co, d.cg, d.kh, d.kw];
  const total = d.co * d.cg * d.kh * d.kw;
  const K = d.n * d.ho * d.wo;
  const functions = [loader("dy", "float32"), loader("x", "float32")];
  const inputs = [{ name: "dy", type: "f32" as const }, { name: "x", type: "f32" as const }];
  if (d.cog < NARROW) {
    const out = allocTensor(dev, { shape, dtype: "float32" });
    dev.dispatch({
      name: "convdw_direct",
      inputs,
      outputs: [{ name: "dw", type: "f32" }],
      uniforms: [{ name: "total", type: "u32" }, ...DIM_UNIFORMS],
      workgroupSize: [64, 1, 1],
      shared: ["part: array<f32, 64>"],
      functions: [...functions, {
        code: `fn term(wi: u32, k: u32) -> f32 {
  let kx = wi % u_kw(); let t1 = wi / u_kw(); let ky = t1 % u_kh(); let t2 = t1 / u_kh();
  let ci = t2 % u_cg(); let o = t2 / u_cg(); let ch = o / u_cog() * u_cg() + ci;
  let n = k; ${OUT_POS}
  let iy = i32(oy * u_sh() + ky * u_dh()) - i32(u_ph()); let ix = i32(ox * u_sw() + kx * u_dw()) - i32(u_pw());
  if (iy < 0 || ix < 0 || iy >= i32(u_h()) || ix >= i32(u_w())) { return 0.0; }
  return ld_dy((b * u_co() + o) * ohw + p) * ld_x(((b * u_c() + ch) * u_h() + u32(iy)) * u_w() + u32(ix));
}`,
      }],
      body: `  let wi = wid.y * nwg.x + wid.x;
  let wc = min(wi, u_total() - 1u);
  var acc = 0.0;
  for (var k = lidx; k < u_nb() * u_ho() * u_wo(); k += 64u) { acc = acc + term(wc, k); }
  part[lidx] = acc;
  workgroupBarrier();
  for (var h = 32u; h > 0u; h = h >> 1u) {
    if (lidx < h) { part[lidx] = part[lidx] + part[lidx + h]; }
    workgroupBarrier();
  }
  if (lidx == 0u && wi < u_total()) { dw[wi] = part[0]; }`,
    }, {
      inputs: [dy.buffer, x.buffer],
      outputs: [out.buffer],
      uniforms: { total, ...dimValues(d) },
      workgroups: grid(total),
    });
    return out;
  }
  const N = d.cg * d.kh * d.kw;
  const tiles = Math.ceil(d.cog / TILE) * Math.ceil(N / TILE) * d.groups;
  const ksplits = Math.max(1, Math.min(64, Math.floor(K / 512), Math.ceil(256 / tiles)));
  const part = allocTensor(dev, { shape: [ksplits * total], dtype: "float32" });
  dispatchGemm(
    dev,
    {
      name: "convdw_gemm",
      vt: "f32",
      inputs,
      outputs: [{ name: "dw", type: "f32" }],
      uniforms: [{ name: "total", type: "u32" }, ...DIM_UNIFORMS],
      functions,
      loadA:
        "  let ohw = u_ho() * u_wo(); return ld_dy((k / ohw * u_co() + z * u_cog() + m) * ohw + k % ohw);",
      loadB: `  let nn = n; let n2 = k;
  let khw = u_kh() * u_kw(); let kc = nn / khw; let kr = nn % khw; let ky = kr / u_kw(); let kx = kr % u_kw();
  let ch = z * u_cg() + kc;
  let ohw = u_ho() * u_wo(); let b = n2 / ohw; let p = n2 % ohw; let oy = p / u_wo(); let ox = p % u_wo();
  ${tapX("0.0")}`,
      store: "  dw[ks * u_total() + (z * u_cog() + m) * u_N() + n] = v;",
    },
    { M: d.cog, N, K, batch: d.groups, ksplits },
    {
      inputs: [dy.buffer, x.buffer],
      outputs: [part.buffer],
    },
    { total, ...dimValues(d) },
  );
  if (ksplits === 1) return { ...part, shape };
  const out = runElem(
    dev,
    {
      name: "split_sum",
      inputs: [{ name: "p", dtype: "float32" }],
      out: "float32",
      uniforms: [{ name: "splits", type: "u32" }],
      elem:
        "  var s = 0.0;\n  for (var k = 0u; k < u_splits(); k++) { s = s + ld_p(k * u_n() + i); }\n  return s;",
    },
    [part],
    shape,
    { splits: ksplits },
  );
  releaseTensor(dev, part);
  return out;
}

/**
 * conv2dBackwardInput.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { conv2dBackwardInputGpu } from "./conv_backward.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(1), [1, 1, 1, 1]);
 *   const w = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, xShape: [1, 1, 2, 2] } as const;
 *   const [dx] = conv2dBackwardInputGpu(dev, [dy, w], geo, []);
 *   assert((await readTensor(dev, dx)).join() === "1,2,3,4");
 *   dev.destroy();
 * }
 * ```
 */
export const conv2dBackwardInputGpu: GpuKernel<OpAttrs["conv2dBackwardInput"]> = (dev, ins, a) => [
  convBackwardInput(dev, ins[0], ins[1], convDims(a.xShape, ins[1].shape, a, "conv2dBackwardInput")),
];

/**
 * conv2dBackwardWeight.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { conv2dBackwardWeightGpu } from "./conv_backward.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(1), [1, 1, 1, 1]);
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, wShape: [1, 1, 2, 2] } as const;
 *   const [dw] = conv2dBackwardWeightGpu(dev, [dy, x], geo, []);
 *   assert((await readTensor(dev, dw)).join() === "1,2,3,4");
 *   dev.destroy();
 * }
 * ```
 */
export const conv2dBackwardWeightGpu: GpuKernel<OpAttrs["conv2dBackwardWeight"]> = (dev, ins, a) => [
  convBackwardWeight(dev, ins[0], ins[1], convDims(ins[1].shape, a.wShape, a, "conv2dBackwardWeight")),
];
