/**
 * Random-number kernels: Philox-2x32-10 bits identical to the CPU generator; uniform values are
 * bit-identical too, normal values (Box–Muller) agree to float32 accuracy.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuKernel } from "./gpu_tensor.ts";
import { MATH, PHILOX } from "./wgsl_lib.ts";

const UNIFORMS = [{ name: "k0", type: "u32" as const }, { name: "k1", type: "u32" as const }];

/**
 * Uniform [0, 1) float32 values for counters 0..n-1 under key (k0, k1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { uniformKernel } from "../cpu/philox.ts";
 * import { randomUniformGpu } from "./random.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const [y] = randomUniformGpu(dev, [], { shape: [5], k0: 1, k1: 2 }, [{ shape: [5], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === uniformKernel(5, 1, 2).join());
 *   dev.destroy();
 * }
 * ```
 */
export const randomUniformGpu: GpuKernel<OpAttrs["randomUniform"]> = (dev, _ins, a, outs) => [
  runElem(
    dev,
    {
      name: "randomUniform",
      inputs: [],
      out: "float32",
      uniforms: UNIFORMS,
      functions: [PHILOX],
      elem: `  let r = philox2x32(i >> 1u, u_k1(), u_k0());
  return f32(select(r.x, r.y, (i & 1u) == 1u) >> 8u) * 5.960464477539063e-8;`,
    },
    [],
    outs[0].shape,
    { k0: a.k0 >>> 0, k1: a.k1 >>> 0 },
  ),
];

/**
 * Standard normal float32 values (Box–Muller on the Philox pairs), keyed like randomUniform.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { normalKernel } from "../cpu/philox.ts";
 * import { randomNormalGpu } from "./random.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const [y] = randomNormalGpu(dev, [], { shape: [4], k0: 1, k1: 2 }, [{ shape: [4], dtype: "float32" }]);
 *   const want = normalKernel(4, 1, 2);
 *   assert((await readTensor(dev, y)).every((v, i) => Math.abs(v - want[i]) < 1e-5));
 *   dev.destroy();
 * }
 * ```
 */
export const randomNormalGpu: GpuKernel<OpAttrs["randomNormal"]> = (dev, _ins, a, outs) => [
  runElem(
    dev,
    {
      name: "randomNormal",
      inputs: [],
      out: "float32",
      uniforms: UNIFORMS,
      functions: [PHILOX, MATH],
      elem: `  let r = philox2x32(i >> 1u, u_k1() ^ 0x6a09e667u, u_k0());
  let u1 = f32((r.x >> 8u) + 1u) * 5.960464477539063e-8;
  let u2 = f32(r.y >> 8u) * 5.960464477539063e-8;
  let rad = sqrt(-2.0 * log_acc(u1));
  let cs = sincos_turns(u2);
  return rad * select(cs.x, cs.y, (i & 1u) == 1u);`,
    },
    [],
    outs[0].shape,
    { k0: a.k0 >>> 0, k1: a.k1 >>> 0 },
  ),
];
