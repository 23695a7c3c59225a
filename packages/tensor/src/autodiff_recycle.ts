/**
 * Cotangents that backpropagation has finished with go back to the kernels (`recycle`), so the next op's
 * result reuses their arrays instead of page-faulting fresh ones. A cotangent is handed back only when its
 * storage is no forward tensor's (those may be held by the caller), no live cotangent's, and no
 * cotangent's the current rule returned (rules pass tensors through, and reshapes share storage). On request
 * ({@linkcode releaseIntermediates}) the forward pass's intermediate results go back too once the gradient
 * is made.
 * @module
 */
import { recycle, type TapeEntry } from "./engine.ts";
import { Tensor } from "./tensor.ts";

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
    if (dead.length === 0) return 0;
    const keep = new Set<ArrayBufferLike>();
    for (const t of live) {
      const s = storageOf(t);
      if (s) keep.add(s);
    }
    let count = 0;
    for (const t of dead) {
      const s = storageOf(t);
      if (!s || keep.has(s) || this.#forward.has(s)) continue;
      keep.add(s); // a storage shared by two dead tensors goes back once
      if (recycle(t)) count++;
    }
    return count;
  }
}

/** Every tensor in `v`: nested arrays, plain objects and Maps are searched. */
function tensorsIn(v: unknown, out: Tensor[], depth = 0): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (depth > 32 || v === null || typeof v !== "object") return out;
  else if (v instanceof Map) { for (const x of v.values()) tensorsIn(x, out, depth + 1); }
  else if (Array.isArray(v)) { for (const x of v) tensorsIn(x, out, depth + 1); }
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) tensorsIn(x, out, depth + 1);
  }
  return out;
}

/**
 * Hands back the storage of every result the tape's ops made, except where it is shared with a tensor that
 * came from outside the tape (parameters, inputs, constants) or with anything in `kept` (the value, the
 * auxiliary output — arrays, objects and Maps are searched — and the gradient). Only for a function that
 * lets no other intermediate result out; returns how many storages went back.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { releaseIntermediates } from "./autodiff_recycle.ts";
 * import { add, tensor, zeros } from "@hqat/tensor";
 * const x = zeros([128, 128]), y = add(x, 1), z = add(y, 1);
 * const entries = [{ op: "add", attrs: {}, inputs: [x], outputs: [y] }, { op: "add", attrs: {}, inputs: [y], outputs: [z] }] as const;
 * assert(releaseIntermediates(entries, [z]) === 1);
 * ```
 */
export function releaseIntermediates(entries: readonly TapeEntry[], kept: unknown): number {
  const made = new Set<number>();
  for (const e of entries) for (const o of e.outputs) made.add(o.id);
  const keep = new Set<ArrayBufferLike>();
  const hold = (t: Tensor) => {
    const s = storageOf(t);
    if (s) keep.add(s);
  };
  for (const e of entries) for (const t of e.inputs) if (!made.has(t.id)) hold(t);
  for (const t of tensorsIn(kept, [])) hold(t);
  let count = 0;
  for (const e of entries) {
    for (const t of e.outputs) {
      const s = storageOf(t);
      if (!s || keep.has(s)) continue;
      keep.add(s);
      if (recycle(t)) count++;
    }
  }
  return count;
}
