/**
 * The register-tiled GEMM template, `C[z] = A[z] · B[z]` for M×K by K×N operands given by loader
 * functions, and the matmul op on it. A 16×16 workgroup computes a 64×64 tile, each thread a 4×4 block
 * held in registers, stepping through K in slices of 16 staged in workgroup memory. Convolutions use
 * the same template with loaders that gather their operands (implicit GEMM). An optional split of K
 * gives long reductions more workgroups.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { broadcastShapes, sizeOf } from "../shape.ts";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { MAX_GROUPS } from "./device.ts";
import { stridedOffsets, stridedValues } from "./elem_kernel.ts";
import { allocTensor, type GpuKernel, type GpuTensor, loader } from "./gpu_tensor.ts";
import type { BufferDecl, KernelSpec, UniformDecl, WgslFn } from "./kernel_spec.ts";

/**
 * Output tile edge and K slice of the template.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmKernel, TILE } from "./gemm.ts";
 * const k = gemmKernel({ name: "mm", vt: "f32", inputs: [], outputs: [], loadA: "return 0.0;", loadB: "return 0.0;", store: "" });
 * assert(k.shared?.[0].includes(`${16 * TILE}`));
 * ```
 */
export const TILE = 64;
const KS = 16;

/** A GEMM expressed by its operand loaders and its store. */
export interface GemmSpec {
  /** Kernel label. */
  readonly name: string;
  /** Value type of the operands and accumulators. */
  readonly vt: "f32" | "i32";
  /** Storage inputs. */
  readonly inputs: readonly BufferDecl[];
  /** Storage outputs. */
  readonly outputs: readonly BufferDecl[];
  /** Extra uniforms (M, N, K, ksplits and kchunk are always there). */
  readonly uniforms?: readonly UniformDecl[];
  /** Module-scope functions and `var<private>` declarations the loaders use. */
  readonly functions?: readonly WgslFn[];
  /** Statements run first by every thread (after `z`, the batch index, and `ks`, the K split, are set). */
  readonly prologue?: string;
  /** Body of `fn la(m: u32, k: u32) -> vt`, called in bounds only. */
  readonly loadA: string;
  /** Body of `fn lb(k: u32, n: u32) -> vt`, called in bounds only. */
  readonly loadB: string;
  /** Body of `fn st(m: u32, n: u32, v: vt)`, called in bounds only. */
  readonly store: string;
}

/**
 * The kernel spec of a GEMM. Grid: x = ⌈N / 64⌉, y = ⌈M / 64⌉, z = batch · ksplits; `z` (the batch
 * index) and `ks` (the split) are private variables the loaders can read.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmKernel } from "./gemm.ts";
 * const k = gemmKernel({
 *   name: "mm", vt: "f32", inputs: [{ name: "a", type: "f32" }, { name: "b", type: "f32" }],
 *   outputs: [{ name: "c", type: "f32" }], loadA: "return a[m * u_K() + k];",
 *   loadB: "return b[k * u_N() + n];", store: "c[m * u_N() + n] = v;",
 * });
 * assert(k.workgroupSize.join() === "16,16,1" && k.shared?.length === 2);
 * ```
 */
