/**
 * `@hqat/io`: the small file formats every other package reads and writes — safetensors, NumPy `.npy`,
 * the stored tensor they share (with float16 / bfloat16 conversion) — atomic writes (a temporary
 * file, then a rename), capped reads of regular files, and the checks and locks of output locations,
 * with no dependency on tensors or models.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = encodeSafetensors([["bias", { dtype: "F32", shape: [1], data: new Float32Array([0.5]) }]]);
 * assert(parseSafetensors(bytes).tensors.get("bias")!.data[0] === 0.5);
 * ```
 * @module
 */

export * from "./src/stored_tensor.ts";
export * from "./src/float16.ts";
export * from "./src/tensor_bytes.ts";
export * from "./src/atomic_write.ts";
export * from "./src/read_capped.ts";
export * from "./src/cleanup.ts";
export * from "./src/output_paths.ts";
export * from "./src/output_lock.ts";
export * from "./src/safetensors.ts";
export * from "./src/safetensors_file.ts";
export * from "./src/npy.ts";
export * from "./src/npy_file.ts";
