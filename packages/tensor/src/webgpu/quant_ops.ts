/**
 * Kernels of fake quantization, bit-exact with the CPU (float32 division correctly rounded, round half to
 * even), and of its gradients: the straight-through dx (bit-exact) and the LSQ scale gradient (a
 * per-channel tree reduction in float32).
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { normalizeAxis, sizeOf } from "../shape.ts";
import { grid } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { allocTensor, type GpuKernel } from "./gpu_tensor.ts";
import { FBITS, QUANT } from "./wgsl_lib.ts";

/** channels × inner of a per-channel layout (`axis` < 0: per tensor). */
function layout(shape: readonly number[], axis: number) {
  if (axis < 0) return { channels: 1, inner: Math.max(1, sizeOf(shape)) };
  const a = normalizeAxis(axis, shape.length);
  return { channels: shape[a], inner: Math.max(1, sizeOf(shape.slice(a + 1))) };
}

const RANGE = [{ name: "qmin", type: "f32" as const }, { name: "qmax", type: "f32" as const }];
const CHANNEL = [{ name: "ch", type: "u32" as const }, { name: "inner", type: "u32" as const }];
const SCALE_OF = "let s = ld_s((i / u_inner()) % u_ch());";

/**
 * fakeQuantize: dequantize(quantize(x, s), s) bit for bit (NaN stays NaN where the CPU throws).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { fakeQuantizeGpu } from "./quant_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0.24, 0.25, 0.26, 9), [4]), s = uploadTensor(dev, Float32Array.of(0.5), [1]);
 *   const [y] = fakeQuantizeGpu(dev, [x, s], { qmin: -128, qmax: 127, axis: -1 }, [{ shape: [4], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0,0,0.5,9");
 *   dev.destroy();
 * }
 * ```
 */
export const fakeQuantizeGpu: GpuKernel<OpAttrs["fakeQuantize"]> = (dev, ins, a, outs) => {
  const l = layout(ins[0].shape, a.axis);
  return [runElem(
    dev,
    {
      name: "fakeQuantize",
      inputs: [{ name: "x", dtype: "float32" }, { name: "s", dtype: "float32" }],
      out: "float32",
      uniforms: [...RANGE, ...CHANNEL],
      functions: [QUANT, FBITS],
      elem: `  let x = ld_x(i); ${SCALE_OF}
  if (is_nan(x)) { return x; }
  let r = clamp(quant_round(x, s), u_qmin(), u_qmax());
  return select(r, 0.0, r == 0.0) * s;`,
    },
    ins,
    outs[0].shape,
    { qmin: a.qmin, qmax: a.qmax, ch: l.channels, inner: l.inner },
  )];
};

/**
 * fakeQuantizeBackward: the straight-through dx (bit-exact) and the LSQ scale gradient.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { fakeQuantizeBackwardGpu } from "./quant_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const dy = uploadTensor(dev, Float32Array.of(2, 2), [2]), x = uploadTensor(dev, Float32Array.of(0.3, 500), [2]);
 *   const s = uploadTensor(dev, Float32Array.of(0.5), [1]);
 *   const attrs = { qmin: -128, qmax: 127, axis: -1, scaleGrad: false };
 *   const [dx] = fakeQuantizeBackwardGpu(dev, [dy, x, s], attrs, [{ shape: [2], dtype: "float32" }, { shape: [1], dtype: "float32" }]);
 *   assert((await readTensor(dev, dx)).join() === "2,0");
 *   dev.destroy();
 * }
 * ```
 */
export const fakeQuantizeBackwardGpu: GpuKernel<OpAttrs["fakeQuantizeBackward"]> = (dev, ins, a, outs) => {
  const [dy, x, s] = ins;
  const l = layout(x.shape, a.axis);
  const dx = runElem(
    dev,
    {
      name: "fakeQuantizeMask",
      inputs: [{ name: "dy", dtype: "float32" }, { name: "x", dtype: "float32" }, {
        name: "s",
        dtype: "float32",
      }],
      out: "float32",
      uniforms: [...RANGE, ...CHANNEL],
      functions: [QUANT],
      elem: `  ${SCALE_OF}
  let r = quant_round(ld_x(i), s);
  return select(0.0, ld_dy(i), r >= u_qmin() && r <= u_qmax());`,
    },
    [dy, x, s],
    x.shape,
    { qmin: a.qmin, qmax: a.qmax, ch: l.channels, inner: l.inner },
  );
  if (!a.scaleGrad) {
    return [
      dx,
      runElem(dev, { name: "zeros", inputs: [], out: "float32", elem: "  return 0.0;" }, [], outs[1].shape),
    ];
  }
  const ds = allocTensor(dev, outs[1]);
  const n = sizeOf(x.shape);
  if (l.channels === 0) return [dx, ds];
  const factor = n === 0 ? 1 : 1 / Math.sqrt(n * a.qmax);
  dev.dispatch({
    name: "lsqScaleGrad",
    inputs: ["dy", "x", "s"].map((name) => ({ name, type: "f32" as const })),
    outputs: [{ name: "ds", type: "f32" }],
    uniforms: [...RANGE, ...CHANNEL, { name: "count", type: "u32" }, { name: "g", type: "f32" }],
    workgroupSize: [256, 1, 1],
    shared: ["part: array<f32, 256>"],
    functions: [QUANT],
    body: `  let c = wid.y * nwg.x + wid.x; let cc = min(c, u_ch() - 1u); let sc = s[cc];
  let per = u_count() / u_ch();
  var acc = 0.0;
  for (var j = lidx; j < per; j += 256u) {
    let e = (j / u_inner() * u_ch() + cc) * u_inner() + j % u_inner();
    let v = div_rn(x[e], sc); let r = round(v); let d = dy[e];
    if (r < u_qmin()) { acc = acc + d * u_qmin(); }
    else if (r > u_qmax()) { acc = acc + d * u_qmax(); }
    else { acc = acc + d * (r - v); }
  }
  part[lidx] = acc;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (lidx < h) { part[lidx] = part[lidx] + part[lidx + h]; }
    workgroupBarrier();
  }
  if (lidx == 0u && c < u_ch()) { ds[c] = part[0] * u_g(); }`,
  }, {
    inputs: [dy.buffer, x.buffer, s.buffer],
    outputs: [ds.buffer],
    uniforms: { qmin: a.qmin, qmax: a.qmax, ch: l.channels, inner: l.inner, count: n, g: factor },
    workgroups: grid(l.channels),
  });
  return [dx, ds];
};
