/**
 * `.npy` files on disk: {@linkcode readNpy} and {@linkcode writeNpy} over the byte codec of `npy.ts`
 * (which touches no file, so it also runs in a browser).
 * @module
 */

import { atomicWriteFile } from "./atomic_write.ts";
import { encodeNpy, parseNpy } from "./npy.ts";
import { FILE_CAPS, readFileCapped } from "./read_capped.ts";
import type { StoredTensor } from "./stored_tensor.ts";

/**
 * Reads a `.npy` file (see {@linkcode parseNpy}).
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await writeNpy(path, { dtype: "U8", shape: [2], data: new Uint8Array([7, 9]) });
 * assert((await readNpy(path)).data[1] === 9);
 * await Deno.remove(path);
 * ```
 */
export async function readNpy(path: string | URL): Promise<StoredTensor> {
  const bytes = await readFileCapped(path, { maxBytes: FILE_CAPS.npy, what: "a .npy file" });
  return parseNpy(bytes, { fileName: path instanceof URL ? path.href : path });
}

/**
 * Writes a stored tensor to a `.npy` file atomically (see {@linkcode encodeNpy} and
 * {@linkcode atomicWriteFile}).
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await writeNpy(path, { dtype: "F64", shape: [], data: new Float64Array([0.5]) });
 * assert((await readNpy(path)).data[0] === 0.5);
 * await Deno.remove(path);
 * ```
 */
export async function writeNpy(path: string | URL, stored: StoredTensor): Promise<void> {
  await atomicWriteFile(path, encodeNpy(stored));
}
