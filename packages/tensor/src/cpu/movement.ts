/**
 * CPU kernels for data movement: transpose, broadcast, slice, pad, concat and one-hot.
 * @module
 */
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import { coalesce, forEachRow, strided } from "./strided.ts";

function gather(
  x: TypedArray,
  base: number,
  inStrides: readonly number[],
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const it = coalesce(outShape, [inStrides]);
  forEachRow(it, (o, offs, n, inner) => {
    const s = inner[0], i0 = base + offs[0];
    if (s === 1) out.set(x.subarray(i0, i0 + n), o);
    else for (let i = 0; i < n; i++) out[o + i] = x[i0 + i * s];
  });
  return out;
}

/** Permutes axes. */
export function transposeKernel(
  x: TypedArray,
  shape: Shape,
  perm: readonly number[],
  dtype: DType,
): TypedArray {
  const st = stridesOf(shape);
  return gather(x, 0, perm.map((p) => st[p]), perm.map((p) => shape[p]), dtype);
}

/** Broadcasts to a larger shape. */
export function broadcastKernel(x: TypedArray, shape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const it = strided(outShape, [shape]);
  const out = allocArray(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  forEachRow(it, (o, offs, n, inner) => {
    const s = inner[0], i0 = offs[0];
    if (s === 0) out.fill(x[i0], o, o + n);
    else if (s === 1) out.set(x.subarray(i0, i0 + n), o);
    else for (let i = 0; i < n; i++) out[o + i] = x[i0 + i * s];
  });
  return out;
}

/** Slice with optional per-axis steps (negative steps walk backwards from `starts`). */
export function sliceKernel(
  x: TypedArray,
  shape: Shape,
  starts: readonly number[],
  ends: readonly number[],
  dtype: DType,
  steps?: readonly number[],
): TypedArray {
  const st = stridesOf(shape);
  const base = starts.reduce((acc, s, i) => acc + s * st[i], 0);
  const step = (i: number) => steps?.[i] ?? 1;
  const outShape = starts.map((s, i) => Math.max(0, Math.ceil((ends[i] - s) / step(i))));
  return gather(x, base, st.map((s, i) => s * step(i)), outShape, dtype);
}

/** Constant padding. */
export function padKernel(
  x: TypedArray,
  shape: Shape,
  pads: readonly (readonly [number, number])[],
  value: number,
  dtype: DType,
): TypedArray {
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const out = allocArray(dtype, sizeOf(outShape));
  if (value !== 0) out.fill(value);
  if (x.length === 0) return out;
  const ost = stridesOf(outShape);
  const base = pads.reduce((acc, p, i) => acc + p[0] * ost[i], 0);
  // Iterate the input (contiguous) and scatter into the output's interior.
  const it = coalesce(shape, [ost]);
  forEachRow(it, (i0, offs, n, inner) => {
    const s = inner[0], o = base + offs[0];
    if (s === 1) out.set(x.subarray(i0, i0 + n), o);
    else for (let i = 0; i < n; i++) out[o + i * s] = x[i0 + i];
  });
  return out;
}

/** Concatenation along an axis. */
export function concatKernel(
  xs: readonly { data: TypedArray; shape: Shape }[],
  axis: number,
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  const outer = sizeOf(outShape.slice(0, axis));
  const rowOut = sizeOf(outShape.slice(axis));
  let offset = 0;
  for (const { data, shape } of xs) {
    const row = sizeOf(shape.slice(axis));
    for (let o = 0; o < outer; o++) out.set(data.subarray(o * row, (o + 1) * row), o * rowOut + offset);
    offset += row;
  }
  return out;
}

/** One-hot rows; labels outside [0, numClasses) give an all-zero row. */
export function oneHotKernel(labels: TypedArray, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c >= 0 && c < numClasses) out[i * numClasses + c] = 1;
  }
  return out;
}
