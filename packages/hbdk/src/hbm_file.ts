/**
 * Reading a `.hbm`: the program container holding a compiled (placed) program.
 * @module
 */

import { decodeProgram, type Program, ProgramFormatError } from "@hqat/program";

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
