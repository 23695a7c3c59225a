/**
 * Reduction kernels: sum and max over any axes (one thread per output, or one workgroup per output with
 * a tree reduction when there are few outputs and long reductions), argmax, top-k and log-softmax.
 * @module
 */
import type { DType } from "../dtype.ts";
import type { OpAttrs } from "../ops.ts";
import { normalizeAxis, type Shape, sizeOf, stridesOf } from "../shape.ts";
import { coalesce } from "../cpu/strided.ts";
import { grid, type WebGpuDevice } from "./device.ts";
import { ELEM_GROUP, runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import {
  allocTensor,
  type GpuKernel,
  type GpuTensor,
  loader,
  releaseTensor,
  storageType,
  valueType,
} from "./gpu_tensor.ts";
import type { WgslFn } from "./kernel_spec.ts";
import { broadcastMap } from "./elementwise.ts";
import { FBITS } from "./wgsl_lib.ts";

type Combine = "sum" | "max";

/** Identity and combine function of a reduction, for a value type. */
function combiner(kind: Combine, vt: "f32" | "i32"): { init: string; fn: WgslFn } {
  if (kind === "sum") {
    return {
      init: vt === "f32" ? "0.0" : "0",
      fn: { code: `fn comb(a: ${vt}, v: ${vt}) -> ${vt} { return a + v; }` },
    };
  }
  if (vt === "i32") {
    return { init: "-2147483647 - 1", fn: { code: "fn comb(a: i32, v: i32) -> i32 { return max(a, v); }" } };
  }
  return {
    init: "bitcast<f32>(0xff800000u)",
    fn: {
      code:
        "fn comb(a: f32, v: f32) -> f32 { if (is_nan(a)) { return a; } return select(a, v, is_nan(v) || v > a); }",
      deps: [FBITS],
    },
  };
}

/** Splits a shape into kept and reduced dimensions with the input strides of each, coalesced. */
function splitAxes(shape: Shape, axes: readonly number[]) {
  const ax = new Set(axes.map((a) => normalizeAxis(a, shape.length)));
  const st = stridesOf(shape);
  const keptShape = shape.filter((_, i) => !ax.has(i)), redShape = shape.filter((_, i) => ax.has(i));
  const kept = coalesce(keptShape, [st.filter((_, i) => !ax.has(i))]);
  const red = coalesce(redShape, [st.filter((_, i) => ax.has(i))]);
  return { kept, red, outSize: sizeOf(keptShape), redSize: sizeOf(redShape) };
}

/** Few outputs with long reductions go to one workgroup per output. */
const WIDE_MIN = 2048;
const WG = 256;

function reduceWide(
  dev: WebGpuDevice,
  kind: Combine,
  x: GpuTensor,
  s: ReturnType<typeof splitAxes>,
  out: { shape: Shape; dtype: DType },
): GpuTensor {
  const vt = valueType(x.dtype);
  const { init, fn } = combiner(kind, vt);
  const kr = s.kept.shape.length, rr = s.red.shape.length;
  const offs = stridedOffsets(kr, ["x"]);
  const redLines = ["    var q = r; var o = base;"];
  for (let d = rr - 1; d >= 0; d--) {
    redLines.push(`    { let c = q % u_rshape(${d}u); q = q / u_rshape(${d}u); o = o + c * u_rst(${d}u); }`);
  }
  const tmpType: DType = vt === "f32" ? "float32" : "int32";
  const tmp = allocTensor(dev, { shape: out.shape, dtype: tmpType });
  dev.dispatch({
    name: `${kind}_wide_k${kr}_r${rr}_${x.dtype}`,
    inputs: [{ name: "x", type: storageType(x.dtype) }],
    outputs: [{ name: "out", type: vt }],
    uniforms: [
      { name: "n", type: "u32" },
      { name: "count", type: "u32" },
      ...offs.uniforms,
      { name: "rshape", type: "u32", length: Math.max(1, rr) },
      { name: "rst", type: "u32", length: Math.max(1, rr) },
    ],
    workgroupSize: [WG, 1, 1],
    shared: [`part: array<${vt}, ${WG}>`],
    functions: [loader("x", x.dtype), fn, {
      code: `fn base_of(i: u32) -> u32 {\n${offs.code}\n  return o_x;\n}`,
    }],
    body: `  let i = wid.y * nwg.x + wid.x;
  let base = base_of(min(i, u_n() - 1u));
  var acc: ${vt} = ${init};
  for (var r = lidx; r < u_count(); r += ${WG}u) {
${redLines.join("\n")}
    acc = comb(acc, ld_x(o));
  }
  part[lidx] = acc;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lidx < h) { part[lidx] = comb(part[lidx], part[lidx + h]); }
    workgroupBarrier();
  }
  if (lidx == 0u && i < u_n()) { out[i] = part[0]; }`,
  }, {
    inputs: [x.buffer],
    outputs: [tmp.buffer],
    uniforms: {
      n: s.outSize,
      count: s.redSize,
      ...stridedValues(s.kept.shape, [{ name: "x", base: 0, strides: s.kept.strides[0] }]),
      rshape: s.red.shape,
      rst: s.red.strides[0],
    },
    workgroups: grid(s.outSize),
  });
  if (tmpType === out.dtype) return tmp;
  const packed = broadcastMap(dev, "narrow", [tmp], ["x"], out, "x");
  releaseTensor(dev, tmp);
  return packed;
}

function reduceGpu(
  kind: Combine,
  x: GpuTensor,
  axes: readonly number[],
  out: { shape: Shape; dtype: DType },
  dev: WebGpuDevice,
) {
  const s = splitAxes(x.shape, axes);
  if (s.outSize > 0 && s.redSize >= WIDE_MIN && s.outSize * 64 <= s.redSize) {
    return reduceWide(dev, kind, x, s, out);
  }
  const vt = valueType(x.dtype);
  const { init, fn } = combiner(kind, vt);
  const kr = s.kept.shape.length, rr = s.red.shape.length;
  const offs = stridedOffsets(kr, ["x"]);
  const lines = [offs.code, `  var acc: ${vt} = ${init};`];
  let indent = "  ";
  let prev = "o_x";
  for (let d = 0; d < rr; d++) {
    lines.push(`${indent}for (var r${d} = 0u; r${d} < u_rshape(${d}u); r${d}++) {`);
    indent += "  ";
    lines.push(`${indent}let p${d} = ${prev} + r${d} * u_rst(${d}u);`);
    prev = `p${d}`;
  }
  lines.push(`${indent}acc = comb(acc, ld_x(${prev}));`);
  for (let d = rr - 1; d >= 0; d--) lines.push(`${"  ".repeat(d + 1)}}`);
  lines.push("  return acc;");
  return runElem(
    dev,
    {
      name: `${kind}_k${kr}_r${rr}`,
      inputs: [{ name: "x", dtype: x.dtype }],
      out: out.dtype,
      uniforms: [
        ...offs.uniforms,
        { name: "rshape", type: "u32", length: Math.max(1, rr) },
        { name: "rst", type: "u32", length: Math.max(1, rr) },
      ],
      functions: [fn],
      elem: lines.join("\n"),
    },
    [x],
    out.shape,
    {
      ...stridedValues(s.kept.shape, [{ name: "x", base: 0, strides: s.kept.strides[0] }]),
      rshape: s.red.shape,
      rst: s.red.strides[0],
    },
  );
}

/**
 * Sum over axes (integer sums wrap to the dtype).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { sumGpu } from "./reduce.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(100, 100, 1, 2), [2, 2]);
 *   const [y] = sumGpu(dev, [x], { axes: [1], keepDims: false }, [{ shape: [2], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "-56,3");
 *   dev.destroy();
 * }
 * ```
 */
export const sumGpu: GpuKernel<OpAttrs["sum"]> = (
  dev,
  ins,
  a,
  outs,
) => [reduceGpu("sum", ins[0], a.axes, outs[0], dev)];

/**
 * Maximum over axes; NaN propagates.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { maxGpu } from "./reduce.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 5, 3, 2), [2, 2]);
 *   const [y] = maxGpu(dev, [x], { axes: [0], keepDims: true }, [{ shape: [1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "3,5");
 *   dev.destroy();
 * }
 * ```
 */
export const maxGpu: GpuKernel<OpAttrs["max"]> = (
  dev,
  ins,
  a,
  outs,
) => [reduceGpu("max", ins[0], a.axes, outs[0], dev)];

/** outer × n × inner around `axis`. */
function around(shape: Shape, axis: number) {
  const a = normalizeAxis(axis, shape.length);
  return { outer: sizeOf(shape.slice(0, a)), n: shape[a], inner: sizeOf(shape.slice(a + 1)) };
}

/**
 * Index of the first maximum along an axis (a NaN wins at once).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { argmaxGpu } from "./reduce.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 5, 5, 2), [4]);
 *   const [y] = argmaxGpu(dev, [x], { axis: 0, keepDims: false }, [{ shape: [], dtype: "int32" }]);
 *   assert((await readTensor(dev, y))[0] === 1);
 *   dev.destroy();
 * }
 * ```
 */
export const argmaxGpu: GpuKernel<OpAttrs["argmax"]> = (dev, ins, a, outs) => {
  const { n, inner } = around(ins[0].shape, a.axis);
  const float = ins[0].dtype === "float32";
  const better = float ? "v > best || (is_nan(v) && !is_nan(best))" : "v > best";
  const init = float ? "bitcast<f32>(0xff800000u)" : "-2147483647 - 1";
  return [runElem(
    dev,
    {
      name: "argmax",
      inputs: [{ name: "x", dtype: ins[0].dtype }],
      out: "int32",
      uniforms: [{ name: "len", type: "u32" }, { name: "inner", type: "u32" }],
      functions: [FBITS],
      elem: `  let base = (i / u_inner()) * u_len() * u_inner() + i % u_inner();
  var best: ${valueType(ins[0].dtype)} = ${init}; var bi = 0;
  for (var k = 0u; k < u_len(); k++) {
    let v = ld_x(base + k * u_inner());
    if (${better}) { best = v; bi = i32(k); if (${float ? "is_nan(v)" : "false"}) { break; } }
  }
  return bi;`,
    },
    ins,
    outs[0].shape,
    { len: n, inner: Math.max(1, inner) },
  )];
};

/**
 * The k largest values along an axis, descending with ties by lower index, and their indices.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { topkGpu } from "./reduce.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 5, 5, 2), [4]);
 *   const outs = [{ shape: [2], dtype: "float32" }, { shape: [2], dtype: "int32" }] as const;
 *   const [v, i] = topkGpu(dev, [x], { k: 2, axis: 0 }, outs);
 *   assert((await readTensor(dev, v)).join() === "5,5" && (await readTensor(dev, i)).join() === "1,2");
 *   dev.destroy();
 * }
 * ```
 */
export const topkGpu: GpuKernel<OpAttrs["topk"]> = (dev, ins, a, outs) => {
  const { n, inner } = around(ins[0].shape, a.axis);
  const x = ins[0];
  const vt = valueType(x.dtype);
  const idx = runElem(
    dev,
    {
      name: "topk_index",
      inputs: [{ name: "x", dtype: x.dtype }],
      out: "int32",
      uniforms: [{ name: "len", type: "u32" }, { name: "k", type: "u32" }, { name: "inner", type: "u32" }],
      elem: `  let j = i % u_inner(); let t = (i / u_inner()) % u_k(); let o = i / (u_inner() * u_k());
  let base = o * u_len() * u_inner() + j;
  var pv: ${vt} = ld_x(base); var pi = -1;
  for (var s = 0u; s <= t; s++) {
    var bv: ${vt} = pv; var bq = -1;
    for (var q = 0; q < i32(u_len()); q++) {
      let v = ld_x(base + u32(q) * u_inner());
      let after = pi < 0 || v < pv || (v == pv && q > pi);
      if (after && (bq < 0 || v > bv)) { bv = v; bq = q; }
    }
    pv = bv; pi = bq;
  }
  return pi;`,
    },
    [x],
    outs[1].shape,
    { len: n, k: a.k, inner: Math.max(1, inner) },
  );
  const vals = runElem(
    dev,
    {
      name: "topk_values",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "ix", dtype: "int32" }],
      out: x.dtype,
      uniforms: [{ name: "len", type: "u32" }, { name: "k", type: "u32" }, { name: "inner", type: "u32" }],
      elem: `  let j = i % u_inner(); let o = i / (u_inner() * u_k());
  return ld_x(o * u_len() * u_inner() + j + u32(ld_ix(i)) * u_inner());`,
    },
    [x, idx],
    outs[0].shape,
    { len: n, k: a.k, inner: Math.max(1, inner) },
  );
  return [vals, idx];
};

