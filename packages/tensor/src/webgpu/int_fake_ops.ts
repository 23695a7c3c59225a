/**
 * Kernels of the fake-quantized integer ops, bit-exact with the CPU: the inputs are quantized back to
 * their integers on the GPU, the integer model runs on them (SPEC.md's add alignment, window sums,
 * exact int32 conv / linear accumulation with the int32 bias, requantization) and the result is
 * dequantized.
 * @module
 */
import { addAlignment, qrange } from "@hqat/qtensor";
import type { DType } from "../dtype.ts";
import type { OpAttrs } from "../ops.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { convDims } from "../cpu/conv2d_shapes.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import { convForward } from "./conv.ts";
import { dispatchGemm } from "./gemm.ts";
import {
  allocTensor,
  type GpuKernel,
  type GpuTensor,
  loader,
  releaseTensor,
  storageType,
  uploadTensor,
  valueType,
} from "./gpu_tensor.ts";
import { avgPoolSumResident } from "./int_pool_resident.ts";
import { requantGpu, requantPlan } from "./requant_kernel.ts";
import { FBITS, QUANT, REQUANT } from "./wgsl_lib.ts";
import { QUANT_BIAS } from "./wgsl_exact.ts";

/**
 * The storage dtype of a quantized type's integers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QDTYPE_STORAGE } from "./int_fake_ops.ts";
 * assert(QDTYPE_STORAGE.qint16 === "int16");
 * ```
 */
export const QDTYPE_STORAGE = { qint8: "int8", qint16: "int16", qint32: "int32" } as const satisfies Record<
  string,
  DType
>;

/**
 * addFake: the integer model's add (or sub) of two fake-quantized tensors, b broadcast to a, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { addFakeGpu } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(0.5), [1]), b = uploadTensor(dev, Float32Array.of(0.25), [1]);
 *   const attrs = { scaleA: 0.5, scaleB: 0.25, dtypeIn: "qint8", outScale: 0.25, dtype: "qint8" } as const;
 *   const [y] = addFakeGpu(dev, [a, b], attrs, [{ shape: [1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 0.75);
 *   dev.destroy();
 * }
 * ```
 */
