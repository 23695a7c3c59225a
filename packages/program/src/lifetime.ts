/**
 * Buffer lifetimes: the instruction that writes a buffer and the last one that reads it — what the
 * compiler's memory plan packs by and what the verifier checks a placement against.
 * @module
 */

import type { Instr } from "./instr.ts";
import { instrReads } from "./op_table.ts";

/**
 * Offsets in the arena are multiples of this many bytes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ARENA_ALIGNMENT } from "@hqat/program";
 * assert(ARENA_ALIGNMENT === 64);
 * ```
 */
export const ARENA_ALIGNMENT = 64;

/**
 * The largest arena a program may ask for (2 GiB).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_ARENA_BYTES } from "@hqat/program";
 * assert(MAX_ARENA_BYTES === 2 ** 31);
 * ```
 */
export const MAX_ARENA_BYTES = 2 ** 31;

/**
 * The lifetime of a buffer: the instruction that writes it (`def`, -1 if none) and the last one that
 * reads it (`lastUse`; the end of the program for the model's outputs).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Lifetime } from "@hqat/program";
 * const l: Lifetime = { def: 0, lastUse: 3 };
 * assert(l.lastUse > l.def);
 * ```
 */
export interface Lifetime {
  /** The index of the instruction that writes the buffer (-1 if none). */
  readonly def: number;
  /** The index of the last instruction that reads it (the end of the program for the model's outputs). */
  readonly lastUse: number;
}

/**
 * The lifetime of each of `bufferCount` buffers in `instructions`; `live` buffers (the outputs) stay
 * live to the end.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lifetimes } from "@hqat/program";
 * const l = lifetimes([
 *   { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 },
 *   { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 * ], { bufferCount: 2, live: [1] });
 * assert(l[0].def === 0 && l[0].lastUse === 1 && l[1].lastUse === 2);
 * ```
 */
export function lifetimes(
  instructions: readonly Instr[],
  options: { readonly bufferCount: number; readonly live: readonly number[] },
): Lifetime[] {
  const def = new Array<number>(options.bufferCount).fill(-1);
  const last = new Array<number>(options.bufferCount).fill(-1);
  instructions.forEach((instr, i) => {
    for (const b of instrReads(instr)) last[b] = Math.max(last[b], i);
    if (def[instr.output] < 0) def[instr.output] = i;
  });
  for (const b of options.live) last[b] = instructions.length;
  return def.map((d, b) => ({ def: d, lastUse: Math.max(d, last[b]) }));
}

/**
 * Whether two lifetimes overlap (a buffer is busy from its write through its last read).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { overlaps } from "@hqat/program";
 * assert(overlaps({ def: 0, lastUse: 2 }, { def: 2, lastUse: 3 }) && !overlaps({ def: 0, lastUse: 1 }, { def: 2, lastUse: 3 }));
 * ```
 */
export function overlaps(a: Lifetime, b: Lifetime): boolean {
  return a.def <= b.lastUse && b.def <= a.lastUse;
}
