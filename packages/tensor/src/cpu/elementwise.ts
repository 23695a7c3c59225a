/**
 * CPU kernels for elementwise ops: unary math, binary arithmetic and comparisons with broadcasting,
 * where, clamp and cast.
 * @module
 */
import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import type { BinaryOp, CompareOp, UnaryOp } from "../ops.ts";
import type { Shape } from "../shape.ts";
import { sizeOf } from "../shape.ts";
import { binaryF32, isF32BinaryOp, whereF32 } from "./elementwise_f32.ts";
import { pooledFloat32 } from "./float_pool.ts";
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

/** An output array every element of which the kernel writes: float32 ones may be handed-back arrays. */
function resultArray(dtype: DType, n: number): TypedArray {
  return dtype === "float32" ? pooledFloat32(n) : allocArray(dtype, n);
}

/** Applies a unary op. */
export function unaryKernel(op: UnaryOp, x: TypedArray, dtype: DType): TypedArray {
  const n = x.length;
  if (op === "relu" && x instanceof Float32Array) {
    const fast = clampNonNegBits(x, Infinity);
    if (fast) return fast;
  }
  const out = resultArray(dtype, n);
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
      if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i]; }
      else if (sb === 0) {
        const v = b[ib];
        for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + v;
      } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + b[ib + i * sb];
      return;
    case "sub":
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - b[ib + i * sb];
      return;
    case "mul":
      if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i]; }
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
  const out = resultArray(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const it = strided(outShape, [aShape, bShape]);
  if (
    isF32BinaryOp(op) && out instanceof Float32Array && a instanceof Float32Array && b instanceof Float32Array
  ) {
    binaryF32(op, out, a, b, it);
    return out;
  }
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
  if (
    out instanceof Float32Array && c instanceof Uint8Array && a instanceof Float32Array &&
    b instanceof Float32Array
  ) {
    whereF32(out, c, a, b, it);
    return out;
  }
  forEachRow(it, (o, offs, n, inner) => {
    const [ic, ia, ib] = offs;
    const [sc, sa, sb] = inner;
    for (let i = 0; i < n; i++) out[o + i] = c[ic + i * sc] ? a[ia + i * sa] : b[ib + i * sb];
  });
  return out;
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
const bitsOf = (v: number) => {
  F32[0] = v;
  return I32[0];
};
const INF_BITS = 0x7f800000;

/**
 * Clamp of float32 data to [0, hi] on the bit patterns: for non-negative floats the int32 order is the
 * numeric order, so the loop is branch-free integer arithmetic (random signs would otherwise stall a
 * compare-and-branch loop). Returns undefined when the data holds a NaN (the caller takes the slow path,
 * which propagates it).
 */
function clampNonNegBits(x: Float32Array, hi: number): Float32Array | undefined {
  const n = x.length;
  const out = pooledFloat32(n);
  const xi = new Int32Array(x.buffer, x.byteOffset, n), oi = new Int32Array(out.buffer);
  const hb = bitsOf(hi);
  let nan = 0;
  for (let i = 0; i < n; i++) {
    let b = xi[i];
    nan |= INF_BITS - (b & 0x7fffffff);
    b &= ~(b >> 31);
    const d = b - hb;
    oi[i] = hb + (d & (d >> 31));
  }
  return nan < 0 ? undefined : out;
}

/**
 * Clamps every value to [min, max] as `Math.min(Math.max(v, min), max)`: NaN stays NaN (a NaN bound gives NaN),
 * −0 becomes +0 under a lower bound of +0 (and +0 becomes −0 under an upper bound of −0), and a lower bound
 * above the upper one gives the upper one — the rule of WebAssembly's `f32x4.max` and `f32x4.min`, which the
 * fused kernels' epilogues follow.
 */
export function clampKernel(x: TypedArray, min: number, max: number, dtype: DType): TypedArray {
  const n = x.length;
  if (x instanceof Float32Array && Object.is(min, 0) && max >= 0 && !Object.is(max, -0)) {
    const fast = clampNonNegBits(x, max);
    if (fast) return fast;
  }
  const out = resultArray(dtype, n);
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(x[i], min), max);
  return out;
}

/** The gradient of a clamp: g where min ≤ x ≤ max (or min < x < max when `open`), else 0. */
export function clampBackwardKernel(
  g: TypedArray,
  x: TypedArray,
  min: number,
  max: number,
  open: boolean,
): Float32Array {
  const n = x.length;
  const out = pooledFloat32(n);
  if (open && min === 0 && max > 0 && x instanceof Float32Array && g instanceof Float32Array) {
    // Branch-free on the bit patterns: keep g where 0 < x < max (NaN x fails both tests, as it should).
    const xi = new Int32Array(x.buffer, x.byteOffset, n), gi = new Int32Array(g.buffer, g.byteOffset, n);
    const oi = new Int32Array(out.buffer);
    const hb = bitsOf(max);
    for (let i = 0; i < n; i++) {
      const b = xi[i];
      oi[i] = gi[i] & ((0 - b) >> 31) & ((b - hb) >> 31);
    }
    return out;
  }
  if (open) { for (let i = 0; i < n; i++) out[i] = x[i] > min && x[i] < max ? g[i] : 0; }
  else for (let i = 0; i < n; i++) out[i] = x[i] >= min && x[i] <= max ? g[i] : 0;
  return out;
}

/** Converts to another dtype; float → integer truncates toward zero (and wraps like typed arrays). */
export function castKernel(x: TypedArray, dtype: DType): TypedArray {
  const out = allocArray(dtype, x.length);
  out.set(x);
  return out;
}
