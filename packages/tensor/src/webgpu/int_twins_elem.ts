/**
 * WGSL kernels of the elementwise fake twins (the table lookup, the requantization of a cat's input, the
 * broadcast product), bit-exact with the CPU kernels.
 * @module
 */
import { qrange } from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuKernel } from "./gpu_tensor.ts";
import { mulProductResident } from "./int_mul_resident.ts";
import { requantPlan } from "./requant_kernel.ts";
import { finishGpu, Temps } from "./twin_util.ts";
import { FBITS, QUANT, REQUANT } from "./wgsl_lib.ts";

/**
 * lutFake: the table lookup of a fake-quantized tensor, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { lutFakeGpu } from "./int_twins_elem.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(-1, 0.5), [2]);
 *   const table = uploadTensor(dev, Int32Array.from({ length: 256 }, (_, i) => i - 128), [256]);
 *   const [y] = lutFakeGpu(dev, [x, table], { scaleIn: 0.5, dtypeIn: "qint8", outScale: 2 }, [{ shape: [2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "-4,2");
 *   dev.destroy();
 * }
 * ```
 */
export const lutFakeGpu: GpuKernel<OpAttrs["lutFake"]> = (dev, ins, o, outs) => {
  const { qmin, qmax } = qrange(o.dtypeIn);
  return [runElem(
    dev,
    {
      name: "lutFake",
      inputs: [{ name: "x", dtype: "float32" }, { name: "t", dtype: "int32" }],
      out: "float32",
      uniforms: [{ name: "s", type: "f32" }, { name: "qmin", type: "i32" }, { name: "qmax", type: "i32" }, {
        name: "so",
        type: "f32",
      }],
      functions: [QUANT, FBITS],
      elem: `  let v = ld_x(i);
  if (is_nan(v)) { return bitcast<f32>(0x7fc00000u); }
  return f32(ld_t(u32(quantize_i(v, u_s(), u_qmin(), u_qmax()) - u_qmin()))) * u_so();`,
    },
    ins,
    outs[0].shape,
    { s: o.scaleIn, qmin, qmax, so: o.outScale },
  )];
};

/**
 * requantFake: a fake-quantized tensor's integers requantized to the output scale, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { requantFakeGpu } from "./int_twins_elem.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0.75, -0.25, 100), [3]);
 *   const attrs = { scaleIn: 0.25, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8" } as const;
 *   const [y] = requantFakeGpu(dev, [x], attrs, [{ shape: [3], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "1,0,32");
 *   dev.destroy();
 * }
 * ```
 */
export const requantFakeGpu: GpuKernel<OpAttrs["requantFake"]> = (dev, ins, o, outs) => {
  const { qmin, qmax } = qrange(o.dtypeIn);
  const plan = requantPlan(
    { numerator: [Math.fround(o.scaleIn)], divisor: 1 },
    { dtype: o.dtype, scale: o.outScale },
    o.activation,
  );
  return [runElem(
    dev,
    {
      name: "requantFake",
      inputs: [{ name: "x", dtype: "float32" }],
      out: "float32",
      uniforms: [
        { name: "s", type: "f32" },
        { name: "qmin", type: "i32" },
        { name: "qmax", type: "i32" },
        { name: "m", type: "u32" },
        { name: "shift", type: "u32" },
        { name: "lo", type: "i32" },
        { name: "hi", type: "i32" },
        { name: "so", type: "f32" },
      ],
      functions: [QUANT, FBITS, REQUANT],
      elem: `  let v = ld_x(i);
  if (is_nan(v)) { return bitcast<f32>(0x7fc00000u); }
  let q = quantize_i(v, u_s(), u_qmin(), u_qmax());
  return f32(requant(q, u_m(), u_shift(), u_lo(), u_hi())) * u_so();`,
    },
    ins,
    outs[0].shape,
    {
      s: o.scaleIn,
      qmin,
      qmax,
      m: plan.mult[0].M,
      shift: plan.mult[0].n,
      lo: plan.lo,
      hi: plan.hi[0],
      so: o.outScale,
    },
  )];
};

/**
 * mulFake: the `mul` instruction on fake-quantized operands (b broadcast), requantized and dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { mulFakeGpu } from "./int_twins_elem.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(1, 2), [1, 2]), b = uploadTensor(dev, Float32Array.of(0.5), [1, 1]);
 *   const attrs = { scaleA: 1, scaleB: 0.5, dtypeA: "qint8", dtypeB: "qint8", outScale: 0.5, dtype: "qint8" } as const;
 *   const [y] = mulFakeGpu(dev, [a, b], attrs, [{ shape: [1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0.5,1");
 *   dev.destroy();
 * }
 * ```
 */
export const mulFakeGpu: GpuKernel<OpAttrs["mulFake"]> = (dev, ins, o) => {
  const t = new Temps(dev);
  try {
    const qa = t.ints(ins[0], o.scaleA, o.dtypeA), qb = t.ints(ins[1], o.scaleB, o.dtypeB);
    const p = t.keep(mulProductResident(dev, qa, qb));
    return [finishGpu(dev, p, Math.fround(o.scaleA) * Math.fround(o.scaleB), 1, o)];
  } finally {
    t.release();
  }
};
