/**
 * WGSL kernels of the fake twins of the integer program's kinds added for imported networks, bit-exact
 * with the CPU kernels: the inputs are quantized back to their integers on the device, the kind's
 * resident integer kernel runs on them, and its requantized result is dequantized.
 * @module
 */
import { qrange } from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuKernel } from "./gpu_tensor.ts";
import { FBITS, QUANT } from "./wgsl_lib.ts";

/**
 * lutFake: the table lookup of a fake-quantized tensor, dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { lutFakeGpu } from "./int_twins.ts";
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
