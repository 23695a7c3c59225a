/**
 * The 2-D convolution kernel (NCHW, weights [Co, C / groups, kh, kw]; groups, depthwise, stride, padding,
 * dilation). Where a group has enough output channels it runs as an implicit GEMM on the tiled template
 * (the loader gathers the im2col operand on the fly); depthwise and narrow groups run as direct loops.
 * It also serves the integer convolution: with int8 or int16 operands it accumulates exactly in i32.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { chainLastReads, chainSkips } from "../chain_skips.ts";
import { type ConvDims, convDims } from "../cpu/conv2d_shapes.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { dispatchGemm } from "./gemm.ts";
import { binaryGpu, clampGpu } from "./elementwise.ts";
import {
  allocTensor,
  type GpuKernel,
  type GpuTensor,
  loader,
  releaseTensor,
  storageType,
  valueType,
} from "./gpu_tensor.ts";
import { channelAffineGpu } from "./norm.ts";
import { CONV_WGSL } from "./conv_geometry.ts";

const { uniforms: DIM_UNIFORMS, values: dimValues, narrow: NARROW, kIndex: KIDX, outPos: OUT_POS, tapX } =
  CONV_WGSL;

/**
 * The convolution of `x` by `w` for checked sizes `d`, into a float32 (float operands) or int32 (int8/int16
 * operands, exact) tensor [N, Co, Ho, Wo].
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { convDims } from "../cpu/conv2d_shapes.ts";
 * import { convForward } from "./conv.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const geo = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 *   const x = uploadTensor(dev, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 *   const w = uploadTensor(dev, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 *   const y = convForward(dev, x, w, convDims(x.shape, w.shape, geo, "example"));
 *   assert((await readTensor(dev, y)).join() === "4,6,4,6,9,6,4,6,4");
 *   dev.destroy();
 * }
 * ```
 */
export function convForward(dev: WebGpuDevice, x: GpuTensor, w: GpuTensor, d: ConvDims): GpuTensor {
  const vt = valueType(x.dtype), zero = vt === "f32" ? "0.0" : "0";
  const outDtype = vt === "f32" ? "float32" : "int32";
  const inputs = [{ name: "x", dtype: x.dtype }, { name: "w", dtype: w.dtype }];
  if (d.cog < NARROW) {
    return runElem(
      dev,
      {
        name: "conv_direct",
        inputs,
        out: outDtype,
        uniforms: DIM_UNIFORMS,
        elem: `  let ox = i % u_wo(); let t1 = i / u_wo(); let oy = t1 % u_ho(); let t2 = t1 / u_ho();
  let o = t2 % u_co(); let b = t2 / u_co(); let g = o / u_cog();
  var acc: ${vt} = ${zero};
  for (var ci = 0u; ci < u_cg(); ci++) {
    let xb = (b * u_c() + g * u_cg() + ci) * u_h(); let wb = (o * u_cg() + ci) * u_kh();
    for (var ky = 0u; ky < u_kh(); ky++) {
      let iy = i32(oy * u_sh() + ky * u_dh()) - i32(u_ph());
      if (iy < 0 || iy >= i32(u_h())) { continue; }
      for (var kx = 0u; kx < u_kw(); kx++) {
        let ix = i32(ox * u_sw() + kx * u_dw()) - i32(u_pw());
        if (ix < 0 || ix >= i32(u_w())) { continue; }
        acc = acc + ld_x((xb + u32(iy)) * u_w() + u32(ix)) * ld_w((wb + ky) * u_kw() + kx);
      }
    }
  }
  return acc;`,
      },
      [x, w],
      [d.n, d.co, d.ho, d.wo],
      dimValues(d),
    );
  }
  const out = allocTensor(dev, { shape: [d.n, d.co, d.ho, d.wo], dtype: outDtype });
  dispatchGemm(
    dev,
    {
      name: "conv_gemm",
      vt,
      inputs: [{ name: "x", type: storageType(x.dtype) }, { name: "w", type: storageType(w.dtype) }],
      outputs: [{ name: "y", type: vt }],
      uniforms: DIM_UNIFORMS,
      functions: [loader("x", x.dtype), loader("w", w.dtype)],
      loadA: "  return ld_w((z * u_cog() + m) * u_K() + k);",
      loadB: `  ${KIDX} let ch = z * u_cg() + kc;\n  ${OUT_POS}\n  ${tapX(zero)}`,
      store: "  let ohw = u_ho() * u_wo(); y[(n / ohw * u_co() + z * u_cog() + m) * ohw + n % ohw] = v;",
    },
    { M: d.cog, N: d.n * d.ho * d.wo, K: d.cg * d.kh * d.kw, batch: d.groups },
    {
      inputs: [x.buffer, w.buffer],
      outputs: [out.buffer],
    },
    dimValues(d),
  );
  return out;
}

