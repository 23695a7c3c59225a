/**
 * Helpers the node rules share (not part of the package's API).
 * @module
 */
import { type ActivationName, type ActivationParams, applyActivation } from "@hqat/nn";
import type { ProgramBuffer } from "@hqat/program";
import { lutTable } from "@hqat/qtensor";
import { fromArray } from "@hqat/tensor";
import type { EmitContext, Grid } from "./node_rule.ts";

/** A grid as a buffer's dtype and scale array. */
export const grid = (g: Grid): { dtype: Grid["dtype"]; scale: Float32Array } => ({
  dtype: g.dtype,
  scale: Float32Array.of(g.scale),
});

/** The grid of a per-tensor buffer. */
export const gridOf = (b: ProgramBuffer): Grid => ({ dtype: b.dtype as Grid["dtype"], scale: b.scale[0] });

/** The dtype and scale of buffer `x`, for an output on the same grid. */
export const sameGrid = (
  c: EmitContext,
  x: number,
): { dtype: ProgramBuffer["dtype"]; scale: Float32Array } => ({
  dtype: c.buffer(x).dtype,
  scale: c.buffer(x).scale,
});

/** The table of activation `fn` from input grid `i` to output grid `o`. */
export function activationTable(
  fn: ActivationName,
  params: ActivationParams,
  i: Grid,
  o: Grid,
): Int8Array | Int16Array {
  const f = (v: Float32Array) => applyActivation(fn, fromArray(v, [v.length]), params).data as Float32Array;
  return lutTable(f, { inDtype: i.dtype, inScale: i.scale, outDtype: o.dtype, outScale: o.scale });
}

/** Whether `b` broadcasts to `a` (equal ranks, each dimension equal or 1). */
export const broadcastsTo = (b: readonly number[], a: readonly number[]): boolean =>
  a.length === b.length && b.every((d, k) => d === a[k] || d === 1);
