/**
 * The per-output-element kernel template: a spec gives `fn elem(i: u32) -> T`, the value of output
 * element `i`, and the template writes it — one element per thread for 32-bit outputs, one packed
 * word (two or four elements) per thread for int16/int8/uint8 outputs, so threads never share a word.
 * Elementwise ops, movement, per-output reductions, pooling and random numbers are all such kernels.
 * @module
 */
import type { DType } from "../dtype.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { grid, type WebGpuDevice } from "./device.ts";
import { allocTensor, type GpuTensor, loader, perWord, storageType, valueType } from "./gpu_tensor.ts";
import type { KernelSpec, UniformDecl, WgslFn } from "./kernel_spec.ts";

/**
 * Threads per workgroup of element kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ELEM_GROUP, elemKernel } from "./elem_kernel.ts";
 * const k = elemKernel({ name: "zero", inputs: [], out: "float32", elem: "return 0.0;" });
 * assert(k.workgroupSize[0] === ELEM_GROUP);
 * ```
 */
export const ELEM_GROUP = 256;

/** An input of an element kernel: the storage array `name`, read with `ld_<name>(j)`. */
export interface ElemInput {
  /** WGSL name. */
  readonly name: string;
  /** Element type. */
  readonly dtype: DType;
}

/** A per-output-element kernel. */
export interface ElemSpec {
  /** Kernel label. */
  readonly name: string;
  /** Inputs, each with a loader `ld_<name>(j)`. */
  readonly inputs: readonly ElemInput[];
  /** Output dtype. */
  readonly out: DType;
  /** Extra uniforms (`n`, the output size, is always there). */
  readonly uniforms?: readonly UniformDecl[];
  /** Module-scope functions `elem` calls. */
  readonly functions?: readonly WgslFn[];
  /** Body of `fn elem(i: u32) -> f32|i32` (i32 for integer outputs). */
  readonly elem: string;
}

/**
 * The kernel spec of an element kernel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { elemKernel } from "./elem_kernel.ts";
 * const k = elemKernel({ name: "neg", inputs: [{ name: "x", dtype: "int8" }], out: "int8", elem: "return -ld_x(i);" });
 * assert(k.outputs[0].type === "u32" && k.body.includes("0xffu"));
 * ```
 */
export function elemKernel(spec: ElemSpec): KernelSpec {
  const vt = valueType(spec.out);
  const per = perWord(spec.out);
  const elemFn: WgslFn = { code: `fn elem(i: u32) -> ${vt} {\n${spec.elem}\n}` };
  const head = `let w = (wid.y * nwg.x + wid.x) * ${ELEM_GROUP}u + lid.x;\n  let n = u_n();`;
  let body: string;
  if (per === 1) {
    body = `${head}\n  if (w >= n) { return; }\n  out[w] = elem(w);`;
  } else {
    const bits = 32 / per, mask = per === 4 ? "0xffu" : "0xffffu";
    body = `${head}
  let i0 = w * ${per}u;
  if (i0 >= n) { return; }
  var word = 0u;
  for (var j = 0u; j < ${per}u; j++) {
    if (i0 + j < n) { word = word | ((bitcast<u32>(elem(i0 + j)) & ${mask}) << (j * ${bits}u)); }
  }
  out[w] = word;`;
  }
  return {
    name: spec.name,
    inputs: spec.inputs.map((x) => ({ name: x.name, type: storageType(x.dtype) })),
    outputs: [{ name: "out", type: storageType(spec.out) }],
    uniforms: [{ name: "n", type: "u32" }, ...(spec.uniforms ?? [])],
    workgroupSize: [ELEM_GROUP, 1, 1],
    functions: [...spec.inputs.map((x) => loader(x.name, x.dtype)), ...(spec.functions ?? []), elemFn],
    body,
  };
}

/**
 * Runs an element kernel into a new output tensor of `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { runElem } from "./elem_kernel.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, -2, 3, -128, 5), [5]);
 *   const spec = { name: "neg", inputs: [{ name: "x", dtype: "int8" }], out: "int8", elem: "return -ld_x(i);" } as const;
 *   const y = runElem(dev, spec, [x], [5]);
 *   assert((await readTensor(dev, y)).join() === "-1,2,-3,-128,-5");
 *   dev.destroy();
 * }
 * ```
 */
export function runElem(
  dev: WebGpuDevice,
  spec: ElemSpec,
  inputs: readonly GpuTensor[],
  shape: Shape,
  uniforms: Readonly<Record<string, number | readonly number[]>> = {},
): GpuTensor {
  const out = allocTensor(dev, { shape, dtype: spec.out });
  const n = sizeOf(shape);
  if (n === 0) return out;
  const words = Math.ceil(n / perWord(spec.out));
  dev.dispatch(elemKernel(spec), {
    inputs: inputs.map((t) => t.buffer),
    outputs: [out.buffer],
    uniforms: { n, ...uniforms },
    workgroups: grid(Math.ceil(words / ELEM_GROUP)),
  });
  return out;
}

/** An operand read through strides over the output's (coalesced) index space. */
export interface StridedOperand {
  /** WGSL name of the operand. */
  readonly name: string;
  /** Element offset of output element 0. */
  readonly base: number;
  /** Element stride per output dimension (0 where broadcast). */
  readonly strides: readonly number[];
}

/**
 * WGSL statements that compute, for output element `i` of a row-major index space of rank `rank`
 * (uniform `shape`), the offset `o_<name>` of each operand (uniforms `base_<name>`, `st_<name>`), and the
 * uniform declarations they need.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stridedOffsets } from "./elem_kernel.ts";
 * const s = stridedOffsets(2, ["a", "b"]);
 * assert(s.code.includes("o_b = o_b + c * u_st_b(1u)") && s.uniforms.length === 5);
 * ```
 */
export function stridedOffsets(
  rank: number,
  names: readonly string[],
): { code: string; uniforms: UniformDecl[] } {
  const uniforms: UniformDecl[] = [{ name: "shape", type: "u32", length: Math.max(1, rank) }];
  const lines = ["  var r = i;"];
  for (const nm of names) {
    uniforms.push({ name: `base_${nm}`, type: "u32" }, {
      name: `st_${nm}`,
      type: "u32",
      length: Math.max(1, rank),
    });
    lines.push(`  var o_${nm} = u_base_${nm}();`);
  }
  for (let d = rank - 1; d >= 0; d--) {
    const adds = names.map((nm) => `o_${nm} = o_${nm} + c * u_st_${nm}(${d}u);`).join(" ");
    lines.push(`  { let s = u_shape(${d}u); let c = r % s; r = r / s; ${adds} }`);
  }
  return { code: lines.join("\n"), uniforms };
}

/**
 * Uniform values for {@linkcode stridedOffsets}: the shape (padded to rank 1) and each operand's base
 * and strides.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stridedValues } from "./elem_kernel.ts";
 * const v = stridedValues([2, 3], [{ name: "a", base: 1, strides: [3, 1] }]);
 * assert(JSON.stringify(v) === '{"shape":[2,3],"base_a":1,"st_a":[3,1]}');
 * ```
 */
export function stridedValues(
  shape: readonly number[],
  operands: readonly StridedOperand[],
): Record<string, number | readonly number[]> {
  const v: Record<string, number | readonly number[]> = { shape: shape.length ? [...shape] : [1] };
  for (const o of operands) {
    v[`base_${o.name}`] = o.base;
    v[`st_${o.name}`] = o.strides.length ? [...o.strides] : [0];
  }
  return v;
}
