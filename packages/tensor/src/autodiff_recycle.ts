/**
 * Cotangents that backpropagation has finished with go back to the kernels (`recycle`), so the next op's
 * result reuses their arrays instead of page-faulting fresh ones. A cotangent is handed back only when its
 * storage is no forward tensor's (those may be held by the caller), no live cotangent's, and no
 * cotangent's the current rule returned (rules pass tensors through, and reshapes share storage).
 * @module
 */
import { recycle } from "./engine.ts";
import type { Tensor } from "./tensor.ts";

/** The storage a CPU tensor's data lives in; undefined for device tensors. */
function storageOf(t: Tensor): ArrayBufferLike | undefined {
  return t.storage === undefined ? t.data.buffer : undefined;
}

/**
 * Tracks which storages backpropagation may hand back: everything but the forward tensors of the tape.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CotangentRecycler } from "./autodiff_recycle.ts";
 * import { add, ones, zeros } from "@hqat/tensor";
 * const x = zeros([128, 128]);
 * const r = new CotangentRecycler([x]);
 * assert(r.release([x], []) === 0 && r.release([add(x, 1)], []) === 1);
 * ```
 */
export class CotangentRecycler {
  readonly #forward = new Set<ArrayBufferLike>();

  /** Starts with the forward tensors, which are never handed back. */
  constructor(forward: Iterable<Tensor>) {
    for (const t of forward) {
      const s = storageOf(t);
      if (s) this.#forward.add(s);
    }
  }

  /**
   * Hands back each of `dead` whose storage is neither a forward tensor's nor any of `live`'s; returns how
   * many were handed back.
   */
  release(dead: readonly Tensor[], live: Iterable<Tensor>): number {
    const keep = new Set(this.#forward);
    for (const t of live) {
      const s = storageOf(t);
      if (s) keep.add(s);
    }
    let count = 0;
    for (const t of dead) {
      const s = storageOf(t);
      if (!s || keep.has(s)) continue;
      keep.add(s); // a storage shared by two dead tensors goes back once
      if (recycle(t)) count++;
    }
    return count;
  }
}
