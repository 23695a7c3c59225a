/**
 * The memory plan: where each buffer lives in the arena. Up to O1 every buffer has its own place;
 * from O2 on, buffers whose lifetimes do not overlap share space (greedy by size over the
 * liveness intervals), so the arena shrinks.
 * @module
 */

import { ARENA_ALIGNMENT, type Lifetime, type OptLevel, overlaps } from "@hqat/program";

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
