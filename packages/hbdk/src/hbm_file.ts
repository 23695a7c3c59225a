/**
 * Reading a `.hbm`: the program container holding a compiled (placed) program.
 * @module
 */

import { readFileCapped } from "@hqat/io";
import { decodeProgram, MAX_PROGRAM_FILE_BYTES, type Program, ProgramFormatError } from "@hqat/program";

/**
 * Parses and checks `.hbm` bytes (`decodeProgram`: header, CRCs, every field and the program's
 * semantics) and requires a compiled program (one with a placement). Throws a `ProgramFormatError`
 * naming `fileName` and the problem.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadHbm } from "@hqat/hbdk";
 * let message = "";
 * try { loadHbm(new Uint8Array(8), { fileName: "x.hbm" }); } catch (e) { message = (e as Error).message; }
 * assert(message.startsWith('Cannot load "x.hbm"'));
 * ```
 */
export function loadHbm(bytes: Uint8Array, options: { readonly fileName?: string } = {}): Program {
  const file = options.fileName ?? "model.hbm";
  const program = decodeProgram(bytes, { fileName: file });
  if (!program.placement) {
    throw new ProgramFormatError(
      file,
      "the program is not compiled (an int model, not a .hbm); run hqat compile",
    );
  }
  return program;
}

/**
 * Reads and checks the `.hbm` file at `path`: a regular file of at most `MAX_PROGRAM_FILE_BYTES`
 * (a FIFO, a device or a larger file is refused before it is read), then {@linkcode loadHbm}.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { readHbm } from "@hqat/hbdk";
 * await assertRejects(() => readHbm("/dev/zero"), RangeError, 'Cannot read "/dev/zero": a device');
 * ```
 */
export async function readHbm(path: string): Promise<Program> {
  const bytes = await readFileCapped(path, { maxBytes: MAX_PROGRAM_FILE_BYTES, what: "a .hbm file" });
  return loadHbm(bytes, { fileName: path });
}
