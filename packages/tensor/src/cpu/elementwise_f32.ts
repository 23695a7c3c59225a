/**
 * Float32-only twins of the hot elementwise loops: add, sub, mul and div with broadcasting, `where` on
 * float32 branches, and sums over axes of float32 data.
 *
 * The generic kernels read and write every dtype's typed arrays through the same loops. In a training
 * process they meet float32 activations, int32 labels and uint8 masks, so V8's element accesses in them
 * turn megamorphic, and a float32 multiply slows from about 0.5 to over 30 ns per element. The loops here
 * only ever see `Float32Array`s, so their accesses stay monomorphic. They do the same float operations on
 * the same values in the same order as the generic loops, so the results are the same bits.
 * @module
 */
import { forEachRow, type Strided } from "./strided.ts";

/** The binary ops with float32 loops here. */
export type F32BinaryOp = "add" | "sub" | "mul" | "div";

/** Whether `op` has a float32 loop here. */
export const isF32BinaryOp = (op: string): op is F32BinaryOp =>
  op === "add" || op === "sub" || op === "mul" || op === "div";

function addRow(
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i]; }
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v + b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + b[ib + i * sb];
}

function subRow(
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] - b[ib + i]; }
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v - b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - b[ib + i * sb];
}

function mulRow(
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i]; }
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v * b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * b[ib + i * sb];
}

function divRow(
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) out[o + i] = a[ia + i] / b[ib + i]; }
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v / b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / b[ib + i * sb];
}

const ROWS = { add: addRow, sub: subRow, mul: mulRow, div: divRow } as const;

/**
 * A full operand `x` with a per-channel operand `y` over [n, c, hw] (a scale or bias on NCHW data, or a
 * per-row scale on a weight): `flip` when `y` is the left operand.
 */
function channelwise(
  op: F32BinaryOp,
  out: Float32Array,
  x: Float32Array,
  y: Float32Array,
  flip: boolean,
  n: number,
  c: number,
  hw: number,
): void {
  for (let k = 0, i = 0; k < n; k++) {
    for (let ch = 0; ch < c; ch++) {
      const v = y[ch], end = i + hw;
      if (op === "add") { for (; i < end; i++) out[i] = x[i] + v; }
      else if (op === "mul") { for (; i < end; i++) out[i] = x[i] * v; }
      else if (op === "sub") {
        if (flip) { for (; i < end; i++) out[i] = v - x[i]; }
        else for (; i < end; i++) out[i] = x[i] - v;
      } else if (flip) { for (; i < end; i++) out[i] = v / x[i]; }
      else for (; i < end; i++) out[i] = x[i] / v;
    }
  }
}

/** [n, c, hw] when the strides `sa` and `sb` make one operand full and the other per channel. */
function channelLayout(it: Strided): { n: number; c: number; hw: number; flip: boolean } | undefined {
  const shape = it.shape, [sa, sb] = it.strides;
  if (shape.length !== 3 && shape.length !== 2) return undefined;
  const [n, c, hw] = shape.length === 3 ? shape : [1, shape[0], shape[1]];
  const full = (s: number[]) =>
    shape.length === 3 ? s[0] === c * hw && s[1] === hw && s[2] === 1 : s[0] === hw && s[1] === 1;
  const perChannel = (s: number[]) =>
    shape.length === 3 ? s[0] === 0 && s[1] === 1 && s[2] === 0 : s[0] === 1 && s[1] === 0;
  if (full(sa) && perChannel(sb)) return { n, c, hw, flip: false };
  if (full(sb) && perChannel(sa)) return { n, c, hw, flip: true };
  return undefined;
}

/**
 * `out = a op b` over the broadcast iteration space `it` (from `strided`), float32 throughout: the same
 * bits as the generic binary kernel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { binaryF32 } from "./elementwise_f32.ts";
 * import { strided } from "./strided.ts";
 * const out = new Float32Array(4);
 * binaryF32("mul", out, Float32Array.of(1, 2, 3, 4), Float32Array.of(10, 100), strided([2, 2], [[2, 2], [2, 1]]));
 * assert(out.join() === "10,20,300,400");
 * ```
 */
export function binaryF32(
  op: F32BinaryOp,
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  it: Strided,
): void {
  const ch = channelLayout(it);
  if (ch) {
    const [x, y] = ch.flip ? [b, a] : [a, b];
    channelwise(op, out, x, y, ch.flip, ch.n, ch.c, ch.hw);
    return;
  }
  const row = ROWS[op];
  if (it.shape.length === 1) {
    row(out, 0, a, 0, it.strides[0][0], b, 0, it.strides[1][0], it.shape[0]);
    return;
  }
  forEachRow(it, (o, offs, n, inner) => row(out, o, a, offs[0], inner[0], b, offs[1], inner[1], n));
}

/**
 * `where(cond, a, b)` with float32 branches over the iteration space `it` of [cond, a, b]: the same
 * values as the generic kernel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { whereF32 } from "./elementwise_f32.ts";
 * import { strided } from "./strided.ts";
 * const out = new Float32Array(3);
 * whereF32(out, Uint8Array.of(1, 0, 1), Float32Array.of(1, 2, 3), Float32Array.of(0), strided([3], [[3], [3], []]));
 * assert(out.join() === "1,0,3");
 * ```
 */
export function whereF32(
  out: Float32Array,
  c: Uint8Array,
  a: Float32Array,
  b: Float32Array,
  it: Strided,
): void {
  forEachRow(it, (o, offs, n, inner) => {
    const [ic, ia, ib] = offs, [sc, sa, sb] = inner;
    if (sc === 1 && sa === 1 && sb === 0) {
      const v = b[ib];
      for (let i = 0; i < n; i++) out[o + i] = c[ic + i] ? a[ia + i] : v;
    } else if (sc === 1 && sa === 0 && sb === 1) {
      const v = a[ia];
      for (let i = 0; i < n; i++) out[o + i] = c[ic + i] ? v : b[ib + i];
    } else for (let i = 0; i < n; i++) out[o + i] = c[ic + i * sc] ? a[ia + i * sa] : b[ib + i * sb];
  });
}

/**
 * Sums of float32 `x` into the float64 `acc` over the coalesced iteration space `it` of the kept strides
 * (see `sumKernel`): the same additions in the same order as the generic loops.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sumF32 } from "./elementwise_f32.ts";
 * const acc = new Float64Array(2);
 * sumF32(Float32Array.of(1, 2, 3, 4), { shape: [2, 2], strides: [[1, 0]] }, acc);
 * assert(acc.join() === "3,7");
 * ```
 */
export function sumF32(x: Float32Array, it: Strided, acc: Float64Array): void {
  const st = it.strides[0];
  if (it.shape.length === 3 && st[0] === 0 && st[1] === 1 && st[2] === 0) {
    const [n, c, hw] = it.shape;
    for (let b = 0, i = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (const end = i + hw; i < end; i++) s += x[i];
        acc[ch] += s;
      }
    }
    return;
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