export function gemmKernel(spec: GemmSpec): KernelSpec {
  const vt = spec.vt, zero = vt === "f32" ? "0.0" : "0";
  const fma = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) fma.push(`acc[${i * 4 + j}] = acc[${i * 4 + j}] + a${i} * b${j};`);
  }
  const stores = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      stores.push(
        `{ let gm = m0 + ty + ${16 * i}u; let gn = n0 + tx + ${
          16 * j
        }u; if (gm < u_M() && gn < u_N()) { st(gm, gn, acc[${i * 4 + j}]); } }`,
      );
    }
  }
  // The K range comes from the workgroup id, not the private copy: the barriers in the loop need a bound
  // that WGSL's uniformity analysis sees as uniform (Chromium enforces it).
  const body = `  z = wid.z / u_ksplits(); ks = wid.z % u_ksplits();
${spec.prologue ?? ""}
  let m0 = wid.y * ${TILE}u; let n0 = wid.x * ${TILE}u; let tx = lid.x; let ty = lid.y;
  let kb = (wid.z % u_ksplits()) * u_kchunk(); let ke = min(u_K(), kb + u_kchunk());
  var acc: array<${vt}, 16>;
  for (var q = 0u; q < 16u; q++) { acc[q] = ${zero}; }
  for (var k0 = kb; k0 < ke; k0 += ${KS}u) {
    for (var l = 0u; l < 4u; l++) {
      let e = lidx + l * 256u;
      let mm = e / ${KS}u; let kk = e % ${KS}u; let gm = m0 + mm; let gk = k0 + kk;
      var v: ${vt} = ${zero};
      if (gm < u_M() && gk < ke) { v = la(gm, gk); }
      sa[kk * ${TILE}u + mm] = v;
      let kk2 = e / ${TILE}u; let nn = e % ${TILE}u; let gn = n0 + nn; let gk2 = k0 + kk2;
      var w: ${vt} = ${zero};
      if (gn < u_N() && gk2 < ke) { w = lb(gk2, gn); }
      sb[kk2 * ${TILE}u + nn] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${KS}u; kk++) {
      let ra = kk * ${TILE}u + ty; let rb = kk * ${TILE}u + tx;
      let a0 = sa[ra]; let a1 = sa[ra + 16u]; let a2 = sa[ra + 32u]; let a3 = sa[ra + 48u];
      let b0 = sb[rb]; let b1 = sb[rb + 16u]; let b2 = sb[rb + 32u]; let b3 = sb[rb + 48u];
      ${fma.join("\n      ")}
    }
    workgroupBarrier();
  }
  ${stores.join("\n  ")}`;
  const fns: WgslFn = {
    code: `var<private> z: u32;
var<private> ks: u32;
fn la(m: u32, k: u32) -> ${vt} {
${spec.loadA}
}
fn lb(k: u32, n: u32) -> ${vt} {
${spec.loadB}
}
fn st(m: u32, n: u32, v: ${vt}) {
${spec.store}
}`,
    deps: spec.functions,
  };
  return {
    name: spec.name,
    inputs: spec.inputs,
    outputs: spec.outputs,
    uniforms: [
      { name: "M", type: "u32" },
      { name: "N", type: "u32" },
      { name: "K", type: "u32" },
      { name: "ksplits", type: "u32" },
      { name: "kchunk", type: "u32" },
      ...(spec.uniforms ?? []),
    ],
    workgroupSize: [16, 16, 1],
    shared: [`sa: array<${vt}, ${KS * TILE}>`, `sb: array<${vt}, ${KS * TILE}>`],
    functions: [fns],
    body,
  };
}

/** Sizes and grid of one GEMM run. */
export interface GemmRun {
  /** Rows of A and C. */
  readonly M: number;
  /** Columns of B and C. */
  readonly N: number;
  /** The reduction length. */
  readonly K: number;
  /** Independent GEMMs (the grid's z, before splitting K). */
  readonly batch: number;
  /** Splits of K (default 1); each split covers `kchunk` (a multiple of 16) of K. */
  readonly ksplits?: number;
}

/**
 * Records a GEMM dispatch.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { allocTensor } from "./gpu_tensor.ts";
 * import { dispatchGemm } from "./gemm.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [2, 2]), b = uploadTensor(dev, Float32Array.of(1, 0, 0, 1), [2, 2]);
 *   const c = allocTensor(dev, { shape: [2, 2], dtype: "float32" });
 *   dispatchGemm(dev, {
 *     name: "mm", vt: "f32", inputs: [{ name: "a", type: "f32" }, { name: "b", type: "f32" }], outputs: [{ name: "c", type: "f32" }],
 *     loadA: "return a[m * u_K() + k];", loadB: "return b[k * u_N() + n];", store: "c[m * u_N() + n] = v;",
 *   }, { M: 2, N: 2, K: 2, batch: 1 }, { inputs: [a.buffer, b.buffer], outputs: [c.buffer] });
 *   assert((await readTensor(dev, c)).join() === "1,2,3,4");
 *   dev.destroy();
 * }
 * ```
 */
