/**
 * The integer matrix product of the `matmul` instruction on GPU-resident tensors: the exact int32
 * `Σ_k a · b` of `[..., m, k] × [..., k, n]` with broadcast batch dimensions — `@hqat/qtensor`'s
 * `intMatmul`.
 * @module
 */
import { matmulShape } from "@hqat/qtensor";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/**
 * The int32 matrix products of int8/int16 `a` and `b` (equal ranks; batch dimensions equal or 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { matmulResident } from "./int_matmul_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [1, 2, 2]), b = uploadTensor(dev, Int8Array.of(5, 6, 7, 8), [1, 2, 2]);
 *   assert((await readTensor(dev, matmulResident(dev, a, b))).join() === "19,22,43,50");
 *   dev.destroy();
 * }
 * ```
 */
export function matmulResident(dev: WebGpuDevice, a: GpuTensor, b: GpuTensor): GpuTensor {
  for (const [what, t] of [["a", a], ["b", b]] as const) {
    if (t.dtype !== "int8" && t.dtype !== "int16") {
      throw new TypeError(`matmulResident(): ${what} must be int8 or int16, not ${t.dtype}`);
    }
  }
  const shape = matmulShape(a.shape, b.shape), r = shape.length;
  const [m, k, n] = [a.shape[r - 2], a.shape[r - 1], b.shape[r - 1]];
  // Batch offsets in matrices: the batch shape with each operand's matrix strides.
  const batch = [...shape.slice(0, -2), 1];
  const sa = broadcastStrides([...a.shape.slice(0, -2), 1], batch).map((s) => s * m * k);
  const sb = broadcastStrides([...b.shape.slice(0, -2), 1], batch).map((s) => s * k * n);
  const it = coalesce(batch, [sa, sb]);
  const offs = stridedOffsets(it.shape.length, ["a", "b"]);
  return runElem(
    dev,
    {
      name: `int_matmul_r${it.shape.length}`,
      inputs: [{ name: "a", dtype: a.dtype }, { name: "b", dtype: b.dtype }],
      out: "int32",
      uniforms: [...offs.uniforms, ...["mm", "kk", "nn"].map((name) => ({ name, type: "u32" as const }))],
      elem: `  let j = i % u_nn(); let t = i / u_nn(); let row = t % u_mm(); let g = t / u_mm();
  { let i = g;
${offs.code}
  var s = 0;
  for (var q = 0u; q < u_kk(); q++) { s = s + ld_a(o_a + row * u_kk() + q) * ld_b(o_b + q * u_nn() + j); }
  return s; }`,
    },
    [a, b],
    shape,
    {
      ...stridedValues(it.shape, [{ name: "a", base: 0, strides: it.strides[0] }, {
        name: "b",
        base: 0,
        strides: it.strides[1],
      }]),
      mm: m,
      kk: k,
      nn: n,
    },
  );
}
