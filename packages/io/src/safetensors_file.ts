/**
 * Safetensors files on disk: {@linkcode readSafetensors} and {@linkcode writeSafetensors} over the byte
 * codec of `safetensors.ts` (which touches no file, so it also runs in a browser).
 * @module
 */

import { atomicWriteFile } from "./atomic_write.ts";
import {
  encodeSafetensors,
  type EncodeSafetensorsOptions,
  parseSafetensors,
  type SafetensorsContents,
} from "./safetensors.ts";
import type { StoredTensor } from "./stored_tensor.ts";
import { FILE_CAPS, readFileCapped } from "./read_capped.ts";

/**
 * Reads a safetensors file (see {@linkcode parseSafetensors}).
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, [["b", { dtype: "I64", shape: [], data: new BigInt64Array([7n]) }]]);
 * assert((await readSafetensors(path)).tensors.get("b")!.data[0] === 7n);
 * await Deno.remove(path);
 * ```
 */
export async function readSafetensors(path: string | URL): Promise<SafetensorsContents> {
  const bytes = await readFileCapped(path, { maxBytes: FILE_CAPS.safetensors, what: "a safetensors file" });
  return parseSafetensors(bytes, { fileName: path instanceof URL ? path.href : path });
}

/**
 * Writes tensors to a safetensors file atomically (see {@linkcode encodeSafetensors} and
 * {@linkcode atomicWriteFile}): the old file stays in place until the new one is complete.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const weight = { dtype: "F16" as const, shape: [1], data: new Uint16Array([0x3c00]) };
 * await writeSafetensors(path, new Map([["weight", weight]]), { metadata: { format: "pt" } });
 * assert((await readSafetensors(path)).metadata.format === "pt");
 * await Deno.remove(path);
 * ```
 */
export async function writeSafetensors(
  path: string | URL,
  entries: Iterable<readonly [string, StoredTensor]>,
  options: EncodeSafetensorsOptions = {},
): Promise<void> {
  await atomicWriteFile(path, encodeSafetensors(entries, options));
}
