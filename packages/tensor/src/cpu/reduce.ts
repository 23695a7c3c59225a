/**
 * CPU kernels for reductions: sum, max, argmax and top-k.
 * @module
 */
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import { normalizeAxis, type Shape, sizeOf, stridesOf } from "../shape.ts";
import { sumF32 } from "./elementwise_f32.ts";
import { coalesce, forEachRow } from "./strided.ts";

function keptStrides(shape: Shape, axes: readonly number[]): number[] {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const st = stridesOf(kept);
  return shape.map((_, i) => (axes.includes(i) ? 0 : st[i]));
}

/** Sums over `axes` (normalized); the output is laid out as the kept dimensions. */
export function sumKernel(x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const ax = axes.map((a) => normalizeAxis(a, shape.length));
  const outSize = sizeOf(shape.filter((_, i) => !ax.includes(i)));
  const acc = new Float64Array(outSize);
  if (x.length > 0) {
    const it = coalesce(shape, [keptStrides(shape, ax)]);
    if (x instanceof Float32Array) {
      sumF32(x, it, acc);
      const out = allocArray(dtype, outSize);
      out.set(acc);
      return out;
    }
    forEachRow(it, (i0, offs, n, inner) => {
      const o = offs[0], so = inner[0];
      if (so === 0) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i0 + i];
        acc[o] += s;
      } else for (let i = 0; i < n; i++) acc[o + i * so] += x[i0 + i];
    });
  }
  const out = allocArray(dtype, outSize);
  out.set(acc);
  return out;
}

/** Maximum over `axes` (normalized); NaN propagates. */
export function maxKernel(x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const ax = axes.map((a) => normalizeAxis(a, shape.length));
  const outSize = sizeOf(shape.filter((_, i) => !ax.includes(i)));
  const acc = new Float64Array(outSize).fill(-Infinity);
  if (x.length > 0) {
    const it = coalesce(shape, [keptStrides(shape, ax)]);
    forEachRow(it, (i0, offs, n, inner) => {
      const o = offs[0], so = inner[0];
      for (let i = 0; i < n; i++) {
        const v = x[i0 + i];
        const j = o + i * so;
        if (v > acc[j] || v !== v) acc[j] = v;
      }
    });
  }
  const out = allocArray(dtype, outSize);
  out.set(acc);
  return out;
}

/** Index of the first maximum along `axis`. */
export function argmaxKernel(x: TypedArray, shape: Shape, axis: number): Int32Array {
  const a = normalizeAxis(axis, shape.length);
  const outer = sizeOf(shape.slice(0, a)), n = shape[a], inner = sizeOf(shape.slice(a + 1));
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let best = -Infinity, bi = 0;
      for (let k = 0; k < n; k++) {
        const v = x[base + k * inner];
        if (v > best || (v !== v && best === best)) {
          best = v;
          bi = k;
          if (v !== v) break;
        }
      }
      out[o * inner + j] = bi;
    }
  }
  return out;
}

/** The `k` largest values along `axis`, descending (ties by lower index), and their indices. */
export function topkKernel(
  x: TypedArray,
  shape: Shape,
  k: number,
  axis: number,
  dtype: DType,
): [TypedArray, Int32Array] {
  const a = normalizeAxis(axis, shape.length);
  const outer = sizeOf(shape.slice(0, a)), n = shape[a], inner = sizeOf(shape.slice(a + 1));
  const vals = allocArray(dtype, outer * k * inner);
  const idx = new Int32Array(outer * k * inner);
  const order = new Array<number>(n);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      for (let t = 0; t < n; t++) order[t] = t;
      order.sort((p, q) => {
        const vp = x[base + p * inner], vq = x[base + q * inner];
        if (vp > vq) return -1;
        if (vp < vq) return 1;
        return p - q;
      });
      for (let t = 0; t < k; t++) {
        const dst = o * k * inner + t * inner + j;
        vals[dst] = x[base + order[t] * inner];
        idx[dst] = order[t];
      }
    }
  }
  return [vals, idx];
}
