/**
 * Broadcast iteration for elementwise CPU kernels: per-operand strides against an output shape,
 * with adjacent dimensions merged where every operand allows it, so that inner loops are long.
 * @module
 */
import type { Shape } from "../shape.ts";

/** A coalesced iteration space: the output shape and, per operand, its strides (0 = broadcast). */
export interface Strided {
  /** Coalesced output shape (at least one dimension). */
  shape: number[];
  /** Per operand, strides over `shape`. */
  strides: number[][];
}

/** Strides of `inShape` seen through broadcasting to `outShape` (0 where broadcast). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const r = outShape.length;
  const s = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const o = r - inShape.length + i;
    s[o] = inShape[i] === 1 && outShape[o] !== 1 ? 0 : acc;
    acc *= inShape[i];
  }
  return s;
}

/** Builds the coalesced iteration space of operands broadcast to `outShape`. */
export function strided(outShape: Shape, inShapes: readonly Shape[]): Strided {
  return coalesce(outShape, inShapes.map((s) => broadcastStrides(s, outShape)));
}

/** Builds the coalesced iteration space of operands with the given strides over `outShape`. */
export function coalesce(outShape: Shape, all: readonly (readonly number[])[]): Strided {
  const shape: number[] = [];
  const strides: number[][] = all.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    const n = outShape[d];
    if (n === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && all.every((s, k) => strides[k][last] === s[d] * n)) {
      shape[last] *= n;
      all.forEach((s, k) => (strides[k][last] = s[d]));
    } else {
      shape.push(n);
      all.forEach((s, k) => strides[k].push(s[d]));
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { shape, strides };
}

/**
 * Calls `row(outOffset, offsets, length, innerStrides)` for every innermost row of the iteration space.
 * The output is contiguous.
 */
export function forEachRow(
  it: Strided,
  row: (outOffset: number, offsets: number[], length: number, inner: number[]) => void,
): void {
  const r = it.shape.length;
  const inner = it.strides.map((s) => s[r - 1]);
  const len = it.shape[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  const offs = it.strides.map(() => 0);
  let out = 0;
  const rows = it.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  for (let q = 0; q < rows; q++) {
    row(out, offs, len, inner);
    out += len;
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += it.strides[k][d];
      if (idx[d] < it.shape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= it.strides[k][d] * it.shape[d];
      idx[d] = 0;
    }
  }
}