/**
 * log(softmax(x)) along an axis, one thread per row.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { logSoftmaxGpu } from "./reduce.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(0, 0), [2]);
 *   const [y] = logSoftmaxGpu(dev, [x], { axis: 0 }, [{ shape: [2], dtype: "float32" }]);
 *   assert(Math.abs((await readTensor(dev, y))[0] + Math.LN2) < 1e-6);
 *   dev.destroy();
 * }
 * ```
 */
export const logSoftmaxGpu: GpuKernel<OpAttrs["logSoftmax"]> = (dev, ins, a, outs) => {
  const { outer, n, inner } = around(ins[0].shape, a.axis);
  const out = allocTensor(dev, outs[0]);
  const rows = outer * inner;
  if (rows * n === 0) return [out];
  dev.dispatch({
    name: "logSoftmax",
    inputs: [{ name: "x", type: "f32" }],
    outputs: [{ name: "y", type: "f32" }],
    uniforms: [{ name: "rows", type: "u32" }, { name: "len", type: "u32" }, { name: "inner", type: "u32" }],
    workgroupSize: [ELEM_GROUP, 1, 1],
    body: `  let row = (wid.y * nwg.x + wid.x) * ${ELEM_GROUP}u + lid.x;
  if (row >= u_rows()) { return; }
  let st = u_inner();
  let base = (row / st) * u_len() * st + row % st;
  var mx = x[base];
  for (var k = 1u; k < u_len(); k++) { mx = max(mx, x[base + k * st]); }
  var s = 0.0;
  for (var k = 0u; k < u_len(); k++) { s += exp(x[base + k * st] - mx); }
  let lse = mx + log(s);
  for (var k = 0u; k < u_len(); k++) { y[base + k * st] = x[base + k * st] - lse; }`,
  }, {
    inputs: [ins[0].buffer],
    outputs: [out.buffer],
    uniforms: { rows, len: n, inner: Math.max(1, inner) },
    workgroups: grid(Math.ceil(rows / ELEM_GROUP)),
  });
  return [out];
};