export function dispatchGemm(
  dev: WebGpuDevice,
  spec: GemmSpec,
  run: GemmRun,
  buffers: { inputs: readonly GPUBuffer[]; outputs: readonly GPUBuffer[] },
  uniforms: Readonly<Record<string, number | readonly number[]>> = {},
): void {
  const ksplits = run.ksplits ?? 1;
  const kchunk = Math.max(KS, Math.ceil(Math.ceil(run.K / ksplits) / KS) * KS);
  const z = run.batch * ksplits;
  if (z > MAX_GROUPS) throw new RangeError(`${spec.name}: ${z} batched GEMMs exceed ${MAX_GROUPS}`);
  if (run.M * run.N * z === 0) return;
  dev.dispatch(gemmKernel(spec), {
    ...buffers,
    uniforms: { M: run.M, N: run.N, K: run.K, ksplits, kchunk, ...uniforms },
    workgroups: [Math.ceil(run.N / TILE), Math.ceil(run.M / TILE), z],
  });
}

/**
 * Batched matmul with broadcast batch dimensions and optional transposes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { matmulGpu } from "./gemm.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(1, 2, 3, 4), [2, 2]), b = uploadTensor(dev, Float32Array.of(5, 6), [2, 1]);
 *   const [c] = matmulGpu(dev, [a, b], { transA: false, transB: false }, [{ shape: [2, 1], dtype: "float32" }]);
 *   assert((await readTensor(dev, c)).join() === "17,39");
 *   dev.destroy();
 * }
 * ```
 */
export const matmulGpu: GpuKernel<OpAttrs["matmul"]> = (dev, ins, attrs, outs) => {
  const [a, b] = ins;
  const outShape = outs[0].shape;
  const r = outShape.length;
  const M = outShape[r - 2], N = outShape[r - 1];
  const K = attrs.transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const matStride = (t: GpuTensor) => t.shape[t.shape.length - 1] * t.shape[t.shape.length - 2];
  const bst = (t: GpuTensor) =>
    broadcastStrides(t.shape.slice(0, -2), batchShape).map((s) => s * matStride(t));
  const it = coalesce(batchShape, [bst(a), bst(b)]);
  const rank = it.shape.length;
  const offs = stridedOffsets(rank, ["a", "b"]);
  const out = allocTensor(dev, outs[0]);
  const [sam, sak] = attrs.transA ? [1, M] : [K, 1];
  const [sbk, sbn] = attrs.transB ? [1, K] : [N, 1];
  const uniforms: UniformDecl[] = [
    ...offs.uniforms,
    { name: "sam", type: "u32" },
    { name: "sak", type: "u32" },
    { name: "sbk", type: "u32" },
    { name: "sbn", type: "u32" },
  ];
  dispatchGemm(
    dev,
    {
      name: `matmul_b${rank}`,
      vt: "f32",
      inputs: [{ name: "a", type: "f32" }, { name: "b", type: "f32" }],
      outputs: [{ name: "c", type: "f32" }],
      uniforms,
      functions: [
        loader("a", "float32"),
        loader("b", "float32"),
        { code: `var<private> abase: u32;\nvar<private> bbase: u32;` },
        { code: `fn batch_bases(i: u32) {\n${offs.code}\n  abase = o_a; bbase = o_b;\n}` },
      ],
      prologue: "  batch_bases(z);",
      loadA: "  return a[abase + m * u_sam() + k * u_sak()];",
      loadB: "  return b[bbase + k * u_sbk() + n * u_sbn()];",
      store: "  c[(z * u_M() + m) * u_N() + n] = v;",
    },
    { M, N, K, batch: sizeOf(batchShape) },
    { inputs: [a.buffer, b.buffer], outputs: [out.buffer] },
    {
      ...stridedValues(it.shape, [
        { name: "a", base: 0, strides: it.strides[0] },
        { name: "b", base: 0, strides: it.strides[1] },
      ]),
      sam,
      sak,
      sbk,
      sbn,
    },
  );
  return [out];
};
