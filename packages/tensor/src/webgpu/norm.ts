/**
 * Batch normalization with batch statistics and its gradient (one workgroup per channel, tree
 * reductions in workgroup memory), and the per-channel affine map of frozen batch norm.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { runElem } from "./elem_kernel.ts";
import { clampBackwardGpu, clampGpu } from "./elementwise.ts";
import { allocTensor, type GpuKernel, type GpuTensor, releaseTensor } from "./gpu_tensor.ts";
import type { Shape } from "../shape.ts";

const WG = 256;

/** N, C and the plane size of an [N, C, H, W] or [N, C] shape. */
function dims(shape: Shape) {
  return { n: shape[0], c: shape[1], hw: shape.length === 4 ? shape[2] * shape[3] : 1 };
}

/** WGSL: sums `expr(e)` (e the element index within the channel) over the workgroup into `total`. */
function channelSum(expr: string, into: string): string {
  return `  {
    var acc = 0.0;
    for (var j = lidx; j < cnt; j += ${WG}u) { let e = (j / hw * u_c() + ch) * hw + j % hw; acc = acc + ${expr}; }
    part[lidx] = acc;
    workgroupBarrier();
    for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
      if (lidx < h) { part[lidx] = part[lidx] + part[lidx + h]; }
      workgroupBarrier();
    }
    ${into} = part[0];
    workgroupBarrier();
  }`;
}

const PRELUDE = `  let ch = wid.x; let hw = u_hw(); let cnt = u_nb() * hw; let count = f32(cnt);`;

/**
 * Batch norm over axes 0, 2, 3: outputs y, the batch mean and the biased variance.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { batchNormTrainGpu } from "./norm.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 3), [2, 1]);
 *   const g = uploadTensor(dev, Float32Array.of(1), [1]), b = uploadTensor(dev, Float32Array.of(0), [1]);
 *   const outs = [{ shape: [2, 1], dtype: "float32" }, { shape: [1], dtype: "float32" }, { shape: [1], dtype: "float32" }] as const;
 *   const [, mean, variance] = batchNormTrainGpu(dev, [x, g, b], { eps: 0 }, outs);
 *   assert((await readTensor(dev, mean))[0] === 2 && (await readTensor(dev, variance))[0] === 1);
 *   dev.destroy();
 * }
 * ```
 */
export const batchNormTrainGpu: GpuKernel<OpAttrs["batchNormTrain"]> = (dev, ins, a, outs) => {
  const [x, gamma, beta] = ins;
  const d = dims(x.shape);
  const y = allocTensor(dev, outs[0]), mean = allocTensor(dev, outs[1]), variance = allocTensor(dev, outs[2]);
  if (d.c === 0) return [y, mean, variance];
  dev.dispatch({
    name: "batchNormTrain",
    inputs: [{ name: "x", type: "f32" }, { name: "gamma", type: "f32" }, { name: "beta", type: "f32" }],
    outputs: [{ name: "y", type: "f32" }, { name: "mo", type: "f32" }, { name: "vo", type: "f32" }],
    uniforms: [{ name: "nb", type: "u32" }, { name: "c", type: "u32" }, { name: "hw", type: "u32" }, {
      name: "eps",
      type: "f32",
    }],
    workgroupSize: [WG, 1, 1],
    shared: [`part: array<f32, ${WG}>`],
    body: `${PRELUDE}
  var s = 0.0; var v = 0.0;
${channelSum("x[e]", "s")}
  let m = s / count;
${channelSum("(x[e] - m) * (x[e] - m)", "v")}
  let variance = v / count;
  let scale = gamma[ch] / sqrt(variance + u_eps()); let shift = beta[ch] - m * scale;
  for (var j = lidx; j < cnt; j += ${WG}u) { let e = (j / hw * u_c() + ch) * hw + j % hw; y[e] = x[e] * scale + shift; }
  if (lidx == 0u) { mo[ch] = m; vo[ch] = variance; }`,
  }, {
    inputs: [x.buffer, gamma.buffer, beta.buffer],
    outputs: [y.buffer, mean.buffer, variance.buffer],
    uniforms: { nb: d.n, c: d.c, hw: d.hw, eps: a.eps },
    workgroups: [d.c, 1, 1],
  });
  if (a.clampMax === undefined) return [y, mean, variance];
  const [clamped] = clampGpu(dev, [y], { min: 0, max: a.clampMax, openGrad: true }, [outs[0]]);
  releaseTensor(dev, y);
  return [clamped, mean, variance];
};

/** Per-channel coefficients of the batch-norm gradient: [k, sdy, sdyxh, a1, a2, m, invstd, count]. */
const COEF = 8;

/**
 * The gradient of batchNormTrain for cotangents (dy, dmean, dvar): dx, dgamma, dbeta.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { batchNormTrainBackwardGpu } from "./norm.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const t = (...v: number[]) => uploadTensor(dev, Float32Array.from(v), v.length === 2 ? [2, 1] : [1]);
 *   const outs = [{ shape: [2, 1], dtype: "float32" }, { shape: [1], dtype: "float32" }, { shape: [1], dtype: "float32" }] as const;
 *   const ins = [t(1, 1), t(0), t(0), t(1, 3), t(1), t(2), t(1)];
 *   const [dx, , dbeta] = batchNormTrainBackwardGpu(dev, ins, { eps: 0 }, outs);
 *   assert((await readTensor(dev, dbeta))[0] === 2 && (await readTensor(dev, dx)).join() === "0,0");
 *   dev.destroy();
 * }
 * ```
 */
