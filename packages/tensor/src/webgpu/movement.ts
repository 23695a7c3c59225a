/**
 * Data-movement kernels: reshape (a buffer copy), transpose, broadcast and slice (strided gathers),
 * constant padding, concatenation and one-hot rows.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import { allocTensor, byteSize, type GpuKernel, type GpuTensor, releaseTensor } from "./gpu_tensor.ts";

/**
 * Reads `x` at `base + Σ coord[d] · strides[d]` for every element of `outShape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { stridedGather } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int16Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
 *   const y = stridedGather(dev, "transpose", x, 0, [1, 3], [3, 2]);
 *   assert((await readTensor(dev, y)).join() === "1,4,2,5,3,6");
 *   dev.destroy();
 * }
 * ```
 */
export function stridedGather(
  dev: WebGpuDevice,
  name: string,
  x: GpuTensor,
  base: number,
  strides: readonly number[],
  outShape: Shape,
): GpuTensor {
  const it = coalesce(outShape, [strides]);
  const rank = it.shape.length;
  const offs = stridedOffsets(rank, ["x"]);
  return runElem(
    dev,
    {
      name: `${name}_r${rank}`,
      inputs: [{ name: "x", dtype: x.dtype }],
      out: x.dtype,
      uniforms: offs.uniforms,
      elem: `${offs.code}\n  return ld_x(o_x);`,
    },
    [x],
    outShape,
    stridedValues(it.shape, [{ name: "x", base, strides: it.strides[0] }]),
  );
}

/**
 * Same data, new shape: a copy of the buffer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { reshapeGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4, 5), [5]);
 *   const [y] = reshapeGpu(dev, [x], { shape: [5, 1] }, [{ shape: [5, 1], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "1,2,3,4,5");
 *   dev.destroy();
 * }
 * ```
 */
export const reshapeGpu: GpuKernel<OpAttrs["reshape"]> = (dev, ins, _a, outs) => {
  const out = allocTensor(dev, outs[0]);
  dev.copy(ins[0].buffer, out.buffer, byteSize(ins[0].dtype, sizeOf(ins[0].shape)));
  return [out];
};

/**
 * Permutes axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { transposeGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
 *   const [y] = transposeGpu(dev, [x], { perm: [1, 0] }, [{ shape: [3, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "1,4,2,5,3,6");
 *   dev.destroy();
 * }
 * ```
 */
export const transposeGpu: GpuKernel<OpAttrs["transpose"]> = (dev, ins, a, outs) => {
  const st = stridesOf(ins[0].shape);
  return [stridedGather(dev, "transpose", ins[0], 0, a.perm.map((p) => st[p]), outs[0].shape)];
};

/**
 * Broadcasts to a larger shape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { broadcastToGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2), [2, 1]);
 *   const [y] = broadcastToGpu(dev, [x], { shape: [2, 2] }, [{ shape: [2, 2], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "1,1,2,2");
 *   dev.destroy();
 * }
 * ```
 */
export const broadcastToGpu: GpuKernel<OpAttrs["broadcastTo"]> = (dev, ins, _a, outs) => [
  stridedGather(dev, "broadcastTo", ins[0], 0, broadcastStrides(ins[0].shape, outs[0].shape), outs[0].shape),
];

/**
 * Slice with optional per-axis steps (negative steps walk backwards).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { sliceGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
 *   const [y] = sliceGpu(dev, [x], { starts: [1, 1], ends: [2, 3] }, [{ shape: [1, 2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "5,6");
 *   dev.destroy();
 * }
 * ```
 */
export const sliceGpu: GpuKernel<OpAttrs["slice"]> = (dev, ins, a, outs) => {
  const st = stridesOf(ins[0].shape);
  const base = a.starts.reduce((acc, s, i) => acc + s * st[i], 0);
  // Negative strides wrap in u32 arithmetic, and every offset they reach is in range.
  const strides = st.map((s, i) => s * (a.steps?.[i] ?? 1));
  return [stridedGather(dev, "slice", ins[0], base, strides, outs[0].shape)];
};

/**
 * Constant padding: the value is converted to the dtype as a typed array stores it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { padGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int16Array.of(1, 2), [2]);
 *   const [y] = padGpu(dev, [x], { pads: [[1, 2]], value: -1 }, [{ shape: [5], dtype: "int16" }]);
 *   assert((await readTensor(dev, y)).join() === "-1,1,2,-1,-1");
 *   dev.destroy();
 * }
 * ```
 */
