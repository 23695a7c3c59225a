/**
 * The memory plan: where each buffer lives in the arena. Up to O1 every buffer has its own place;
 * from O2 on, buffers whose lifetimes do not overlap share space (greedy by size over the
 * liveness intervals), so the arena shrinks.
 * @module
 */

import type { Instr } from "./hbm_program.ts";
import type { OptLevel } from "./schedule.ts";

/**
 * Offsets in the arena are multiples of this many bytes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ARENA_ALIGNMENT } from "@hqat/hbdk";
 * assert(ARENA_ALIGNMENT === 64);
 * ```
 */
export const ARENA_ALIGNMENT = 64;

/**
 * The lifetime of a buffer: the instruction that writes it (`def`, -1 if none) and the last one
 * that reads it (`lastUse`; the end of the program for the model's outputs).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Lifetime } from "@hqat/hbdk";
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
 * The buffers an instruction reads: its inputs and the addends of its epilogue.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { instrReads } from "@hqat/hbdk";
 * const r = instrReads({ op: "move", name: "m", inputs: [1], output: 2, epilogue: [{ kind: "add", addend: 0, shiftAddend: false, k: 1, t: 1 }] });
 * assert(r.join() === "1,0");
 * ```
 */
export function instrReads(instr: Instr): number[] {
  const ids = [...instr.inputs];
  for (const s of instr.epilogue) if (s.kind === "add") ids.push(s.addend);
  return ids;
}

/**
 * The lifetime of each of `bufferCount` buffers in `instructions`; `live` buffers (the outputs)
 * stay live to the end.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lifetimes } from "@hqat/hbdk";
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
 * import { overlaps } from "@hqat/hbdk";
 * assert(overlaps({ def: 0, lastUse: 2 }, { def: 2, lastUse: 3 }) && !overlaps({ def: 0, lastUse: 1 }, { def: 2, lastUse: 3 }));
 * ```
 */
export function overlaps(a: Lifetime, b: Lifetime): boolean {
  return a.def <= b.lastUse && b.def <= a.lastUse;
}

const align = (x: number) => Math.ceil(x / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;

/**
 * Places buffers of `sizes` bytes in one arena: one after the other up to O1; from O2 on, largest
 * first at the lowest aligned offset where it overlaps no placed buffer whose lifetime overlaps
 * its own. Returns the offsets and the arena size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { planMemory } from "@hqat/hbdk";
 * const life = [{ def: 0, lastUse: 1 }, { def: 1, lastUse: 2 }, { def: 2, lastUse: 3 }];
 * const o1 = planMemory([100, 100, 100], life, { opt: "O1" });
 * const o2 = planMemory([100, 100, 100], life, { opt: "O2" });
 * assert(o1.arenaBytes === 3 * 128 && o2.arenaBytes === 2 * 128 && o2.offsets[2] === 0);
 * ```
 */
export function planMemory(
  sizes: readonly number[],
  life: readonly Lifetime[],
  options: { readonly opt: OptLevel },
): { offsets: number[]; arenaBytes: number } {
  const offsets = new Array<number>(sizes.length).fill(0);
  if (options.opt === "O0" || options.opt === "O1") {
    let at = 0;
    sizes.forEach((s, i) => {
      offsets[i] = at;
      at += align(s);
    });
    return { offsets, arenaBytes: at };
  }
  const order = sizes.map((_, i) => i).sort((a, b) =>
    sizes[b] - sizes[a] || life[a].def - life[b].def || a - b
  );
  const placed: number[] = [];
  let arena = 0;
  for (const i of order) {
    const busy = placed
      .filter((j) => overlaps(life[i], life[j]))
      .map((j) => [offsets[j], offsets[j] + align(sizes[j])] as const)
      .sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [lo, hi] of busy) {
      if (at + align(sizes[i]) <= lo) break;
      at = Math.max(at, hi);
    }
    offsets[i] = at;
    placed.push(i);
    arena = Math.max(arena, at + align(sizes[i]));
  }
  return { offsets, arenaBytes: arena };
}
