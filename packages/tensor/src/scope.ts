/**
 * Lifetimes of device-resident tensors. A CPU tensor's memory is the garbage collector's business; a
 * tensor on the GPU holds a pooled buffer that should go back to the pool as soon as it is no longer
 * needed. {@linkcode tidy} releases every device tensor created inside a function except those its
 * result contains; {@linkcode disposeTree} releases the device tensors of a value (a training state that
 * a step has replaced). Tensors left unreachable outside any scope are released when collected.
 * @module
 */
import type { Tensor } from "./tensor.ts";

const scopes: Set<Tensor>[] = [];

/**
 * Registers a new device tensor with the innermost {@linkcode tidy} scope (backends call this).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { trackDeviceTensor, tensor } from "@hqat/tensor";
 * trackDeviceTensor(tensor([1])); // outside a scope: nothing to do
 * assert(true);
 * ```
 */
export function trackDeviceTensor(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/**
 * Calls `visit` on every tensor in a value made of arrays, plain objects and Maps.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forEachTensor, tensor } from "@hqat/tensor";
 * let n = 0;
 * forEachTensor({ a: tensor([1]), b: [tensor([2]), 3] }, () => n++);
 * assert(n === 2);
 * ```
 */
export function forEachTensor(
  value: unknown,
  visit: (t: Tensor) => void,
  seen: Set<unknown> = new Set<unknown>(),
): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) return visit(value);
  if (value instanceof Map) {
    for (const v of value.values()) forEachTensor(v, visit, seen);
  } else if (Array.isArray(value)) {
    for (const v of value) forEachTensor(v, visit, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    // Data properties only: a getter may compute (and read back) a value.
    for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) {
      if ("value" in d) forEachTensor(d.value, visit, seen);
    }
  }
}

function isTensor(v: object): v is Tensor {
  return "dispose" in v && "shape" in v && "dtype" in v && "id" in v;
}

/**
 * Runs `fn` and releases the device buffers of every device tensor created during it that its result
 * does not contain (searched through arrays, plain objects and Maps). Scopes nest; kept tensors move
 * to the enclosing scope. On the CPU it only runs `fn`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, tensor, tidy } from "@hqat/tensor";
 * const y = tidy(() => add(add(tensor([1]), 1), 1));
 * assert(y.item() === 3);
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (scope.size === 0) return result;
  const keep = new Set<Tensor>();
  forEachTensor(result, (t) => keep.add(t));
  for (const t of scope) {
    if (keep.has(t)) trackDeviceTensor(t);
    else t.dispose();
  }
  return result;
}

/**
 * Releases the device buffers of every tensor in `value` that is not in `keep` (both searched through
 * arrays, plain objects and Maps). CPU tensors are left alone.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { disposeTree, tensor } from "@hqat/tensor";
 * const a = tensor([1]);
 * disposeTree({ a }, { a });
 * assert(a.item() === 1);
 * ```
 */
export function disposeTree(value: unknown, keep?: unknown): void {
  const kept = new Set<Tensor>();
  if (keep !== undefined) forEachTensor(keep, (t) => kept.add(t));
  forEachTensor(value, (t) => {
    if (!kept.has(t)) t.dispose();
  });
}