export const padGpu: GpuKernel<OpAttrs["pad"]> = (dev, ins, a, outs) => {
  const x = ins[0];
  const rank = x.shape.length;
  const float = x.dtype === "float32";
  const lines = ["  var r = i; var o = 0u; var inside = true;"];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(
      `  { let c = i32(r % u_oshape(${d}u)) - u_lo(${d}u); r = r / u_oshape(${d}u);` +
        ` inside = inside && c >= 0 && c < i32(u_ishape(${d}u)); o = o + u32(max(c, 0)) * u_ist(${d}u); }`,
    );
  }
  lines.push("  if (!inside) { return u_value(); }", "  return ld_x(o);");
  const len = Math.max(1, rank);
  const pad1 = (v: readonly number[]) => (v.length ? [...v] : [0]);
  const value = float ? a.value : Number.isFinite(a.value) ? Math.trunc(a.value) | 0 : 0;
  return [runElem(
    dev,
    {
      name: `pad_r${rank}`,
      inputs: [{ name: "x", dtype: x.dtype }],
      out: x.dtype,
      uniforms: [
        { name: "oshape", type: "u32", length: len },
        { name: "ishape", type: "u32", length: len },
        { name: "ist", type: "u32", length: len },
        { name: "lo", type: "i32", length: len },
        { name: "value", type: float ? "f32" : "i32" },
      ],
      elem: lines.join("\n"),
    },
    [x],
    outs[0].shape,
    {
      oshape: pad1(outs[0].shape),
      ishape: pad1(x.shape),
      ist: pad1(stridesOf(x.shape)),
      lo: pad1(a.pads.map((p) => p[0])),
      value,
    },
  )];
};

/** Inputs joined per dispatch (with the output, eight storage bindings). */
const CONCAT_CHUNK = 7;

function concatChunk(dev: WebGpuDevice, xs: readonly GpuTensor[], axis: number, outShape: Shape): GpuTensor {
  const rows = xs.map((t) => sizeOf(t.shape.slice(axis)));
  const ends = rows.map((_, k) => rows.slice(0, k + 1).reduce((s, r) => s + r, 0));
  const lines = [`  let o = i / u_row(); let r = i % u_row();`];
  xs.forEach((_, k) => {
    const cond = k === xs.length - 1 ? "true" : `r < u_ends(${k}u)`;
    lines.push(
      `  if (${cond}) { return ld_x${k}(o * u_rows(${k}u) + r - (u_ends(${k}u) - u_rows(${k}u))); }`,
    );
  });
  lines.push("  return ld_x0(0u);");
  return runElem(
    dev,
    {
      name: `concat${xs.length}`,
      inputs: xs.map((t, k) => ({ name: `x${k}`, dtype: t.dtype })),
      out: xs[0].dtype,
      uniforms: [
        { name: "row", type: "u32" },
        { name: "rows", type: "u32", length: xs.length },
        { name: "ends", type: "u32", length: xs.length },
      ],
      elem: lines.join("\n"),
    },
    xs,
    outShape,
    { row: Math.max(1, sizeOf(outShape.slice(axis))), rows, ends },
  );
}

/**
 * Concatenation along an axis, seven inputs per dispatch.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { concatGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int8Array.of(1, 2), [1, 2]), b = uploadTensor(dev, Int8Array.of(3, 4), [1, 2]);
 *   const [y] = concatGpu(dev, [a, b], { axis: 0 }, [{ shape: [2, 2], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "1,2,3,4");
 *   dev.destroy();
 * }
 * ```
 */
export const concatGpu: GpuKernel<OpAttrs["concat"]> = (dev, ins, a, outs) => {
  const outShape = outs[0].shape;
  const axis = a.axis < 0 ? a.axis + outShape.length : a.axis;
  const joined = (xs: readonly GpuTensor[]) => {
    const total = xs.reduce((s, t) => s + t.shape[axis], 0);
    return outShape.map((d, i) => (i === axis ? total : d));
  };
  let acc: GpuTensor | null = null;
  let rest = ins.filter((t) => sizeOf(t.shape) > 0);
  if (rest.length === 0) return [allocTensor(dev, outs[0])];
  while (rest.length > 0) {
    const take = acc ? CONCAT_CHUNK - 1 : CONCAT_CHUNK;
    const group = acc ? [acc, ...rest.slice(0, take)] : rest.slice(0, take);
    rest = rest.slice(take);
    const next = concatChunk(dev, group, axis, joined(group));
    if (acc) releaseTensor(dev, acc);
    acc = next;
  }
  return [acc!];
};

/**
 * One-hot float32 rows; labels outside [0, numClasses) give zero rows.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { oneHotGpu } from "./movement.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int32Array.of(2, 0), [2]);
 *   const [y] = oneHotGpu(dev, [x], { numClasses: 3 }, [{ shape: [2, 3], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0,0,1,1,0,0");
 *   dev.destroy();
 * }
 * ```
 */
export const oneHotGpu: GpuKernel<OpAttrs["oneHot"]> = (dev, ins, a, outs) => [
  runElem(
    dev,
    {
      name: "oneHot",
      inputs: [{ name: "x", dtype: ins[0].dtype }],
      out: "float32",
      uniforms: [{ name: "classes", type: "u32" }],
      elem: "  return select(0.0, 1.0, ld_x(i / u_classes()) == i32(i % u_classes()));",
    },
    ins,
    outs[0].shape,
    { classes: a.numClasses },
  ),
];
