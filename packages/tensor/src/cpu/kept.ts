/**
 * Which float arrays have a copy kept in the CPU kernels' memory across operations (`KernelRuntime.keep`): a
 * convolution's weights go in once, not on every call. A kept copy is valid only while its array is unchanged,
 * so every path that writes into an existing array — the float pool taking an array back, a kernel's result
 * copied into a given array, an optimizer's in-place update — forgets it first.
 * @module
 */

/** Where an array's copy lies, and the generation of the kept region it was made in. */
export interface KeptCopy {
  /** Byte address in the kernels' memory. */
  readonly ptr: number;
  /** The region's generation then (a cleared region starts a new one). */
  readonly generation: number;
}

const kept = new WeakMap<Float32Array, KeptCopy>();
const packed = new WeakMap<Float32Array, KeptCopy & { readonly rows: number }>();

/**
 * The kept copy of `a`, if any.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { keptCopy, setKeptCopy } from "./kept.ts";
 * const a = new Float32Array(4);
 * setKeptCopy(a, { ptr: 64, generation: 0 });
 * assert(keptCopy(a)?.ptr === 64);
 * ```
 */
export function keptCopy(a: Float32Array): KeptCopy | undefined {
  return kept.get(a);
}

/**
 * Records where `a`'s copy lies.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { keptCopy, setKeptCopy } from "./kept.ts";
 * const a = new Float32Array(4);
 * setKeptCopy(a, { ptr: 128, generation: 1 });
 * assert(keptCopy(a)?.generation === 1);
 * ```
 */
export function setKeptCopy(a: Float32Array, copy: KeptCopy): void {
  kept.set(a, copy);
}

/**
 * Forgets `a`'s kept copy: call it before writing into an array that may have been handed to the kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forgetKept, keptCopy, setKeptCopy } from "./kept.ts";
 * const a = new Float32Array(4);
 * setKeptCopy(a, { ptr: 64, generation: 0 });
 * forgetKept(a);
 * assert(keptCopy(a) === undefined);
 * ```
 */
export function forgetKept(a: Float32Array): void {
  kept.delete(a);
  packed.delete(a);
}

/**
 * The kept copy of `a` packed as a GEMM's A of `rows` rows (`KernelRuntime.keepPacked`), if any.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { keptPacked, setKeptPacked } from "./kept.ts";
 * const a = new Float32Array(6);
 * setKeptPacked(a, { ptr: 256, generation: 0, rows: 2 });
 * assert(keptPacked(a, 2)?.ptr === 256 && keptPacked(a, 3) === undefined);
 * ```
 */
export function keptPacked(a: Float32Array, rows: number): KeptCopy | undefined {
  const p = packed.get(a);
  return p?.rows === rows ? p : undefined;
}

/**
 * Records where `a`'s packed copy lies.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forgetKept, keptPacked, setKeptPacked } from "./kept.ts";
 * const a = new Float32Array(6);
 * setKeptPacked(a, { ptr: 256, generation: 0, rows: 3 });
 * forgetKept(a);
 * assert(keptPacked(a, 3) === undefined);
 * ```
 */
export function setKeptPacked(a: Float32Array, copy: KeptCopy & { readonly rows: number }): void {
  packed.set(a, copy);
}