/**
 * conv2d.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { conv2dGpu } from "./conv.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const w = uploadTensor(dev, Float32Array.of(1, 1, 1, 1), [1, 1, 2, 2]);
 *   const [y] = conv2dGpu(dev, [x, w], { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }, []);
 *   assert((await readTensor(dev, y))[0] === 10);
 *   dev.destroy();
 * }
 * ```
 */
export const conv2dGpu: GpuKernel<OpAttrs["conv2d"]> = (dev, ins, a) => [
  convForward(dev, ins[0], ins[1], convDims(ins[0].shape, ins[1].shape, a, "conv2d")),
];

/**
 * conv2dAffine: the convolution, then channelAffine and clamp on the device (the intermediates released).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { conv2dAffineGpu } from "./conv.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const w = uploadTensor(dev, Float32Array.of(1), [1, 1, 1, 1]);
 *   const s = uploadTensor(dev, Float32Array.of(2), [1]), t = uploadTensor(dev, Float32Array.of(-5), [1]);
 *   const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   const [y] = conv2dAffineGpu(dev, [x, w, s, t], { ...geo, min: 0, max: 6, openGrad: true }, [
 *     { shape: [1, 1, 2, 2], dtype: "float32" },
 *   ]);
 *   assert((await readTensor(dev, y)).join() === "0,0,1,3");
 *   dev.destroy();
 * }
 * ```
 */
export const conv2dAffineGpu: GpuKernel<OpAttrs["conv2dAffine"]> = (dev, ins, a, outs) => {
  const { min, max, openGrad, ...geo } = a;
  const [z] = conv2dGpu(dev, [ins[0], ins[1]], geo, outs);
  const [y] = channelAffineGpu(dev, [z, ins[2], ins[3]], {}, outs);
  releaseTensor(dev, z);
  const [out] = clampGpu(dev, [y], { min, max, openGrad }, outs);
  releaseTensor(dev, y);
  return [out];
};

/**
 * conv2dAffineChain: conv2dAffine layer after layer on the device, each intermediate released once nothing
 * reads it any more, and each skip connection added by the `add` kernel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { conv2dAffineChainGpu } from "./conv.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const w = uploadTensor(dev, Float32Array.of(1), [1, 1, 1, 1]);
 *   const s = uploadTensor(dev, Float32Array.of(2), [1]), t = uploadTensor(dev, Float32Array.of(-5), [1]);
 *   const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, min: 0, max: 6, openGrad: true } as const;
 *   const [y] = conv2dAffineChainGpu(dev, [x, w, s, t, w, s, t], { layers: [one, one] }, [
 *     { shape: [1, 1, 2, 2], dtype: "float32" },
 *   ]);
 *   assert((await readTensor(dev, y)).join() === "0,0,0,1");
 *   dev.destroy();
 * }
 * ```
 */
export const conv2dAffineChainGpu: GpuKernel<OpAttrs["conv2dAffineChain"]> = (dev, ins, a, outs) => {
  const skips = chainSkips(a), last = a.layers.length - 1;
  // Layer input j is released after the last layer that reads it (never ins[0], the caller's).
  const lastRead = chainLastReads(a.layers.length, skips);
  const xs = [ins[0]];
  a.layers.forEach((l, i) => {
    const w = ins[1 + 3 * i];
    const d = convDims(xs[i].shape, w.shape, l, "conv2dAffineChain");
    const info = { shape: [d.n, d.co, d.ho, d.wo], dtype: "float32" as const };
    let [y] = conv2dAffineGpu(dev, [xs[i], w, ins[2 + 3 * i], ins[3 + 3 * i]], l, i === last ? outs : [info]);
    const from = skips.get(i);
    if (from !== undefined) {
      // A skip connection: the add op's own kernel, so that the sum has add(x, layer)'s bits.
      const [sum] = binaryGpu("add")(dev, [xs[from], y], {}, i === last ? outs : [info]);
      releaseTensor(dev, y);
      y = sum;
    }
    xs.push(y);
    for (let j = 1; j <= i; j++) if (lastRead[j] === i) releaseTensor(dev, xs[j]);
  });
  return [xs[last + 1]];
};