export const addFakeGpu: GpuKernel<OpAttrs["addFake"]> = (dev, ins, o, outs) => {
  const sa = Math.fround(o.scaleA), sb = Math.fround(o.scaleB);
  const swap = !(sa >= sb);
  const [sx, sy] = swap ? [sb, sa] : [sa, sb];
  const { k, t } = addAlignment(sx, sy, { dtype: o.dtypeIn });
  const plan = requantPlan(
    { numerator: [sx], divisor: 2 ** k },
    { dtype: o.dtype, scale: o.outScale },
    o.activation,
  );
  const { qmin, qmax } = qrange(o.dtypeIn);
  const [a, b] = ins, shape = outs[0].shape;
  const it = coalesce(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const offs = stridedOffsets(it.shape.length, ["a", "b"]);
  const names = ["sa", "sb", "qmin", "qmax", "fa", "fb", "m", "shift", "lo", "hi", "so"];
  const types = ["f32", "f32", "i32", "i32", "i32", "i32", "u32", "u32", "i32", "i32", "f32"] as const;
  const pk = 2 ** k, sign = o.subtract ? -1 : 1;
  return [runElem(
    dev,
    {
      name: `addFake_r${it.shape.length}`,
      inputs: [{ name: "a", dtype: "float32" }, { name: "b", dtype: "float32" }],
      out: "float32",
      uniforms: [...offs.uniforms, ...names.map((name, j) => ({ name, type: types[j] }))],
      functions: [QUANT, FBITS, REQUANT],
      elem: `${offs.code}
  let xa = ld_a(o_a); let xb = ld_b(o_b);
  if (is_nan(xa) || is_nan(xb)) { let nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); }
  let qa = quantize_i(xa, u_sa(), u_qmin(), u_qmax()); let qb = quantize_i(xb, u_sb(), u_qmin(), u_qmax());
  let y = requant(qa * u_fa() + qb * u_fb(), u_m(), u_shift(), u_lo(), u_hi());
  return f32(y) * u_so();`,
    },
    ins,
    shape,
    {
      ...stridedValues(it.shape, ["a", "b"].map((nm, j) => ({ name: nm, base: 0, strides: it.strides[j] }))),
      sa,
      sb,
      qmin,
      qmax,
      fa: swap ? t : pk,
      fb: sign * (swap ? pk : t),
      m: plan.mult[0].M,
      shift: plan.mult[0].n,
      lo: plan.lo,
      hi: plan.hi[0],
      so: o.outScale,
    },
  )];
};

/**
 * The integer window sums of average pooling (padding counts as zero) of `x`: an int32 tensor. With a
 * float32 `x`, each value is first quantized at `scaleIn` to the range of `dtypeIn`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { windowSums } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const s = windowSums(dev, x, [1, 1, 2, 2], { kernel: [2, 2], stride: [1, 1], padding: [1, 1] });
 *   assert((await readTensor(dev, s)).join() === "1,3,4,10");
 *   dev.destroy();
 * }
 * ```
 */
export function windowSums(
  dev: WebGpuDevice,
  x: GpuTensor,
  outShape: Shape,
  g: {
    kernel: readonly [number, number];
    stride: readonly [number, number];
    padding: readonly [number, number];
  },
  quant?: { scaleIn: number; dtypeIn: "qint8" | "qint16" },
): GpuTensor {
  const r = quant ? qrange(quant.dtypeIn) : { qmin: 0, qmax: 0 };
  const value = quant ? "quantize_i(ld_x(j), u_s(), u_qmin(), u_qmax())" : "ld_x(j)";
  const geo = ["h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "ph", "pw"];
  return runElem(
    dev,
    {
      name: `windowSum${quant ? "_quant" : ""}`,
      inputs: [{ name: "x", dtype: x.dtype }],
      out: "int32",
      uniforms: [
        ...geo.map((name) => ({ name, type: "u32" as const })),
        { name: "s", type: "f32" },
        { name: "qmin", type: "i32" },
        { name: "qmax", type: "i32" },
      ],
      functions: [QUANT],
      elem: `  let ox = i % u_wo(); let t = i / u_wo(); let oy = t % u_ho(); let pl = t / u_ho();
  let y0 = i32(oy * u_sh()) - i32(u_ph()); let x0 = i32(ox * u_sw()) - i32(u_pw());
  let y1 = min(y0 + i32(u_kh()), i32(u_h())); let x1 = min(x0 + i32(u_kw()), i32(u_w()));
  var s = 0;
  for (var y = max(y0, 0); y < y1; y++) {
    for (var xx = max(x0, 0); xx < x1; xx++) { let j = (pl * u_h() + u32(y)) * u_w() + u32(xx); s = s + ${value}; }
  }
  return s;`,
    },
    [x],
    outShape,
    {
      h: x.shape[2],
      w: x.shape[3],
      ho: outShape[2],
      wo: outShape[3],
      kh: g.kernel[0],
      kw: g.kernel[1],
      sh: g.stride[0],
      sw: g.stride[1],
      ph: g.padding[0],
      pw: g.padding[1],
      s: quant?.scaleIn ?? 1,
      qmin: r.qmin,
      qmax: r.qmax,
    },
  );
}

/**
 * avgPoolFake: the integer model's average pooling of a fake-quantized tensor, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { avgPoolFakeGpu } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]);
 *   const attrs = { kernel: [0, 0], stride: [1, 1], padding: [0, 0], scaleIn: 1, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" } as const;
 *   const [y] = avgPoolFakeGpu(dev, [x], attrs, [{ shape: [1, 1, 1, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 2.5);
 *   dev.destroy();
 * }
 * ```
 */
export const avgPoolFakeGpu: GpuKernel<OpAttrs["avgPoolFake"]> = (dev, ins, o, outs) => {
  const x = ins[0];
  if (o.kernel[0] !== 0 && (o.ceilMode || o.countIncludePad === false)) {
    // PyTorch's windows and divisors: sums rescaled to the grid of scale sx / K, one requantization.
    const s = uploadTensor(dev, Float32Array.of(Math.fround(o.scaleIn)), [1]);
    const q = quantizeGpu(dev, x, s, { dtype: o.dtypeIn, channels: 1, inner: sizeOf(x.shape) });
    const sums = avgPoolSumResident(dev, q, o);
    const plan = requantPlan(
      { numerator: [Math.fround(o.scaleIn)], divisor: o.kernel[0] * o.kernel[1] },
      { dtype: o.dtype, scale: o.outScale },
    );
    const y = requantGpu(dev, sums, plan, { channels: 1, inner: 1, out: "float32" });
    for (const t of [s, q, sums]) releaseTensor(dev, t);
    return [y];
  }
  const adaptive = o.kernel[0] === 0;
  const kernel: [number, number] = adaptive ? [x.shape[2], x.shape[3]] : [o.kernel[0], o.kernel[1]];
  const g = adaptive ? { kernel, stride: kernel, padding: [0, 0] as const } : { ...o, kernel };
  const sums = windowSums(dev, x, outs[0].shape, g, o);
  const plan = requantPlan(
    { numerator: [Math.fround(o.scaleIn)], divisor: kernel[0] * kernel[1] },
    { dtype: o.dtype, scale: o.outScale },
  );
  const y = requantGpu(dev, sums, plan, { channels: 1, inner: 1, out: "float32" });
  releaseTensor(dev, sums);
  return [y];
};

/**
 * Quantizes float32 `x` per channel (`scales` a float32 tensor, channel `(i / inner) % ch`) to `dtype`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { quantizeGpu } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0.3, -1, 0.25, 100), [4]), s = uploadTensor(dev, Float32Array.of(0.5), [1]);
 *   const q = quantizeGpu(dev, x, s, { dtype: "qint8", channels: 1, inner: 4 });
 *   assert((await readTensor(dev, q)).join() === "1,-2,0,127");
 *   dev.destroy();
 * }
 * ```
 */
export function quantizeGpu(
  dev: WebGpuDevice,
  x: GpuTensor,
  scales: GpuTensor,
  o: { dtype: "qint8" | "qint16"; channels: number; inner: number },
): GpuTensor {
  const { qmin, qmax } = qrange(o.dtype);
  return runElem(
    dev,
    {
      name: "quantize",
      inputs: [{ name: "x", dtype: "float32" }, { name: "s", dtype: "float32" }],
      out: QDTYPE_STORAGE[o.dtype],
      uniforms: [{ name: "qmin", type: "i32" }, { name: "qmax", type: "i32" }, { name: "ch", type: "u32" }, {
        name: "inner",
        type: "u32",
      }],
      functions: [QUANT],
      elem: "  return quantize_i(ld_x(i), ld_s((i / u_inner()) % u_ch()), u_qmin(), u_qmax());",
    },
    [x, scales],
    x.shape,
    { qmin, qmax, ch: Math.max(1, o.channels), inner: Math.max(1, o.inner) },
  );
}

/**
 * The exact int32 accumulator `x[rows, K] · w[O, K]ᵀ` of a linear layer (int8/int16 by int8, wrapping).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { linearAccumulate } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3), [1, 3]), w = uploadTensor(dev, Int8Array.of(1, 1, 1, -1, 0, 1), [2, 3]);
 *   assert((await readTensor(dev, linearAccumulate(dev, x, w))).join() === "6,2");
 *   dev.destroy();
 * }
 * ```
 */
export function linearAccumulate(dev: WebGpuDevice, x: GpuTensor, w: GpuTensor): GpuTensor {
  const [O, K] = w.shape;
  const rows = sizeOf(x.shape) / Math.max(1, K);
  const vt = valueType(x.dtype);
  const out = allocTensor(dev, {
    shape: [...x.shape.slice(0, -1), O],
    dtype: vt === "f32" ? "float32" : "int32",
  });
  dispatchGemm(
    dev,
    {
      name: "linear_acc",
      vt,
      inputs: [{ name: "x", type: storageType(x.dtype) }, { name: "w", type: storageType(w.dtype) }],
      outputs: [{ name: "acc", type: vt }],
      functions: [loader("x", x.dtype), loader("w", w.dtype)],
      loadA: "  return ld_x(m * u_K() + k);",
      loadB: "  return ld_w(n * u_K() + k);",
      store: "  acc[m * u_N() + n] = v;",
    },
    { M: rows, N: O, K, batch: 1 },
    { inputs: [x.buffer, w.buffer], outputs: [out.buffer] },
  );
  return out;
}

/**
 * intLayerFake: the integer model's conv / linear on fake-quantized input, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { intLayerFakeGpu } from "./int_fake_ops.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2), [1, 2]), w = uploadTensor(dev, Float32Array.of(0.5, 0.25), [1, 2]);
 *   const attrs = {
 *     linear: true, sx: 1, dtypeIn: "qint8", sw: [0.25], output: { dtype: "qint32" },
 *     stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1,
 *   } as const;
 *   const [y] = intLayerFakeGpu(dev, [x, w], attrs, [{ shape: [1, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, y))[0] === 1);
 *   dev.destroy();
 * }
 * ```
 */
export const intLayerFakeGpu: GpuKernel<OpAttrs["intLayerFake"]> = (dev, ins, o) => {
  const [x, w, bias] = ins;
  const sx = Math.fround(o.sx);
  const sw = Float32Array.from(o.sw);
  const co = w.shape[0];
  const temps: GpuTensor[] = [];
  const keep = (t: GpuTensor) => (temps.push(t), t);
  const sxT = keep(uploadTensor(dev, Float32Array.of(sx), [1]));
  const swT = keep(uploadTensor(dev, sw, [sw.length]));
  const xq = keep(quantizeGpu(dev, x, sxT, { dtype: o.dtypeIn, channels: 1, inner: sizeOf(x.shape) }));
  const wq = keep(
    quantizeGpu(dev, w, swT, { dtype: "qint8", channels: sw.length, inner: sizeOf(w.shape) / co }),
  );
  const bq = bias
    ? keep(runElem(
      dev,
      {
        name: "quantizeBias",
        inputs: [{ name: "b", dtype: "float32" }, { name: "sw", dtype: "float32" }],
        out: "int32",
        uniforms: [{ name: "sx", type: "f32" }, { name: "nsw", type: "u32" }],
        functions: [QUANT_BIAS],
        elem: "  return quantize_bias(ld_b(i), u_sx(), ld_sw(select(i, 0u, u_nsw() == 1u)));",
      },
      [bias, swT],
      bias.shape,
      { sx, nsw: sw.length },
    ))
    : undefined;
  const acc = keep(
    o.linear
      ? linearAccumulate(dev, xq, wq)
      : convForward(dev, xq, wq, convDims(x.shape, w.shape, o, "intLayerFake")),
  );
  const accScale = new Float64Array(co);
  for (let c = 0; c < co; c++) accScale[c] = sx * sw[sw.length === 1 ? 0 : c];
  const plan = requantPlan({ numerator: accScale, divisor: 1 }, o.output, o.activation);
  const inner = o.linear ? 1 : acc.shape[2] * acc.shape[3];
  const y = requantGpu(dev, acc, plan, { channels: co, inner, out: "float32", bias: bq });
  for (const t of temps) releaseTensor(dev, t);
  return [y];
};
