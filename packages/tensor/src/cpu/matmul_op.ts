/**
 * The matmul op on the CPU: batch broadcasting over leading dimensions, then the fast kernel.
 * @module
 */
import type { OpAttrs } from "../ops.ts";
import { broadcastShapes, type Shape, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastKernel } from "./movement.ts";
import { matmul } from "./matmul.ts";

/** Batched matmul with broadcast batch dimensions. */
export function matmulKernel(a: Tensor, b: Tensor, attrs: OpAttrs["matmul"], outShape: Shape): Float32Array {
  const r = outShape.length;
  const m = outShape[r - 2], n = outShape[r - 1];
  const k = attrs.transA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(batchShape);
  const prep = (t: Tensor): [Float32Array, number] => {
    const tb = t.shape.slice(0, -2);
    if (sizeOf(tb) === 1) return [t.data as Float32Array, 1];
    if (sizeOf(tb) === batch && tb.length === batchShape.length) return [t.data as Float32Array, batch];
    const full = [...batchShape, ...t.shape.slice(-2)];
    return [broadcastKernel(t.data, t.shape, full, "float32") as Float32Array, batch];
  };
  const [ad, aBatch] = prep(a);
  const [bd, bBatch] = prep(b);
  return matmul(ad, bd, { batch, m, k, n, transA: attrs.transA, transB: attrs.transB, aBatch, bBatch });
}