export const batchNormTrainBackwardGpu: GpuKernel<OpAttrs["batchNormTrainBackward"]> = (
  dev,
  ins,
  a,
  outs,
) => {
  const [dy0, dmean, dvar, x, gamma, mean, variance, y] = ins;
  const d = dims(x.shape);
  if (d.c === 0) return outs.map((o) => allocTensor(dev, o));
  // With a fused clamp, its gradient first (the CPU kernel folds it into its first pass)
  const dy = a.clampMax === undefined
    ? dy0
    : clampBackwardGpu(dev, [dy0, y], { min: 0, max: a.clampMax, openGrad: true }, [outs[0]])[0];
  const coef = allocTensor(dev, { shape: [d.c * COEF], dtype: "float32" });
  dev.dispatch({
    name: "batchNormCoef",
    inputs: ["dy", "x", "gamma", "mean", "vr", "dmean", "dvar"].map((name) => ({
      name,
      type: "f32" as const,
    })),
    outputs: [{ name: "coef", type: "f32" }],
    uniforms: [{ name: "nb", type: "u32" }, { name: "c", type: "u32" }, { name: "hw", type: "u32" }, {
      name: "eps",
      type: "f32",
    }],
    workgroupSize: [WG, 1, 1],
    shared: [`part: array<f32, ${WG}>`],
    body: `${PRELUDE}
  let m = mean[ch]; let invstd = 1.0 / sqrt(vr[ch] + u_eps());
  var sdy = 0.0; var sdyxm = 0.0;
${channelSum("dy[e]", "sdy")}
${channelSum("dy[e] * (x[e] - m)", "sdyxm")}
  if (lidx == 0u) {
    let b = ch * ${COEF}u;
    coef[b] = gamma[ch] * invstd / count; coef[b + 1u] = sdy; coef[b + 2u] = sdyxm * invstd;
    coef[b + 3u] = dmean[ch] / count; coef[b + 4u] = 2.0 * dvar[ch] / count;
    coef[b + 5u] = m; coef[b + 6u] = invstd; coef[b + 7u] = count;
  }`,
  }, {
    inputs: [dy, x, gamma, mean, variance, dmean, dvar].map((t) => t.buffer),
    outputs: [coef.buffer],
    uniforms: { nb: d.n, c: d.c, hw: d.hw, eps: a.eps },
    workgroups: [d.c, 1, 1],
  });
  const dx = runElem(
    dev,
    {
      name: "batchNormDx",
      inputs: [{ name: "dy", dtype: "float32" }, { name: "x", dtype: "float32" }, {
        name: "coef",
        dtype: "float32",
      }],
      out: "float32",
      uniforms: [{ name: "c", type: "u32" }, { name: "hw", type: "u32" }],
      elem: `  let b = (i / u_hw()) % u_c() * ${COEF}u;
  let xm = ld_x(i) - ld_coef(b + 5u); let xhat = xm * ld_coef(b + 6u);
  return ld_coef(b) * (ld_coef(b + 7u) * ld_dy(i) - ld_coef(b + 1u) - xhat * ld_coef(b + 2u))
    + ld_coef(b + 3u) + ld_coef(b + 4u) * xm;`,
    },
    [dy, x, coef],
    x.shape,
    { c: d.c, hw: d.hw },
  );
  const pick = (k: number) =>
    runElem(
      dev,
      {
        name: "batchNormPick",
        inputs: [{ name: "coef", dtype: "float32" }],
        out: "float32",
        uniforms: [{ name: "k", type: "u32" }],
        elem: `  return ld_coef(i * ${COEF}u + u_k());`,
      },
      [coef],
      [d.c],
      { k },
    );
  const out = [dx, pick(2), pick(1)];
  releaseTensor(dev, coef);
  if (dy !== dy0) releaseTensor(dev, dy);
  return out;
};

/**
 * x · scale[c] + shift[c] along axis 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { channelAffineGpu } from "./norm.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2), [1, 2]);
 *   const s = uploadTensor(dev, Float32Array.of(2, 3), [2]), t = uploadTensor(dev, Float32Array.of(1, 1), [2]);
 *   const [y] = channelAffineGpu(dev, [x, s, t], {}, [{ shape: [1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "3,7");
 *   dev.destroy();
 * }
 * ```
 */
export const channelAffineGpu: GpuKernel<OpAttrs["channelAffine"]> = (dev, ins, _a, outs) => {
  const x: GpuTensor = ins[0];
  const inner = x.shape.slice(2).reduce((p, v) => p * v, 1);
  return [runElem(
    dev,
    {
      name: "channelAffine",
      inputs: [{ name: "x", dtype: "float32" }, { name: "s", dtype: "float32" }, {
        name: "t",
        dtype: "float32",
      }],
      out: "float32",
      uniforms: [{ name: "c", type: "u32" }, { name: "inner", type: "u32" }],
      elem: "  let ch = (i / u_inner()) % u_c();\n  return ld_x(i) * ld_s(ch) + ld_t(ch);",
    },
    ins,
    outs[0].shape,
    { c: x.shape[1], inner: Math.max(1, inner) },
  )];
};
