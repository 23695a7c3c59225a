/**
 * Memory inside the CPU kernels' WebAssembly memory that keeps its contents from one kernel call to the
 * next: integer data placed there is handed to the kernels without the copy in that every other input
 * costs.
 * @module
 */
import { kernelRuntime } from "./wasm_runtime.ts";

/**
 * A view of `bytes` bytes of the kernels' memory that their scratch allocations never reuse, or undefined
 * where the WebAssembly kernels are not available. Integer arrays viewing it go into the kernels without a
 * copy. There is one such region per process, and every call returns a view from the same start (growing
 * the region as needed), so a caller may keep nothing there while another caller uses it; views taken
 * earlier keep viewing the same bytes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { residentBytes } from "@hqat/tensor";
 * const r = residentBytes(1024);
 * assert(r === undefined || (r.length === 1024 && r.byteOffset % 64 === 0));
 * ```
 */
export function residentBytes(bytes: number): Uint8Array | undefined {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`residentBytes(): ${bytes} is not a byte count`);
  }
  const rt = kernelRuntime();
  if (!rt) return undefined;
  const r = rt.resident(bytes);
  return new Uint8Array(r.buffer, r.byteOffset, bytes);
}
