/**
 * Program files: the int model (`int_model`, what `hqat convert` writes: an unplaced program) and the
 * compiled `.hbm` (a placed one) are the same container, written atomically and read with a size cap.
 * @module
 */

import { atomicWriteFile, FILE_CAPS, readFileCapped } from "@hqat/io";
import { decodeProgram, encodeProgram } from "./container.ts";
import type { Program } from "./program.ts";

/**
 * The largest program file hqat reads (2 GiB).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_PROGRAM_FILE_BYTES } from "@hqat/program";
 * assert(MAX_PROGRAM_FILE_BYTES === 2 ** 31);
 * ```
 */
export const MAX_PROGRAM_FILE_BYTES: number = FILE_CAPS.program;

/**
 * Writes `program` to `path` atomically (a temporary file, then a rename).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadIntModel, type Program, saveIntModel } from "@hqat/program";
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const path = await Deno.makeTempFile();
 * await saveIntModel(path, p);
 * assert((await loadIntModel(path)).buffers.length === 2);
 * await Deno.remove(path);
 * ```
 */
export async function saveIntModel(path: string, program: Program): Promise<void> {
  await atomicWriteFile(path, encodeProgram(program));
}

/**
 * Reads and checks a program file (an int model or a `.hbm`): a regular file of at most
 * {@linkcode MAX_PROGRAM_FILE_BYTES}, then `decodeProgram`. Errors name the file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadIntModel } from "@hqat/program";
 * let message = "";
 * try { await loadIntModel("/no/such/int_model"); } catch (e) { message = (e as Error).message; }
 * assert(message.startsWith('Cannot read "/no/such/int_model"'));
 * ```
 */
export async function loadIntModel(path: string): Promise<Program> {
  const bytes = await readFileCapped(path, { maxBytes: MAX_PROGRAM_FILE_BYTES, what: "a program file" });
  return decodeProgram(bytes, { fileName: path });
}
