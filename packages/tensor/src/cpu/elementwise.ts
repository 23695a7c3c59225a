/**
 * CPU kernels for elementwise ops: unary math, binary arithmetic and comparisons with broadcasting,
 * where, clamp and cast.
 * @module
 */
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import type { BinaryOp, CompareOp, UnaryOp } from "../ops.ts";
import type { Shape } from "../shape.ts";
import { sizeOf } from "../shape.ts";
import { forEachRow, strided } from "./strided.ts";

/** Round half to even. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

const UNARY: { [K in UnaryOp]: (v: number) => number } = {
  neg: (v) => -v,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (v) => 1 / Math.sqrt(v),
  abs: Math.abs,
  sign: Math.sign,
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  relu: (v) => (v > 0 ? v : 0),
};

/** Applies a unary op. */
export function unaryKernel(op: UnaryOp, x: TypedArray, dtype: DType): TypedArray {
  const out = allocArray(dtype, x.length);
  const n = x.length;
  if (op === "relu") {
    for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
  } else if (op === "neg") {
    for (let i = 0; i < n; i++) out[i] = -x[i];
  } else {
    const f = UNARY[op];
    for (let i = 0; i < n; i++) out[i] = f(x[i]);
  }
  return out;
}

function binaryRow(
  op: BinaryOp | CompareOp,
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  switch (op) {
    case "add":
      if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i];
      else if (sb === 0) {
        const v = b[ib];
        for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + v;
      } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + b[ib + i * sb];
      return;
    case "sub":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - b[ib + i * sb];
      return;
    case "mul":
      if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i];
      else if (sb === 0) {
        const v = b[ib];
        for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * v;
      } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * b[ib + i * sb];
      return;
    case "div":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / b[ib + i * sb];
      return;
    case "maximum":
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa], y = b[ib + i * sb];
        out[o + i] = x >= y || x !== x ? x : y;
      }
      return;
    case "minimum":
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa], y = b[ib + i * sb];
        out[o + i] = x <= y || x !== x ? x : y;
      }
      return;
    case "pow":
      for (let i = 0; i < n; i++) out[o + i] = Math.pow(a[ia + i * sa], b[ib + i * sb]);
      return;
    case "equal":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] === b[ib + i * sb] ? 1 : 0;
      return;
    case "notEqual":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] !== b[ib + i * sb] ? 1 : 0;
      return;
    case "less":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] < b[ib + i * sb] ? 1 : 0;
      return;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] <= b[ib + i * sb] ? 1 : 0;
      return;
    case "greater":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] > b[ib + i * sb] ? 1 : 0;
      return;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] >= b[ib + i * sb] ? 1 : 0;
      return;
  }
}

/** Applies a binary op or comparison with broadcasting. */
export function binaryKernel(
  op: BinaryOp | CompareOp,
  a: TypedArray,
  aShape: Shape,
  b: TypedArray,
  bShape: Shape,
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const it = strided(outShape, [aShape, bShape]);
  forEachRow(it, (o, offs, n, inner) => binaryRow(op, out, o, a, offs[0], inner[0], b, offs[1], inner[1], n));
  return out;
}

/** where(cond, a, b) with broadcasting. */
export function whereKernel(
  c: TypedArray,
  cShape: Shape,
  a: TypedArray,
  aShape: Shape,
  b: TypedArray,
  bShape: Shape,
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const it = strided(outShape, [cShape, aShape, bShape]);
  forEachRow(it, (o, offs, n, inner) => {
    const [ic, ia, ib] = offs;
    const [sc, sa, sb] = inner;
    for (let i = 0; i < n; i++) out[o + i] = c[ic + i * sc] ? a[ia + i * sa] : b[ib + i * sb];
  });
  return out;
}

/** Clamps every value to [min, max]. */
export function clampKernel(x: TypedArray, min: number, max: number, dtype: DType): TypedArray {
  const out = allocArray(dtype, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v < min ? min : v > max ? max : v;
  }
  return out;
}

/** The gradient of a clamp: g where min ≤ x ≤ max (or min < x < max when `open`), else 0. */
export function clampBackwardKernel(g: TypedArray, x: TypedArray, min: number, max: number, open: boolean): Float32Array {
  const out = new Float32Array(x.length);
  if (open) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v > min && v < max ? g[i] : 0;
    }
  } else {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v >= min && v <= max ? g[i] : 0;
    }
  }
  return out;
}

/** Converts to another dtype; float → integer truncates toward zero (and wraps like typed arrays). */
export function castKernel(x: TypedArray, dtype: DType): TypedArray {
  const out = allocArray(dtype, x.length);
  out.set(x);
  return out;
}
